//! `experiment page-cache` when a step fails: without `--keep-going` the run stops at the failed
//! step with an error that names it and the flag; with it, every step runs and the report marks
//! the failures. Either way the cgroup and the test file are gone afterwards.
//!
//! The failure is real, not simulated: the worker is `/bin/false`, so every step that starts a
//! process in the cgroup (write, read-1, read-2) exits 1, and the steps on the file that was
//! never written (sync, delete) fail on the missing file.
//!
//! Kernel test (root + cgroup v1 memory controller): skips with one line unless
//! HEADROOM_REQUIRE_KERNEL_TESTS=1, where a missing prerequisite fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use headroom_lab::cleanup::Cancel;
use headroom_lab::page_cache::{self, PageCacheOptions};
use headroom_lab::worker::WorkerCommand;

const V1_MEMORY: &str = "/sys/fs/cgroup/memory";
const PREFIX: &str = "headroom-page-cache";

/// False when the test skips (see `cgroups::skip_unless_kernel`).
fn kernel_ready(test: &str) -> bool {
    !cgroups::skip_unless_kernel(test)
}

/// The experiment's cgroups that exist now (the experiment names them `headroom-page-cache-*`).
/// Compared before and after a run, so a leftover of some other run does not matter.
fn experiment_cgroups() -> BTreeSet<PathBuf> {
    std::fs::read_dir(V1_MEMORY)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
        .map(|e| e.path())
        .collect()
}

fn options(dir: &Path, keep_going: bool) -> PageCacheOptions {
    PageCacheOptions {
        size: 1 << 20,
        dir: Some(dir.to_path_buf()),
        keep_going,
        worker: WorkerCommand {
            program: PathBuf::from("/bin/false"),
            prefix: Vec::new(),
        },
        cancel: Cancel::default(),
        progress: None,
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

// One test function, so the two runs never overlap and the before/after cgroup lists stay
// this test's own.
#[test]
fn a_failed_step_stops_the_run_or_is_reported_with_keep_going_and_nothing_is_left() {
    if !kernel_ready("page_cache_failures") {
        return;
    }
    // Disk-backed, as the experiment wants (a tmpfs dir only adds a warning).
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();

    let before = experiment_cgroups();
    let err = match page_cache::run(options(dir.path(), false)) {
        Ok(report) => panic!("a failing worker must stop the run: {report:?}"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("step `write` failed"), "{err}");
    assert!(err.contains("worker write-file failed"), "{err}");
    assert!(err.contains("--keep-going"), "{err}");
    assert_eq!(experiment_cgroups(), before, "cgroup left behind after the error");
    assert_eq!(files_in(dir.path()), Vec::<PathBuf>::new(), "file left behind");

    let report = page_cache::run(options(dir.path(), true)).expect("--keep-going runs through");
    let outcome: Vec<(&str, bool)> = report.steps.iter().map(|s| (s.step, s.ok)).collect();
    assert_eq!(
        outcome,
        [
            ("baseline", true),
            ("write", false),
            ("sync", false),
            ("read-1", false),
            ("read-2", false),
            ("delete", false),
        ]
    );
    for s in report.steps.iter().filter(|s| !s.ok) {
        let e = s.error.as_deref().unwrap_or_default();
        assert!(!e.is_empty(), "step {} failed without an error", s.step);
    }
    assert!(
        report.steps[1].error.as_deref().unwrap().contains("write-file"),
        "{:?}",
        report.steps[1].error
    );
    assert!(!report.cgroup.exists(), "{} left behind", report.cgroup.display());
    assert_eq!(
        experiment_cgroups(),
        before,
        "cgroup left behind after --keep-going"
    );
    assert_eq!(files_in(dir.path()), Vec::<PathBuf>::new(), "file left behind");
}
