//! `headroom cluster`: every node of a cluster at a glance, through the API server; and
//! `headroom cluster node NAME`, the `headroom status` explanation of one node. Also the
//! `kubectl headroom` plugin (the same binary installed as `kubectl-headroom`).
//!
//! The API reading is the `headroom-cluster` crate; the figures are `headroom status`'s report
//! (`crate::status::build`) on the documents read, so a row equals `headroom status --summary
//! --pods --config` on the same documents saved as files.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

// The same two formats as `headroom status`.
use crate::cmd::status::Format;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
headroom cluster                                  # every node, least headroom first\n  \
headroom cluster -l node.kubernetes.io/instance-type=m5.large --watch\n  \
headroom cluster --context prod --format json\n  \
headroom cluster node ip-10-0-1-7.ec2.internal    # the full explanation of one node\n  \
kubectl headroom                                  # the same, as a kubectl plugin\n\n\
Credentials as kubectl finds them ($KUBECONFIG, ~/.kube/config, or the pod's service account).\n\
Read-only: the role needs get on nodes/proxy, list on nodes and pods (docs/cluster.md).")]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<ClusterCommand>,

    #[command(flatten)]
    pub connection: Connection,

    /// Only the nodes with these labels (`kubectl get nodes -l`), e.g. `pool=web,!spot`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Output format: the table, or one JSON document.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Read the cluster again every --interval and refresh the table in place (JSON: one
    /// document per round). Ctrl-C ends.
    #[arg(long)]
    pub watch: bool,

    /// Seconds between two rounds of --watch.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub interval: u64,

    /// Nodes read at the same time (three requests each). Keeps the API server and the
    /// kubelets' proxies from a burst on large clusters.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster credentials).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,

    /// Seconds one request may take; a node whose kubelet does not answer in time is shown as
    /// unreachable and never holds the table.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, global = true)]
    pub timeout: u64,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClusterCommand {
    /// The `headroom status` explanation of one node, read through the API server.
    Node(NodeArgs),
}

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// The node's name (`kubectl get nodes`).
    pub name: String,

    /// How many pods of the eviction order to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The name `kubectl` runs this binary under when installed as a plugin.
pub const PLUGIN_NAME: &str = "kubectl-headroom";

/// The command line as `headroom` reads it: run as `kubectl-headroom` (`kubectl headroom
/// ...`), the arguments are those of `headroom cluster`.
pub fn plugin_args(args: Vec<OsString>) -> Vec<OsString> {
    let invoked_as_plugin = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == PLUGIN_NAME);
    if !invoked_as_plugin {
        return args;
    }
    let mut out = Vec::with_capacity(args.len() + 1);
    out.push(OsString::from("kubectl headroom"));
    out.push(OsString::from("cluster"));
    out.extend(args.into_iter().skip(1));
    out
}

#[cfg(not(feature = "k8s"))]
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    // Exit status 2, like the agent's Kubernetes flags in a build without them.
    Err(crate::cmd::bad_input(
        "this build has no Kubernetes support, which `headroom cluster` needs; rebuild with the \
         `k8s` feature (cargo build --release --features k8s)",
    ))
}

#[cfg(feature = "k8s")]
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    with_api::run(args)
}

#[cfg(feature = "k8s")]
mod with_api {
    use super::*;
    use crate::cluster::row::{self, NodeRow, State};
    use crate::cluster::table;
    use crate::status::build;
    use crate::status::input::{Source, StatusInput};
    use headroom_cluster::api::{Api, Credentials, connect};
    use headroom_cluster::inputs::{ConfigCache, NodeInputs};
    use headroom_cluster::nodes::NodeMeta;
    use headroom_cluster::scan::{FailureKind, NodeReading, list_nodes, read_all, read_node};
    use std::io::IsTerminal;
    use std::time::Duration;

