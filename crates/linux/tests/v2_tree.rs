//! Constructed cgroup v2 trees (the v2 memory controller cannot be enabled on the test
//! machines): node root with `anon + file` emulation, a kubepods cgroup with a limit, both
//! kubelet cgroup drivers, all QoS classes, cgroups that vanish mid-scan and junk files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use headroom_core::summary::SYSTEM_CONTAINER_PODS;
use headroom_linux::collect::{CollectOptions, Collector, NodeSnapshot, PodPassReads};
use headroom_linux::discovery::Qos;
use headroom_linux::layout::CgroupMode;
use headroom_linux::root::HostRoot;

const MIB: u64 = 1 << 20;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A non-root v2 memory cgroup.
fn cgroup(dir: &Path, current: u64, max: Option<u64>, anon: u64, inactive_file: u64) {
    write(dir, "memory.current", &format!("{current}\n"));
    write(
        dir,
        "memory.max",
        &max.map_or("max\n".to_string(), |m| format!("{m}\n")),
    );
    write(
        dir,
        "memory.stat",
        &format!(
            "anon {anon}\nfile {}\nkernel 4096\nfile_mapped 0\nactive_file 0\n\
             inactive_file {inactive_file}\nunknown_new_key 7\npgfault 100\npgmajfault 2\n",
            current - anon
        ),
    );
    write(dir, "memory.events", "low 0\nhigh 0\nmax 1\noom 0\noom_kill 0\n");
    write(
        dir,
        "memory.pressure",
        "some avg10=0.50 avg60=0.10 avg300=0.00 total=1500\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=700\n",
    );
}

