//! `headroom experiment page-cache|hot-cache`: run an experiment on the real kernel in a
//! temporary memory cgroup and explain what the kubelet would make of it.

use headroom_lab::cleanup::Cancel;
use headroom_lab::worker::WorkerCommand;
use headroom_lab::{hot_cache, page_cache, plot, size};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum Experiment {
    /// Show page cache moving in and out of the kubelet's working set: write a file, sync,
    /// read it once, read it again, delete it, all inside a temporary memory cgroup.
    PageCache(PageCacheArgs),
    /// Fill a memory-limited cgroup with active page cache, then allocate anonymous memory
    /// until the kernel reclaims the cache or OOM-kills; measure how long a kubelet-style
    /// evictor would have seen pressure that the kernel resolved by itself.
    HotCache(HotCacheArgs),
}

#[derive(Clone, Copy, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
sudo headroom experiment page-cache                  # 256 MiB file under /var/tmp\n  \
sudo headroom experiment page-cache --size 32M --dir /data\n  \
sudo headroom experiment page-cache --format json > page-cache.json\n\n\
The temporary cgroup (headroom-page-cache-*) and the test file are removed at the end, also on \
Ctrl-C.")]
pub struct PageCacheArgs {
    /// Size of the test file (binary units: 256M = 256 MiB).
    #[arg(long, default_value = "256M", allow_hyphen_values = true)]
    size: String,
    /// Directory for the test file. Default: /var/tmp, or the current directory if /var/tmp
    /// is tmpfs. A tmpfs directory works but its pages are shmem and always count as used.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// text: a table of snapshots and conclusions; json: the full report for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Run the remaining steps when one fails (e.g. the disk filled up); failed steps are
    /// marked in the report.
    #[arg(long)]
    keep_going: bool,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
sudo headroom experiment hot-cache                   # 512 MiB limit, 60% cache, 100M/s\n  \
sudo headroom experiment hot-cache --limit 256M --rate 50M/s --plot hot-cache.svg\n  \
sudo headroom experiment hot-cache --samples samples.csv --format json > hot-cache.json\n\n\
The temporary cgroup (headroom-hot-cache-*), its processes and the cache file are removed at the \
end, also on Ctrl-C.")]
pub struct HotCacheArgs {
    /// Memory limit of the temporary cgroup (binary units: 512M = 512 MiB).
    #[arg(long, default_value = "512M", allow_hyphen_values = true)]
    limit: String,
    /// Share of the limit filled with page cache (a percentage), then read twice so it is
    /// active.
    #[arg(long, default_value = "60%", allow_hyphen_values = true)]
    cache: String,
    /// Anonymous allocation rate, binary units per second (100M/s = 100 MiB/s).
    #[arg(long, default_value = "100M/s", allow_hyphen_values = true)]
    rate: String,
    /// The kubelet's hard threshold on memory.available (binary units: 100M = 100 MiB).
    #[arg(long, default_value = "100M", allow_hyphen_values = true)]
    threshold: String,
    /// Directory for the cache file (must be disk-backed). Default: /var/tmp or the cwd.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Draw usage, working set, active/inactive file and anon over time to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Write the raw 10 ms samples to this CSV file.
    #[arg(long, value_name = "FILE.csv")]
    samples: Option<PathBuf>,
    /// text: sampled rows and conclusions; json: the report (windows, reclaim, OOM time).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Ctrl-C / SIGTERM set a flag; the experiment stops at its next check and cleans up
/// (processes, file, cgroup) instead of dying with a cgroup left behind.
fn cancel_on_signals() -> anyhow::Result<Cancel> {
    let cancel: Cancel = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, cancel.clone())?;
    }
    Ok(cancel)
}

pub fn run(exp: Experiment) -> anyhow::Result<ExitCode> {
    match exp {
        Experiment::PageCache(a) => page_cache_cmd(a),
        Experiment::HotCache(a) => hot_cache_cmd(a),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    crate::output::stdout(&text)
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
fn progress_bar() -> Option<Box<dyn FnMut(u64, u64)>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let mut finished = false;
    Some(Box::new(move |done: u64, total: u64| {
        if finished || total == 0 {
            return;
        }
        let width = 40usize;
        let filled = ((done.min(total) as f64 / total as f64) * width as f64) as usize;
        // A progress bar is a courtesy: a stderr that went away must not stop the experiment.
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r  writing [{}{}] {:.0}/{:.0} MiB",
            "#".repeat(filled),
            "-".repeat(width - filled),
            size::mib(done),
            size::mib(total)
        );
        if done >= total {
            let _ = writeln!(err);
            finished = true;
        }
    }))
}

