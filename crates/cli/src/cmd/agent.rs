//! `headroom agent`: the kubelet's memory eviction loop on this node, woken by kernel
//! notifications, exporting Prometheus metrics. Acts only when told to (`--action`).

use super::bad_input;
use headroom_agent::actuator::Action;
use headroom_agent::config::{AgentConfig, DEFAULT_LISTEN};
use headroom_agent::http::{self, Shared};
use headroom_agent::log_writer::{LineWriter, QUEUE_LINES};
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
    /// Create a policy/v1 Eviction through the Kubernetes API (not in a slim `--no-default-features` build).
    Evict,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodsFromArg {
    /// The file given with --pods (implied by --pods).
    File,
    /// The pods bound to this node, listed from the Kubernetes API server every --period
    /// (credentials: in-cluster or kubeconfig; not in a slim `--no-default-features` build).
    Api,
    /// Synthesized from the cgroup tree: no requests, priority 0 (experiments only).
    Cgroups,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSourceArg {
    /// The file given with --config (a file that does not exist falls through to the next source).
    File,
    /// The running kubelet's /configz through the API server (RBAC: get nodes/proxy).
    Api,
    /// The kubelet's built-in defaults (memory.available<100Mi, nodefs, imagefs, ...).
    Defaults,
}

impl ConfigSourceArg {
    fn as_str(self) -> &'static str {
        match self {
            ConfigSourceArg::File => "file",
            ConfigSourceArg::Api => "api",
            ConfigSourceArg::Defaults => "defaults",
        }
    }
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
/stats/summary, /decision and /healthz on --listen (on an address other than loopback only \
/metrics and /healthz, unless --expose-details).\n\n\
By default it acts on nothing (--action none). With --action kill it terminates the chosen \
pod's processes itself; it never touches a cgroup outside the pod cgroup root, a critical pod, \
or its own cgroup, whatever the flags say.\n\n\
Without root it still decides and exports where cgroup files are readable; kernel \
notifications (cgroup.event_control) and kill need root.",
    after_help = "Examples:\n  \
headroom agent --config /var/lib/kubelet/config.yaml      # decide, log, export; act on nothing\n  \
headroom agent --config kc.yaml --once                    # one pass: print the decision, exit\n  \
headroom agent --config kc.yaml --pods pods.json --action kill   # host without a kubelet\n  \
headroom agent --config-from api,defaults --pods-from api --events on   # in a DaemonSet\n  \
curl -s 127.0.0.1:9464/metrics | grep headroom_signal_available_bytes\n\n\
Deployment (image, kustomize overlays per distribution, alerts, systemd unit), metrics and \
safety rails: docs/agent.md."
)]
pub struct Args {
    /// The kubelet's config file (KubeletConfiguration YAML/JSON, or /configz output):
    /// thresholds, grace periods, pod cgroup root.
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the kubelet configuration comes from, tried in order until one answers: file
    /// (--config; a missing file falls through), api (/configz through the API server),
    /// defaults (the kubelet's built-in thresholds). The one used is logged and exported as
    /// headroom_kubelet_config_source. A file that exists but does not parse is always an error.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "file",
        value_name = "SOURCES"
    )]
    pub config_from: Vec<ConfigSourceArg>,
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
    /// Eviction policy: `kubelet` (default: exactly the kubelet's) or `reclaim-first`: when a
    /// memory threshold is met and the pods' working set holds enough clean file cache, first
    /// ask the kernel to drop it (cgroup v2 memory.reclaim, bounded), re-read, and evict only
    /// if the threshold is still met. On cgroup v1 it falls back to the kubelet's and says so.
    /// See docs/reclaim-first.md.
    #[arg(long, default_value = "kubelet", value_name = "POLICY")]
    pub policy: headroom_core::reclaim::Policy,
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
    /// Address for /metrics, /stats/summary, /decision and /healthz ("off" to disable). On an
    /// address other than loopback only /metrics and /healthz are served (see --expose-details).
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: String,
    /// Also serve /stats/summary and /decision on a non-loopback --listen address. They name
    /// every pod and its memory, which the kubelet serves only to authenticated clients.
    #[arg(long)]
    pub expose_details: bool,
    /// Record Kubernetes Events: `Evicted` on each pod acted on, node warnings when a memory
    /// threshold is within reach or met (RBAC: create events).
    #[arg(long, value_enum, default_value_t = OnOff::Off)]
    pub events: OnOff,
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

