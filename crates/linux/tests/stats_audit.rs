//! Summary fields checked against the kubelet's stats provider and cAdvisor, one rule per test,
//! on small constructed trees (v1 from the real captured root plus a kubepods subtree; v2
//! built from scratch). Each test names the upstream rule it pins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::sample_host;

use std::path::Path;

use headroom_core::summary::{SYSTEM_CONTAINER_PODS, Summary, SwapStats};
use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::layout::CgroupMode;
use headroom_linux::root::HostRoot;

const MIB: u64 = 1 << 20;
/// What a v1 kernel prints for "no limit".
const V1_NO_LIMIT: &str = "9223372036854771712\n";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A host tree whose v1 root is the captured sample; the caller adds kubepods below it.
fn v1_host(dir: &Path) -> std::path::PathBuf {
    sample_host::v1_sample_host(dir, sample_host::RootFiles::Basic)
}

/// A v1 memory cgroup. `memsw_limit: None` is a kernel booted with swap accounting off
/// (`swapaccount=0`, the Debian/Ubuntu default on v1): no `memory.memsw.*` files.
fn v1_cgroup(dir: &Path, usage: u64, limit: Option<u64>, swap: u64, memsw_limit: Option<u64>) {
    write(dir, "memory.usage_in_bytes", &format!("{usage}\n"));
    write(dir, "memory.max_usage_in_bytes", &format!("{usage}\n"));
    write(dir, "memory.failcnt", "0\n");
    write(
        dir,
        "memory.limit_in_bytes",
        &limit.map_or(V1_NO_LIMIT.to_string(), |l| format!("{l}\n")),
    );
    write(dir, "memory.use_hierarchy", "1\n");
    let swap_keys = if memsw_limit.is_some() {
        format!("swap 0\ntotal_swap {swap}\n")
    } else {
        String::new()
    };
    write(
        dir,
        "memory.stat",
        &format!(
            "cache 0\nrss 0\n{swap_keys}pgfault 5\npgmajfault 1\ntotal_cache {}\ntotal_rss {}\n\
             total_inactive_file {}\ntotal_active_file 0\n",
            usage / 2,
            usage / 2,
            usage / 4
        ),
    );
    if let Some(l) = memsw_limit {
        write(dir, "memory.memsw.limit_in_bytes", &format!("{l}\n"));
    }
}

fn collect(dir: &Path) -> Summary {
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(dir),
        ..Default::default()
    })
    .unwrap();
    c.collect().unwrap().summary
}

fn swap_of(s: &Summary, pod_uid: &str) -> (SwapStats, SwapStats) {
    let pod = s.pods.iter().find(|p| p.pod_ref.uid == pod_uid).unwrap();
    (pod.swap.clone().unwrap(), pod.containers[0].swap.clone().unwrap())
}

fn figures(s: &SwapStats) -> (Option<u64>, Option<u64>) {
    (s.swap_usage_bytes, s.swap_available_bytes)
}

/// cAdvisor's container spec reads the swap limit with `readUInt64`, which gives 0 for a
/// missing file; the kubelet's `cadvisorInfoToSwapStats` then prints
/// `swapAvailableBytes = swapLimit - swap` = 0 (0 is not "unlimited"). Without swap
/// accounting a v1 pod therefore shows `swapAvailableBytes: 0`, not a missing figure.
#[test]
fn v1_without_swap_accounting_reports_zero_swap_available() {
    let tmp = tempfile::tempdir().unwrap();
    let mem = v1_host(tmp.path());
    v1_cgroup(&mem.join("kubepods"), 900 * MIB, Some(3000 * MIB), 0, None);
    let pod = mem.join("kubepods/burstable/pod5e1f0000-0001");
    v1_cgroup(&pod, 300 * MIB, None, 0, None);
    v1_cgroup(&pod.join("ab12"), 200 * MIB, Some(400 * MIB), 0, None);
    v1_cgroup(&mem.join("kubepods/burstable"), 300 * MIB, None, 0, None);

    let s = collect(tmp.path());
    let (pod_swap, container_swap) = swap_of(&s, "5e1f0000-0001");
    assert_eq!(figures(&pod_swap), (Some(0), Some(0)));
    assert_eq!(figures(&container_swap), (Some(0), Some(0)));
    let pods = s.node.system_container(SYSTEM_CONTAINER_PODS).unwrap();
    assert_eq!(figures(pods.swap.as_ref().unwrap()), (Some(0), Some(0)));
}

