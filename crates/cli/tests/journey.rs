//! A new user's first hour: every input mistake gives one line naming the file, the field and
//! the value (exit status 2), the text views stay within 100 columns whatever the pod names, and
//! the examples printed by `--help` run as written.
//!
//! Over 600 lines on purpose: one user's journey, step by step, read top to bottom.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/run.rs"]
mod run;
use run::{Run, headroom};

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

const PRESSURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/status/pressure");
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Exit status 2, nothing on stdout, and exactly one line on stderr holding every `needle`.
fn assert_bad_input(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let line = run.stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "not one line:\n{line}");
    assert!(line.starts_with("headroom: error: "), "{line}");
    for needle in needles {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(PRESSURE).join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(value).unwrap()).unwrap();
    path
}

fn summary_path() -> PathBuf {
    Path::new(PRESSURE).join("summary.json")
}

/// `check-config FILE --format json`, which must succeed; its report.
fn check_config_json(file: &std::path::Path) -> Value {
    let run = headroom([
        "check-config".as_ref(),
        file.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn status_names_the_summary_field_that_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let mut summary = fixture("summary.json");
    summary["node"]["memory"]["availableBytes"] = json!(-5);
    let file = write_json(tmp.path(), "negative.json", &summary);
    let run = headroom(["status".as_ref(), "--summary".as_ref(), file.as_os_str()]);
    assert_bad_input(&run, &["negative.json", "node.memory.availableBytes", "-5"]);

    let mut summary = fixture("summary.json");
    summary.as_object_mut().unwrap().remove("node");
    let file = write_json(tmp.path(), "no-node.json", &summary);
    let run = headroom(["status".as_ref(), "--summary".as_ref(), file.as_os_str()]);
    assert_bad_input(&run, &["no-node.json", "`node`"]);
}

#[test]
fn status_pods_without_uid_or_of_another_kind_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = summary_path();
    let pods = fixture("pods.json");

    let mut no_uid = pods.clone();
    no_uid["items"][1]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("uid");
    let name = no_uid["items"][1]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let file = write_json(tmp.path(), "no-uid.json", &no_uid);
    let run = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        summary.as_os_str(),
        "--pods".as_ref(),
        file.as_os_str(),
    ]);
    assert_bad_input(&run, &["no-uid.json", "pod #1", &name, "metadata.uid: missing"]);

    let mut twice = pods.clone();
    twice["items"][2]["metadata"]["uid"] = twice["items"][0]["metadata"]["uid"].clone();
    let file = write_json(tmp.path(), "twice.json", &twice);
    let run = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        summary.as_os_str(),
        "--pods".as_ref(),
        file.as_os_str(),
    ]);
    assert_bad_input(&run, &["twice.json", "pod #2", "appears twice"]);

    // `kubectl get --raw /api/v1/nodes`: items without kind, but with metadata and spec.
    let nodes = json!({"kind": "NodeList", "apiVersion": "v1",
        "items": [{"metadata": {"name": "worker-3", "uid": "n1"}, "spec": {"podCIDR": "10.0.0.0/24"}}]});
    let file = write_json(tmp.path(), "nodes.json", &nodes);
    let run = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        summary.as_os_str(),
        "--pods".as_ref(),
        file.as_os_str(),
    ]);
    assert_bad_input(&run, &["nodes.json", "kind: \"NodeList\""]);
}

