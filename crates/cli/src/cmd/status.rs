//! `headroom status`: why is (or isn't) this node under MemoryPressure?
//!
//! Reads one source (the live host, a captured tree with `--root`, or a kubelet Summary with
//! `--summary`), optional pods and kubelet config, and prints the kubelet's view of the node
//! with the real numbers. The report itself is built in `crate::status`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use headroom_core::config::{EvictionConfig, KubeletConfig};
use headroom_core::lint::{Warning, lint};
use headroom_core::pod::{Pod, PodList};
use headroom_core::summary::Summary;

use crate::cmd::bad_input;
use crate::cmd::summary::SourceArgs;
use crate::status::input::{Source, StatusInput};
use crate::status::{build, json, text};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
headroom status                                   # this node, kubelet default thresholds\n  \
headroom status --config /var/lib/kubelet/config.yaml\n  \
headroom status --root ./capture                  # a tree saved by `headroom capture`\n  \
headroom status --summary summary.json --pods pods.json --config kubelet.json\n\n\
Get the inputs from a cluster:\n  \
kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary > summary.json    # or pipe: --summary -\n  \
kubectl get pods -A -o json --field-selector spec.nodeName=NODE > pods.json\n  \
kubectl get --raw /api/v1/nodes/NODE/proxy/configz > kubelet.json    # the running kubelet config")]
pub struct Args {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Use a kubelet Summary (GET /stats/summary) instead of reading kernel files (- reads
    /// standard input).
    #[arg(long, value_name = "SUMMARY.json", conflicts_with_all = ["root", "pod_cgroup_root", "imagefs"])]
    pub summary: Option<PathBuf>,

    /// Pods on the node (`kubectl get pods -o json`): gives requests, priorities and names.
    #[arg(long, value_name = "PODS.json")]
    pub pods: Option<PathBuf>,

    /// KubeletConfiguration file (YAML or JSON), or the kubelet's /configz output. Default: the
    /// kubelet's default thresholds.
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: Option<PathBuf>,

    /// How many pods of the eviction order to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Eviction policy to judge by: `kubelet` or `reclaim-first` (drop clean file cache first,
    /// evict only if the threshold is still met; docs/reclaim-first.md). Given, the report names
    /// it and puts both verdicts side by side. Reclaimable = the pods cgroup's clean active file
    /// pages (active_file - dirty - writeback) from memory.stat; with --summary, its
    /// workingSetBytes - rssBytes (an upper bound) and cgroup v2 assumed. On cgroup v1 (no
    /// memory.reclaim) reclaim-first decides as the kubelet [default: the kubelet's, printed
    /// as without the flag]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub policy: Option<crate::reclaim::PolicyArg>,

    /// Text view: add the kubelet's arithmetic, the disk and pid thresholds, the whole
    /// eviction order asked for with --top, and every note (JSON always has everything).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            source: SourceArgs {
                // clap's default for --nodefs, which Default::default() does not know.
                nodefs: PathBuf::from("/var/lib/kubelet"),
                ..SourceArgs::default()
            },
            summary: None,
            pods: None,
            config: None,
            top: 10,
            format: Format::Text,
            verbose: false,
            policy: None,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (eviction, config_origin, config_warnings) = load_config(args.config.as_deref())?;
    let (pods, pods_origin) = match &args.pods {
        Some(path) => (Some(load_pods(path)?), Some(crate::cmd::shown_path(path))),
        None => (None, None),
    };
    let (source, summary, host) = match &args.summary {
        Some(path) => (
            Source::Summary(crate::cmd::shown_path(path)),
            load_summary(path)?,
            None,
        ),
        None => {
            let (summary, host) = crate::status::host::collect(&args.source)?;
            let source = match &args.source.root {
                Some(root) => Source::Root(root.display().to_string()),
                None => Source::Live,
            };
            (source, summary, Some(host))
        }
    };
    let input = StatusInput {
        source,
        summary,
        pods,
        pods_origin,
        eviction,
        config_origin,
        config_warnings,
        host,
    };
    let mut report = build::build(&input, args.top);
    if let Some(policy) = args.policy {
        report.policy = Some(policy.into());
        let verdicts = crate::status::policy::compare(&input, &report, args.top);
        report
            .notes
            .extend(crate::status::policy::notes(&verdicts, input.host.is_none()));
        report.policy_verdicts = Some(verdicts);
    }
    let out = match args.format {
        Format::Json => json::render(&report)?,
        Format::Text => {
            // https://no-color.org: a NO_COLOR that is present and not empty turns colour off.
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let color = std::io::stdout().is_terminal() && !no_color;
            text::render(
                &report,
                text::Style {
                    color,
                    verbose: args.verbose,
                },
            )
        }
    };
    crate::output::stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The effective eviction settings, the config's name, and its lint warnings.
pub(crate) fn load_config(
    path: Option<&std::path::Path>,
) -> anyhow::Result<(EvictionConfig, Option<String>, Vec<Warning>)> {
    let Some(path) = path else {
        let eviction = KubeletConfig::default()
            .eviction()
            .map_err(|e| anyhow::anyhow!("the kubelet's default eviction settings: {e}"))?;
        return Ok((eviction, None, Vec::new()));
    };
    let origin = crate::cmd::shown_path(path);
    let text = crate::cmd::read_text(path, "kubelet config")?;
    let config = KubeletConfig::parse(&text, &origin).map_err(|e| bad_input(e.to_string()))?;
    let eviction = config.eviction().map_err(|e| bad_input(e.to_string()))?;
    let warnings = lint(&config, &eviction);
    Ok((eviction, Some(origin), warnings))
}

fn load_summary(path: &std::path::Path) -> anyhow::Result<Summary> {
    let text = crate::cmd::read_json(path, "Summary")?;
    Summary::parse_json(&text).map_err(|e| {
        bad_input(format!(
            "{}: not a kubelet Summary (GET /stats/summary): {e}",
            crate::cmd::shown_path(path)
        ))
    })
}

pub(crate) fn load_pods(path: &std::path::Path) -> anyhow::Result<Vec<Pod>> {
    let text = crate::cmd::read_json(path, "pods file")?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad_input(format!(
            "pods file {}: not JSON (expected `kubectl get pods -o json` output): {e}",
            crate::cmd::shown_path(path)
        ))
    })?;
    let list = PodList::from_value(value)
        .map_err(|e| bad_input(format!("{}: {e}", crate::cmd::shown_path(path))))?;
    list.check_uids()
        .map_err(|e| bad_input(format!("{}: {e}", crate::cmd::shown_path(path))))?;
    Ok(list.items)
}
