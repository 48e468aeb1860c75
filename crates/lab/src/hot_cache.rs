//! `headroom experiment hot-cache`: active page cache under a memory limit, then anonymous
//! memory allocated at a steady rate. The kernel reclaims the cache (active included) before
//! it OOM-kills; the kubelet's working set counts active cache as used, so a kubelet-style
//! `memory.available = limit - working set` falls under the threshold while the kernel still
//! has cache to give back. This experiment measures that false-pressure window.

use crate::cleanup::{self, Cancel, ChildGuard, TempFile};
use crate::size::mib;
use crate::snapshot::{Sampler, Snapshot};
use crate::worker::WorkerCommand;
use anyhow::{Context, bail};
use headroom_linux::control::{CgroupHost, CgroupVersion};
use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct HotCacheOptions {
    /// Memory limit of the experiment cgroup, bytes.
    pub limit: u64,
    /// Fraction of the limit filled with (then activated) page cache.
    pub cache_fraction: f64,
    /// Anonymous allocation rate, bytes per second.
    pub rate: u64,
    /// Kubelet hard threshold on memory.available (`100Mi` by default).
    pub threshold: u64,
    /// Sampling period (10 ms).
    pub interval: Duration,
    /// Directory for the cache file; `None` = /var/tmp or the cwd (disk-backed).
    pub dir: Option<PathBuf>,
    pub worker: WorkerCommand,
    pub cancel: Cancel,
}

/// One 10 ms sample, times in ms since the allocator started.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub t_ms: f64,
    pub usage: u64,
    pub working_set: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    pub anon: u64,
    pub oom_kill: u64,
    /// limit - working set (saturating): what a kubelet would compare to its threshold.
    pub kubelet_available: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HotCacheReport {
    pub cgroup: PathBuf,
    pub cgroup_version: CgroupVersion,
    pub limit_bytes: u64,
    pub cache_bytes: u64,
    pub rate_bytes_per_s: u64,
    pub threshold_bytes: u64,
    pub interval_ms: f64,
    /// The cgroup after the cache was written and read twice.
    pub after_fill: Snapshot,
    pub samples: usize,
    /// First sample with kubelet_available < threshold.
    pub pressure_start_ms: Option<f64>,
    /// When the kernel OOM-killed the allocator (first sample with a higher oom_kill count,
    /// or the allocator's death by SIGKILL, whichever was seen first).
    pub oom_kill_at_ms: Option<f64>,
    /// How the allocator ended (`killed by signal 9`, `exit status 0`, `still running`).
    pub allocator_end: String,
    /// Time under the threshold, no OOM yet, and file cache still above what was left at the
    /// OOM (so the kernel still had cache to reclaim).
    pub false_pressure_ms: f64,
    /// The same time as `[start, end)` spans in ms, contiguous samples merged (for the plot).
    pub false_pressure_spans: Vec<(f64, f64)>,
    /// Time under the threshold before the OOM kill, cache or not.
    pub pressure_before_oom_ms: f64,
    /// File LRU pages (active + inactive) when the pressure started / at the last sample
    /// before the OOM kill.
    pub file_at_pressure_start: Option<u64>,
    pub file_before_oom: u64,
    /// File pages the kernel reclaimed between the fill and the OOM kill.
    pub cache_reclaimed: u64,
    pub anon_before_oom: u64,
    pub conclusions: Vec<String>,
    #[serde(skip)]
    pub series: Vec<Sample>,
}

