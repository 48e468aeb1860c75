//! The `?` overlay: the keys, and how to read each section.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::Theme;
use super::split::{ACTIVE_FILE, ANON, FREE, INACTIVE_FILE, OTHER};

pub fn text() -> Vec<Line<'static>> {
    vec![
        Line::from("?  h  F1        this help (Esc closes it)"),
        Line::from("q  Esc  Ctrl-C  quit"),
        Line::from("↑ ↓  j k        scroll the pods; PgUp PgDn a page"),
        Line::from("Home g  End G   first / last pod"),
        Line::from("p  space        pause refreshing; r  refresh now"),
        Line::from(""),
        Line::from(format!(
            "Bars: {ANON} anon  {ACTIVE_FILE} active_file  {OTHER} other (shmem, kernel):"
        )),
        Line::from("  the working set, counted by the kubelet as used."),
        Line::from(format!(
            "  {INACTIVE_FILE} inactive_file  {FREE} free: not counted; they are memory.available."
        )),
        Line::from("Pods: > evicted by this sync, * critical (never evicted)."),
        Line::from("  QoS: Guar(anteed) Burst(able) BE (BestEffort); placed by:"),
        Line::from("  the rule that put the pod ahead of the next one."),
        Line::from("Chart: braille = the signal, dots = its thresholds,"),
        Line::from("  blocks = a recorded pass that evicted."),
    ]
}

pub fn draw(area: Rect, buf: &mut Buffer, theme: Theme) {
    let lines = text();
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(76)])
        .flex(Flex::Center)
        .areas(row);
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Line::styled(" headroom top: keys and legend ", theme.title())),
        )
        .render(popup, buf);
}
