//! Kernel tests for `headroom_linux::notify`: a v1 usage threshold on a test cgroup, and a PSI
//! trigger on /proc/pressure/memory. They need root and the cgroup v1 memory controller; with
//! HEADROOM_REQUIRE_KERNEL_TESTS=1 a missing prerequisite fails, otherwise the test skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Skip lines go to the real stderr: the test harness captures eprintln! of passing tests,
// which would hide them.
use std::io::Write as _;

use headroom_linux::notify::{FiredKind, Notifier, PsiKind, PsiTrigger, UsageThreshold, Watch};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const V1_MEMORY: &str = "/sys/fs/cgroup/memory";

/// Returns false (after one eprintln) when the test should skip; panics when it must not.
fn kernel_prerequisites(what: &str, path: &str) -> bool {
    let required = std::env::var("HEADROOM_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1");
    let root = rustix::process::geteuid().is_root();
    let present = Path::new(path).exists();
    if root && present {
        return true;
    }
    let why = format!("{what}: needs root and {path} (root={root}, present={present})");
    if required {
        panic!("HEADROOM_REQUIRE_KERNEL_TESTS=1 but {why}");
    }
    let _ = writeln!(std::io::stderr(), "skipping {why}");
    false
}

/// A uniquely named v1 memory cgroup removed on drop, after killing what the test started.
struct TestCgroup {
    path: PathBuf,
    pids: Vec<u32>,
}

impl TestCgroup {
    fn new(tag: &str) -> TestCgroup {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = Path::new(V1_MEMORY).join(format!("headroom-test-{}-{nanos}-{tag}", std::process::id()));
        std::fs::create_dir(&path).unwrap();
        TestCgroup {
            path,
            pids: Vec::new(),
        }
    }

    fn usage(&self) -> u64 {
        std::fs::read_to_string(self.path.join("memory.usage_in_bytes"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for pid in &self.pids {
            if let Some(pid) = rustix::process::Pid::from_raw(*pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let _ = std::fs::write(self.path.join("memory.force_empty"), "0");
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[test]
fn v1_usage_threshold_fires_when_a_process_inside_allocates_past_it() {
    if !kernel_prerequisites("v1 usage threshold test", V1_MEMORY) {
        return;
    }
    let cg = TestCgroup::new("notify");
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("fill");
    let base = cg.usage();
    let arm_at = base + 32 * 1024 * 1024;
    let mut n = Notifier::new();
    n.set(
        "test",
        Watch::Usage(UsageThreshold::arm(&cg.path, arm_at).unwrap()),
    );
    assert!(n.wait(Some(Duration::from_millis(50))).unwrap().is_empty());

    // Page cache is charged to the cgroup of the process that first touches it.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec dd if=/dev/zero of={} bs=1M count=64 status=none",
            cg.path.display(),
            file.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let t0 = Instant::now();
    let fired = n.wait(Some(Duration::from_secs(5))).unwrap();
    assert!(
        !fired.is_empty(),
        "no event within 5 s; usage now {} armed at {arm_at}",
        cg.usage()
    );
    match &fired[0].kind {
        FiredKind::UsageThreshold { cgroup, bytes, count } => {
            assert_eq!(cgroup, &cg.path);
            assert_eq!(*bytes, arm_at);
            assert!(*count >= 1);
        }
        other => panic!("unexpected event {other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(5));

    // Down again: removing the file uncharges its cache and crosses the other way.
    std::fs::remove_file(&file).unwrap();
    let fired = n.wait(Some(Duration::from_secs(5))).unwrap();
    assert!(
        fired
            .iter()
            .any(|f| matches!(f.kind, FiredKind::UsageThreshold { .. })),
        "no downward crossing; usage now {}",
        cg.usage()
    );
}

#[test]
fn psi_trigger_registers_on_proc_pressure_memory_with_fallback() {
    if !kernel_prerequisites("PSI trigger test", "/proc/pressure/memory") {
        return;
    }
    let path = Path::new("/proc/pressure/memory");
    // A 1 s window needs CAP_SYS_RESOURCE; without it the fallback widens to 2 s.
    let (trigger, note) = PsiTrigger::register_or_widen(
        path,
        PsiKind::Some,
        Duration::from_millis(150),
        Duration::from_secs(1),
    )
    .unwrap();
    if let Some(note) = &note {
        assert!(note.contains("2000000"), "{note}");
        assert_eq!(trigger.window(), Duration::from_secs(2));
    }
    let mut n = Notifier::new();
    n.set("psi", Watch::Psi(trigger));
    // Events (if any: the first one is often spurious) arrive on 2 s ticks; we only check the
    // wait works and reports PSI, never an error.
    for f in n.wait(Some(Duration::from_millis(100))).unwrap() {
        assert!(matches!(f.kind, FiredKind::Psi { .. }), "{f:?}");
    }
    // A second trigger on the same description is EBUSY: a new open per trigger is required,
    // which register() does.
    let again = PsiTrigger::register(
        path,
        PsiKind::Some,
        Duration::from_millis(150),
        Duration::from_secs(2),
    );
    assert!(again.is_ok(), "{:?}", again.err());
}

#[test]
fn psi_rejects_impossible_triggers_with_a_clear_error() {
    if !kernel_prerequisites("PSI trigger test", "/proc/pressure/memory") {
        return;
    }
    let err = PsiTrigger::register(
        Path::new("/proc/pressure/memory"),
        PsiKind::Some,
        Duration::from_secs(3),
        Duration::from_secs(2),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("some 3000000 2000000"), "{err}");
    assert!(err.contains("/proc/pressure/memory"), "{err}");
}
