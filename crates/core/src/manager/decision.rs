//! What one `synchronize` decided, and why: the [`Decision`] and its parts.

use std::fmt;

use jiff::Timestamp;

use crate::local_storage::StorageLimit;
use crate::message::Annotations;
use crate::notifier::{NotifierArm, NotifierError};
use crate::observe::Observations;
use crate::rank::{RankKind, RankedPod};
use crate::signal::{NodeCondition, Resource, Signal};
use crate::threshold::Threshold;

/// A threshold met at this sync, with its bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct MetThreshold {
    pub id: usize,
    pub threshold: Threshold,
    pub first_observed: Timestamp,
    /// `now - first_observed >= grace period`.
    pub grace_satisfied: bool,
    /// Still met only because a fired threshold must recover `value + minReclaim`.
    pub held_by_min_reclaim: bool,
}

/// Why a pod is being evicted.
#[derive(Clone, Debug, PartialEq)]
pub enum EvictionCause {
    /// A node-pressure threshold.
    Threshold { signal: Signal, resource: Resource },
    /// The pod outgrew one of its own ephemeral-storage limits.
    LocalStorage(StorageLimit),
}

/// One pod the manager evicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Eviction {
    /// Index into `SyncInputs::active_pods`.
    pub index: usize,
    pub cause: EvictionCause,
    /// The grace-period override passed to the pod killer.
    pub grace_period_seconds: i64,
    pub message: String,
    pub annotations: Annotations,
}

/// Which rule of the sync stopped it short of an eviction: the stable, machine-readable half
/// of a [`NoEvictionReason`] (`reasonCode` in the sync-step JSON, docs/sync-step.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoEvictionCode {
    /// No threshold is configured and local-storage isolation is off.
    NoThresholds,
    /// The sync failed before observing anything ([`Decision::error`]).
    SyncFailed,
    /// No threshold is met.
    NoThresholdMet,
    /// A threshold passed its grace period but its stats did not advance since the last sync.
    StatsNotUpdated,
    /// Every met threshold is still inside its grace period.
    GracePeriodPending,
    /// The manager has no ranking function (its first sync failed on a split filesystem).
    NoRankingFunction,
    /// Node-level reclaim (image/container GC) would be enough.
    NodeReclaimSufficient,
    /// A threshold is met but no pod is active.
    NoActivePods,
    /// Every ranked pod is critical.
    AllPodsCritical,
    /// The kubelet policy would evict, but the reclaim-first policy held back (never produced
    /// by `synchronize`; set by the agent under `--policy reclaim-first`, docs/reclaim-first.md).
    ReclaimFirstHeld,
}

impl NoEvictionCode {
    /// Every code, in the order a sync can reach them.
    pub const ALL: [NoEvictionCode; 10] = [
        NoEvictionCode::NoThresholds,
        NoEvictionCode::SyncFailed,
        NoEvictionCode::NoThresholdMet,
        NoEvictionCode::StatsNotUpdated,
        NoEvictionCode::GracePeriodPending,
        NoEvictionCode::NoRankingFunction,
        NoEvictionCode::NodeReclaimSufficient,
        NoEvictionCode::NoActivePods,
        NoEvictionCode::AllPodsCritical,
        NoEvictionCode::ReclaimFirstHeld,
    ];

    /// The code as JSON and logs spell it; stable across releases.
    pub fn as_str(self) -> &'static str {
        match self {
            NoEvictionCode::NoThresholds => "no-thresholds",
            NoEvictionCode::SyncFailed => "sync-failed",
            NoEvictionCode::NoThresholdMet => "no-threshold-met",
            NoEvictionCode::StatsNotUpdated => "stats-not-updated",
            NoEvictionCode::GracePeriodPending => "grace-period-pending",
            NoEvictionCode::NoRankingFunction => "no-ranking-function",
            NoEvictionCode::NodeReclaimSufficient => "node-reclaim-sufficient",
            NoEvictionCode::NoActivePods => "no-active-pods",
            NoEvictionCode::AllPodsCritical => "all-pods-critical",
            NoEvictionCode::ReclaimFirstHeld => "reclaim-first-held",
        }
    }
}

