//! `headroom experiment page-cache`: where a file's page cache lands in the kubelet's
//! arithmetic. In a fresh memory cgroup: baseline, write the file, sync, read it once, read
//! it again, delete it; after each step a [`Snapshot`] of the cgroup (and the host's
//! buff/cache), then conclusions in plain words with the measured deltas.

use crate::cleanup::{self, Cancel, ChildGuard, TempFile};
use crate::size::{mib, mib_delta};
use crate::snapshot::{Sampler, Snapshot};
use crate::worker::WorkerCommand;
use anyhow::{Context, bail};
use headroom_linux::control::{CgroupHost, CgroupVersion};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct PageCacheOptions {
    /// Size of the test file in bytes.
    pub size: u64,
    /// Directory for the test file; `None` = /var/tmp or the cwd, whichever is disk-backed.
    pub dir: Option<PathBuf>,
    /// Run the remaining steps when one fails (the report marks the failure).
    pub keep_going: bool,
    pub worker: WorkerCommand,
    pub cancel: Cancel,
    /// Called while the file is written: (bytes written so far, size).
    pub progress: Option<Box<dyn FnMut(u64, u64)>>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// `baseline`, `write`, `sync`, `read-1`, `read-2`, `delete`.
    pub step: &'static str,
    pub description: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: f64,
    pub snapshot: Snapshot,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageCacheReport {
    pub cgroup: PathBuf,
    pub cgroup_version: CgroupVersion,
    pub file: PathBuf,
    pub size_bytes: u64,
    pub dir_memory_backed: bool,
    pub warnings: Vec<String>,
    pub steps: Vec<StepResult>,
    pub conclusions: Vec<String>,
}

const STEPS: [(&str, &str); 6] = [
    ("baseline", "empty cgroup"),
    ("write", "write the file (inside the cgroup)"),
    ("sync", "flush it to disk"),
    ("read-1", "read it once (inside the cgroup)"),
    ("read-2", "read it a second time (inside the cgroup)"),
    ("delete", "delete the file"),
];

pub fn run(mut opts: PageCacheOptions) -> anyhow::Result<PageCacheReport> {
    if opts.size == 0 {
        bail!("--size must be above zero");
    }
    cleanup::require_root()?;
    let host = CgroupHost::detect()?;
    let dir = cleanup::choose_dir(opts.dir.as_deref())?;
    let mut warnings = Vec::new();
    if dir.memory_backed {
        warnings.push(format!(
            "{} is tmpfs/ramfs: its pages are shared memory, which always counts toward the \
             working set (it sits on the anon LRU and cannot be dropped); use a disk-backed \
             --dir to see page cache behave as page cache",
            dir.dir.display()
        ));
    }
    cleanup::require_space(&dir, opts.size)?;

    let cgroup = host.create_unique("headroom-page-cache")?;
    let file = TempFile::new(dir.dir.join(format!(
        "headroom-page-cache-{}-{}.dat",
        std::process::id(),
        crate::heartbeat::wall_ns()
    )));
    let mut sampler = Sampler::new(&cgroup);
    let mut steps: Vec<StepResult> = Vec::new();
    let file_arg = file.path().as_os_str().to_os_string();

    for (name, description) in STEPS {
        cleanup::check_cancel(&opts.cancel)?;
        let started = Instant::now();
        let outcome: anyhow::Result<()> = match name {
            "baseline" => Ok(()),
            "write" => {
                let args = opts.worker.args([
                    std::ffi::OsString::from("write-file"),
                    file_arg.clone(),
                    opts.size.to_string().into(),
                ]);
                let child = cgroup.spawn(opts.worker.program.as_os_str(), &args_as_refs(&args))?;
                let mut guard = ChildGuard(child);
                let path = file.path().to_path_buf();
                let size = opts.size;
                let progress = &mut opts.progress;
                let status =
                    cleanup::wait_child(&mut guard.0, &opts.cancel, Duration::from_millis(50), || {
                        if let Some(p) = progress.as_mut() {
                            let written = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                            p(written, size);
                        }
                    })?;
                if let Some(p) = opts.progress.as_mut() {
                    p(std::fs::metadata(file.path()).map(|m| m.len()).unwrap_or(0), size);
                }
                worker_status("write-file", status)
            }
            "sync" => std::fs::File::open(file.path())
                .and_then(|f| f.sync_all())
                .with_context(|| format!("syncing {}", file.path().display())),
            "read-1" | "read-2" => {
                let args = opts
                    .worker
                    .args([std::ffi::OsString::from("read-file"), file_arg.clone()]);
                let child = cgroup.spawn(opts.worker.program.as_os_str(), &args_as_refs(&args))?;
                let mut guard = ChildGuard(child);
                let status =
                    cleanup::wait_child(&mut guard.0, &opts.cancel, Duration::from_millis(10), || {})?;
                worker_status("read-file", status)
            }
            "delete" => std::fs::remove_file(file.path())
                .with_context(|| format!("deleting {}", file.path().display())),
            _ => Ok(()),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let snapshot = sampler.full()?;
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        steps.push(StepResult {
            step: name,
            description: description.to_string(),
            ok: error.is_none(),
            error: error.clone(),
            duration_ms,
            snapshot,
        });
        if let Some(e) = error
            && !opts.keep_going
        {
            bail!("step `{name}` failed: {e} (use --keep-going to run the remaining steps anyway)");
        }
    }

    let report = PageCacheReport {
        cgroup: cgroup.path().to_path_buf(),
        cgroup_version: cgroup.version(),
        file: file.path().to_path_buf(),
        size_bytes: opts.size,
        dir_memory_backed: dir.memory_backed,
        warnings,
        conclusions: conclusions(opts.size, &steps),
        steps,
    };
    drop(file);
    cgroup.teardown()?;
    Ok(report)
}

fn args_as_refs(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(|a| a.as_os_str()).collect()
}

fn worker_status(job: &str, status: std::process::ExitStatus) -> anyhow::Result<()> {
    if status.success() {
        Ok(())
    } else {
        bail!("worker {job} failed ({status}); its error is printed above")
    }
}

fn step<'a>(steps: &'a [StepResult], name: &str) -> Option<&'a Snapshot> {
    steps.iter().find(|s| s.step == name && s.ok).map(|s| &s.snapshot)
}

