//! headroom on a real cgroup v2 kernel (Debian's 6.1 in the qemu test VM of `crates/vmtest`),
//! in the kubelet's two layouts: the systemd driver (`kubepods.slice/...slice/cri-containerd-
//! <id>.scope`, Guaranteed pods directly under `kubepods.slice`) and the cgroupfs driver on v2
//! (`kubepods/burstable/pod<uid>/<id>`). The guest (`tests/vm/v2_kernel.sh`) builds both trees
//! with pods holding anonymous memory, page cache read once (inactive) and twice (active) on an
//! ext4 RAM disk, tmpfs, a pod under memory pressure and an OOM kill; then it runs `summary`,
//! `status`, `capture` + `status --root` and both experiments, each between two snapshots of
//! the kernel's own files. These tests compare headroom's figures with cAdvisor's v2 rules
//! applied to those files: they must lie between the two reads (the drift between two reads).
//!
//! One boot serves every test here (boot cost). Without the VM (not root, no qemu) they skip
//! with one line; under HEADROOM_REQUIRE_KERNEL_TESTS=1 (CI) they fail. By hand:
//! `cargo run -p headroom-vmtest --bin headroom-vm -- crates/cli/tests/vm/v2_kernel.sh
//!  --binary headroom=target/debug/headroom --out /tmp/vm-v2`.
//!
//! Over 600 lines on purpose: its tests share one VM boot (a boot costs minutes under TCG), so they live in one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "vm/kernel_files.rs"]
mod kernel_files;

use headroom_vmtest::{Guest, Outcome, SharedRun, headroom_binary};
use kernel_files::{CG, Figures, Mismatches, Snap};
use serde_json::Value;

static RUN: SharedRun = SharedRun::new();

fn guest() -> Guest {
    Guest::new(include_str!("vm/v2_kernel.sh"))
        .binary("headroom", headroom_binary(env!("CARGO_BIN_EXE_headroom")))
}

fn outcome(test: &str) -> Option<&'static Outcome> {
    RUN.get(test, guest)
}

const MIB: u64 = 1 << 20;

/// A pod of the layout the guest built: cgroup path, uid, QoS word, containers (path, id).
struct Pod {
    cgroup: String,
    uid: &'static str,
    qos: &'static str,
    containers: Vec<(String, String)>,
}

struct Driver {
    name: &'static str,
    root: &'static str,
    pods: Vec<Pod>,
}

fn id(c: char, n: u32) -> String {
    format!("{}{n:02}", c.to_string().repeat(62))
}

fn systemd() -> Driver {
    let pod = |qos: &'static str, uid: &'static str, ids: &[String]| {
        let slice = format!("pod{}.slice", uid.replace('-', "_"));
        let cgroup = match qos {
            "Guaranteed" => format!("/kubepods.slice/kubepods-{slice}"),
            "Burstable" => format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-{slice}"),
            _ => format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-{slice}"),
        };
        Pod {
            containers: ids
                .iter()
                .map(|i| (format!("{cgroup}/cri-containerd-{i}.scope"), i.clone()))
                .collect(),
            cgroup,
            uid,
            qos,
        }
    };
    Driver {
        name: "systemd",
        root: "/kubepods.slice",
        pods: vec![
            pod(
                "Guaranteed",
                "0a0a0a0a-0000-4000-8000-000000000001",
                &[id('a', 1)],
            ),
            pod(
                "Burstable",
                "0a0a0a0a-0000-4000-8000-000000000002",
                &[id('b', 1), id('b', 2)],
            ),
            pod(
                "BestEffort",
                "0a0a0a0a-0000-4000-8000-000000000003",
                &[id('c', 1)],
            ),
        ],
    }
}

