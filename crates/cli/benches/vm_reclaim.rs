//! Reclaim before evict (issue #16) in the VM test bed (qemu TCG, Debian's 6.1 kernel): the
//! kubelet policy and reclaim-first side by side in one guest run, on a hot page cache (false
//! evictions, OOM kills, the reader's fate, bytes reclaimed and re-faulted) and on anonymous
//! growth (OOM kills, reaction from the threshold crossing to the hog's last progress). See
//! `tests/vm/reclaim.rs` for the setup. Emulated time is not real time: compare ratios.
//!
//! `HEADROOM_VM_BINARY=$PWD/target/release/headroom cargo bench -p headroom --bench vm_reclaim`
//! Env: HEADROOM_BENCH_RUNS (default 10 per scenario and policy), HEADROOM_BENCH_HOT_SECS
//! (seconds a hot run goes on after the reader's second pass, default 25),
//! HEADROOM_BENCH_HOT_TIMEOUT (bound on a hot run, default 300), HEADROOM_BENCH_RATE (the hog's MiB/s, default 100), HEADROOM_BENCH_OUT (a
//! folder: the guest's files and console), HEADROOM_BENCH_PLOT (an SVG path: working set over
//! time of the first hot run of each policy, as in docs/reclaim-first.svg), HEADROOM_BENCH_FROM
//! (a kept HEADROOM_BENCH_OUT folder: figures and plot again from it, no boot).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/vm/reclaim.rs"]
mod reclaim;

use headroom_lab::plot::time_chart;
use headroom_vmtest::boot_or_skip;
use plotters::prelude::*;

mod support;
use support::{env, pct};

/// The guest's files by name (from the boot, or from a kept folder).
type Files = Box<dyn Fn(&str) -> Option<String>>;

