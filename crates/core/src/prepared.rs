//! The arithmetic of a prepared kill (the agent's `prepared_kill`): which figures a decision
//! is prepared on before a hard `allocatableMemory.available` threshold is met, and whether
//! fresh figures of the pods cgroup meet it at the crossing. Pure: the agent reads the files
//! and keeps the clock.
//!
//! Both use the manager's own rules ([`crate::observe`]'s memory observation, the manager's
//! [`is_met`], [`threshold_quantity`]), so the agent's hot path never calls a threshold met
//! that a pass on the same figures would not.

use crate::manager::is_met;
use crate::observe::{Observations, observe};
use crate::signal::Signal;
use crate::summary::{MemoryStats, SYSTEM_CONTAINER_PODS, Summary};
use crate::threshold::{Threshold, threshold_quantity};

/// Is `t` a threshold a kill may be prepared for: hard, on the pods cgroup
/// (`allocatableMemory.available`)? A soft one must stay met for its grace period, which no
/// single read at the crossing can show.
pub fn preparable(t: &Threshold) -> bool {
    t.is_hard() && t.signal == Signal::AllocatableMemoryAvailable
}

/// The first preparable threshold that these pods-cgroup figures meet (`available <
/// threshold`, strict, minimum reclaim not added: a first crossing), computed as a pass
/// observes the `pods` system container. `None`: none is met, or the figures lack the
/// working set or the available bytes (no limit).
pub fn met_at_crossing<'a>(thresholds: &'a [Threshold], pods: &MemoryStats) -> Option<&'a Threshold> {
    let obs = pods_observations(pods);
    thresholds
        .iter()
        .filter(|t| preparable(t))
        .find(|t| is_met(t, &obs, false))
}

/// The observations a Summary holding only these pods-cgroup figures gives.
fn pods_observations(pods: &MemoryStats) -> Observations {
    let mut s = Summary::default();
    s.node.system_containers = Some(vec![crate::summary::ContainerStats {
        name: SYSTEM_CONTAINER_PODS.to_string(),
        memory: Some(pods.clone()),
        ..Default::default()
    }]);
    observe(&s)
}

/// `summary` as it would read with the pods cgroup just past the trip value of `t` (its
/// available bytes one below the threshold quantity, the capacity unchanged): the figures a
/// kill is prepared on. Everything else (the node, every pod) is left as read. `None`: the
/// Summary has no pods-cgroup observation, or the threshold would need a negative working set.
pub fn at_trip(summary: &Summary, t: &Threshold) -> Option<Summary> {
    let obs = observe(summary);
    let o = obs.get(Signal::AllocatableMemoryAvailable)?;
    let capacity = o.capacity.value();
    let q = threshold_quantity(&t.value, &o.capacity).value();
    let available = q.checked_sub(1).filter(|a| *a >= 0 && *a <= capacity)?;
    let working_set = capacity - available;
    let mut out = summary.clone();
    let pods = out
        .node
        .system_containers
        .as_mut()?
        .iter_mut()
        .find(|c| c.name == SYSTEM_CONTAINER_PODS)?
        .memory
        .as_mut()?;
    let inactive = pods
        .usage_bytes
        .zip(pods.working_set_bytes)
        .map_or(0, |(u, w)| u.saturating_sub(w));
    let working_set = u64::try_from(working_set).ok()?;
    pods.working_set_bytes = Some(working_set);
    pods.available_bytes = u64::try_from(available).ok();
    pods.usage_bytes = Some(working_set.saturating_add(inactive));
    Some(out)
}

