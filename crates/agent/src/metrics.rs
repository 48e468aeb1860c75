//! The agent's Prometheus metrics.
//!
//! Held in a `prometheus-client` registry. That crate only encodes OpenMetrics text, which
//! Prometheus reads only when it asks for it; everything else (older scrapers, `curl`,
//! `promtool check metrics`) expects the classic text format 0.0.4, so [`Metrics::render`]
//! converts: counters are described under their `_total` sample name, `# UNIT` lines and the
//! `# EOF` marker are dropped.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;
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
    node_condition: Family<Labels, Gauge>,
    evictions: Family<Labels, Counter>,
    actions: Family<Labels, Counter>,
    syncs: Family<Labels, Counter>,
    sync_duration_seconds: Histogram,
    notification_events: Family<Labels, Counter>,
    stats_age_seconds: Family<Labels, FloatGauge>,
    notifier_armed_bytes: Family<Labels, FloatGauge>,
    early_warning: Family<Labels, Gauge>,
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
            "Observed available amount of each eviction signal (memory.available, allocatableMemory.available)",
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
            "Actions taken on chosen pods (action=none|kill|evict; result=ok|error|refused|gone)",
            actions.clone(),
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
        let notifier_armed_bytes = Family::<Labels, FloatGauge>::default();
        registry.register(
            "headroom_notifier_armed_bytes",
            "memory.usage_in_bytes value each cgroup v1 threshold notifier is armed at",
            notifier_armed_bytes.clone(),
        );
        let early_warning = Family::<Labels, Gauge>::default();
        registry.register(
            "headroom_early_warning",
            "1 for the current state of each early-warning mechanism (mechanism=memcg_usage_threshold|memory_events|psi_node|psi_pods|memory_current_poll; state=armed|refused), 0 for the other state",
            early_warning.clone(),
        );
        Metrics {
            registry,
            memory_bytes,
            signal_available_bytes,
            signal_capacity_bytes,
            threshold_bytes,
            threshold_headroom_bytes,
            node_condition,
            evictions,
            actions,
            syncs,
            sync_duration_seconds,
            notification_events,
            stats_age_seconds,
            notifier_armed_bytes,
            early_warning,
        }
    }

    pub fn set_memory(&self, scope: &str, kind: &str, bytes: f64) {
        self.memory_bytes
            .get_or_create(&labels(&[("scope", scope), ("kind", kind)]))
            .set(bytes);
    }

    pub fn set_signal(&self, signal: &str, available: f64, capacity: f64) {
        let l = labels(&[("signal", signal)]);
        self.signal_available_bytes.get_or_create(&l).set(available);
        self.signal_capacity_bytes.get_or_create(&l).set(capacity);
    }

    /// `kind` is `hard` or `soft`.
    pub fn set_threshold(&self, signal: &str, kind: &str, bytes: f64, headroom: f64) {
        let l = labels(&[("signal", signal), ("type", kind)]);
        self.threshold_bytes.get_or_create(&l).set(bytes);
        self.threshold_headroom_bytes.get_or_create(&l).set(headroom);
    }

    pub fn set_condition(&self, condition: &str, active: bool) {
        self.node_condition
            .get_or_create(&labels(&[("condition", condition)]))
            .set(i64::from(active));
    }

    pub fn inc_eviction(&self, signal: &str) {
        self.evictions
            .get_or_create(&labels(&[("eviction_signal", signal)]))
            .inc();
    }

    pub fn inc_action(&self, action: &str, result: &str) {
        self.actions
            .get_or_create(&labels(&[("action", action), ("result", result)]))
            .inc();
    }

    /// `light`: the pass read only the node and the pod cgroup root (see `light`).
    pub fn observe_sync(&self, trigger: &str, light: bool, seconds: f64) {
        let pass = if light { "light" } else { "full" };
        self.syncs
            .get_or_create(&labels(&[("trigger", trigger), ("pass", pass)]))
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
            .get_or_create(&labels(&[("eviction_signal", signal)]))
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
        m.set_signal("memory.available", 2.0e8, 4.0e9);
        m.set_threshold("memory.available", "hard", 104_857_600.0, 9.5e7);
        m.set_condition("MemoryPressure", true);
        m.inc_eviction("memory.available");
        m.inc_action("kill", "ok");
        m.observe_sync("period", false, 0.002);
        m.inc_notification("node", "usage_threshold");
        m.set_stats_age("memory.available", 0.01);
        m
    }

    #[test]
    fn syncs_are_counted_by_trigger_and_pass_kind() {
        let m = Metrics::new();
        m.observe_sync("period", true, 0.001);
        m.observe_sync("period", true, 0.001);
        m.observe_sync("notification", false, 0.01);
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
        assert!(text.contains("headroom_evictions_total{eviction_signal=\"memory.available\"} 1"));
        assert!(text.contains("# TYPE headroom_memory_bytes gauge\n"));
        assert!(!text.contains("# EOF"));
        assert!(!text.contains("# UNIT"));
        assert!(text.contains("headroom_node_condition{condition=\"MemoryPressure\"} 1"));
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
