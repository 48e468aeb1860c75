//! `headroom agent --once` on a fake host tree (no root needed): the real sample v1 root plus
//! a hand-made pods cgroup under pressure. Checks the decision line, the dry-run action line
//! and the refusal to act on a critical pod.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::path::Path;

#[path = "common/fake_host.rs"]
mod fake_host;
use fake_host::{config, host, pods};

fn run(dir: &Path, pods_file: &Path, action: &str, format: &str) -> String {
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args([
            "agent",
            "--once",
            "--listen",
            "off",
            "--action",
            action,
            "--log-format",
            format,
        ])
        .arg("--config")
        .arg(config(dir))
        .arg("--root")
        .arg(dir)
        .arg("--pods")
        .arg(pods_file)
        .env("HEADROOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn once_decides_on_a_fixture_tree_and_dry_runs_the_action() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let pods = pods(tmp.path(), 0);
    let text = run(tmp.path(), &pods, "none", "text");
    let decision = text.lines().find(|l| l.starts_with("decision")).unwrap();
    assert!(
        decision.contains("allocatableMemory.available<100Mi (hard"),
        "{text}"
    );
    assert!(decision.contains("evict=jobs/batch grace=1s"), "{text}");
    assert!(decision.contains("conditions=MemoryPressure"), "{text}");
    let action = text.lines().find(|l| l.starts_with("action")).unwrap();
    assert!(action.contains("action=none pod=jobs/batch"), "{text}");
    assert!(action.contains("dry run"), "{text}");

    let json = run(tmp.path(), &pods, "none", "json");
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "decision");
    assert_eq!(first["evictions"][0]["pod"], "jobs/batch");
    assert_eq!(first["evictions"][0]["gracePeriodSeconds"], 1);
    assert_eq!(first["thresholdsMet"][0]["signal"], "allocatableMemory.available");
}

#[test]
fn a_critical_pod_is_chosen_by_the_ranking_but_never_acted_on() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    // Make the BestEffort pod critical: the kubelet skips it and evicts the next one.
    let pods = pods(tmp.path(), 2_000_000_000);
    let text = run(tmp.path(), &pods, "none", "text");
    let decision = text.lines().find(|l| l.starts_with("decision")).unwrap();
    assert!(decision.contains("allocatableMemory.available<100Mi"), "{text}");
    assert!(!decision.contains("evict=jobs/batch"), "{text}");
    // The next pod in the ranking is chosen instead, as the kubelet does.
    assert!(decision.contains("evict=prod/db"), "{text}");
    let json = run(tmp.path(), &pods, "none", "json");
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["skippedCritical"][0], "jobs/batch", "{json}");
}

#[test]
fn bad_config_and_pods_files_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let bad = tmp.path().join("pods-bad.json");
    std::fs::write(&bad, "{\"items\": [").unwrap();
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["agent", "--once", "--listen", "off", "--config"])
        .arg(config(tmp.path()))
        .arg("--root")
        .arg(tmp.path())
        .arg("--pods")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("pods-bad.json"), "{err}");

    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["agent", "--once", "--config", "/nonexistent/kubelet.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kubelet.yaml"));
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["agent", "--once", "--period", "soon", "--config"])
        .arg(config(tmp.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--period"));
}

/// `headroom agent` with the given pod-source flags on a fixture host: (exit code, stderr).
fn agent_with(tmp: &Path, flags: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args([
            "agent",
            "--once",
            "--listen",
            "off",
            "--notifications",
            "off",
            "--config",
        ])
        .arg(config(tmp))
        .arg("--root")
        .arg(tmp)
        .args(flags)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pod_source_flags_that_contradict_each_other_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let pods = pods(tmp.path(), 0);
    let pods = pods.to_str().unwrap();
    let (code, err) = agent_with(tmp.path(), &["--pods", pods, "--pods-from", "api"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("pick one pod source") && err.contains("pods.json"),
        "{err}"
    );
    let (code, err) = agent_with(tmp.path(), &["--pods-from", "file"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs --pods FILE"), "{err}");
    let (code, err) = agent_with(tmp.path(), &["--node-name", "n1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("only used with --pods-from api"), "{err}");
    // Explicit sources that agree with the other flags run.
    let (code, err) = agent_with(tmp.path(), &["--pods", pods, "--pods-from", "file"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = agent_with(tmp.path(), &["--pods-from", "cgroups"]);
    assert_eq!(code, Some(0), "{err}");
}

#[cfg(not(feature = "k8s"))]
#[test]
fn pods_from_api_without_the_k8s_feature_says_how_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let (code, err) = agent_with(tmp.path(), &["--pods-from", "api", "--node-name", "n1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("this build has no Kubernetes support; rebuild with --features k8s"),
        "{err}"
    );
}