/// The shortest `--period`: below it passes would follow each other as fast as the CPU goes
/// (a typo like `1ns` or `10ms` for `10s`), for no earlier decision than the kernel
/// notifications already give.
const MIN_PERIOD: Duration = Duration::from_millis(100);
/// How long, at exit, the queued log lines get to reach stdout/stderr.
const LOG_DRAIN_AT_EXIT: Duration = Duration::from_secs(1);

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let shared = Shared::new();
    // The loop never waits for stderr/stdout (a full pipe nobody reads must not freeze it):
    // lines go through a bounded queue and are dropped, and counted, when it is full. `--once`
    // writes directly: it has no loop to freeze, and its caller wants every line.
    let dropped = shared.metrics.faults.log_lines_dropped.clone();
    let writers = if args.once {
        None
    } else {
        let err = LineWriter::spawn(
            "stderr",
            Box::new(std::io::stderr()),
            QUEUE_LINES,
            dropped.clone(),
        )?;
        let out = LineWriter::spawn("stdout", Box::new(std::io::stdout()), QUEUE_LINES, dropped)?;
        Some((err, out))
    };
    // Every return from here on (bad input included) gives queued lines their chance.
    let writers = DrainAtExit(writers);
    let stderr_writer = writers.0.as_ref().map(|(e, _)| e.clone());
    let _ = tracing_subscriber::fmt()
        .with_writer(move || -> Box<dyn std::io::Write> {
            match &stderr_writer {
                Some(w) => Box::new(w.clone()),
                None => Box::new(std::io::stderr()),
            }
        })
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

    let (kubelet, origin, source, text) = kubelet_config(&args)?;
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
    if period_ns < MIN_PERIOD.as_nanos() as i64 {
        return Err(bad_input(format!(
            "--period {:?}: must be at least {}ms (the kubelet uses 10s; kernel notifications \
             already wake the agent at once)",
            args.period,
            MIN_PERIOD.as_millis()
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
            "--action evict: this build has no Kubernetes support (a slim build, --no-default-features); \
             rebuild with the default features, or use --action kill or none",
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
        crate::output::note(format_args!(
            "headroom agent: not running as root: cgroup v1 notifications (cgroup.event_control) \
             and --action kill will fail; decisions and metrics still work where cgroup files are readable"
        ));
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
        policy: args.policy,
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
    shared.metrics.set_kubelet_config_source(source.as_str());
    if let Some(addr) = cfg.listen {
        if let Some((old, new)) = headroom_agent::http_listener::raise_fd_limit() {
            tracing::debug!("raised the open-files limit from {old} to {new}");
        }
        let bound = http::spawn_exposed(addr, shared.clone(), args.expose_details)?;
        if http::serves_details(bound, args.expose_details) {
            tracing::info!("serving /metrics, /stats/summary, /decision, /healthz on http://{bound}");
        } else {
            tracing::info!(
                "serving /metrics and /healthz on http://{bound} (/stats/summary and /decision only \
                 on loopback, or with --expose-details)"
            );
        }
    }
    // Checked with --once too (a slim build refuses the flag); one pass records no Events.
    let events_node = match args.events {
        OnOff::On => Some(events_node(&args)?).filter(|_| !args.once),
        OnOff::Off => None,
    };
    let recording = super::record::open(&args, &text, &cfg)?;
    let mut runner = Runner::new(cfg, shared)?;
    if let Some(r) = recording {
        runner.set_recording(r);
    }
    if let Some(node) = events_node {
        runner.set_events(start_events(&node)?);
    }
    if let Some((_, out)) = &writers.0 {
        runner.set_output(Box::new(out.clone()));
    }
    if !args.once {
        say_why_at_shutdown(writers.0.clone())?;
    }
    runner.run()?;
    Ok(ExitCode::SUCCESS)
}

/// On SIGTERM (the kubelet or systemd stopping the agent), SIGINT or SIGHUP: log one line saying
/// so, give the queued log lines their chance, and exit (0 for SIGTERM, a normal stop; 128 + the
/// signal otherwise). Without it the agent vanished mid-line and an operator reading its log
/// could not tell a stop from a crash. Nothing else needs unwinding: every pass commits what it
/// records, and a kill's SIGKILL deadline is kept on the pod's cgroup for the next agent.
fn say_why_at_shutdown(writers: Option<(LineWriter, LineWriter)>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| anyhow::anyhow!("cannot install the agent's signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("headroom-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let name = match sig {
                    SIGTERM => "SIGTERM",
                    SIGINT => "SIGINT",
                    _ => "SIGHUP",
                };
                tracing::info!("shutting down on {name} (pid {})", std::process::id());
                for w in writers.iter().flat_map(|(e, o)| [e, o]) {
                    w.drain(LOG_DRAIN_AT_EXIT);
                }
                std::process::exit(if sig == SIGTERM { 0 } else { 128 + sig });
            }
        })?;
    Ok(())
}

/// The kubelet configuration from the first of --config-from's sources that answers; its
/// origin (for messages) and which source it was.
/// The config text comes back too: a recording keeps it, so `replay` can run it again.
fn kubelet_config(args: &Args) -> anyhow::Result<(KubeletConfig, String, ConfigSourceArg, String)> {
    let sources = &args.config_from;
    if sources.contains(&ConfigSourceArg::File) && args.config.is_none() {
        return Err(bad_input(
            "--config-from file needs --config FILE (the kubelet's config file; e.g. \
             /var/lib/kubelet/config.yaml), or use --config-from api,defaults",
        ));
    }
    if let (Some(path), false) = (&args.config, sources.contains(&ConfigSourceArg::File)) {
        return Err(bad_input(format!(
            "--config {} is only read with --config-from file",
            path.display()
        )));
    }
    if sources.contains(&ConfigSourceArg::Api) && !cfg!(feature = "k8s") {
        return Err(bad_input(
            "--config-from api: this build has no Kubernetes support (a slim build, \
             --no-default-features); rebuild with the default features",
        ));
    }
    let mut tried = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let last = i + 1 == sources.len();
        match source {
            ConfigSourceArg::File => {
                let Some(path) = &args.config else { continue };
                // Missing: the next source (a DaemonSet on a distribution that keeps the file
                // elsewhere must not stop; a directory is what a container runtime leaves at a
                // hostPath file mount whose file does not exist on the node). Anything else,
                // including a file that does not parse, is the operator's to fix.
                if !last && (!path.exists() || path.is_dir()) {
                    tracing::warn!(
                        "kubelet config {} does not exist (or is a directory); trying --config-from {}",
                        path.display(),
                        sources[i + 1].as_str()
                    );
                    tried.push(format!("{} (missing)", path.display()));
                    continue;
                }
                let origin = path.display().to_string();
                let text = crate::cmd::read_text(path, "kubelet config")?;
                let kc = KubeletConfig::parse(&text, &origin).map_err(|e| bad_input(e.to_string()))?;
                // Which source won only needs saying when there was a choice.
                if sources.len() > 1 {
                    tracing::info!("kubelet config: file {origin}");
                }
                return Ok((kc, origin, *source, text));
            }
            ConfigSourceArg::Api => {
                let (node, _) = headroom_agent::pods_api::node_name_from_host(args.node_name.as_deref())
                    .map_err(|e| bad_input(format!("--config-from api: {e}")))?;
                let origin = headroom_agent::configz::configz_path(&node);
                match headroom_agent::configz::fetch(&node) {
                    Ok(text) => {
                        let kc =
                            KubeletConfig::parse(&text, &origin).map_err(|e| bad_input(e.to_string()))?;
                        tracing::info!("kubelet config: the running kubelet's, GET {origin}");
                        return Ok((kc, origin, *source, text));
                    }
                    Err(e) if !last => {
                        tracing::warn!("{e}; trying --config-from {}", sources[i + 1].as_str());
                        tried.push(origin);
                    }
                    Err(e) => anyhow::bail!("--config-from api: {e}"),
                }
            }
            ConfigSourceArg::Defaults => {
                let origin = "kubelet defaults".to_string();
                let text =
                    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n".to_string();
                let kc = KubeletConfig::parse(&text, &origin)
                    .map_err(|e| anyhow::anyhow!("kubelet defaults: {e}"))?;
                tracing::warn!(
                    "kubelet config: the kubelet's defaults (memory.available<100Mi, ...){}; this \
                     node's kubelet may use other thresholds",
                    if tried.is_empty() {
                        String::new()
                    } else {
                        format!(", after {}", tried.join(", "))
                    }
                );
                return Ok((kc, origin, *source, text));
            }
        }
    }
    Err(bad_input("--config-from: no source given (file, api, defaults)"))
}