/// With swap accounting on v1 the limit is `memory.memsw.limit_in_bytes` (memory + swap) and
/// the swap figure `total_swap`; an unlimited memsw limit means no `swapAvailableBytes`.
#[test]
fn v1_with_swap_accounting_subtracts_total_swap_from_the_memsw_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let mem = v1_host(tmp.path());
    v1_cgroup(
        &mem.join("kubepods"),
        900 * MIB,
        Some(3000 * MIB),
        0,
        Some(u64::MAX >> 1),
    );
    let pod = mem.join("kubepods/podc0de0000-0002");
    v1_cgroup(&pod, 300 * MIB, Some(512 * MIB), 10 * MIB, Some(600 * MIB));
    v1_cgroup(&pod.join("cd34"), 290 * MIB, None, 10 * MIB, Some(u64::MAX >> 1));

    let s = collect(tmp.path());
    let (pod_swap, container_swap) = swap_of(&s, "c0de0000-0002");
    assert_eq!(figures(&pod_swap), (Some(10 * MIB), Some(590 * MIB)));
    assert_eq!(figures(&container_swap), (Some(10 * MIB), None));
}

/// A v2 tree: root (no memory.current), kubepods, one pod with one container.
/// `swap_files`: write `memory.swap.current`/`memory.swap.max` (absent when the kernel has no
/// swap accounting, CONFIG_MEMCG_SWAP off or `swapaccount=0`).
fn v2_host(dir: &Path, swap_files: Option<(u64, &str)>, meminfo_swap: bool) {
    let cg = dir.join("sys/fs/cgroup");
    write(&cg, "cgroup.controllers", "cpuset cpu io memory pids\n");
    write(
        &cg,
        "memory.stat",
        &format!(
            "anon {}\nfile {}\ninactive_file {}\n",
            200 * MIB,
            800 * MIB,
            500 * MIB
        ),
    );
    let swap_lines = if meminfo_swap {
        "SwapTotal:       2048000 kB\nSwapFree:        2000000 kB\n"
    } else {
        ""
    };
    write(
        &dir.join("proc"),
        "meminfo",
        &format!("MemTotal:        4000000 kB\nMemFree:         1000000 kB\n{swap_lines}"),
    );
    for rel in [
        "kubepods",
        "kubepods/besteffort",
        "kubepods/besteffort/podbeef0000-0003",
        "kubepods/besteffort/podbeef0000-0003/ef56",
    ] {
        let d = cg.join(rel);
        write(&d, "memory.current", &format!("{}\n", 100 * MIB));
        write(&d, "memory.max", "max\n");
        write(
            &d,
            "memory.stat",
            &format!(
                "anon {}\nfile {}\ninactive_file {}\n",
                60 * MIB,
                40 * MIB,
                30 * MIB
            ),
        );
        if let Some((current, max)) = swap_files {
            write(&d, "memory.swap.current", &format!("{current}\n"));
            write(&d, "memory.swap.max", max);
        }
    }
}

/// v2: cAdvisor's spec takes the swap limit from `memory.swap.max` (`readUInt64`: missing ->
/// 0, `max` -> unlimited) and the swap figure from `memory.swap.current` (missing -> 0).
#[test]
fn v2_swap_available_follows_memory_swap_max() {
    // No swap accounting: limit 0, usage 0 -> swapAvailableBytes 0.
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, true);
    let s = collect(tmp.path());
    let (pod_swap, container_swap) = swap_of(&s, "beef0000-0003");
    assert_eq!(figures(&pod_swap), (Some(0), Some(0)));
    assert_eq!(figures(&container_swap), (Some(0), Some(0)));

    // swap.max = max: unlimited, no swapAvailableBytes.
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), Some((4 * MIB, "max\n")), true);
    let s = collect(tmp.path());
    let (pod_swap, _) = swap_of(&s, "beef0000-0003");
    assert_eq!(figures(&pod_swap), (Some(4 * MIB), None));

    // swap.max = 64 MiB (swap only on v2): 64 - 4 MiB.
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), Some((4 * MIB, "67108864\n")), true);
    let s = collect(tmp.path());
    let (pod_swap, container_swap) = swap_of(&s, "beef0000-0003");
    assert_eq!(figures(&pod_swap), (Some(4 * MIB), Some(60 * MIB)));
    assert_eq!(figures(&container_swap), (Some(4 * MIB), Some(60 * MIB)));
}

/// The node's swap limit is the machine's `SwapTotal` (cAdvisor's raw root spec). When
/// meminfo has no `SwapTotal` cAdvisor keeps the cgroup spec's figure, which on the v2 root
/// (no `memory.max` there) is 0.
#[test]
fn node_swap_limit_is_swap_total_or_the_root_cgroup_figure() {
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, true);
    let s = collect(tmp.path());
    let swap = s.node.swap.as_ref().unwrap();
    assert_eq!(figures(swap), (Some(48_000 * 1024), Some(2_000_000 * 1024)));

    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, false);
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.layout().mode, CgroupMode::Unified);
    let s = c.collect().unwrap().summary;
    assert_eq!(figures(s.node.swap.as_ref().unwrap()), (Some(0), Some(0)));
}