fn cgroupfs() -> Driver {
    let pod = |qos: &'static str, uid: &'static str, ids: &[String]| {
        let cgroup = match qos {
            "Guaranteed" => format!("/kubepods/pod{uid}"),
            "Burstable" => format!("/kubepods/burstable/pod{uid}"),
            _ => format!("/kubepods/besteffort/pod{uid}"),
        };
        Pod {
            containers: ids.iter().map(|i| (format!("{cgroup}/{i}"), i.clone())).collect(),
            cgroup,
            uid,
            qos,
        }
    };
    Driver {
        name: "cgroupfs",
        root: "/kubepods",
        pods: vec![
            pod(
                "Guaranteed",
                "0b0b0b0b-0000-4000-8000-000000000001",
                &[id('d', 1)],
            ),
            pod("Burstable", "0b0b0b0b-0000-4000-8000-000000000002", &[id('e', 1)]),
            pod(
                "BestEffort",
                "0b0b0b0b-0000-4000-8000-000000000003",
                &[id('f', 1), id('f', 2), id('f', 3)],
            ),
        ],
    }
}

fn snap(out: &Outcome, name: &str) -> Snap {
    Snap::parse(
        &out.text(name)
            .unwrap_or_else(|| panic!("the guest sent no {name}\n{}", out.log_for_failure())),
    )
}

