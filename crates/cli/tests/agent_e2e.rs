//! End-to-end kernel test of `headroom agent --action kill` (root, cgroup v1).
//!
//! A test parent cgroup with a 512 MiB limit plays the pods cgroup (`kubepods`); inside it,
//! pods in the kubelet's cgroupfs layout: a Guaranteed pod (directly under the parent) holding
//! 100 MiB, a Burstable pod under its request, and a BestEffort pod allocating anonymous memory.
//! The agent runs with `allocatableMemory.available<100Mi` (hard), notifications on and a 10 s
//! period, so only a notification can win the race against the kernel's OOM killer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/agent_kernel.rs"]
mod agent_kernel;
#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;

use agent_kernel::{
    Procs, guaranteed, kernel_host, kubelet_config, pod_cgroup, pod_json, pods_parent, wait_until, write_pods,
};
use headroom_linux::control::Cgroup;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const BIN: &str = env!("CARGO_BIN_EXE_headroom");

fn oom_kills(cg: &Path) -> u64 {
    let text = std::fs::read_to_string(cg.join("memory.oom_control")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn all_cgroups(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(rd) = std::fs::read_dir(&out[i]) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}

fn wait_for(what: &str, timeout: Duration, f: impl FnMut() -> bool) {
    assert!(
        wait_until(timeout, f),
        "timed out after {timeout:?} waiting for {what}"
    );
}

fn working_set(cg: &Path) -> u64 {
    let usage: u64 = std::fs::read_to_string(cg.join("memory.usage_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stat = std::fs::read_to_string(cg.join("memory.stat")).unwrap();
    let inactive: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("total_inactive_file "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    usage.saturating_sub(inactive)
}

struct Case {
    name: &'static str,
    rate_mib_s: Option<u32>,
    oom_kill_disable: bool,
}

fn run_case(case: Case) {
    let Some(host) = kernel_host(case.name) else {
        return;
    };
    let (parent, parent_name) = pods_parent(&host, "headroom-test");
    if case.oom_kill_disable {
        parent.set_oom_kill_disable(true).unwrap();
    }
    let stamp = std::process::id();
    let uid_g = format!("e2e-g-{stamp}");
    let uid_b = format!("e2e-b-{stamp}");
    let uid_e = format!("e2e-e-{stamp}");
    let (pod_g, ctr_g) = pod_cgroup(&parent, &uid_g, "ctr-g");
    let burstable = parent.create_child("burstable").unwrap();
    let (_pod_b, ctr_b) = pod_cgroup(&burstable, &uid_b, "ctr-b");
    let besteffort = parent.create_child("besteffort").unwrap();
    let (_pod_e, ctr_e) = pod_cgroup(&besteffort, &uid_e, "ctr-e");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubelet.yaml");
    kubelet_config(&config, "100Mi");
    let pods = dir.path().join("pods.json");
    write_pods(
        &pods,
        vec![
            pod_json("e2e", "guaranteed", &uid_g, None, guaranteed()),
            pod_json(
                "e2e",
                "burstable",
                &uid_b,
                None,
                serde_json::json!({"requests": {"memory": "100Mi"}}),
            ),
            pod_json("e2e", "besteffort", &uid_e, None, serde_json::json!({})),
        ],
    );

    let mut procs = Procs(Vec::new());
    let hold = |cg: &Cgroup, mib: u64| {
        cg.spawn(BIN, &["worker", "alloc", "--mib", &mib.to_string()])
            .unwrap()
    };
    procs.0.push(hold(&ctr_g, 100));
    procs.0.push(hold(&ctr_b, 20));
    wait_for(
        "the Guaranteed pod to hold 100 MiB",
        Duration::from_secs(20),
        || working_set(pod_g.path()) >= 100 * MIB,
    );

    let agent_out = dir.path().join("agent.out");
    let agent = Command::new(BIN)
        .args(["agent", "--config"])
        .arg(&config)
        .args([
            "--period",
            "10s",
            "--notifications",
            "on",
            "--action",
            "kill",
            "--listen",
            "off",
        ])
        .arg("--pods")
        .arg(&pods)
        .args(["--pod-cgroup-root", &format!("/{parent_name}")])
        .stdout(std::fs::File::create(&agent_out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    procs.0.push(agent);
    // The first pass arms the notifications.
    wait_for("the agent's first decision", Duration::from_secs(20), || {
        std::fs::read_to_string(&agent_out).is_ok_and(|t| t.contains("trigger=start"))
    });
    std::thread::sleep(Duration::from_millis(200));

    let mut args = vec![
        "worker".to_string(),
        "alloc".into(),
        "--mib".into(),
        "1024".into(),
    ];
    if let Some(r) = case.rate_mib_s {
        args.extend(["--rate".into(), r.to_string()]);
    }
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut hog = ctr_e.spawn(BIN, &args_ref).unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = hog.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = hog.kill();
    let _ = hog.wait();
    let out = std::fs::read_to_string(&agent_out).unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!(
            "{}: the BestEffort pod was never stopped; agent output:\n{out}",
            case.name
        )
    });
    let _ = std::io::stderr().write_all(out.as_bytes());

    // Killed by a signal (the agent's SIGTERM, or SIGKILL after the grace period).
    assert!(
        status.code().is_none(),
        "{}: BestEffort exited by itself: {status:?}",
        case.name
    );
    // The kernel OOM-killed nothing anywhere in the test tree.
    for cg in all_cgroups(parent.path()) {
        assert_eq!(
            oom_kills(&cg),
            0,
            "{}: kernel OOM kill in {}\n{out}",
            case.name,
            cg.display()
        );
    }
    // The other pods are alive.
    for (i, name) in [(0, "guaranteed"), (1, "burstable")] {
        assert!(
            procs.0[i].try_wait().unwrap().is_none(),
            "{}: the {name} pod died\n{out}",
            case.name
        );
    }
    // The decision line names the threshold and the pod; the action was logged.
    let decision = out
        .lines()
        .find(|l| l.starts_with("decision") && l.contains("evict=e2e/besteffort"))
        .unwrap_or_else(|| panic!("{}: no decision evicting e2e/besteffort:\n{out}", case.name));
    assert!(
        decision.contains("allocatableMemory.available<100Mi"),
        "{decision}"
    );
    assert!(
        decision.contains("trigger=notification"),
        "{}: not woken by a notification: {decision}",
        case.name
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("action action=kill pod=e2e/besteffort")),
        "{out}"
    );
    assert!(
        !out.contains("evict=e2e/guaranteed") && !out.contains("evict=e2e/burstable"),
        "{out}"
    );
    drop(procs);
}

#[test]
fn agent_kills_the_besteffort_pod_before_the_kernel_oom_killer_at_200_mib_per_s() {
    run_case(Case {
        name: "agent e2e 200 MiB/s",
        rate_mib_s: Some(200),
        oom_kill_disable: false,
    });
}

#[test]
fn agent_kills_a_full_speed_allocator_with_oom_kill_disabled_on_the_parent() {
    run_case(Case {
        name: "agent e2e full speed, oom_kill_disable",
        rate_mib_s: None,
        oom_kill_disable: true,
    });
}
