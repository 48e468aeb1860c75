//! Real-kernel tests (root + cgroup v1 memory controller; required in CI with
//! HEADROOM_REQUIRE_KERNEL_TESTS=1, skipped with a note otherwise).
//!
//! A test parent holds a cgroupfs-style `kubepods` tree that serves as the pod cgroup root.
//! Real processes run in the container cgroups: anonymous memory (this test binary re-executed
//! as an allocator) and page cache (a file written, then read twice). headroom's working set
//! must equal `memory.usage_in_bytes - total_inactive_file` read from the kernel files at the
//! same moment, and move as the kernel's LRU does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::cgroups::{TestCgroups, in_cgroup, skip_unless_kernel};
use headroom_linux::collect::{CollectOptions, Collector, NodeSnapshot};
use headroom_linux::discovery::Qos;
use headroom_linux::memcg::StatMap;

const MIB: u64 = 1 << 20;
const ALLOC_ENV: &str = "HEADROOM_TEST_ALLOC_MIB";

/// Not a test of its own: when re-executed with HEADROOM_TEST_ALLOC_MIB=N this allocates and
/// touches N MiB, says so, and holds it until its stdin closes.
#[test]
fn alloc_helper() {
    let Ok(mib) = std::env::var(ALLOC_ENV) else {
        return;
    };
    let mib: usize = mib.parse().unwrap();
    // Never outlive a parent that forgot us.
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(120));
        std::process::exit(0);
    });
    let block = vec![0x5au8; mib << 20];
    // libtest prints "test alloc_helper ... " without a newline first: start a line.
    println!("\nheadroom-alloc-ready {}", block.len());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    std::hint::black_box(&block);
}

/// Kernel's own figures for one cgroup: `usage - total_inactive_file`.
fn kernel_ws(cg: &Path) -> (u64, u64) {
    let usage: u64 = std::fs::read_to_string(cg.join("memory.usage_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stat = StatMap::parse(&std::fs::read_to_string(cg.join("memory.stat")).unwrap());
    let inactive = stat.get("total_inactive_file").unwrap();
    (usage, usage.saturating_sub(inactive))
}

fn collector(t: &TestCgroups) -> Collector {
    Collector::new(CollectOptions {
        pod_cgroup_root: Some(format!("{}/kubepods", t.name)),
        ..Default::default()
    })
    .unwrap()
}

/// Collect until the kernel figures of `cg` are the same just before and just after the pass
/// (nothing else moves them: the processes are idle), then return the pass.
fn settled(c: &mut Collector, cg: &Path) -> (NodeSnapshot, u64, u64) {
    for _ in 0..20 {
        let before = kernel_ws(cg);
        let snap = c.collect().unwrap();
        let after = kernel_ws(cg);
        if before == after {
            return (snap, before.0, before.1);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{}: kernel figures never settled", cg.display());
}

fn container<'a>(snap: &'a NodeSnapshot, uid: &str) -> &'a headroom_linux::memcg::MemoryBreakdown {
    let pod = snap.pods.iter().find(|p| p.uid == uid).unwrap();
    &pod.containers[0].memory
}

#[test]
fn anonymous_memory_is_working_set() {
    if skip_unless_kernel("anonymous_memory_is_working_set") {
        return;
    }
    let mut t = TestCgroups::new("test");
    let cg = t.mkdir("kubepods/burstable/podanon-1/c1");
    t.mkdir("kubepods/besteffort/podidle-2/c2");
    let exe = std::env::current_exe().unwrap();
    let script = in_cgroup(&cg, "\"$0\" alloc_helper --exact --nocapture --test-threads=1");
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&exe)
        .env(ALLOC_ENV, "48")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = t.adopt(child);
    let out = BufReader::new(child.stdout.take().unwrap());
    let ready = out
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("headroom-alloc-ready"));
    assert!(ready, "allocator never became ready");

    let mut c = collector(&t);
    let (snap, usage, ws) = settled(&mut c, &cg);
    let m = container(&snap, "anon-1");
    assert_eq!(m.usage, usage);
    assert_eq!(m.working_set, ws, "headroom WS = usage - total_inactive_file");
    assert!(m.rss >= 48 * MIB, "rss {} < 48 MiB", m.rss);
    assert!(m.working_set >= 48 * MIB);
    let pod = snap.pods.iter().find(|p| p.uid == "anon-1").unwrap();
    assert_eq!(pod.qos, Qos::Burstable);
    assert!(pod.memory.working_set >= 48 * MIB, "pod is hierarchical");
    // The Summary carries the same numbers, and the limit-less cgroups have no availableBytes.
    let sp = snap
        .summary
        .pods
        .iter()
        .find(|p| p.pod_ref.uid == "anon-1")
        .unwrap();
    let sm = sp.containers[0].memory.as_ref().unwrap();
    assert_eq!(sm.working_set_bytes, Some(ws));
    assert_eq!(sm.available_bytes, None);
    let pods = snap.pods_cgroup.as_ref().unwrap();
    assert!(pods.memory.working_set >= 48 * MIB);
    assert!(
        snap.pods
            .iter()
            .any(|p| p.uid == "idle-2" && p.qos == Qos::BestEffort)
    );
    assert!(snap.node.as_ref().unwrap().working_set > 0);
}

