//! cgroup v2 control paths against fake trees (this machine has no v2 memory controller).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_linux::control::{CgroupHost, CgroupVersion, ControlError};
use std::fs;
use std::path::Path;

fn v2_tree(subtree_control: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    )
    .unwrap();
    fs::write(dir.path().join("cgroup.subtree_control"), subtree_control).unwrap();
    dir
}

/// What the kernel would create in a new v2 cgroup with the memory controller enabled.
fn populate_v2(cg: &Path, with_kill: bool) {
    for f in [
        "cgroup.procs",
        "memory.max",
        "memory.current",
        "memory.stat",
        "memory.events",
    ] {
        fs::write(cg.join(f), "").unwrap();
    }
    if with_kill {
        fs::write(cg.join("cgroup.kill"), "").unwrap();
    }
}

/// Wait until the fake `cgroup.procs` lists just `pid` (the child writes it before exec).
fn wait_listed(cg: &headroom_linux::control::Cgroup, pid: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while cg.pids().unwrap() != vec![pid] {
        assert!(std::time::Instant::now() < deadline, "pid never written");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn detects_v2_from_cgroup_controllers() {
    let tree = v2_tree("");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    assert_eq!(host.version(), CgroupVersion::V2);
    assert_eq!(host.mount(), tree.path());
}

#[test]
fn detects_v1_memory_hierarchy_first() {
    let tree = v2_tree("");
    fs::create_dir(tree.path().join("memory")).unwrap();
    fs::write(tree.path().join("memory/memory.usage_in_bytes"), "0\n").unwrap();
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    assert_eq!(host.version(), CgroupVersion::V1);
    assert_eq!(host.mount(), tree.path().join("memory"));
}

#[test]
fn no_memory_controller_is_a_clear_error() {
    let tree = tempfile::tempdir().unwrap();
    fs::write(tree.path().join("cgroup.controllers"), "hugetlb\n").unwrap();
    let err = CgroupHost::detect_at(tree.path()).unwrap_err();
    assert!(matches!(err, ControlError::NoMemoryController { .. }));
    let msg = err.to_string();
    assert!(msg.contains("no memory cgroup controller"), "{msg}");
    assert!(msg.contains("cgroup.controllers"), "{msg}");
}

#[test]
fn create_enables_memory_in_parent_subtree_control() {
    let tree = v2_tree("cpu io");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let cg = host.create_unique("headroom-fixture").unwrap();
    assert!(cg.path().is_dir());
    assert!(
        cg.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("headroom-fixture-")
    );
    let written = fs::read_to_string(tree.path().join("cgroup.subtree_control")).unwrap();
    assert_eq!(written, "+memory");
}

#[test]
fn create_leaves_subtree_control_alone_when_memory_is_enabled() {
    let tree = v2_tree("cpu memory\n");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let _cg = host.create_unique("headroom-fixture").unwrap();
    let after = fs::read_to_string(tree.path().join("cgroup.subtree_control")).unwrap();
    assert_eq!(after, "cpu memory\n");
}

#[test]
fn limit_goes_to_memory_max_and_oom_disable_is_v1_only() {
    let tree = v2_tree("memory");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let cg = host.create_unique("headroom-fixture").unwrap();

    // The kernel has not populated the directory: a missing file is named in the error.
    let err = cg.set_memory_limit(Some(1 << 28)).unwrap_err();
    assert!(matches!(err, ControlError::FileMissing { .. }), "{err}");
    assert!(err.to_string().contains("memory.max"), "{err}");

    populate_v2(cg.path(), false);
    cg.set_memory_limit(Some(268_435_456)).unwrap();
    assert_eq!(fs::read_to_string(cg.file("memory.max")).unwrap(), "268435456");
    cg.set_memory_limit(None).unwrap();
    assert_eq!(fs::read_to_string(cg.file("memory.max")).unwrap(), "max");

    let err = cg.set_oom_kill_disable(true).unwrap_err();
    assert!(matches!(err, ControlError::Unsupported { .. }), "{err}");
}

#[test]
fn spawn_writes_pid_and_kill_uses_cgroup_kill_then_signals() {
    let tree = v2_tree("memory");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let cg = host.create_unique("headroom-fixture").unwrap();
    populate_v2(cg.path(), true);

    let mut child = cg.spawn("sleep", &["30"]).unwrap();
    // The shell writes its pid (= the exec'd sleep's pid) before exec.
    let pid = child.id() as i32;
    wait_listed(&cg, pid);

    // A fake cgroup.kill kills nothing; the SIGKILL fallback must still stop the process.
    let report = cg.kill_all().unwrap();
    assert!(report.used_cgroup_kill);
    assert_eq!(fs::read_to_string(cg.file("cgroup.kill")).unwrap(), "1");
    assert_eq!(report.sigkill, vec![pid]);
    let status = child.wait().unwrap();
    assert!(!status.success());

    let path = cg.path().to_path_buf();
    cg.teardown().unwrap();
    assert!(!path.exists());
}

#[test]
fn drop_removes_owned_cgroup_but_not_borrowed_one() {
    let tree = v2_tree("memory");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let path = {
        let cg = host.create_unique("headroom-fixture").unwrap();
        populate_v2(cg.path(), false);
        cg.path().to_path_buf()
    };
    assert!(!path.exists());

    fs::create_dir(tree.path().join("pod-x")).unwrap();
    fs::write(tree.path().join("pod-x/cgroup.procs"), "").unwrap();
    {
        let borrowed = headroom_linux::control::Cgroup::open(&host, Path::new("pod-x")).unwrap();
        let report = borrowed.terminate(std::time::Duration::from_millis(10)).unwrap();
        assert!(report.exited_in_grace);
    }
    assert!(tree.path().join("pod-x").is_dir());
}

#[test]
fn missing_cgroup_is_reported() {
    let tree = v2_tree("memory");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let err =
        headroom_linux::control::kill_pod(&host, Path::new("kubepods/pod-gone"), std::time::Duration::ZERO)
            .unwrap_err();
    assert!(matches!(err, ControlError::CgroupMissing { .. }), "{err}");
    assert!(err.to_string().contains("pod-gone"), "{err}");
}

#[test]
fn terminate_sends_sigterm_first() {
    let tree = v2_tree("memory");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let cg = host.create_unique("headroom-fixture").unwrap();
    populate_v2(cg.path(), false);
    let mut child = cg.spawn("sleep", &["30"]).unwrap();
    let pid = child.id() as i32;
    wait_listed(&cg, pid);
    let report = cg.terminate(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(report.sigterm, vec![pid]);
    assert!(report.sigkill.is_empty(), "{report:?}");
    assert!(report.exited_in_grace);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(child.wait().unwrap().signal(), Some(15));
}

/// The agent's kill: SIGTERM the processes its rails listed, bookkeeping, then the rest of the
/// kill sweeps the processes that came since (a fork), waits the grace from the FIRST signal,
/// and reports every pid signalled.
#[test]
fn a_first_sigterm_then_newcomers_then_the_grace() {
    use headroom_linux::control::{FirstSigterm, kill_pod_after};
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};
    let tree = v2_tree("memory");
    let host = CgroupHost::detect_at(tree.path()).unwrap();
    let cg = host.create_unique("headroom-fixture").unwrap();
    populate_v2(cg.path(), false);
    let mut first = cg.spawn("sleep", &["30"]).unwrap();
    let pa = first.id() as i32;
    wait_listed(&cg, pa);
    let sent = FirstSigterm::send(&[pa, 1, std::process::id() as i32]);
    // Never pid 1, never the agent itself.
    assert_eq!(sent.pids, vec![pa]);
    assert_eq!(first.wait().unwrap().signal(), Some(15));
    // A newcomer (the fake cgroup.procs now lists only it).
    let mut late = cg.spawn("sleep", &["30"]).unwrap();
    let pb = late.id() as i32;
    wait_listed(&cg, pb);
    let t0 = Instant::now();
    let report = kill_pod_after(&host, cg.path(), Duration::from_secs(5), sent).unwrap();
    assert_eq!(report.sigterm, vec![pa, pb]);
    assert!(report.sigkill.is_empty() && report.exited_in_grace, "{report:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(late.wait().unwrap().signal(), Some(15));

    // The pod stopped and its runtime removed the cgroup after the first SIGTERM: the kill
    // worked, it is not a vanished target.
    let gone = FirstSigterm {
        pids: vec![pb],
        at: Instant::now(),
    };
    let report = kill_pod_after(
        &host,
        Path::new("kubepods/pod-gone"),
        Duration::from_secs(1),
        gone,
    )
    .unwrap();
    assert!(report.exited_in_grace && report.sigterm == vec![pb], "{report:?}");
    // Nothing signalled first: a missing cgroup is still an error.
    let none = FirstSigterm {
        pids: Vec::new(),
        at: Instant::now(),
    };
    let err = kill_pod_after(
        &host,
        Path::new("kubepods/pod-gone"),
        Duration::from_secs(1),
        none,
    )
    .unwrap_err();
    assert!(err.cgroup_gone(), "{err}");
}
