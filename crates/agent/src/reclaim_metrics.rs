//! The reclaim-first policy's metrics (docs/reclaim-first.md), registered with the others.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[derive(Clone, Debug, Default)]
pub struct ReclaimMetrics {
    policy: Family<Labels, Gauge>,
    attempts: Family<Labels, Counter>,
    bytes: Counter,
    seconds: Counter<f64, AtomicU64>,
    evictions_avoided: Family<Labels, Counter>,
    refaulted_bytes: Counter,
}

impl ReclaimMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "headroom_eviction_policy",
            "1 for the eviction policy the agent runs (--policy) and the one in effect (effective differs when reclaim-first falls back to the kubelet's: no memory.reclaim on cgroup v1 or kernels before 5.19)",
            self.policy.clone(),
        );
        registry.register(
            "headroom_reclaim_attempts",
            "Proactive reclaims written to the pods cgroup's memory.reclaim by reclaim-first (result=done|kernel-short|time-cap|error)",
            self.attempts.clone(),
        );
        registry.register(
            "headroom_reclaim_bytes",
            "Bytes the kernel reclaimed from the pods cgroup during reclaim-first's reclaims",
            self.bytes.clone(),
        );
        registry.register(
            "headroom_reclaim_seconds",
            "Time spent in reclaim-first's memory.reclaim writes",
            self.seconds.clone(),
        );
        registry.register(
            "headroom_evictions_avoided",
            "Passes where the kubelet policy would have evicted and reclaim-first did not (because=reclaimed|cache-refaulting|budget-spent)",
            self.evictions_avoided.clone(),
        );
        registry.register(
            "headroom_reclaim_refaulted_bytes",
            "File bytes read back into the pods cgroup (workingset_refault_file) within a minute after a reclaim: the churn a reclaim of hot cache costs",
            self.refaulted_bytes.clone(),
        );
    }

    /// `--policy` and the policy in effect.
    pub fn set_policy(&self, policy: &str, effective: &str) {
        self.policy.clear();
        self.policy
            .get_or_create(&labels(&[("policy", policy), ("effective", effective)]))
            .set(1);
    }

    pub fn observe_attempt(&self, result: &str, reclaimed_bytes: u64, seconds: f64) {
        self.attempts.get_or_create(&labels(&[("result", result)])).inc();
        self.bytes.inc_by(reclaimed_bytes);
        self.seconds.inc_by(seconds);
    }

    pub fn inc_avoided(&self, because: &str) {
        self.evictions_avoided
            .get_or_create(&labels(&[("because", because)]))
            .inc();
    }

    pub fn add_refaulted(&self, bytes: u64) {
        self.refaulted_bytes.inc_by(bytes);
    }
}
