//! The answer, in a few short paragraphs: is this node under MemoryPressure; what drives the
//! signal (active page cache or anonymous memory); how the kubelet's figures differ from
//! `free`'s; and which pod goes first, with its own split.

use headroom_core::signal::{NodeCondition, Signal};

use super::cause::{ACTIVE_PAGE_CACHE, ANONYMOUS_MEMORY, UNKNOWN};
use super::report::{CacheShare, CauseView, StatusReport, ThresholdRow};
use super::units::human_bytes;

fn h(v: i64) -> String {
    human_bytes(i128::from(v))
}

fn hu(v: u64) -> String {
    human_bytes(i128::from(v))
}

/// The verdict paragraphs (the text view prints one per paragraph; JSON joins them).
pub fn verdict(r: &StatusReport) -> Vec<String> {
    let memory: Vec<&ThresholdRow> = r.thresholds.iter().filter(|t| t.signal.is_memory()).collect();
    let mut lines = Vec::new();
    let acting = r
        .acting_threshold
        .and_then(|i| r.thresholds.get(i))
        .filter(|t| t.signal.is_memory());
    let mut head = if memory.is_empty() {
        "No memory thresholds are configured: the kubelet never sets MemoryPressure on this node.".to_string()
    } else if let Some(first) = acting {
        pressure_headline(first)
    } else if let Some(closest) = closest(&memory) {
        format!(
            "No memory pressure: {} available ({}), threshold {}.",
            h(closest.available.unwrap_or(0)),
            closest.signal,
            threshold_words(closest)
        )
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
        head.push_str(&format!(" Also under {}.", others.join(" and ")));
    }
    lines.push(head);
    if !memory.is_empty() {
        lines.extend(cause_sentence(&r.cause));
        lines.extend(free_sentence(&r.cause));
    }
    if acting.is_some() {
        lines.push(first_to_go(r));
    }
    if r.source.kind != "summary" && !r.pods_cgroup.found && r.pods_cgroup.configured {
        lines.push(format!(
            "The pods cgroup given with --pod-cgroup-root does not exist ({}): check the name \
             (the kubelet's is /kubepods with the cgroupfs driver, /kubepods.slice with systemd, \
             under its cgroupRoot).",
            r.pods_cgroup.searched.join(", ")
        ));
    } else if r.source.kind != "summary" && !r.pods_cgroup.found {
        let mut s = "No pods cgroup was found".to_string();
        if !r.pods_cgroup.searched.is_empty() {
            s.push_str(&format!(" (looked for {})", r.pods_cgroup.searched.join(", ")));
        }
        s.push_str(": this host runs no Kubernetes pods.");
        lines.push(s);
    }
    lines
}

/// `500Mi`, or `10% (1.6 GiB)` for a percentage resolved against the capacity.
fn threshold_words(t: &ThresholdRow) -> String {
    match t.threshold {
        Some(v) if t.value.ends_with('%') => format!("{} ({})", t.value, h(v)),
        _ => t.value.clone(),
    }
}

fn closest<'a>(rows: &[&'a ThresholdRow]) -> Option<&'a ThresholdRow> {
    rows.iter()
        .copied()
        .filter(|t| t.headroom.is_some())
        .min_by_key(|t| t.headroom)
}

fn pressure_headline(t: &ThresholdRow) -> String {
    let available = h(t.available.unwrap_or(0));
    let below = h(-t.headroom.unwrap_or(0));
    if t.hard {
        format!(
            "{} is {available}, {below} below the hard threshold {}.",
            t.signal,
            threshold_words(t)
        )
    } else {
        format!(
            "{} is {available}, {below} below the soft threshold {}. The \
             condition is set now; evictions start only if it stays below for the {} grace \
             period.",
            t.signal,
            threshold_words(t),
            t.grace_period
        )
    }
}

/// Whose working set the signal measures.
fn whose(signal: Option<Signal>) -> &'static str {
    match signal {
        Some(Signal::AllocatableMemoryAvailable) => "the pods cgroup's",
        _ => "the node's",
    }
}

const ESTIMATE: &str = " (an estimate from the Summary: workingSetBytes - rssBytes)";

fn cause_sentence(c: &CauseView) -> Option<String> {
    let signal = c.signal.map(|s| s.to_string()).unwrap_or_default();
    let who = whose(c.signal);
    let m = c.memory.as_ref();
    let est = |m: &CacheShare| if m.estimated { ESTIMATE } else { "" };
    let pct = |m: &CacheShare| {
        m.active_file_percent
            .map(|p| format!(" ({p:.0}%)"))
            .unwrap_or_default()
    };
    let without = c.available_without_active_file_bytes.map(h).unwrap_or_default();
    match (c.kind, m) {
        (ACTIVE_PAGE_CACHE, Some(m)) => Some(format!(
            "Cause: active page cache. {} of {who} {} working set{} is active page cache{}: the \
             kubelet counts it as used, although the kernel can reclaim it. Without it {signal} \
             would be {without}, above the threshold.",
            hu(m.active_file_bytes),
            hu(m.working_set_bytes),
            pct(m),
            est(m)
        )),
        (ANONYMOUS_MEMORY, Some(m)) => Some(format!(
            "Cause: anonymous memory (process heaps and stacks, not page cache). Only {} of {who} \
             {} working set{} is active page cache{}; even without it {signal} would be \
             {without}, still below the threshold.",
            hu(m.active_file_bytes),
            hu(m.working_set_bytes),
            pct(m),
            est(m)
        )),
        (UNKNOWN, _) => Some(
            "Cause unknown: how the working set splits into page cache and anonymous memory is \
             not known here (no memory.stat, no rssBytes in the Summary)."
                .to_string(),
        ),
        // No pressure: say how much of the working set is cache the kubelet counts.
        (_, Some(m)) => Some(format!(
            "{} of {who} {} working set{} is active page cache{}: the kubelet counts it as used, \
             `free` as buff/cache.",
            hu(m.active_file_bytes),
            hu(m.working_set_bytes),
            pct(m),
            est(m)
        )),
        (_, None) => None,
    }
}

