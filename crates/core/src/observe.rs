//! Summary -> observations: what the eviction manager sees of each signal (kubelet
//! `makeSignalObservations`).
//!
//! An observation is `{available, capacity, time}`. A signal whose inputs are missing from the
//! Summary has no observation, and a threshold on it can never be met. Memory capacity is not
//! read from the Node object: it is rebuilt as `available + workingSet`, which is the limit the
//! stats layer used (MemTotal for the node, the `kubepods` limit for allocatable).

use std::collections::HashMap;

use jiff::Timestamp;

use crate::quantity::Quantity;
use crate::signal::Signal;
use crate::summary::{FsStats, MemoryStats, PodStats, SYSTEM_CONTAINER_PODS, Summary};

/// What one signal looked like at one sync.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    pub available: Quantity,
    pub capacity: Quantity,
    /// Sample time of the underlying stats; `None` is the Go zero time.
    pub time: Option<Timestamp>,
}

/// One optional observation per signal, indexed by [`Signal`]; no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observations {
    by_signal: [Option<Observation>; 9],
}

fn slot(signal: Signal) -> usize {
    // Signal::ALL lists every variant once, in declaration order.
    signal as usize
}

impl Observations {
    pub fn get(&self, signal: Signal) -> Option<&Observation> {
        self.by_signal[slot(signal)].as_ref()
    }

    pub fn set(&mut self, signal: Signal, observation: Observation) {
        self.by_signal[slot(signal)] = Some(observation);
    }

    pub fn remove(&mut self, signal: Signal) {
        self.by_signal[slot(signal)] = None;
    }

    /// Observed signals in [`Signal::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Signal, &Observation)> {
        Signal::ALL
            .into_iter()
            .filter_map(|s| self.get(s).map(|o| (s, o)))
    }

    pub fn is_empty(&self) -> bool {
        self.by_signal.iter().all(Option::is_none)
    }
}

/// The kubelet converts the Summary's unsigned counters with `int64(x)`; values above
/// `i64::MAX` cannot come from a real kernel, and headroom saturates instead of wrapping.
/// Go's zero time (`0001-01-01T00:00:00Z`) written out is the same as no time: the kubelet
/// checks `time.IsZero()`, and a hand-written Summary may spell it either way.
fn go_time(t: Option<Timestamp>) -> Option<Timestamp> {
    // -62135596800 s is 0001-01-01T00:00:00Z.
    t.filter(|t| t.as_nanosecond() != -62_135_596_800_000_000_000)
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn memory_observation(m: &MemoryStats) -> Option<Observation> {
    let available = m.available_bytes?;
    let working_set = m.working_set_bytes?;
    Some(Observation {
        available: Quantity::bytes(signed(available)),
        capacity: Quantity::bytes(signed(available).saturating_add(signed(working_set))),
        time: go_time(m.time),
    })
}

fn bytes_observation(fs: &FsStats) -> Option<Observation> {
    Some(Observation {
        available: Quantity::bytes(signed(fs.available_bytes?)),
        capacity: Quantity::bytes(signed(fs.capacity_bytes?)),
        time: go_time(fs.time),
    })
}

fn inodes_observation(fs: &FsStats) -> Option<Observation> {
    Some(Observation {
        available: Quantity::count(signed(fs.inodes_free?)),
        capacity: Quantity::count(signed(fs.inodes?)),
        time: go_time(fs.time),
    })
}

/// All observations a Summary supports (§2.1 of the spec).
pub fn observe(summary: &Summary) -> Observations {
    let mut obs = Observations::default();
    let node = &summary.node;
    let mut put = |signal: Signal, o: Option<Observation>| {
        if let Some(o) = o {
            obs.set(signal, o);
        }
    };
    put(
        Signal::MemoryAvailable,
        node.memory.as_ref().and_then(memory_observation),
    );
    put(
        Signal::AllocatableMemoryAvailable,
        node.system_container(SYSTEM_CONTAINER_PODS)
            .and_then(|c| c.memory.as_ref())
            .and_then(memory_observation),
    );
    if let Some(fs) = &node.fs {
        put(Signal::NodeFsAvailable, bytes_observation(fs));
        put(Signal::NodeFsInodesFree, inodes_observation(fs));
    }
    if let Some(runtime) = &node.runtime {
        if let Some(fs) = &runtime.image_fs {
            put(Signal::ImageFsAvailable, bytes_observation(fs));
            put(Signal::ImageFsInodesFree, inodes_observation(fs));
        }
        if let Some(fs) = &runtime.container_fs {
            put(Signal::ContainerFsAvailable, bytes_observation(fs));
            put(Signal::ContainerFsInodesFree, inodes_observation(fs));
        }
    }
    if let Some(rlimit) = &node.rlimit
        && let (Some(max), Some(running)) = (rlimit.maxpid, rlimit.curproc)
    {
        put(
            Signal::PidAvailable,
            Some(Observation {
                available: Quantity::count(max.saturating_sub(running)),
                capacity: Quantity::count(max),
                time: go_time(rlimit.time),
            }),
        );
    }
    obs
}

/// Pod stats by pod UID (the kubelet's `statsFunc`).
#[derive(Debug, Default)]
pub struct PodStatsIndex<'a> {
    by_uid: HashMap<&'a str, &'a PodStats>,
}