pub fn run(opts: HotCacheOptions) -> anyhow::Result<HotCacheReport> {
    if opts.limit < (32 << 20) {
        bail!(
            "--limit {:.0} MiB is too small: use at least 32M",
            mib(opts.limit)
        );
    }
    cleanup::require_root()?;
    let host = CgroupHost::detect()?;
    let dir = cleanup::choose_dir(opts.dir.as_deref())?;
    if dir.memory_backed {
        bail!(
            "{} is tmpfs/ramfs: its pages cannot be reclaimed like page cache; pass a \
             disk-backed --dir",
            dir.dir.display()
        );
    }
    let cache_bytes = ((opts.limit as f64 * opts.cache_fraction) as u64) & !0xfff;
    cleanup::require_space(&dir, cache_bytes)?;

    let cgroup = host.create_unique("headroom-hot-cache")?;
    cgroup.set_memory_limit(Some(opts.limit))?;
    let file = TempFile::new(dir.dir.join(format!(
        "headroom-hot-cache-{}-{}.dat",
        std::process::id(),
        crate::heartbeat::wall_ns()
    )));
    let file_arg = file.path().as_os_str().to_os_string();

    // Fill: write, then read twice so the pages are promoted to the active list.
    let jobs: [Vec<OsString>; 3] = [
        vec![
            "write-file".into(),
            file_arg.clone(),
            cache_bytes.to_string().into(),
        ],
        vec!["read-file".into(), file_arg.clone()],
        vec!["read-file".into(), file_arg],
    ];
    for job in jobs {
        let args = opts.worker.args(job);
        run_worker(&cgroup, &opts.worker.program, &args, &opts.cancel)?;
    }
    let mut sampler = Sampler::new(&cgroup);
    let after_fill = sampler.full()?;

    // Allocate twice the limit: without swap it can only end in reclaim + OOM kill.
    let alloc_mib = (opts.limit * 2) >> 20;
    let rate_mib = opts.rate as f64 / 1_048_576.0;
    let args = opts.worker.args([
        OsString::from("alloc"),
        "--mib".into(),
        alloc_mib.to_string().into(),
        "--rate".into(),
        format!("{rate_mib}").into(),
    ]);
    let timeout =
        Duration::from_secs_f64(2.0 * opts.limit as f64 / opts.rate as f64) + Duration::from_secs(10);
    let refs: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let mut alloc = ChildGuard(cgroup.spawn(opts.worker.program.as_os_str(), &refs)?);
    let started = Instant::now();
    let mut series = Vec::new();
    let mut exit: Option<(f64, std::process::ExitStatus)> = None;
    let mut tick = 0u32;
    loop {
        cleanup::check_cancel(&opts.cancel)?;
        let snap = sampler.cgroup()?;
        let t_ms = started.elapsed().as_secs_f64() * 1000.0;
        series.push(sample(t_ms, &snap, opts.limit));
        if exit.is_some() {
            break; // one sample after the allocator ended
        }
        if let Some(status) = alloc.0.try_wait().context("waiting for the allocator")? {
            exit = Some((started.elapsed().as_secs_f64() * 1000.0, status));
            continue;
        }
        if started.elapsed() > timeout {
            break;
        }
        tick += 1;
        let next = opts.interval * tick;
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let allocator_end = match exit {
        Some((_, s)) => match s.signal() {
            Some(sig) => format!("killed by signal {sig}"),
            None => format!("exited with {s}"),
        },
        None => format!(
            "still running after {:.1} s: stopped by the experiment",
            timeout.as_secs_f64()
        ),
    };
    drop(alloc);

    let mut report = analyse(
        &opts,
        cache_bytes,
        after_fill,
        series,
        exit.map(|e| (e.0, e.1.signal())),
    );
    report.cgroup = cgroup.path().to_path_buf();
    report.cgroup_version = cgroup.version();
    report.allocator_end = allocator_end;
    report.conclusions = conclusions(&report);
    drop(file);
    cgroup.teardown()?;
    Ok(report)
}

fn run_worker(
    cgroup: &headroom_linux::control::Cgroup,
    program: &Path,
    args: &[OsString],
    cancel: &Cancel,
) -> anyhow::Result<()> {
    let refs: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let mut child = ChildGuard(cgroup.spawn(program.as_os_str(), &refs)?);
    let status = cleanup::wait_child(&mut child.0, cancel, Duration::from_millis(10), || {})?;
    if !status.success() {
        bail!(
            "worker {} failed ({status}); its error is printed above",
            args.first().map(|a| a.to_string_lossy()).unwrap_or_default()
        );
    }
    Ok(())
}

fn sample(t_ms: f64, s: &Snapshot, limit: u64) -> Sample {
    Sample {
        t_ms,
        usage: s.usage,
        working_set: s.working_set,
        active_file: s.active_file,
        inactive_file: s.inactive_file,
        anon: s.anon,
        oom_kill: s.oom_kill,
        kubelet_available: limit.saturating_sub(s.working_set),
    }
}

/// Derive the windows from the samples (pure: unit-tested on synthetic series).
/// `exit` = (ms, signal) when the allocator ended.
pub fn analyse(
    opts: &HotCacheOptions,
    cache_bytes: u64,
    after_fill: Snapshot,
    series: Vec<Sample>,
    exit: Option<(f64, Option<i32>)>,
) -> HotCacheReport {
    let base_oom = after_fill.oom_kill;
    let oom_sample = series.iter().position(|s| s.oom_kill > base_oom);
    let killed_at = exit.filter(|(_, sig)| *sig == Some(9)).map(|(t, _)| t);
    let oom_kill_at_ms = match (oom_sample.map(|i| series[i].t_ms), killed_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    // Samples strictly before the OOM kill.
    let pre: Vec<&Sample> = series
        .iter()
        .filter(|s| oom_kill_at_ms.is_none_or(|t| s.t_ms < t) && s.oom_kill <= base_oom)
        .collect();
    let last_pre = pre.last().copied();
    let file_before_oom = last_pre.map(|s| s.active_file + s.inactive_file).unwrap_or(0);
    // "Cache still reclaimable": more file pages than were left when the OOM came (1 MiB slack).
    let floor = file_before_oom + (1 << 20);
    let mut false_ms = 0.0;
    let mut false_spans: Vec<(f64, f64)> = Vec::new();
    let mut pressure_ms = 0.0;
    let mut pressure_start = None;
    for (i, s) in pre.iter().enumerate() {
        if s.kubelet_available >= opts.threshold {
            continue;
        }
        pressure_start.get_or_insert(*s);
        let end = pre
            .get(i + 1)
            .map(|n| n.t_ms)
            .or(oom_kill_at_ms)
            .unwrap_or(s.t_ms);
        let dt = (end - s.t_ms).max(0.0);
        pressure_ms += dt;
        if s.active_file + s.inactive_file > floor {
            false_ms += dt;
            match false_spans.last_mut() {
                Some(last) if last.1 == s.t_ms => last.1 = end,
                _ => false_spans.push((s.t_ms, end)),
            }
        }
    }
    HotCacheReport {
        cgroup: PathBuf::new(),
        cgroup_version: CgroupVersion::V1,
        limit_bytes: opts.limit,
        cache_bytes,
        rate_bytes_per_s: opts.rate,
        threshold_bytes: opts.threshold,
        interval_ms: opts.interval.as_secs_f64() * 1000.0,
        after_fill,
        samples: series.len(),
        pressure_start_ms: pressure_start.map(|s| s.t_ms),
        oom_kill_at_ms,
        allocator_end: String::new(),
        false_pressure_ms: false_ms,
        false_pressure_spans: false_spans,
        pressure_before_oom_ms: pressure_ms,
        file_at_pressure_start: pressure_start.map(|s| s.active_file + s.inactive_file),
        file_before_oom,
        cache_reclaimed: after_fill.file_lru().saturating_sub(file_before_oom),
        anon_before_oom: last_pre.map(|s| s.anon).unwrap_or(0),
        conclusions: Vec::new(),
        series,
    }
}

fn conclusions(r: &HotCacheReport) -> Vec<String> {
    let mut out = vec![format!(
        "after filling, {:.1} MiB of the {:.0} MiB limit was page cache ({:.1} MiB active): \
         working set {:.1} MiB, kubelet-style memory.available {:.1} MiB.",
        mib(r.after_fill.file_lru()),
        mib(r.limit_bytes),
        mib(r.after_fill.active_file),
        mib(r.after_fill.working_set),
        mib(r.limit_bytes.saturating_sub(r.after_fill.working_set))
    )];
    match r.pressure_start_ms {
        Some(t) => out.push(format!(
            "memory.available fell under {:.0} MiB at {:.0} ms with {:.1} MiB of page cache \
             still in the cgroup: a kubelet would have started evicting here.",
            mib(r.threshold_bytes),
            t,
            mib(r.file_at_pressure_start.unwrap_or(0))
        )),
        None => out.push(format!(
            "memory.available never fell under {:.0} MiB before the end.",
            mib(r.threshold_bytes)
        )),
    }
    match r.oom_kill_at_ms {
        Some(t) => out.push(format!(
            "the kernel reclaimed {:.1} MiB of page cache first and OOM-killed the allocator at \
             {:.0} ms ({:.1} MiB anon, {:.1} MiB cache left).",
            mib(r.cache_reclaimed),
            t,
            mib(r.anon_before_oom),
            mib(r.file_before_oom)
        )),
        None => out.push(format!("no OOM kill was seen (allocator {}).", r.allocator_end)),
    }
    out.push(format!(
        "false-pressure window: {:.0} ms under the threshold while the kernel still had cache \
         to reclaim ({:.0} ms under the threshold before the OOM kill in total).",
        r.false_pressure_ms, r.pressure_before_oom_ms
    ));
    out
}

/// Raw samples as CSV (bytes, ms).
pub fn write_csv(path: &Path, series: &[Sample]) -> anyhow::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot create samples file {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let mut body = || -> std::io::Result<()> {
        writeln!(
            w,
            "t_ms,usage_bytes,working_set_bytes,active_file_bytes,inactive_file_bytes,anon_bytes,kubelet_available_bytes,oom_kill"
        )?;
        for s in series {
            writeln!(
                w,
                "{:.3},{},{},{},{},{},{},{}",
                s.t_ms,
                s.usage,
                s.working_set,
                s.active_file,
                s.inactive_file,
                s.anon,
                s.kubelet_available,
                s.oom_kill
            )?;
        }
        w.flush()
    };
    body().with_context(|| format!("writing samples to {}", path.display()))
}

pub fn render_text(r: &HotCacheReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let header = format!(
        "hot-cache experiment: {} memory cgroup {} with a {:.0} MiB limit, {:.0} MiB of cache, \
         anonymous memory at {:.0} MiB/s, sampled every {:.0} ms ({} samples)",
        r.cgroup_version,
        r.cgroup.display(),
        mib(r.limit_bytes),
        mib(r.cache_bytes),
        mib(r.rate_bytes_per_s),
        r.interval_ms,
        r.samples
    );
    headroom_core::text::wrap_into(&mut s, crate::TEXT_WIDTH, "", "  ", &header);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}  (MiB)",
        "t ms", "usage", "work.set", "active", "inactive", "anon", "available"
    );
    // About a dozen evenly spaced rows, always including the last one.
    let step = (r.series.len() / 12).max(1);
    for (i, p) in r.series.iter().enumerate() {
        if i % step != 0 && i + 1 != r.series.len() {
            continue;
        }
        let _ = writeln!(
            s,
            "{:>8.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.1}{}",
            p.t_ms,
            mib(p.usage),
            mib(p.working_set),
            mib(p.active_file),
            mib(p.inactive_file),
            mib(p.anon),
            mib(p.kubelet_available),
            if p.oom_kill > r.after_fill.oom_kill {
                "  OOM kill"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s);
    for c in &r.conclusions {
        headroom_core::text::wrap_into(&mut s, crate::TEXT_WIDTH, "* ", "  ", c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;

    fn opts() -> HotCacheOptions {
        HotCacheOptions {
            limit: 256 * MI,
            cache_fraction: 0.5,
            rate: 100 * MI,
            threshold: 100 * MI,
            interval: Duration::from_millis(10),
            dir: None,
            worker: WorkerCommand {
                program: PathBuf::from("headroom"),
                prefix: vec![],
            },
            cancel: Default::default(),
        }
    }

    fn s(t_ms: f64, ws: u64, active: u64, inactive: u64, anon: u64, oom: u64) -> Sample {
        Sample {
            t_ms,
            usage: ws + inactive,
            working_set: ws * MI,
            active_file: active * MI,
            inactive_file: inactive * MI,
            anon: anon * MI,
            oom_kill: oom,
            kubelet_available: (256 - ws) * MI,
        }
    }

    #[test]
    fn windows_from_a_synthetic_series() {
        let fill = Snapshot {
            active_file: 128 * MI,
            working_set: 130 * MI,
            ..Default::default()
        };
        let series = vec![
            s(0.0, 130, 128, 0, 0, 0),    // available 126: fine
            s(10.0, 170, 128, 0, 40, 0),  // available 86: pressure, cache 128
            s(20.0, 200, 100, 20, 90, 0), // pressure, cache 120
            s(30.0, 240, 10, 0, 230, 0),  // pressure, cache 10 (= what is left at the OOM)
            s(40.0, 240, 10, 0, 230, 1),  // OOM seen
        ];
        let mut fill_s = fill;
        fill_s.inactive_file = 0;
        let r = analyse(&opts(), 128 * MI, fill_s, series, Some((38.0, Some(9))));
        assert_eq!(r.oom_kill_at_ms, Some(38.0));
        assert_eq!(r.pressure_start_ms, Some(10.0));
        // Under threshold from 10 to 38 ms; cache above the floor (10 MiB + 1) from 10 to 30.
        assert!((r.pressure_before_oom_ms - 28.0).abs() < 1e-9);
        assert!((r.false_pressure_ms - 20.0).abs() < 1e-9);
        // The two false-pressure samples (10 and 20 ms) are one span.
        assert_eq!(r.false_pressure_spans, [(10.0, 30.0)]);
        assert_eq!(r.file_before_oom, 10 * MI);
        assert_eq!(r.cache_reclaimed, 118 * MI);
        assert_eq!(r.anon_before_oom, 230 * MI);
        assert!(!conclusions(&r).is_empty());
    }

    #[test]
    fn no_oom_no_pressure() {
        let series = vec![s(0.0, 50, 40, 0, 0, 0), s(10.0, 60, 40, 0, 10, 0)];
        let r = analyse(&opts(), 40 * MI, Snapshot::default(), series, None);
        assert_eq!(r.oom_kill_at_ms, None);
        assert_eq!(r.pressure_start_ms, None);
        assert_eq!(r.false_pressure_ms, 0.0);
        assert!(r.false_pressure_spans.is_empty());
    }

    #[test]
    fn false_pressure_spans_split_where_the_cache_ran_out_and_came_back() {
        let series = vec![
            s(0.0, 170, 128, 0, 40, 0),  // pressure with cache: span 1
            s(10.0, 240, 0, 0, 240, 0),  // pressure, no cache: a gap
            s(20.0, 200, 60, 0, 140, 0), // cache came back (another reader): span 2
            s(30.0, 240, 0, 0, 240, 0),  // last sample before the OOM: floor = 0 + 1 MiB
            s(40.0, 250, 0, 0, 250, 1),
        ];
        let r = analyse(&opts(), 128 * MI, Snapshot::default(), series, None);
        assert_eq!(r.oom_kill_at_ms, Some(40.0));
        assert_eq!(r.false_pressure_spans, [(0.0, 10.0), (20.0, 30.0)]);
        let total: f64 = r.false_pressure_spans.iter().map(|(a, b)| b - a).sum();
        assert!((total - r.false_pressure_ms).abs() < 1e-9);
    }

    #[test]
    fn the_plot_draws_the_series_the_limit_and_one_band_per_false_pressure_span() {
        let series = vec![
            s(0.0, 170, 128, 0, 40, 0),
            s(10.0, 240, 0, 0, 240, 0),
            s(20.0, 200, 60, 0, 140, 0),
            s(30.0, 240, 0, 0, 240, 0),
            s(40.0, 250, 0, 0, 250, 1),
        ];
        let r = analyse(&opts(), 128 * MI, Snapshot::default(), series, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        crate::plot::hot_cache_svg(&path, &r).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for label in [
            "usage",
            "working set (kubelet)",
            "active_file",
            "inactive_file",
            "anon",
            "limit",
            "kubelet eviction line (limit - threshold)",
            "OOM kill",
            "false pressure",
        ] {
            assert!(svg.contains(label), "legend entry {label:?} missing");
        }
        // Two spans: two shaded bands, plus the legend's sample of the band.
        let shaded = svg
            .split("<rect")
            .filter(|r| r.contains(r#"opacity="0.12""#))
            .count();
        assert_eq!(shaded, 3, "{svg}");
        // The limit is dashed (one short polyline per dash), so it stays visible where usage
        // runs along it: far more polylines than the 7 lines and 7 legend samples.
        assert!(svg.matches("<polyline").count() > 40, "{svg}");
    }
}