fn free_sentence(c: &CauseView) -> Option<String> {
    match (&c.free, &c.memory) {
        (Some(f), _) => {
            let d = f.used_difference_bytes;
            // Within 5% of the total (used + available) the two views tell the same story.
            let total = i128::from(f.free_used_bytes) + i128::from(f.free_available_bytes);
            Some(if i128::from(d) * 20 > total {
                format!(
                    "The kubelet counts {} more as used than `free` does ({} vs {}), and sees {} \
                     available where `free` sees {}: `free` puts the page cache under \
                     buff/cache, the kubelet counts its active part as used.",
                    h(d),
                    hu(f.kubelet_used_bytes),
                    hu(f.free_used_bytes),
                    h(f.kubelet_available_bytes),
                    hu(f.free_available_bytes)
                )
            } else {
                format!(
                    "The kubelet and `free` roughly agree: {} used by the kubelet's count, {} by \
                     `free`'s; {} available vs {}.",
                    hu(f.kubelet_used_bytes),
                    hu(f.free_used_bytes),
                    h(f.kubelet_available_bytes),
                    hu(f.free_available_bytes)
                )
            })
        }
        // A Summary has no /proc/meminfo: say what `free` would show, from the estimate.
        (None, Some(m)) if m.estimated && m.active_file_bytes > 0 => Some(format!(
            "`free` on the node would show that cache as buff/cache, not as used: expect it to \
             report about {} less used than the kubelet (run `headroom status` on the node to \
             compare).",
            hu(m.active_file_bytes)
        )),
        _ => None,
    }
}

fn first_to_go(r: &StatusReport) -> String {
    let Some(c) = r.eviction_order.first_to_go() else {
        return if r.eviction_order.total > 0 {
            "Every pod is critical: the kubelet would evict none of them.".to_string()
        } else {
            "There are no pods to evict.".to_string()
        };
    };
    let mut why = Vec::new();
    if let Some(q) = &c.qos {
        why.push(q.clone());
    }
    match (c.working_set_bytes, c.over_request_bytes, c.request_bytes) {
        (None, _, _) => why.push("no stats yet: ranked first".to_string()),
        (Some(_), _, Some(0)) => why.push("no memory request".to_string()),
        (Some(_), Some(o), Some(req)) if o > 0 => why.push(format!("{} over its {} request", h(o), h(req))),
        (Some(_), Some(o), Some(req)) => why.push(format!("{} under its {} request", h(-o), h(req))),
        (Some(_), _, _) => {}
    }
    let mut s = if why.is_empty() {
        format!("First to go: {}.", c.display_name())
    } else {
        format!("First to go: {} ({}).", c.display_name(), why.join(", "))
    };
    if let Some(share) = r.cause.first_pod.as_ref().and_then(|p| p.memory.as_ref()) {
        let est = if share.estimated { " (estimated)" } else { "" };
        let pct = share
            .active_file_percent
            .map(|p| format!(" ({p:.0}%)"))
            .unwrap_or_default();
        if share.active_file_bytes >= share.other_bytes {
            s.push_str(&format!(
                " {} of its {} working set{pct} is active page cache{est}.",
                hu(share.active_file_bytes),
                hu(share.working_set_bytes)
            ));
        } else {
            s.push_str(&format!(
                " {} of its {} working set is anonymous memory; {}{pct} is active page \
                 cache{est}.",
                hu(share.other_bytes),
                hu(share.working_set_bytes),
                hu(share.active_file_bytes)
            ));
        }
    } else if let Some(ws) = c.working_set_bytes {
        s.push_str(&format!(
            " Its working set is {}; its page cache share is unknown.",
            hu(ws)
        ));
    }
    s.push_str(" The kubelet evicts one pod per 10 s sync.");
    s
}

#[cfg(test)]
mod tests {
    use crate::status::report::Candidate;

    fn candidate() -> Candidate {
        Candidate {
            rank: 1,
            namespace: Some("shop".into()),
            name: Some("log-indexer".into()),
            uid: "u".into(),
            qos: Some("Burstable".into()),
            priority: Some(0),
            request_bytes: Some(512 << 20),
            working_set_bytes: Some(3 << 30),
            over_request_bytes: Some((3 << 30) - (512 << 20)),
            exceeds_request: Some(true),
            placed_by: "exceedsRequest",
            placed_by_rule: None,
            critical: false,
            active_file_bytes: Some(2900 << 20),
            active_file_percent: Some(94.4),
            active_file_estimated: false,
            limit_bytes: None,
        }
    }

    #[test]
    fn a_pod_name_without_namespace_or_name_falls_back_to_the_uid() {
        let mut c = candidate();
        assert_eq!(c.display_name(), "shop/log-indexer");
        c.namespace = None;
        c.name = None;
        assert_eq!(c.display_name(), "pod u");
    }
}