fn mib(b: u64) -> f64 {
    b as f64 / reclaim::MIB as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let setup = reclaim::Setup {
        runs: env("HEADROOM_BENCH_RUNS", 10) as usize,
        hot_secs: env("HEADROOM_BENCH_HOT_SECS", 25),
        hot_timeout: env("HEADROOM_BENCH_HOT_TIMEOUT", 300),
        anon_rate: env("HEADROOM_BENCH_RATE", 100),
    };
    // HEADROOM_BENCH_FROM=DIR: the figures and plot again from a kept HEADROOM_BENCH_OUT
    // folder, without a boot (e.g. to redraw the plot).
    let (text, header): (Files, String) = if let Some(dir) = std::env::var_os("HEADROOM_BENCH_FROM") {
        let dir = std::path::PathBuf::from(dir);
        let header = format!("re-read from {}", dir.display());
        (
            Box::new(move |name: &str| std::fs::read_to_string(dir.join(name)).ok()),
            header,
        )
    } else {
        let Some(out) = boot_or_skip("vm_reclaim bench", &reclaim::guest(&setup)) else {
            return;
        };
        if let Some(dir) = std::env::var_os("HEADROOM_BENCH_OUT") {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in &out.files {
                std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
            }
            std::fs::write(std::path::Path::new(&dir).join("console.log"), &out.console).unwrap();
        }
        if out.text("reclaim.csv").is_none() {
            eprintln!("{}", out.log_for_failure());
            panic!("the guest sent no reclaim.csv");
        }
        let header = format!(
            "guest boot {:.1} s, wall {:.0} s",
            out.boot_seconds.unwrap_or(f64::NAN),
            out.wall.as_secs_f64()
        );
        (Box::new(move |name: &str| out.text(name)), header)
    };
    let Some(csv) = text("reclaim.csv") else {
        panic!("no reclaim.csv");
    };
    let (hot, anon) = reclaim::parse(&csv);
    println!(
        "## Reclaim before evict on cgroup v2 (VM, TCG), {} runs per scenario and policy; {header}",
        setup.runs
    );
    println!();
    println!(
        "### Hot cache: a pod with {} MiB of anon re-reads a {} MiB file until {} s after its second pass ({} MiB limit, allocatableMemory.available<{}Mi)",
        mib(reclaim::POD_ANON),
        mib(reclaim::FILE),
        setup.hot_secs,
        mib(reclaim::LIMIT),
        mib(reclaim::THRESHOLD)
    );
    println!(
        "| policy | runs | evictions (false) | kernel OOM kills | reader alive at the end | peak working set MiB p50 | reclaims | reclaimed MiB/run p50 | re-faulted MiB/run p50 | holds/run p50 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for policy in ["kubelet", "reclaim-first"] {
        let mine: Vec<&reclaim::Hot> = hot.iter().filter(|r| r.policy == policy).collect();
        let sorted = |f: fn(&reclaim::Hot) -> f64| {
            let mut v: Vec<f64> = mine.iter().map(|r| f(r)).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        println!(
            "| {policy} | {} | {} | {} | {}/{} | {:.0} | {} | {:.0} | {:.0} | {:.0} |",
            mine.len(),
            mine.iter().map(|r| r.kills).sum::<u64>(),
            mine.iter().map(|r| r.oom_kills).sum::<u64>(),
            mine.iter().filter(|r| r.reader_alive).count(),
            mine.len(),
            pct(&sorted(|r| mib(r.max_working_set)), 0.5),
            mine.iter().map(|r| r.reclaims).sum::<u64>(),
            pct(&sorted(|r| mib(r.reclaimed)), 0.5),
            pct(&sorted(|r| mib(r.refaulted)), 0.5),
            pct(&sorted(|r| r.holds as f64), 0.5),
        );
    }
    println!();
    println!(
        "### Anonymous growth: a BestEffort hog allocates at {} MiB/s up to 1 GiB",
        setup.anon_rate
    );
    println!(
        "| policy | runs | kernel OOM kills | hog evicted | reclaims | reaction p50 ms | p90 ms | max ms | overshoot p50 MiB |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut p50 = std::collections::BTreeMap::new();
    for policy in ["kubelet", "reclaim-first"] {
        let mine: Vec<&reclaim::Anon> = anon.iter().filter(|r| r.policy == policy).collect();
        let mut ms: Vec<f64> = Vec::new();
        let mut over: Vec<f64> = Vec::new();
        for r in mine.iter().filter(|r| !r.oom) {
            if let Some((o, t)) = reclaim::reaction(r) {
                ms.push(t);
                over.push(o as f64 / reclaim::MIB as f64);
            }
        }
        ms.sort_by(f64::total_cmp);
        over.sort_by(f64::total_cmp);
        println!(
            "| {policy} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.1} |",
            mine.len(),
            mine.iter().filter(|r| r.oom).count(),
            mine.iter().filter(|r| r.kills > 0).count(),
            mine.iter().map(|r| r.reclaims).sum::<u64>(),
            pct(&ms, 0.5),
            pct(&ms, 0.9),
            ms.last().copied().unwrap_or(f64::NAN),
            pct(&over, 0.5),
        );
        p50.insert(policy, pct(&ms, 0.5));
    }
    // Per run pair (kubelet run i, reclaim-first run i: consecutive in the guest).
    let k: Vec<f64> = anon
        .iter()
        .filter(|r| r.policy == "kubelet")
        .filter_map(|r| reclaim::reaction(r).map(|x| x.1))
        .collect();
    let f: Vec<f64> = anon
        .iter()
        .filter(|r| r.policy == "reclaim-first")
        .filter_map(|r| reclaim::reaction(r).map(|x| x.1))
        .collect();
    let mut ratios: Vec<f64> = k
        .iter()
        .zip(&f)
        .filter(|(k, _)| **k > 0.0)
        .map(|(k, f)| f / k)
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "ratio reaction reclaim-first/kubelet: p50 of the medians {:.2}; per run pair p50 {:.2}, max {:.2} ({} pairs)",
        p50["reclaim-first"] / p50["kubelet"],
        pct(&ratios, 0.5),
        ratios.last().copied().unwrap_or(f64::NAN),
        ratios.len()
    );
    // The agent's own path (notification -> first signal), from its log: what a policy adds
    // between the decision and the act, without the usage re-reads' detection time.
    let paths = reclaim::agent_paths(&text("agent.log").unwrap_or_default());
    let anon_runs: Vec<u64> = anon.iter().map(|r| r.run).collect();
    println!();
    println!("| policy | runs with a notification and a kill | notification -> signal p50 ms | max ms |");
    println!("| --- | --- | --- | --- |");
    let mut path_p50 = std::collections::BTreeMap::new();
    for policy in ["kubelet", "reclaim-first"] {
        let mut ms: Vec<f64> = paths
            .iter()
            .filter(|p| p.policy == policy && anon_runs.contains(&p.run))
            .map(|p| p.notified_to_signal_ms)
            .collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "| {policy} | {} | {:.0} | {:.0} |",
            ms.len(),
            pct(&ms, 0.5),
            ms.last().copied().unwrap_or(f64::NAN)
        );
        path_p50.insert(policy, pct(&ms, 0.5));
    }
    println!(
        "ratio notification -> signal reclaim-first/kubelet (p50s): {:.2}",
        path_p50["reclaim-first"] / path_p50["kubelet"]
    );
    if let Some(path) = std::env::var_os("HEADROOM_BENCH_PLOT") {
        let series = reclaim::parse_series(&text("series.csv").unwrap_or_default());
        plot(std::path::Path::new(&path), &series).unwrap();
        println!("plot: {}", std::path::Path::new(&path).display());
    }
}