/// Paths of the pod cgroups for one driver: (pods root, guaranteed pod, burstable pod + two
/// containers, besteffort pod + container, a listed-then-removed pod, junk container).
struct Driver {
    pods_root: &'static str,
    guaranteed: &'static str,
    guaranteed_c: &'static str,
    burstable: &'static str,
    burstable_c: [&'static str; 2],
    besteffort: &'static str,
    besteffort_c: &'static str,
    gone: &'static str,
    junk_c: &'static str,
}

const CGROUPFS: Driver = Driver {
    pods_root: "kubepods",
    guaranteed: "kubepods/pod11111111-aaaa",
    guaranteed_c: "kubepods/pod11111111-aaaa/c0ffee01",
    burstable: "kubepods/burstable/pod22222222-bbbb",
    burstable_c: [
        "kubepods/burstable/pod22222222-bbbb/c0ffee02",
        "kubepods/burstable/pod22222222-bbbb/c0ffee03",
    ],
    besteffort: "kubepods/besteffort/pod33333333-cccc",
    besteffort_c: "kubepods/besteffort/pod33333333-cccc/c0ffee04",
    gone: "kubepods/besteffort/pod44444444-dddd",
    junk_c: "kubepods/besteffort/pod33333333-cccc/c0ffee05",
};

const SYSTEMD: Driver = Driver {
    pods_root: "kubepods.slice",
    guaranteed: "kubepods.slice/kubepods-pod11111111_aaaa.slice",
    guaranteed_c: "kubepods.slice/kubepods-pod11111111_aaaa.slice/cri-containerd-c0ffee01.scope",
    burstable: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod22222222_bbbb.slice",
    burstable_c: [
        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod22222222_bbbb.slice/crio-c0ffee02.scope",
        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod22222222_bbbb.slice/crio-c0ffee03.scope",
    ],
    besteffort: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod33333333_cccc.slice",
    besteffort_c: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod33333333_cccc.slice/docker-c0ffee04.scope",
    gone: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod44444444_dddd.slice",
    junk_c: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod33333333_cccc.slice/docker-c0ffee05.scope",
};

fn build(dir: &Path, d: &Driver) {
    let cg = dir.join("sys/fs/cgroup");
    write(&cg, "cgroup.controllers", "cpuset cpu io memory pids\n");
    // Root: no memory.current; usage = anon + file = 1000 MiB; WS = 1000 - 400 = 600 MiB.
    write(
        &cg,
        "memory.stat",
        &format!(
            "anon {}\nfile {}\nkernel {}\nactive_file {}\ninactive_file {}\npgfault 9\npgmajfault 1\n",
            300 * MIB,
            700 * MIB,
            50 * MIB,
            250 * MIB,
            400 * MIB
        ),
    );
    write(
        &cg,
        "memory.pressure",
        "some avg10=2.00 avg60=1.00 avg300=0.50 total=99\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=33\n",
    );
    write(
        &dir.join("proc"),
        "meminfo",
        "MemTotal:        4000000 kB\nMemFree:         1000000 kB\nMemAvailable:    2500000 kB\n\
         Buffers:           10000 kB\nCached:          700000 kB\nSwapTotal:       1000000 kB\n\
         SwapFree:         999000 kB\nSReclaimable:     50000 kB\nShmem:             1000 kB\n",
    );
    write(
        &dir.join("proc"),
        "pressure/memory",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=2\n",
    );
    write(&dir.join("proc/sys/kernel"), "pid_max", "4194304\n");
    write(&dir.join("proc/sys/kernel"), "threads-max", "100000\n");
    write(&dir.join("proc/sys/kernel"), "hostname", "node-a\n");
    write(&dir.join("proc"), "loadavg", "0.1 0.2 0.3 3/321 999\n");

    cgroup(
        &cg.join(d.pods_root),
        900 * MIB,
        Some(3000 * MIB),
        500 * MIB,
        200 * MIB,
    );
    cgroup(
        &cg.join(d.guaranteed),
        200 * MIB,
        Some(256 * MIB),
        150 * MIB,
        20 * MIB,
    );
    cgroup(
        &cg.join(d.guaranteed_c),
        190 * MIB,
        Some(256 * MIB),
        150 * MIB,
        20 * MIB,
    );
    cgroup(&cg.join(d.burstable), 300 * MIB, None, 100 * MIB, 150 * MIB);
    cgroup(
        &cg.join(d.burstable_c[0]),
        100 * MIB,
        Some(512 * MIB),
        50 * MIB,
        50 * MIB,
    );
    cgroup(&cg.join(d.burstable_c[1]), 190 * MIB, None, 50 * MIB, 100 * MIB);
    cgroup(&cg.join(d.besteffort), 50 * MIB, None, 10 * MIB, 60 * MIB); // inactive > usage
    cgroup(&cg.join(d.besteffort_c), 40 * MIB, None, 10 * MIB, 10 * MIB);
    // Listed by the directory walk but its files are gone (removed mid-scan).
    std::fs::create_dir_all(cg.join(d.gone)).unwrap();
    // A container whose memory.current is junk.
    cgroup(&cg.join(d.junk_c), 10 * MIB, None, 1, 1);
    write(&cg.join(d.junk_c), "memory.current", "garbage\n");
    // CRI-O conmon cgroup next to the containers: not a container.
    if d.pods_root == "kubepods.slice" {
        cgroup(
            &cg.join(d.burstable).join("crio-conmon-c0ffee02.scope"),
            MIB,
            None,
            1,
            1,
        );
    }
}

fn collect(dir: &Path) -> NodeSnapshot {
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(dir),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.layout().mode, CgroupMode::Unified);
    c.collect().unwrap()
}

