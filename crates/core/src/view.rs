//! The sync step: one [`synchronize`](crate::manager::synchronize) as the outside world reads
//! it, with the pods joined in by value. `headroom simulate --format json` prints one per line,
//! the agent serves the last at `/decision` and logs one per pass (`--log-format json`); the
//! keys are documented in docs/sync-step.md and docs/sync-step.schema.json.
//!
//! [`Decision`] refers to pods by their index into the active pods it was given; this is the
//! one place those indices are joined back to pods, so no renderer re-joins them (or could
//! index out of range: an index without a pod is left out, which `synchronize` never produces).
//!
//! Serialize through [`SyncStep::to_json`] (or `serde_json::to_value`): the printed objects
//! have their keys in alphabetical order, as `simulate` has always printed them.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::config::display_duration;
use crate::manager::{Decision, EvictionCause, NoEvictionCode};
use crate::message::Annotations;
use crate::notifier::{NotifierArm, NotifierError};
use crate::pod::Pod;
use crate::reclaim::{Plan, Policy};
use crate::signal::Signal;
use crate::threshold::{Threshold, format_threshold_value};

/// What `nodeReclaim` says when the kubelet would first garbage-collect images/containers.
pub const NODE_RECLAIM_ASSUMED_NOTHING: &str =
    "the kubelet would first garbage-collect images/containers; assumed to free nothing";

/// One sync step (docs/sync-step.md).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStep {
    /// The sync's time (RFC 3339).
    pub time: String,
    /// Node conditions reported after the sync: `MemoryPressure`, `DiskPressure`, `PIDPressure`.
    pub conditions: Vec<&'static str>,
    /// One entry per observed signal, by signal name.
    pub observations: ObservationsView,
    /// Thresholds met at this sync (before the grace filter), configuration order.
    pub thresholds_met: Vec<MetThresholdView>,
    /// The threshold whose resource is being reclaimed.
    pub reclaiming: Option<ThresholdView>,
    /// The first eviction (the one a threshold causes), or null.
    pub evicted: Option<EvictionView>,
    /// Every eviction: at most one for a threshold, possibly several for local-storage limits.
    pub evictions: Vec<EvictionView>,
    /// Active pods in eviction order (`namespace/name`), when a threshold eviction was attempted.
    pub ranking: Vec<String>,
    /// Critical pods the ranking put first but the kubelet passed over.
    pub skipped_critical: Vec<String>,
    /// Why nothing was evicted (null when something was).
    pub reason: Option<String>,
    /// The stable code of `reason` ([`NoEvictionCode::as_str`]), null when something was evicted.
    pub reason_code: Option<NoEvictionCode>,
    /// The sync failed before observing anything (present only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_error: Option<String>,
    /// Present only when node-level reclaim would run first ([`NODE_RECLAIM_ASSUMED_NOTHING`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_reclaim: Option<&'static str>,
    /// The memcg notifiers as armed after this sync; always present, empty when
    /// kernelMemcgNotification is off (the kubelet then creates none).
    pub memcg_notifiers: Vec<NotifierView>,
    /// Whether they were re-armed at this sync; present only with kernelMemcgNotification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memcg_notifiers_refreshed: Option<bool>,
    /// The eviction policy that acted on this decision (`kubelet`, `reclaim-first`); present
    /// only where a policy was chosen (the agent always names it). docs/reclaim-first.md.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// What reclaim-first did at this sync; present only under `reclaim-first`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaim: Option<ReclaimView>,
}

/// Reclaim-first's part of a sync step (docs/reclaim-first.md). When a reclaim ran, the step's
/// other keys are those of the fresh sync after it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimView {
    /// `nothing`, `evict`, `reclaim` or `hold`: what reclaim-first decided last in this pass.
    pub plan: &'static str,
    /// The rule's stable code (`cache-cannot-cover`, `reclaimed`, `budget-spent`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<&'static str>,
    /// The rule as a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Bytes `available` lacked to reach the threshold plus its minimum reclaim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall_bytes: Option<u64>,
    /// Clean file cache in the working set (the estimate), bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaimable_bytes: Option<u64>,
    /// Bytes written to `memory.reclaim` (a reclaim ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked_bytes: Option<u64>,
    /// Bytes the pods cgroup's usage dropped by (a reclaim ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaimed_bytes: Option<u64>,
    /// Time the reclaim took, seconds (a reclaim ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The pods (`namespace/name`) the kubelet policy evicts at this sync and reclaim-first did
    /// not (`plan` is `hold`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kubelet_would_evict: Vec<String>,
}