/// `node.startTime` is the machine's boot time: the kubelet reads `btime` from /proc/stat
/// (`util.GetBootTime`). Without it (a capture that lacks the file) the time stays unset.
#[test]
fn node_start_time_is_btime_from_proc_stat() {
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, true);
    let s = collect(tmp.path());
    assert_eq!(s.node.start_time, None);

    write(
        &tmp.path().join("proc"),
        "stat",
        "cpu  10 0 20 300 0 0 0 0 0 0\nctxt 123\nbtime 1764316800\nprocesses 42\n",
    );
    let s = collect(tmp.path());
    assert_eq!(
        s.node.start_time.map(|t| t.to_string()),
        Some("2025-11-28T08:00:00Z".to_string())
    );
    let json = serde_json::to_value(&s.node).unwrap();
    assert_eq!(json["startTime"], "2025-11-28T08:00:00Z");

    // A capture keeps /proc/stat, so the captured tree gives the same start time.
    let out = tmp.path().join("captured");
    let opts = CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    };
    headroom_linux::capture::capture(opts, &out).unwrap();
    assert!(out.join("proc/stat").exists());
    assert_eq!(collect(&out).node.start_time, s.node.start_time);
}

/// cAdvisor's v1 spec limit is the cgroup's own `memory.limit_in_bytes`, never the
/// `hierarchical_memory_limit` line of `memory.stat`: a container without its own limit inside
/// a limited pod has no `availableBytes` (the pod has).
#[test]
fn v1_limit_is_the_cgroups_own_not_the_hierarchical_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mem = v1_host(tmp.path());
    v1_cgroup(&mem.join("kubepods"), 900 * MIB, Some(3000 * MIB), 0, None);
    let pod = mem.join("kubepods/pod7a7a0000-0004");
    v1_cgroup(&pod, 400 * MIB, Some(512 * MIB), 0, None);
    let container = pod.join("ef01");
    v1_cgroup(&container, 400 * MIB, None, 0, None);
    let stat = std::fs::read_to_string(container.join("memory.stat")).unwrap();
    write(
        &container,
        "memory.stat",
        &format!("{stat}hierarchical_memory_limit {}\n", 512 * MIB),
    );

    let s = collect(tmp.path());
    let pod_stats = s.pods.iter().find(|p| p.pod_ref.uid == "7a7a0000-0004").unwrap();
    // WS = usage - total_inactive_file = 400 - 100 MiB.
    let pm = pod_stats.memory.as_ref().unwrap();
    assert_eq!(pm.available_bytes, Some(212 * MIB));
    let cm = pod_stats.containers[0].memory.as_ref().unwrap();
    assert_eq!(cm.working_set_bytes, Some(300 * MIB));
    assert_eq!(cm.available_bytes, None);
}

/// `node.nodeName` is the node's name, which the kubelet derives from the hostname trimmed and
/// lower-cased (`GetHostname`); Node names are DNS names and never carry capitals.
#[test]
fn node_name_is_the_lower_cased_hostname() {
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, true);
    write(
        &tmp.path().join("proc/sys/kernel"),
        "hostname",
        "  Worker-7.Example.COM \n",
    );
    assert_eq!(collect(tmp.path()).node.node_name, "worker-7.example.com");

    // An explicit name is used as given.
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        node_name: Some("node-b".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.collect().unwrap().summary.node.node_name, "node-b");
}

/// With `KubeletPSI` (beta, on by default since 1.34) the kubelet copies cAdvisor's memory PSI
/// into every memory object it prints, whatever the cgroup version: all zeros when cAdvisor
/// collected none (v1/hybrid, or no readable `memory.pressure`).
#[test]
fn memory_psi_is_zeros_where_the_kernel_gives_none() {
    let zeros = headroom_core::summary::PsiStats::default();

    let tmp = tempfile::tempdir().unwrap();
    let mem = v1_host(tmp.path());
    v1_cgroup(&mem.join("kubepods"), 900 * MIB, Some(3000 * MIB), 0, None);
    let pod = mem.join("kubepods/pod0a0b0000-0005");
    v1_cgroup(&pod, 300 * MIB, None, 0, None);
    v1_cgroup(&pod.join("aa55"), 200 * MIB, None, 0, None);
    let s = collect(tmp.path());
    assert_eq!(s.node.memory.as_ref().unwrap().psi, Some(zeros.clone()));
    let pods = s.node.system_container(SYSTEM_CONTAINER_PODS).unwrap();
    assert_eq!(pods.memory.as_ref().unwrap().psi, Some(zeros.clone()));
    let p = &s.pods[0];
    assert_eq!(p.memory.as_ref().unwrap().psi, Some(zeros.clone()));
    assert_eq!(p.containers[0].memory.as_ref().unwrap().psi, Some(zeros.clone()));

    // v2: the figures of memory.pressure where it exists, zeros where it does not.
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, true);
    let cg = tmp.path().join("sys/fs/cgroup");
    write(
        &cg.join("kubepods"),
        "memory.pressure",
        "some avg10=1.50 avg60=0.00 avg300=0.00 total=4242\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=17\n",
    );
    let s = collect(tmp.path());
    let pods = s.node.system_container(SYSTEM_CONTAINER_PODS).unwrap();
    let psi = pods.memory.as_ref().unwrap().psi.clone().unwrap();
    assert_eq!((psi.some.total, psi.some.avg10, psi.full.total), (4242, 1.5, 17));
    let p = &s.pods[0];
    assert_eq!(p.memory.as_ref().unwrap().psi, Some(zeros.clone()));
    assert_eq!(s.node.memory.as_ref().unwrap().psi, Some(zeros));
}