fn check(d: &Driver) {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), d);
    let snap = collect(tmp.path());
    let s = &snap.summary;

    // Node: v2 root emulation, capacity = MemTotal, swap from meminfo, PSI from the root.
    let capacity = 4_000_000 * 1024;
    let node = s.node.memory.as_ref().unwrap();
    assert_eq!(node.usage_bytes, Some(1000 * MIB));
    assert_eq!(node.working_set_bytes, Some(600 * MIB));
    assert_eq!(node.available_bytes, Some(capacity - 600 * MIB));
    assert_eq!(node.rss_bytes, Some(300 * MIB));
    assert_eq!((node.page_faults, node.major_page_faults), (Some(9), Some(1)));
    let psi = node.psi.as_ref().unwrap();
    assert_eq!((psi.some.total, psi.full.total, psi.some.avg10), (99, 33, 2.0));
    let swap = s.node.swap.as_ref().unwrap();
    assert_eq!(swap.swap_usage_bytes, Some(1000 * 1024));
    assert_eq!(swap.swap_available_bytes, Some(999_000 * 1024));
    assert_eq!(s.node.node_name, "node-a");
    let rl = s.node.rlimit.as_ref().unwrap();
    assert_eq!((rl.maxpid, rl.curproc), (Some(100_000), Some(321)));
    assert_eq!(snap.psi.unwrap().some.total, 5);
    assert_eq!(snap.free.unwrap().used, (4_000_000 - 2_500_000) * 1024);

    // The pods system container: its own limit.
    let pods = s.node.system_container(SYSTEM_CONTAINER_PODS).unwrap();
    let pm = pods.memory.as_ref().unwrap();
    assert_eq!(pm.working_set_bytes, Some(700 * MIB));
    assert_eq!(pm.available_bytes, Some(2300 * MIB));
    assert_eq!(
        snap.pods_cgroup.as_ref().unwrap().cgroup,
        format!("/{}", d.pods_root)
    );

    // Pods: the removed one is skipped; order is the walk's.
    let uids: Vec<_> = snap.pods.iter().map(|p| (p.uid.as_str(), p.qos)).collect();
    assert_eq!(
        uids,
        [
            ("33333333-cccc", Qos::BestEffort),
            ("22222222-bbbb", Qos::Burstable),
            ("11111111-aaaa", Qos::Guaranteed),
        ]
    );
    let by_uid = |uid: &str| s.pods.iter().find(|p| p.pod_ref.uid == uid).unwrap();
    let g = by_uid("11111111-aaaa");
    let gm = g.memory.as_ref().unwrap();
    assert_eq!(gm.working_set_bytes, Some(180 * MIB));
    assert_eq!(gm.available_bytes, Some(76 * MIB));
    assert_eq!(g.containers.len(), 1);
    assert_eq!(g.containers[0].name, "c0ffee01");
    assert!(g.containers[0].memory.as_ref().unwrap().psi.is_some());
    let b = by_uid("22222222-bbbb");
    assert_eq!(b.memory.as_ref().unwrap().available_bytes, None, "no pod limit");
    let names: Vec<_> = b.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c0ffee02", "c0ffee03"]);
    assert_eq!(
        b.containers[0].memory.as_ref().unwrap().available_bytes,
        Some(462 * MIB)
    );
    let e = by_uid("33333333-cccc");
    assert_eq!(
        e.memory.as_ref().unwrap().working_set_bytes,
        Some(0),
        "inactive_file > usage clamps to 0"
    );
    // The junk container is skipped, its sibling kept.
    assert_eq!(e.containers.len(), 1);
    assert!(
        snap.skipped.iter().any(
            |k| k.path.to_string_lossy().contains("c0ffee05") && k.reason.to_string().contains("garbage")
        ),
        "{:#?}",
        snap.skipped
    );
    assert!(
        snap.skipped
            .iter()
            .any(|k| k.path.to_string_lossy().contains("44444444")
                && k.reason.to_string().contains("vanished")),
        "{:#?}",
        snap.skipped
    );
    // Breakdown detail for status.
    let gp = snap.pods.iter().find(|p| p.qos == Qos::Guaranteed).unwrap();
    assert_eq!(gp.memory.kernel, Some(4096));
    assert_eq!(gp.memory.events.unwrap().max, 1);
    // The JSON is what `simulate` reads: it parses back to the same Summary.
    let json = serde_json::to_string(s).unwrap();
    let back: headroom_core::summary::Summary = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, s);
}

#[test]
fn cgroupfs_driver_tree() {
    check(&CGROUPFS);
}

#[test]
fn systemd_driver_tree() {
    check(&SYSTEMD);
}

