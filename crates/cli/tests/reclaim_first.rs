//! `--policy` on `simulate` and `replay` end to end (issue #16): a hot page cache the kubelet
//! evicts for and reclaim-first does not, anonymous growth both evict for at the same step, what
//! carries from one step to the next (only the policy's budget), the cgroup v1 fallback of a
//! replayed recording, and the flag's error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

#[path = "common/schema.rs"]
mod schema;

#[path = "common/json_lines.rs"]
mod json_lines;
use json_lines::json_lines;

#[path = "common/fake_host.rs"]
mod fake_host;

const MI: u64 = 1 << 20;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reclaim")
        .join(name)
}

fn headroom() -> Command {
    let mut c = Command::cargo_bin("headroom").unwrap();
    c.env("HEADROOM_LOG", "warn");
    c
}

/// `simulate --format json` on `timeline` with `extra` flags: one object per step, each
/// checked against docs/sync-step.schema.json.
fn simulate(timeline: &Path, extra: &[&str]) -> Vec<Value> {
    let out = headroom()
        .args(["simulate", "--format", "json", "--timeline"])
        .arg(timeline)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let steps = json_lines(&out.stdout);
    for s in &steps {
        schema::assert_valid(&schema::sync_step_schema(), s);
    }
    steps
}

fn evicted(step: &Value) -> Option<&str> {
    step["evicted"]["pod"].as_str()
}

#[test]
fn hot_cache_kubelet_evicts_and_reclaim_first_does_not() {
    let t = fixture("hot-cache.yaml");
    let kubelet = simulate(&t, &[]);
    let rf = simulate(&t, &["--policy", "reclaim-first"]);
    assert_eq!(kubelet.len(), 4);
    assert_eq!(rf.len(), 4);
    for step in [1, 2] {
        assert_eq!(evicted(&kubelet[step]), Some("shop/reader"), "{}", kubelet[step]);
        let s = &rf[step];
        assert!(s["evicted"].is_null(), "{s}");
        assert_eq!(s["policy"], "reclaim-first");
        assert_eq!(s["reclaim"]["plan"], "hold");
        assert_eq!(s["reclaim"]["because"], "reclaimed");
        assert_eq!(s["replayed"]["kubeletEvicted"], json!(["shop/reader"]));
        assert_eq!(s["replayed"]["basis"], "podSum");
        // The modelled reclaim covered at least the shortfall, from the clean cache only.
        let short = s["reclaim"]["shortfallBytes"].as_u64().unwrap();
        let drop = s["replayed"]["workingSetDropBytes"].as_u64().unwrap();
        assert!(drop >= short, "{s}");
        assert!(drop <= s["reclaim"]["reclaimableBytes"].as_u64().unwrap(), "{s}");
    }
    // Calm steps: nothing to plan, no eviction either way.
    assert_eq!(rf[0]["reclaim"]["plan"], "nothing");
    assert_eq!(rf[0]["replayed"]["kubeletEvicted"], json!([]));
}

#[test]
fn anonymous_growth_both_policies_evict_at_the_same_step() {
    let t = fixture("anon-growth.yaml");
    let kubelet = simulate(&t, &["--policy", "kubelet"]);
    let rf = simulate(&t, &["--policy", "reclaim-first"]);
    let first_eviction = |steps: &[Value]| steps.iter().position(|s| !s["evicted"].is_null());
    assert_eq!(first_eviction(&kubelet), Some(2));
    assert_eq!(first_eviction(&rf), Some(2));
    assert_eq!(evicted(&rf[2]), Some("shop/hog"));
    assert_eq!(evicted(&kubelet[2]), Some("shop/hog"));
    assert_eq!(rf[2]["reclaim"]["because"], "cache-cannot-cover");
    // 500Mi threshold - 196Mi available; the pods' cache (150 MiB) cannot cover it.
    assert_eq!(rf[2]["reclaim"]["shortfallBytes"], 304 * MI);
    assert_eq!(rf[2]["reclaim"]["reclaimableBytes"], 150 * MI);
    assert_eq!(kubelet[2]["policy"], "kubelet");
    assert!(kubelet[2].get("reclaim").is_none(), "{}", kubelet[2]);
}

#[test]
fn without_the_flag_the_output_is_the_kubelet_policys_unnamed() {
    let t = fixture("hot-cache.yaml");
    let plain = simulate(&t, &[]);
    let named = simulate(&t, &["--policy", "kubelet"]);
    for (p, mut n) in plain.into_iter().zip(named) {
        assert!(p.get("policy").is_none(), "{p}");
        assert_eq!(
            n.as_object_mut().unwrap().remove("policy"),
            Some(json!("kubelet"))
        );
        assert_eq!(p, n);
    }
}