    pub fn run(args: Args) -> anyhow::Result<ExitCode> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let credentials = Credentials {
            kubeconfig: args.connection.kubeconfig.clone(),
            context: args.connection.context.clone(),
        };
        let timeout = Duration::from_secs(args.connection.timeout.max(1));
        let api = rt
            .block_on(connect(&credentials, timeout))
            .map_err(anyhow::Error::msg)?;
        match &args.command {
            Some(ClusterCommand::Node(node)) => rt.block_on(explain_node(&api, node)),
            None => rt.block_on(table_rounds(&api, &args)),
        }
    }

    /// What `headroom status` is built from, for one node read through the API server.
    fn status_input(name: &str, inputs: NodeInputs) -> StatusInput {
        StatusInput {
            source: Source::Summary(format!("/api/v1/nodes/{name}/proxy/stats/summary")),
            summary: inputs.summary,
            pods: Some(inputs.pods),
            pods_origin: Some(format!("the API server (pods on node {name})")),
            eviction: inputs.eviction,
            config_origin: Some(format!("/api/v1/nodes/{name}/proxy/configz")),
            config_warnings: inputs.config_warnings,
            host: None,
        }
    }

    /// One node's row (runs on the runtime as each node's documents arrive).
    pub(crate) fn node_row(reading: NodeReading) -> NodeRow {
        let reported = reading.node.memory_pressure.clone();
        match reading.inputs {
            Ok(inputs) => {
                let input = status_input(&reading.node.name, inputs);
                // Every pod: the first evictable one may sit behind critical ones.
                let report = build::build(&input, usize::MAX);
                let mut r = row::from_report(&report, &input.summary, reported);
                // The Summary names the node as its kubelet knows it; the table uses the API's.
                r.node = reading.node.name;
                r
            }
            Err(failure) => {
                let state = match failure.kind {
                    FailureKind::Unreachable => State::Unreachable,
                    FailureKind::BadAnswer => State::BadAnswer,
                };
                row::failed(reading.node.name, state, failure.to_string(), reported)
            }
        }
    }

    async fn one_round(api: &Api, args: &Args) -> anyhow::Result<Vec<NodeRow>> {
        let nodes = list_nodes(api, args.selector.as_deref())
            .await
            .map_err(anyhow::Error::msg)?;
        let mut rows = read_all(api, nodes, args.concurrency, node_row).await;
        row::sort_by_risk(&mut rows);
        Ok(rows)
    }

    async fn table_rounds(api: &Api, args: &Args) -> anyhow::Result<ExitCode> {
        let interval = Duration::from_secs(args.interval.max(1));
        let refresh_in_place = args.watch && std::io::stdout().is_terminal();
        loop {
            let rows = match one_round(api, args).await {
                Ok(rows) => rows,
                // Watching, an API server that blinks is said and retried, not the end.
                Err(e) if args.watch => {
                    crate::output::note(format_args!(
                        "headroom: {e:#}; retrying in {}s",
                        interval.as_secs()
                    ));
                    tokio::time::sleep(interval).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut out = String::new();
            if refresh_in_place && args.format == Format::Text {
                // Clear the screen and home the cursor: the table replaces the last one.
                out.push_str("\x1b[2J\x1b[H");
            }
            if args.format == Format::Text && args.watch {
                out.push_str(&format!(
                    "headroom cluster, {} (every {}s, Ctrl-C ends)\n\n",
                    jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC"),
                    interval.as_secs()
                ));
            }
            out.push_str(&match args.format {
                Format::Text => table::render_text(&rows),
                Format::Json => table::render_json(&rows)?,
            });
            crate::output::stdout(&out)?;
            if !args.watch {
                return Ok(ExitCode::SUCCESS);
            }
            tokio::time::sleep(interval).await;
        }
    }

    async fn explain_node(api: &Api, args: &NodeArgs) -> anyhow::Result<ExitCode> {
        let node = NodeMeta {
            name: args.name.clone(),
            memory_pressure: None,
            ready: None,
        };
        let inputs = read_node(api, &node, &ConfigCache::default())
            .await
            .map_err(|f| anyhow::anyhow!("node {}: {f}", args.name))?;
        let report = build::build(&status_input(&args.name, inputs), args.top);
        let out = match args.format {
            Format::Json => crate::status::json::render(&report)?,
            Format::Text => {
                // `headroom status`'s rule: colour on a terminal unless NO_COLOR is set.
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let color = std::io::stdout().is_terminal() && !no_color;
                crate::status::text::render(
                    &report,
                    crate::status::text::Style {
                        color,
                        verbose: false,
                    },
                )
            }
        };
        crate::output::stdout(&out)?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn run_as_kubectl_headroom_the_arguments_are_those_of_cluster() {
        assert_eq!(
            plugin_args(os(&["/home/me/.krew/bin/kubectl-headroom", "node", "n1"])),
            os(&["kubectl headroom", "cluster", "node", "n1"])
        );
        assert_eq!(
            plugin_args(os(&["headroom", "status"])),
            os(&["headroom", "status"])
        );
        assert_eq!(plugin_args(os(&[])), os(&[]));
    }
}
