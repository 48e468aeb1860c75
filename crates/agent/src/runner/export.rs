//! The metrics of a pass: memory breakdowns, signals, thresholds and node conditions.

use super::Runner;
use headroom_core::Timestamp;
use headroom_core::manager;
use headroom_core::signal::NodeCondition;
use headroom_core::threshold::threshold_quantity;
use headroom_linux::collect::NodeSnapshot;

impl Runner {
    /// Metrics for this pass.
    pub(super) fn export(&self, snapshot: &NodeSnapshot, decision: &manager::Decision, now: Timestamp) {
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
}