#[test]
fn a_config_file_fails_the_same_way_in_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = tmp.path().join("binary.yaml");
    std::fs::write(&binary, [0x80_u8, 0xff, 0x00, 0x41]).unwrap();
    let empty = tmp.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let dir = tmp.path().join("a-dir");
    std::fs::create_dir(&dir).unwrap();
    let timeline = Path::new(REPO).join("examples/min-reclaim/timeline.yaml");
    let summary = summary_path();
    let cases: [(&Path, &[&str]); 3] = [
        (&binary, &["not a text file (invalid UTF-8)"]),
        (&empty, &["the file is empty"]),
        (&dir, &["cannot read kubelet config", "Is a directory"]),
    ];
    for (file, why) in cases {
        let commands: [Vec<&std::ffi::OsStr>; 4] = [
            vec!["check-config".as_ref(), file.as_os_str()],
            vec![
                "status".as_ref(),
                "--summary".as_ref(),
                summary.as_os_str(),
                "--config".as_ref(),
                file.as_os_str(),
            ],
            vec![
                "simulate".as_ref(),
                "--timeline".as_ref(),
                timeline.as_os_str(),
                "--config".as_ref(),
                file.as_os_str(),
            ],
            vec![
                "agent".as_ref(),
                "--once".as_ref(),
                "--listen".as_ref(),
                "off".as_ref(),
                "--notifications".as_ref(),
                "off".as_ref(),
                "--config".as_ref(),
                file.as_os_str(),
            ],
        ];
        for args in commands {
            let run = headroom(&args);
            let mut needles = vec![file.to_str().unwrap()];
            needles.extend_from_slice(why);
            assert_bad_input(&run, &needles);
        }
    }
}

#[test]
fn a_truncated_yaml_timeline_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(Path::new(REPO).join("examples/min-reclaim/timeline.yaml")).unwrap();
    // Cut inside a quoted string on a flow mapping's line.
    let cut = text.find("\"uid-worker\"").unwrap() + 4;
    let file = tmp.path().join("cut.yaml");
    std::fs::write(&file, &text[..cut]).unwrap();
    let run = headroom(["simulate".as_ref(), "--timeline".as_ref(), file.as_os_str()]);
    assert_bad_input(&run, &["cut.yaml", "not valid YAML", "line "]);
}

#[test]
fn agent_root_that_is_no_directory_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Path::new(REPO).join("examples/min-reclaim/kubelet-config.yaml");
    let missing = tmp.path().join("no-such-host");
    let archive = tmp.path().join("node.tar.gz");
    std::fs::write(&archive, b"not a host").unwrap();
    for (root, why) in [(&missing, "No such file"), (&archive, "not a directory")] {
        let run = headroom([
            "agent".as_ref(),
            "--once".as_ref(),
            "--notifications".as_ref(),
            "off".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            "--root".as_ref(),
            root.as_os_str(),
        ]);
        assert_bad_input(&run, &["--root", root.to_str().unwrap(), why]);
    }
}

/// Long namespaces and pod names (63 characters each, the API maximum for a namespace).
fn long_names(dir: &Path) -> (PathBuf, PathBuf) {
    let namespace = "payments-production-eu-west-1-blue-green-canary-rollout-team-a1";
    assert_eq!(namespace.len(), 63);
    let mut pods = fixture("pods.json");
    let mut summary = fixture("summary.json");
    for (i, pod) in pods["items"].as_array_mut().unwrap().iter_mut().enumerate() {
        // One deployment: the names differ only in the pod's own suffix, at the very end.
        let name = format!("checkout-service-with-a-very-long-deployment-name-7f9c8b6d5f-x2k4{i}");
        let uid = pod["metadata"]["uid"].clone();
        pod["metadata"]["name"] = json!(name);
        pod["metadata"]["namespace"] = json!(namespace);
        for stats in summary["pods"].as_array_mut().unwrap() {
            if stats["podRef"]["uid"] == uid {
                stats["podRef"]["name"] = json!(name);
                stats["podRef"]["namespace"] = json!(namespace);
            }
        }
    }
    (
        write_json(dir, "summary.json", &summary),
        write_json(dir, "pods.json", &pods),
    )
}

#[test]
fn status_fits_100_columns_with_long_pod_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (summary, pods) = long_names(tmp.path());
    for config in ["kubelet.yaml", "kubelet-soft.yaml"] {
        let config = Path::new(PRESSURE).join(config);
        let run = headroom([
            "status".as_ref(),
            "--summary".as_ref(),
            summary.as_os_str(),
            "--pods".as_ref(),
            pods.as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
        ]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        for line in run.stdout.lines() {
            assert!(line.chars().count() <= 100, "over 100 columns: {line}");
        }
        // The pods of one deployment stay distinguishable in the eviction order.
        let table: Vec<&str> = run
            .stdout
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("# pod"))
            .skip(1)
            // The second header line ("set" of "working set").
            .skip_while(|l| l.trim() == "set")
            .take_while(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert!(table.len() >= 5, "{}", run.stdout);
        let labels: std::collections::BTreeSet<&str> = table
            .iter()
            .map(|l| l.split_whitespace().nth(1).unwrap())
            .collect();
        assert_eq!(labels.len(), table.len(), "{table:#?}");
    }
}

