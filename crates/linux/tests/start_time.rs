//! `startTime` of containers, pods and system containers in a collected Summary: cAdvisor's
//! creation time (the lowest directory / witness-file modification time over the hierarchies
//! it watches, before now, raised to the boot minute), printed in whole seconds, `null` when
//! none; kept by captures. Fake trees with modification times set through `std`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use headroom_core::summary::{SYSTEM_CONTAINER_PODS, Summary};
use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::root::HostRoot;
use jiff::Timestamp;

const MIB: u64 = 1 << 20;
const NOW: &str = "2026-03-01T12:00:00.25Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Set the modification time of a file or directory (after everything inside it is written:
/// creating an entry moves a directory's mtime).
fn set_mtime(path: &Path, t: &str) {
    let nanos = u64::try_from(ts(t).as_nanosecond()).unwrap();
    let when = SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos);
    let file = if path.is_dir() {
        File::open(path).unwrap()
    } else {
        File::options().write(true).open(path).unwrap()
    };
    file.set_modified(when).unwrap();
}

fn collect_at(dir: &Path, now: &str) -> Summary {
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(dir),
        ..Default::default()
    })
    .unwrap();
    c.collect_at(ts(now)).unwrap().summary
}

fn start(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

const POD: &str = "kubepods/besteffort/podbeef0000-0003";

/// A v2 tree: kubepods, one pod with three containers; every cgroup has `cgroup.events`
/// except `c-noevents`.
fn v2_tree(dir: &Path) {
    let cg = dir.join("sys/fs/cgroup");
    write(&cg, "cgroup.controllers", "cpuset cpu io memory pids\n");
    write(&cg, "memory.stat", "anon 100\nfile 100\ninactive_file 50\n");
    write(
        &dir.join("proc"),
        "meminfo",
        "MemTotal:        4000000 kB\nMemFree:         1000000 kB\n",
    );
    // Boot at 07:59:30: anything older is raised to 07:59:00.
    write(&dir.join("proc"), "stat", "cpu  1 2 3\nbtime 1772351970\n");
    let cgroups = [
        "kubepods".to_string(),
        "kubepods/besteffort".to_string(),
        POD.to_string(),
        format!("{POD}/c-old"),
        format!("{POD}/c-noevents"),
        format!("{POD}/c-future"),
    ];
    for rel in &cgroups {
        let d = cg.join(rel);
        write(&d, "memory.current", &format!("{}\n", 10 * MIB));
        write(&d, "memory.max", "max\n");
        write(&d, "memory.stat", "anon 100\nfile 100\ninactive_file 50\n");
        if !rel.ends_with("c-noevents") {
            write(&d, "cgroup.events", "populated 1\nfrozen 0\n");
        }
    }
    // Innermost first: setting a child's times does not move its parent's.
    let k = cg.join("kubepods");
    let pod = cg.join(POD);
    set_mtime(&pod.join("c-old/cgroup.events"), "2019-06-01T00:00:00Z");
    set_mtime(&pod.join("c-old"), "2019-06-01T00:00:00Z");
    set_mtime(&pod.join("c-noevents"), "2026-03-01T10:00:03.9Z");
    set_mtime(&pod.join("c-future/cgroup.events"), "2026-03-01T12:00:01Z");
    set_mtime(&pod.join("c-future"), "2026-03-01T12:00:00.25Z"); // = now: does not count
    // The pod directory moved when its last container was made; the file kept the creation.
    set_mtime(&pod.join("cgroup.events"), "2026-03-01T10:00:00.9Z");
    set_mtime(&pod, "2026-03-01T11:59:00Z");
    // kubepods: the directory is older than its file here, and wins.
    set_mtime(&k.join("cgroup.events"), "2026-03-01T08:00:20Z");
    set_mtime(&k, "2026-03-01T08:00:10Z");
}

#[test]
fn v2_start_times_are_cgroup_creation_times() {
    let tmp = tempfile::tempdir().unwrap();
    v2_tree(tmp.path());
    let s = collect_at(tmp.path(), NOW);

    let pods = s.node.system_container(SYSTEM_CONTAINER_PODS).unwrap();
    assert_eq!(start(pods.start_time).as_deref(), Some("2026-03-01T08:00:10Z"));
    let pod = &s.pods[0];
    // Whole seconds, truncated (10:00:00.9 prints as 10:00:00).
    assert_eq!(start(pod.start_time).as_deref(), Some("2026-03-01T10:00:00Z"));
    let by_id = |id: &str| pod.containers.iter().find(|c| c.name == id).unwrap().start_time;
    // Before boot: raised to the boot minute.
    assert_eq!(start(by_id("c-old")).as_deref(), Some("2026-03-01T07:59:00Z"));
    // No witness file: the directory alone.
    assert_eq!(
        start(by_id("c-noevents")).as_deref(),
        Some("2026-03-01T10:00:03Z")
    );
    // Nothing before now: no creation time.
    assert_eq!(by_id("c-future"), None);

    // JSON: RFC 3339 in UTC, whole seconds; an unknown time is printed as null, as the
    // kubelet's zero metav1.Time is.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["pods"][0]["startTime"], "2026-03-01T10:00:00Z");
    let future = json["pods"][0]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "c-future")
        .unwrap();
    assert!(future["startTime"].is_null());
    assert!(future.as_object().unwrap().contains_key("startTime"));
    assert_eq!(json["node"]["startTime"], "2026-03-01T07:59:30Z");
}

