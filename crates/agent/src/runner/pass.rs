//! One pass: collect (light, fast or full), synchronize, log the decision, act, publish and
//! export, re-arm.

use super::{PassOutcome, Runner};
use crate::actuator::Action;
use crate::light::{self, Quiet, Trigger};
use crate::pods_list::Refresh;
use crate::pods_source::{self, PodSource};
use crate::report;
use headroom_core::Timestamp;
use headroom_core::manager::{self, EvictionCause};
use headroom_core::pod::{ActivePods, Pod};
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_linux::collect::NodeSnapshot;
use std::collections::BTreeMap;

impl Runner {
    /// A light collection, if this pass may be light and its figures are far enough from
    /// every threshold (see [`crate::light`]); `None`: collect the whole tree.
    fn try_light(&mut self, trigger: Trigger, now: Timestamp) -> Option<NodeSnapshot> {
        let since_full = self.clock.now().saturating_duration_since(self.last_full?);
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

    /// A pod-level collection when the usage re-reads found a memory threshold crossed and
    /// such figures decide as a full pass would ([`crate::fast_pass`]); `None`: collect the
    /// whole tree.
    fn try_fast(&mut self, now: Timestamp) -> Option<NodeSnapshot> {
        if self.last_full.is_none() || self.quiet.local_storage_limits {
            return None;
        }
        let t0 = self.clock.now();
        let reads = crate::fast_pass::reads_for(&self.cfg.eviction.thresholds);
        let mut snapshot = self.collector.collect_pods_at(now, reads).ok()?;
        restamp(&mut snapshot.summary, now);
        match crate::fast_pass::fast_suffices(&self.cfg.eviction.thresholds, &snapshot.summary) {
            Ok(()) => {
                let took = self.clock.now().saturating_duration_since(t0);
                self.note_reaction_floor(took);
                tracing::info!(
                    "fast pass: {} pod cgroups read without their containers in {took:?}",
                    snapshot.pods.len(),
                );
                Some(snapshot)
            }
            Err(why) => {
                tracing::debug!("full collection: {why}");
                None
            }
        }
    }

    /// Keep the fastest pod-level read timed (zero, as on a fake clock, tells nothing).
    pub(super) fn note_reaction_floor(&mut self, took: std::time::Duration) {
        if !took.is_zero() && self.reaction_floor.is_none_or(|f| took < f) {
            tracing::debug!("fastest pod-level read so far: {took:?}");
            self.reaction_floor = Some(took);
        }
    }

    /// After a full pass, while the usage re-reads run: time a dry pod-level read (what a
    /// fast pass reads first), a lower bound of the agent's reaction that sets how fast a
    /// growth is worth reading for ([`crate::usage_poll::defensible_rate`]). Off the hot path:
    /// the full pass has acted and published.
    fn time_a_pod_level_read(&mut self, now: Timestamp) {
        let reads = crate::fast_pass::reads_for(&self.cfg.eviction.thresholds);
        let t0 = self.clock.now();
        if self.collector.collect_pods_at(now, reads).is_ok() {
            let took = self.clock.now().saturating_duration_since(t0);
            self.note_reaction_floor(took);
        }
    }

    /// One pass: collect, decide, log, act, then publish and export, re-arm.
    pub fn pass(&mut self, trigger: Trigger) -> anyhow::Result<PassOutcome> {
        let started = self.clock.now();
        let now = self.clock.timestamp();
        let fast_snapshot = if std::mem::take(&mut self.woken_by_usage_poll) {
            self.try_fast(now)
        } else {
            None
        };
        let fast = fast_snapshot.is_some();
        let collected = match fast_snapshot {
            Some(s) => Some((s, false)),
            None => self.try_light(trigger, now).map(|s| (s, true)),
        };
        let (mut snapshot, light) = match collected {
            Some(s) => s,
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
        // A fast pass is not a full one: no container stats for /stats/summary.
        if !light && !fast {
            self.last_full = Some(started);
            restamp(&mut snapshot.summary, now);
        }
        // A light pass ranks nobody (no threshold is near): the last full pass's pods stand in.
        let mut pods = if light {
            std::mem::take(&mut self.active)
        } else {
            let pods = self.active_pods(&mut snapshot);
            self.leave_out_acted(pods)
        };
        // A prepared kill signalled at the crossing: this pass confirms it, on the manager's
        // state as it was before this pass (the pass's own sync moves it on).
        let fired = self.fired.take();
        // Whatever it was prepared on, this pass reads fresher figures.
        self.prepared = None;
        self.next_prepare = None;
        let state_before = fired.as_ref().map(|_| self.state.clone());
        let mut decision = super::synchronize(&self.cfg, &mut self.state, &snapshot.summary, &pods, now);
        // --policy reclaim-first: may reclaim, re-collect and re-synchronize (then the pass
        // goes on with the fresh snapshot and decision), or hold the kubelet's eviction.
        let reclaim = self.reclaim_first_hook(&mut decision, &mut snapshot, &mut pods);
        if let Some(r) = self.recording.as_mut() {
            r.pass(headroom_record::PassInput {
                snapshot: &snapshot,
                pods: &pods,
                decision: &decision,
                config: &self.cfg.eviction,
                trigger: trigger.as_str(),
                woken_by: &self.woken_by,
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
        let step = report::sync_step(&decision, &pods, &self.cfg.eviction, &self.state)
            .with_policy(self.cfg.policy, reclaim);
        let line = report::decision_line(&decision, &step, trigger, action, self.cfg.log_format);
        self.emit(&line);
        if let Some(ev) = self.events.as_mut() {
            let dry_run = self.cfg.action == Action::None;
            ev.after_decision(&decision, &self.cfg.eviction.thresholds, dry_run);
        }

        // Act first, publish and export after: a pod filling the pods cgroup gains on the OOM
        // killer every millisecond the signal waits (see crate::fast_pass).
        let mut outcome = PassOutcome::default();
        // The prepared kill was this pass's eviction (one per pass, as the kubelet).
        let prepared_acted = fired.is_some();
        if let (Some(f), Some(state)) = (fired, state_before) {
            let verdict = self.confirm(&f, &snapshot, &pods, state, now);
            let chosen = decision.evictions.first().and_then(|e| pods.get(e.index));
            outcome.evicted.push(f.pod.key());
            let key = f.pod.key();
            let acted = self.act_prepared(f, &verdict, chosen);
            if let Some(r) = self.recording.as_mut() {
                r.action(now, self.cfg.action.as_str(), &key, acted.is_some());
            }
            outcome.cleanup.extend(acted);
        }
        for e in decision.evictions.iter().filter(|_| !prepared_acted) {
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

        self.shared
            .publish_decision(report::decision_json(&step, trigger, action).to_string());
        // /stats/summary keeps the last full pass's (at most light::FULL_PASS_EVERY periods old):
        // a light Summary has no pods, a fast one no containers.
        if !light
            && !fast
            && let Ok(json) = serde_json::to_string(&snapshot.summary)
        {
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
        self.report_health(&snapshot, &decision);

        self.pods_limit_file = snapshot
            .pods_cgroup
            .as_ref()
            .map(|p| (p.memory.limit, p.memory.cache));
        let re_reads = self.usage_poll.is_some() || self.mode == headroom_linux::layout::CgroupMode::Unified;
        if self.cfg.notifications && !self.cfg.once && !light && !fast && re_reads {
            self.time_a_pod_level_read(now);
        }
        if self.cfg.notifications && !self.cfg.once {
            let met: Vec<Signal> = decision
                .thresholds_met
                .iter()
                .map(|m| m.threshold.signal)
                .collect();
            self.arm_notifications(&snapshot.summary, &met);
        }
        self.shared.metrics.observe_sync(
            trigger,
            light,
            self.clock.now().saturating_duration_since(started).as_secs_f64(),
        );
        self.active = pods;
        Ok(outcome)
    }

    /// The pods the manager ranks: the pods file's pods that have a cgroup here (the kubelet's
    /// active pods are pods it runs; a listed pod without a cgroup would rank first as "no
    /// stats" and block every real eviction), or pods synthesized from the cgroups.
    pub(super) fn active_pods(&mut self, snapshot: &mut NodeSnapshot) -> Vec<Pod> {
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
        // The kubelet's rule (bound to this node, not terminal: the core's one rule, as
        // `status` applies it), then the agent's own: a cgroup here.
        let node = &snapshot.summary.node.node_name;
        ActivePods::select(source.pods(), node)
            .active
            .into_iter()
            .filter(|p| snapshot.pods.iter().any(|c| c.uid == p.metadata.uid))
            .cloned()
            .collect()
    }

    /// Forget acted-on pods whose cgroup is gone or replaced, and leave out the others: the
    /// kubelet's active pods exclude the pods it evicted (Failed).
    pub(super) fn leave_out_acted(&mut self, pods: Vec<Pod>) -> Vec<Pod> {
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
}

/// Give every stats time of this pass full precision (see the module docs).
pub(super) fn restamp(summary: &mut Summary, now: Timestamp) {
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