#[test]
fn check_config_and_simulate_json_is_stable() {
    let config = Path::new(REPO).join("examples/soft-then-hard/kubelet-config.yaml");
    let timeline = Path::new(REPO).join("examples/soft-then-hard/timeline.yaml");
    let run = headroom([
        "simulate".as_ref(),
        "--timeline".as_ref(),
        timeline.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.len() > 1);
    for line in lines {
        let step: Value = serde_json::from_str(line).unwrap();
        assert_camel_case(&step, "step");
    }
    let run = headroom([
        "check-config".as_ref(),
        config.as_os_str(),
        "--capacity".as_ref(),
        "8Gi".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_camel_case(&serde_json::from_str(&run.stdout).unwrap(), "check-config");
}

/// Object keys are camelCase, except maps keyed by data (signals, annotations, resources).
fn assert_camel_case(v: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let data_key = k.contains('.')
                    || k.contains('_') && k.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                let camel = k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && !k.contains('-')
                    && !k.contains(' ');
                assert!(camel || data_key, "{at}: key {k:?} is not camelCase");
                assert_camel_case(child, &format!("{at}.{k}"));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| assert_camel_case(i, at)),
        _ => {}
    }
}

/// The `headroom ...` lines under "Examples" of a long help, with `\\` continuations joined and
/// trailing `# comments` dropped. The section ends at a blank or unindented line.
fn help_examples(args: &[&str]) -> Vec<String> {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--help");
    let help = headroom(&all).stdout;
    let Some(section) = help.split("\nExamples").nth(1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in section.lines().skip(1) {
        if line.trim().is_empty() || !line.starts_with(' ') {
            break;
        }
        let code = line.trim().split("  #").next().unwrap().trim_end();
        pending.push_str(code.trim_end_matches('\\').trim_end());
        if code.ends_with('\\') {
            pending.push(' ');
            continue;
        }
        let example = std::mem::take(&mut pending);
        if example.starts_with("headroom ") {
            out.push(example);
        }
    }
    out
}

#[test]
fn help_examples_run_as_written() {
    let bin = assert_cmd::cargo::cargo_bin("headroom");
    // Only examples whose inputs exist here, and that neither need a node nor run forever.
    let runnable = |example: &str| {
        !example.contains("/var/lib/kubelet")
            && !example.starts_with("headroom agent")
            && !example.starts_with("headroom experiment")
            && !example.starts_with("headroom status")
            && !example.starts_with("headroom summary")
            && !example.starts_with("headroom capture")
            && !example.contains(" config.yaml")
    };
    let mut ran = 0;
    for cmd in [&["check-config"][..], &["simulate"][..]] {
        let examples = help_examples(cmd);
        assert!(!examples.is_empty(), "{cmd:?}: no examples found");
        for example in examples.into_iter().filter(|e| runnable(e)) {
            // Through a shell, so quoting mistakes (an unquoted `<`) show as they would for a user.
            let script = format!("{} {}", bin.display(), &example["headroom ".len()..]);
            let out = std::process::Command::new("bash")
                .args(["-o", "pipefail", "-c", &script])
                .current_dir(REPO)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("jq: not found") || stderr.contains("jq: command not found") {
                continue;
            }
            assert!(out.status.success(), "{example}\n{stderr}");
            assert!(!out.stdout.is_empty(), "{example}: no output");
            ran += 1;
        }
    }
    assert!(ran >= 3, "only {ran} examples ran");
}

/// The `$ headroom simulate ...` run shown in a Markdown file: the command (with `\`
/// continuations joined) and the output lines printed under it.
fn documented_simulate_run(markdown: &str) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(Path::new(REPO).join(markdown)).unwrap();
    let start = text.find("$ headroom simulate").unwrap();
    let block = &text[start..text[start..].find("```").unwrap() + start];
    let mut lines = block.lines();
    let mut command = String::new();
    for line in lines.by_ref() {
        let line = line.trim().trim_start_matches("$ ");
        command.push_str(line.trim_end_matches('\\'));
        if !line.ends_with('\\') {
            break;
        }
    }
    let args = command.split_whitespace().skip(1).map(String::from).collect();
    (args, lines.map(String::from).collect())
}

#[test]
fn documented_simulate_runs_print_what_the_docs_show() {
    for (markdown, whole) in [("examples/README.md", true), ("README.md", false)] {
        let (args, shown) = documented_simulate_run(markdown);
        let out = Command::cargo_bin("headroom")
            .unwrap()
            .args(&args)
            .current_dir(REPO)
            .output()
            .unwrap();
        assert!(out.status.success(), "{markdown}: {args:?}");
        let printed = String::from_utf8(out.stdout).unwrap();
        if whole {
            assert_eq!(shown.join("\n") + "\n", printed, "{markdown}");
        } else {
            // Excerpts ("..." stands for left-out lines): each shown line, in order.
            let mut rest = printed.lines();
            for line in shown.iter().filter(|l| l.as_str() != "...") {
                assert!(
                    rest.any(|p| p == line),
                    "{markdown}: {line:?} not printed (in this order):\n{printed}"
                );
            }
        }
        for line in printed.lines() {
            assert!(line.chars().count() <= 100, "{markdown}: {line}");
        }
    }
}

#[test]
fn the_running_kubelets_configz_is_a_config() {
    // `kubectl get --raw /api/v1/nodes/NODE/proxy/configz` from a laptop: the thresholds inside
    // apply (they used to be ignored, silently leaving the kubelet defaults).
    let tmp = tempfile::tempdir().unwrap();
    let configz = json!({"kubeletconfig": {
        "evictionHard": {"memory.available": "500Mi", "nodefs.available": "10%"},
        "evictionPressureTransitionPeriod": "5m0s",
        "cgroupDriver": "systemd"
    }});
    let file = write_json(tmp.path(), "configz.json", &configz);
    let summary = summary_path();
    let run = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        summary.as_os_str(),
        "--config".as_ref(),
        file.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(run.stdout.contains("\"500Mi\""), "{}", run.stdout);
    assert!(
        report["conditions"].to_string().contains("MemoryPressure"),
        "{report}"
    );
    let checked = check_config_json(&file);
    assert_eq!(checked["podCgroupRoot"], "/kubepods.slice", "{checked}");
}

#[test]
fn a_negative_capacity_is_named() {
    let run = headroom(["check-config", "--capacity", "-1Gi"]);
    assert_bad_input(&run, &["--capacity", "\"-1Gi\"", "must be positive"]);
}

#[test]
fn agent_pods_file_without_uid_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Path::new(REPO).join("examples/min-reclaim/kubelet-config.yaml");
    let mut pods = fixture("pods.json");
    pods["items"][0]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("uid");
    let file = write_json(tmp.path(), "pods.json", &pods);
    let run = headroom([
        "agent".as_ref(),
        "--once".as_ref(),
        "--listen".as_ref(),
        "off".as_ref(),
        "--notifications".as_ref(),
        "off".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--pods".as_ref(),
        file.as_os_str(),
    ]);
    assert_bad_input(
        &run,
        &[
            "--pods",
            file.to_str().unwrap(),
            "pod #0",
            "metadata.uid: missing",
        ],
    );
}

