//! The runner's side of the prepared kill ([`crate::prepared_kill`]): prepare while a hard
//! pods-cgroup threshold is within reach, fire at the crossing, confirm in the pass after.

use super::Runner;
use crate::actuator::{Action, PodTarget};
use crate::prepared_kill::{self, Fired, HotFiles, PodSetWatch, PreparedKill, Verdict};
use crate::report;
use headroom_core::Timestamp;
use headroom_core::manager::{self, EvictionCause, ManagerState};
use headroom_core::pod::Pod;
use headroom_core::prepared;
use headroom_core::signal::Signal;
use headroom_linux::collect::NodeSnapshot;
use headroom_linux::layout::CgroupMode;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a preparation decided, before the rails and the pidfds.
pub(super) struct Plan {
    pub pod: Pod,
    pub target: PodTarget,
    pub stats: Option<headroom_core::summary::PodStats>,
    pub grace: i64,
    pub message: String,
}

impl Runner {
    /// Does this agent prepare kills at all? `--action kill` with the re-reads on cgroup v2,
    /// a hard `allocatableMemory.available` threshold and the kubelet's policy (reclaim-first
    /// may reclaim instead of evicting, which only its pass can tell); never a dry run.
    pub(super) fn prepares_kills(&self) -> bool {
        self.cfg.action == Action::Kill
            && self.cfg.policy == headroom_core::reclaim::Policy::Kubelet
            && self.cfg.notifications
            && !self.cfg.once
            && self.mode == CgroupMode::Unified
            && self.cfg.eviction.thresholds.iter().any(prepared::preparable)
    }

    /// After a quiet re-read: (re)prepare the kill when the usage is within reach of the trip
    /// value and the preparation is missing or due for a refresh.
    pub(super) fn maybe_prepare(&mut self) {
        if !self.prepares_kills() {
            return;
        }
        let Some((usage, trip_at, rate)) = self.usage_poll.as_ref().and_then(|p| {
            let rate = p.measured_rate().unwrap_or(p.assumed_rate()).max(1.0);
            Some((p.last_usage()?, p.trip_at()?, rate))
        }) else {
            return;
        };
        let now = self.clock.now();
        if !prepared_kill::within_reach(usage, trip_at) {
            return;
        }
        let due = self.next_prepare.is_none_or(|t| now >= t);
        let eta = Duration::from_secs_f64(trip_at.saturating_sub(usage) as f64 / rate);
        let standing = self
            .prepared
            .as_ref()
            .map(|p| (now.saturating_duration_since(p.at), p.refresh, p.took));
        if !prepared_kill::refresh_now(standing, due, eta) {
            return;
        }
        let t0 = Instant::now();
        let result = self.prepare();
        let took = t0.elapsed();
        let refresh = prepared_kill::refresh_every(took);
        self.next_prepare = Some(now + refresh);
        match result {
            Ok(mut p) => {
                p.refresh = refresh;
                p.took = took;
                // Info when the prepared pod changes (a new approach), debug on a refresh.
                let changed = self.last_prepared_uid.as_deref() != Some(p.pod.metadata.uid.as_str());
                let line = format!(
                    "prepared kill: pod {} ready ({} processes held), prepared in {took:?}, \
                     refreshed every {refresh:?} while within reach",
                    p.pod.key(),
                    p.procs.pids().len()
                );
                if changed {
                    tracing::info!("{line}");
                } else {
                    tracing::debug!("{line}");
                }
                self.last_prepared_uid = Some(p.pod.metadata.uid.clone());
                self.prepared = Some(p);
            }
            Err(why) => {
                tracing::debug!("no prepared kill ({why}); the crossing takes the fast pass");
                self.prepared = None;
            }
        }
    }

    /// The preparation itself: a pod-level read, the decision as if the threshold were met,
    /// the rails and the processes held.
    fn prepare(&mut self) -> Result<PreparedKill, String> {
        self.prepared = None;
        let pods_dir = self.pods_cgroup();
        let watch =
            PodSetWatch::arm(&pods_dir).map_err(|e| format!("inotify on {}: {e}", pods_dir.display()))?;
        let now = self.clock.timestamp();
        let reads = crate::fast_pass::reads_for(&self.cfg.eviction.thresholds);
        let mut snapshot = self
            .collector
            .collect_pods_at(now, reads)
            .map_err(|e| format!("pod-level read: {e}"))?;
        super::pass::restamp(&mut snapshot.summary, now);
        crate::fast_pass::fast_suffices(&self.cfg.eviction.thresholds, &snapshot.summary)?;
        let pods = self.active_pods(&mut snapshot);
        let pods = self.leave_out_acted(pods);
        let plan = self.plan(&snapshot, &pods, now)?;
        let listed = self
            .kill_rails(&plan.pod, &plan.target)
            .map_err(|r| r.to_string())?
            .ok_or("its processes cannot be listed")?;
        let procs = headroom_linux::control::PreparedProcesses::open(&listed).map_err(|e| e.to_string())?;
        Ok(PreparedKill {
            pod: plan.pod,
            target: plan.target,
            stats: plan.stats,
            grace: plan.grace,
            message: plan.message,
            procs,
            watch,
            at: self.clock.now(),
            refresh: prepared_kill::REFRESH_FLOOR,
            took: Duration::ZERO,
        })
    }