impl<'a> PodStatsIndex<'a> {
    /// Index the Summary's pods; when a UID appears twice the last entry wins, as in the
    /// kubelet's `cachedStatsFunc`, which fills a map from the list in order.
    pub fn new(summary: &'a Summary) -> Self {
        let mut by_uid = HashMap::with_capacity(summary.pods.len());
        for p in &summary.pods {
            by_uid.insert(p.pod_ref.uid.as_str(), p);
        }
        PodStatsIndex { by_uid }
    }

    /// The stats of the pod with this UID, if the Summary has them.
    pub fn get(&self, uid: &str) -> Option<&'a PodStats> {
        self.by_uid.get(uid).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(json: serde_json::Value) -> Summary {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_signal_from_a_full_summary() {
        let s = summary(serde_json::json!({
            "node": {
                "memory": {"time": "2026-01-01T00:00:00Z", "availableBytes": 1000, "workingSetBytes": 24},
                "systemContainers": [{"name": "pods", "memory": {"availableBytes": 100, "workingSetBytes": 28}}],
                "fs": {"availableBytes": 10, "capacityBytes": 20, "inodesFree": 3, "inodes": 4},
                "runtime": {"imageFs": {"availableBytes": 11, "capacityBytes": 21, "inodesFree": 5, "inodes": 6},
                            "containerFs": {"availableBytes": 12, "capacityBytes": 22, "inodesFree": 7, "inodes": 8}},
                "rlimit": {"maxpid": 100, "curproc": 130}
            }
        }));
        let obs = observe(&s);
        let m = obs.get(Signal::MemoryAvailable).unwrap();
        assert_eq!((m.available.value(), m.capacity.value()), (1000, 1024));
        assert_eq!(m.time, Some("2026-01-01T00:00:00Z".parse().unwrap()));
        let a = obs.get(Signal::AllocatableMemoryAvailable).unwrap();
        assert_eq!((a.available.value(), a.capacity.value()), (100, 128));
        assert_eq!(obs.get(Signal::NodeFsInodesFree).unwrap().capacity.value(), 4);
        assert_eq!(obs.get(Signal::ImageFsAvailable).unwrap().available.value(), 11);
        assert_eq!(
            obs.get(Signal::ContainerFsInodesFree).unwrap().available.value(),
            7
        );
        // More processes than the limit: available goes negative, as in the kubelet.
        assert_eq!(obs.get(Signal::PidAvailable).unwrap().available.value(), -30);
        assert_eq!(obs.iter().count(), 9);
    }

    #[test]
    fn missing_fields_mean_no_observation() {
        let s = summary(serde_json::json!({
            "node": {"memory": {"availableBytes": 1000},
                     "systemContainers": [{"name": "kubelet", "memory": {"availableBytes": 1, "workingSetBytes": 1}}],
                     "fs": {"availableBytes": 10, "capacityBytes": 20},
                     "rlimit": {"maxpid": 100}}
        }));
        let obs = observe(&s);
        assert!(obs.get(Signal::MemoryAvailable).is_none());
        assert!(obs.get(Signal::AllocatableMemoryAvailable).is_none());
        assert!(obs.get(Signal::NodeFsAvailable).is_some());
        assert!(obs.get(Signal::NodeFsInodesFree).is_none());
        assert!(obs.get(Signal::PidAvailable).is_none());
        assert!(observe(&Summary::default()).is_empty());
    }

    #[test]
    fn pod_stats_by_uid() {
        let s = summary(serde_json::json!({
            "node": {},
            "pods": [{"podRef": {"name": "a", "namespace": "n", "uid": "u1"}},
                     {"podRef": {"name": "b", "namespace": "n", "uid": "u2"}}]
        }));
        let idx = PodStatsIndex::new(&s);
        assert_eq!(idx.get("u2").unwrap().pod_ref.name, "b");
        assert!(idx.get("u3").is_none());
    }
}
