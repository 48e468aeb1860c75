//! The agent loop: the kubelet's eviction manager on live data.
//!
//! Each pass: collect (the same kernel files as cAdvisor), hand the Summary, the active pods and
//! the time to the core's `synchronize`, log the decision, act on it, then publish and export
//! it, re-arm the kernel notifications. Passes run every `period` (10 s, as the kubelet) and immediately when a
//! notification fires. After a pod is acted on, the next pass waits until the pod's cgroup has
//! released its processes (as the kubelet's `waitForPodsCleanup`: poll every 1 s up to 30 s;
//! every 10 ms when notifications are on, because the point of notifications is not to lose a
//! second) and then runs at once.
//!
//! Deviations from the kubelet, on purpose:
//! * notifier arming values are recomputed on every pass, not at most every 10 s, so a
//!   threshold never lags a pass behind the inactive-file figure it depends on;
//! * the Summary's stats times carry full precision (the collector stamps whole seconds, as the
//!   JSON prints them; the kubelet's in-memory cAdvisor stats are nanosecond-precise), otherwise
//!   the manager's "stats updated" filter would ignore a second pass within the same second;
//! * while nothing is near a threshold, passes read only the node and the pod cgroup root
//!   ([`crate::light`]): same decisions, cheaper idle;
//! * a pass woken by the usage re-reads reads pod cgroups without their containers
//!   ([`crate::fast_pass`]): same pod chosen, sooner.
//!
//! The agent's own clock is read only through [`clock`] (the core takes time as a value).
//!
//! One job per file: [`run_loop`] (the loop and its waits), [`pass`] (one pass: collect,
//! synchronize, report), [`act`] (acting on the chosen pod), [`arm`] (kernel notifications and
//! the usage re-reads), [`export`] (metrics of a pass), [`clock`] (the only time source).

mod act;
mod arm;
mod clock;
mod export;
mod pass;
mod prepare;
#[cfg(test)]
mod prepared_tests;
mod reclaim_hook;
mod run_loop;
#[cfg(test)]
mod tests;

use crate::acted::Acted;
use crate::actuator::{self, Action, Own};
use crate::config::AgentConfig;
use crate::http::Shared;
use crate::light::Quiet;
use crate::pods_source::{PodSource, PodsFile};
use crate::usage_poll::UsagePoll;
use crate::warning::Mechanisms;
use clock::{Clock, SystemClock};
use headroom_core::manager::ManagerState;
use headroom_core::pod::Pod;
use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::control::{CgroupHost, CgroupVersion};
use headroom_linux::layout::CgroupMode;
use headroom_linux::notify::Notifier;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// What a pass did, for the loop and for tests.
#[derive(Debug, Default)]
pub struct PassOutcome {
    /// Cgroups acted on whose release the loop must wait for.
    pub cleanup: Vec<PathBuf>,
    /// Pods chosen by the manager (namespace/name).
    pub evicted: Vec<String>,
}