    /// The manager's decision on `snapshot` with the pods cgroup just past the trip value of
    /// the lowest-tripping hard pods threshold, on a copy of its state.
    pub(super) fn plan(&self, snapshot: &NodeSnapshot, pods: &[Pod], now: Timestamp) -> Result<Plan, String> {
        let summary = self
            .cfg
            .eviction
            .thresholds
            .iter()
            .filter(|t| prepared::preparable(t))
            .filter_map(|t| prepared::at_trip(&snapshot.summary, t))
            // The highest working set at which one is met first: the lowest available.
            .min_by_key(|s| {
                s.node
                    .system_container(headroom_core::summary::SYSTEM_CONTAINER_PODS)
                    .and_then(|c| c.memory.as_ref())
                    .and_then(|m| m.working_set_bytes)
            })
            .ok_or("no pods-cgroup figures to trip")?;
        let mut state = self.state.clone();
        let decision = super::synchronize(&self.cfg, &mut state, &summary, pods, now);
        let e = decision
            .evictions
            .first()
            .ok_or_else(|| format!("no eviction at the trip value: {}", reason(&decision)))?;
        if !matches!(&e.cause, EvictionCause::Threshold { signal, .. } if *signal == Signal::AllocatableMemoryAvailable)
        {
            return Err("the eviction at the trip value is not for allocatableMemory.available".into());
        }
        if e.grace_period_seconds <= 0 {
            return Err("a zero grace is a SIGKILL at once: the normal path".into());
        }
        let pod = pods
            .get(e.index)
            .ok_or("the ranked pod is not among the active pods")?;
        let target = self
            .target_of(snapshot, pod)
            .ok_or("the ranked pod has no cgroup")?;
        let stats = snapshot
            .summary
            .pods
            .iter()
            .find(|p| p.pod_ref.uid == pod.metadata.uid)
            .cloned();
        Ok(Plan {
            pod: pod.clone(),
            target,
            stats,
            grace: e.grace_period_seconds,
            message: e.message.clone(),
        })
    }

    /// The hot path, right after the re-read that found the crossing (`read_at`): if a
    /// preparation stands, the pods cgroup's fresh figures meet the threshold and no pod came
    /// or went, SIGTERM the held processes. Logs come after the signal.
    pub(super) fn fire_prepared(&mut self, read_at: Instant) {
        let Some(mut p) = self.prepared.take() else {
            return;
        };
        let age = self.clock.now().saturating_duration_since(p.at);
        let fresh = age <= prepared_kill::usable_for(p.refresh);
        let crossing = self.hot_files.as_ref().and_then(HotFiles::read);
        let met = crossing
            .as_ref()
            .and_then(|m| prepared::met_at_crossing(&self.cfg.eviction.thresholds, m))
            .cloned();
        let (Some(crossing), Some(threshold), true, false) =
            (crossing.clone(), met, fresh, p.watch.changed())
        else {
            let why = if !fresh {
                format!(
                    "stale ({age:?} old, usable for {:?})",
                    prepared_kill::usable_for(p.refresh)
                )
            } else if p.watch.changed() {
                "a pod cgroup came or went since it was prepared".to_string()
            } else if let Some(m) = crossing {
                format!(
                    "the pods cgroup's working set read at the crossing ({} bytes, available {}) \
                     does not meet a hard threshold",
                    m.working_set_bytes.unwrap_or(0),
                    bytes_or_unlimited(m.available_bytes)
                )
            } else {
                // Re-opened at the next pass's re-arm (the pods cgroup may have been replaced).
                self.hot_files = None;
                "the pods cgroup's memory.stat, memory.current or memory.max could not be read".to_string()
            };
            tracing::info!(
                "prepared kill of pod {} not used: {why}; the crossing takes the fast pass",
                p.pod.key()
            );
            self.shared.metrics.inc_prepared_kill("unused");
            return;
        };
        let first = p.procs.sigterm();
        let hot_path = read_at.elapsed();
        tracing::info!(
            "prepared kill: SIGTERM to pod {} {:?} {hot_path:?} after the re-read that found the \
             crossing (pods cgroup working set {} bytes, available {} < {}; prepared {age:?} \
             before, in {:?}); the pass confirms",
            p.pod.key(),
            first.pids,
            crossing.working_set_bytes.unwrap_or(0),
            bytes_or_unlimited(crossing.available_bytes),
            headroom_core::threshold::format_threshold_value(&threshold.value),
            p.took
        );
        self.fired = Some(Fired {
            pod: p.pod,
            target: p.target,
            stats: p.stats,
            grace: p.grace,
            message: p.message,
            first,
            crossing,
            threshold,
            hot_path,
        });
    }