#[test]
fn status_ranks_only_this_nodes_active_pods() {
    // `kubectl get pods -A -o json` without --field-selector: other nodes' pods and finished
    // Job pods have no stats here and used to be ranked first.
    let tmp = tempfile::tempdir().unwrap();
    let mut pods = fixture("pods.json");
    let node = fixture("summary.json")["node"]["nodeName"].clone();
    let items = pods["items"].as_array_mut().unwrap();
    assert!(items.iter().all(|p| p["spec"]["nodeName"] == node));
    let mut elsewhere = items[1].clone();
    elsewhere["metadata"]["name"] = json!("api-on-another-node");
    elsewhere["metadata"]["uid"] = json!("uid-elsewhere");
    elsewhere["spec"]["nodeName"] = json!("worker-9");
    let mut finished = items[0].clone();
    finished["metadata"]["name"] = json!("nightly-report-29011");
    finished["metadata"]["uid"] = json!("uid-finished");
    finished["status"]["phase"] = json!("Succeeded");
    items.push(elsewhere);
    items.push(finished);
    let file = write_json(tmp.path(), "all-pods.json", &pods);
    let summary = summary_path();
    let run = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        summary.as_os_str(),
        "--pods".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let order = run.stdout.split("Eviction order").nth(1).unwrap();
    let table = order.split("placed by =").next().unwrap();
    assert!(!table.contains("api-on-another-node"), "{}", run.stdout);
    assert!(!table.contains("nightly-report"), "{}", run.stdout);
    assert!(
        run.stdout.contains("run on other nodes (worker-9)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("terminal phase"), "{}", run.stdout);
    // The same pods file with this node's pods only ranks the same pods.
    let run_own = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        summary.as_os_str(),
        "--pods".as_ref(),
        Path::new(PRESSURE).join("pods.json").as_os_str(),
    ]);
    let own = run_own.stdout.split("Eviction order").nth(1).unwrap();
    assert_eq!(own.split("placed by =").next().unwrap(), table);
}

