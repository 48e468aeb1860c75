//! The agent's Prometheus metrics.
//!
//! Held in a `prometheus-client` registry. That crate only encodes OpenMetrics text, which
//! Prometheus reads only when it asks for it; everything else (older scrapers, `curl`,
//! `promtool check metrics`) expects the classic text format 0.0.4, so [`Metrics::render`]
//! converts: counters are described under their `_total` sample name, `# UNIT` lines and the
//! `# EOF` marker are dropped.

use crate::light::Trigger;
use headroom_core::signal::{Resource, Signal};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;

/// Whether a signal is measured in bytes (memory, disk space) rather than counted (pids, inodes).
fn in_bytes(signal: Signal) -> bool {
    matches!(signal.resource(), Resource::Memory | Resource::EphemeralStorage)
}
type FloatGauge = Gauge<f64, AtomicU64>;

/// Content type of the classic Prometheus text exposition format.
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of OpenMetrics text, served when the scraper's `Accept` asks for it.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric the agent exports. Cheap to share behind an `Arc`; all updates are atomic.
pub struct Metrics {
    registry: Registry,
    memory_bytes: Family<Labels, FloatGauge>,
    signal_available_bytes: Family<Labels, FloatGauge>,
    signal_capacity_bytes: Family<Labels, FloatGauge>,
    threshold_bytes: Family<Labels, FloatGauge>,
    threshold_headroom_bytes: Family<Labels, FloatGauge>,
    /// The same four for signals counted in units, not bytes (pid.available, *.inodesFree).
    counted: CountedSignals,
    node_condition: Family<Labels, Gauge>,
    evictions: Family<Labels, Counter>,
    actions: Family<Labels, Counter>,
    prepared_kills: Family<Labels, Counter>,
    syncs: Family<Labels, Counter>,
    sync_duration_seconds: Histogram,
    notification_events: Family<Labels, Counter>,
    stats_age_seconds: Family<Labels, FloatGauge>,
    notifier_armed_bytes: Family<Labels, FloatGauge>,
    deploy: DeployMetrics,
    /// The agent's own failures (see [`crate::health`]).
    pub faults: crate::health::FaultMetrics,
    early_warning: Family<Labels, Gauge>,
    /// The reclaim-first policy's (see [`crate::reclaim_first`]).
    pub reclaim: crate::reclaim_metrics::ReclaimMetrics,
}

/// A signal's figures in units (pids, inodes): kept out of the `_bytes` metrics, whose unit the
/// name promises.
struct CountedSignals {
    available: Family<Labels, FloatGauge>,
    capacity: Family<Labels, FloatGauge>,
    threshold: Family<Labels, FloatGauge>,
    headroom: Family<Labels, FloatGauge>,
}

impl CountedSignals {
    fn register(registry: &mut Registry) -> CountedSignals {
        let c = CountedSignals {
            available: Family::default(),
            capacity: Family::default(),
            threshold: Family::default(),
            headroom: Family::default(),
        };
        registry.register(
            "headroom_signal_available",
            "Observed available amount of each eviction signal counted in units, not bytes (pid.available: pids; nodefs/imagefs/containerfs.inodesFree: inodes)",
            c.available.clone(),
        );
        registry.register(
            "headroom_signal_capacity",
            "Capacity the percentage thresholds of a counted signal (pids, inodes) are computed against",
            c.capacity.clone(),
        );
        registry.register(
            "headroom_threshold",
            "Each configured eviction threshold of a counted signal (pids, inodes) for the current capacity (type=hard|soft)",
            c.threshold.clone(),
        );
        registry.register(
            "headroom_threshold_headroom",
            "Available minus threshold for a counted signal (pids, inodes): negative = met",
            c.headroom.clone(),
        );
        c
    }
}

/// Per-pod metrics, the kernel OOM kill counter and the config source (deploy/prometheus
/// alerts and the Grafana dashboard use them).
struct DeployMetrics {
    pod_working_set_bytes: Family<Labels, FloatGauge>,
    pod_eviction_rank: Family<Labels, Gauge>,
    pods_not_exported: Gauge,
    kernel_oom_kills: Counter,
    kubelet_config_source: Family<Labels, Gauge>,
}

