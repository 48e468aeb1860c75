//! cgroup v1 control on the real kernel (root + /sys/fs/cgroup/memory). Skips with one line
//! when the prerequisites are missing, unless HEADROOM_REQUIRE_KERNEL_TESTS=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cgroups.rs"]
mod cgroups;

use headroom_linux::control::{Cgroup, CgroupHost, CgroupVersion, kill_pod};
use std::fs;
use std::time::{Duration, Instant};

/// The v1 cgroup host, or `None` when the test skips (see `cgroups::skip_unless_kernel`).
fn kernel_host(test: &str) -> Option<CgroupHost> {
    if cgroups::skip_unless_kernel(test) {
        return None;
    }
    let host = CgroupHost::detect().expect("cgroup host");
    assert_eq!(host.version(), CgroupVersion::V1);
    Some(host)
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn memory_cgroup_of(pid: u32) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            ctrls.split(',').any(|c| c == "memory").then(|| path.to_string())
        })
        .unwrap_or_default()
}

#[test]
fn v1_create_limit_spawn_kill_teardown() {
    let Some(host) = kernel_host("v1_create_limit_spawn_kill_teardown") else {
        return;
    };
    let cg = host.create_unique("headroom-test").unwrap();
    let rel = format!("/{}", cg.path().strip_prefix(host.mount()).unwrap().display());

    cg.set_memory_limit(Some(64 << 20)).unwrap();
    let limit: u64 = fs::read_to_string(cg.file("memory.limit_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(limit, 64 << 20);
    cg.set_oom_kill_disable(true).unwrap();
    let oom = fs::read_to_string(cg.file("memory.oom_control")).unwrap();
    assert!(oom.contains("oom_kill_disable 1"), "{oom}");

    let child_cg = cg.create_child("container").unwrap();
    let mut a = cg.spawn("sleep", &["60"]).unwrap();
    let mut b = child_cg.spawn("sleep", &["60"]).unwrap();
    let (pa, pb) = (a.id() as i32, b.id() as i32);
    wait_until("pids in cgroup.procs", || {
        cg.pids().unwrap() == vec![pa] && child_cg.pids().unwrap() == vec![pb]
    });
    assert_eq!(memory_cgroup_of(a.id()), rel);
    let mut all = cg.pids_recursive().unwrap();
    all.sort();
    let mut want = vec![pa, pb];
    want.sort();
    assert_eq!(all, want);

    let report = cg.kill_all().unwrap();
    assert!(!report.used_cgroup_kill);
    assert!(report.sigkill.contains(&pa) && report.sigkill.contains(&pb));
    assert!(!a.wait().unwrap().success());
    assert!(!b.wait().unwrap().success());
    assert!(cg.pids_recursive().unwrap().is_empty());

    // The child cgroup is owned too; tearing the parent down removes both, deepest first.
    let (parent, child) = (cg.path().to_path_buf(), child_cg.path().to_path_buf());
    std::mem::forget(child_cg);
    cg.teardown().unwrap();
    assert!(!child.exists() && !parent.exists());
}

#[test]
fn v1_terminate_respects_grace_then_kills() {
    let Some(host) = kernel_host("v1_terminate_respects_grace_then_kills") else {
        return;
    };
    let cg = host.create_unique("headroom-test").unwrap();

    // Exits on SIGTERM: no SIGKILL needed.
    let mut polite = cg.spawn("sleep", &["60"]).unwrap();
    wait_until("polite pid", || !cg.pids().unwrap().is_empty());
    let report = cg.terminate(Duration::from_secs(5)).unwrap();
    assert!(report.exited_in_grace, "{report:?}");
    assert_eq!(report.sigterm, vec![polite.id() as i32]);
    assert!(report.sigkill.is_empty());
    polite.wait().unwrap();

    // Ignores SIGTERM (an ignored signal stays ignored across exec): SIGKILL after grace.
    let mut stubborn = cg
        .spawn("/bin/sh", &["-c", "trap '' TERM; exec sleep 60"])
        .unwrap();
    wait_until("stubborn pid", || !cg.pids().unwrap().is_empty());
    // Let the shell install the trap and exec.
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let report = kill_pod(&host, cg.path(), Duration::from_millis(300)).unwrap();
    assert!(!report.exited_in_grace, "{report:?}");
    assert_eq!(report.sigkill, vec![stubborn.id() as i32]);
    assert!(started.elapsed() >= Duration::from_millis(300));
    stubborn.wait().unwrap();
    // kill_pod borrows the cgroup: it is still there.
    assert!(cg.path().is_dir());
    cg.teardown().unwrap();
}

#[test]
fn v1_drop_cleans_up_processes_and_cgroup() {
    let Some(host) = kernel_host("v1_drop_cleans_up_processes_and_cgroup") else {
        return;
    };
    let (path, mut child) = {
        let cg = host.create_unique("headroom-test").unwrap();
        let child = cg.spawn("sleep", &["60"]).unwrap();
        wait_until("pid", || !cg.pids().unwrap().is_empty());
        (cg.path().to_path_buf(), child)
    };
    assert!(!path.exists(), "cgroup left behind: {}", path.display());
    assert!(!child.wait().unwrap().success());

    // Opening a removed cgroup says so.
    let err = Cgroup::open(&host, &path).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}
