//! `headroom status` end to end: snapshot tests of the text and JSON views on
//! (a) the real cgroup v1 root captured on this machine kind,
//! (b) constructed cgroup v2 trees with a kubepods cgroup and pods of each QoS class,
//! (c) a Summary + pods + kubelet config under memory pressure,
//! plus the live host (no pods cgroup here) and bad input.
//!
//! Over 600 lines on purpose: each tree's text and JSON snapshots side by side (the trees themselves are in common/status_trees.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../linux/tests/common/sample_host.rs"]
mod sample_host;

#[path = "common/status_trees.rs"]
mod status_trees;
use status_trees::*;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const PRESSURE: &str = "tests/fixtures/status/pressure";

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn headroom(args: &[&str]) -> Run {
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .current_dir(MANIFEST)
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Run status on a tree and hide its temporary path.
fn status_on_tree(tree: &Path, extra: &[&str]) -> Run {
    let root = tree.to_str().unwrap();
    let mut args = vec!["status", "--root", root];
    args.extend_from_slice(extra);
    let mut run = headroom(&args);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    run.stdout = run.stdout.replace(root, "<ROOT>");
    run
}

/// The text view fits 100 columns and carries no colour when stdout is not a terminal.
fn assert_fits(text: &str) {
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "line over 100 columns: {line:?}");
        assert!(!line.contains('\x1b'), "colour escape in piped output: {line:?}");
    }
}

/// Config lint wording belongs to headroom-core's lint tests: keep each warning's code in the
/// snapshot, hide its message so a rewording there does not break the status snapshots.
fn redact_lint(output: &str) -> String {
    let mut out = String::new();
    let mut in_warning = false;
    for line in output.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("\"message\": ") {
            let indent = &line[..line.len() - line.trim_start().len()];
            let comma = if rest.ends_with(',') { "," } else { "" };
            out.push_str(&format!("{indent}\"message\": \"<lint message>\"{comma}\n"));
            continue;
        }
        if line.starts_with("  - config: ") {
            in_warning = true;
        } else if in_warning && !line.starts_with("    ") {
            in_warning = false;
        }
        if in_warning {
            if let (Some(open), true) = (line.rfind('['), line.ends_with(']')) {
                out.push_str(&format!("  - config: <lint message> {}\n", &line[open..]));
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------
// (a) the real v1 capture

fn v1_sample_tree(dir: &Path) {
    sample_host::v1_sample_host(dir, sample_host::RootFiles::All);
    write(&dir.join("proc/sys/kernel/hostname"), "vm\n");
    meta(
        dir,
        "2026-11-28T02:01:35Z",
        TMPFS_MAGIC,
        Some(CGROUP2_MAGIC),
        Some("/sys/fs/cgroup/memory"),
    );
}

#[test]
fn v1_sample_capture_text_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    v1_sample_tree(tmp.path());
    let text = status_on_tree(tmp.path(), &["--verbose"]);
    assert_fits(&text.stdout);
    insta::assert_snapshot!("v1_sample_text", text.stdout);
    // The kubelet's figures from computed-cadvisor-figures.txt appear exactly.
    assert!(
        text.stdout
            .contains("752,611,328 - inactive_file 464,138,240 = 288,473,088")
    );
    assert!(
        text.stdout
            .contains("25,276,502,016 - working set 288,473,088 = 24,988,028,928")
    );
    let json = status_on_tree(tmp.path(), &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["kubelet"]["memoryAvailable"]["availableBytes"],
        24_988_028_928u64
    );
    assert_eq!(v["podsCgroup"]["found"], false);
    insta::assert_snapshot!("v1_sample_json", json.stdout);
}

// ---------------------------------------------------------------------------------------
// (b) constructed v2 trees

#[test]
fn v2_cgroupfs_tree_each_qos_text_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    v2_tree(tmp.path(), false);
    let text = status_on_tree(tmp.path(), &[]);
    assert_fits(&text.stdout);
    insta::assert_snapshot!("v2_cgroupfs_text", text.stdout);
    let json = status_on_tree(tmp.path(), &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["podsCgroup"]["found"], true);
    assert_eq!(v["evictionOrder"]["total"], 3);
    insta::assert_snapshot!("v2_cgroupfs_json", json.stdout);
}

#[test]
fn v2_systemd_tree_with_pods_file() {
    let tmp = tempfile::tempdir().unwrap();
    v2_tree(tmp.path(), true);
    let pods = pods_file(tmp.path());
    let text = status_on_tree(tmp.path(), &["--pods", pods.to_str().unwrap()]);
    assert_fits(&text.stdout);
    insta::assert_snapshot!("v2_systemd_pods_text", text.stdout);
}

// ---------------------------------------------------------------------------------------
// (c) Summary + pods + config under memory pressure

#[test]
fn summary_under_pressure_soft_and_hard() {
    let args = |format: &'static str| {
        [
            "status",
            "--summary",
            "tests/fixtures/status/pressure/summary.json",
            "--pods",
            "tests/fixtures/status/pressure/pods.json",
            "--config",
            "tests/fixtures/status/pressure/kubelet.yaml",
            "--format",
            format,
        ]
    };
    let text = headroom(&args("text"));
    assert_eq!(text.code, 0, "stderr: {}", text.stderr);
    assert_fits(&text.stdout);
    insta::assert_snapshot!("pressure_text", redact_lint(&text.stdout));
    let json = headroom(&args("json"));
    assert_eq!(json.code, 0, "stderr: {}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["conditions"], serde_json::json!(["MemoryPressure"]));
    assert!(v["configWarnings"].as_array().is_some_and(|w| !w.is_empty()));
    insta::assert_snapshot!("pressure_json", redact_lint(&json.stdout));
}

#[test]
fn summary_with_only_the_soft_threshold_met() {
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--pods",
        &format!("{PRESSURE}/pods.json"),
        "--config",
        &format!("{PRESSURE}/kubelet-soft.yaml"),
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("below the soft threshold 10% (1.6 GiB)"),
        "{words}"
    );
    assert!(words.contains("for the 1m30s grace period"), "{words}");
    assert_fits(&run.stdout);
    insta::assert_snapshot!("pressure_soft_text", redact_lint(&run.stdout));
}

