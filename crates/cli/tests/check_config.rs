#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `headroom check-config` end to end.

use assert_cmd::Command;
use serde_json::Value;

fn headroom() -> Command {
    Command::cargo_bin("headroom").unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn json_of(args: &[&str]) -> Value {
    let out = headroom().arg("check-config").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn defaults_without_a_file_as_json_when_piped() {
    let v = json_of(&[]);
    let signals: Vec<&str> = v["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["signal"].as_str().unwrap())
        .collect();
    assert_eq!(
        signals,
        [
            "memory.available",
            "nodefs.available",
            "nodefs.inodesFree",
            "imagefs.available",
            "imagefs.inodesFree",
            "allocatableMemory.available"
        ]
    );
    assert_eq!(v["thresholds"][0]["value"], "100Mi");
    assert_eq!(v["thresholds"][0]["gracePeriod"], "0s");
    assert_eq!(v["thresholds"][0]["hard"], true);
    assert_eq!(v["thresholds"][0]["minReclaim"], Value::Null);
    assert_eq!(v["thresholds"][1]["value"], "10%");
    assert_eq!(v["nodeAllocatable"], Value::Null);
    assert_eq!(v["pressureTransitionPeriod"], "5m0s");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "memory-polling-latency")
    );
}

#[test]
fn file_flags_and_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "kubelet.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  memory.available: 1Gi\nsystemReserved:\n  memory: 2Gi\n",
    );
    let v = json_of(&[
        &file,
        "--capacity",
        "16Gi",
        "--format",
        "json",
        "--",
        "--eviction-soft=memory.available<2Gi",
        "--eviction-soft-grace-period=memory.available=1m30s",
        "--eviction-minimum-reclaim=memory.available=256Mi",
    ]);
    let t = v["thresholds"].as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(t[1]["signal"], "memory.available");
    assert_eq!(t[1]["value"], "2Gi");
    assert_eq!(t[1]["gracePeriod"], "1m30s");
    assert_eq!(t[1]["minReclaim"], "256Mi");
    assert_eq!(t[1]["hard"], false);
    assert_eq!(t[2]["signal"], "allocatableMemory.available");
    let a = &v["nodeAllocatable"];
    assert_eq!(a["capacity"], "16Gi");
    assert_eq!(a["reservation"], "3Gi");
    assert_eq!(a["allocatable"], "13Gi");
    assert_eq!(a["podsCgroupLimit"], "14Gi");
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"eviction-hard-drops-defaults"), "{codes:?}");
    assert!(
        codes.contains(&"reserved-does-not-move-memory-available"),
        "{codes:?}"
    );
}

#[test]
fn text_table_fits_100_columns() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "k.yaml",
        "evictionHard: {memory.available: \"10%\", nodefs.available: \"100.0%\"}\n\
         evictionSoft: {memory.available: 20%}\nevictionSoftGracePeriod: {memory.available: 10m}\n",
    );
    let out = headroom()
        .args(["check-config", &file, "--capacity", "1000Mi", "--format", "text"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("memory.available"), "{text}");
    assert!(
        text.contains("104857601"),
        "f32 10% of 1000Mi is shown exactly: {text}"
    );
    assert!(text.contains("[threshold-always-met]"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line:?}");
    }
}

#[test]
fn kubelet_errors_exit_2_with_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "bad.yaml",
        "kind: KubeletConfiguration\nevictionHard:\n  memory.available: \"150%\"\n",
    );
    let out = headroom().args(["check-config", &file]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.yaml:3"), "{err}");
    assert!(
        err.contains("eviction percentage threshold memory.available must be <= 100%: 150%"),
        "{err}"
    );

    let out = headroom()
        .args(["check-config", "--", "--eviction-soft=memory.available<1Gi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("grace period must be specified for the soft eviction threshold memory.available"),
        "{err}"
    );

    let out = headroom()
        .args(["check-config", "/nonexistent/kubelet.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("/nonexistent/kubelet.yaml")
    );

    let out = headroom()
        .args(["check-config", "--capacity", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let file = write(&dir, "over.yaml", "systemReserved: {memory: 4Gi}\n");
    let out = headroom()
        .args(["check-config", &file, "--capacity", "4Gi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("invalid Node Allocatable configuration")
    );
}

#[test]
fn json_files_and_disabled_signals() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "k.json",
        r#"{"kind":"KubeletConfiguration","evictionHard":{"memory.available":"0%","nodefs.available":"100%"}}"#,
    );
    let v = json_of(&[&file]);
    assert_eq!(v["thresholds"].as_array().unwrap().len(), 0);
}

#[test]
fn a_refused_config_is_a_json_document_with_field_and_value_apart() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "bad.yaml",
        "kind: KubeletConfiguration\nevictionHard:\n  memory.available: \"150%\"\n",
    );
    let out = headroom()
        .args(["check-config", &file, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &v["error"];
    assert_eq!(e["file"], file.as_str(), "{v}");
    assert_eq!(e["line"], 3, "{v}");
    assert_eq!(e["flag"], Value::Null, "{v}");
    assert_eq!(e["field"], "evictionHard[memory.available]", "{v}");
    assert_eq!(e["value"], "150%", "{v}");
    assert_eq!(
        e["problem"],
        "eviction percentage threshold memory.available must be <= 100%: 150%"
    );
    // The same sentence as on stderr.
    assert!(err.contains(e["message"].as_str().unwrap()), "{err}");

    let out = headroom()
        .args([
            "check-config",
            "--format",
            "json",
            "--",
            "--eviction-hard=memory.available<lots",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["flag"], "--eviction-hard", "{v}");
    assert_eq!(v["error"]["field"], "evictionHard[memory.available]", "{v}");
    assert_eq!(v["error"]["value"], "lots", "{v}");
    assert_eq!(v["error"]["file"], Value::Null, "{v}");

    // Without --format json (piped: JSON by default) stdout stays empty on an error, as before.
    let out = headroom().args(["check-config", &file]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
