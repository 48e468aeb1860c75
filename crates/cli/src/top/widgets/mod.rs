//! The sections of a frame, each drawn into a ratatui buffer from the model. The same drawing
//! serves the terminal, the TestBackend tests and `--once` (whose text drops the styles).

pub mod chart;
pub mod footer;
pub mod header;
pub mod help;
pub mod pods;
pub mod signals;
pub mod split;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use super::keys::ViewState;
use super::layout::{self, Mode, Needs};
use super::model::Model;

/// Styles: colour on a terminal unless NO_COLOR; bold and dim alone otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn colored(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    /// A threshold met, the pod evicted now.
    pub fn met(&self) -> Style {
        self.colored(Color::Red).add_modifier(Modifier::BOLD)
    }
    /// Within reach of a threshold.
    pub fn near(&self) -> Style {
        self.colored(Color::Yellow)
    }
    pub fn ok(&self) -> Style {
        self.colored(Color::Green)
    }
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn anon(&self) -> Style {
        self.colored(Color::Magenta)
    }
    pub fn active_file(&self) -> Style {
        self.colored(Color::Yellow)
    }
    pub fn inactive_file(&self) -> Style {
        self.colored(Color::Cyan)
    }
}

/// Draw one frame; returns how many pod rows it had room for (a page, for scrolling).
pub fn draw(
    area: Rect,
    buf: &mut Buffer,
    model: &Model,
    state: &ViewState,
    mode: Mode,
    theme: Theme,
) -> usize {
    let Some(snap) = &model.snapshot else {
        // Before the first sample, or while every sample fails: say what is happening.
        let mut lines = vec![Line::styled(
            "headroom top: reading this node's memory...",
            theme.title(),
        )];
        if let Some(e) = &model.sample_error {
            lines.push(Line::styled(format!("cannot read it: {e}"), theme.met()));
            lines.push(Line::from("q quits; it tries again every refresh."));
        }
        Paragraph::new(lines).render(area, buf);
        return 0;
    };
    let signal_lines = signals::lines(&snap.report, area.width, theme);
    let needs = Needs {
        signals: u16::try_from(signal_lines.len()).unwrap_or(u16::MAX),
        pods_split: snap.pods_cgroup.is_some(),
        pods: u16::try_from(snap.report.eviction_order.pods.len()).unwrap_or(u16::MAX),
    };
    let areas = layout::areas(area, needs, mode);
    header::draw(areas.header, buf, model, state, mode, theme);
    Paragraph::new(signal_lines).render(areas.signals, buf);
    split::draw(areas.split, buf, snap, areas.pods_split_shown, theme);
    if let Some(chart) = areas.chart {
        chart::draw(chart, buf, model, &snap.report, theme);
    }
    let page = pods::draw(areas.pods, buf, &snap.report, state.scroll, theme);
    if let Some(footer) = areas.footer {
        footer::draw(footer, buf, model, state, page, theme);
    }
    if state.help {
        help::draw(area, buf, theme);
    }
    page
}
