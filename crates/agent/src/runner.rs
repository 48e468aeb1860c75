//! The agent loop: the kubelet's eviction manager on live data.
//!
//! Each pass: collect (the same kernel files as cAdvisor), hand the Summary, the active pods and
//! the time to the core's `synchronize`, log the decision, export it, act on it, re-arm the
//! kernel notifications. Passes run every `period` (10 s, as the kubelet) and immediately when a
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
//!   ([`crate::light`]): same decisions, cheaper idle.
//!
//! The agent's own clock is read here and only here (the core takes time as a value).

use crate::acted::Acted;
use crate::actuator::{self, Action, Own, PodTarget};
use crate::config::AgentConfig;
use crate::http::Shared;
use crate::light::{self, Quiet, Trigger};
use crate::pods_source::{self, PodSource, PodsFile, Refresh};
use crate::report;
use crate::usage_poll::{self, UsagePoll};
use crate::warning::{self, Mechanism, Mechanisms};
use headroom_core::Timestamp;
use headroom_core::manager::{self, EvictionCause, ManagerState, SyncInputs};
use headroom_core::notifier;
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use headroom_core::signal::{NodeCondition, Signal};
use headroom_core::summary::Summary;
use headroom_core::threshold::threshold_quantity;
use headroom_linux::collect::{CollectOptions, Collector, NodeSnapshot};
use headroom_linux::control::{CgroupHost, CgroupVersion};
use headroom_linux::layout::CgroupMode;
use headroom_linux::notify::{FiredKind, MemoryEventsWatch, Notifier, Watch};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The kubelet's cleanup wait: poll every second, give up after 30 s.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);
const CLEANUP_POLL: Duration = Duration::from_secs(1);
const CLEANUP_POLL_NOTIFIED: Duration = Duration::from_millis(10);
/// Least time between the start of a pass that acted and the pass after its cleanup: a pod
/// that is chosen again at once (nothing to signal) cannot spin the loop.
const CLEANUP_REPASS_FLOOR: Duration = Duration::from_millis(100);
/// Beyond a kill's grace period: the SIGKILL rounds (5 s) and the cleanup wait (30 s).
const ACTING_SLACK: Duration = Duration::from_secs(40);
/// PSI trigger asked for (some 100 ms stall in 1 s); widened to 2 s windows without
/// CAP_SYS_RESOURCE.
const PSI_STALL: Duration = Duration::from_millis(100);
const PSI_WINDOW: Duration = Duration::from_secs(1);
/// PSI trigger on the pod cgroup root's `memory.pressure` (cgroup v2): reclaim stalls at its
/// limit are short, so a small stall in the shortest window the kernel allows.
const PSI_PODS_STALL: Duration = Duration::from_millis(50);
const PSI_PODS_WINDOW: Duration = Duration::from_millis(500);

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
    /// The last notification wake-up was PSI alone (see [`crate::light`]).
    woken_by_psi_only: bool,
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
    psi_pods_tried: bool,
    out: Box<dyn Write + Send>,
    /// Kubernetes Events (`--events on`), see [`crate::events`].
    events: Option<crate::events::Events>,
    oom_kills: crate::oom_kills::OomKills,
    /// systemd readiness and watchdog (no-op outside systemd).
    sd: crate::sd_notify::SdNotify,
    /// `--record DIR`: the flight recorder.
    recording: Option<crate::recording::Recording>,
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
            woken_by_psi_only: false,
            last_full: None,
            quiet: Quiet::default(),
            active: Vec::new(),
            arm_errors: Default::default(),
            mechanisms: Mechanisms::default(),
            catch_up: false,
            usage_poll: None,
            psi_pods_tried: false,
            out: Box::new(std::io::stdout()),
            events: None,
            oom_kills: Default::default(),
            sd: crate::sd_notify::SdNotify::from_env(),
            recording: None,
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

    /// Run until `--once` or `max_passes` says stop (forever otherwise).
    pub fn run(&mut self) -> anyhow::Result<()> {
        let mut trigger = "start";
        let mut next_period = Instant::now();
        let mut passes = 0u64;
        let mut caught_up = false;
        loop {
            if trigger != "notification" {
                next_period = Instant::now() + self.cfg.period;
            }
            let started = Instant::now();
            let outcome = self.pass(trigger)?;
            self.sd.pass_done();
            passes += 1;
            if self.cfg.once || self.cfg.max_passes.is_some_and(|m| passes >= m) {
                return Ok(());
            }
            if !outcome.cleanup.is_empty() {
                self.wait_for_cleanup(&outcome.cleanup);
                std::thread::sleep(CLEANUP_REPASS_FLOOR.saturating_sub(started.elapsed()));
                trigger = "cleanup";
                continue;
            }
            if std::mem::take(&mut self.catch_up) {
                // Back to back only while the figures keep moving across the threshold
                // between a pass's reads and its re-arm; spaced so that cannot spin.
                if caught_up {
                    std::thread::sleep(warning::CATCH_UP_SPACING);
                }
                caught_up = true;
                self.woken_by_psi_only = false;
                trigger = "notification";
                continue;
            }
            caught_up = false;
            if let Some(r) = &self.recording {
                next_period = r.next_pass(next_period);
            }
            trigger = self.wait_for_trigger(next_period)?;
        }
    }

    /// Block until the period elapses or a notification fires.
    fn wait_for_trigger(&mut self, next_period: Instant) -> anyhow::Result<&'static str> {
        loop {
            let now = Instant::now();
            if now >= next_period {
                return Ok("period");
            }
            let wake = self
                .usage_poll
                .as_ref()
                .and_then(UsagePoll::deadline)
                .map_or(next_period, |d| d.min(next_period));
            let fired = self.notifier.wait(Some(wake.saturating_duration_since(now)))?;
            if fired.is_empty() {
                if warning::usage_poll_crossed(self.usage_poll.as_mut(), &self.shared.metrics) {
                    self.woken_by_psi_only = false;
                    return Ok("notification");
                }
                continue;
            }
            self.woken_by_psi_only = fired.iter().all(|f| matches!(f.kind, FiredKind::Psi { .. }));
            for f in &fired {
                self.shared.metrics.inc_notification(&f.key, f.kind.label());
                tracing::info!("notification: {f}");
                if matches!(f.kind, FiredKind::Gone { .. }) {
                    // Re-arm from scratch at the next pass if the cgroup comes back.
                    self.armed.remove(&f.key);
                }
            }
            return Ok("notification");
        }
    }

    /// Wait for the acted-on cgroups to release their processes (or give up after 30 s).
    fn wait_for_cleanup(&mut self, cgroups: &[PathBuf]) {
        let poll = if self.cfg.notifications {
            CLEANUP_POLL_NOTIFIED
        } else {
            CLEANUP_POLL
        };
        let t0 = Instant::now();
        while t0.elapsed() < CLEANUP_TIMEOUT {
            if cgroups.iter().all(|c| actuator::cgroup_released(c)) {
                return;
            }
            std::thread::sleep(poll);
        }
        tracing::warn!(
            "pods in {:?} still have processes after {}s; continuing (the kubelet gives up the same way)",
            cgroups,
            CLEANUP_TIMEOUT.as_secs()
        );
    }

    /// A light collection, if this pass may be light and its figures are far enough from
    /// every threshold (see [`crate::light`]); `None`: collect the whole tree.
    fn try_light(&mut self, trigger: &str, now: Timestamp) -> Option<NodeSnapshot> {
        let trigger = match trigger {
            "period" => Trigger::Period,
            "notification" if self.woken_by_psi_only => Trigger::Pressure,
            "notification" => Trigger::Notification,
            "cleanup" => Trigger::Cleanup,
            _ => Trigger::Start,
        };
        let since_full = self.last_full?.elapsed();
        if !light::may_try_light(trigger, self.quiet, since_full, self.cfg.period) {
            return None;
        }
        let mut snapshot = self.collector.collect_light_at(now).ok()?;
        restamp(&mut snapshot.summary, now);
        match light::light_suffices(&self.cfg.eviction.thresholds, &snapshot.summary) {
            Ok(()) => Some(snapshot),
            Err(why) => {
                tracing::debug!("full collection: {why}");
                None
            }
        }
    }

    /// One pass: collect, decide, log, export, act, re-arm.
    pub fn pass(&mut self, trigger: &str) -> anyhow::Result<PassOutcome> {
        let started = Instant::now();
        let now = Timestamp::now();
        let (mut snapshot, light) = match self.try_light(trigger, now) {
            Some(s) => (s, true),
            None => match self.collector.collect_at(now) {
                Ok(s) => (s, false),
                Err(e) => {
                    // `--once` has no next pass: its caller (a script, an SRE) must see the
                    // failure in the exit status, not a silent 0.
                    if self.cfg.once {
                        return Err(anyhow::Error::new(e).context("collection failed"));
                    }
                    // The kubelet skips a sync whose summary failed; so does the agent, and
                    // says so on /healthz and in metrics (a blind agent must not look fine).
                    tracing::error!("collection failed, skipping this pass: {e}");
                    self.shared.health.pass_failed(format!("collection failed: {e}"));
                    self.shared
                        .metrics
                        .faults
                        .pass_failures
                        .get_or_create(&vec![("stage".to_string(), "collect".to_string())])
                        .inc();
                    return Ok(PassOutcome::default());
                }
            },
        };
        if !light {
            self.last_full = Some(started);
            restamp(&mut snapshot.summary, now);
        }
        // A light pass ranks nobody (no threshold is near): the last full pass's pods stand in.
        let pods = if light {
            std::mem::take(&mut self.active)
        } else {
            let pods = self.active_pods(&mut snapshot);
            self.leave_out_acted(pods)
        };
        let decision = manager::synchronize(
            &mut self.state,
            &self.cfg.eviction,
            SyncInputs {
                summary: &snapshot.summary,
                active_pods: &pods,
                now,
                fs_topology: FsTopology::default(),
                pod_cgroup_root: &self.cfg.pod_cgroup_root,
            },
        );
        if let Some(r) = self.recording.as_mut() {
            r.pass(headroom_record::PassInput {
                snapshot: &snapshot,
                pods: &pods,
                decision: &decision,
                config: &self.cfg.eviction,
                trigger,
                light,
                now,
            });
        }
        self.quiet = Quiet {
            nothing_pending: decision.thresholds_met.is_empty() && decision.conditions.is_empty(),
            local_storage_limits: self.cfg.eviction.local_storage_capacity_isolation
                && pods.iter().any(headroom_core::local_storage::has_storage_limits),
        };
        let action = self.cfg.action.as_str();
        let step = report::sync_step(&decision, &pods, &self.cfg.eviction, &self.state);
        let line = report::decision_line(&decision, &step, trigger, action, self.cfg.log_format);
        self.emit(&line);
        self.shared
            .publish_decision(report::decision_json(&step, trigger, action).to_string());
        // /stats/summary keeps the last full pass's (at most light::FULL_PASS_EVERY periods old):
        // a light Summary has no pods.
        if !light && let Ok(json) = serde_json::to_string(&snapshot.summary) {
            self.shared.publish_summary(json);
        }
        self.export(&snapshot, &decision, now);
        if !light {
            crate::pod_series::export(&self.shared.metrics, &pods, &snapshot.summary);
        }
        let vmstat = crate::oom_kills::OomKills::read(&self.cfg.root);
        if let Some(n) = self.oom_kills.observe(vmstat) {
            self.shared.metrics.add_kernel_oom_kills(n);
        }
        if let Some(ev) = self.events.as_mut() {
            let dry_run = self.cfg.action == Action::None;
            ev.after_decision(&decision, &self.cfg.eviction.thresholds, dry_run);
        }
        self.report_health(&snapshot, &decision);

        let mut outcome = PassOutcome::default();
        for e in &decision.evictions {
            let Some(pod) = pods.get(e.index) else {
                continue;
            };
            outcome.evicted.push(pod.key());
            if let EvictionCause::Threshold { signal, .. } = &e.cause {
                self.shared.metrics.inc_eviction(signal.as_str());
            }
            let acted = self.act(pod, &snapshot, e.grace_period_seconds, &e.message);
            if let Some(r) = self.recording.as_mut() {
                r.action(now, self.cfg.action.as_str(), &pod.key(), acted.is_some());
            }
            outcome.cleanup.extend(acted);
        }

        if self.cfg.notifications && !self.cfg.once {
            let met: Vec<Signal> = decision
                .thresholds_met
                .iter()
                .map(|m| m.threshold.signal)
                .collect();
            self.arm_notifications(&snapshot.summary, &met);
        }
        self.shared
            .metrics
            .observe_sync(trigger, light, started.elapsed().as_secs_f64());
        self.active = pods;
        Ok(outcome)
    }

    /// The pods the manager ranks: the pods file's pods that have a cgroup here (the kubelet's
    /// active pods are pods it runs; a listed pod without a cgroup would rank first as "no
    /// stats" and block every real eviction), or pods synthesized from the cgroups.
    fn active_pods(&mut self, snapshot: &mut NodeSnapshot) -> Vec<Pod> {
        let Some(source) = self.pods_source.as_mut() else {
            let qos: BTreeMap<String, String> = snapshot
                .pods
                .iter()
                .map(|p| (p.uid.clone(), p.qos.as_str().to_string()))
                .collect();
            return pods_source::synthesize(&snapshot.summary.pods, |uid| qos.get(uid).cloned());
        };
        match source.refresh() {
            Refresh::Unchanged => {}
            // The API answers every period: only a file change is worth an info line.
            Refresh::Reloaded { pods } if matches!(source, PodSource::File(_)) => {
                tracing::info!("read {pods} active pods from {}", source.describe())
            }
            Refresh::Reloaded { pods } => {
                tracing::debug!("read {pods} active pods from {}", source.describe())
            }
            Refresh::KeptLastGood { error, pods } => {
                self.shared.metrics.faults.pods_source_errors.inc();
                tracing::error!("{error}; keeping the last good list ({pods} pods)")
            }
        }
        let unknown = pods_source::name_pod_stats(&mut snapshot.summary.pods, source.pods());
        if !unknown.is_empty() {
            tracing::debug!(
                "pod cgroups not named by {} (never candidates): {}",
                source.describe(),
                unknown.join(", ")
            );
        }
        source
            .pods()
            .iter()
            .filter(|p| snapshot.pods.iter().any(|c| c.uid == p.metadata.uid))
            .cloned()
            .collect()
    }

    /// Forget acted-on pods whose cgroup is gone or replaced, and leave out the others: the
    /// kubelet's active pods exclude the pods it evicted (Failed).
    fn leave_out_acted(&mut self, pods: Vec<Pod>) -> Vec<Pod> {
        for key in self.acted.prune() {
            tracing::info!("pod {key}: its cgroup is gone or replaced; it may be ranked again");
        }
        self.acted.leave_out(pods)
    }

    /// `/healthz` and the failure metrics from a pass that collected and decided.
    fn report_health(&self, snapshot: &NodeSnapshot, decision: &manager::Decision) {
        let (all, blind) = crate::health::unobserved(
            &self.cfg.eviction.thresholds,
            &decision.observations,
            &snapshot.skipped,
        );
        let faults = &self.shared.metrics.faults;
        for (signal, seen) in all {
            faults
                .signal_unobserved
                .get_or_create(&vec![("signal".to_string(), signal.to_string())])
                .set(i64::from(!seen));
        }
        faults.last_success_seconds.set(crate::health::unix_now());
        self.shared.health.pass_ok(blind);
    }

    /// Take the configured action on `pod`; returns the cgroup (real path) to wait on when
    /// processes were signalled.
    fn act(&mut self, pod: &Pod, snapshot: &NodeSnapshot, grace: i64, message: &str) -> Option<PathBuf> {
        let action = self.cfg.action;
        let key = pod.key();
        let target = snapshot
            .pods
            .iter()
            .find(|c| c.uid == pod.metadata.uid)
            .map(|c| PodTarget::new(&self.cfg.root, &self.host_memory_root, &c.path));
        let own = self.own.cgroup.as_deref();
        let rails = match (&target, action) {
            (_, Action::None) => Ok(()),
            (None, _) => Err(actuator::Refusal::NoCgroup {
                pod: key.clone(),
                uid: pod.metadata.uid.clone(),
            }),
            (Some(t), Action::Kill) => actuator::check_target(pod, &t.cgroup, &self.cfg.pod_cgroup_root, own)
                .and_then(|()| actuator::check_on_disk(t, &self.own)),
            (Some(t), Action::Evict) => {
                actuator::check_target(pod, &t.cgroup, &self.cfg.pod_cgroup_root, own)
            }
        };
        let mut fields = vec![
            ("action", action.as_str().to_string()),
            ("pod", key.clone()),
            ("uid", pod.metadata.uid.clone()),
            (
                "cgroup",
                target.as_ref().map(|t| t.cgroup.clone()).unwrap_or_default(),
            ),
            ("grace", format!("{grace}s")),
        ];
        if let Err(refusal) = rails {
            fields.push(("refused", refusal.to_string()));
            let line = report::action_line(&fields, self.cfg.log_format);
            self.emit(&line);
            self.shared.metrics.inc_action(action.as_str(), "refused");
            return None;
        }
        if action == Action::None {
            fields.push(("note", "dry run (--action none): nothing was done".into()));
        }
        fields.push(("message", message.trim_end().to_string()));
        // Logged BEFORE the action is taken.
        let line = report::action_line(&fields, self.cfg.log_format);
        self.emit(&line);
        let target = target?;
        match action {
            Action::None => {
                self.shared.metrics.inc_action("none", "ok");
                None
            }
            Action::Kill => {
                let decided = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
                // An earlier kill's deadline (an agent restart mid-grace) stands.
                let grace =
                    crate::kill_deadline::remaining(&target.real, decided, std::time::SystemTime::now());
                if grace < decided {
                    tracing::info!(
                        "kill pod {key}: an earlier kill's SIGKILL deadline stands: {}s left of {}s",
                        grace.as_secs(),
                        decided.as_secs()
                    );
                }
                self.shared
                    .health
                    .busy_until(Instant::now() + grace + ACTING_SLACK);
                // Whatever the kill's outcome, the pod was acted on: like the kubelet's Failed
                // pod it leaves the ranking until its cgroup goes.
                self.acted.remember(pod, &target.real);
                match actuator::kill_cgroup(&self.cgroup_host, &target, grace) {
                    Ok(r) if actuator::signalled_nothing(&r) => {
                        self.shared.metrics.inc_action("kill", "empty");
                        tracing::info!(
                            "kill pod {key}: no process left in {} to signal (the pod had already \
                             stopped); not ranked again until its cgroup is gone",
                            target.cgroup
                        );
                        None
                    }
                    Ok(r) => {
                        self.shared.metrics.inc_action("kill", "ok");
                        if let Some(ev) = &self.events {
                            ev.pod_acted(pod, message);
                        }
                        tracing::info!(
                            "killed pod {key}: SIGTERM to {:?}, SIGKILL to {:?}, cgroup.kill={}, exited in grace={}, {:?}",
                            r.sigterm,
                            r.sigkill,
                            r.used_cgroup_kill,
                            r.exited_in_grace,
                            r.elapsed
                        );
                        Some(target.real)
                    }
                    // The pod ended (or its runtime removed it) between the decision and the
                    // kill: nothing is left to stop, which is what the kill was for.
                    Err(e) if e.cgroup_gone() => {
                        self.shared.metrics.inc_action("kill", "gone");
                        tracing::info!(
                            "kill pod {key}: its cgroup is already gone ({e}); the pod ended \
                             before the kill, nothing to do"
                        );
                        None
                    }
                    Err(e) => {
                        self.shared.metrics.inc_action("kill", "error");
                        tracing::error!("kill pod {key}: {e}");
                        Some(target.real)
                    }
                }
            }
            Action::Evict => {
                // The cleanup wait after an accepted eviction (up to 30 s) is not an outage.
                let grace_s = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
                self.shared
                    .health
                    .busy_until(Instant::now() + grace_s + ACTING_SLACK);
                let ok = self.evict(pod, grace);
                if let (true, Some(ev)) = (ok, &self.events) {
                    ev.pod_acted(pod, message);
                }
                self.shared
                    .metrics
                    .inc_action("evict", if ok { "ok" } else { "error" });
                if ok {
                    self.acted.remember(pod, &target.real);
                }
                ok.then_some(target.real)
            }
        }
    }

    #[cfg(feature = "k8s")]
    fn evict(&mut self, pod: &Pod, grace: i64) -> bool {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!("evict {}: no runtime: {e}", pod.key());
                return false;
            }
        };
        let (ns, name) = (pod.metadata.namespace.clone(), pod.metadata.name.clone());
        // No kube-side retry (see `client_from`): a 429 (a PodDisruptionBudget says no) would
        // otherwise block this loop through 15 backoffs; the next sync asks again.
        let res = rt.block_on(async move {
            let client = crate::pods_api::kube_api::default_client()
                .await
                .map_err(anyhow::Error::msg)?;
            actuator::kube_api::evict(&client, &ns, &name, grace).await
        });
        if let Err(e) = &res {
            tracing::error!("evict {}: the API refused or was unreachable: {e:#}", pod.key());
        }
        res.is_ok()
    }

    #[cfg(not(feature = "k8s"))]
    fn evict(&mut self, pod: &Pod, _grace: i64) -> bool {
        tracing::error!(
            "evict {}: this binary was built without the `k8s` feature; nothing was done",
            pod.key()
        );
        false
    }

    /// Metrics for this pass.
    fn export(&self, snapshot: &NodeSnapshot, decision: &manager::Decision, now: Timestamp) {
        let m = &self.shared.metrics;
        let breakdown = |scope: &str, b: &headroom_linux::memcg::MemoryBreakdown, available: Option<u64>| {
            m.set_memory(scope, "usage", b.usage as f64);
            m.set_memory(scope, "working_set", b.working_set as f64);
            m.set_memory(scope, "rss", b.rss as f64);
            m.set_memory(scope, "cache", b.cache as f64);
            m.set_memory(scope, "active_file", b.active_file as f64);
            m.set_memory(scope, "inactive_file", b.inactive_file.unwrap_or(0) as f64);
            if b.limit < (1 << 62) {
                m.set_memory(scope, "limit", b.limit as f64);
            }
            if let Some(a) = available {
                m.set_memory(scope, "available", a as f64);
            }
        };
        if let Some(node) = &snapshot.node {
            let avail = snapshot
                .summary
                .node
                .memory
                .as_ref()
                .and_then(|m| m.available_bytes);
            breakdown("node", node, avail);
        }
        if let Some(pods) = &snapshot.pods_cgroup {
            let avail = snapshot
                .summary
                .node
                .system_container(headroom_core::summary::SYSTEM_CONTAINER_PODS)
                .and_then(|c| c.memory.as_ref())
                .and_then(|m| m.available_bytes);
            breakdown("pods", &pods.memory, avail);
        }
        for (signal, o) in decision.observations.iter() {
            m.set_signal(signal, o.available.value() as f64, o.capacity.value() as f64);
            if let Some(t) = o.time {
                let age = now.as_nanosecond() - t.as_nanosecond();
                m.set_stats_age(signal.as_str(), age as f64 / 1e9);
            }
        }
        for t in &self.cfg.eviction.thresholds {
            if let Some(o) = decision.observations.get(t.signal) {
                let q = threshold_quantity(&t.value, &o.capacity).value();
                let kind = if t.is_hard() { "hard" } else { "soft" };
                m.set_threshold(t.signal, kind, q as f64, (o.available.value() - q) as f64);
            }
        }
        for c in [
            NodeCondition::MemoryPressure,
            NodeCondition::DiskPressure,
            NodeCondition::PIDPressure,
        ] {
            m.set_condition(c.as_str(), decision.conditions.contains(&c));
        }
    }

    /// The pod cgroup root's directory in the memory hierarchy.
    fn pods_cgroup(&self) -> PathBuf {
        self.memory_root
            .join(self.cfg.pod_cgroup_root.trim_start_matches('/'))
    }

    /// Open (once) and re-aim the adaptive re-reads of the pods cgroup usage.
    fn arm_usage_poll(&mut self, summary: &Summary, met_this_pass: bool) {
        if self.usage_poll.is_none() {
            let file = if self.mode == CgroupMode::Unified {
                "memory.current"
            } else {
                "memory.usage_in_bytes"
            };
            let path = self.pods_cgroup().join(file);
            self.usage_poll = warning::open_usage_poll(&mut self.mechanisms, &self.shared.metrics, &path);
        }
        let trip_at =
            usage_poll::pods_trip_at(&self.cfg.eviction.thresholds, summary, &self.cfg.pod_cgroup_root);
        if let Some(p) = self.usage_poll.as_mut() {
            p.rearm(trip_at, met_this_pass, Instant::now());
        }
    }

    /// Arm (or re-arm) the kernel notifications from this pass's Summary.
    fn arm_notifications(&mut self, summary: &Summary, met: &[Signal]) {
        if self.mode != CgroupMode::Unified {
            let arms = notifier::arm_all(&self.cfg.eviction.thresholds, summary, &self.cfg.pod_cgroup_root);
            for arm in arms {
                let arm = match arm {
                    Ok(a) => a,
                    Err(e) => {
                        // Once per distinct problem, not on every pass.
                        let msg = e.to_string();
                        if self.arm_errors.insert(msg.clone()) {
                            tracing::warn!("memcg notifier not armed: {msg}");
                        }
                        continue;
                    }
                };
                let Ok(bytes) = u64::try_from(arm.arm_at_bytes) else {
                    continue;
                };
                if self.armed.get(&arm.description) == Some(&bytes) {
                    continue;
                }
                let cgroup = self.memory_root.join(arm.cgroup.trim_start_matches('/'));
                let mechanism = if arm.signal == Signal::AllocatableMemoryAvailable {
                    Mechanism::MemcgThresholdPods
                } else {
                    Mechanism::MemcgThresholdNode
                };
                let met_this_pass = met.contains(&arm.signal);
                match warning::rearm_usage_threshold(
                    &mut self.notifier,
                    &arm.description,
                    &cgroup,
                    bytes,
                    met_this_pass,
                ) {
                    Ok(r) => {
                        tracing::debug!("armed {}: {}", arm.description, r.detail);
                        if r.catch_up {
                            tracing::info!(
                                "{}: crossed while the pass ran (usage after re-arm at {bytes}: {:?}; \
                                 unread on the replaced watch: {:?}): passing again at once",
                                arm.description,
                                r.crossed_before_armed,
                                r.replaced_pending
                            );
                            self.shared
                                .metrics
                                .inc_notification(&arm.description, "crossed_during_pass");
                            self.catch_up = true;
                        }
                        self.mechanisms.armed(mechanism, &r.detail, &self.shared.metrics);
                        self.shared
                            .metrics
                            .set_notifier_armed(&arm.description, bytes as f64);
                        self.armed.insert(arm.description.clone(), bytes);
                    }
                    Err(e) => {
                        let msg = format!("{}: {e}", arm.description);
                        if self.arm_errors.insert(msg.clone()) {
                            tracing::warn!("{msg} (periodic passes continue)");
                        }
                        self.mechanisms.refused(mechanism, &msg, &self.shared.metrics);
                        self.armed.remove(&arm.description);
                        self.notifier.remove(&arm.description);
                    }
                }
            }
        } else if self.notifier.get("pods memory.events").is_none() {
            let path = self.pods_cgroup().join("memory.events");
            match MemoryEventsWatch::watch(&path) {
                Ok(w) => {
                    let detail = format!("inotify on {}", path.display());
                    self.mechanisms
                        .armed(Mechanism::MemoryEventsPods, &detail, &self.shared.metrics);
                    self.notifier.set("pods memory.events", Watch::Events(w));
                }
                Err(e) => {
                    self.mechanisms
                        .refused(Mechanism::MemoryEventsPods, &e.to_string(), &self.shared.metrics)
                }
            }
        }
        if self.mode == CgroupMode::Unified && !self.psi_pods_tried {
            self.psi_pods_tried = true;
            let pressure = self.pods_cgroup().join("memory.pressure");
            warning::arm_psi(
                &mut self.mechanisms,
                &mut self.notifier,
                &self.shared.metrics,
                "psi pods",
                Mechanism::PsiPods,
                &pressure,
                PSI_PODS_STALL,
                PSI_PODS_WINDOW,
            );
        }
        if self.mode == CgroupMode::Unified || self.mechanisms.is_refused(Mechanism::MemcgThresholdPods) {
            self.arm_usage_poll(summary, met.contains(&Signal::AllocatableMemoryAvailable));
        }
        if !self.psi_tried {
            self.psi_tried = true;
            let path = self.cfg.root.path("/proc/pressure/memory");
            warning::arm_psi(
                &mut self.mechanisms,
                &mut self.notifier,
                &self.shared.metrics,
                "psi",
                Mechanism::PsiNode,
                &path,
                PSI_STALL,
                PSI_WINDOW,
            );
        }
    }
}

/// Give every stats time of this pass full precision (see the module docs).
fn restamp(summary: &mut Summary, now: Timestamp) {
    let set = |t: &mut Option<Timestamp>| {
        if t.is_some() {
            *t = Some(now);
        }
    };
    let node = &mut summary.node;
    if let Some(m) = node.memory.as_mut() {
        set(&mut m.time);
    }
    if let Some(r) = node.rlimit.as_mut() {
        set(&mut r.time);
    }
    if let Some(f) = node.fs.as_mut() {
        set(&mut f.time);
    }
    for c in node.system_containers.iter_mut().flatten() {
        if let Some(m) = c.memory.as_mut() {
            set(&mut m.time);
        }
    }
    for p in &mut summary.pods {
        if let Some(m) = p.memory.as_mut() {
            set(&mut m.time);
        }
        for c in &mut p.containers {
            if let Some(m) = c.memory.as_mut() {
                set(&mut m.time);
            }
        }
    }
}
