//! `headroom incidents --plot FILE.svg` (and `replay --plot`): the recording at a glance. Top: each memory signal's
//! available bytes against its threshold, MemoryPressure shaded, evictions (red) and OOM kills
//! (black) marked. Bottom: the node's working set split (anon, active file) with the inactive
//! file on top, the part the kubelet does not count.

use std::path::Path;

use anyhow::Context;
use headroom_core::Timestamp;
use headroom_core::config::EvictionConfig;
use headroom_core::quantity::{Format, Quantity};
use headroom_core::threshold::threshold_quantity;
use headroom_linux::memcg::MemoryBreakdown;
use headroom_record::incidents::Incident;
use headroom_record::model::{DecisionRecord, Pass};
use plotters::prelude::*;

/// What the plot keeps of one pass (a day of passes is a few hundred KiB of these).
pub struct Point {
    t: f64,
    /// For each memory signal with a threshold.
    signals: Vec<SignalPoint>,
    anon: f64,
    active_file: f64,
    inactive_file: f64,
    pressure: bool,
}

/// (signal, MiB available, MiB threshold).
type SignalPoint = (String, f64, Option<f64>);

const MIB: f64 = 1_048_576.0;

/// Seconds since `origin`.
fn secs(t: Timestamp, origin: Timestamp) -> f64 {
    (t.as_nanosecond() - origin.as_nanosecond()) as f64 / 1e9
}

impl Point {
    /// The point of `pass` with the decision `d` (its own, or a replayed one).
    pub fn of(pass: &Pass, d: &DecisionRecord, config: &EvictionConfig, origin: Timestamp) -> Point {
        // Only the signals the configuration has a threshold for (with none, all): the node's
        // gigabytes would flatten a pods cgroup's megabytes.
        let with_threshold = |s: &str| config.thresholds.iter().any(|t| t.signal.as_str() == s);
        let any = d.observations.iter().any(|o| with_threshold(&o.signal));
        let signals = d
            .observations
            .iter()
            .filter(|o| !any || with_threshold(&o.signal))
            .map(|o| {
                let threshold = config
                    .thresholds
                    .iter()
                    .find(|t| t.signal.as_str() == o.signal)
                    .map(|t| {
                        threshold_quantity(&t.value, &Quantity::new(o.capacity, Format::BinarySI)).value()
                    });
                (
                    o.signal.clone(),
                    o.available as f64 / MIB,
                    threshold.map(|v| v as f64 / MIB),
                )
            })
            .collect();
        let b = pass
            .readings
            .node
            .as_ref()
            .map(MemoryBreakdown::from_sample)
            .unwrap_or_default();
        Point {
            t: secs(pass.time, origin),
            signals,
            anon: b.rss as f64 / MIB,
            active_file: b.active_file as f64 / MIB,
            inactive_file: b.inactive_file.unwrap_or(0) as f64 / MIB,
            pressure: d.conditions.iter().any(|c| c == "MemoryPressure"),
        }
    }
}

pub fn draw(path: &Path, points: &[Point], incidents: &[Incident], origin: Timestamp) -> anyhow::Result<()> {
    render(path, points, incidents, origin)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot draw the plot to {}", path.display()))
}

fn render(
    path: &Path,
    points: &[Point],
    incidents: &[Incident],
    origin: Timestamp,
) -> Result<(), Box<dyn std::error::Error>> {
    let t_max = points.last().map(|p| p.t).unwrap_or(1.0).max(1.0);
    let root = SVGBackend::new(path, (1100, 750)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(420);
    let avail_max = points
        .iter()
        .flat_map(|p| p.signals.iter().map(|s| s.1.max(s.2.unwrap_or(0.0))))
        .fold(1.0, f64::max)
        * 1.3;
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!("memory available vs thresholds, from {origin}"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_max, 0.0..avail_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first pass")
        .y_desc("MiB available")
        .draw()?;

    // MemoryPressure first, under the lines.
    let shade = RGBColor(255, 165, 0).mix(0.18).filled();
    let mut labelled = false;
    for w in points.windows(2).filter(|w| w[0].pressure) {
        let band = chart.draw_series(std::iter::once(Rectangle::new(
            [(w[0].t, 0.0), (w[1].t, avail_max)],
            shade,
        )))?;
        if !labelled {
            labelled = true;
            band.label("MemoryPressure")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], shade));
        }
    }
    let names: Vec<String> = points
        .iter()
        .flat_map(|p| p.signals.iter().map(|s| s.0.clone()))
        .fold(Vec::new(), |mut v, s| {
            if !v.contains(&s) {
                v.push(s);
            }
            v
        });
    let colors = [BLUE, GREEN, MAGENTA, CYAN];
    for (i, name) in names.iter().enumerate() {
        let color = colors[i % colors.len()];
        let series = |pick: fn(&SignalPoint) -> Option<f64>| {
            points
                .iter()
                .filter_map(|p| {
                    p.signals
                        .iter()
                        .find(|s| s.0 == *name)
                        .and_then(pick)
                        .map(|v| (p.t, v))
                })
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(LineSeries::new(series(|s| Some(s.1)), color.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        let threshold = series(|s| s.2);
        if !threshold.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(threshold, 8, 5, color.stroke_width(2)))?
                .label(format!("{name} threshold (dashed)"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], color.stroke_width(2)));
        }
    }
    let mut marked = [false, false];
    // A pod chosen at several passes in a row is named once (the lines still mark each).
    let mut last_named: Option<&str> = None;
    for i in incidents.iter().filter(|i| i.kind != "memoryPressure") {
        let t = secs(i.time, origin);
        let (color, which, label) = if i.kind == "eviction" {
            (RED, 0, "eviction")
        } else {
            (BLACK, 1, "kernel OOM kill")
        };
        let line = chart.draw_series(std::iter::once(PathElement::new(
            vec![(t, 0.0), (t, avail_max)],
            color.stroke_width(2),
        )))?;
        if !marked[which] {
            marked[which] = true;
            line.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], color.stroke_width(2))
            });
        }
        if let Some(pod) = &i.pod
            && last_named != Some(pod.as_str())
        {
            last_named = Some(pod.as_str());
            chart.draw_series(std::iter::once(Text::new(
                pod.clone(),
                (t, avail_max * 0.55),
                ("sans-serif", 13).into_font().color(&color),
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;

    // The node's split: stacked anon, active file, inactive file.
    let split_max = points
        .iter()
        .map(|p| p.anon + p.active_file + p.inactive_file)
        .fold(1.0, f64::max)
        * 1.25;
    let mut split = ChartBuilder::on(&bottom)
        .caption(
            "node memory: working set = anon + active file (inactive file on top)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_max, 0.0..split_max)?;
    split
        .configure_mesh()
        .x_desc("seconds since the first pass")
        .y_desc("MiB")
        .draw()?;
    type Level = fn(&Point) -> f64;
    let layers: [(&str, RGBColor, Level); 3] = [
        ("inactive file", RGBColor(190, 190, 190), |p| {
            p.anon + p.active_file + p.inactive_file
        }),
        ("active file", RGBColor(100, 149, 237), |p| p.anon + p.active_file),
        ("anon", RGBColor(205, 92, 92), |p| p.anon),
    ];
    for (name, color, level) in layers {
        split
            .draw_series(AreaSeries::new(
                points.iter().map(|p| (p.t, level(p))),
                0.0,
                color.mix(0.7),
            ))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.mix(0.7).filled()));
    }
    split
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}