/// At most this many pods get per-pod series (the first in eviction order): a node runs up to
/// 110 pods by default, and every pod churn would otherwise leave series behind.
pub const POD_SERIES_CAP: usize = 20;

impl DeployMetrics {
    fn register(registry: &mut Registry) -> DeployMetrics {
        let m = DeployMetrics {
            pod_working_set_bytes: Family::default(),
            pod_eviction_rank: Family::default(),
            pods_not_exported: Gauge::default(),
            kernel_oom_kills: Counter::default(),
            kubelet_config_source: Family::default(),
        };
        registry.register(
            "headroom_pod_working_set_bytes",
            "Working set of the first pods in eviction order (at most 20 pods; see headroom_pod_series_dropped)",
            m.pod_working_set_bytes.clone(),
        );
        registry.register(
            "headroom_pod_eviction_rank",
            "Position in the kubelet's memory eviction order at the last full pass (1 = evicted first)",
            m.pod_eviction_rank.clone(),
        );
        registry.register(
            "headroom_pod_series_dropped",
            "Active pods left out of the per-pod series by the cardinality cap",
            m.pods_not_exported.clone(),
        );
        registry.register(
            "headroom_kernel_oom_kills",
            "Processes killed by the kernel OOM killer on this node (/proc/vmstat oom_kill), counted from the agent's first read of the kernel's since-boot total",
            m.kernel_oom_kills.clone(),
        );
        registry.register(
            "headroom_kubelet_config_source",
            "1 for the source the kubelet configuration was read from (source=file|api|defaults)",
            m.kubelet_config_source.clone(),
        );
        m
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let memory_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_memory_bytes",
            "Memory of the node and of the pods cgroup as the kubelet computes it (scope=node|pods; kind=usage|working_set|rss|cache|active_file|inactive_file|limit|available; limit only when set)",
            memory_bytes.clone(),
        );
        let signal_available_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_signal_available_bytes",
            "Observed available bytes of each eviction signal measured in bytes (memory.available, allocatableMemory.available, nodefs/imagefs/containerfs.available)",
            signal_available_bytes.clone(),
        );
        let signal_capacity_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_signal_capacity_bytes",
            "Capacity the signal's percentage thresholds are computed against",
            signal_capacity_bytes.clone(),
        );
        let threshold_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_threshold_bytes",
            "Each configured eviction threshold in bytes for the current capacity (type=hard|soft)",
            threshold_bytes.clone(),
        );
        let threshold_headroom_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_threshold_headroom_bytes",
            "Available minus threshold: how far each threshold is from being met (negative = met)",
            threshold_headroom_bytes.clone(),
        );
        let counted = CountedSignals::register(&mut registry);
        let node_condition = Family::<Labels, Gauge>::default();
        registry.register(
            "headroom_node_condition",
            "1 if the eviction manager reports this node condition (MemoryPressure, DiskPressure, PIDPressure)",
            node_condition.clone(),
        );
        let evictions = Family::<Labels, Counter>::default();
        registry.register(
            "headroom_evictions",
            "Pods chosen for eviction, by the signal whose threshold was met",
            evictions.clone(),
        );
        let actions = Family::<Labels, Counter>::default();
        registry.register(
            "headroom_actions",
            "Actions taken on chosen pods (action=none|kill|evict; result=ok|error|refused|gone|empty: a kill that found no process to signal)",
            actions.clone(),
        );
        let prepared_kills = Family::<Labels, Counter>::default();
        registry.register(
            "headroom_prepared_kills",
            "Kills prepared before a hard allocatableMemory.available crossing and signalled at it, by what the confirming pass said (outcome=confirmed|disagreed), or not used at the crossing (outcome=unused: stale, a pod came or went, or the fresh working set did not meet the threshold)",
            prepared_kills.clone(),
        );
        let syncs = Family::<Labels, Counter>::default();
        registry.register(
            "headroom_syncs",
            "Synchronize passes, by what started them (trigger=period|notification|cleanup|start) and how much they read (pass=full|light)",
            syncs.clone(),
        );
        let sync_duration_seconds = Histogram::new([
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
        ]);
        registry.register(
            "headroom_sync_duration_seconds",
            "Time for one pass: collection, decision and action",
            sync_duration_seconds.clone(),
        );
        let notification_events = Family::<Labels, Counter>::default();
        registry.register(
            "headroom_notification_events",
            "Kernel notifications received (watch=node|pods|psi|...; kind=usage_threshold|memory_events|psi|gone)",
            notification_events.clone(),
        );
        let stats_age_seconds = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_stats_age_seconds",
            "Age of the statistics each signal's last observation was computed from",
            stats_age_seconds.clone(),
        );
        let deploy = DeployMetrics::register(&mut registry);
        let notifier_armed_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_notifier_armed_bytes",
            "memory.usage_in_bytes value each cgroup v1 threshold notifier is armed at",
            notifier_armed_bytes.clone(),
        );
        let faults = crate::health::FaultMetrics::default();
        faults.register(&mut registry);
        let early_warning = Family::<Labels, Gauge>::default();
        registry.register(
            "headroom_early_warning",
            "1 for the current state of each early-warning mechanism (mechanism=memcg_usage_threshold|memory_events|psi_node|psi_pods|memory_current_poll; state=armed|refused), 0 for the other state",
            early_warning.clone(),
        );
        let reclaim = crate::reclaim_metrics::ReclaimMetrics::default();
        reclaim.register(&mut registry);
        Metrics {
            registry,
            memory_bytes,
            signal_available_bytes,
            signal_capacity_bytes,
            threshold_bytes,
            threshold_headroom_bytes,
            counted,
            node_condition,
            evictions,
            actions,
            prepared_kills,
            syncs,
            sync_duration_seconds,
            notification_events,
            stats_age_seconds,
            notifier_armed_bytes,
            deploy,
            faults,
            early_warning,
            reclaim,
        }
    }

    /// Replace the per-pod series: `(namespace, name, working set bytes)` in eviction order,
    /// capped at [`POD_SERIES_CAP`].
    pub fn set_pod_ranking(&self, ranked: &[(String, String, f64)]) {
        let d = &self.deploy;
        d.pod_working_set_bytes.clear();
        d.pod_eviction_rank.clear();
        for (i, (ns, pod, ws)) in ranked.iter().take(POD_SERIES_CAP).enumerate() {
            let l = labels(&[("namespace", ns), ("pod", pod)]);
            d.pod_working_set_bytes.get_or_create(&l).set(*ws);
            d.pod_eviction_rank.get_or_create(&l).set(i as i64 + 1);
        }
        d.pods_not_exported
            .set(ranked.len().saturating_sub(POD_SERIES_CAP) as i64);
    }

    pub fn add_kernel_oom_kills(&self, kills: u64) {
        self.deploy.kernel_oom_kills.inc_by(kills);
    }

    pub fn set_kubelet_config_source(&self, source: &str) {
        self.deploy.kubelet_config_source.clear();
        self.deploy
            .kubelet_config_source
            .get_or_create(&labels(&[("source", source)]))
            .set(1);
    }

    pub fn set_memory(&self, scope: &str, kind: &str, bytes: f64) {
        self.memory_bytes
            .get_or_create(&labels(&[("scope", scope), ("kind", kind)]))
            .set(bytes);
    }

    /// A signal's observation, in the `_bytes` metrics or, for pids and inodes, the unit-less ones.
    pub fn set_signal(&self, signal: Signal, available: f64, capacity: f64) {
        let l = labels(&[("signal", signal.as_str())]);
        let (a, c) = if in_bytes(signal) {
            (&self.signal_available_bytes, &self.signal_capacity_bytes)
        } else {
            (&self.counted.available, &self.counted.capacity)
        };
        a.get_or_create(&l).set(available);
        c.get_or_create(&l).set(capacity);
    }

    /// `kind` is `hard` or `soft`; `value` and `headroom` in the signal's unit (see [`Self::set_signal`]).
    pub fn set_threshold(&self, signal: Signal, kind: &str, value: f64, headroom: f64) {
        let l = labels(&[("signal", signal.as_str()), ("type", kind)]);
        let (t, h) = if in_bytes(signal) {
            (&self.threshold_bytes, &self.threshold_headroom_bytes)
        } else {
            (&self.counted.threshold, &self.counted.headroom)
        };
        t.get_or_create(&l).set(value);
        h.get_or_create(&l).set(headroom);
    }

    pub fn set_condition(&self, condition: &str, active: bool) {
        self.node_condition
            .get_or_create(&labels(&[("condition", condition)]))
            .set(i64::from(active));
    }

    pub fn inc_eviction(&self, signal: &str) {
        self.evictions.get_or_create(&labels(&[("signal", signal)])).inc();
    }

    /// A prepared kill's fate: `confirmed`, `disagreed` or `unused`.
    pub fn inc_prepared_kill(&self, outcome: &str) {
        self.prepared_kills
            .get_or_create(&labels(&[("outcome", outcome)]))
            .inc();
    }

    pub fn inc_action(&self, action: &str, result: &str) {
        self.actions
            .get_or_create(&labels(&[("action", action), ("result", result)]))
            .inc();
    }

    /// `light`: the pass read only the node and the pod cgroup root (see `light`).
    pub fn observe_sync(&self, trigger: Trigger, light: bool, seconds: f64) {
        let pass = if light { "light" } else { "full" };
        self.syncs
            .get_or_create(&labels(&[("trigger", trigger.as_str()), ("pass", pass)]))
            .inc();
        self.sync_duration_seconds.observe(seconds);
    }

    pub fn inc_notification(&self, watch: &str, kind: &str) {
        self.notification_events
            .get_or_create(&labels(&[("watch", watch), ("kind", kind)]))
            .inc();
    }

    pub fn set_stats_age(&self, signal: &str, seconds: f64) {
        self.stats_age_seconds
            .get_or_create(&labels(&[("signal", signal)]))
            .set(seconds);
    }

    pub fn set_notifier_armed(&self, watch: &str, bytes: f64) {
        self.notifier_armed_bytes
            .get_or_create(&labels(&[("watch", watch)]))
            .set(bytes);
    }

    /// The exposition: OpenMetrics text if `openmetrics`, else classic text format 0.0.4.
    /// Record whether an early-warning mechanism is armed or was refused (both states are
    /// exported, one of them 1, so an alert can match `state="refused"` directly).
    pub fn set_early_warning(&self, mechanism: &str, armed: bool) {
        for (state, on) in [("armed", armed), ("refused", !armed)] {
            self.early_warning
                .get_or_create(&labels(&[("mechanism", mechanism), ("state", state)]))
                .set(i64::from(on));
        }
    }

    pub fn render(&self, openmetrics: bool) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            // Encoding into a String cannot fail; an empty page is the honest fallback.
            return String::new();
        }
        if openmetrics {
            text
        } else {
            openmetrics_to_classic(&text)
        }
    }
}

