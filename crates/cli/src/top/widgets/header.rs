//! The first line: which node, read from where, when, and how often.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::Theme;
use crate::top::keys::ViewState;
use crate::top::layout::Mode;
use crate::top::model::Model;

pub fn draw(area: Rect, buf: &mut Buffer, model: &Model, state: &ViewState, mode: Mode, theme: Theme) {
    let Some(snap) = &model.snapshot else { return };
    let report = &snap.report;
    let source = match (report.source.kind, report.source.path.as_deref()) {
        (kind, Some(path)) => format!("--{kind} {path}"),
        (_, None) => "live".to_string(),
    };
    let layout = match report.source.layout.as_deref() {
        Some(l) if l.contains("v2") => " · cgroup v2",
        Some(_) => " · cgroup v1",
        None => "",
    };
    let time = report
        .time
        .map(|t| format!(" · {} UTC", t.strftime("%H:%M:%S")))
        .unwrap_or_default();
    let config = match &report.source.config {
        Some(c) => format!(" · config {c}"),
        None => " · kubelet default thresholds".to_string(),
    };
    let mut spans = vec![
        Span::styled("headroom top", theme.title()),
        Span::raw(format!(" · {}", report.node_name)),
        Span::raw(format!(" · {source}{layout}{time}")),
    ];
    if mode == Mode::Interactive {
        if state.paused {
            spans.push(Span::styled(" · PAUSED", theme.near()));
        } else {
            spans.push(Span::raw(format!(" · every {}", model.interval)));
        }
    }
    spans.push(Span::styled(config, theme.dim()));
    Paragraph::new(Line::from(spans)).render(area, buf);
}
