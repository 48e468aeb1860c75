//! The "Thresholds" section: each threshold against what is available, and the node
//! conditions the met ones set now.

use std::fmt::Write as _;

use super::{Style, wrap};
use crate::status::build::amount;
use crate::status::report::{StatusReport, ThresholdRow};

fn threshold_kind(t: &ThresholdRow) -> String {
    if t.hard {
        "hard".to_string()
    } else {
        format!("soft {}", t.grace_period)
    }
}

fn threshold_text(t: &ThresholdRow) -> String {
    match t.threshold {
        Some(v) if t.value.ends_with('%') => format!("{} = {}", t.value, amount(t.unit, v)),
        _ => t.value.clone(),
    }
}

pub(super) fn thresholds(out: &mut String, r: &StatusReport, style: Style) {
    let title = match &r.source.config {
        // The header names the whole path; the file name is enough here and keeps the title
        // within 100 columns.
        Some(c) => format!(
            "Thresholds ({})",
            std::path::Path::new(c)
                .file_name()
                .map_or_else(|| c.clone(), |n| n.to_string_lossy().into_owned())
        ),
        None => "Thresholds (kubelet defaults)".to_string(),
    };
    let _ = writeln!(out, "{}", style.bold(&title));
    if r.thresholds.is_empty() {
        let _ = writeln!(out, "  none configured\n");
        return;
    }
    let _ = writeln!(
        out,
        "  {:<28}{:<12}{:<16}{:>11} {:>20}  state",
        "signal", "type", "threshold", "available", "headroom"
    );
    let shown = |t: &&ThresholdRow| style.verbose || t.signal.is_memory();
    for t in r.thresholds.iter().filter(shown) {
        let kind = threshold_kind(t);
        let th = threshold_text(t);
        match (t.available, t.headroom) {
            (Some(avail), Some(head)) => {
                let pct = t
                    .headroom_percent
                    .map(|p| format!(" ({p:.1}%)"))
                    .unwrap_or_default();
                let state = match t.met {
                    Some(true) if t.hard => style.red("MET"),
                    Some(true) => style.yellow("MET"),
                    _ => style.green("ok"),
                };
                let _ = writeln!(
                    out,
                    "  {:<28}{:<12}{:<16}{:>11} {:>20}  {state}",
                    t.signal.as_str(),
                    kind,
                    th,
                    amount(t.unit, avail),
                    format!("{}{pct}", amount(t.unit, head)),
                );
            }
            _ => {
                let line = format!("  {:<28}{:<12}{:<16}", t.signal.as_str(), kind, th);
                let why = t.unobserved_reason.as_deref().unwrap_or("no observation");
                wrap(
                    out,
                    &line,
                    &" ".repeat(58),
                    &style.dim(&format!("unobserved: {why}")),
                );
            }
        }
    }
    let mut drives: Vec<String> = Vec::new();
    for t in r.thresholds.iter().filter(|t| t.met == Some(true)) {
        let s = format!("{} (by {})", t.condition, t.signal);
        if !drives.contains(&s) {
            drives.push(s);
        }
    }
    let hidden = r.thresholds.iter().filter(|t| !shown(t)).count();
    if hidden > 0 {
        let met = r
            .thresholds
            .iter()
            .filter(|t| !shown(t) && t.met == Some(true))
            .count();
        wrap(
            out,
            "  ",
            "  ",
            &format!("{hidden} disk/pid threshold(s) not shown ({met} met): --verbose lists them."),
        );
    }
    let text = if drives.is_empty() {
        "Conditions set now: none (memory signals drive MemoryPressure, nodefs/imagefs \
         DiskPressure, pid PIDPressure)."
            .to_string()
    } else {
        format!("Conditions set now: {}.", drives.join(", "))
    };
    wrap(out, "  ", "  ", &text);
    out.push('\n');
}