impl ReclaimView {
    /// The view of `plan` (no reclaim figures: fill them in when one ran).
    pub fn new(plan: &Plan) -> Self {
        let message = match plan {
            Plan::Evict(b) => Some(b.to_string()),
            Plan::Hold(b) => Some(b.to_string()),
            Plan::Nothing | Plan::Reclaim(_) => None,
        };
        let (shortfall_bytes, reclaimable_bytes) = match plan {
            Plan::Reclaim(a) => (Some(a.shortfall), Some(a.reclaimable.working_set_bytes)),
            Plan::Evict(crate::reclaim::EvictBecause::CacheCannotCover {
                shortfall,
                reclaimable,
            }) => (Some(*shortfall), Some(*reclaimable)),
            _ => (None, None),
        };
        ReclaimView {
            plan: plan.as_str(),
            because: plan.because(),
            message,
            shortfall_bytes,
            reclaimable_bytes,
            ..ReclaimView::default()
        }
    }
}

/// The observations, serialized as an object keyed by signal name; kept in signal order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservationsView(pub Vec<(Signal, ObservationView)>);

impl Serialize for ObservationsView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (signal, o) in &self.0 {
            map.serialize_entry(signal.as_str(), o)?;
        }
        map.end()
    }
}

/// One signal's observation, quantities in canonical Kubernetes form.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ObservationView {
    pub available: String,
    pub capacity: String,
}

/// A threshold as a KubeletConfiguration writes it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdView {
    pub signal: &'static str,
    /// `100Mi` or `10%` (the shortest text that parses back to the same f32).
    pub value: String,
    /// Go duration (`0s` for hard thresholds).
    pub grace_period: String,
    pub hard: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_reclaim: Option<String>,
}

impl ThresholdView {
    pub fn new(t: &Threshold) -> Self {
        ThresholdView {
            signal: t.signal.as_str(),
            value: format_threshold_value(&t.value),
            grace_period: display_duration(t.grace_period_ns),
            hard: t.is_hard(),
            min_reclaim: t.min_reclaim.as_ref().map(format_threshold_value),
        }
    }
}

/// A met threshold and its bookkeeping.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetThresholdView {
    #[serde(flatten)]
    pub threshold: ThresholdView,
    /// When it was first seen met (RFC 3339).
    pub first_observed: String,
    pub grace_satisfied: bool,
    /// Still met only because a fired threshold must recover `value + minReclaim`.
    pub held_by_min_reclaim: bool,
}

/// One eviction with its pod.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvictionView {
    /// `namespace/name`.
    pub pod: String,
    pub uid: String,
    /// The threshold's signal, or the storage limit's pseudo-signal (`ephemeralpodfs.limit`, ...).
    pub signal: &'static str,
    /// `memory`, `ephemeral-storage`, `pids`, ...
    pub resource: &'static str,
    /// `local-storage-limit` for a pod over its own storage limit; absent for thresholds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    pub grace_period_seconds: i64,
    /// The kubelet's eviction message, verbatim.
    pub message: String,
    pub annotations: Annotations,
}

/// One memcg notifier: armed, or why it could not be.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum NotifierView {
    #[serde(rename_all = "camelCase")]
    Armed {
        description: String,
        /// Relative to the memory controller mount (`""` is the node root).
        cgroup: String,
        arm_at_bytes: i64,
    },
    Failed {
        error: String,
    },
}

impl NotifierView {
    pub fn new(n: &Result<NotifierArm, NotifierError>) -> Self {
        match n {
            Ok(a) => NotifierView::Armed {
                description: a.description.clone(),
                cgroup: a.cgroup.clone(),
                arm_at_bytes: a.arm_at_bytes,
            },
            Err(e) => NotifierView::Failed { error: e.to_string() },
        }
    }
}

