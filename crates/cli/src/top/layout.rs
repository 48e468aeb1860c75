//! Where each section goes. At 80x24 (an ssh window) everything fits with ten pod rows; a
//! taller terminal gives the chart and the pods more rows; a shorter one drops the chart, then
//! the pods cgroup's split, before the pods list.

use ratatui::layout::{Constraint, Layout, Rect};

/// Interactive (a footer with the keys) or one plain-text frame (`--once`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Interactive,
    Once,
}

/// How many rows the content asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Threshold lines and the conditions line.
    pub signals: u16,
    /// The pods cgroup's split can be drawn (it was found).
    pub pods_split: bool,
    /// Pods in the eviction order.
    pub pods: u16,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub signals: Rect,
    /// The node's split, and the pods cgroup's below it when there is room.
    pub split: Rect,
    pub pods_split_shown: bool,
    pub chart: Option<Rect>,
    /// Title, column header and pod rows.
    pub pods: Rect,
    pub footer: Option<Rect>,
}

/// Rows of one memory split: the bar, what counts, what does not.
pub const SPLIT_ROWS: u16 = 3;
/// The chart at 80x24: its title and five rows of plot (twenty braille dots high).
pub const CHART_ROWS: u16 = 6;
/// The least the pods list is given before the chart is dropped: title, header, 3 pods.
const PODS_MIN: u16 = 5;
/// The most rows the chart grows to on a tall terminal.
const CHART_MAX: u16 = 16;

/// The height `--once` prints without `--height`: every section, every pod.
pub fn natural_height(needs: Needs) -> u16 {
    let split = SPLIT_ROWS * if needs.pods_split { 2 } else { 1 };
    (1 + split + CHART_ROWS + 2)
        .saturating_add(needs.signals)
        .saturating_add(needs.pods.max(1))
}

pub fn areas(area: Rect, needs: Needs, mode: Mode) -> Areas {
    let footer = u16::from(mode == Mode::Interactive);
    let fixed = (1 + SPLIT_ROWS + footer).saturating_add(needs.signals);
    let rest = area.height.saturating_sub(fixed);
    let pods_wanted = needs.pods.max(1).saturating_add(2);
    let (chart, pods_split) = match mode {
        Mode::Once if area.height >= natural_height(needs) => (CHART_ROWS, needs.pods_split),
        _ if rest < PODS_MIN + CHART_ROWS => (0, false),
        _ => {
            // A taller terminal: past eight more pod rows, a third of what is left goes to the
            // chart, the rest to the pods (and to the pods cgroup's split when the list fits).
            let spare = rest - PODS_MIN - CHART_ROWS;
            let grown = (CHART_ROWS + spare.saturating_sub(8) / 3).min(CHART_MAX);
            // Few pods: the rows they leave go to the chart.
            let chart = grown.max(rest.saturating_sub(pods_wanted).min(CHART_MAX));
            let after = rest - chart;
            let pods_split = needs.pods_split && after >= SPLIT_ROWS + PODS_MIN.max(pods_wanted.min(12));
            (chart, pods_split)
        }
    };
    let split = SPLIT_ROWS * if pods_split { 2 } else { 1 };
    let [header, signals, split_area, chart_area, pods, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(needs.signals),
        Constraint::Length(split),
        Constraint::Length(chart),
        Constraint::Min(0),
        Constraint::Length(footer),
    ])
    .areas(area);
    Areas {
        header,
        signals,
        split: split_area,
        pods_split_shown: pods_split,
        chart: (chart > 0).then_some(chart_area),
        pods,
        footer: (footer > 0).then_some(footer_area),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDS: Needs = Needs {
        signals: 3,
        pods_split: true,
        pods: 30,
    };

    #[test]
    fn at_80x24_every_section_has_a_place_and_ten_pods_fit() {
        let a = areas(Rect::new(0, 0, 80, 24), NEEDS, Mode::Interactive);
        assert_eq!(a.chart.map(|c| c.height), Some(CHART_ROWS));
        assert_eq!(a.pods.height, 10, "title, header, 8 pods");
        assert!(!a.pods_split_shown);
        assert_eq!(a.footer.map(|f| f.y), Some(23));
    }

    #[test]
    fn a_short_terminal_drops_the_chart_before_the_pods() {
        let a = areas(Rect::new(0, 0, 80, 15), NEEDS, Mode::Interactive);
        assert_eq!(a.chart, None);
        assert!(a.pods.height >= PODS_MIN);
    }

    #[test]
    fn a_tall_terminal_grows_the_chart_and_shows_the_pods_cgroup() {
        let a = areas(Rect::new(0, 0, 200, 60), NEEDS, Mode::Interactive);
        assert!(a.chart.is_some_and(|c| c.height > CHART_ROWS));
        assert!(a.pods_split_shown);
        assert!(a.pods.height > 20);
    }

    #[test]
    fn once_at_its_natural_height_shows_everything() {
        let h = natural_height(NEEDS);
        let a = areas(Rect::new(0, 0, 80, h), NEEDS, Mode::Once);
        assert_eq!(a.pods.height, 32);
        assert!(a.pods_split_shown);
        assert_eq!(a.footer, None);
    }
}