#[test]
fn summary_without_pods_says_what_is_unknown() {
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--top",
        "3",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_fits(&run.stdout);
    insta::assert_snapshot!("summary_only_text", run.stdout);
}

// ---------------------------------------------------------------------------------------
// live host and bad input

#[test]
fn live_host_runs_and_says_no_pods_cgroup() {
    let run = headroom(&["status"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    // Words, not line breaks: text wraps at 100 columns, and what precedes this sentence
    // depends on the host (a nearly full disk adds a DiskPressure note).
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("No pods cgroup was found"), "{}", run.stdout);
    assert!(words.contains("memory.available"), "{}", run.stdout);
    let json = headroom(&["status", "--format", "json"]);
    assert_eq!(json.code, 0, "stderr: {}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["podsCgroup"]["found"], false);
    // Capacity is MemTotal, as the kubelet's cAdvisor sets it; the arithmetic holds exactly.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let node = &v["kubelet"]["memoryAvailable"];
    assert_eq!(node["capacityBytes"].as_u64().unwrap(), mem_total_kb * 1024);
    assert_eq!(
        node["availableBytes"].as_u64().unwrap() + node["workingSetBytes"].as_u64().unwrap(),
        mem_total_kb * 1024
    );
    assert_eq!(
        node["usageBytes"].as_u64().unwrap() - node["inactiveFileBytes"].as_u64().unwrap(),
        node["workingSetBytes"].as_u64().unwrap()
    );
}

#[test]
fn bad_inputs_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let truncated = tmp.path().join("truncated.json");
    std::fs::write(&truncated, r#"{"node": {"nodeName": "x", "memory": {"availab"#).unwrap();
    let run = headroom(&["status", "--summary", truncated.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("truncated.json"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    let missing = tmp.path().join("nope.json");
    let run = headroom(&["status", "--summary", missing.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nope.json"), "{}", run.stderr);

    let pods = tmp.path().join("pods.json");
    std::fs::write(&pods, r#"{"items": [{"spec": {"priority": "high"}}]}"#).unwrap();
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--pods",
        pods.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("pods.json") && run.stderr.contains("pod #0"),
        "{}",
        run.stderr
    );

    let junk = tmp.path().join("kubelet.yaml");
    std::fs::write(&junk, "evictionHard:\n  memory.available: lots\n").unwrap();
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--config",
        junk.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("kubelet.yaml"), "{}", run.stderr);

    let run = headroom(&["status", "--root", tmp.path().join("empty").to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// (d) the seed's question under pressure: is it the active page cache or anonymous memory?

/// One pod of a pressure scenario: name, uid, memory request, its cgroup.
struct ScenarioPod {
    name: &'static str,
    uid: &'static str,
    request: &'static str,
    memory: Cg,
}

/// An 8 GiB cgroup v2 node (cgroupfs driver) whose root, `kubepods` and Burstable pods have
/// the given memory, with `meminfo` to match, a pods file and a kubelet config with a 2Gi hard
/// memory.available threshold. Returns (pods file, config file).
fn pressure_tree(dir: &Path, root: Cg, meminfo_kb: [u64; 8], pods: &[ScenarioPod]) -> (PathBuf, PathBuf) {
    let cg = dir.join("sys/fs/cgroup");
    write(&cg.join("cgroup.controllers"), "cpuset cpu io memory pids\n");
    write(&dir.join("proc/sys/kernel/hostname"), "worker-7\n");
    let [
        free,
        available,
        cached,
        active_anon,
        active_file,
        inactive_file,
        anon_pages,
        shmem,
    ] = meminfo_kb;
    write(
        &dir.join("proc/meminfo"),
        &format!(
            "MemTotal:        8388608 kB\nMemFree:         {free} kB\nMemAvailable:    {available} kB\n\
             Buffers:           10240 kB\nCached:          {cached} kB\nSwapCached:            0 kB\n\
             Active(anon):    {active_anon} kB\nInactive(anon):        0 kB\n\
             Active(file):    {active_file} kB\nInactive(file):  {inactive_file} kB\n\
             SwapTotal:             0 kB\nSwapFree:              0 kB\nAnonPages:       {anon_pages} kB\n\
             Shmem:           {shmem} kB\nKReclaimable:     204800 kB\nSlab:             307200 kB\n\
             SReclaimable:     204800 kB\nSUnreclaim:       102400 kB\n"
        ),
    );
    write(&dir.join("proc/sys/kernel/pid_max"), "4194304\n");
    write(&dir.join("proc/sys/kernel/threads-max"), "63000\n");
    write(&dir.join("proc/loadavg"), "0.50 0.40 0.30 3/412 12345\n");
    root.write_stat(&cg);
    let mut kubepods = Cg {
        anon: 0,
        active_file: 0,
        inactive_file: 0,
        shmem: 0,
        kernel: 50 * MI,
        max: Some(7 * GI),
    };
    for p in pods {
        kubepods.anon += p.memory.anon;
        kubepods.active_file += p.memory.active_file;
        kubepods.inactive_file += p.memory.inactive_file;
        kubepods.kernel += p.memory.kernel;
    }
    kubepods.write(&cg.join("kubepods"));
    let empty = |max| Cg {
        anon: 0,
        active_file: 0,
        inactive_file: 0,
        shmem: 0,
        kernel: 0,
        max,
    };
    empty(None).write(&cg.join("kubepods/besteffort"));
    let mut burstable = empty(None);
    for p in pods {
        burstable.anon += p.memory.anon;
        burstable.active_file += p.memory.active_file;
        burstable.inactive_file += p.memory.inactive_file;
        burstable.kernel += p.memory.kernel;
    }
    burstable.write(&cg.join("kubepods/burstable"));
    let mut items = Vec::new();
    for (n, p) in pods.iter().enumerate() {
        let pod_dir = cg.join(format!("kubepods/burstable/pod{}", p.uid));
        p.memory.write(&pod_dir);
        p.memory.write(&pod_dir.join(format!("{:0>64}", n + 1)));
        items.push(serde_json::json!({
            "metadata": {"name": p.name, "namespace": "shop", "uid": p.uid},
            "spec": {"nodeName": "worker-7", "priority": 0, "containers": [{"name": "main",
                "resources": {"requests": {"memory": p.request, "cpu": "100m"}}}]},
            "status": {"phase": "Running", "qosClass": "Burstable"},
        }));
    }
    meta(dir, "2026-11-28T03:00:00Z", CGROUP2_MAGIC, None, None);
    let pods_path = dir.join("pods.json");
    write(
        &pods_path,
        &serde_json::json!({"kind": "PodList", "items": items}).to_string(),
    );
    let config = dir.join("kubelet.yaml");
    write(
        &config,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  memory.available: \"2Gi\"\n  nodefs.available: \"10%\"\n",
    );
    (pods_path, config)
}

const UID_INDEXER: &str = "44444444-dddd-4ddd-8ddd-000000000004";
const UID_API: &str = "55555555-eeee-4eee-8eee-000000000005";

fn pod_cg(anon: u64, active_file: u64, inactive_file: u64) -> Cg {
    Cg {
        anon,
        active_file,
        inactive_file,
        shmem: 0,
        kernel: 20 * MI,
        max: None,
    }
}

/// The seed's case: a log indexer reading files fills the page cache; the kubelet counts the
/// active part as used and evicts it while `free` shows gigabytes of buff/cache.
fn active_cache_tree(dir: &Path) -> (PathBuf, PathBuf) {
    let root = Cg {
        anon: 2 * GI,
        active_file: 4608 * MI,
        inactive_file: 512 * MI,
        shmem: 64 * MI,
        kernel: 300 * MI,
        max: None,
    };
    pressure_tree(
        dir,
        root,
        // free, available, cached, active(anon), active(file), inactive(file), anon, shmem
        [
            629_145, 5_452_595, 5_308_416, 2_162_688, 4_718_592, 524_288, 2_097_152, 65_536,
        ],
        &[
            ScenarioPod {
                name: "log-indexer",
                uid: UID_INDEXER,
                request: "512Mi",
                memory: pod_cg(100 * MI, 2970 * MI, 100 * MI),
            },
            ScenarioPod {
                name: "api",
                uid: UID_API,
                request: "1Gi",
                memory: pod_cg(1200 * MI, 200 * MI, 50 * MI),
            },
        ],
    )
}

/// The other case: a leaking service's heap; page cache is small and not the cause.
fn anonymous_tree(dir: &Path) -> (PathBuf, PathBuf) {
    let root = Cg {
        anon: 6348 * MI,
        active_file: 300 * MI,
        inactive_file: 500 * MI,
        shmem: 64 * MI,
        kernel: 300 * MI,
        max: None,
    };
    pressure_tree(
        dir,
        root,
        [
            629_145, 1_572_864, 884_736, 6_565_888, 307_200, 512_000, 6_500_352, 65_536,
        ],
        &[
            ScenarioPod {
                name: "api",
                uid: UID_API,
                request: "1Gi",
                memory: pod_cg(3 * GI, 100 * MI, 50 * MI),
            },
            ScenarioPod {
                name: "log-indexer",
                uid: UID_INDEXER,
                request: "512Mi",
                memory: pod_cg(100 * MI, 400 * MI, 100 * MI),
            },
        ],
    )
}

/// Brief and verbose text, plus the JSON, of one scenario.
fn brief_verbose_json(dir: &Path, pods: &Path, config: &Path) -> (Run, Run, serde_json::Value) {
    let (pods, config) = (pods.to_str().unwrap(), config.to_str().unwrap());
    let base = ["--pods", pods, "--config", config];
    let brief = status_on_tree(dir, &base);
    let mut args = base.to_vec();
    args.push("--verbose");
    let verbose = status_on_tree(dir, &args);
    let mut args = base.to_vec();
    args.extend(["--format", "json"]);
    let json = status_on_tree(dir, &args);
    assert_fits(&brief.stdout);
    assert_fits(&verbose.stdout);
    (brief, verbose, serde_json::from_str(&json.stdout).unwrap())
}

/// The first `n` lines after the header: where the answer must be.
fn answer(text: &str, n: usize) -> String {
    text.lines()
        .skip_while(|l| !l.starts_with("MemoryPressure"))
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn active_page_cache_pressure_names_the_cache_for_node_and_pod() {
    let tmp = tempfile::tempdir().unwrap();
    let (pods, config) = active_cache_tree(tmp.path());
    let (brief, verbose, v) = brief_verbose_json(tmp.path(), &pods, &config);
    let head = answer(&brief.stdout, 12);
    assert!(head.starts_with("MemoryPressure: YES"), "{head}");
    assert!(
        head.contains("Cause: active page cache. 4.5 GiB of the node's"),
        "{head}"
    );
    assert!(head.contains("Without it memory.available would be"), "{head}");
    assert!(head.contains("more as used than `free` does"), "{head}");
    assert!(head.contains("First to go: shop/log-indexer"), "{head}");
    assert!(head.contains("is active page cache."), "{head}");
    assert_eq!(v["cause"]["kind"], "activePageCache");
    assert_eq!(v["cause"]["memory"]["estimated"], false);
    assert_eq!(v["cause"]["firstPod"]["pod"], "shop/log-indexer");
    // available + active page cache = what memory.available would be without it.
    assert_eq!(
        v["cause"]["availableWithoutActiveFileBytes"].as_i64().unwrap(),
        v["cause"]["availableBytes"].as_i64().unwrap()
            + v["cause"]["memory"]["activeFileBytes"].as_i64().unwrap()
    );
    let codes: Vec<&str> = v["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["podMemoryLimit", "softThreshold", "headroomAgent"]);
    assert!(brief.stdout.contains("What you can do"), "{}", brief.stdout);
    assert!(!brief.stdout.contains("The kubelet's arithmetic"));
    assert!(verbose.stdout.contains("The kubelet's arithmetic"));
    insta::assert_snapshot!("cause_active_cache_brief", redact_lint(&brief.stdout));
    insta::assert_snapshot!("cause_active_cache_verbose", redact_lint(&verbose.stdout));
}

#[test]
fn anonymous_memory_pressure_says_so_instead() {
    let tmp = tempfile::tempdir().unwrap();
    let (pods, config) = anonymous_tree(tmp.path());
    let (brief, verbose, v) = brief_verbose_json(tmp.path(), &pods, &config);
    let head = answer(&brief.stdout, 12);
    assert!(head.starts_with("MemoryPressure: YES"), "{head}");
    assert!(head.contains("Cause: anonymous memory"), "{head}");
    assert!(head.contains("still below the threshold"), "{head}");
    assert!(head.contains("First to go: shop/api"), "{head}");
    assert!(head.contains("working set is anonymous memory"), "{head}");
    assert_eq!(v["cause"]["kind"], "anonymousMemory");
    let codes: Vec<&str> = v["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "podMemoryRequest",
            "podMemoryLimit",
            "kernelMemcgNotification",
            "headroomAgent"
        ]
    );
    insta::assert_snapshot!("cause_anonymous_brief", redact_lint(&brief.stdout));
    insta::assert_snapshot!("cause_anonymous_verbose", redact_lint(&verbose.stdout));
}

#[test]
fn no_pressure_brief_and_verbose() {
    let tmp = tempfile::tempdir().unwrap();
    v2_tree(tmp.path(), false);
    let pods = pods_file(tmp.path());
    let pods = pods.to_str().unwrap();
    let brief = status_on_tree(tmp.path(), &["--pods", pods]);
    let verbose = status_on_tree(tmp.path(), &["--pods", pods, "--verbose"]);
    assert_fits(&brief.stdout);
    let head = answer(&brief.stdout, 6);
    assert!(
        head.starts_with("MemoryPressure: no No memory pressure"),
        "{head}"
    );
    assert!(head.contains("is active page cache"), "{head}");
    assert!(!brief.stdout.contains("What you can do"));
    insta::assert_snapshot!("cause_none_brief", brief.stdout);
    insta::assert_snapshot!("cause_none_verbose", verbose.stdout);
}

#[test]
fn summary_mode_estimates_the_split_from_rss_bytes() {
    let args = |verbose: bool| {
        let mut a = vec![
            "status",
            "--summary",
            "tests/fixtures/status/pressure/summary.json",
            "--pods",
            "tests/fixtures/status/pressure/pods-with-stats.json",
            "--config",
            "tests/fixtures/status/pressure/kubelet.yaml",
        ];
        if verbose {
            a.push("--verbose");
        }
        a
    };
    let brief = headroom(&args(false));
    assert_eq!(brief.code, 0, "stderr: {}", brief.stderr);
    assert_fits(&brief.stdout);
    let head = answer(&brief.stdout, 12);
    assert!(head.contains("Cause: active page cache."), "{head}");
    assert!(
        head.contains("an estimate from the Summary: workingSetBytes - rssBytes"),
        "{head}"
    );
    assert!(head.contains("(estimated)"), "{head}");
    let verbose = headroom(&args(true));
    assert_eq!(verbose.code, 0, "stderr: {}", verbose.stderr);
    insta::assert_snapshot!("cause_summary_estimate_brief", redact_lint(&brief.stdout));
    insta::assert_snapshot!("cause_summary_estimate_verbose", redact_lint(&verbose.stdout));
}

// ---------------------------------------------------------------------------------------
// input mix-ups: each said plainly

/// Text output with its lines joined, to search for a sentence the wrapping may have cut.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_pods_file_of_another_node_is_said_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let pods = tmp.path().join("other.json");
    let pod = |name: &str, uid: &str| {
        serde_json::json!({"metadata": {"name": name, "namespace": "x", "uid": uid},
            "spec": {"containers": [{"name": "c"}]}})
    };
    let list = serde_json::json!({"kind": "PodList", "items": [pod("a", "uid-a"), pod("b", "uid-b")]});
    std::fs::write(&pods, list.to_string()).unwrap();
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--pods",
        pods.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        words(&run.stdout).contains("this pod list seems to be from another node"),
        "{}",
        run.stdout
    );
    // The fixture's own pods file matches: no such note.
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--pods",
        &format!("{PRESSURE}/pods.json"),
    ]);
    assert!(!words(&run.stdout).contains("another node"), "{}", run.stdout);
}

#[test]
fn a_pod_cgroup_root_that_does_not_exist_is_said_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    v2_tree(tmp.path(), false);
    let run = status_on_tree(tmp.path(), &["--pod-cgroup-root", "/kubepods-typo"]);
    let text = words(&run.stdout);
    assert!(
        text.contains("The pods cgroup given with --pod-cgroup-root does not exist"),
        "{text}"
    );
    assert!(text.contains("kubepods-typo"), "{text}");
    assert!(!text.contains("this host runs no Kubernetes pods"), "{text}");
}

#[test]
fn an_unlimited_pods_cgroup_in_a_summary_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(format!("{MANIFEST}/{PRESSURE}/summary.json")).unwrap();
    let mut summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    for c in summary["node"]["systemContainers"].as_array_mut().unwrap() {
        if c["name"] == "pods" {
            c["memory"].as_object_mut().unwrap().remove("availableBytes");
        }
    }
    let path = tmp.path().join("summary.json");
    std::fs::write(&path, summary.to_string()).unwrap();
    let run = headroom(&["status", "--summary", path.to_str().unwrap(), "--verbose"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("pods cgroup has no limit"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("no \"pods\" system container"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------------
// --policy: the kubelet's verdict beside reclaim-first's (issue #16)

/// `status --policy reclaim-first` on a pressure tree: the brief text and the JSON.
fn reclaim_first_on(tree: fn(&Path) -> (PathBuf, PathBuf)) -> (Run, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let (pods, config) = tree(tmp.path());
    let (pods, config) = (pods.to_str().unwrap(), config.to_str().unwrap());
    let base = ["--pods", pods, "--config", config, "--policy", "reclaim-first"];
    let brief = status_on_tree(tmp.path(), &base);
    assert_fits(&brief.stdout);
    let mut args = base.to_vec();
    args.extend(["--format", "json"]);
    let json = status_on_tree(tmp.path(), &args);
    (brief, serde_json::from_str(&json.stdout).unwrap())
}

#[test]
fn reclaim_first_side_by_side_on_the_active_cache_tree() {
    let (brief, v) = reclaim_first_on(active_cache_tree);
    assert!(
        brief.stdout.contains("\n  policy  reclaim-first ("),
        "{}",
        brief.stdout
    );
    let head = answer(&brief.stdout, 14);
    assert!(
        head.contains("The kubelet would evict shop/log-indexer now; 3.1 GiB of the pods cgroup's working set is clean file cache the kernel can drop (reclaim-first would reclaim"),
        "{head}"
    );
    assert!(head.contains("first and evict nobody)."), "{head}");
    assert_eq!(v["policy"], "reclaim-first");
    let p = &v["policyVerdicts"];
    assert_eq!(p["agree"], false);
    assert_eq!(p["kubelet"]["evictedPod"], "shop/log-indexer");
    assert_eq!(p["kubelet"]["evictedUid"], v["evictionOrder"]["evictedUid"]);
    assert!(p["reclaimFirst"]["evictedPod"].is_null(), "{p}");
    assert_eq!(p["basis"], "kernelSplit");
    assert!(p["fallback"].is_null());
    // The pods cgroup's active file pages (no dirty pages in this tree) are the estimate.
    assert_eq!(p["reclaim"]["reclaimableBytes"], 3170 * MI);
    assert_eq!(p["reclaim"]["because"], "reclaimed");
    // 2Gi threshold - 1.4 GiB available.
    assert_eq!(p["reclaim"]["shortfallBytes"], 576 * MI);
    assert!(p["text"].as_str().unwrap().starts_with("The kubelet would evict"));
    insta::assert_snapshot!("policy_active_cache_brief", redact_lint(&brief.stdout));
}

#[test]
fn reclaim_first_agrees_when_the_cache_cannot_cover_the_shortfall() {
    let (brief, v) = reclaim_first_on(anonymous_tree);
    let head = answer(&brief.stdout, 14);
    assert!(
        head.contains(
            "Both policies evict shop/api now: the 500.0 MiB of clean file cache in the pods \
             cgroup's working set cannot cover the"
        ),
        "{head}"
    );
    let p = &v["policyVerdicts"];
    assert_eq!(p["agree"], true);
    assert_eq!(p["kubelet"], p["reclaimFirst"]);
    assert_eq!(p["reclaim"]["because"], "cache-cannot-cover");
}

#[test]
fn reclaim_first_on_cgroup_v1_says_it_decides_as_the_kubelet() {
    let tmp = tempfile::tempdir().unwrap();
    v1_sample_tree(tmp.path());
    let brief = status_on_tree(tmp.path(), &["--policy", "reclaim-first"]);
    assert!(
        words(&brief.stdout).contains(
            "Reclaim-first: cgroup v1 has no memory.reclaim: reclaim-first decides as the kubelet on this node; neither evicts anyone now."
        ),
        "{}",
        brief.stdout
    );
    let json = status_on_tree(tmp.path(), &["--policy", "reclaim-first", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["policyVerdicts"]["fallback"],
        "cgroup v1 has no memory.reclaim: reclaim-first decides as the kubelet on this node"
    );
    // --policy kubelet: named; nothing to compare when nobody is evicted (brief view).
    let kubelet = status_on_tree(tmp.path(), &["--policy", "kubelet"]);
    assert!(
        kubelet.stdout.contains("\n  policy  kubelet ("),
        "{}",
        kubelet.stdout
    );
    assert!(!kubelet.stdout.contains("Both policies"), "{}", kubelet.stdout);
    let verbose = status_on_tree(tmp.path(), &["--policy", "kubelet", "--verbose"]);
    assert!(
        verbose.stdout.contains("Reclaim-first: cgroup v1"),
        "{}",
        verbose.stdout
    );
}

#[test]
fn reclaim_first_on_a_summary_says_what_it_assumes() {
    let run = headroom(&[
        "status",
        "--summary",
        &format!("{PRESSURE}/summary.json"),
        "--pods",
        &format!("{PRESSURE}/pods.json"),
        "--config",
        &format!("{PRESSURE}/kubelet.yaml"),
        "--policy",
        "reclaim-first",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("workingSetBytes - rssBytes is taken as clean file cache")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("cgroup v2 (memory.reclaim) is assumed")),
        "{notes:?}"
    );
    let p = serde_json::to_string_pretty(&v["policyVerdicts"]).unwrap();
    insta::assert_snapshot!("policy_summary_json", p);
}