impl SyncStep {
    /// The step for `d`, which `synchronize` made from `pods`. `memcg_notifiers` is the current
    /// arming ([`ManagerState::notifiers`](crate::manager::ManagerState::notifiers)) when
    /// kernelMemcgNotification is on, `None` when it is off.
    pub fn new(
        d: &Decision,
        pods: &[Pod],
        memcg_notifiers: Option<&[Result<NotifierArm, NotifierError>]>,
    ) -> Self {
        let pod_key = |i: usize| pods.get(i).map(Pod::key);
        let evictions: Vec<EvictionView> = d
            .evictions
            .iter()
            .filter_map(|e| {
                let pod = pods.get(e.index)?;
                let (signal, resource, cause) = match &e.cause {
                    EvictionCause::Threshold { signal, resource } => {
                        (signal.as_str(), resource.as_str(), None)
                    }
                    EvictionCause::LocalStorage(limit) => (
                        limit.signal_name(),
                        "ephemeral-storage",
                        Some("local-storage-limit"),
                    ),
                };
                Some(EvictionView {
                    pod: pod.key(),
                    uid: pod.metadata.uid.clone(),
                    signal,
                    resource,
                    cause,
                    grace_period_seconds: e.grace_period_seconds,
                    message: e.message.clone(),
                    annotations: e.annotations.clone(),
                })
            })
            .collect();
        SyncStep {
            time: d.time.to_string(),
            conditions: d.conditions.iter().map(|c| c.as_str()).collect(),
            observations: ObservationsView(
                d.observations
                    .iter()
                    .map(|(s, o)| {
                        (
                            s,
                            ObservationView {
                                available: o.available.to_string(),
                                capacity: o.capacity.to_string(),
                            },
                        )
                    })
                    .collect(),
            ),
            thresholds_met: d
                .thresholds_met
                .iter()
                .map(|m| MetThresholdView {
                    threshold: ThresholdView::new(&m.threshold),
                    first_observed: m.first_observed.to_string(),
                    grace_satisfied: m.grace_satisfied,
                    held_by_min_reclaim: m.held_by_min_reclaim,
                })
                .collect(),
            reclaiming: d.reclaiming.as_ref().map(ThresholdView::new),
            evicted: evictions.first().cloned(),
            evictions,
            ranking: d.ranking.iter().filter_map(|r| pod_key(r.index)).collect(),
            skipped_critical: d.skipped_critical.iter().filter_map(|&i| pod_key(i)).collect(),
            reason: d.no_eviction_reason.as_ref().map(|r| r.message().to_string()),
            reason_code: d.no_eviction_reason.as_ref().map(|r| r.code()),
            sync_error: d.error.clone(),
            node_reclaim: d
                .node_reclaim_assumed_nothing
                .then_some(NODE_RECLAIM_ASSUMED_NOTHING),
            memcg_notifiers: memcg_notifiers
                .unwrap_or_default()
                .iter()
                .map(NotifierView::new)
                .collect(),
            memcg_notifiers_refreshed: memcg_notifiers.map(|_| d.notifiers_refreshed),
            policy: None,
            reclaim: None,
        }
    }

    /// The step named with the policy that acted on it (and reclaim-first's part).
    pub fn with_policy(mut self, policy: Policy, reclaim: Option<ReclaimView>) -> Self {
        self.policy = Some(policy);
        self.reclaim = reclaim;
        self
    }

    /// As a JSON object (keys sorted).
    pub fn to_json(&self) -> serde_json::Value {
        to_sorted_json(self)
    }
}

/// `value` as a JSON object with its keys in alphabetical order, the order every sync-step
/// output (and its extensions, `simulate`'s `admission`, the agent's `trigger`) is printed in.
pub fn to_sorted_json<T: Serialize>(value: &T) -> serde_json::Value {
    // serde_json's map is a BTreeMap (no `preserve_order`): going through a Value sorts the keys.
    // Serializing these plain structs cannot fail (string keys, no non-finite floats).
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
