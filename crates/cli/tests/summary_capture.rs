//! `headroom summary` and `headroom capture` end to end, on the v1 sample from this machine
//! kind (fixtures of headroom-linux).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../linux/tests/common/sample_host.rs"]
mod sample_host;

use std::path::Path;

use assert_cmd::Command;
use headroom_core::summary::Summary;

fn sample_tree(dir: &Path) {
    sample_host::v1_sample_host(dir, sample_host::RootFiles::Basic);
}

fn summary(root: &Path) -> (Summary, String) {
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["summary", "--compact", "--node-name", "vm", "--root"])
        .arg(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "compact JSON is one line");
    (serde_json::from_str(&stdout).unwrap(), stdout)
}

#[test]
fn summary_of_the_sample_is_the_kubelets_json() {
    let tmp = tempfile::tempdir().unwrap();
    sample_tree(tmp.path());
    let (s, _) = summary(tmp.path());
    let m = s.node.memory.unwrap();
    assert_eq!(m.working_set_bytes, Some(288_473_088));
    assert_eq!(m.available_bytes, Some(24_988_028_928));
    assert_eq!(s.node.node_name, "vm");
}

#[test]
fn capture_then_summary_elsewhere_gives_the_same_json() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    sample_tree(&host);
    let (_, direct) = summary(&host);

    for out in ["cap-dir", "cap.tar.gz"] {
        let out = tmp.path().join(out);
        let st = Command::cargo_bin("headroom")
            .unwrap()
            .args(["capture", "--node-name", "vm", "--root"])
            .arg(&host)
            .arg("--output")
            .arg(&out)
            .output()
            .unwrap();
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
        assert!(String::from_utf8_lossy(&st.stdout).contains("hybrid layout"));
        let (_, again) = summary(&out);
        // Same figures; the capture's time is the pass time, so compare without times.
        let strip = |s: &str| {
            let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
            v["node"]["memory"]["time"] = serde_json::Value::Null;
            v["node"]["swap"]["time"] = serde_json::Value::Null;
            v["node"]["rlimit"]["time"] = serde_json::Value::Null;
            v
        };
        assert_eq!(strip(&again), strip(&direct));
    }
    // Capturing over a non-empty directory is refused (exit 2).
    let st = Command::cargo_bin("headroom")
        .unwrap()
        .args(["capture", "--root"])
        .arg(&host)
        .arg("--output")
        .arg(&host)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("not an empty directory"));
}

#[test]
fn bad_roots_exit_2_and_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["summary", "--root"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&*missing.to_string_lossy()), "{err}");

    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["summary", "--root"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not look like a host root"));

    let junk = tmp.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not gzip").unwrap();
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["summary", "--root"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn summary_output_is_a_simulate_step() {
    let tmp = tempfile::tempdir().unwrap();
    sample_tree(tmp.path());
    let (_, json) = summary(tmp.path());
    let timeline = format!(
        r#"{{"config": {{"evictionHard": {{"memory.available": "100Mi"}}}}, "pods": [],
            "steps": [{{"time": "2026-11-28T02:01:35Z", "summary": {json}}}]}}"#
    );
    let path = tmp.path().join("timeline.json");
    std::fs::write(&path, timeline).unwrap();
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["simulate", "--format", "json", "--timeline"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "simulate rejected the summary: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn feature_gate_kubelet_psi_off_leaves_psi_out() {
    let tmp = tempfile::tempdir().unwrap();
    sample_tree(tmp.path());
    let run = |gates: Option<&str>| {
        let mut cmd = Command::cargo_bin("headroom").unwrap();
        cmd.args(["summary", "--compact", "-q", "--root"]).arg(tmp.path());
        if let Some(g) = gates {
            cmd.args(["--feature-gates", g]);
        }
        cmd.output().unwrap()
    };
    let on = run(None);
    assert!(on.status.success(), "{}", String::from_utf8_lossy(&on.stderr));
    assert!(String::from_utf8_lossy(&on.stdout).contains("\"psi\""));
    let off = run(Some("KubeletPSI=false,KubeletSeparateDiskGC=true"));
    assert!(off.status.success(), "{}", String::from_utf8_lossy(&off.stderr));
    let off_json = String::from_utf8(off.stdout).unwrap();
    assert!(!off_json.contains("\"psi\""), "{off_json}");
    // Apart from psi, the same Summary.
    let mut without: serde_json::Value = serde_json::from_slice(&on.stdout).unwrap();
    without["node"]["memory"].as_object_mut().unwrap().remove("psi");
    assert_eq!(
        without,
        serde_json::from_str::<serde_json::Value>(&off_json).unwrap()
    );

    let bad = run(Some("KubeletPSI=maybe"));
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--feature-gates") && err.contains("KubeletPSI=maybe"),
        "{err}"
    );
}
