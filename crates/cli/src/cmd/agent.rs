//! `headroom agent`: the kubelet's memory eviction loop on this node, woken by kernel
//! notifications, exporting Prometheus metrics. Acts only when told to (`--action`).

use super::bad_input;
use headroom_agent::actuator::Action;
use headroom_agent::config::{AgentConfig, DEFAULT_LISTEN};
use headroom_agent::http::{self, Shared};
use headroom_agent::pods_source::PodsFile;
use headroom_agent::report::LogFormat;
use headroom_agent::runner::Runner;
use headroom_core::config::KubeletConfig;
use headroom_core::duration::parse_duration;
use headroom_linux::root::HostRoot;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ActionArg {
    /// Decide, log and export metrics; act on nothing (safe anywhere).
    #[default]
    None,
    /// SIGTERM every process of the chosen pod's cgroup, wait the decided grace, then SIGKILL.
    Kill,
    /// Create a policy/v1 Eviction through the Kubernetes API (needs a build with `--features k8s`).
    Evict,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodsFromArg {
    /// The file given with --pods (implied by --pods).
    File,
    /// The pods bound to this node, listed from the Kubernetes API server every --period
    /// (needs a build with `--features k8s`; credentials: in-cluster or kubeconfig).
    Api,
    /// Synthesized from the cgroup tree: no requests, priority 0 (experiments only).
    Cgroups,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnOff {
    #[default]
    On,
    Off,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormatArg {
    #[default]
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Run the kubelet's memory eviction loop on this node, woken by kernel notifications",
    long_about = "Runs the kubelet's eviction manager (same thresholds, same ranking, same grace \
periods) on live kernel data, every --period and immediately when the kernel reports that \
memory usage crossed a threshold. Prints one line per decision, serves /metrics, \
/stats/summary, /decision and /healthz on --listen.\n\n\
By default it acts on nothing (--action none). With --action kill it terminates the chosen \
pod's processes itself; it never touches a cgroup outside the pod cgroup root, a critical pod, \
or its own cgroup, whatever the flags say.\n\n\
Without root it still decides and exports where cgroup files are readable; kernel \
notifications (cgroup.event_control) and kill need root.",
    after_help = "Examples:\n  \
headroom agent --config /var/lib/kubelet/config.yaml      # decide, log, export; act on nothing\n  \
headroom agent --config kc.yaml --once                    # one pass: print the decision, exit\n  \
headroom agent --config kc.yaml --pods pods.json --action kill   # host without a kubelet\n  \
curl -s 127.0.0.1:9464/metrics | grep headroom_signal_available_bytes\n\n\
Deployment (DaemonSet, RBAC, systemd unit), metrics and safety rails: docs/agent.md."
)]
pub struct Args {
    /// The kubelet's config file (KubeletConfiguration YAML/JSON): thresholds, grace periods,
    /// pod cgroup root.
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: PathBuf,
    /// Time between passes (Go duration: 10s, 500ms, 1m). The kubelet uses 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub period: String,
    /// Also run a pass as soon as the kernel reports a threshold crossing (cgroup v1 usage
    /// thresholds, cgroup v2 memory.events, PSI).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub notifications: OnOff,
    /// What to do with the pod the eviction manager chooses.
    #[arg(long, value_enum, default_value_t = ActionArg::None)]
    pub action: ActionArg,
    /// Pods on this node as `kubectl get pods -o json` prints them (names, requests,
    /// priorities); re-read when it changes. Without a pod source (this or --pods-from api)
    /// pods are synthesized from cgroups (no requests, priority 0) and only the largest
    /// working set decides.
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    /// Where the pods come from: file (--pods), api (the API server's pods on this node; an
    /// API error keeps the last good list), cgroups. Default: file with --pods, else cgroups.
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub pods_from: Option<PodsFromArg>,
    /// This node's name for --pods-from api (default: env NODE_NAME, else the hostname).
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Address for /metrics, /stats/summary, /decision and /healthz ("off" to disable).
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: String,
    /// The pod cgroup root relative to the memory hierarchy (default: from the kubelet config,
    /// /kubepods or /kubepods.slice).
    #[arg(long, value_name = "PATH")]
    pub pod_cgroup_root: Option<String>,
    /// Read the kernel files under this directory instead of / (a host mount in a container).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Decision lines as key=value text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,
    /// Run one pass, print the decision and exit (serves no HTTP, so it works next to a
    /// running agent).
    #[arg(long)]
    pub once: bool,
    /// Keep a flight recording of every pass in DIR (raw cgroup readings, the decision, OOM
    /// kills, condition changes, actions) for `headroom incidents` and `headroom replay`.
    /// Created when absent, resumed when it is a recording; one sample a second while a
    /// memory threshold is within reach.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    #[command(flatten)]
    pub retention: super::record::RetentionArgs,
    /// Who writes the recording (`headroom record` says so).
    #[arg(long, hide = true, default_value = "agent")]
    pub recorded_by: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // https://no-color.org: a NO_COLOR that is present and not empty turns colour off.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEADROOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    let origin = args.config.display().to_string();
    let text = crate::cmd::read_text(&args.config, "kubelet config")?;
    let kubelet = KubeletConfig::parse(&text, &origin).map_err(|e| bad_input(e.to_string()))?;
    // The error already starts with "FILE:LINE:" (as in status, simulate and check-config).
    let eviction = kubelet.eviction().map_err(|e| bad_input(e.to_string()))?;
    // A misspelt field leaves the kubelet (and so the agent) on defaults without a word; the
    // other lint findings are `headroom check-config`'s business.
    for w in headroom_core::lint::lint(&kubelet, &eviction) {
        if w.code == "misspelled-field" {
            tracing::warn!("{}", w.message);
        }
    }
    let period_ns =
        parse_duration(&args.period).map_err(|e| bad_input(format!("--period {:?}: {e}", args.period)))?;
    if period_ns <= 0 {
        return Err(bad_input(format!(
            "--period {:?}: must be positive (the kubelet uses 10s)",
            args.period
        )));
    }
    let listen: Option<SocketAddr> = match args.listen.as_str() {
        "off" | "" => None,
        s => Some(
            s.parse()
                .map_err(|e| bad_input(format!("--listen {s:?}: not an address like 127.0.0.1:9464: {e}")))?,
        ),
    };
    // One pass exits before anyone could scrape it, and binding would fail next to a running
    // agent (the DaemonSet already holds 127.0.0.1:9464) exactly when an SRE wants --once.
    let listen = if args.once { None } else { listen };
    let action = match args.action {
        ActionArg::None => Action::None,
        ActionArg::Kill => Action::Kill,
        ActionArg::Evict => Action::Evict,
    };
    if action == Action::Evict && !cfg!(feature = "k8s") {
        return Err(bad_input(
            "--action evict needs a headroom built with `--features k8s`; use --action kill or none",
        ));
    }
    let pods_api_node = pods_api_node(&args)?;
    // A missing or malformed --pods file at start is the operator's input (exit 2), not an
    // agent failure; the runner loads it again and re-reads it when it changes.
    if let Some(path) = &args.pods {
        // Pod uids are checked by every read of the file (pods_source::read_pods).
        PodsFile::load(path).map_err(|e| bad_input(format!("--pods: {e}")))?;
    }
    let root = match &args.root {
        // A --root that is not a directory at all is a typo, not a collection failure; a
        // directory that lacks some files is left to the passes (the host may be mounting).
        Some(dir) if !dir.is_dir() => {
            let why = match std::fs::metadata(dir) {
                Ok(_) => "not a directory (the agent reads a live host mount, not an archive)".to_string(),
                Err(e) => format!("cannot open it: {e}"),
            };
            return Err(bad_input(format!("--root {}: {why}", dir.display())));
        }
        Some(dir) => HostRoot::dir(dir.clone()),
        None => HostRoot::live(),
    };
    let is_root = euid_is_root();
    if !is_root && (action != Action::None || args.notifications == OnOff::On) {
        eprintln!(
            "headroom agent: not running as root: cgroup v1 notifications (cgroup.event_control) \
             and --action kill will fail; decisions and metrics still work where cgroup files are readable"
        );
    }
    let pod_cgroup_root = args
        .pod_cgroup_root
        .clone()
        .unwrap_or_else(|| kubelet.pod_cgroup_root());
    let cfg = AgentConfig {
        eviction,
        config_origin: origin,
        period: Duration::from_nanos(u64::try_from(period_ns).unwrap_or(u64::MAX)),
        notifications: args.notifications == OnOff::On,
        action,
        pods_file: args.pods.clone(),
        pods_api_node,
        pod_cgroup_root,
        root,
        log_format: match args.log_format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        },
        listen,
        once: args.once,
        max_passes: None,
    };
    let shared = Shared::new();
    if let Some(addr) = cfg.listen {
        let bound = http::spawn(addr, shared.clone())?;
        tracing::info!("serving /metrics, /stats/summary, /decision, /healthz on http://{bound}");
    }
    let recording = super::record::open(&args, &text, &cfg)?;
    let mut runner = Runner::new(cfg, shared)?;
    if let Some(r) = recording {
        runner.set_recording(r);
    }
    runner.run()?;
    Ok(ExitCode::SUCCESS)
}

/// Check --pods / --pods-from / --node-name together; the node name when the API is the source.
fn pods_api_node(args: &Args) -> anyhow::Result<Option<String>> {
    let from = args.pods_from.unwrap_or(if args.pods.is_some() {
        PodsFromArg::File
    } else {
        PodsFromArg::Cgroups
    });
    match (from, &args.pods) {
        (PodsFromArg::File, None) => {
            return Err(bad_input(
                "--pods-from file needs --pods FILE (`kubectl get pods -o json` for this node)",
            ));
        }
        (PodsFromArg::Api | PodsFromArg::Cgroups, Some(file)) => {
            return Err(bad_input(format!(
                "--pods {} and --pods-from {}: pick one pod source",
                file.display(),
                if from == PodsFromArg::Api {
                    "api"
                } else {
                    "cgroups"
                }
            )));
        }
        _ => {}
    }
    if from != PodsFromArg::Api {
        if args.node_name.is_some() {
            return Err(bad_input("--node-name is only used with --pods-from api"));
        }
        return Ok(None);
    }
    if !cfg!(feature = "k8s") {
        return Err(bad_input(
            "--pods-from api: this build has no Kubernetes support; rebuild with --features k8s \
             (or use --pods FILE)",
        ));
    }
    let (node, origin) = headroom_agent::pods_api::node_name_from_host(args.node_name.as_deref())
        .map_err(|e| bad_input(format!("--pods-from api: {e}")))?;
    tracing::info!(
        "pods from the API server for node {node} (name from {})",
        origin.as_str()
    );
    Ok(Some(node))
}

fn euid_is_root() -> bool {
    // /proc/self/status avoids a dependency on rustix in the CLI crate.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