/// Working set and active file cache over time, first hot run of each policy.
fn plot(path: &std::path::Path, series: &[reclaim::Sample]) -> Result<(), Box<dyn std::error::Error>> {
    let t_max = series.iter().map(|s| s.2).fold(1.0, f64::max);
    let y_max = mib(reclaim::LIMIT) * 1.35;
    let root = SVGBackend::new(path, (1000, 600)).into_drawing_area();
    let caption = format!(
        "hot cache, pods cgroup ({} MiB limit): kubelet policy vs reclaim-first",
        mib(reclaim::LIMIT)
    );
    let mut chart = time_chart(
        &root,
        &caption,
        (t_max, "seconds since the reader started"),
        y_max,
    )?;
    // Dashed, so that a cache curve lying on a line stays visible.
    let mut flat = |y: f64, label: &str, style: ShapeStyle| -> Result<(), Box<dyn std::error::Error>> {
        chart
            .draw_series(DashedLineSeries::new([(0.0, y), (t_max, y)], 8, 5, style))?
            .label(label.to_string())
            .legend(move |(x, yy)| PathElement::new([(x, yy), (x + 20, yy)], style));
        Ok(())
    };
    flat(
        mib(reclaim::LIMIT),
        &format!("limit ({} MiB): the kernel OOM-kills here", mib(reclaim::LIMIT)),
        BLACK.stroke_width(2),
    )?;
    flat(
        mib(reclaim::LIMIT - reclaim::THRESHOLD),
        &format!(
            "eviction line (limit - {}Mi): the kubelet evicts above it",
            mib(reclaim::THRESHOLD)
        ),
        RGBColor(230, 140, 0).stroke_width(2),
    )?;
    let first_run = |policy: &str| series.iter().find(|s| s.0 == policy).map(|s| s.1);
    let curves: [(&str, RGBColor); 2] = [("kubelet", RED), ("reclaim-first", BLUE)];
    for (policy, color) in curves {
        let Some(run) = first_run(policy) else {
            continue;
        };
        let points: Vec<&reclaim::Sample> = series.iter().filter(|s| s.0 == policy && s.1 == run).collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|s| (s.2, mib(s.3))),
                color.stroke_width(2),
            ))?
            .label(format!("working set, {policy} policy"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        let light = color.mix(0.45);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|s| (s.2, mib(s.4))),
                light.stroke_width(1),
            ))?
            .label(format!("active_file, {policy} policy"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], light));
        // What happened, on the curve: the kubelet policy's run ends with the reader evicted;
        // reclaim-first's working set drops where memory.reclaim ran.
        let note = match policy {
            "kubelet" => points
                .last()
                .map(|s| (s.2, mib(s.3), "reader evicted (false: ~90 MiB under the limit)")),
            _ => lowest_after_peak(&points)
                .map(|s| (s.2, mib(s.3), "memory.reclaim; then the reader re-reads it: hold")),
        };
        if let Some((t, y, text)) = note {
            chart.draw_series(std::iter::once(Cross::new((t, y), 6, color.stroke_width(3))))?;
            chart.draw_series(std::iter::once(Text::new(
                text,
                (t + t_max * 0.01, y - 12.0),
                ("sans-serif", 15).into_font().color(&color),
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The lowest sample after the working set first peaked: where a reclaim took it down.
fn lowest_after_peak<'a>(points: &[&'a reclaim::Sample]) -> Option<&'a reclaim::Sample> {
    let peak = points
        .iter()
        .position(|s| s.3 > reclaim::LIMIT - reclaim::THRESHOLD)?;
    points[peak..]
        .iter()
        .copied()
        .min_by_key(|s| s.3)
        .filter(|s| s.3 < reclaim::LIMIT - reclaim::THRESHOLD)
}
