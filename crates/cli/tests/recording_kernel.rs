//! Kernel test of the flight recorder (root, cgroup v1): `headroom agent --action kill
//! --record DIR` while a hog pushes a test pods cgroup over `allocatableMemory.available<100Mi`;
//! then `incidents` names the eviction (pod, signal, time), `replay` with the recorded config
//! reproduces it, and `replay` with a larger threshold evicts earlier; the passes a
//! notification woke name the watches that fired.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/json_lines.rs"]
mod json_lines;
use json_lines::json_lines;

#[path = "common/agent_kernel.rs"]
mod agent_kernel;
#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;

use agent_kernel::{
    Procs, guaranteed, kernel_host, kubelet_config, pod_cgroup, pod_json, pods_parent, write_pods,
};
use headroom_core::Timestamp;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const BIN: &str = env!("CARGO_BIN_EXE_headroom");

/// The first replayed step that evicts: (time, pod).
fn first_eviction(steps: &[serde_json::Value]) -> Option<(Timestamp, String)> {
    steps.iter().find(|s| !s["evicted"].is_null()).map(|s| {
        (
            s["time"].as_str().unwrap().parse().unwrap(),
            s["evicted"]["pod"].as_str().unwrap().to_string(),
        )
    })
}

#[test]
fn the_recording_names_the_eviction_and_replays_it() {
    let Some(host) = kernel_host("recorder kernel test") else {
        return;
    };
    let (parent, parent_name) = pods_parent(&host, "headroom-recorder");
    let stamp = std::process::id();
    let (uid_g, uid_e) = (format!("rec-g-{stamp}"), format!("rec-e-{stamp}"));
    let (_pod_g, ctr_g) = pod_cgroup(&parent, &uid_g, "ctr-g");
    let besteffort = parent.create_child("besteffort").unwrap();
    let (_pod_e, ctr_e) = pod_cgroup(&besteffort, &uid_e, "ctr-e");

    let dir = tempfile::tempdir().unwrap();
    let kubelet = dir.path().join("kubelet.yaml");
    kubelet_config(&kubelet, "100Mi");
    let larger = dir.path().join("larger.yaml");
    kubelet_config(&larger, "250Mi");
    let pods = dir.path().join("pods.json");
    write_pods(
        &pods,
        vec![
            pod_json("rec", "guaranteed", &uid_g, None, guaranteed()),
            pod_json("rec", "besteffort", &uid_e, None, serde_json::json!({})),
        ],
    );
    let rec = dir.path().join("rec");

    let mut procs = Procs(Vec::new());
    procs
        .0
        .push(ctr_g.spawn(BIN, &["worker", "alloc", "--mib", "100"]).unwrap());
    std::thread::sleep(Duration::from_secs(1));
    let agent_out = dir.path().join("agent.out");
    let agent = Command::new(BIN)
        .args(["agent", "--config"])
        .arg(&kubelet)
        .args([
            "--period", "2s", "--action", "kill", "--listen", "off", "--record",
        ])
        .arg(&rec)
        .arg("--pods")
        .arg(&pods)
        .args(["--pod-cgroup-root", &format!("/{parent_name}")])
        .stdout(std::fs::File::create(&agent_out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    procs.0.push(agent);
    let t0 = Instant::now();
    while !std::fs::read_to_string(&agent_out).is_ok_and(|t| t.contains("trigger=start")) {
        assert!(t0.elapsed() < Duration::from_secs(20), "no first pass");
        std::thread::sleep(Duration::from_millis(20));
    }
    // 30 MiB/s: a few passes see the pods cgroup between 250Mi and 100Mi available.
    let hog_start = Timestamp::now();
    let mut hog = ctr_e
        .spawn(BIN, &["worker", "alloc", "--mib", "1024", "--rate", "30"])
        .unwrap();
    let t0 = Instant::now();
    let stopped = loop {
        if hog.try_wait().unwrap().is_some() {
            break true;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let hog_end = Timestamp::now();
    let _ = hog.kill();
    let _ = hog.wait();
    // Two more passes after the kill, then stop the agent.
    std::thread::sleep(Duration::from_secs(4));
    drop(procs);
    let out = std::fs::read_to_string(&agent_out).unwrap_or_default();
    assert!(stopped, "the hog was never stopped; agent output:\n{out}");

    // incidents: the eviction, with the pod, the signal and a time while the hog ran.
    let res = Command::new(BIN)
        .args(["incidents", "--format", "json", "--recording"])
        .arg(&rec)
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let incidents = json_lines(&res.stdout);
    let eviction = incidents
        .iter()
        .find(|i| i["kind"] == "eviction")
        .unwrap_or_else(|| panic!("no eviction incident: {incidents:?}\nagent:\n{out}"));
    assert_eq!(eviction["pod"], "rec/besteffort", "{eviction}");
    assert_eq!(eviction["signal"], "allocatableMemory.available");
    assert_eq!(eviction["threshold"], 100 * MIB);
    assert!(
        eviction["observed"].as_i64().unwrap() < (100 * MIB) as i64,
        "{eviction}"
    );
    let evicted_at: Timestamp = eviction["time"].as_str().unwrap().parse().unwrap();
    assert!(
        hog_start <= evicted_at && evicted_at <= hog_end,
        "{evicted_at} not in {hog_start}..{hog_end}"
    );
    assert!(
        eviction["workingSetBefore"].as_array().unwrap().len() >= 2,
        "the minutes before are there: {eviction}"
    );
    assert!(
        incidents.iter().any(|i| i["kind"] == "memoryPressure"),
        "{incidents:?}"
    );

    // The picture: the eviction marked with its pod, MemoryPressure shaded.
    let svg = dir.path().join("incidents.svg");
    let res = Command::new(BIN)
        .args(["incidents", "--format", "json", "--recording"])
        .arg(&rec)
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.contains("rec/besteffort") && drawn.contains("MemoryPressure"),
        "{svg:?}"
    );
    if let Some(keep) = std::env::var_os("HEADROOM_RECORDER_PLOT_OUT") {
        std::fs::copy(&svg, keep).unwrap();
    }

    // replay with the recorded config: the same pod at the same pass.
    let replay = |extra: &[&std::ffi::OsStr]| {
        let res = Command::new(BIN)
            .args(["replay", "--format", "json", "--recording"])
            .arg(&rec)
            .args(extra)
            .output()
            .unwrap();
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        json_lines(&res.stdout)
    };
    let steps = replay(&[]);
    let (at, pod) = first_eviction(&steps).expect("replay evicts");
    assert_eq!(pod, "rec/besteffort");
    assert_eq!(at, evicted_at, "replay decides at the recorded pass");
    for s in &steps {
        let replayed: Vec<_> = s["evictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pod"].clone())
            .collect();
        assert_eq!(serde_json::json!(replayed), s["recorded"]["evicted"], "{s}");
    }
    // Each pass a notification woke names the watches that fired (and only those passes do).
    let woken: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|s| s["recorded"]["trigger"] == "notification")
        .collect();
    for s in &steps {
        let named = s["recorded"]["wokenBy"].as_array().is_some_and(|w| !w.is_empty());
        assert_eq!(
            named,
            s["recorded"]["trigger"] == "notification",
            "a pass's trigger and its wokenBy disagree: {}",
            s["recorded"]
        );
    }
    assert!(
        !woken.is_empty(),
        "no pass was woken by a notification while the hog crossed 100Mi\nagent:\n{out}"
    );
    eprintln!(
        "passes woken by a notification: {} ({})",
        woken.len(),
        woken[0]["recorded"]["wokenBy"]
    );

    // replay with 250Mi: an earlier eviction, same pod (and its picture).
    let replay_svg = dir.path().join("replay.svg");
    let steps = replay(&[
        "--config".as_ref(),
        larger.as_os_str(),
        "--plot".as_ref(),
        replay_svg.as_os_str(),
    ]);
    assert!(
        std::fs::read_to_string(&replay_svg)
            .unwrap()
            .contains("rec/besteffort")
    );
    if let Some(keep) = std::env::var_os("HEADROOM_RECORDER_PLOT_OUT") {
        let mut keep = std::path::PathBuf::from(keep);
        keep.set_extension("replay.svg");
        std::fs::copy(&replay_svg, keep).unwrap();
    }
    let (earlier, pod) = first_eviction(&steps).expect("replay with 250Mi evicts");
    assert_eq!(pod, "rec/besteffort");
    assert!(
        earlier < evicted_at,
        "250Mi evicts at {earlier}, 100Mi at {evicted_at}"
    );
}
