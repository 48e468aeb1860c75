//! The metrics the shipped alerts (deploy/prometheus/alerts.yaml) and dashboard
//! (deploy/grafana/headroom.json) query exist in the agent's exposition, and the per-pod
//! series stay within their cardinality cap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_agent::light::Trigger;
use headroom_agent::metrics::{Metrics, POD_SERIES_CAP};
use std::collections::BTreeSet;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
/// Exported by a module of another change (the early-warning report, issue #10), not by this
/// crate's metrics yet.
const ELSEWHERE: &[&str] = &["headroom_early_warning"];

fn pods(n: usize) -> Vec<(String, String, f64)> {
    (0..n)
        .map(|i| ("ns".to_string(), format!("pod-{i}"), (1000 - i) as f64))
        .collect()
}

/// Every family name in the classic exposition (`# TYPE name kind`), with the sample names a
/// query may use (`_bucket`, `_sum`, `_count` of histograms).
fn exported(m: &Metrics) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in m.render(false).lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_string();
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
            names.insert(name);
        }
    }
    names
}

/// `headroom_*` identifiers in a text.
fn queried(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("headroom_") {
        let start = i + pos;
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_' || bytes[end].is_ascii_digit())
        {
            end += 1;
        }
        out.insert(text[start..end].to_string());
        i = end;
    }
    out
}

#[test]
fn alerts_and_dashboard_query_only_exported_metrics() {
    // Every setter once: an empty family prints nothing.
    let m = Metrics::new();
    m.set_pod_ranking(&pods(1));
    m.set_memory("node", "working_set", 1.0);
    m.set_signal(headroom_core::signal::Signal::MemoryAvailable, 1.0, 2.0);
    m.set_threshold(headroom_core::signal::Signal::MemoryAvailable, "hard", 1.0, 1.0);
    m.set_condition("MemoryPressure", false);
    m.inc_eviction("memory.available");
    m.inc_action("evict", "error");
    m.observe_sync(Trigger::Period, false, 0.001);
    m.inc_notification("psi", "psi");
    m.set_stats_age("memory.available", 0.1);
    m.add_kernel_oom_kills(0);
    m.set_kubelet_config_source("file");
    let names = exported(&m);
    for file in ["deploy/prometheus/alerts.yaml", "deploy/grafana/headroom.json"] {
        let text = std::fs::read_to_string(format!("{REPO}/{file}")).unwrap();
        let q = queried(&text);
        assert!(q.len() > 3, "{file}: found {q:?}");
        for name in q {
            assert!(
                names.contains(&name) || ELSEWHERE.contains(&name.as_str()),
                "{file} queries {name}, which the agent does not export"
            );
        }
    }
}

#[test]
fn per_pod_series_are_capped_and_replaced_each_pass() {
    let m = Metrics::new();
    m.set_pod_ranking(&pods(POD_SERIES_CAP + 5));
    let text = m.render(false);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("headroom_pod_eviction_rank{"))
            .count(),
        POD_SERIES_CAP
    );
    assert!(text.contains("headroom_pod_series_dropped 5\n"), "{text}");
    assert!(text.contains("headroom_pod_eviction_rank{namespace=\"ns\",pod=\"pod-0\"} 1\n"));
    assert!(text.contains("headroom_pod_working_set_bytes{namespace=\"ns\",pod=\"pod-1\"} 999"));

    // The next pass has two pods: the others' series are gone, not left stale.
    m.set_pod_ranking(&pods(2));
    let text = m.render(false);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("headroom_pod_working_set_bytes{"))
            .count(),
        2
    );
    assert!(text.contains("headroom_pod_series_dropped 0\n"));

    m.add_kernel_oom_kills(3);
    m.set_kubelet_config_source("defaults");
    m.set_kubelet_config_source("file");
    let text = m.render(false);
    assert!(text.contains("headroom_kernel_oom_kills_total 3\n"), "{text}");
    assert!(text.contains("headroom_kubelet_config_source{source=\"file\"} 1\n"));
    assert!(!text.contains("source=\"defaults\""));
}
