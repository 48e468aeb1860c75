//! The "Eviction order" section: the pods in the order the kubelet would evict them, and the
//! rule that placed each one.

use std::fmt::Write as _;

use super::{BRIEF_PODS, Style, h, wrap};
use crate::status::report::{Candidate, StatusReport};
use crate::status::units::human_bytes;

/// Short words for the comparator that placed a pod before the next one, to fit the table.
fn short_rule(placed_by: &str) -> &str {
    match placed_by {
        "missingStats" => "no stats",
        "exceedsRequest" => "exceeds",
        "priority" => "priority",
        "usageOverRequest" => "over req",
        "processCount" => "processes",
        "tie" => "tie",
        _ => "",
    }
}

/// Width of the pod column in the eviction order.
const POD_COLUMN: usize = 24;

fn pod_label(c: &Candidate) -> String {
    let full = match (&c.namespace, &c.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => format!("uid {}", c.uid),
    };
    shorten_middle(&full, POD_COLUMN)
}

/// `text` cut to `width` characters by replacing its middle with `…`: pods of one namespace
/// and one deployment differ only at the end of their names (the ReplicaSet and pod hashes),
/// so both ends are kept.
fn shorten_middle(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width {
        return text.to_string();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

pub(super) fn eviction_order(out: &mut String, r: &StatusReport, style: Style) {
    let e = &r.eviction_order;
    let listed = if style.verbose {
        e.pods.len()
    } else {
        e.pods.len().min(BRIEF_PODS)
    };
    let title = if e.total > listed {
        format!(
            "Eviction order if memory pressure happened now (top {} of {})",
            listed, e.total
        )
    } else {
        "Eviction order if memory pressure happened now".to_string()
    };
    let _ = writeln!(out, "{}", style.bold(&title));
    let rows = if style.verbose {
        e.pods.len()
    } else {
        e.pods.len().min(BRIEF_PODS)
    };
    if e.total == 0 {
        let _ = writeln!(out, "  no pods\n");
        return;
    }
    if e.pods.is_empty() {
        // --top 0: the count in the title is all that was asked for.
        out.push('\n');
        return;
    }
    wrap(out, "  ", "  ", &format!("rule: {}", e.rule));
    // "working set" in two lines: the column is as narrow as its numbers.
    let _ = writeln!(
        out,
        "  {:>3} {:<24} {:<10} {:>10} {:>9} {:>9} {:>10} {:<9} {:>6}",
        "#", "pod", "qos", "priority", "request", "working", "over req", "placed by", "active"
    );
    let _ = writeln!(
        out,
        "  {:>3} {:<24} {:<10} {:>10} {:>9} {:>9}",
        "", "", "", "", "", "set"
    );
    for c in e.pods.iter().take(rows) {
        let rank = if c.critical {
            format!("{}*", c.rank)
        } else {
            c.rank.to_string()
        };
        let signed = |v: i64| {
            let s = human_bytes(i128::from(v));
            if v > 0 { format!("+{s}") } else { s }
        };
        let line = format!(
            "  {:>3} {:<24} {:<10} {:>10} {:>9} {:>9} {:>10} {:<9} {:>6}",
            rank,
            pod_label(c),
            c.qos.as_deref().unwrap_or("?"),
            c.priority.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            c.request_bytes
                .map(|v| human_bytes(i128::from(v)))
                .unwrap_or_else(|| "?".into()),
            c.working_set_bytes.map(h).unwrap_or_else(|| "no stats".into()),
            c.over_request_bytes.map(signed).unwrap_or_else(|| "?".into()),
            short_rule(c.placed_by),
            c.active_file_percent
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "-".into()),
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    wrap(
        out,
        "  ",
        "  ",
        "placed by = the rule that put the pod ahead of the next one (tie: kept in input order).",
    );
    if e.pods.iter().any(|c| c.critical) {
        let _ = writeln!(out, "  * critical pod: ranked, but the kubelet never evicts it");
    }
    if e.pods.iter().take(rows).any(|c| c.active_file_percent.is_some()) {
        let estimated = e.pods.iter().take(rows).any(|c| c.active_file_estimated);
        wrap(
            out,
            "  ",
            "  ",
            &format!(
                "active = share of the pod's working set that is active page cache: counted by \
                 the kubelet, yet reclaimable by the kernel{}.",
                if estimated {
                    " (estimated from the Summary: working set - rssBytes)"
                } else {
                    ""
                }
            ),
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_pod_names_keep_both_ends() {
        let a = shorten_middle("payments-production/checkout-7f9c8b6d5f-x2k4q", 24);
        let b = shorten_middle("payments-production/checkout-7f9c8b6d5f-z9m1p", 24);
        assert_eq!(a.chars().count(), 24);
        assert_ne!(a, b);
        assert!(a.starts_with("payments-pro") && a.ends_with("5f-x2k4q"), "{a}");
        assert_eq!(shorten_middle("shop/web", 24), "shop/web");
    }
}
