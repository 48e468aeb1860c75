//! What a recording holds for each pass: the raw readings (delta-encoded in the store), the
//! active pods, and a compact record of the decision. Field names are the stored JSON keys:
//! renaming one is a schema change (see [`crate::store::SCHEMA_VERSION`]).

use headroom_core::Timestamp;
use headroom_core::manager::{Decision, EvictionCause};
use headroom_core::pod::Pod;
use headroom_core::summary::Summary;
use headroom_core::threshold::threshold_quantity;
use headroom_linux::collect::NodeSnapshot;
use headroom_linux::memcg::{MemcgSample, MemoryBreakdown};
use headroom_linux::meminfo::Meminfo;
use headroom_linux::psi::Psi;
use serde::{Deserialize, Serialize};

/// How many pods of a ranking are kept (the head is what an incident needs).
pub const RANKING_KEPT: usize = 10;

/// The readings of one pass: the Summary the decision was made on (re-deriving it needs
/// creation times and filesystem figures too, so it is stored as the kubelet would serve it)
/// and each cgroup's raw sample, from which a later version can re-derive every memory figure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Readings {
    /// Stored apart from the samples (its own stream), so optional in the samples' tree.
    #[serde(default)]
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meminfo: Option<Meminfo>,
    /// `/proc/pressure/memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
    /// The memory hierarchy's root cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<MemcgSample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods_cgroup: Option<CgroupSample>,
    /// Empty on a light pass (only the node and the pods cgroup are read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodSample>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CgroupSample {
    pub cgroup: String,
    pub sample: MemcgSample,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodSample {
    pub uid: String,
    pub qos: String,
    pub sample: MemcgSample,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerSample>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerSample {
    pub id: String,
    pub sample: MemcgSample,
}

fn sample(b: &MemoryBreakdown) -> Option<MemcgSample> {
    b.sample.as_deref().cloned()
}

impl Readings {
    /// The readings of a snapshot collected with `Collector::keep_samples(true)` (cgroups
    /// read without it have no sample and are left out).
    pub fn from_snapshot(s: &NodeSnapshot) -> Readings {
        Readings {
            summary: s.summary.clone(),
            meminfo: s.meminfo.clone(),
            psi: s.psi,
            node: s.node.as_ref().and_then(sample),
            pods_cgroup: s.pods_cgroup.as_ref().and_then(|p| {
                Some(CgroupSample {
                    cgroup: p.cgroup.clone(),
                    sample: sample(&p.memory)?,
                })
            }),
            pods: s
                .pods
                .iter()
                .filter_map(|p| {
                    Some(PodSample {
                        uid: p.uid.clone(),
                        qos: p.qos.as_str().to_string(),
                        sample: sample(&p.memory)?,
                        containers: p
                            .containers
                            .iter()
                            .filter_map(|c| {
                                Some(ContainerSample {
                                    id: c.id.clone(),
                                    sample: sample(&c.memory)?,
                                })
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }
}

/// A memory figure the manager observed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservationRecord {
    pub signal: String,
    pub available: i64,
    pub capacity: i64,
}

/// A threshold met at this pass, with its value in bytes against this pass's capacity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRecord {
    pub signal: String,
    pub threshold: i64,
    pub hard: bool,
    pub grace_satisfied: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvictionRecord {
    pub pod: String,
    pub uid: String,
    /// The signal (or local-storage limit) that chose it.
    pub signal: String,
    pub message: String,
}

/// The decision of one pass, compact: what `incidents` reports and `replay` compares with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub conditions: Vec<String>,
    /// Memory signals only.
    pub observations: Vec<ObservationRecord>,
    pub thresholds_met: Vec<ThresholdRecord>,
    pub evictions: Vec<EvictionRecord>,
    /// The first [`RANKING_KEPT`] pods in eviction order.
    pub ranking: Vec<String>,
    /// How many pods were ranked.
    pub ranked: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DecisionRecord {
    pub fn from_decision(d: &Decision, pods: &[Pod]) -> DecisionRecord {
        let key = |i: usize| pods.get(i).map(Pod::key).unwrap_or_else(|| format!("(pod #{i})"));
        DecisionRecord {
            conditions: d.conditions.iter().map(|c| c.as_str().to_string()).collect(),
            observations: d
                .observations
                .iter()
                .filter(|(s, _)| s.is_memory())
                .map(|(s, o)| ObservationRecord {
                    signal: s.as_str().to_string(),
                    available: o.available.value(),
                    capacity: o.capacity.value(),
                })
                .collect(),
            thresholds_met: d
                .thresholds_met
                .iter()
                .map(|m| {
                    let capacity = d.observations.get(m.threshold.signal).map(|o| o.capacity);
                    ThresholdRecord {
                        signal: m.threshold.signal.as_str().to_string(),
                        threshold: capacity
                            .map(|c| threshold_quantity(&m.threshold.value, &c).value())
                            .unwrap_or(0),
                        hard: m.threshold.is_hard(),
                        grace_satisfied: m.grace_satisfied,
                    }
                })
                .collect(),
            evictions: d
                .evictions
                .iter()
                .map(|e| EvictionRecord {
                    pod: key(e.index),
                    uid: pods
                        .get(e.index)
                        .map(|p| p.metadata.uid.clone())
                        .unwrap_or_default(),
                    signal: match &e.cause {
                        EvictionCause::Threshold { signal, .. } => signal.as_str().to_string(),
                        EvictionCause::LocalStorage(limit) => limit.signal_name().to_string(),
                    },
                    message: e.message.clone(),
                })
                .collect(),
            ranking: d
                .ranking
                .iter()
                .take(RANKING_KEPT)
                .map(|r| key(r.index))
                .collect(),
            ranked: d.ranking.len(),
            reason: d.no_eviction_reason.as_ref().map(|r| r.to_string()),
            error: d.error.as_ref().map(|e| e.to_string()),
        }
    }

    /// The observed available bytes of `signal` at this pass.
    pub fn available(&self, signal: &str) -> Option<i64> {
        self.observations
            .iter()
            .find(|o| o.signal == signal)
            .map(|o| o.available)
    }
}

/// A watch whose notification woke a pass (a pass can be woken by several at once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wake {
    /// The agent's name for the watch: `pods usage`, `pods memory.events`, `psi pods`, ...
    pub watch: String,
    /// `usage_threshold`, `memory_events`, `psi`, `gone`, `usage_poll` (the agent's usage
    /// re-reads found the crossing) or `catch_up` (figures moved across a threshold between a
    /// pass's reads and its re-arm, so the agent passed again at once).
    pub kind: String,
    /// What it reported, as the agent logs it (counters that moved, the PSI trigger ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl std::fmt::Display for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.watch, self.kind)
    }
}

/// One stored pass, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Pass {
    /// Row id: increases with every pass stored.
    pub id: i64,
    pub time: Timestamp,
    /// `start`, `period`, `notification`, `cleanup`, `dense` (the recorder's own 1 s cadence
    /// near a threshold).
    pub trigger: String,
    /// Which watches woke it (empty: not woken by a notification, or recorded before the
    /// recorder stored them).
    pub woken_by: Vec<Wake>,
    pub light: bool,
    /// The `configs` row in force at this pass (see [`crate::store::Store::config_text`]).
    pub config_id: i64,
    pub readings: Readings,
    /// Shared by every pass with the same pod list (a replay does not copy 110 pods a pass).
    pub pods: std::sync::Arc<Vec<Pod>>,
    pub decision: DecisionRecord,
}

/// A kernel or agent event between passes (OOM kill, condition change, action).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub time: Timestamp,
    /// `oom_kill`, `condition`, `action`, `start`.
    pub kind: String,
    pub detail: serde_json::Value,
}