fn json(out: &Outcome, name: &str) -> Value {
    let text = out
        .text(name)
        .unwrap_or_else(|| panic!("the guest sent no {name}\n{}", out.log_for_failure()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON ({e}):\n{text}"))
}

/// Exit status the guest recorded for a command (`<name>.rc`).
fn exit_status(out: &Outcome, name: &str) -> String {
    out.text(&format!("{name}.rc"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn u(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// One Summary `memory` object against the kernel's figures read before (`a`) and after (`b`).
fn compare_memory(m: &mut Mismatches, what: &str, mem: &Value, a: &Figures, b: &Figures, slack: u64) {
    m.between(
        &format!("{what} usageBytes"),
        u(mem, "usageBytes"),
        a.usage,
        b.usage,
        slack,
    );
    m.between(
        &format!("{what} workingSetBytes"),
        u(mem, "workingSetBytes"),
        a.working_set,
        b.working_set,
        slack,
    );
    m.between(
        &format!("{what} rssBytes"),
        u(mem, "rssBytes"),
        a.rss,
        b.rss,
        slack,
    );
    m.between(
        &format!("{what} pageFaults"),
        u(mem, "pageFaults"),
        a.page_faults,
        b.page_faults,
        0,
    );
    m.between(
        &format!("{what} majorPageFaults"),
        u(mem, "majorPageFaults"),
        a.major_page_faults,
        b.major_page_faults,
        0,
    );
    match (a.available(), b.available()) {
        (Some(x), Some(y)) => m.between(
            &format!("{what} availableBytes"),
            u(mem, "availableBytes"),
            x,
            y,
            slack,
        ),
        _ => m.check(
            &format!(
                "{what}: availableBytes {:?} on a cgroup without a limit",
                mem.get("availableBytes")
            ),
            mem.get("availableBytes").is_none(),
        ),
    }
    for (i, kind) in ["some", "full"].iter().enumerate() {
        let psi = &mem["psi"][kind];
        m.between(
            &format!("{what} psi.{kind}.total"),
            u(psi, "total"),
            a.psi[i].3,
            b.psi[i].3,
            0,
        );
        m.between_f(
            &format!("{what} psi.{kind}.avg10"),
            psi["avg10"].as_f64(),
            a.psi[i].0,
            b.psi[i].0,
        );
        m.between_f(
            &format!("{what} psi.{kind}.avg60"),
            psi["avg60"].as_f64(),
            a.psi[i].1,
            b.psi[i].1,
        );
    }
}

/// headroom's own memory is charged to the root while it runs (neither kernel read sees it):
/// measured +1.1 MiB (debug build) over a node usage of ~272 MiB; everything else is exact.
const NODE_SLACK: u64 = 8 * MIB;

fn summary_matches_the_kernel(test: &str, d: &Driver) {
    let Some(out) = outcome(test) else { return };
    out.assert_case("setup");
    assert_eq!(
        exit_status(out, &format!("summary-{}", d.name)),
        "0",
        "{}",
        out.log_for_failure()
    );
    let s = json(out, &format!("summary-{}.json", d.name));
    let (a, b) = (
        snap(out, &format!("k-{}-1", d.name)),
        snap(out, &format!("k-{}-2", d.name)),
    );
    let mut m = Mismatches::default();

    compare_memory(
        &mut m,
        "node",
        &s["node"]["memory"],
        &a.node(),
        &b.node(),
        NODE_SLACK,
    );
    let pods_sc = s["node"]["systemContainers"]
        .as_array()
        .and_then(|v| v.iter().find(|c| c["name"] == "pods"));
    match pods_sc {
        Some(pc) => compare_memory(
            &mut m,
            d.root,
            &pc["memory"],
            &a.cgroup(d.root),
            &b.cgroup(d.root),
            0,
        ),
        None => m.check("no systemContainers[name=pods]", false),
    }
    let pods = s["pods"].as_array().cloned().unwrap_or_default();
    m.equal("number of pods", pods.len(), d.pods.len());
    for pod in &d.pods {
        let Some(p) = pods.iter().find(|p| p["podRef"]["uid"] == pod.uid) else {
            m.check(
                &format!("pod {} ({}) missing from the Summary", pod.uid, pod.qos),
                false,
            );
            continue;
        };
        compare_memory(
            &mut m,
            &pod.cgroup,
            &p["memory"],
            &a.cgroup(&pod.cgroup),
            &b.cgroup(&pod.cgroup),
            0,
        );
        let containers = p["containers"].as_array().cloned().unwrap_or_default();
        m.equal(
            &format!("containers of {}", pod.uid),
            containers.len(),
            pod.containers.len(),
        );
        for (path, cid) in &pod.containers {
            match containers.iter().find(|c| c["name"] == cid.as_str()) {
                Some(c) => compare_memory(&mut m, path, &c["memory"], &a.cgroup(path), &b.cgroup(path), 0),
                None => m.check(&format!("container {cid} missing from pod {}", pod.uid), false),
            }
        }
    }
    m.assert_none(&format!("summary, {} driver, against the kernel's files", d.name));
}

#[test]
fn v2_summary_matches_the_kernel_systemd_driver() {
    summary_matches_the_kernel("v2_summary_matches_the_kernel_systemd_driver", &systemd());
}

#[test]
fn v2_summary_matches_the_kernel_cgroupfs_driver() {
    summary_matches_the_kernel("v2_summary_matches_the_kernel_cgroupfs_driver", &cgroupfs());
}

/// The kernel did what the layout meant: anon held, page cache read once inactive and twice
/// active, tmpfs as shmem in the working set, stalls and `max` events under a tight limit, one
/// OOM kill counted in the container and (hierarchically) in its pod and the pods cgroup.
#[test]
fn v2_workloads_are_what_the_layout_meant() {
    let Some(out) = outcome("v2_workloads_are_what_the_layout_meant") else {
        return;
    };
    out.assert_case("setup");
    let k = snap(out, "k-systemd-1");
    let (sd, fs) = (systemd(), cgroupfs());
    let c = |d: &Driver, pod: usize, c: usize| d.pods[pod].containers[c].0.clone();
    let mut m = Mismatches::default();
    m.check(
        "systemd Guaranteed container holds >= 48 MiB anon",
        k.stat(&c(&sd, 0, 0), "anon") >= 48 * MIB,
    );
    m.check(
        "cgroupfs Guaranteed container holds >= 24 MiB anon",
        k.stat(&c(&fs, 0, 0), "anon") >= 24 * MIB,
    );
    for (d, once, twice) in [
        (&sd, c(&sd, 1, 0), c(&sd, 2, 0)),
        (&fs, c(&fs, 1, 0), c(&fs, 2, 0)),
    ] {
        m.check(
            &format!("{}: read once => >= 31 MiB inactive_file in {once}", d.name),
            k.stat(&once, "inactive_file") >= 31 * MIB,
        );
        m.check(
            &format!("{}: read once => working set < 8 MiB", d.name),
            k.cgroup(&once).working_set < 8 * MIB,
        );
        m.check(
            &format!("{}: read twice => >= 31 MiB active_file in {twice}", d.name),
            k.stat(&twice, "active_file") >= 31 * MIB,
        );
        m.check(
            &format!("{}: read twice => working set >= 31 MiB", d.name),
            k.cgroup(&twice).working_set >= 31 * MIB,
        );
    }
    let tmpfs = c(&fs, 2, 1);
    m.check(
        "tmpfs container: >= 16 MiB shmem",
        k.stat(&tmpfs, "shmem") >= 16 * MIB,
    );
    m.check(
        "tmpfs counts in the working set",
        k.cgroup(&tmpfs).working_set >= 16 * MIB,
    );
    let tight = c(&fs, 2, 2);
    let events = |cg: &str, key: &str| k.key(&format!("{CG}{cg}/memory.events"), key);
    m.check(
        "thrashing under 12M: memory.events max > 0",
        events(&tight, "max") > 0,
    );
    m.check(
        "thrashing under 12M: PSI some total > 0",
        k.cgroup(&tight).psi[0].3 > 0,
    );
    m.equal("oom_kill in the container", events(&tight, "oom_kill"), 1);
    m.equal(
        "oom_kill in its pod (hierarchical)",
        events(&fs.pods[2].cgroup, "oom_kill"),
        1,
    );
    m.equal("oom_kill in /kubepods", events("/kubepods", "oom_kill"), 1);
    m.assert_none("the guest's workloads");
}

fn status_matches_the_kernel(test: &str, d: &Driver) {
    let Some(out) = outcome(test) else { return };
    assert_eq!(
        exit_status(out, &format!("status-{}", d.name)),
        "0",
        "{}",
        out.log_for_failure()
    );
    assert_eq!(
        exit_status(out, &format!("status-json-{}", d.name)),
        "0",
        "{}",
        out.log_for_failure()
    );
    let text = out.text(&format!("status-{}.txt", d.name)).unwrap();
    let (k2, k3, k4) = (
        snap(out, &format!("k-{}-2", d.name)),
        snap(out, &format!("k-{}-3", d.name)),
        snap(out, &format!("k-{}-4", d.name)),
    );
    let limit = k3.number(d.root, "memory.max").unwrap();
    let mut m = Mismatches::default();
    for want in [
        "cgroup v2 (unified)".to_string(),
        "pods    from the cgroup tree".to_string(),
        "MemoryPressure: no".to_string(),
        format!("allocatableMemory.available (cgroup {})", d.root),
        format!("capacity {}", thousands(limit)),
    ] {
        m.check(&format!("status text lacks {want:?}"), text.contains(&want));
    }
    for qos in ["Guaranteed", "Burstable", "BestEffort"] {
        m.equal(
            &format!("{qos} rows in the eviction order"),
            text.lines()
                .filter(|l| l.contains(qos) && l.contains("uid "))
                .count(),
            d.pods.iter().filter(|p| p.qos == qos).count(),
        );
    }
    // Status (text) ran between k-2 and k-3: its arithmetic lines for the pods cgroup.
    let (a, b) = (k2.cgroup(d.root), k3.cgroup(d.root));
    let ws_line = text
        .lines()
        .skip_while(|l| !l.contains("allocatableMemory.available (cgroup"))
        .find(|l| l.contains("working set = usage"))
        .unwrap_or_default();
    let nums = numbers(ws_line);
    m.between(
        "status text pods usage",
        nums.first().copied(),
        a.usage,
        b.usage,
        0,
    );
    m.between(
        "status text pods working set",
        nums.get(2).copied(),
        a.working_set,
        b.working_set,
        0,
    );

    // JSON (between k-3 and k-4).
    let j = json(out, &format!("status-{}.json", d.name));
    m.equal(
        "json layout",
        j["source"]["layout"].as_str(),
        Some("cgroup v2 (unified)"),
    );
    let alloc = &j["kubelet"]["allocatableMemoryAvailable"];
    let (a, b) = (k3.cgroup(d.root), k4.cgroup(d.root));
    m.equal("json allocatable cgroup", alloc["cgroup"].as_str(), Some(d.root));
    m.equal(
        "json allocatable capacity = memory.max",
        u(alloc, "capacityBytes"),
        Some(limit),
    );
    m.between(
        "json allocatable usage",
        u(alloc, "usageBytes"),
        a.usage,
        b.usage,
        0,
    );
    m.between(
        "json allocatable workingSet",
        u(alloc, "workingSetBytes"),
        a.working_set,
        b.working_set,
        0,
    );
    m.between(
        "json allocatable available",
        u(alloc, "availableBytes"),
        a.available().unwrap(),
        b.available().unwrap(),
        0,
    );
    let node = &j["kubelet"]["memoryAvailable"];
    let (a, b) = (k3.node(), k4.node());
    m.equal("json node capacity = MemTotal", u(node, "capacityBytes"), a.limit);
    m.between(
        "json node usage (anon + file)",
        u(node, "usageBytes"),
        a.usage,
        b.usage,
        NODE_SLACK,
    );
    m.between(
        "json node workingSet",
        u(node, "workingSetBytes"),
        a.working_set,
        b.working_set,
        NODE_SLACK,
    );
    m.between(
        "json node available",
        u(node, "availableBytes"),
        a.available().unwrap(),
        b.available().unwrap(),
        NODE_SLACK,
    );
    m.equal("json pods found", j["podsCgroup"]["found"].as_bool(), Some(true));
    m.equal("json pods limit", u(&j["podsCgroup"], "limitBytes"), Some(limit));
    m.equal(
        "json eviction order",
        u(&j["evictionOrder"], "total"),
        Some(d.pods.len() as u64),
    );
    m.assert_none(&format!("status, {} driver", d.name));
}

#[test]
fn v2_status_matches_the_kernel_systemd_driver() {
    status_matches_the_kernel("v2_status_matches_the_kernel_systemd_driver", &systemd());
}

#[test]
fn v2_status_matches_the_kernel_cgroupfs_driver() {
    status_matches_the_kernel("v2_status_matches_the_kernel_cgroupfs_driver", &cgroupfs());
}

/// `capture` saved the kernel's files as they were (memory.events of the OOM-killed container,
/// limits, stats between the reads around it); `status --root` and `summary --root` on the
/// capture read exactly those files; the host's own reading of the capture (headroom-linux)
/// gives the same memory.events as the kernel's file.
fn capture_round_trips(test: &str, d: &Driver) {
    let Some(out) = outcome(test) else { return };
    for cmd in ["capture", "status-root", "summary-root"] {
        assert_eq!(
            exit_status(out, &format!("{cmd}-{}", d.name)),
            "0",
            "{cmd}\n{}",
            out.log_for_failure()
        );
    }
    let tar = out.files.get(&format!("capture-{}.tar.gz", d.name)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.tar.gz");
    std::fs::write(&path, tar).unwrap();
    let opened = headroom_linux::capture::open_root(Some(&path)).unwrap();
    let captured = |rel: &str| {
        std::fs::read_to_string(opened.root.path(rel)).unwrap_or_else(|e| panic!("{rel} in the capture: {e}"))
    };
    let (k4, k5) = (
        snap(out, &format!("k-{}-4", d.name)),
        snap(out, &format!("k-{}-5", d.name)),
    );
    let mut m = Mismatches::default();
    let mut cgroups = vec![d.root.to_string()];
    for p in &d.pods {
        cgroups.push(p.cgroup.clone());
        cgroups.extend(p.containers.iter().map(|c| c.0.clone()));
    }
    for cg in &cgroups {
        for file in ["memory.max", "memory.events"] {
            let rel = format!("{CG}{cg}/{file}");
            m.equal(
                &format!("captured {rel}"),
                captured(&rel).trim().to_string(),
                k4.file(&rel).trim().to_string(),
            );
        }
        let cur: u64 = captured(&format!("{CG}{cg}/memory.current"))
            .trim()
            .parse()
            .unwrap();
        m.between(
            &format!("captured {cg}/memory.current"),
            Some(cur),
            k4.cgroup(cg).usage,
            k5.cgroup(cg).usage,
            0,
        );
    }
    // status --root: its arithmetic is exactly the captured files'.
    let text = out.text(&format!("status-root-{}.txt", d.name)).unwrap();
    let ws_line = text
        .lines()
        .skip_while(|l| !l.contains("allocatableMemory.available (cgroup"))
        .find(|l| l.contains("working set = usage"))
        .unwrap_or_default();
    let usage: u64 = captured(&format!("{CG}{}/memory.current", d.root))
        .trim()
        .parse()
        .unwrap();
    let stat = captured(&format!("{CG}{}/memory.stat", d.root));
    let inactive: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("inactive_file "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    m.equal(
        "status --root pods arithmetic",
        numbers(ws_line),
        vec![usage, inactive, usage - inactive],
    );
    m.check("status --root names the capture", text.contains("capture"));
    // summary --root has every pod and container of the capture.
    let s = json(out, &format!("summary-root-{}.json", d.name));
    m.equal(
        "summary --root pods",
        s["pods"].as_array().map(Vec::len),
        Some(d.pods.len()),
    );
    // The host's reading of the capture: memory.events as the kernel wrote them.
    let mut collector = headroom_linux::collect::Collector::new(headroom_linux::collect::CollectOptions {
        root: opened.root.clone(),
        pod_cgroup_root: Some(d.root.to_string()),
        ..Default::default()
    })
    .unwrap();
    let snapshot = collector.collect().unwrap();
    // memory.events of every cgroup as the host read them from the capture, against the
    // kernel's file (hierarchical counters: the OOM kill shows in the pod and the pods cgroup).
    let mut events_of = |cgroup: &str, events: Option<headroom_linux::memcg::MemoryEvents>| {
        let Some(ev) = events else {
            m.check(
                &format!("{cgroup}: no memory.events in the host's reading"),
                false,
            );
            return;
        };
        let file = format!("{CG}{cgroup}/memory.events");
        for (key, got) in [
            ("low", ev.low),
            ("high", ev.high),
            ("max", ev.max),
            ("oom", ev.oom),
            ("oom_kill", ev.oom_kill),
        ] {
            m.equal(&format!("{cgroup} memory.events {key}"), got, k4.key(&file, key));
        }
    };
    match &snapshot.pods_cgroup {
        Some(pc) => events_of(d.root, pc.memory.events),
        None => events_of(d.root, None),
    }
    for pod in &d.pods {
        let Some(p) = snapshot.pods.iter().find(|p| p.uid == pod.uid) else {
            events_of(&pod.cgroup, None);
            continue;
        };
        events_of(&pod.cgroup, p.memory.events);
        for (path, cid) in &pod.containers {
            let found = p.containers.iter().find(|c| &c.id == cid);
            events_of(path, found.and_then(|c| c.memory.events));
        }
    }
    m.assert_none(&format!("capture + status --root, {} driver", d.name));
}

#[test]
fn v2_capture_and_status_root_systemd_driver() {
    capture_round_trips("v2_capture_and_status_root_systemd_driver", &systemd());
}

#[test]
fn v2_capture_and_status_root_cgroupfs_driver() {
    capture_round_trips("v2_capture_and_status_root_cgroupfs_driver", &cgroupfs());
}

/// `experiment page-cache` on the ext4 RAM disk in a temporary v2 cgroup: the write and one
/// read stay inactive, the second read activates the file, delete releases it.
#[test]
fn v2_experiment_page_cache() {
    let Some(out) = outcome("v2_experiment_page_cache") else {
        return;
    };
    assert_eq!(exit_status(out, "page-cache"), "0", "{}", out.log_for_failure());
    let j = json(out, "page-cache.json");
    let mut m = Mismatches::default();
    m.equal("cgroup version", j["cgroupVersion"].as_str(), Some("V2"));
    m.equal("memory backed", j["dirMemoryBacked"].as_bool(), Some(false));
    let step = |name: &str| {
        j["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == name))
            .map(|s| s["snapshot"].clone())
            .unwrap_or(Value::Null)
    };
    let size = 64 * MIB;
    let snap = |n: &str, k: &str| u(&step(n), k).unwrap_or(0);
    m.check(
        "write: >= 63 MiB inactive",
        snap("write", "inactiveFile") >= size - MIB,
    );
    m.check(
        "read-1: still inactive",
        snap("read-1", "inactiveFile") >= size - MIB,
    );
    m.check(
        "read-2: >= 63 MiB active",
        snap("read-2", "activeFile") >= size - MIB,
    );
    m.check(
        "read-2: working set includes the file",
        snap("read-2", "workingSet") >= size - MIB,
    );
    m.check("delete: page cache released", snap("delete", "cache") < 2 * MIB);
    m.check(
        "every step ok",
        j["steps"]
            .as_array()
            .is_some_and(|s| s.len() == 6 && s.iter().all(|s| s["ok"] == true)),
    );
    let left = out.text("cgroups-after-experiments").unwrap_or_default();
    m.check(
        &format!("experiments left cgroups behind: {left}"),
        !left.contains("headroom-"),
    );
    m.assert_none("experiment page-cache in the VM");
}

/// `experiment hot-cache` in a 256M v2 cgroup: active cache fills it, the allocator pushes the
/// kubelet-style memory.available under the threshold while the kernel reclaims the cache.
/// 20M/s (the experiment then runs up to 35 s) so a busy machine still reaches the limit; the
/// OOM kill may or may not come within that time (emulated time is slow).
#[test]
fn v2_experiment_hot_cache() {
    let Some(out) = outcome("v2_experiment_hot_cache") else {
        return;
    };
    assert_eq!(exit_status(out, "hot-cache"), "0", "{}", out.log_for_failure());
    let j = json(out, "hot-cache.json");
    let mut m = Mismatches::default();
    m.equal("cgroup version", j["cgroupVersion"].as_str(), Some("V2"));
    m.equal("limit", u(&j, "limitBytes"), Some(256 * MIB));
    let fill = &j["afterFill"];
    m.check(
        "after fill: cache is active",
        u(fill, "activeFile").unwrap_or(0) >= u(&j, "cacheBytes").unwrap_or(u64::MAX) - 2 * MIB,
    );
    m.check(
        "pressure seen (memory.available under the threshold)",
        j["pressureStartMs"].as_f64().is_some(),
    );
    m.check(
        "the kernel reclaimed cache",
        u(&j, "cacheReclaimed").unwrap_or(0) > 32 * MIB,
    );
    m.check(
        "false-pressure window measured",
        j["falsePressureMs"].as_f64().is_some_and(|ms| ms > 0.0),
    );
    m.check("samples taken", u(&j, "samples").unwrap_or(0) > 10);
    m.assert_none("experiment hot-cache in the VM");
}

/// Every integer in a line before any "(", commas removed: "usage 1,234 - inactive_file 5 = 1,229" -> [1234, 5, 1229].
fn numbers(line: &str) -> Vec<u64> {
    let line = line.split('(').next().unwrap_or("");
    line.split(|c: char| !(c.is_ascii_digit() || c == ','))
        .map(|t| t.replace(',', ""))
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect()
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
