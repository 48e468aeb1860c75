//! The last minutes of one memory signal against its thresholds: the signal the kubelet acts
//! on (else the one nearest its threshold), from the flight recording or our own samples.

use headroom_core::duration::format_duration;
use headroom_core::signal::Signal;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget};

use super::Theme;
use crate::status::report::StatusReport;
use crate::status::units::human_bytes;
use crate::top::model::{HistorySource, Model};

/// The signal to chart: the one the acting threshold is on; else the observed memory
/// threshold with the least headroom; else memory.available.
pub fn chart_signal(report: &StatusReport) -> Signal {
    if let Some(t) = report.acting_threshold.and_then(|i| report.thresholds.get(i))
        && t.signal.is_memory()
    {
        return t.signal;
    }
    report
        .thresholds
        .iter()
        .filter(|t| t.signal.is_memory())
        .filter_map(|t| Some((t.headroom?, t.signal)))
        .min_by_key(|(h, _)| *h)
        .map_or(Signal::MemoryAvailable, |(_, s)| s)
}

pub fn draw(area: Rect, buf: &mut Buffer, model: &Model, report: &StatusReport, theme: Theme) {
    let [title_area, plot_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let signal = chart_signal(report);
    let thresholds: Vec<(String, f64)> = report
        .thresholds
        .iter()
        .filter(|t| t.signal == signal)
        .filter_map(|t| {
            let kind = if t.hard { "hard" } else { "soft" };
            Some((format!("{kind} <{}", t.value), t.threshold? as f64))
        })
        .collect();
    let history = &model.history;
    let window_s = history.window_ns() as f64 / 1e9;
    let against = if thresholds.is_empty() {
        "(no threshold)".to_string()
    } else {
        format!(
            "vs {}",
            thresholds
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let window = short_duration(history.window_ns());
    let from = source_text(model);
    Paragraph::new(Line::styled(
        format!("{signal} {against} · last {window} · {from}"),
        theme.title(),
    ))
    .render(title_area, buf);

    // x: seconds before the reference time (the newest sample; for a recording, our clock,
    // so a recorder that stopped shows as a line that ends early).
    let newest = history.newest().map(|p| p.time.as_nanosecond());
    let reference = match (&model.history_source, model.taken_at) {
        (HistorySource::Recording { .. }, Some(now)) => {
            Some(now.as_nanosecond().max(newest.unwrap_or(i128::MIN)))
        }
        _ => newest,
    };
    let Some(reference) = reference else {
        Paragraph::new(Line::styled("  no samples yet", theme.dim())).render(plot_area, buf);
        return;
    };
    let x = |t: i128| (t - reference) as f64 / 1e9;
    let values: Vec<(f64, f64)> = history
        .points()
        .filter_map(|p| Some((x(p.time.as_nanosecond()), p.value(signal)? as f64)))
        .collect();
    let evictions: Vec<(f64, f64)> = history
        .points()
        .filter(|p| p.evicted)
        .filter_map(|p| Some((x(p.time.as_nanosecond()), p.value(signal)? as f64)))
        .collect();
    let lines: Vec<[(f64, f64); 2]> = thresholds
        .iter()
        .map(|(_, t)| [(-window_s, *t), (0.0, *t)])
        .collect();
    let top = values
        .iter()
        .map(|(_, v)| *v)
        .chain(thresholds.iter().map(|(_, t)| *t))
        .fold(1.0, f64::max)
        * 1.1;
    let bottom = values.iter().map(|(_, v)| *v).fold(0.0, f64::min);
    let mut datasets: Vec<Dataset> = lines
        .iter()
        .map(|l| {
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.met())
                .data(l)
        })
        .collect();
    // One point draws no line: show it as a dot of its own.
    let graph = if values.len() > 1 {
        GraphType::Line
    } else {
        GraphType::Scatter
    };
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(graph)
            .style(theme.ok())
            .data(&values),
    );
    datasets.push(
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(theme.met())
            .data(&evictions),
    );
    let half = short_duration(history.window_ns() / 2);
    Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([-window_s, 0.0])
                .labels([format!("-{window}"), format!("-{half}"), "now".to_string()])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([bottom, top])
                .labels([human_bytes(bottom as i128), human_bytes(top as i128)])
                .style(theme.dim()),
        )
        .legend_position(None)
        .render(plot_area, buf);
}

/// `own samples: 12`, `recording: 60 passes, 1 evicting` (the directory is the operator's
/// own flag: the 80 columns go to the numbers).
fn source_text(model: &Model) -> String {
    let n = model.history.len();
    match &model.history_source {
        HistorySource::OwnSamples => format!("own samples: {n}"),
        HistorySource::Recording { node, .. } => {
            let mut text = format!("recording: {n} passes");
            let evictions = model.history.evictions();
            if evictions > 0 {
                text.push_str(&format!(", {evictions} evicting"));
            }
            let this_node = model.snapshot.as_ref().map(|s| s.report.node_name.as_str());
            if let (Some(rec), Some(here)) = (node.as_deref(), this_node)
                && rec != here
            {
                text.push_str(&format!(" of node {rec}"));
            }
            text
        }
    }
}

/// Go's duration text without its zero tails: `10m`, `1h30m`, `45s`.
fn short_duration(ns: i128) -> String {
    let text = format_duration(i64::try_from(ns).unwrap_or(i64::MAX));
    let text = text.strip_suffix("m0s").map_or(text.clone(), |t| format!("{t}m"));
    text.strip_suffix("h0m").map_or(text.clone(), |t| format!("{t}h"))
}

#[cfg(test)]
mod tests {
    use super::short_duration;

    #[test]
    fn durations_lose_their_zero_tails() {
        let s = 1_000_000_000i128;
        assert_eq!(short_duration(600 * s), "10m");
        assert_eq!(short_duration(300 * s), "5m");
        assert_eq!(short_duration(3600 * s), "1h");
        assert_eq!(short_duration(5400 * s), "1h30m");
        assert_eq!(short_duration(45 * s), "45s");
        assert_eq!(short_duration(90 * s), "1m30s");
    }
}