pub struct Runner {
    cfg: AgentConfig,
    collector: Collector,
    state: ManagerState,
    notifier: Notifier,
    /// Value each usage-threshold watch is armed at, to re-arm only on change.
    armed: BTreeMap<String, u64>,
    pods_source: Option<PodSource>,
    shared: Shared,
    /// Who the agent is, for the own-cgroup rail.
    own: Own,
    /// Pods acted on, kept out of the ranking (see [`crate::acted`]).
    acted: Acted,
    /// The memory controller under `--root`, for kills.
    cgroup_host: CgroupHost,
    /// Host path of the memory hierarchy root (as the collector names cgroups, no `--root`).
    host_memory_root: PathBuf,
    /// Real path of the memory hierarchy root (under `--root`).
    memory_root: PathBuf,
    mode: CgroupMode,
    psi_tried: bool,
    /// `--action evict`: one runtime and API client for the agent's life, built at the first
    /// eviction (not one per eviction: a new TLS connection while the node is short of memory).
    #[cfg(feature = "k8s")]
    evict_api: Option<(tokio::runtime::Runtime, kube::Client)>,
    /// Where the runner reads the time and sleeps (a fake one in tests).
    clock: Box<dyn Clock>,
    /// The last wake-up was the usage re-reads finding a threshold crossed: the pass may be
    /// a fast one ([`crate::fast_pass`]).
    woken_by_usage_poll: bool,
    /// The watches whose notifications woke the coming pass, for the recording (empty: the
    /// period, a cleanup or the start).
    woken_by: Vec<headroom_record::model::Wake>,
    /// When the last full (whole-tree) pass started; `None` before the first.
    last_full: Option<Instant>,
    /// What the last decision says about whether the next pass may be light.
    quiet: Quiet,
    /// The active pods of the last full pass (a light pass reads no pod cgroups).
    active: Vec<Pod>,
    arm_errors: std::collections::BTreeSet<String>,
    /// Which early-warning mechanisms are armed or refused ([`crate::warning`]).
    mechanisms: Mechanisms,
    /// A threshold was crossed while the last pass ran and no watch will report it: pass again
    /// at once ([`warning::catch_up_needed`]).
    catch_up: bool,
    /// Adaptive re-reads of the pods cgroup usage ([`crate::usage_poll`]): cgroup v2, or v1
    /// where the usage threshold was refused.
    usage_poll: Option<UsagePoll>,
    /// The fastest pod-level read timed so far (a dry one after each full pass, and each fast
    /// pass's): a lower bound of the agent's reaction, for [`crate::usage_poll::defensible_rate`].
    reaction_floor: Option<std::time::Duration>,
    /// The pods cgroup's limit and page cache at the last pass (the OOM margin's inputs).
    pods_limit_file: Option<(u64, u64)>,
    psi_pods_tried: bool,
    out: Box<dyn Write + Send>,
    /// Kubernetes Events (`--events on`), see [`crate::events`].
    events: Option<crate::events::Events>,
    oom_kills: crate::oom_kills::OomKills,
    /// systemd readiness and watchdog (no-op outside systemd).
    sd: crate::sd_notify::SdNotify,
    /// `--record DIR`: the flight recorder.
    recording: Option<crate::recording::Recording>,
    /// `--policy reclaim-first` ([`crate::reclaim_first`]); `None` for the kubelet's.
    reclaim_first: Option<crate::reclaim_first::ReclaimFirst>,
    /// The kill prepared while a hard pods threshold is within reach ([`crate::prepared_kill`]).
    prepared: Option<crate::prepared_kill::PreparedKill>,
    /// A prepared kill signalled at the crossing, for the next pass to confirm.
    fired: Option<crate::prepared_kill::Fired>,
    /// The pods cgroup's files the hot path reads, kept open.
    hot_files: Option<crate::prepared_kill::HotFiles>,
    /// No preparation before this (the last one's refresh interval).
    next_prepare: Option<Instant>,
    /// The pod the last preparation named (its info line is logged once per pod).
    last_prepared_uid: Option<String>,
}

