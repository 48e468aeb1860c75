//! memory.available and allocatableMemory.available against every threshold on them, then
//! the node conditions and the pod the eviction manager's sync evicts now. Every figure is the
//! status report's (headroom-core's observation, threshold and decision).

use headroom_core::signal::Signal;
use ratatui::text::{Line, Span};

use super::Theme;
use crate::status::report::{SignalArithmetic, StatusReport, ThresholdRow};
use crate::status::units::human_bytes;

/// The two memory signals, node first.
pub const MEMORY_SIGNALS: [Signal; 2] = [Signal::MemoryAvailable, Signal::AllocatableMemoryAvailable];
/// Headroom under this share of capacity is "within reach" (yellow).
const NEAR_PERCENT: f64 = 5.0;
/// `allocatableMemory.available` and a space.
const NAME_WIDTH: usize = 28;
/// Wide enough for `of <capacity>` after the available figure.
const WIDE: u16 = 96;

pub fn arithmetic(report: &StatusReport, signal: Signal) -> Option<&SignalArithmetic> {
    match signal {
        Signal::AllocatableMemoryAvailable => report.kubelet.allocatable_memory_available.as_ref(),
        _ => report.kubelet.memory_available.as_ref(),
    }
}

/// One line per memory threshold (a signal without one gets a line when observed), and the
/// conditions line.
pub fn lines(report: &StatusReport, width: u16, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for signal in MEMORY_SIGNALS {
        let figures = arithmetic(report, signal);
        let rows: Vec<&ThresholdRow> = report.thresholds.iter().filter(|t| t.signal == signal).collect();
        if rows.is_empty() && figures.is_none() {
            continue;
        }
        let available = figures
            .map(|a| i128::from(a.available_bytes))
            .or_else(|| rows.iter().find_map(|r| r.available).map(i128::from));
        let mut head = format!(
            "{:<NAME_WIDTH$}{:>10}",
            signal.as_str(),
            available.map(human_bytes).unwrap_or_else(|| "?".into())
        );
        if width >= WIDE
            && let Some(a) = figures
        {
            head.push_str(&format!(" of {:>10}", human_bytes(i128::from(a.capacity_bytes))));
        }
        if rows.is_empty() {
            out.push(Line::from(vec![
                Span::raw(head),
                Span::styled("  no threshold set", theme.dim()),
            ]));
            continue;
        }
        for (i, row) in rows.iter().enumerate() {
            let lead = if i == 0 {
                head.clone()
            } else {
                " ".repeat(head.chars().count())
            };
            let threshold = threshold_text(row, width >= WIDE);
            let mut spans = vec![Span::raw(lead), Span::raw(format!("  {threshold}"))];
            spans.push(verdict(row, theme));
            out.push(Line::from(spans));
        }
    }
    if out.is_empty() {
        out.push(Line::styled(
            "no memory signal observed and no memory threshold set",
            theme.dim(),
        ));
    }
    out.push(conditions_line(report, width, theme));
    out
}

/// `hard <100Mi`, `soft <1Gi 1m30s` (its grace period); `wide` adds what a percentage
/// resolves to (`hard <10% = 2.3 GiB`).
fn threshold_text(row: &ThresholdRow, wide: bool) -> String {
    let kind = if row.hard { "hard" } else { "soft" };
    let mut text = format!("{kind} <{}", row.value);
    if wide
        && row.value.ends_with('%')
        && let Some(t) = row.threshold
    {
        text.push_str(&format!(" = {}", human_bytes(i128::from(t))));
    }
    if !row.hard {
        text.push_str(&format!(" {}", row.grace_period));
    }
    text
}

fn verdict(row: &ThresholdRow, theme: Theme) -> Span<'static> {
    match (row.met, row.headroom) {
        (Some(true), Some(h)) => Span::styled(
            format!("  MET, {} under", human_bytes(-i128::from(h))),
            theme.met(),
        ),
        (Some(true), None) => Span::styled("  MET", theme.met()),
        (Some(false), Some(h)) => {
            let near = row.headroom_percent.is_some_and(|p| p < NEAR_PERCENT);
            let style = if near { theme.near() } else { theme.ok() };
            Span::styled(format!("  headroom {}", human_bytes(i128::from(h))), style)
        }
        _ => Span::styled(
            format!(
                "  not observed: {}",
                row.unobserved_reason.as_deref().unwrap_or("unknown")
            ),
            theme.dim(),
        ),
    }
}

/// `conditions: MemoryPressure · evicting now: shop/search-0 (memory.available)`.
fn conditions_line(report: &StatusReport, width: u16, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw("conditions: ")];
    if report.conditions.is_empty() {
        spans.push(Span::styled("none", theme.ok()));
    } else {
        let names: Vec<&str> = report.conditions.iter().map(|c| c.as_str()).collect();
        spans.push(Span::styled(names.join(", "), theme.met()));
    }
    let acting = report
        .acting_threshold
        .and_then(|i| report.thresholds.get(i))
        .map(|t| t.signal.as_str());
    let order = &report.eviction_order;
    let evicted = order
        .evicted_uid
        .as_deref()
        .and_then(|uid| order.pods.iter().find(|c| c.uid == uid));
    match (evicted, acting) {
        (Some(pod), acting) => {
            let mut text = format!(" · evicting now: {}", pod.display_name());
            // The signal it is evicted for, when the line has room (the MET line says it too).
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            if let Some(signal) = acting
                && used + text.chars().count() + signal.len() + 3 <= usize::from(width)
            {
                text.push_str(&format!(" ({signal})"));
            }
            spans.push(Span::styled(text, theme.met()));
        }
        (None, Some(signal)) => spans.push(Span::raw(format!(" · acting on {signal}, no eviction now"))),
        (None, None) => {}
    }
    Line::from(spans)
}