/// `summary` with the pods cgroup's figures replaced by `pods` (those read at the crossing)
/// and the working set of the pod `uid` raised to at least `floor`: what a pass confirming a
/// prepared kill decides on. The signalled pod frees its memory as it exits, so the figures
/// read after the signal alone would understate it (see the agent's `prepared_kill`).
pub fn as_at_crossing(summary: &Summary, pods: &MemoryStats, uid: &str, floor: Option<u64>) -> Summary {
    let mut out = summary.clone();
    if let Some(c) = out
        .node
        .system_containers
        .as_mut()
        .and_then(|cs| cs.iter_mut().find(|c| c.name == SYSTEM_CONTAINER_PODS))
    {
        let time = c.memory.as_ref().and_then(|m| m.time);
        c.memory = Some(MemoryStats {
            time: time.or(pods.time),
            ..pods.clone()
        });
    }
    if let Some(floor) = floor {
        for p in out.pods.iter_mut().filter(|p| p.pod_ref.uid == uid) {
            if let Some(m) = p.memory.as_mut() {
                let ws = m.working_set_bytes.unwrap_or(0).max(floor);
                m.working_set_bytes = Some(ws);
                m.usage_bytes = Some(m.usage_bytes.unwrap_or(0).max(ws));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;
    use crate::threshold::ThresholdValue;

    const MIB: u64 = 1 << 20;

    fn threshold(value: ThresholdValue, grace_ns: i64) -> Threshold {
        Threshold {
            signal: Signal::AllocatableMemoryAvailable,
            value,
            grace_period_ns: grace_ns,
            min_reclaim: None,
        }
    }

    fn mem(limit: u64, usage: u64, inactive: u64) -> MemoryStats {
        let ws = usage.saturating_sub(inactive);
        MemoryStats {
            available_bytes: Some(limit.saturating_sub(ws)),
            usage_bytes: Some(usage),
            working_set_bytes: Some(ws),
            ..Default::default()
        }
    }

    fn summary(pods: MemoryStats) -> Summary {
        serde_json::from_value(serde_json::json!({"node": {"nodeName": "n",
            "systemContainers": [{"name": "pods", "memory": pods}]}}))
        .unwrap()
    }

    #[test]
    fn the_crossing_is_the_working_set_not_the_usage() {
        let hard = [threshold(
            ThresholdValue::Quantity(Quantity::parse("100Mi").unwrap()),
            0,
        )];
        // 512 MiB limit: met once the working set passes 412 MiB (available < 100 MiB).
        assert!(met_at_crossing(&hard, &mem(512 * MIB, 412 * MIB, 0)).is_none());
        assert!(met_at_crossing(&hard, &mem(512 * MIB, 412 * MIB + 1, 0)).is_some());
        // The same usage with 10 MiB of inactive page cache is not met.
        assert!(met_at_crossing(&hard, &mem(512 * MIB, 420 * MIB, 10 * MIB)).is_none());
        // No limit: no available bytes, no observation, never met.
        let no_limit = MemoryStats {
            available_bytes: None,
            ..mem(512 * MIB, 500 * MIB, 0)
        };
        assert!(met_at_crossing(&hard, &no_limit).is_none());
    }

    #[test]
    fn a_soft_threshold_or_the_node_signal_is_never_prepared() {
        let soft = [threshold(
            ThresholdValue::Quantity(Quantity::parse("100Mi").unwrap()),
            30_000_000_000,
        )];
        assert!(met_at_crossing(&soft, &mem(512 * MIB, 500 * MIB, 0)).is_none());
        let node = Threshold {
            signal: Signal::MemoryAvailable,
            ..threshold(ThresholdValue::Quantity(Quantity::parse("1Gi").unwrap()), 0)
        };
        assert!(!preparable(&node));
    }

    #[test]
    fn a_percentage_is_the_kubelets_arithmetic() {
        // 10% of 1000 MiB is 104857601 bytes (f32 rounding), as the manager computes it.
        let t = threshold(ThresholdValue::Percentage(0.1), 0);
        let cap = 1000 * MIB;
        let q = threshold_quantity(&t.value, &Quantity::bytes(cap as i64)).value() as u64;
        assert_eq!(q, 104_857_601);
        let ts = [t];
        assert!(met_at_crossing(&ts, &mem(cap, cap - q, 0)).is_none());
        assert!(met_at_crossing(&ts, &mem(cap, cap - q + 1, 0)).is_some());
    }

    #[test]
    fn at_trip_meets_the_threshold_by_one_byte_and_keeps_the_capacity() {
        let t = threshold(ThresholdValue::Quantity(Quantity::parse("100Mi").unwrap()), 0);
        let s = summary(mem(512 * MIB, 200 * MIB, 5 * MIB));
        let trip = at_trip(&s, &t).unwrap();
        let o = *observe(&trip).get(Signal::AllocatableMemoryAvailable).unwrap();
        assert_eq!(o.capacity.value() as u64, 512 * MIB);
        assert_eq!(o.available.value() as u64, 100 * MIB - 1);
        let m = trip
            .node
            .system_container("pods")
            .unwrap()
            .memory
            .clone()
            .unwrap();
        assert!(met_at_crossing(std::slice::from_ref(&t), &m).is_some());
        assert_eq!(m.usage_bytes, Some(412 * MIB + 1 + 5 * MIB));
        // A threshold above the capacity cannot be tripped by any working set.
        let huge = threshold(ThresholdValue::Quantity(Quantity::parse("1Gi").unwrap()), 0);
        assert!(at_trip(&s, &huge).is_none());
    }

    #[test]
    fn the_confirming_figures_keep_the_signalled_pods_working_set() {
        let mut s = summary(mem(512 * MIB, 100 * MIB, 0));
        s.pods = serde_json::from_value(serde_json::json!([
            {"podRef": {"name": "hog", "namespace": "ns", "uid": "u1"},
             "memory": {"workingSetBytes": MIB, "usageBytes": MIB}},
            {"podRef": {"name": "db", "namespace": "ns", "uid": "u2"},
             "memory": {"workingSetBytes": 100 * MIB, "usageBytes": 100 * MIB}}
        ]))
        .unwrap();
        let crossing = mem(512 * MIB, 413 * MIB, 0);
        let c = as_at_crossing(&s, &crossing, "u1", Some(300 * MIB));
        assert_eq!(
            c.pods[0].memory.as_ref().unwrap().working_set_bytes,
            Some(300 * MIB)
        );
        assert_eq!(
            c.pods[1].memory.as_ref().unwrap().working_set_bytes,
            Some(100 * MIB)
        );
        let pods = c.node.system_container("pods").unwrap().memory.clone().unwrap();
        assert_eq!(pods.working_set_bytes, Some(413 * MIB));
    }
}