/// The node named on Events (same rules as --pods-from api).
fn events_node(args: &Args) -> anyhow::Result<String> {
    if !cfg!(feature = "k8s") {
        return Err(bad_input(
            "--events on: this build has no Kubernetes support (a slim build, --no-default-features); \
             rebuild with the default features",
        ));
    }
    let (node, _) = headroom_agent::pods_api::node_name_from_host(args.node_name.as_deref())
        .map_err(|e| bad_input(format!("--events on: {e}")))?;
    Ok(node)
}

#[cfg(feature = "k8s")]
fn start_events(node: &str) -> anyhow::Result<headroom_agent::events::Events> {
    tracing::info!("recording Kubernetes Events for node {node}");
    Ok(headroom_agent::events::kube_api::start(node)?)
}

#[cfg(not(feature = "k8s"))]
fn start_events(_node: &str) -> anyhow::Result<headroom_agent::events::Events> {
    Err(bad_input("--events on: this build has no Kubernetes support"))
}

/// The agent's (stderr, stdout) queued writers, drained when `run` returns.
struct DrainAtExit(Option<(LineWriter, LineWriter)>);

impl Drop for DrainAtExit {
    fn drop(&mut self) {
        for w in self.0.iter().flat_map(|(e, o)| [e, o]) {
            w.drain(LOG_DRAIN_AT_EXIT);
        }
    }
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
        let other_use = args.events == OnOff::On || args.config_from.contains(&ConfigSourceArg::Api);
        if args.node_name.is_some() && !other_use {
            return Err(bad_input(
                "--node-name is only used with --pods-from api, --config-from api or --events on",
            ));
        }
        return Ok(None);
    }
    if !cfg!(feature = "k8s") {
        return Err(bad_input(
            "--pods-from api: this build has no Kubernetes support (a slim build, --no-default-features); \
             rebuild with the default features (or use --pods FILE)",
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