/// Plain-words conclusions from the measured deltas; phrased from what was measured, not
/// from what the kernel is expected to do.
pub fn conclusions(size: u64, steps: &[StepResult]) -> Vec<String> {
    let half = size as f64 / 2.0;
    let mut out = Vec::new();
    let counts = |ws_delta: f64| {
        if ws_delta * 1_048_576.0 >= half {
            "so the kubelet counts it as used memory"
        } else {
            "so the kubelet ignores it"
        }
    };
    let pairs = [
        ("baseline", "write"),
        ("write", "sync"),
        ("sync", "read-1"),
        ("read-1", "read-2"),
        ("read-2", "delete"),
    ];
    for (before, after) in pairs {
        let (Some(b), Some(a)) = (step(steps, before), step(steps, after)) else {
            continue;
        };
        let d_cache = mib_delta(a.cache, b.cache);
        let d_active = mib_delta(a.active_file, b.active_file);
        let d_inactive = mib_delta(a.inactive_file, b.inactive_file);
        let d_ws = mib_delta(a.working_set, b.working_set);
        let text = match after {
            "write" => format!(
                "writing {:.0} MiB added {d_cache:.1} MiB of page cache ({d_inactive:+.1} MiB \
                 inactive, {d_active:+.1} MiB active): working set {d_ws:+.1} MiB, {}.",
                mib(size),
                counts(d_ws)
            ),
            "sync" => format!(
                "sync flushed the dirty pages to disk: page cache {d_cache:+.1} MiB, working set \
                 {d_ws:+.1} MiB (dirty or clean makes no difference to the working set)."
            ),
            "read-1" => format!(
                "the first read found the file in cache: active_file {d_active:+.1} MiB, working \
                 set {d_ws:+.1} MiB, {} (a single re-read only marks pages referenced).",
                counts(d_ws)
            ),
            "read-2" => {
                if d_active * 1_048_576.0 >= half {
                    format!(
                        "the second read activated {d_active:.1} MiB: working set {d_ws:+.1} MiB, \
                         so this cache now counts toward memory.available although it is clean \
                         and the kernel can drop it at any time."
                    )
                } else {
                    format!(
                        "the second read moved {d_active:+.1} MiB to active_file: working set \
                         {d_ws:+.1} MiB, {}.",
                        counts(d_ws)
                    )
                }
            }
            "delete" => format!(
                "deleting the file released {:.1} MiB of page cache at once: working set \
                 {d_ws:+.1} MiB.",
                -d_cache
            ),
            _ => continue,
        };
        out.push(text);
    }
    if let (Some(b), Some(peak)) = (step(steps, "baseline"), step(steps, "read-2"))
        && let (Some(hb), Some(hp)) = (b.host_buff_cache, peak.host_buff_cache)
    {
        out.push(format!(
            "free's buff/cache (whole host) was {:+.1} MiB above the baseline after the second \
             read: `free` and MemAvailable count that cache as available whether it is active or \
             inactive, the kubelet counted {:+.1} MiB of it as used (working set).",
            mib_delta(hp, hb),
            mib_delta(peak.working_set, b.working_set)
        ));
    }
    out
}