#[test]
fn a_summary_can_be_piped_in() {
    // kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary | headroom status --summary -
    let summary = std::fs::read(summary_path()).unwrap();
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["status", "--summary", "-"])
        .write_stdin(summary)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("source  kubelet Summary (standard input)"),
        "{text}"
    );
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["status", "--summary", "-"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("(standard input): the file is empty"), "{stderr}");
}

#[test]
fn windows_encodings_are_read_or_named() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(summary_path()).unwrap();
    // A UTF-8 byte-order mark (Notepad, PowerShell 7's utf8BOM) is skipped.
    let bom = tmp.path().join("bom.json");
    std::fs::write(&bom, [&[0xef_u8, 0xbb, 0xbf][..], text.as_bytes()].concat()).unwrap();
    let run = headroom(["status".as_ref(), "--summary".as_ref(), bom.as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // UTF-16 (Windows PowerShell 5's `>`) is named as such.
    let utf16 = tmp.path().join("utf16.json");
    let mut bytes = vec![0xff_u8, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&utf16, bytes).unwrap();
    let run = headroom(["status".as_ref(), "--summary".as_ref(), utf16.as_os_str()]);
    assert_bad_input(&run, &["utf16.json", "UTF-16", "save it as UTF-8"]);
}

#[test]
fn a_misspelt_eviction_field_is_a_warning_not_silence() {
    // The kubelet ignores `evictionhard` (case-sensitive, lenient decoding) and runs with its
    // defaults: check-config accepts the file, as the kubelet does, and says why nothing changed.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("kc.yaml");
    std::fs::write(
        &file,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionhard:\n  memory.available: 1Gi\n",
    )
    .unwrap();
    let checked = check_config_json(&file);
    let warning = checked["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "misspelled-field")
        .expect("a misspelled-field warning");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.contains("kc.yaml:3:") && message.contains("evictionHard"),
        "{message}"
    );
    assert_eq!(checked["thresholds"][0]["value"], "100Mi", "{checked}");
}

#[test]
fn agent_warns_about_a_misspelt_eviction_field() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("kc.yaml");
    std::fs::write(
        &file,
        "kind: KubeletConfiguration\nevictionSoftGracePeriods: {}\n",
    )
    .unwrap();
    let host = tmp.path().join("not-a-host");
    std::fs::create_dir(&host).unwrap();
    // The pass fails on the empty root (exit 1); the warning comes before it.
    let run = headroom([
        "agent".as_ref(),
        "--once".as_ref(),
        "--notifications".as_ref(),
        "off".as_ref(),
        "--root".as_ref(),
        host.as_os_str(),
        "--config".as_ref(),
        file.as_os_str(),
    ]);
    assert!(
        run.stderr
            .contains("\"evictionSoftGracePeriods\" is not a KubeletConfiguration field"),
        "{}",
        run.stderr
    );
}
