//! How memory splits, and which part the kubelet counts: the working set (anon, active page
//! cache, the rest such as shmem and kernel memory) is counted as used; the inactive page cache
//! and free memory are not (they make up memory.available). One bar for the node, and one for
//! the pods cgroup (allocatable) when there is room.

use headroom_core::signal::Signal;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::Theme;
use super::signals::arithmetic;
use crate::status::input::MemorySplit;
use crate::status::report::SignalArithmetic;
use crate::status::units::human_bytes;
use crate::top::layout::SPLIT_ROWS;
use crate::top::sample::Snapshot;

pub const ANON: char = '█';
pub const ACTIVE_FILE: char = '▓';
pub const OTHER: char = '▒';
pub const INACTIVE_FILE: char = '░';
pub const FREE: char = '·';

pub fn draw(area: Rect, buf: &mut Buffer, snap: &Snapshot, with_pods: bool, theme: Theme) {
    let [node_area, pods_area] =
        Layout::vertical([Constraint::Length(SPLIT_ROWS), Constraint::Min(0)]).areas(area);
    let report = &snap.report;
    match arithmetic(report, Signal::MemoryAvailable) {
        Some(figures) => {
            Paragraph::new(block("node", figures, &snap.node, node_area.width, theme)).render(node_area, buf)
        }
        None => Paragraph::new(Line::styled("node memory: not observed", theme.dim())).render(node_area, buf),
    }
    if with_pods && let Some((path, split)) = &snap.pods_cgroup {
        let label = format!("pods {path}");
        match arithmetic(report, Signal::AllocatableMemoryAvailable) {
            Some(figures) => {
                Paragraph::new(block(&label, figures, split, pods_area.width, theme)).render(pods_area, buf)
            }
            // The kubelet leaves allocatable unobserved for a pods cgroup without a limit.
            None => Paragraph::new(Line::styled(
                format!("{label}: no memory limit, allocatableMemory.available not observed"),
                theme.dim(),
            ))
            .render(pods_area, buf),
        }
    }
}

/// The segments in bar order, with their characters and styles.
struct Parts {
    anon: u64,
    active_file: u64,
    other: u64,
    inactive_file: u64,
    free: u64,
}

impl Parts {
    fn of(total: u64, s: &MemorySplit) -> Parts {
        let anon = s.anon.unwrap_or(0).min(s.working_set);
        let active_file = s.active_file.unwrap_or(0).min(s.working_set - anon);
        let inactive_file = s
            .inactive_file
            .unwrap_or_else(|| s.usage.saturating_sub(s.working_set));
        Parts {
            anon,
            active_file,
            other: s.working_set - anon - active_file,
            inactive_file,
            free: total.saturating_sub(s.working_set.saturating_add(inactive_file)),
        }
    }
}

/// One bar and its legend. The capacity, working set and available bytes are the signal's
/// own (the status report's observation); the cgroup's split only divides them.
fn block(
    label: &str,
    figures: &SignalArithmetic,
    split: &MemorySplit,
    width: u16,
    theme: Theme,
) -> Vec<Line<'static>> {
    let total = figures.capacity_bytes;
    let s = &MemorySplit {
        working_set: figures.working_set_bytes,
        ..split.clone()
    };
    let parts = Parts::of(total, s);
    let head = format!("{label} ");
    let tail = format!(" {}", human_bytes(i128::from(total)));
    let bar_width = usize::from(width).saturating_sub(head.chars().count() + tail.chars().count());
    let mut bar = vec![Span::styled(head, theme.title())];
    bar.extend(bar_spans(&parts, bar_width, theme));
    bar.push(Span::raw(tail));
    let b = |v: u64| human_bytes(i128::from(v));
    let counted = Line::from(vec![
        Span::raw(format!("working set {} = ", b(s.working_set))),
        Span::styled(format!("{ANON} anon {}", b(parts.anon)), theme.anon()),
        Span::raw(" + "),
        Span::styled(
            format!("{ACTIVE_FILE} active_file {}", b(parts.active_file)),
            theme.active_file(),
        ),
        Span::raw(format!(" + {OTHER} other {}", b(parts.other))),
    ]);
    // At 80 columns large figures do not leave room for the word: the help names the shade.
    let counted = if counted.width() > usize::from(width) {
        let mut spans = counted.spans;
        spans.pop();
        spans.push(Span::raw(format!(" + {OTHER} {}", b(parts.other))));
        Line::from(spans)
    } else {
        counted
    };
    let available = i128::from(figures.available_bytes);
    let not_counted = Line::from(vec![
        Span::raw("not counted: "),
        Span::styled(
            format!("{INACTIVE_FILE} inactive_file {}", b(parts.inactive_file)),
            theme.inactive_file(),
        ),
        Span::raw(format!(
            " + {FREE} free {} = available {}",
            b(parts.free),
            human_bytes(available)
        )),
    ]);
    vec![Line::from(bar), counted, not_counted]
}

/// The bar: each part gets columns in proportion, boundaries rounded from the running sum so
/// the parts always fill the bar exactly.
fn bar_spans(p: &Parts, width: usize, theme: Theme) -> Vec<Span<'static>> {
    let segments: [(u64, char, Style); 5] = [
        (p.anon, ANON, theme.anon()),
        (p.active_file, ACTIVE_FILE, theme.active_file()),
        (p.other, OTHER, Style::new()),
        (p.inactive_file, INACTIVE_FILE, theme.inactive_file()),
        (p.free, FREE, theme.dim()),
    ];
    let sum: u128 = segments.iter().map(|(v, _, _)| u128::from(*v)).sum();
    if sum == 0 || width == 0 {
        return Vec::new();
    }
    let mut spans = Vec::new();
    let (mut running, mut drawn) = (0u128, 0usize);
    for (value, ch, style) in segments {
        running += u128::from(value);
        let end = usize::try_from((running * width as u128 + sum / 2) / sum).unwrap_or(width);
        let n = end.saturating_sub(drawn);
        if n > 0 {
            spans.push(Span::styled(ch.to_string().repeat(n), style));
        }
        drawn = end.max(drawn);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_its_width_in_proportion() {
        let split = MemorySplit {
            usage: 600,
            working_set: 400,
            anon: Some(300),
            active_file: Some(100),
            inactive_file: Some(200),
            ..MemorySplit::default()
        };
        let parts = Parts::of(1000, &split);
        assert_eq!((parts.other, parts.free), (0, 400));
        let text: String = bar_spans(&parts, 10, Theme { color: false })
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(text, "███▓░░····");
    }
}