    /// Would the pass have evicted the signalled pod? Its decision on the crossing's
    /// pods-cgroup figures, with the signalled pod at no less than its prepared working set
    /// (and back among the pods if its cgroup is already gone), on `state` (the manager's
    /// state before this pass).
    pub(super) fn confirm(
        &self,
        f: &Fired,
        snapshot: &NodeSnapshot,
        pods: &[Pod],
        mut state: ManagerState,
        now: Timestamp,
    ) -> Verdict {
        let uid = f.pod.metadata.uid.as_str();
        let floor = f
            .stats
            .as_ref()
            .and_then(|s| s.memory.as_ref())
            .and_then(|m| m.working_set_bytes);
        let mut summary = prepared::as_at_crossing(&snapshot.summary, &f.crossing, uid, floor);
        if !summary.pods.iter().any(|p| p.pod_ref.uid == uid)
            && let Some(s) = &f.stats
        {
            summary.pods.push(s.clone());
        }
        let mut pods = pods.to_vec();
        if !pods.iter().any(|p| p.metadata.uid == uid) {
            pods.push(f.pod.clone());
        }
        let decision = super::synchronize(&self.cfg, &mut state, &summary, &pods, now);
        match decision.evictions.first().and_then(|e| pods.get(e.index)) {
            Some(p) if p.metadata.uid == uid => Verdict::Confirmed,
            Some(p) => Verdict::Disagreed {
                other: Some(p.key()),
                why: format!("it ranks pod {} first", p.key()),
            },
            None => Verdict::Disagreed {
                other: None,
                why: format!("it evicts nobody: {}", reason(&decision)),
            },
        }
    }

    /// The pass after a prepared kill fired: log the action (after its first SIGTERM), say
    /// whether the pass confirms it, and finish the kill (newcomers, grace, SIGKILL).
    pub(super) fn act_prepared(
        &mut self,
        f: Fired,
        verdict: &Verdict,
        also_chosen: Option<&Pod>,
    ) -> Option<PathBuf> {
        let key = f.pod.key();
        self.shared.metrics.inc_prepared_kill(verdict.as_str());
        match verdict {
            Verdict::Confirmed => tracing::info!("prepared kill of pod {key}: confirmed by the pass"),
            Verdict::Disagreed { why, .. } => tracing::warn!(
                "prepared kill of pod {key} DISAGREES with the confirming pass: {why}; the pod \
                 was signalled at the crossing and its kill is completed (headroom_prepared_kills_total{{outcome=\"disagreed\"}})"
            ),
        }
        if let Some(other) = also_chosen.filter(|p| p.metadata.uid != f.pod.metadata.uid) {
            tracing::warn!(
                "the pass also chose pod {}: not acted on in this pass (one eviction per pass; \
                 the prepared kill of {key} was it); the next pass decides again",
                other.key()
            );
        }
        let mut fields = super::act::action_fields(Action::Kill, &f.pod, f.target.cgroup.clone(), f.grace);
        fields.push((
            "prepared",
            format!(
                "first SIGTERM sent at the crossing, {:?} after the re-read; {}",
                f.hot_path,
                verdict.as_str()
            ),
        ));
        fields.push(("message", f.message.trim_end().to_string()));
        let line = report::action_line(&fields, self.cfg.log_format);
        self.emit(&line);
        self.shared.metrics.inc_eviction(f.threshold.signal.as_str());
        let decided = super::act::grace_duration(f.grace);
        let pod = f.pod.clone();
        self.finish_kill(&pod, f.target, decided, Some(f.first), &f.message)
    }
}

/// Why a decision evicts nobody, for the log.
fn reason(d: &manager::Decision) -> String {
    d.no_eviction_reason
        .as_ref()
        .map_or_else(|| "no reason given".to_string(), |r| r.message().to_string())
}

fn bytes_or_unlimited(b: Option<u64>) -> String {
    b.map_or_else(|| "unlimited".to_string(), |b| b.to_string())
}