#[test]
fn page_cache_moves_from_inactive_to_active_on_the_second_read() {
    if skip_unless_kernel("page_cache_moves_from_inactive_to_active_on_the_second_read") {
        return;
    }
    let dir = Path::new("/var/tmp");
    let fs = rustix::fs::statfs(dir).unwrap().f_type as u64;
    assert_ne!(
        fs,
        headroom_linux::layout::TMPFS_MAGIC,
        "/var/tmp is tmpfs: page cache there is shmem"
    );
    let file = tempfile::Builder::new()
        .prefix("headroom-test-cache-")
        .tempfile_in(dir)
        .unwrap();
    let mut t = TestCgroups::new("test");
    let cg = t.mkdir("kubepods/podcache-1/c1");
    // A limit makes availableBytes appear for the container.
    std::fs::write(cg.join("memory.limit_in_bytes"), (512 * MIB).to_string()).unwrap();
    let run = |cmd: String| {
        let st = Command::new("sh")
            .arg("-c")
            .arg(in_cgroup(&cg, &cmd))
            .status()
            .unwrap();
        assert!(st.success(), "{cmd}");
    };
    let path = file.path().display().to_string();
    run(format!(
        "dd if=/dev/zero of='{path}' bs=1M count=64 conv=fsync status=none"
    ));

    let mut c = collector(&t);
    let (snap, usage, ws) = settled(&mut c, &cg);
    let written = container(&snap, "cache-1").clone();
    assert_eq!((written.usage, written.working_set), (usage, ws));
    assert!(
        written.inactive_file.unwrap() >= 60 * MIB,
        "written pages start inactive: {written:?}"
    );
    assert!(
        written.working_set < 32 * MIB,
        "cache is not working set yet: {written:?}"
    );
    let sm = &snap.summary.pods[0].containers[0].memory.as_ref().unwrap();
    assert_eq!(sm.available_bytes, Some(512 * MIB - ws));

    run(format!("cat '{path}' > /dev/null"));
    run(format!("cat '{path}' > /dev/null"));
    let (snap, usage, ws) = settled(&mut c, &cg);
    let read = container(&snap, "cache-1");
    assert_eq!((read.usage, read.working_set), (usage, ws));
    assert!(
        read.active_file >= 60 * MIB,
        "second read activates the pages: {read:?}"
    );
    assert!(
        read.working_set >= written.working_set + 56 * MIB,
        "active cache counts as working set: {} -> {}",
        written.working_set,
        read.working_set
    );
    // Parents read after children carry at least the child's figures.
    let pod = snap.pods.iter().find(|p| p.uid == "cache-1").unwrap();
    assert_eq!(pod.qos, Qos::Guaranteed);
    assert!(pod.memory.active_file >= read.active_file);
    drop(file);
}

#[test]
fn live_layout_finds_the_v1_memory_hierarchy() {
    if skip_unless_kernel("live_layout_finds_the_v1_memory_hierarchy") {
        return;
    }
    let c = Collector::new(CollectOptions::default()).unwrap();
    let layout = c.layout();
    assert_eq!(layout.source, headroom_linux::layout::EvidenceSource::Statfs);
    assert!(!layout.mode.is_v2(), "v1 memory controller present: {layout:?}");
    assert_eq!(layout.memory_root, Path::new(common::cgroups::V1_MEMORY));
    assert_eq!(
        layout.evidence.cgroup_fs_type,
        Some(headroom_linux::layout::TMPFS_MAGIC)
    );
}
