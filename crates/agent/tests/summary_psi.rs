//! The agent's `/stats/summary` follows the kubelet's `KubeletPSI` feature gate from the
//! kubelet configuration: `psi` in every memory object with the gate on (its default), none
//! with it off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/agent_config.rs"]
mod agent_config;
#[path = "support/v2_tree.rs"]
mod v2_tree;

use std::path::Path;

use agent_config::agent_config;
use headroom_agent::http::Shared;
use headroom_agent::light::Trigger;
use headroom_agent::runner::Runner;
use v2_tree::{v2_skeleton, write};

/// A small v2 host: the root, kubepods and one pod with one container, with PSI files.
fn v2_host(dir: &Path) {
    let cg = v2_skeleton(dir);
    let pressure = "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n\
                    full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n";
    for rel in [
        "",
        "kubepods",
        "kubepods/podcafe0000-0001",
        "kubepods/podcafe0000-0001/c1",
    ] {
        let d = cg.join(rel);
        write(&d, "memory.stat", "anon 1000\nfile 1000\ninactive_file 500\n");
        write(&d, "memory.pressure", pressure);
        if !rel.is_empty() {
            write(&d, "memory.current", "2000\n");
            write(&d, "memory.max", "max\n");
        }
    }
}

fn published_summary(root: &Path, kubelet_yaml: &str) -> serde_json::Value {
    let cfg = agent_config(root, kubelet_yaml);
    let shared = Shared::new();
    let mut runner = Runner::new(cfg, shared.clone()).unwrap();
    runner.pass(Trigger::Start).unwrap();
    let json = shared.published.lock().unwrap().summary_json.clone().unwrap();
    serde_json::from_str(&json).unwrap()
}

/// Every `memory` object of a Summary (node, system containers, pods, containers).
fn memory_objects(s: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out = vec![s["node"]["memory"].clone()];
    for c in s["node"]["systemContainers"].as_array().unwrap() {
        out.push(c["memory"].clone());
    }
    for p in s["pods"].as_array().unwrap() {
        out.push(p["memory"].clone());
        for c in p["containers"].as_array().unwrap() {
            out.push(c["memory"].clone());
        }
    }
    out
}

#[test]
fn psi_follows_the_kubelet_psi_gate() {
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path());
    const HEAD: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";

    let on = published_summary(tmp.path(), HEAD);
    let objects = memory_objects(&on);
    assert_eq!(objects.len(), 4, "{on}");
    for m in &objects {
        assert!(m["psi"].is_object(), "gate on by default: {m}");
    }
    assert_eq!(on["pods"][0]["memory"]["psi"]["some"]["total"], 5);

    let off = published_summary(tmp.path(), &format!("{HEAD}featureGates:\n  KubeletPSI: false\n"));
    for m in memory_objects(&off) {
        assert!(m.get("psi").is_none(), "gate off: {m}");
        assert!(m["workingSetBytes"].is_u64(), "{m}");
    }
}
