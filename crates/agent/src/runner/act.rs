//! Acting on the pod the manager chose: the rails, the log line before the action, the kill or
//! the eviction, and what the loop must wait for.

use super::Runner;
use crate::actuator::{self, Action, PodTarget};
use crate::report;
use headroom_core::pod::Pod;
use headroom_linux::collect::NodeSnapshot;
use std::path::PathBuf;
use std::time::Duration;

/// Beyond a kill's grace period: the SIGKILL rounds (5 s) and the cleanup wait (30 s).
const ACTING_SLACK: Duration = Duration::from_secs(40);

impl Runner {
    /// Take the configured action on `pod`; returns the cgroup (real path) to wait on when
    /// processes were signalled.
    pub(super) fn act(
        &mut self,
        pod: &Pod,
        snapshot: &NodeSnapshot,
        grace: i64,
        message: &str,
    ) -> Option<PathBuf> {
        let action = self.cfg.action;
        let key = pod.key();
        let target = self.target_of(snapshot, pod);
        // The rails of a kill list the pod's processes: the first SIGTERM goes to that list.
        let rails = match (&target, action) {
            (_, Action::None) => Ok(None),
            (None, _) => Err(actuator::Refusal::NoCgroup {
                pod: key.clone(),
                uid: pod.metadata.uid.clone(),
            }),
            (Some(t), Action::Kill) => self.kill_rails(pod, t),
            (Some(t), Action::Evict) => {
                let own = self.own.cgroup.as_deref();
                actuator::check_target(pod, &t.cgroup, &self.cfg.pod_cgroup_root, own).map(|()| None)
            }
        };
        let cgroup = target.as_ref().map(|t| t.cgroup.clone()).unwrap_or_default();
        let mut fields = action_fields(action, pod, cgroup, grace);
        let listed = match rails {
            Ok(listed) => listed,
            Err(refusal) => {
                fields.push(("refused", refusal.to_string()));
                let line = report::action_line(&fields, self.cfg.log_format);
                self.emit(&line);
                self.shared.metrics.inc_action(action.as_str(), "refused");
                return None;
            }
        };
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
                let decided = grace_duration(grace);
                // SIGTERM first, bookkeeping after: a pod filling the pods cgroup gains on the
                // OOM killer every millisecond the signal waits. A zero grace is a SIGKILL at
                // once (no SIGTERM), as before.
                let first = listed
                    .filter(|_| !decided.is_zero())
                    .map(|pids| headroom_linux::control::FirstSigterm::send(&pids));
                self.finish_kill(pod, target, decided, first, message)
            }
            Action::Evict => {
                // The cleanup wait after an accepted eviction (up to 30 s) is not an outage.
                let grace_s = Duration::from_secs(u64::try_from(grace).unwrap_or(0));
                self.shared
                    .health
                    .busy_until(self.clock.now() + grace_s + ACTING_SLACK);
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

    /// The cgroup of `pod` in the pass's snapshot, as an action targets it.
    pub(super) fn target_of(&self, snapshot: &NodeSnapshot, pod: &Pod) -> Option<PodTarget> {
        snapshot
            .pods
            .iter()
            .find(|c| c.uid == pod.metadata.uid)
            .map(|c| PodTarget::new(&self.cfg.root, &self.host_memory_root, &c.path))
    }

    /// The rails of a kill (a pod cgroup under the pod cgroup root, not the agent's own, on a
    /// cgroup filesystem) and the pod's processes listed: the first SIGTERM's list (`None`:
    /// they cannot be listed).
    pub(super) fn kill_rails(
        &self,
        pod: &Pod,
        target: &PodTarget,
    ) -> Result<Option<Vec<i32>>, actuator::Refusal> {
        let own = self.own.cgroup.as_deref();
        actuator::check_target(pod, &target.cgroup, &self.cfg.pod_cgroup_root, own)
            .and_then(|()| actuator::check_on_disk(target, &self.own))
    }

    /// The kill after its first SIGTERM (`first`; `None`: none sent yet): the SIGKILL
    /// deadline, the newcomer sweep, the grace, SIGKILL; the metrics and the result lines.
    pub(super) fn finish_kill(
        &mut self,
        pod: &Pod,
        target: PodTarget,
        decided: Duration,
        first: Option<headroom_linux::control::FirstSigterm>,
        message: &str,
    ) -> Option<PathBuf> {
        let key = pod.key();
        // An earlier kill's deadline (an agent restart mid-grace) stands; recorded
        // right after the first SIGTERM (a restart in between restarts the grace).
        let grace = crate::kill_deadline::remaining(&target.real, decided, self.clock.system_time());
        if grace < decided {
            tracing::info!(
                "kill pod {key}: an earlier kill's SIGKILL deadline stands: {}s left of {}s",
                grace.as_secs(),
                decided.as_secs()
            );
        }
        self.shared
            .health
            .busy_until(self.clock.now() + grace + ACTING_SLACK);
        // Whatever the kill's outcome, the pod was acted on: like the kubelet's Failed
        // pod it leaves the ranking until its cgroup goes.
        self.acted.remember(pod, &target.real);
        match actuator::kill_cgroup(&self.cgroup_host, &target, grace, first) {
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

    #[cfg(feature = "k8s")]
    fn evict(&mut self, pod: &Pod, grace: i64) -> bool {
        if self.evict_api.is_none() {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("evict {}: no runtime: {e}", pod.key());
                    return false;
                }
            };
            // No kube-side retry (see `client_from`): a 429 (a PodDisruptionBudget says no)
            // would otherwise block this loop through 15 backoffs; the next sync asks again.
            match rt.block_on(crate::pods_api::kube_api::default_client()) {
                Ok(client) => self.evict_api = Some((rt, client)),
                Err(e) => {
                    // Not kept: the next eviction tries the credentials again.
                    tracing::error!("evict {}: {e}", pod.key());
                    return false;
                }
            }
        }
        let Some((rt, client)) = self.evict_api.as_ref() else {
            return false;
        };
        let (ns, name) = (&pod.metadata.namespace, &pod.metadata.name);
        let res = rt.block_on(actuator::kube_api::evict(client, ns, name, grace));
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
}

/// The head of an action line: what is done to which pod, where, with which grace (seconds).
pub(super) fn action_fields(
    action: Action,
    pod: &Pod,
    cgroup: String,
    grace: i64,
) -> Vec<(&'static str, String)> {
    vec![
        ("action", action.as_str().to_string()),
        ("pod", pod.key()),
        ("uid", pod.metadata.uid.clone()),
        ("cgroup", cgroup),
        ("grace", format!("{grace}s")),
    ]
}

/// A decided grace period in seconds as a duration (a negative one is none).
pub(super) fn grace_duration(grace: i64) -> Duration {
    Duration::from_secs(u64::try_from(grace).unwrap_or(0))
}
