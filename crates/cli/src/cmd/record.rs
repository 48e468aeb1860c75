//! `headroom record DIR`: the agent's passes with no action taken, kept as a flight recording;
//! and the `--record DIR` settings `headroom agent` shares.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use headroom_agent::config::AgentConfig;
use headroom_agent::recording::Recording;
use headroom_core::duration::parse_duration;
use headroom_core::quantity::Quantity;
use headroom_record::{Recorder, RecordingMeta, Retention};

use super::bad_input;

/// How much history a recording keeps (enforced while recording).
#[derive(clap::Args, Debug, Clone)]
pub struct RetentionArgs {
    /// With --record: the most the recording may take on disk (a Kubernetes quantity); the
    /// oldest history goes first.
    #[arg(long, default_value = "64Mi", value_name = "SIZE")]
    pub record_max_size: String,
    /// With --record: the oldest history kept (a Go duration).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub record_max_age: String,
}

impl RetentionArgs {
    fn retention(&self) -> anyhow::Result<Retention> {
        let bytes = Quantity::parse(&self.record_max_size)
            .ok()
            .map(|q| q.value())
            .filter(|b| *b >= 1 << 20)
            .ok_or_else(|| {
                bad_input(format!(
                    "--record-max-size {:?}: not a size of at least 1Mi (for example 64Mi or 1Gi)",
                    self.record_max_size
                ))
            })?;
        let age = parse_duration(&self.record_max_age)
            .ok()
            .filter(|ns| *ns > 0)
            .ok_or_else(|| {
                bad_input(format!(
                    "--record-max-age {:?}: not a positive duration (for example 24h or 90m)",
                    self.record_max_age
                ))
            })?;
        Ok(Retention {
            max_bytes: u64::try_from(bytes).unwrap_or(u64::MAX),
            max_age: Duration::from_nanos(u64::try_from(age).unwrap_or(u64::MAX)),
        })
    }
}

/// Open (create or resume) the recording `--record` names, if any.
pub fn open(
    args: &super::agent::Args,
    config_text: &str,
    cfg: &AgentConfig,
) -> anyhow::Result<Option<Recording>> {
    let Some(dir) = &args.record else {
        return Ok(None);
    };
    let retention = args.retention.retention()?;
    let meta = RecordingMeta {
        source: args.recorded_by.clone(),
        config: config_text.to_string(),
        config_origin: cfg.config_origin.clone(),
        pod_cgroup_root: cfg.pod_cgroup_root.clone(),
        action: cfg.action.as_str().to_string(),
        node: args.node_name.clone().unwrap_or_default(),
    };
    let recorder = Recorder::open(dir, &meta, retention).map_err(|e| match e {
        headroom_record::StoreError::Io { .. } => anyhow::Error::new(e),
        other => bad_input(format!("--record: {other}")),
    })?;
    Ok(Some(Recording::new(recorder)))
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Record this node's memory history (no action taken) for `incidents` and `replay`",
    long_about = "Runs the agent's passes (the same collection and the same eviction decisions) \
without acting on anything and without serving HTTP, and keeps every pass in a flight recording \
in DIR: the raw cgroup readings, the decision, OOM kills, condition changes. One pass every \
--period, and one a second while a memory threshold is within reach. The recording survives a \
kill or a power cut (each pass is one SQLite transaction) and keeps at most --record-max-size \
and --record-max-age of history.\n\n\
`headroom agent --record DIR` records the same way while it acts.",
    after_help = "Examples:\n  \
headroom record /var/lib/headroom/recording --config /var/lib/kubelet/config.yaml\n  \
headroom incidents --recording /var/lib/headroom/recording\n  \
headroom replay --recording /var/lib/headroom/recording --config larger-threshold.yaml"
)]
pub struct Args {
    /// The recording directory (created when absent, resumed when it holds a recording).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The kubelet's configuration (its eviction thresholds make the recorded decisions).
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: PathBuf,
    /// Time between passes away from any threshold (the kubelet's 10s by default).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub period: String,
    /// The active pods (`kubectl get pods -o json` for this node); default: from the cgroups.
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    /// The pod cgroup root relative to the memory hierarchy (default: from the kubelet config).
    #[arg(long, value_name = "PATH")]
    pub pod_cgroup_root: Option<String>,
    /// Read the kernel files under this directory instead of /.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// The agent's own argument parser, so `record` gets exactly the agent's checks and defaults.
#[derive(Parser)]
#[command(name = "headroom record")]
struct AsAgent {
    #[command(flatten)]
    args: super::agent::Args,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut argv: Vec<std::ffi::OsString> = vec!["headroom record".into()];
    let mut flag = |name: &str, value: &std::ffi::OsStr| {
        argv.push(format!("--{name}").into());
        argv.push(value.to_os_string());
    };
    flag("config", args.config.as_os_str());
    flag("period", args.period.as_ref());
    flag("record", args.dir.as_os_str());
    flag("record-max-size", args.retention.record_max_size.as_ref());
    flag("record-max-age", args.retention.record_max_age.as_ref());
    flag("action", "none".as_ref());
    flag("listen", "off".as_ref());
    flag("recorded-by", "record".as_ref());
    if let Some(p) = &args.pods {
        flag("pods", p.as_os_str());
    }
    if let Some(p) = &args.pod_cgroup_root {
        flag("pod-cgroup-root", p.as_ref());
    }
    if let Some(r) = &args.root {
        flag("root", r.as_os_str());
    }
    let agent = AsAgent::try_parse_from(argv).map_err(|e| bad_input(e.to_string()))?;
    super::agent::run(agent.args)
}
