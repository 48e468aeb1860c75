//! `headroom simulate` end to end: the shipped examples and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{Value, json};

#[path = "common/schema.rs"]
mod schema;

/// One line of `simulate --format json`, checked against docs/sync-step.schema.json: every
/// scenario in this file is also a check of the documented sync-step schema.
fn step_of(line: &str) -> Value {
    let step: Value = serde_json::from_str(line).unwrap();
    schema::assert_valid(&schema::sync_step_schema(), &step);
    assert!(
        step["admission"].is_array(),
        "simulate always prints admission: {step}"
    );
    step
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn headroom() -> Command {
    Command::cargo_bin("headroom").unwrap()
}

/// Run an example and return one JSON object per step.
fn run_example(name: &str) -> Vec<Value> {
    let dir = examples().join(name);
    let out = headroom()
        .args(["simulate", "--format", "json", "--config"])
        .arg(dir.join("kubelet-config.yaml"))
        .arg("--timeline")
        .arg(dir.join("timeline.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(step_of)
        .collect()
}

fn evicted(step: &Value) -> Option<&str> {
    step["evicted"]["pod"].as_str()
}

#[test]
fn soft_then_hard_example() {
    let steps = run_example("soft-then-hard");
    assert_eq!(steps.len(), 9);
    assert_eq!(steps[0]["conditions"], json!([]));
    assert_eq!(steps[0]["observations"]["memory.available"]["capacity"], "8Gi");
    // Soft threshold crossed: condition at once, no eviction, BestEffort refused.
    assert_eq!(steps[1]["conditions"], json!(["MemoryPressure"]));
    assert!(steps[1]["evicted"].is_null());
    assert_eq!(steps[1]["thresholdsMet"][0]["signal"], "memory.available");
    assert_eq!(steps[1]["thresholdsMet"][0]["hard"], false);
    assert_eq!(steps[1]["thresholdsMet"][0]["gracePeriod"], "30s");
    assert_eq!(steps[1]["admission"][0]["admit"], false);
    assert_eq!(steps[1]["admission"][0]["reason"], "Evicted");
    assert_eq!(
        steps[1]["admission"][0]["message"],
        "The node had condition: [MemoryPressure]. "
    );
    assert!(evicted(&steps[3]).is_none());
    // Grace elapsed: soft eviction with the pod's own shorter grace.
    assert_eq!(evicted(&steps[4]), Some("shop/batch"));
    assert_eq!(steps[4]["evicted"]["gracePeriodSeconds"], 5);
    assert_eq!(
        steps[4]["ranking"],
        json!(["shop/batch", "shop/web", "shop/cache"])
    );
    assert_eq!(steps[4]["evicted"]["annotations"]["starved_resource"], "memory");
    // Recovered but still reported during the transition period.
    assert_eq!(steps[5]["conditions"], json!(["MemoryPressure"]));
    assert_eq!(steps[5]["ranking"], json!([]));
    // Hard threshold: immediate.
    assert_eq!(evicted(&steps[6]), Some("shop/web"));
    assert_eq!(steps[6]["evicted"]["gracePeriodSeconds"], 1);
    assert!(
        steps[6]["evicted"]["message"].as_str().unwrap().starts_with(
            "The node was low on resource: memory. Threshold quantity: 500Mi, available: 400Mi. "
        )
    );
    assert_eq!(steps[8]["conditions"], json!([]));
}

#[test]
fn min_reclaim_example() {
    let steps = run_example("min-reclaim");
    assert_eq!(evicted(&steps[0]), Some("shop/worker"));
    assert_eq!(evicted(&steps[1]), Some("shop/api"));
    assert_eq!(steps[1]["thresholdsMet"][0]["heldByMinReclaim"], true);
    assert!(steps[2]["evicted"].is_null());
    assert_eq!(steps[2]["thresholdsMet"], json!([]));
}

#[test]
fn allocatable_example() {
    let steps = run_example("allocatable");
    assert!(steps[0]["evicted"].is_null());
    assert_eq!(
        steps[0]["observations"]["allocatableMemory.available"]["capacity"],
        "13Gi"
    );
    let notifiers = steps[0]["memcgNotifiers"].as_array().unwrap();
    assert_eq!(notifiers.len(), 2);
    assert_eq!(
        notifiers[1]["description"],
        "hard allocatable memory eviction threshold"
    );
    assert_eq!(notifiers[1]["cgroup"], "kubepods");
    assert_eq!(steps[1]["conditions"], json!(["MemoryPressure"]));
    assert_eq!(steps[1]["evicted"]["signal"], "allocatableMemory.available");
    assert_eq!(evicted(&steps[1]), Some("shop/etl"));
}

#[test]
fn text_format_is_readable() {
    let dir = examples().join("min-reclaim");
    let out = headroom()
        .args(["simulate", "--format", "text", "--config"])
        .arg(dir.join("kubelet-config.yaml"))
        .arg("--timeline")
        .arg(dir.join("timeline.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("EVICT shop/worker (grace 1s)"), "{text}");
    assert!(text.contains("held until minimum reclaim is recovered"), "{text}");
}

fn simulate(timeline: &str, config: Option<&str>) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("timeline.yaml");
    std::fs::write(&t, timeline).unwrap();
    let mut cmd = headroom();
    cmd.args(["simulate", "--format", "json", "--timeline"]).arg(&t);
    if let Some(c) = config {
        let p = dir.path().join("kubelet.yaml");
        std::fs::write(&p, c).unwrap();
        cmd.arg("--config").arg(p);
    }
    let out = cmd.output().unwrap();
    if out.status.success() {
        String::from_utf8_lossy(&out.stdout).lines().for_each(|l| {
            step_of(l);
        });
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const STEP: &str = "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {memory: {time: 2026-01-01T00:00:00Z, availableBytes: 52428800, workingSetBytes: 8000000000}}}\n";

#[test]
fn bad_input_exits_2_with_the_field_path() {
    let cases = [
        (
            "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {memory: {availableBytes: -1}}}\n"
                .to_string(),
            None,
            "steps[0].summary.node.memory.availableBytes",
        ),
        (
            "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {pods: []}\n".to_string(),
            None,
            "steps[0].summary.node",
        ),
        (
            "steps:\n  - summary: {node: {}}\n".to_string(),
            None,
            "steps[0].time",
        ),
        (
            "pods: [{metadata: {name: x}}]\nsteps: []\n".to_string(),
            None,
            "pods[0].metadata.uid",
        ),
        (
            "{\"steps\": [{\"time\": \"2026-01-01T00:00:00Z\", \"summ".to_string(),
            None,
            "truncated",
        ),
        (
            STEP.to_string(),
            Some("evictionHard:\n  mem.available: 100Mi\n"),
            "mem.available",
        ),
        (
            format!("config: {{evictionHard: {{memory.available: \"-100Mi\"}}}}\n{STEP}"),
            None,
            "-100Mi",
        ),
    ];
    for (timeline, config, needle) in cases {
        let (code, stdout, stderr) = simulate(&timeline, config);
        assert_eq!(code, 2, "{timeline}\nstderr: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(needle), "expected {needle:?} in {stderr:?}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one-line error: {stderr}");
    }
}

#[test]
fn default_config_applies_kubelet_defaults() {
    // 50Mi available < default hard 100Mi: MemoryPressure without any configuration.
    let (code, stdout, stderr) = simulate(STEP, None);
    assert_eq!(code, 0, "{stderr}");
    let step: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(step["conditions"], json!(["MemoryPressure"]));
    assert_eq!(step["ranking"], json!([]));
    assert!(step["reason"].as_str().unwrap().contains("no pods are active"));
}

#[test]
fn percentages_print_as_written_and_notifier_key_is_always_present() {
    // 0.3f32 * 100 is 30.000002 in f32 arithmetic; the value must print as the operator wrote it.
    let config = "evictionHard: {memory.available: \"30%\"}\n\
                  evictionSoft: {memory.available: \"33.3%\"}\n\
                  evictionSoftGracePeriod: {memory.available: 1m}\n\
                  evictionMinimumReclaim: {memory.available: \"7%\"}\n";
    let (code, stdout, stderr) = simulate(STEP, Some(config));
    assert_eq!(code, 0, "{stderr}");
    let step: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let values: Vec<&str> = step["thresholdsMet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["30%", "33.3%"], "{step}");
    assert_eq!(step["thresholdsMet"][0]["minReclaim"], "7%");
    assert_eq!(step["reclaiming"]["value"], "30%");
    // kernelMemcgNotification is off: no notifier is armed, and the key says so.
    assert_eq!(step["memcgNotifiers"], json!([]), "{step}");
}

#[test]
fn local_storage_evictions_name_the_kubelet_pseudo_signal() {
    // An emptyDir over its sizeLimit: evicted without node pressure, grace 1 s, and counted by
    // the kubelet under `emptydirfs.limit`.
    let timeline = r#"pods:
  - metadata: {name: cache, namespace: web, uid: u1}
    spec:
      containers: [{name: app}]
      volumes: [{name: scratch, emptyDir: {sizeLimit: 1Gi}}]
steps:
  - time: 2026-01-01T00:00:00Z
    summary:
      node: {memory: {time: 2026-01-01T00:00:00Z, availableBytes: 8000000000, workingSetBytes: 1000000000}}
      pods:
        - podRef: {name: cache, namespace: web, uid: u1}
          volume: [{name: scratch, usedBytes: 2147483648}]
"#;
    let (code, stdout, stderr) = simulate(timeline, None);
    assert_eq!(code, 0, "{stderr}");
    let step: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let e = &step["evicted"];
    assert_eq!(e["pod"], "web/cache");
    assert_eq!(e["signal"], "emptydirfs.limit");
    assert_eq!(e["resource"], "ephemeral-storage");
    assert_eq!(e["gracePeriodSeconds"], 1);
    assert_eq!(
        e["message"],
        "Usage of EmptyDir volume \"scratch\" exceeds the limit \"1Gi\". "
    );
    assert_eq!(step["conditions"], json!([]));
    assert_eq!(step["ranking"], json!([]));
}

#[test]
fn split_filesystem_with_the_gate_off_fails_the_first_sync_then_never_evicts() {
    let dir = examples().join("soft-then-hard");
    let tmp = tempfile::tempdir().unwrap();
    let mut config = std::fs::read_to_string(dir.join("kubelet-config.yaml")).unwrap();
    config.push_str("\nfeatureGates:\n  KubeletSeparateDiskGC: false\n");
    let config_path = tmp.path().join("kubelet.yaml");
    std::fs::write(&config_path, config).unwrap();
    let run = |extra: &[&str]| {
        let out = headroom()
            .args(["simulate", "--format", "json", "--config"])
            .arg(&config_path)
            .arg("--timeline")
            .arg(dir.join("timeline.yaml"))
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(step_of)
            .collect::<Vec<_>>()
    };
    let split = run(&["--dedicated-image-fs", "--split-container-fs"]);
    assert!(split.len() > 1);
    // Only the first sync fails: the kubelet has recorded the image-fs detection by then, so
    // later syncs run, report pressure, and never evict for a threshold (no ranking function).
    assert_eq!(
        split[0]["syncError"],
        "KubeletSeparateDiskGC is turned off but we still have a split filesystem"
    );
    assert_eq!(split[0]["conditions"], json!([]));
    for step in &split[1..] {
        assert!(step.get("syncError").is_none(), "{step}");
        assert_eq!(step["evicted"], Value::Null);
    }
    assert!(split.iter().any(|s| s["conditions"] == json!(["MemoryPressure"])));
    assert!(split.iter().any(|s| {
        s["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no ranking function"))
    }));
    // Without the split the gate does not matter: the example still evicts.
    let plain = run(&[]);
    assert!(plain.iter().all(|s| s.get("syncError").is_none()));
    assert!(plain.iter().any(|s| !s["evicted"].is_null()));
}

/// Run a timeline with extra flags; one JSON object per step.
fn simulate_steps(timeline: &str, config: &str, flags: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("timeline.yaml");
    std::fs::write(&t, timeline).unwrap();
    let c = dir.path().join("kubelet.yaml");
    std::fs::write(&c, config).unwrap();
    let out = headroom()
        .args(["simulate", "--format", "json", "--timeline"])
        .arg(&t)
        .arg("--config")
        .arg(&c)
        .args(flags)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(step_of)
        .collect()
}

#[test]
fn split_container_fs_pressure_through_derived_nodefs_thresholds() {
    // The kubelet's own split-filesystem scenario: only nodefs thresholds are configured; the
    // containerfs copies (derived at the first sync) catch pressure on the container
    // filesystem, image/container GC is assumed to free nothing, and the pod with the most
    // writable-layer usage at the lowest priority goes.
    let fs = |avail: u64| format!("{{availableBytes: {avail}, capacityBytes: {}}}", 2 * avail);
    let gi: u64 = 1 << 30;
    let step = |t: &str, container_avail: u64| {
        format!(
            "  - time: {t}\n    summary:\n      node: {{nodeName: node-a, fs: {nf}, runtime: {{imageFs: {nf}, containerFs: {cf}}}}}\n      pods:\n        - podRef: {{name: scratch, namespace: ci, uid: u1}}\n          containers: [{{name: scratch, rootfs: {{usedBytes: 943718400}}, logs: {{usedBytes: 0}}}}]\n        - podRef: {{name: tidy, namespace: ci, uid: u2}}\n          containers: [{{name: tidy, rootfs: {{usedBytes: 104857600}}, logs: {{usedBytes: 0}}}}]\n",
            nf = fs(16 * gi),
            cf = fs(container_avail),
        )
    };
    let timeline = format!(
        "pods:\n  - metadata: {{name: scratch, namespace: ci, uid: u1}}\n    spec: {{priority: -1, containers: [{{name: scratch}}]}}\n  - metadata: {{name: tidy, namespace: ci, uid: u2}}\n    spec: {{priority: 0, containers: [{{name: tidy}}]}}\nsteps:\n{}{}{}",
        step("2026-01-01T00:00:00Z", 16 * gi),
        step("2026-01-01T00:01:00Z", 3 * gi / 2),
        step("2026-01-01T00:04:00Z", 3 * gi / 2),
    );
    let config = "evictionHard: {nodefs.available: 1Gi}\n\
                  evictionSoft: {nodefs.available: 2Gi}\n\
                  evictionSoftGracePeriod: {nodefs.available: 2m}\n\
                  evictionMaxPodGracePeriod: 5\n";
    let steps = simulate_steps(
        &timeline,
        config,
        &["--dedicated-image-fs", "--split-container-fs"],
    );
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["conditions"], json!([]));
    assert_eq!(steps[1]["conditions"], json!(["DiskPressure"]));
    assert_eq!(steps[1]["thresholdsMet"][0]["signal"], "containerfs.available");
    assert!(steps[1]["evicted"].is_null());
    let e = &steps[2]["evicted"];
    assert_eq!(e["pod"], "ci/scratch", "{}", steps[2]);
    assert_eq!(e["signal"], "containerfs.available");
    assert_eq!(e["gracePeriodSeconds"], 5);
    assert_eq!(
        e["message"],
        "The node was low on resource: ephemeral-storage. Threshold quantity: 2Gi, available: 1536Mi. \
         Container scratch was using 900Mi, request is 0, has larger consumption of ephemeral-storage. "
    );
    assert!(!steps[2]["nodeReclaim"].is_null(), "{}", steps[2]);
}

#[test]
fn pid_pressure_with_unstamped_stats_acts_on_a_repeated_summary() {
    // PID figures without a time (the Go zero time) always count as fresh, so the same
    // Summary seen again after the grace period still evicts, as in the kubelet's own test.
    let rlimit = |running: u32| format!("{{maxpid: 2000, curproc: {running}}}");
    let pods = "      pods:\n        - podRef: {name: forker, namespace: ci, uid: u1}\n          process_stats: {process_count: 600}\n        - podRef: {name: quiet, namespace: ci, uid: u2}\n          process_stats: {process_count: 50}\n";
    let step = |t: &str, running: u32| {
        format!(
            "  - time: {t}\n    summary:\n      node: {{nodeName: node-a, rlimit: {}}}\n{pods}",
            rlimit(running)
        )
    };
    let timeline = format!(
        "pods:\n  - metadata: {{name: forker, namespace: ci, uid: u1}}\n    spec: {{priority: -1, containers: [{{name: c}}]}}\n  - metadata: {{name: quiet, namespace: ci, uid: u2}}\n    spec: {{priority: -1, containers: [{{name: c}}]}}\nsteps:\n{}{}{}",
        step("2026-01-01T00:00:00Z", 300),
        step("2026-01-01T00:01:00Z", 700),
        step("2026-01-01T00:04:00Z", 700),
    );
    let config = "evictionHard: {pid.available: \"1200\"}\n\
                  evictionSoft: {pid.available: \"1500\"}\n\
                  evictionSoftGracePeriod: {pid.available: 2m}\n\
                  evictionMaxPodGracePeriod: 5\n";
    let steps = simulate_steps(&timeline, config, &[]);
    assert_eq!(steps[0]["conditions"], json!([]));
    assert_eq!(steps[1]["conditions"], json!(["PIDPressure"]));
    assert!(steps[1]["evicted"].is_null());
    let e = &steps[2]["evicted"];
    assert_eq!(e["pod"], "ci/forker", "{}", steps[2]);
    assert_eq!(e["gracePeriodSeconds"], 5);
    assert_eq!(
        e["message"],
        "The node was low on resource: pids. Threshold quantity: 1500, available: 1300. "
    );
}

#[test]
fn the_schema_check_rejects_renamed_keys_and_unknown_codes() {
    let schema = schema::sync_step_schema();
    let steps = run_example("soft-then-hard");
    assert_eq!(steps[1]["reasonCode"], "grace-period-pending");
    let mut renamed = steps[1].clone();
    let reason = renamed.as_object_mut().unwrap().remove("reason").unwrap();
    renamed["noEvictionReason"] = reason;
    assert!(schema::check(&schema, &schema, &renamed, "$").is_err());
    let mut unknown = steps[1].clone();
    unknown["reasonCode"] = json!("grace");
    assert!(schema::check(&schema, &schema, &unknown, "$").is_err());
    // Every code the core can produce is in the schema, spelled as the core spells it.
    let codes = &schema["properties"]["reasonCode"]["oneOf"][1]["enum"];
    for code in headroom_core::manager::NoEvictionCode::ALL {
        assert!(
            codes.as_array().unwrap().contains(&json!(code.as_str())),
            "{code}"
        );
    }
    assert_eq!(
        codes.as_array().unwrap().len(),
        headroom_core::manager::NoEvictionCode::ALL.len()
    );
}
