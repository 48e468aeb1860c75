//! Collection pass benchmark: headroom's full pass vs. a floor (the very same files read by a
//! minimal open/read/close loop, the very same paths stat'ed for creation times), side by
//! side in one run, on
//!   (a) 110 pods x 3 containers and (b) 10,000 cgroups (2,500 pods x 3 containers),
//! each as a fake tree on disk and, when running as root with the cgroup v1 memory controller,
//! as real v1 cgroups (created under a unique test parent and removed at the end).
//! Peak memory: a fresh process (this binary re-executed) does only `Collector::new` + one pass
//! and reports its VmHWM.
//!
//! Run: `cargo bench -p headroom-linux --bench collect` (add `-- --quick` for fewer rounds).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/cgroups.rs"]
mod cgroups;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::root::{HostRoot, read_into};
use headroom_linux::test_support;

const CHILD_ENV: &str = "HEADROOM_BENCH_CHILD";

/// A fake v1 host with a kubepods tree: the shared builder, plus the files only this bench's
/// collection reads (memsw limits, the creation-time witness, threads-max).
fn fake_tree(dir: &Path, pods: usize) {
    let mem = test_support::v1_memory_root(dir);
    let mut cgs: Vec<PathBuf> = vec![mem.clone(), mem.join("kubepods")];
    cgs.extend(
        test_support::pod_cgroups(pods)
            .iter()
            .map(|c| mem.join("kubepods").join(c)),
    );
    test_support::write_v1_host(dir, &cgs).unwrap();
    test_support::write(&dir.join("proc/sys/kernel/threads-max"), "192000\n").unwrap();
    for cg in cgs {
        for (f, v) in [
            ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
            // Not read: stat'ed for the creation time, as on a real v1 cgroup.
            ("cgroup.clone_children", "0\n"),
        ] {
            std::fs::write(cg.join(f), v).unwrap();
        }
    }
}

fn options(root: HostRoot, pod_root: &str) -> CollectOptions {
    CollectOptions {
        root,
        pod_cgroup_root: Some(pod_root.to_string()),
        nodefs: Some(PathBuf::from("/var/lib/kubelet")),
        imagefs: Some(PathBuf::from("/var/lib/containerd")),
        node_name: Some("bench".into()),
        keep_stat_maps: false,
        kubelet_psi_off: false,
    }
}

/// What one pass touches, in order: the files it reads and the paths it stats (cgroup
/// directories and witness files, for creation times).
struct Touched {
    files: Vec<PathBuf>,
    stated: Vec<PathBuf>,
}

/// What one pass touches, and how many pod/container cgroups it found.
fn touched_by_a_pass(opts: &CollectOptions) -> (Touched, usize) {
    let mut c = Collector::new(opts.clone()).unwrap();
    c.start_recording();
    let snap = c.collect().unwrap();
    let files = c.take_recorded().into_iter().map(|f| f.path).collect();
    let stated = c.take_stated();
    let cgroups = snap.pods.iter().map(|p| 1 + p.containers.len()).sum();
    (Touched { files, stated }, cgroups)
}

/// The floor: the same files read with bare open/read/close, the same paths stat'ed for
/// their modification time.
fn floor_pass(touched: &Touched, buf: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for f in &touched.files {
        if read_into(f, buf).is_ok() {
            total += buf.len();
        }
    }
    for p in &touched.stated {
        if std::fs::metadata(p).and_then(|m| m.modified()).is_ok() {
            total += 1;
        }
    }
    total
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Alternate floor and full pass `rounds` times; return (floor, pass) medians.
fn measure(opts: &CollectOptions, rounds: usize) -> (Duration, Duration, usize, usize, usize) {
    let (touched, cgroups) = touched_by_a_pass(opts);
    let mut collector = Collector::new(opts.clone()).unwrap();
    let mut buf = Vec::with_capacity(16 * 1024);
    let (mut floor, mut pass) = (Vec::new(), Vec::new());
    // Warm-up (dentry cache, allocator).
    floor_pass(&touched, &mut buf);
    std::hint::black_box(collector.collect().unwrap());
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(floor_pass(&touched, &mut buf));
        floor.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(collector.collect().unwrap());
        pass.push(t.elapsed());
    }
    (
        median(floor),
        median(pass),
        touched.files.len(),
        touched.stated.len(),
        cgroups,
    )
}

/// VmHWM (KiB) of a fresh process doing only one pass (`pass`) or nothing (`idle`).
fn peak_rss_kib(root: &Path, pod_root: &str, mode: &str) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, format!("{mode}\n{}\n{pod_root}", root.display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("child said {text:?}"))
}

fn child(spec: &str) {
    let mut parts = spec.lines();
    let mode = parts.next().unwrap();
    let root = parts.next().unwrap();
    let pod_root = parts.next().unwrap();
    if mode == "pass" {
        let host = if root == "/" {
            HostRoot::live()
        } else {
            HostRoot::dir(root)
        };
        let mut c = Collector::new(options(host, pod_root)).unwrap();
        let snap = c.collect().unwrap();
        std::hint::black_box(&snap);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap();
    println!("{hwm}");
}

fn report(label: &str, opts: &CollectOptions, rounds: usize, rss: (u64, u64)) {
    let (floor, pass, files, stats, cgroups) = measure(opts, rounds);
    let ratio = pass.as_secs_f64() / floor.as_secs_f64();
    println!(
        "{label:<42} {cgroups:>6} pod+ctr cgroups {files:>6} files {stats:>6} stats  floor {:>8.2} ms  pass {:>8.2} ms  \
         ratio {ratio:>4.2}x  peak RSS {:.1} MiB (idle process {:.1} MiB)",
        floor.as_secs_f64() * 1e3,
        pass.as_secs_f64() * 1e3,
        rss.1 as f64 / 1024.0,
        rss.0 as f64 / 1024.0,
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = |n: usize| if quick { 3 } else { n };
    println!(
        "collection pass: median of N alternating rounds; floor = the same files, open/read/close \
         only, and the same stats"
    );
    for (label, pods, n) in [
        ("110 pods x 3 containers", 110usize, 30usize),
        ("10,000 cgroups (2,500 pods x 3)", 2500, 7),
    ] {
        let tmp = tempfile::Builder::new()
            .prefix("headroom-bench-")
            .tempdir_in("/var/tmp")
            .unwrap();
        fake_tree(tmp.path(), pods);
        let opts = options(HostRoot::dir(tmp.path()), "/kubepods");
        let rss = (
            peak_rss_kib(tmp.path(), "/kubepods", "idle"),
            peak_rss_kib(tmp.path(), "/kubepods", "pass"),
        );
        report(&format!("fake tree, {label}"), &opts, rounds(n), rss);

        if let Some(why) = cgroups::missing_prerequisite() {
            println!("real v1, {label}: skipped ({why})");
            continue;
        }
        let mut t = cgroups::TestCgroups::new("bench");
        for cg in test_support::pod_cgroups(pods) {
            t.mkdir(&format!("kubepods/{cg}"));
        }
        let pod_root = format!("{}/kubepods", t.name);
        let opts = options(HostRoot::live(), &pod_root);
        let rss = (
            peak_rss_kib(Path::new("/"), &pod_root, "idle"),
            peak_rss_kib(Path::new("/"), &pod_root, "pass"),
        );
        report(&format!("real v1, {label}"), &opts, rounds(n), rss);
    }
}