/// `--dir` must name an existing directory: say so before creating any cgroup.
fn check_dir(dir: &Option<PathBuf>) -> anyhow::Result<()> {
    if let Some(d) = dir {
        if !d.exists() {
            return Err(super::bad_input(format!(
                "--dir {}: no such directory",
                d.display()
            )));
        }
        if !d.is_dir() {
            return Err(super::bad_input(format!(
                "--dir {}: is a file, not a directory; pass the directory to put the test file in",
                d.display()
            )));
        }
    }
    Ok(())
}

/// `--plot`/`--samples` are written after a run that takes a while: refuse a path that cannot
/// be written (missing parent directory, a directory) before the run, not after it.
fn check_output_file(flag: &str, path: &Option<PathBuf>) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    if path.is_dir() {
        return Err(super::bad_input(format!(
            "{flag} {}: is a directory; give a file name",
            path.display()
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(super::bad_input(format!(
            "{flag} {}: directory {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

fn page_cache_cmd(a: PageCacheArgs) -> anyhow::Result<ExitCode> {
    check_dir(&a.dir)?;
    let bytes = size::parse_size(&a.size).map_err(|e| super::bad_input(format!("--size: {e}")))?;
    if bytes < 1 << 20 {
        return Err(super::bad_input(format!(
            "--size {}: {bytes} bytes is too small to see page cache move between the kernel's \
             lists; use at least 1M (the default is 256M)",
            a.size
        )));
    }
    let report = page_cache::run(page_cache::PageCacheOptions {
        size: bytes,
        dir: a.dir,
        keep_going: a.keep_going,
        worker: WorkerCommand::current_exe()?,
        cancel: cancel_on_signals()?,
        progress: match a.format {
            Format::Text => progress_bar(),
            Format::Json => None,
        },
    })?;
    match a.format {
        Format::Text => crate::output::stdout(&page_cache::render_text(&report))?,
        Format::Json => print_json(&report)?,
    }
    Ok(if report.steps.iter().all(|s| s.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn hot_cache_cmd(a: HotCacheArgs) -> anyhow::Result<ExitCode> {
    check_dir(&a.dir)?;
    check_output_file("--plot", &a.plot)?;
    check_output_file("--samples", &a.samples)?;
    let limit = size::parse_size(&a.limit).map_err(|e| super::bad_input(format!("--limit: {e}")))?;
    let cache_fraction =
        size::parse_percent(&a.cache).map_err(|e| super::bad_input(format!("--cache: {e}")))?;
    let rate = size::parse_rate(&a.rate).map_err(|e| super::bad_input(format!("--rate: {e}")))?;
    let threshold =
        size::parse_size(&a.threshold).map_err(|e| super::bad_input(format!("--threshold: {e}")))?;
    if limit < (32 << 20) {
        return Err(super::bad_input(format!(
            "--limit {}: use at least 32M so the cache and the allocator fit",
            a.limit
        )));
    }
    if threshold >= limit {
        return Err(super::bad_input(format!(
            "--threshold {} is not below --limit {}: memory.available (limit - working set) \
             can never reach it from above, so there is nothing to measure; use a threshold \
             well below the limit (the default is 100M)",
            a.threshold, a.limit
        )));
    }
    if let Some(dir) = &a.dir
        && headroom_lab::cleanup::dir_info(dir).is_ok_and(|d| d.memory_backed)
    {
        return Err(super::bad_input(format!(
            "--dir {}: is tmpfs/ramfs: its pages are shared memory, which the kernel cannot \
             reclaim like page cache, so the experiment cannot work there; pass a disk-backed \
             directory (e.g. /var/tmp)",
            dir.display()
        )));
    }
    let report = hot_cache::run(hot_cache::HotCacheOptions {
        limit,
        cache_fraction,
        rate,
        threshold,
        interval: Duration::from_millis(10),
        dir: a.dir,
        worker: WorkerCommand::current_exe()?,
        cancel: cancel_on_signals()?,
    })?;
    if let Some(path) = &a.samples {
        hot_cache::write_csv(path, &report.series)?;
    }
    if let Some(path) = &a.plot {
        plot::hot_cache_svg(path, &report)?;
    }
    match a.format {
        Format::Text => crate::output::stdout(&hot_cache::render_text(&report))?,
        Format::Json => print_json(&report)?,
    }
    Ok(ExitCode::SUCCESS)
}