impl Runner {
    pub fn new(cfg: AgentConfig, shared: Shared) -> anyhow::Result<Runner> {
        let collector = Collector::new(CollectOptions {
            root: cfg.root.clone(),
            pod_cgroup_root: Some(cfg.pod_cgroup_root.clone()),
            // The kubelet's /stats/summary carries `psi` only with its KubeletPSI gate on.
            kubelet_psi_off: !cfg.eviction.kubelet_psi,
            ..CollectOptions::default()
        })?;
        let layout = collector.layout().clone();
        let memory_root = cfg.root.path(&layout.memory_root);
        let pods_source = match (&cfg.pods_file, &cfg.pods_api_node) {
            (Some(p), _) => Some(PodSource::File(
                PodsFile::load(p).map_err(|e| anyhow::anyhow!("--pods: {e}"))?,
            )),
            (None, Some(node)) => Some(PodSource::Api(crate::pods_api::start(node, cfg.period)?)),
            (None, None) => {
                tracing::warn!(
                    "no --pods file: pods are synthesized from the cgroup tree (no requests, \
                     priority 0): ranking falls back to largest working set first and no pod \
                     is known to be critical"
                );
                None
            }
        };
        let own = Own::detect(layout.mode.is_v2());
        if cfg.action == Action::Kill {
            let real_pod_root = memory_root.join(cfg.pod_cgroup_root.trim_start_matches('/'));
            actuator::preflight(&cfg.pod_cgroup_root, &real_pod_root)
                .map_err(|e| anyhow::anyhow!("--action kill: {e}"))?;
            if own.cgroup.is_none() {
                tracing::warn!(
                    "the agent's own cgroup is unknown (it runs in a cgroup namespace, or \
                     /proc/self/cgroup has no memory line): a pod is refused when its processes \
                     include the agent's pid {} or cannot be listed",
                    own.pid
                );
            }
        }
        let version = if layout.mode.is_v2() {
            CgroupVersion::V2
        } else {
            CgroupVersion::V1
        };
        shared.health.set_period(cfg.period);
        let pods_dir = memory_root.join(cfg.pod_cgroup_root.trim_start_matches('/'));
        let reclaim_first = crate::reclaim_first::ReclaimFirst::new(cfg.policy, &pods_dir, &shared.metrics);
        Ok(Runner {
            collector,
            state: ManagerState::new(),
            notifier: Notifier::new(),
            armed: BTreeMap::new(),
            pods_source,
            shared,
            own,
            acted: Acted::new(),
            cgroup_host: CgroupHost::at(version, memory_root.clone()),
            host_memory_root: layout.memory_root.clone(),
            memory_root,
            mode: layout.mode,
            psi_tried: false,
            #[cfg(feature = "k8s")]
            evict_api: None,
            clock: Box::new(SystemClock),
            woken_by_usage_poll: false,
            woken_by: Vec::new(),
            last_full: None,
            quiet: Quiet::default(),
            active: Vec::new(),
            arm_errors: Default::default(),
            mechanisms: Mechanisms::default(),
            catch_up: false,
            usage_poll: None,
            reaction_floor: None,
            pods_limit_file: None,
            psi_pods_tried: false,
            out: Box::new(std::io::stdout()),
            events: None,
            oom_kills: Default::default(),
            sd: crate::sd_notify::SdNotify::from_env(),
            recording: None,
            reclaim_first,
            prepared: None,
            fired: None,
            hot_files: None,
            next_prepare: None,
            last_prepared_uid: None,
            cfg,
        })
    }

    /// Record Kubernetes Events for actions and node warnings.
    pub fn set_events(&mut self, events: crate::events::Events) {
        self.events = Some(events);
    }

    /// Record every pass (`--record DIR`); cgroups are then read with their raw samples.
    pub fn set_recording(&mut self, recording: crate::recording::Recording) {
        self.collector.keep_samples(true);
        self.recording = Some(recording);
    }

    /// Send decision and action lines somewhere other than stdout (tests).
    pub fn set_output(&mut self, out: Box<dyn Write + Send>) {
        self.out = out;
    }

    fn emit(&mut self, line: &str) {
        // A closed stdout must not stop the agent: the line is also in /decision and metrics.
        // One write per line: the CLI's writer queues whole writes and never blocks.
        let _ = self.out.write_all(format!("{line}\n").as_bytes());
        let _ = self.out.flush();
    }
}

/// The manager's sync as this agent runs it, for every decision it takes: a pass, the re-sync
/// after a reclaim, a prepared kill's plan and its confirmation. One place, so a prepared kill
/// is decided on exactly the inputs its confirming pass uses.
fn synchronize(
    cfg: &AgentConfig,
    state: &mut ManagerState,
    summary: &headroom_core::summary::Summary,
    pods: &[Pod],
    now: headroom_core::Timestamp,
) -> headroom_core::manager::Decision {
    headroom_core::manager::synchronize(
        state,
        &cfg.eviction,
        headroom_core::manager::SyncInputs {
            summary,
            active_pods: pods,
            now,
            fs_topology: headroom_core::rank::FsTopology::default(),
            pod_cgroup_root: &cfg.pod_cgroup_root,
        },
    )
}
