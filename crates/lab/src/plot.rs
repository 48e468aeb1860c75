//! SVG plot of a hot-cache run: usage, working set, active/inactive file and anon over time,
//! with the limit and the kubelet's eviction line (limit - threshold).

use crate::hot_cache::{HotCacheReport, Sample};
use anyhow::Context;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

pub fn hot_cache_svg(path: &Path, report: &HotCacheReport) -> anyhow::Result<()> {
    draw(path, report)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot draw the plot to {}", path.display()))
}

/// What [`time_chart`] returns: seconds (or ms) across, MiB up.
pub type TimeChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart over time in MiB on a white SVG page, the frame every memory-over-time plot of the
/// lab shares (also `benches/vm_reclaim.rs`): `caption` on top, `x` = (the last time, what the
/// time axis counts), MiB from 0 to `y_max` up the side.
pub fn time_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    x: (f64, &str),
    y_max: f64,
) -> Result<TimeChart<'a, 'b>, Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x.0, 0.0..y_max)?;
    chart.configure_mesh().x_desc(x.1).y_desc("MiB").draw()?;
    Ok(chart)
}

fn draw(path: &Path, r: &HotCacheReport) -> Result<(), Box<dyn std::error::Error>> {
    let mib = |b: u64| b as f64 / 1_048_576.0;
    let series = &r.series;
    let t_max = series.last().map(|s| s.t_ms).unwrap_or(1.0).max(1.0);
    // Room above the limit for the legend, so it hides no data.
    let y_max = mib(r.limit_bytes) * 1.5;
    let root = SVGBackend::new(path, (1000, 600)).into_drawing_area();
    let caption = format!(
        "hot cache: {:.0} MiB limit, {:.0} MiB cache, anon at {:.0} MiB/s",
        mib(r.limit_bytes),
        mib(r.cache_bytes),
        mib(r.rate_bytes_per_s)
    );
    let mut chart = time_chart(
        &root,
        &caption,
        (t_max, "time since the allocator started (ms)"),
        y_max,
    )?;

    // Shaded first, under the lines: when a kubelet would evict while the kernel still had
    // page cache to reclaim (the report's false-pressure window).
    let shade = RED.mix(0.12).filled();
    for (i, &(start, end)) in r.false_pressure_spans.iter().enumerate() {
        let band = chart.draw_series(std::iter::once(Rectangle::new(
            [(start, 0.0), (end, y_max)],
            shade,
        )))?;
        if i == 0 {
            band.label("false pressure: under the eviction line, cache still reclaimable")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], shade));
        }
    }

    type Pick = fn(&Sample) -> u64;
    let lines: [(&str, RGBColor, Pick); 5] = [
        ("usage", BLACK, |s| s.usage),
        ("working set (kubelet)", RED, |s| s.working_set),
        ("active_file", BLUE, |s| s.active_file),
        ("inactive_file", CYAN, |s| s.inactive_file),
        ("anon", GREEN, |s| s.anon),
    ];
    for (label, color, pick) in lines {
        chart
            .draw_series(LineSeries::new(
                series.iter().map(|s| (s.t_ms, mib(pick(s)))),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    let limit = mib(r.limit_bytes);
    let evict = mib(r.limit_bytes.saturating_sub(r.threshold_bytes));
    let limit_style = BLACK.mix(0.5).stroke_width(1);
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, limit), (t_max, limit)],
            6,
            4,
            limit_style,
        ))?
        .label("limit")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], limit_style));
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, evict), (t_max, evict)],
            MAGENTA.mix(0.6).stroke_width(1),
        ))?
        .label("kubelet eviction line (limit - threshold)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAGENTA));
    if let Some(t) = r.oom_kill_at_ms {
        chart
            .draw_series(LineSeries::new(vec![(t, 0.0), (t, y_max)], RED.mix(0.5)))?
            .label("OOM kill")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.mix(0.5)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