#[test]
fn configured_pod_cgroup_root_and_missing_fs_notes() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), &CGROUPFS);
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        pod_cgroup_root: Some("kubepods/burstable/".into()),
        ..Default::default()
    })
    .unwrap();
    let snap = c.collect().unwrap();
    // Under "burstable" the pod dirs are Guaranteed-shaped (directly under the root).
    assert_eq!(snap.pods.len(), 1);
    assert_eq!(snap.pods[0].uid, "22222222-bbbb");
    assert!(snap.summary.node.fs.is_none());
    assert!(
        snap.skipped
            .iter()
            .any(|k| k.reason.to_string().contains("nodefs"))
    );
}

#[test]
fn junk_and_truncated_files_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), &CGROUPFS);
    let cg = tmp.path().join("sys/fs/cgroup");
    // Truncated memory.stat: the half line is dropped, the rest kept.
    write(
        &cg.join(CGROUPFS.guaranteed),
        "memory.stat",
        "anon 1000\nfile 2000\ninactive_file 500\nactive_fi",
    );
    write(&cg.join(CGROUPFS.burstable), "memory.max", "\u{0}\u{1}junk");
    write(&cg.join(CGROUPFS.besteffort), "memory.pressure", "some avg10");
    std::fs::write(
        cg.join(CGROUPFS.besteffort_c).join("memory.stat"),
        [0xff, 0xfe, 0x00],
    )
    .unwrap();
    write(
        &tmp.path().join("proc"),
        "meminfo",
        "MemTotal: 4000000 kB\nÄÖ: 12\nMemFree 5\n",
    );
    write(&tmp.path().join("proc"), "loadavg", "");
    let snap = collect(tmp.path());
    let g = snap.pods.iter().find(|p| p.qos == Qos::Guaranteed).unwrap();
    assert_eq!(g.memory.working_set, 200 * MIB - 500);
    assert_eq!(g.memory.malformed_stat_lines, 1);
    // Junk optional memory.max: treated as unlimited (cAdvisor's readUInt64 gives 0/absent).
    let b = snap.pods.iter().find(|p| p.qos == Qos::Burstable).unwrap();
    assert_eq!(b.memory.available(), None);
    let e = snap.pods.iter().find(|p| p.qos == Qos::BestEffort).unwrap();
    assert_eq!(e.memory.psi, None);
    assert!(e.containers.is_empty());
    assert!(
        snap.skipped
            .iter()
            .any(|k| k.reason.to_string().contains("not text"))
    );
    assert!(
        snap.skipped
            .iter()
            .any(|k| k.reason.to_string().contains("malformed"))
    );
    assert_eq!(snap.summary.node.rlimit.as_ref().unwrap().curproc, None);
    assert_eq!(
        snap.summary.node.memory.as_ref().unwrap().available_bytes,
        Some(4_000_000 * 1024 - 600 * MIB)
    );
}

#[test]
fn an_empty_directory_is_not_a_host() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    })
    .unwrap()
    .collect()
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("does not look like a host root"), "{msg}");
    assert!(msg.contains("proc/meminfo"), "{msg}");
}

#[test]
fn capture_of_a_v2_tree_reads_back_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    build(&host, &SYSTEMD);
    let opts = CollectOptions {
        root: HostRoot::dir(&host),
        ..Default::default()
    };
    for out in ["out", "out.tar.gz"] {
        let out = tmp.path().join(out);
        let report = headroom_linux::capture::capture(opts.clone(), &out).unwrap();
        let opened = headroom_linux::capture::open_root(Some(&out)).unwrap();
        let again = Collector::new(CollectOptions {
            root: opened.root.clone(),
            ..Default::default()
        })
        .unwrap()
        .collect()
        .unwrap();
        assert_eq!(again.layout.mode, CgroupMode::Unified);
        assert_eq!(again.summary, report.snapshot.summary);
        assert_eq!(again.pods.len(), 3);
        // The vanished pod and the junk container stay skipped on the other side too.
        assert!(!again.skipped.is_empty());
    }
}

/// A collector on a fresh tree of driver `d` (keep the directory alive).
fn built(d: &Driver) -> (tempfile::TempDir, Collector) {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), d);
    let c = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    })
    .unwrap();
    (tmp, c)
}