/// Does this `Accept` header ask for OpenMetrics?
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

/// Convert OpenMetrics text (as prometheus-client writes it) to the classic 0.0.4 format.
pub fn openmetrics_to_classic(text: &str) -> String {
    // In OpenMetrics a counter family `x` has samples `x_total`; classic format wants the
    // HELP/TYPE lines to name the sample, `x_total`.
    let counters: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name) && !name.ends_with("_total") {
                Some(format!("{prefix}{name}_total {tail}"))
            } else {
                None
            }
        });
        match rewritten {
            Some(l) => out.push_str(l.trim_end()),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metrics {
        let m = Metrics::new();
        m.set_memory("node", "working_set", 1.5e9);
        m.set_signal(Signal::MemoryAvailable, 2.0e8, 4.0e9);
        m.set_threshold(Signal::MemoryAvailable, "hard", 104_857_600.0, 9.5e7);
        m.set_condition("MemoryPressure", true);
        m.inc_eviction("memory.available");
        m.inc_action("kill", "ok");
        m.observe_sync(Trigger::Period, false, 0.002);
        m.inc_notification("node", "usage_threshold");
        m.set_stats_age("memory.available", 0.01);
        m
    }

    #[test]
    fn counted_signals_stay_out_of_the_bytes_metrics() {
        let m = Metrics::new();
        m.set_signal(Signal::PidAvailable, 30_000.0, 32_768.0);
        m.set_threshold(Signal::PidAvailable, "hard", 1_000.0, 29_000.0);
        m.set_signal(Signal::NodeFsAvailable, 5.0e9, 1.0e10);
        let text = m.render(false);
        assert!(
            text.contains("headroom_signal_available{signal=\"pid.available\"} 30000"),
            "{text}"
        );
        assert!(
            text.contains("headroom_threshold{signal=\"pid.available\",type=\"hard\"} 1000"),
            "{text}"
        );
        assert!(
            text.contains("headroom_threshold_headroom{signal=\"pid.available\",type=\"hard\"} 29000"),
            "{text}"
        );
        assert!(
            text.contains("headroom_signal_available_bytes{signal=\"nodefs.available\"} 5000000000"),
            "{text}"
        );
        for line in text.lines().filter(|l| l.contains("_bytes{")) {
            assert!(
                !line.contains("pid.available"),
                "a pid count in a _bytes metric: {line}"
            );
        }
    }

    #[test]
    fn syncs_are_counted_by_trigger_and_pass_kind() {
        let m = Metrics::new();
        m.observe_sync(Trigger::Period, true, 0.001);
        m.observe_sync(Trigger::Period, true, 0.001);
        m.observe_sync(Trigger::Notification, false, 0.01);
        let text = m.render(false);
        assert!(
            text.contains("headroom_syncs_total{trigger=\"period\",pass=\"light\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("headroom_syncs_total{trigger=\"notification\",pass=\"full\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn classic_text_names_counters_by_their_total_samples() {
        let text = sample().render(false);
        assert!(
            text.contains("# TYPE headroom_evictions_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP headroom_evictions_total Pods chosen"),
            "{text}"
        );
        assert!(text.contains("headroom_evictions_total{signal=\"memory.available\"} 1"));
        assert!(text.contains("# TYPE headroom_memory_bytes gauge\n"));
        assert!(!text.contains("# EOF"));
        assert!(!text.contains("# UNIT"));
        assert!(text.contains("headroom_node_condition{condition=\"MemoryPressure\"} 1"));
    }

    #[test]
    fn reclaim_first_counters_are_described_and_counted() {
        let m = Metrics::new();
        m.reclaim.set_policy("reclaim-first", "reclaim-first");
        m.reclaim.observe_attempt("done", 300 << 20, 0.25);
        m.reclaim.observe_attempt("kernel-short", 1 << 20, 0.5);
        m.reclaim.inc_avoided("reclaimed");
        m.reclaim.add_refaulted(4096);
        let text = m.render(false);
        for (line, why) in [
            (
                "# HELP headroom_reclaim_attempts_total Proactive reclaims",
                "attempts described",
            ),
            ("headroom_reclaim_attempts_total{result=\"done\"} 1\n", "one done"),
            (
                "headroom_reclaim_attempts_total{result=\"kernel-short\"} 1\n",
                "one short",
            ),
            ("headroom_reclaim_bytes_total 315621376\n", "bytes summed"),
            ("headroom_reclaim_seconds_total 0.75\n", "seconds summed"),
            (
                "headroom_evictions_avoided_total{because=\"reclaimed\"} 1\n",
                "avoided",
            ),
            ("headroom_reclaim_refaulted_bytes_total 4096\n", "churn"),
            (
                "headroom_eviction_policy{policy=\"reclaim-first\",effective=\"reclaim-first\"} 1\n",
                "policy named",
            ),
        ] {
            assert!(text.contains(line), "{why}: {line} not in\n{text}");
        }
        m.reclaim.set_policy("reclaim-first", "kubelet");
        let text = m.render(false);
        assert!(text.contains("effective=\"kubelet\"} 1") && !text.contains("effective=\"reclaim-first\""));
    }

    #[test]
    fn openmetrics_is_served_unchanged_when_asked_for() {
        let text = sample().render(true);
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains("# TYPE headroom_evictions counter\n"));
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )));
        assert!(!wants_openmetrics(Some("text/plain")));
        assert!(!wants_openmetrics(None));
    }
}