/// `systemContainers[name="kubelet"]`: the kubelet reports its own process's cgroup (v2: the
/// `0::` line; v1: the cpu path, which must equal the memory path), with that cgroup's limit.
#[test]
fn kubelet_system_container_is_the_kubelet_process_cgroup() {
    use headroom_core::summary::SYSTEM_CONTAINER_KUBELET;

    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), None, true);
    let proc_dir = tmp.path().join("proc");
    write(&proc_dir.join("1"), "comm", "systemd\n");
    write(&proc_dir.join("1"), "cgroup", "0::/init.scope\n");
    write(&proc_dir.join("812"), "comm", "kubelet\n");
    write(
        &proc_dir.join("812"),
        "cgroup",
        "0::/system.slice/kubelet.service\n",
    );
    let unit = tmp.path().join("sys/fs/cgroup/system.slice/kubelet.service");
    write(&unit, "memory.current", &format!("{}\n", 80 * MIB));
    write(&unit, "memory.max", "max\n");
    write(
        &unit,
        "memory.stat",
        &format!(
            "anon {}\nfile {}\ninactive_file {}\n",
            50 * MIB,
            30 * MIB,
            20 * MIB
        ),
    );
    let s = collect(tmp.path());
    let k = s.node.system_container(SYSTEM_CONTAINER_KUBELET).unwrap();
    let m = k.memory.as_ref().unwrap();
    assert_eq!(
        (m.usage_bytes, m.working_set_bytes, m.rss_bytes, m.available_bytes),
        (Some(80 * MIB), Some(60 * MIB), Some(50 * MIB), None)
    );
    assert!(s.node.system_container(SYSTEM_CONTAINER_PODS).is_some());

    // A capture keeps the kubelet's two /proc files and gives the same entry.
    let out = tmp.path().join("captured");
    let opts = CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    };
    headroom_linux::capture::capture(opts, &out).unwrap();
    assert!(out.join("proc/812/cgroup").exists());
    assert!(
        !out.join("proc/1/comm").exists(),
        "other processes are not captured"
    );
    let again = collect(&out);
    assert_eq!(again.node.system_container(SYSTEM_CONTAINER_KUBELET), Some(k));

    // v1 with cpu and memory in different cgroups: the kubelet reports no kubelet entry.
    let tmp = tempfile::tempdir().unwrap();
    let mem = v1_host(tmp.path());
    v1_cgroup(&mem.join("kubepods"), 900 * MIB, Some(3000 * MIB), 0, None);
    v1_cgroup(&mem.join("system.slice/kubelet.service"), 90 * MIB, None, 0, None);
    let proc_dir = tmp.path().join("proc");
    write(&proc_dir.join("812"), "comm", "kubelet\n");
    write(
        &proc_dir.join("812"),
        "cgroup",
        "4:memory:/system.slice/kubelet.service\n3:cpu,cpuacct:/\n",
    );
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    })
    .unwrap();
    let snap = c.collect().unwrap();
    assert!(
        snap.summary
            .node
            .system_container(SYSTEM_CONTAINER_KUBELET)
            .is_none()
    );
    assert!(
        snap.skipped
            .iter()
            .any(|k| k.reason.to_string().contains("cpu and memory cgroups differ")),
        "{:?}",
        snap.skipped
    );
    // Same cgroup for both: reported, with the v1 figures.
    write(
        &proc_dir.join("812"),
        "cgroup",
        "4:memory:/system.slice/kubelet.service\n3:cpu,cpuacct:/system.slice/kubelet.service\n",
    );
    let s = collect(tmp.path());
    let k = s.node.system_container(SYSTEM_CONTAINER_KUBELET).unwrap();
    assert_eq!(k.memory.as_ref().unwrap().usage_bytes, Some(90 * MIB));
}
