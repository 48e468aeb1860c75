//! `headroom experiment` end to end. Kernel tests (root + cgroup v1 memory controller) skip
//! with one line unless HEADROOM_REQUIRE_KERNEL_TESTS=1, where a missing prerequisite fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Skip lines go to the real stderr: the test harness captures eprintln! of passing tests,
// which would hide them.
use std::io::Write as _;

#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;

use assert_cmd::Command;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

const MIB: f64 = 1_048_576.0;

/// False when the test skips (see `cgroups::skip_unless_kernel`).
fn kernel_ready(test: &str) -> bool {
    !cgroups::skip_unless_kernel(test)
}

fn headroom() -> Command {
    Command::cargo_bin("headroom").unwrap()
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(out));
    })
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn run_page_cache(size_mib: u32) -> Value {
    let out = headroom()
        .args([
            "experiment",
            "page-cache",
            "--size",
            &format!("{size_mib}M"),
            "--format",
            "json",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json(&out.stdout)
}

fn snapshot(r: &Value, name: &str) -> Value {
    let s = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {r}"));
    assert_eq!(s["ok"], true, "{s}");
    s["snapshot"].clone()
}

/// The write-phase invariant of the issue: inactive_file grew by at least 90% of the size and
/// the working set by less than 10% of it.
fn write_stayed_inactive(r: &Value, size: f64) -> bool {
    let (base, write) = (snapshot(r, "baseline"), snapshot(r, "write"));
    num(&write, "inactiveFile") - num(&base, "inactiveFile") >= 0.9 * size
        && num(&write, "workingSet") - num(&base, "workingSet") < 0.1 * size
}

#[test]
fn page_cache_moves_between_inactive_and_active() {
    if !kernel_ready("page_cache_moves_between_inactive_and_active") {
        return;
    }
    let size = 64.0 * MIB;
    let mut r = run_page_cache(64);
    if !write_stayed_inactive(&r, size) {
        // Seen once in ~a dozen full CI runs, never reproduced alone or under synthetic load:
        // part of the fresh write already on the active list. One re-run tells a disturbed run
        // from a broken experiment; the second must meet the invariant.
        eprintln!(
            "page-cache: write phase disturbed, re-running once: write {} vs baseline {}",
            snapshot(&r, "write"),
            snapshot(&r, "baseline")
        );
        r = run_page_cache(64);
    }
    let (base, write, read2, delete) = (
        snapshot(&r, "baseline"),
        snapshot(&r, "write"),
        snapshot(&r, "read-2"),
        snapshot(&r, "delete"),
    );
    let d = |a: &Value, b: &Value, k: &str| num(a, k) - num(b, k);
    assert!(
        d(&write, &base, "cache") >= 0.9 * size,
        "write: {write} vs {base}"
    );
    assert!(
        d(&write, &base, "inactiveFile") >= 0.9 * size,
        "write: {write} vs {base}"
    );
    assert!(
        d(&write, &base, "workingSet") < 0.1 * size,
        "write: {write} vs {base}"
    );
    assert!(
        d(&read2, &base, "activeFile") >= 0.9 * size,
        "read-2: {read2} vs {base}"
    );
    assert!(
        d(&read2, &base, "workingSet") >= 0.9 * size,
        "read-2: {read2} vs {base}"
    );
    assert!(
        num(&delete, "cache") <= num(&base, "cache") + 0.1 * size,
        "delete: {delete}"
    );
    assert!(num(&delete, "workingSet") < 0.1 * size, "delete: {delete}");

    // Nothing left behind.
    assert!(
        !Path::new(r["cgroup"].as_str().unwrap()).exists(),
        "cgroup left behind"
    );
    assert!(
        !Path::new(r["file"].as_str().unwrap()).exists(),
        "file left behind"
    );
    let conclusions = r["conclusions"].as_array().unwrap();
    assert!(
        conclusions
            .iter()
            .any(|c| c.as_str().unwrap().contains("second read activated"))
    );
}

#[test]
fn hot_cache_reclaims_cache_before_the_oom_kill() {
    if !kernel_ready("hot_cache_reclaims_cache_before_the_oom_kill") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (csv, svg) = (dir.path().join("s.csv"), dir.path().join("p.svg"));
    let out = headroom()
        .args(["experiment", "hot-cache", "--limit", "256M", "--cache", "40%"])
        .args(["--rate", "100M/s", "--format", "json", "--samples"])
        .arg(&csv)
        .arg("--plot")
        .arg(&svg)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = json(&out.stdout);
    let fill = &r["afterFill"];
    let filled = num(fill, "activeFile") + num(fill, "inactiveFile");
    assert!(
        num(fill, "activeFile") >= 0.9 * num(&r, "cacheBytes"),
        "cache not active: {fill}"
    );
    assert!(r["oomKillAtMs"].is_number(), "no OOM kill: {r}");
    // The kernel gave back most of the cache before it killed anything.
    assert!(num(&r, "cacheReclaimed") >= 0.8 * filled, "{r}");
    assert!(num(&r, "fileBeforeOom") < 0.2 * filled, "{r}");
    let pressure = num(&r, "pressureStartMs");
    assert!(pressure < num(&r, "oomKillAtMs"), "{r}");
    assert!(num(&r, "falsePressureMs") > 0.0, "{r}");
    assert!(
        !Path::new(r["cgroup"].as_str().unwrap()).exists(),
        "cgroup left behind"
    );

    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("t_ms,usage_bytes,working_set_bytes"));
    assert_eq!(text.lines().count(), r["samples"].as_u64().unwrap() as usize + 1);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn ctrl_c_cleans_up_cgroup_and_file() {
    if !kernel_ready("ctrl_c_cleans_up_cgroup_and_file") {
        return;
    }
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "experiment",
            "page-cache",
            "--size",
            "2G",
            "--format",
            "json",
            "--dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        // Its own process group, so the SIGINT below reaches the worker too, as Ctrl-C on a
        // terminal does.
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let prefix = format!("headroom-page-cache-{pid}-");
    // Wait until the write is under way, then interrupt.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let writing = std::fs::read_dir(dir.path()).unwrap().next().is_some();
        if writing || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    rustix::process::kill_process_group(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup/memory")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "cgroup left behind: {left:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "file left behind"
    );
}

#[test]
fn bad_flag_values_exit_2_with_the_value_named() {
    let out = headroom()
        .args(["experiment", "page-cache", "--size", "12Q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--size") && err.contains("12Q"), "{err}");

    let out = headroom()
        .args(["experiment", "hot-cache", "--cache", "150%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("150%"));

    let out = headroom()
        .args(["experiment", "hot-cache", "--rate", "fast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = headroom()
        .args(["experiment", "page-cache", "--dir", "/nonexistent/headroom"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/headroom"));
}

#[test]
fn worker_write_read_and_alloc() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    headroom()
        .args(["worker", "write-file"])
        .arg(&f)
        .arg("3M")
        .assert()
        .success();
    assert_eq!(std::fs::metadata(&f).unwrap().len(), 3 << 20);
    headroom()
        .args(["worker", "read-file"])
        .arg(&f)
        .assert()
        .success();
    let out = headroom()
        .args(["worker", "read-file"])
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    let hb = dir.path().join("hb");
    headroom()
        .args([
            "worker",
            "alloc",
            "--mib",
            "4",
            "--rate",
            "200",
            "--hold",
            "0",
            "--heartbeat",
        ])
        .arg(&hb)
        .assert()
        .success();
    let beat = headroom_lab::heartbeat::Heartbeat::read(&hb).unwrap();
    assert_eq!(beat.allocated, 4 << 20);
    assert!(beat.done);
    headroom().args(["worker", "sleep", "0"]).assert().success();
}

#[test]
fn worker_is_hidden_from_help() {
    let out = headroom().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("experiment"));
    assert!(!help.contains("worker"), "{help}");
}

#[test]
fn tmpfs_dir_warns_and_counts_as_working_set() {
    if !kernel_ready("tmpfs_dir_warns_and_counts_as_working_set") {
        return;
    }
    if !Path::new("/dev/shm").is_dir() {
        let _ = writeln!(std::io::stderr(), "skipping: no /dev/shm");
        return;
    }
    let out = headroom()
        .args(["experiment", "page-cache", "--size", "16M", "--format", "json"])
        .args(["--dir", "/dev/shm"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = json(&out.stdout);
    assert_eq!(r["dirMemoryBacked"], true);
    assert!(r["warnings"][0].as_str().unwrap().contains("tmpfs"), "{r}");
    let steps = r["steps"].as_array().unwrap();
    let ws = |i: usize| num(&steps[i]["snapshot"], "workingSet");
    // shmem sits on the anon LRU: the write alone puts it in the working set.
    assert!(ws(1) - ws(0) >= 0.9 * 16.0 * MIB, "{r}");
    assert!(!Path::new(r["file"].as_str().unwrap()).exists());
}

#[test]
fn not_root_is_a_plain_error() {
    if !kernel_ready("not_root_is_a_plain_error") {
        return;
    }
    let Ok(setpriv) = which_setpriv() else {
        let _ = writeln!(
            std::io::stderr(),
            "skipping not_root_is_a_plain_error: no setpriv"
        );
        return;
    };
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_headroom"))
        .args(["experiment", "page-cache", "--size", "1M"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("needs root"), "{err}");
}

fn which_setpriv() -> Result<&'static str, ()> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or(())
}
