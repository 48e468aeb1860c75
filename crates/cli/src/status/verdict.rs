//! The one-sentence answer: is this node under MemoryPressure, why, and what happens next.

use headroom_core::signal::NodeCondition;

use super::report::{Candidate, StatusReport, ThresholdRow};
use super::units::human_bytes;

pub fn verdict(r: &StatusReport) -> String {
    let memory: Vec<&ThresholdRow> = r.thresholds.iter().filter(|t| t.signal.is_memory()).collect();

    let mut out = if memory.is_empty() {
        "No memory thresholds are configured: the kubelet never sets MemoryPressure on this node.".to_string()
    } else if let Some(first) = r
        .acting_threshold
        .and_then(|i| r.thresholds.get(i))
        .filter(|t| t.signal.is_memory())
    {
        pressure_sentence(first, r)
    } else if let Some(closest) = closest(&memory) {
        calm_sentence(closest, r)
    } else {
        format!(
            "Unknown: no memory signal is observed ({}).",
            memory
                .iter()
                .filter_map(|t| t.unobserved_reason.as_deref())
                .next()
                .unwrap_or("no observation")
        )
    };

    let others: Vec<&str> = r
        .conditions
        .iter()
        .filter(|c| **c != NodeCondition::MemoryPressure)
        .map(|c| c.as_str())
        .collect();
    if !others.is_empty() {
        out.push_str(&format!(" Also under {}.", others.join(" and ")));
    }
    if r.source.kind != "summary" && !r.pods_cgroup.found {
        out.push_str(" No pods cgroup was found");
        if !r.pods_cgroup.searched.is_empty() {
            out.push_str(&format!(" (looked for {})", r.pods_cgroup.searched.join(", ")));
        }
        out.push_str(": this host runs no Kubernetes pods.");
    }
    out
}

/// `500Mi`, or `10% (1.6 GiB)` for a percentage resolved against the capacity.
fn threshold_words(t: &ThresholdRow) -> String {
    match t.threshold {
        Some(v) if t.value.ends_with('%') => format!("{} ({})", t.value, human_bytes(i128::from(v))),
        _ => t.value.clone(),
    }
}

fn closest<'a>(rows: &[&'a ThresholdRow]) -> Option<&'a ThresholdRow> {
    rows.iter()
        .copied()
        .filter(|t| t.headroom.is_some())
        .min_by_key(|t| t.headroom)
}

fn pod_name(c: &Candidate) -> String {
    match (&c.namespace, &c.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => format!("pod {}", c.uid),
    }
}

fn pressure_sentence(t: &ThresholdRow, r: &StatusReport) -> String {
    let available = human_bytes(i128::from(t.available.unwrap_or(0)));
    let below = human_bytes(-i128::from(t.headroom.unwrap_or(0)));
    let mut s = if t.hard {
        format!(
            "MemoryPressure: {} is {available}, {below} below the hard threshold {}.",
            t.signal,
            threshold_words(t)
        )
    } else {
        format!(
            "MemoryPressure: {} is {available}, {below} below the soft threshold {}. The \
             condition is set now; evictions start only if it stays below for the {} grace \
             period.",
            t.signal,
            threshold_words(t),
            t.grace_period
        )
    };
    match r.eviction_order.pods.iter().find(|c| !c.critical) {
        Some(c) => {
            let mut why = Vec::new();
            if let Some(q) = &c.qos {
                why.push(q.clone());
            }
            match (c.usage_bytes, c.over_request_bytes) {
                (None, _) => why.push("no stats yet: ranked first".to_string()),
                (Some(_), Some(o)) if o > 0 => {
                    why.push(format!("{} over its request", human_bytes(i128::from(o))))
                }
                (Some(u), _) => why.push(format!("using {}", human_bytes(i128::from(u)))),
            }
            s.push_str(&format!(
                " First to go: {} ({}); the kubelet evicts one pod per 10 s sync.",
                pod_name(c),
                why.join(", ")
            ));
        }
        None if r.eviction_order.total > 0 => {
            s.push_str(" Every pod is critical: the kubelet would evict none of them.")
        }
        None => s.push_str(" There are no pods to evict."),
    }
    s
}

fn calm_sentence(t: &ThresholdRow, r: &StatusReport) -> String {
    let mut s = format!(
        "No memory pressure: {} available ({}), threshold {}.",
        human_bytes(i128::from(t.available.unwrap_or(0))),
        t.signal,
        threshold_words(t)
    );
    let m = &r.node_memory;
    match m
        .split
        .as_ref()
        .and_then(|sp| Some((sp.active_file_bytes?, sp.inactive_file_bytes?)))
    {
        Some((active, inactive)) => s.push_str(&format!(
            " {} of page cache: {} inactive (ignored by the kubelet), {} active (counted).",
            human_bytes(i128::from(active) + i128::from(inactive)),
            human_bytes(i128::from(inactive)),
            human_bytes(i128::from(active))
        )),
        None => {
            if let Some(inactive) = m.inactive_file_bytes {
                s.push_str(&format!(
                    " {} of inactive page cache is ignored by the kubelet (usage - working set).",
                    human_bytes(i128::from(inactive))
                ));
            }
        }
    }
    s
}