/// A replayed reclaim is not carried to the next step: each step is planned on its own
/// figures, so a cache that stays hot is "reclaimed" again at each sync, until the policy's
/// budget (6 reclaims a minute) is spent; then it holds without reclaiming.
#[test]
fn each_step_reclaims_again_until_the_minutes_budget_is_spent() {
    let hot = std::fs::read_to_string(fixture("hot-cache.yaml")).unwrap();
    // Steps 1 and 2 of the fixture (hot), repeated every 5 s for 40 s.
    let (head, steps) = hot.split_once("steps:\n").unwrap();
    let blocks: Vec<&str> = steps.split("  - time: ").filter(|b| !b.is_empty()).collect();
    let mut timeline = format!("{head}steps:\n");
    for i in 0..8 {
        let block = blocks[1 + i % 2];
        let t = format!("2026-12-01T10:01:{:02}Z", i * 5);
        let old = block.lines().next().unwrap();
        timeline.push_str(&format!("  - time: {}", block.replace(old, &t)));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot-loop.yaml");
    std::fs::write(&path, timeline).unwrap();
    let rf = simulate(&path, &["--policy", "reclaim-first"]);
    assert_eq!(rf.len(), 8);
    let because: Vec<&str> = rf
        .iter()
        .map(|s| s["reclaim"]["because"].as_str().unwrap())
        .collect();
    assert_eq!(&because[..6], &["reclaimed"; 6], "{because:?}");
    assert_eq!(&because[6..], &["budget-spent"; 2], "{because:?}");
    for s in &rf {
        assert!(s["evicted"].is_null(), "{s}");
        assert_eq!(s["replayed"]["kubeletEvicted"], json!(["shop/reader"]));
    }
    // Each reclaim is sized on its own step's shortfall (396Mi, then 346Mi available).
    assert_eq!(rf[0]["reclaim"]["shortfallBytes"], 104 * MI);
    assert_eq!(rf[1]["reclaim"]["shortfallBytes"], 154 * MI);
    assert!(rf[6]["reclaim"].get("askedBytes").is_none(), "{}", rf[6]);
}

#[test]
fn text_names_the_policy_and_both_verdicts() {
    let out = headroom()
        .args([
            "simulate",
            "--format",
            "text",
            "--policy",
            "reclaim-first",
            "--timeline",
        ])
        .arg(fixture("hot-cache.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{line:?}");
    }
    insta::assert_snapshot!("simulate_hot_cache_reclaim_first_text", text);
}

#[test]
fn a_bad_policy_names_the_flag_and_the_accepted_values() {
    for cmd in [
        vec!["simulate", "--timeline", "t.yaml"],
        vec!["status", "--summary", "s.json"],
        vec!["replay", "--recording", "rec"],
    ] {
        let out = headroom()
            .args(&cmd)
            .args(["--policy", "reclaim"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("'reclaim' for '--policy <POLICY>'"), "{err}");
        assert!(err.contains("[possible values: kubelet, reclaim-first]"), "{err}");
    }
}

/// A cgroup v1 recording: no memory.reclaim, so reclaim-first decides as the kubelet and
/// says why at each eviction.
#[test]
fn replay_of_a_v1_recording_falls_back_to_the_kubelets_decisions() {
    let tmp = tempfile::tempdir().unwrap();
    fake_host::host(tmp.path());
    fake_host::pods(tmp.path(), 0);
    fake_host::config(tmp.path());
    let rec = tmp.path().join("rec");
    // Two passes under pressure (the recorder prints a line after each committed pass).
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("headroom"))
        .args(["record", "--period", "100ms", "--pods"])
        .arg(tmp.path().join("pods.json"))
        .arg("--config")
        .arg(tmp.path().join("kubelet.yaml"))
        .arg("--root")
        .arg(tmp.path())
        .arg(&rec)
        .env("HEADROOM_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let passes = lines
        .map_while(Result::ok)
        .filter(|l| l.starts_with("decision"))
        .take(2)
        .count();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(passes, 2, "the recorder stopped early");
    let replay = |extra: &[&str]| {
        let out = headroom()
            .args(["replay", "--format", "json", "--recording"])
            .arg(&rec)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json_lines(&out.stdout)
    };
    let kubelet = replay(&[]);
    let rf = replay(&["--policy", "reclaim-first"]);
    assert_eq!(kubelet.len(), rf.len());
    assert!(!rf.is_empty());
    for (k, r) in kubelet.iter().zip(&rf) {
        assert_eq!(k["evictions"], r["evictions"], "{r}");
        assert_eq!(r["policy"], "reclaim-first");
    }
    let last = rf.last().unwrap();
    assert_eq!(last["evicted"]["pod"], "jobs/batch");
    assert_eq!(last["reclaim"]["because"], "no-reclaim-knob");
    assert_eq!(last["replayed"]["basis"], "recordedStat");
    assert_eq!(last["replayed"]["kubeletEvicted"], json!(["jobs/batch"]));
}