#[test]
fn a_capture_keeps_the_creation_times() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    v2_tree(&host);
    let out = tmp.path().join("captured");
    let opts = CollectOptions {
        root: HostRoot::dir(&host),
        ..Default::default()
    };
    let report = headroom_linux::capture::capture(opts, &out).unwrap();
    // The copies are new files; their times mean nothing, the recorded ones are used.
    let again = collect_at(&out, NOW);
    let direct = &report.snapshot.summary;
    assert_eq!(again.pods[0].start_time, direct.pods[0].start_time);
    assert_eq!(
        start(again.pods[0].start_time).as_deref(),
        Some("2026-03-01T10:00:00Z")
    );
    let starts = |s: &Summary| -> Vec<_> {
        s.pods[0]
            .containers
            .iter()
            .map(|c| (c.name.clone(), c.start_time))
            .collect()
    };
    assert_eq!(starts(&again), starts(direct));
    assert_eq!(
        again
            .node
            .system_container(SYSTEM_CONTAINER_PODS)
            .unwrap()
            .start_time,
        direct
            .node
            .system_container(SYSTEM_CONTAINER_PODS)
            .unwrap()
            .start_time,
    );
}

/// v1: every hierarchy cAdvisor watches counts (here `cpu,cpuacct` and `memory`; `freezer` is
/// not watched), through the directory and `cgroup.clone_children`.
#[test]
fn v1_takes_the_lowest_over_the_watched_hierarchies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        &dir.join("proc/self"),
        "mountinfo",
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n\
         32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
         35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
         37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n",
    );
    write(
        &dir.join("proc"),
        "meminfo",
        "MemTotal:        4000000 kB\nMemFree:         1000000 kB\n",
    );
    let mem = dir.join("sys/fs/cgroup/memory");
    let pod = "kubepods/podfeed0000-0001";
    for rel in ["", "kubepods", pod, &format!("{pod}/c1")] {
        let d = mem.join(rel);
        write(&d, "memory.usage_in_bytes", &format!("{}\n", 10 * MIB));
        write(&d, "memory.max_usage_in_bytes", &format!("{}\n", 10 * MIB));
        write(&d, "memory.failcnt", "0\n");
        write(&d, "memory.limit_in_bytes", "9223372036854771712\n");
        write(&d, "memory.use_hierarchy", "1\n");
        write(
            &d,
            "memory.stat",
            "cache 0\nrss 0\ntotal_cache 100\ntotal_rss 100\ntotal_inactive_file 10\n",
        );
        write(&d, "cgroup.clone_children", "0\n");
    }
    // cpu has the pod (older) but not the container; freezer has both, oldest of all.
    for root in ["cpu,cpuacct", "freezer"] {
        write(
            &dir.join("sys/fs/cgroup").join(root).join(pod),
            "cgroup.clone_children",
            "0\n",
        );
    }
    write(
        &dir.join("sys/fs/cgroup/freezer").join(pod).join("c1"),
        "cgroup.clone_children",
        "0\n",
    );
    let cpu_pod = dir.join("sys/fs/cgroup/cpu,cpuacct").join(pod);
    let freezer_pod = dir.join("sys/fs/cgroup/freezer").join(pod);
    let mem_pod = mem.join(pod);
    set_mtime(&mem_pod.join("c1/cgroup.clone_children"), "2026-03-01T10:00:07Z");
    set_mtime(&mem_pod.join("c1"), "2026-03-01T10:00:06Z");
    set_mtime(
        &freezer_pod.join("c1/cgroup.clone_children"),
        "2026-03-01T09:00:00Z",
    );
    set_mtime(&freezer_pod.join("c1"), "2026-03-01T09:00:00Z");
    set_mtime(&mem_pod.join("cgroup.clone_children"), "2026-03-01T10:00:02Z");
    set_mtime(&mem_pod, "2026-03-01T10:00:06Z");
    set_mtime(&cpu_pod.join("cgroup.clone_children"), "2026-03-01T10:00:01Z");
    set_mtime(&cpu_pod, "2026-03-01T10:00:05Z");
    set_mtime(&freezer_pod.join("cgroup.clone_children"), "2026-03-01T09:00:00Z");
    set_mtime(&freezer_pod, "2026-03-01T09:00:00Z");

    let s = collect_at(dir, NOW);
    let pod = &s.pods[0];
    assert_eq!(start(pod.start_time).as_deref(), Some("2026-03-01T10:00:01Z"));
    assert_eq!(
        start(pod.containers[0].start_time).as_deref(),
        Some("2026-03-01T10:00:06Z")
    );
}