/// The report as a table plus conclusions, for a terminal.
pub fn render_text(r: &PageCacheReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let header = format!(
        "page-cache experiment: {:.0} MiB file {} in the {} memory cgroup {}",
        mib(r.size_bytes),
        r.file.display(),
        r.cgroup_version,
        r.cgroup.display()
    );
    headroom_core::text::wrap_into(&mut s, crate::TEXT_WIDTH, "", "  ", &header);
    for w in &r.warnings {
        headroom_core::text::wrap_into(&mut s, crate::TEXT_WIDTH, "warning: ", "  ", w);
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}  (MiB)",
        "step", "usage", "anon", "cache", "active", "inactive", "work.set", "host b/c"
    );
    for st in &r.steps {
        let p = &st.snapshot;
        let hbc = p
            .host_buff_cache
            .map(|v| format!("{:.1}", mib(v)))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<9} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>11}{}",
            st.step,
            mib(p.usage),
            mib(p.anon),
            mib(p.cache),
            mib(p.active_file),
            mib(p.inactive_file),
            mib(p.working_set),
            hbc,
            match &st.error {
                Some(e) => format!("  FAILED: {e}"),
                None => String::new(),
            }
        );
    }
    let _ = writeln!(s);
    headroom_core::text::wrap_into(
        &mut s,
        crate::TEXT_WIDTH,
        "",
        "  ",
        "working set = usage - inactive_file (cAdvisor); the kubelet's memory.available = \
         capacity - working set.",
    );
    for c in &r.conclusions {
        headroom_core::text::wrap_into(&mut s, crate::TEXT_WIDTH, "* ", "  ", c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;

    fn step(name: &'static str, active: u64, inactive: u64, extra: u64) -> StepResult {
        StepResult {
            step: name,
            description: String::new(),
            ok: true,
            error: None,
            duration_ms: 1.0,
            snapshot: Snapshot {
                usage: (active + inactive + extra) * MI,
                cache: (active + inactive) * MI,
                active_file: active * MI,
                inactive_file: inactive * MI,
                working_set: (active + extra) * MI,
                host_buff_cache: Some(1000 * MI + (active + inactive) * MI),
                ..Default::default()
            },
        }
    }

    #[test]
    fn conclusions_follow_the_measurements() {
        let steps = vec![
            step("baseline", 0, 0, 0),
            step("write", 0, 64, 2),
            step("sync", 0, 64, 2),
            step("read-1", 0, 64, 2),
            step("read-2", 64, 0, 2),
            step("delete", 0, 0, 0),
        ];
        let c = conclusions(64 * MI, &steps);
        assert_eq!(c.len(), 6, "{c:#?}");
        assert!(c[0].contains("added 64.0 MiB of page cache") && c[0].contains("ignores"));
        assert!(c[0].contains("working set +2.0 MiB"), "{}", c[0]);
        assert!(c[3].contains("second read activated 64.0 MiB"), "{}", c[3]);
        assert!(c[3].contains("working set +64.0 MiB"), "{}", c[3]);
        assert!(c[4].contains("released 64.0 MiB"), "{}", c[4]);
        assert!(c[5].contains("+64.0 MiB above the baseline"), "{}", c[5]);
    }

    #[test]
    fn conclusions_do_not_claim_what_did_not_happen() {
        // A kernel that activated on the first write (e.g. tmpfs: shmem is always "used").
        let steps = vec![
            step("baseline", 0, 0, 0),
            step("write", 0, 0, 64),
            step("read-1", 0, 0, 64),
            step("read-2", 0, 0, 64),
        ];
        let c = conclusions(64 * MI, &steps);
        assert!(c[0].contains("counts it as used memory"), "{}", c[0]);
        assert!(!c.iter().any(|l| l.contains("activated")), "{c:#?}");
        // A failed step is left out instead of being compared.
        let mut failed = steps.clone();
        failed[1].ok = false;
        assert!(
            !conclusions(64 * MI, &failed)
                .iter()
                .any(|l| l.starts_with("writing"))
        );
    }
}
