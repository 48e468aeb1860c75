//! The rows as a text table (one line per node, like `kubectl get`) or one JSON document.

use serde::Serialize;

use super::row::{NodeRow, State};
use crate::status::units::human_bytes;

const HEADER: [&str; 9] = [
    "NODE",
    "AVAILABLE",
    "THRESHOLD",
    "HEADROOM",
    "HEADROOM%",
    "PRESSURE",
    "CACHE/WS",
    "PODS",
    "FIRST TO EVICT (WHY)",
];

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// The kubelet's own word on the node (its `MemoryPressure` condition), and headroom's when
/// they differ: the kubelet keeps the condition for `evictionPressureTransitionPeriod` after
/// the threshold stops being met, and its Summary is a moment older or newer than ours.
fn pressure(r: &NodeRow) -> String {
    let reported = match r.memory_pressure_reported.as_deref() {
        Some("True") => "yes",
        Some("False") => "no",
        Some(_) => "unknown",
        None => "-",
    };
    match (reported, r.memory_pressure_now) {
        ("no", Some(true)) => "no (met now)".to_string(),
        ("yes", Some(false)) => "yes (not met now)".to_string(),
        _ => reported.to_string(),
    }
}

fn cells(r: &NodeRow) -> Vec<String> {
    let threshold = opt(r.threshold.as_ref(), |t| {
        let kind = if t.hard { "hard" } else { "soft" };
        let signal = if t.signal == headroom_core::signal::Signal::MemoryAvailable {
            String::new()
        } else {
            " allocatable".to_string()
        };
        format!("{} {kind}{signal}", t.value)
    });
    vec![
        r.node.clone(),
        opt(r.memory_available_bytes, |b| human_bytes(i128::from(b))),
        threshold,
        opt(r.headroom_bytes, |b| human_bytes(i128::from(b))),
        opt(r.headroom_percent, |p| format!("{p:.1}%")),
        pressure(r),
        opt(r.page_cache_share, |s| format!("{:.0}%", s * 100.0)),
        opt(r.pods, |n| n.to_string()),
        opt(r.first_eviction.as_ref(), |f| {
            let qos = f.qos.as_deref().map(|q| format!(" ({q})")).unwrap_or_default();
            format!("{}{qos}: {}", f.pod, f.why)
        }),
    ]
}

/// The table: a header, one line per node in the given order, and a footer that counts the
/// nodes that did not answer.
pub fn render_text(rows: &[NodeRow]) -> String {
    let mut lines: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    let mut failures = Vec::new();
    for r in rows {
        if r.state == State::Ok {
            lines.push(cells(r));
        } else {
            let what = match r.state {
                State::Unreachable => "UNREACHABLE",
                _ => "BAD ANSWER",
            };
            let mut line = vec![r.node.clone(), what.to_string()];
            line.resize(HEADER.len(), String::new());
            line[5] = pressure(r);
            lines.push(line);
            failures.push(r);
        }
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i + 1 == line.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{} node(s); {} did not answer.",
        rows.len(),
        failures.len()
    ));
    out.push_str(
        "\nHEADROOM = available - threshold (negative: met now). CACHE/WS = the share of the \
         working set\nthat is not anonymous memory (mostly active page cache).\n",
    );
    for r in failures {
        out.push_str(&format!(
            "  {}: {}\n",
            r.node,
            r.error.as_deref().unwrap_or("no answer")
        ));
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    total: usize,
    unreachable: usize,
    nodes: &'a [NodeRow],
}

/// One JSON document (see `cluster/mod.rs` for the keys), newline-terminated.
pub fn render_json(rows: &[NodeRow]) -> anyhow::Result<String> {
    let doc = Document {
        total: rows.len(),
        unreachable: rows.iter().filter(|r| r.state != State::Ok).count(),
        nodes: rows,
    };
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}
