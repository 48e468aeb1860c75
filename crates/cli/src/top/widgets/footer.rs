//! The last line: the keys, where the pod list is, and what went wrong at the last refresh.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::Theme;
use crate::top::keys::ViewState;
use crate::top::model::Model;

pub fn draw(area: Rect, buf: &mut Buffer, model: &Model, state: &ViewState, page: usize, theme: Theme) {
    let mut spans = Vec::new();
    // A failure matters more than the key reminder: it takes the line.
    if let Some(e) = &model.sample_error {
        let shown = model
            .taken_at
            .map(|t| format!(" (showing {} UTC)", t.strftime("%H:%M:%S")))
            .unwrap_or_default();
        spans.push(Span::styled(format!("refresh failed{shown}: {e}"), theme.met()));
    } else if let Some(e) = &model.recording_error {
        spans.push(Span::styled(format!("recording: {e}"), theme.met()));
    } else {
        if state.paused {
            spans.push(Span::styled("PAUSED (p resumes)  ", theme.near()));
        }
        spans.push(Span::styled(
            "? help  q quit  ↑↓ jk scroll  p pause  r refresh",
            theme.dim(),
        ));
        let pods = model
            .snapshot
            .as_ref()
            .map_or(0, |s| s.report.eviction_order.pods.len());
        let first = state.scroll.min(pods.saturating_sub(page.max(1)));
        let below = pods.saturating_sub(first + page);
        if below > 0 {
            spans.push(Span::raw(format!("  ·  {below} more below")));
        }
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}