impl fmt::Display for NoEvictionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for NoEvictionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a sync evicted nothing: a stable [`NoEvictionCode`] and the sentence for the operator
/// (which names the thresholds and waits involved).
///
/// It reads as its sentence (`Deref<Target = str>`, `Display`, `== "..."`), so callers that
/// only show it need not care about the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoEvictionReason {
    code: NoEvictionCode,
    message: String,
}

impl NoEvictionReason {
    pub fn new(code: NoEvictionCode, message: impl Into<String>) -> Self {
        NoEvictionReason {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> NoEvictionCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for NoEvictionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::ops::Deref for NoEvictionReason {
    type Target = str;
    fn deref(&self) -> &str {
        &self.message
    }
}

impl PartialEq<str> for NoEvictionReason {
    fn eq(&self, other: &str) -> bool {
        self.message == other
    }
}

impl PartialEq<&str> for NoEvictionReason {
    fn eq(&self, other: &&str) -> bool {
        self.message == *other
    }
}

/// Everything one sync decided, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub time: Timestamp,
    pub observations: Observations,
    /// Thresholds met this sync (before the grace filter), configuration order.
    pub thresholds_met: Vec<MetThreshold>,
    /// Conditions reported after this sync.
    pub conditions: Vec<NodeCondition>,
    /// Thresholds acted upon: grace passed and stats updated, in eviction-priority order.
    pub actionable: Vec<Threshold>,
    /// The threshold whose resource is being reclaimed.
    pub reclaiming: Option<Threshold>,
    /// The kubelet would run node-level disk reclaim (image/container GC) first; the simulator
    /// assumes it freed nothing.
    pub node_reclaim_assumed_nothing: bool,
    pub rank_kind: Option<RankKind>,
    /// Active pods in eviction order (only when a threshold eviction was attempted).
    pub ranking: Vec<RankedPod>,
    /// Critical pods passed over (indices into the active pods).
    pub skipped_critical: Vec<usize>,
    /// At most one for thresholds; possibly several for local-storage limits.
    pub evictions: Vec<Eviction>,
    /// Why nothing was evicted (None when something was).
    pub no_eviction_reason: Option<NoEvictionReason>,
    /// The sync failed before observing anything (the kubelet logs it and retries at the next
    /// sync): conditions are left as they were and nothing is evicted.
    pub error: Option<String>,
    /// The notifiers were re-armed at this sync.
    pub notifiers_refreshed: bool,
    /// The notifiers as re-armed at this sync (empty when not refreshed; the current arming is
    /// always in [`super::ManagerState::notifiers`]).
    pub notifiers: Vec<Result<NotifierArm, NotifierError>>,
}

impl Decision {
    pub(super) fn empty(now: Timestamp) -> Self {
        Decision {
            time: now,
            observations: Observations::default(),
            thresholds_met: Vec::new(),
            conditions: Vec::new(),
            actionable: Vec::new(),
            reclaiming: None,
            node_reclaim_assumed_nothing: false,
            rank_kind: None,
            ranking: Vec::new(),
            skipped_critical: Vec::new(),
            evictions: Vec::new(),
            no_eviction_reason: None,
            error: None,
            notifiers_refreshed: false,
            notifiers: Vec::new(),
        }
    }

    /// Nothing evicted, for `code`'s reason.
    pub(super) fn no_eviction(&mut self, code: NoEvictionCode, message: impl Into<String>) {
        self.no_eviction_reason = Some(NoEvictionReason::new(code, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in NoEvictionCode::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{s}");
            assert!(seen.insert(s), "{s} twice");
            assert_eq!(code.to_string(), s);
        }
    }

    #[test]
    fn a_reason_reads_as_its_sentence() {
        let r = NoEvictionReason::new(NoEvictionCode::NoThresholdMet, "no threshold is met");
        assert_eq!(r, "no threshold is met");
        assert!(r.contains("threshold"));
        assert_eq!(r.code(), NoEvictionCode::NoThresholdMet);
        assert_eq!(serde_json::to_string(&r.code()).unwrap(), "\"no-threshold-met\"");
    }
}