#[test]
fn light_pass_reads_the_node_and_the_pod_cgroup_root_only() {
    for d in [&CGROUPFS, &SYSTEMD] {
        let (_tmp, mut c) = built(d);
        // One clock for both passes: creation times count only before it.
        let now = jiff::Timestamp::now();
        let full = c.collect_at(now).unwrap();
        let light = c.collect_light_at(now).unwrap();
        assert!(!full.pods.is_empty());
        assert!(light.pods.is_empty() && light.summary.pods.is_empty());
        // Every node-level figure is the full pass's (a static tree: no lag to differ by).
        assert_eq!(light.summary.node, full.summary.node);
        assert_eq!(
            light.pods_cgroup.as_ref().map(|p| &p.memory),
            full.pods_cgroup.as_ref().map(|p| &p.memory)
        );
        assert_eq!(light.node, full.node);
    }
}

/// The names of the files read since the last call (the collector records).
fn read_names(c: &mut Collector) -> Vec<String> {
    c.take_recorded()
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn pod_level_pass_reads_only_the_decisions_files() {
    for d in [&CGROUPFS, &SYSTEMD] {
        let (_tmp, mut c) = built(d);
        let now = jiff::Timestamp::now();
        let full = c.collect_at(now).unwrap();
        c.start_recording();
        let _ = c.take_recorded();
        let fast = c.collect_pods_at(now, PodPassReads::ALL).unwrap();
        let names = read_names(&mut c);
        for skipped in [
            "memory.peak",
            "memory.swap.current",
            "memory.swap.max",
            "memory.events",
            "memory.pressure",
        ] {
            assert!(!names.iter().any(|n| n == skipped), "{skipped} read: {names:?}");
        }
        assert!(names.iter().any(|n| n == "memory.current"), "{names:?}");
        assert!(!names.iter().any(|n| n == "memory"), "node PSI read: {names:?}");
        // The figures the eviction signals and the memory ranking read are the full pass's.
        let mem = |m: Option<&headroom_core::summary::MemoryStats>| {
            m.map(|m| (m.available_bytes, m.usage_bytes, m.working_set_bytes))
        };
        assert_eq!(
            mem(fast.summary.node.memory.as_ref()),
            mem(full.summary.node.memory.as_ref())
        );
        let pods = |s: &NodeSnapshot| {
            mem(s
                .summary
                .node
                .system_container(SYSTEM_CONTAINER_PODS)
                .and_then(|c| c.memory.as_ref()))
        };
        assert_eq!(pods(&fast), pods(&full));
        assert_eq!(fast.summary.pods.len(), full.summary.pods.len());
        for (f, l) in full.summary.pods.iter().zip(&fast.summary.pods) {
            assert_eq!(f.pod_ref.uid, l.pod_ref.uid);
            assert_eq!(mem(l.memory.as_ref()), mem(f.memory.as_ref()));
            assert!(l.containers.is_empty());
        }
        assert_eq!(fast.summary.node.rlimit, full.summary.node.rlimit);
        assert_eq!(fast.summary.node.fs, full.summary.node.fs);
        // Without a pid or filesystem threshold: no pid files, no statvfs.
        let none = PodPassReads {
            pids: false,
            filesystems: false,
        };
        let bare = c.collect_pods_at(now, none).unwrap();
        let names = read_names(&mut c);
        for skipped in ["pid_max", "threads-max", "loadavg"] {
            assert!(!names.iter().any(|n| n == skipped), "{skipped} read: {names:?}");
        }
        let rlimit = bare.summary.node.rlimit.as_ref();
        assert!(
            rlimit.is_none_or(|r| r.maxpid.is_none() && r.curproc.is_none()),
            "{rlimit:?}"
        );
        assert_eq!(bare.summary.node.fs, None);
        assert_eq!(pods(&bare), pods(&full));
        // The next full pass reads everything again.
        let again = c.collect_at(now).unwrap();
        assert_eq!(again.summary, full.summary);
    }
}
