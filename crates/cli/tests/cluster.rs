//! `headroom cluster` and `kubectl headroom` against a local fake API server (feature `k8s`):
//! every row's figures equal `headroom status --summary --pods --config` on the same documents
//! saved as files, node by node; a node whose kubelet is unreachable is reported without
//! failing the run; `cluster node NAME` is the status explanation of that node.
#![cfg(feature = "k8s")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../cluster/tests/support/fake_api.rs"]
mod fake_api;
#[path = "common/run.rs"]
mod run;

use fake_api::{Behaviour, FakeNode, NodeDocs, fake_node, four_nodes};
use run::headroom;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/status/pressure");

/// The recorded-shape node of the status fixtures (worker-3: soft and hard thresholds met),
/// its config as the running kubelet's `/configz` reports it.
fn worker_3() -> FakeNode {
    let read = |f: &str| std::fs::read_to_string(Path::new(FIXTURE).join(f)).unwrap();
    let configz = fake_api::configz(json!({
        "evictionHard": {"memory.available": "500Mi", "nodefs.available": "10%",
                         "imagefs.available": "15%", "pid.available": "5%"},
        "evictionSoft": {"memory.available": "1Gi"},
        "evictionSoftGracePeriod": {"memory.available": "1m30s"},
        "systemReserved": {"memory": "1Gi"}, "kubeReserved": {"memory": "512Mi"}
    }));
    fake_node(
        "worker-3",
        "True",
        NodeDocs {
            summary: read("summary.json"),
            configz,
            pods: read("pods.json"),
        },
        Behaviour::Up,
    )
}

struct Cluster {
    nodes: Vec<FakeNode>,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

fn cluster() -> Cluster {
    let mut nodes = four_nodes();
    nodes.push(worker_3());
    let (addr, _) = fake_api::serve(nodes.clone(), 1);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake_api::kubeconfig(dir.path(), addr);
    Cluster {
        nodes,
        kubeconfig,
        dir,
    }
}

impl Cluster {
    fn run(&self, args: &[&str]) -> run::Run {
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "cluster".as_ref(),
            "--kubeconfig".as_ref(),
            self.kubeconfig.as_os_str(),
        ];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        headroom(all)
    }

    /// `headroom status --summary --pods --config --format json` on the node's documents
    /// saved as files.
    fn status(&self, node: &FakeNode) -> Value {
        let dir = self.dir.path().join(&node.name);
        std::fs::create_dir_all(&dir).unwrap();
        let save = |f: &str, text: &str| {
            let p = dir.join(f);
            std::fs::write(&p, text).unwrap();
            p
        };
        let summary = save("summary.json", &node.docs.summary);
        let pods = save("pods.json", &node.docs.pods);
        let config = save("configz.json", &node.docs.configz);
        let run = headroom([
            "status".as_ref(),
            "--summary".as_ref(),
            summary.as_os_str(),
            "--pods".as_ref(),
            pods.as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
            "--top".as_ref(),
            "1000".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }
}

/// The memory threshold status would call in force: the acting one, else the least headroom.
fn threshold_in_force(status: &Value) -> Value {
    let rows = status["thresholds"].as_array().unwrap();
    if let Some(i) = status["actingThreshold"].as_u64() {
        let t = &rows[i as usize];
        if t["signal"].as_str().unwrap().contains("emory") {
            return t.clone();
        }
    }
    rows.iter()
        .filter(|t| t["signal"].as_str().unwrap().contains("emory") && t["headroom"].is_i64())
        .min_by_key(|t| t["headroom"].as_i64().unwrap())
        .cloned()
        .unwrap()
}

#[test]
fn every_row_equals_status_on_the_same_files_and_the_unreachable_node_is_reported() {
    let c = cluster();
    let run = c.run(&["--format", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["total"], 5);
    assert_eq!(doc["unreachable"], 1);
    let rows = doc["nodes"].as_array().unwrap();

    for node in &c.nodes {
        let row = rows.iter().find(|r| r["node"] == node.name.as_str()).unwrap();
        if matches!(node.behaviour, Behaviour::Down) {
            assert_eq!(row["state"], "unreachable", "{row}");
            let error = row["error"].as_str().unwrap();
            assert!(error.contains("HTTP 503") && error.contains("/proxy/"), "{error}");
            assert_eq!(row["memoryPressureReported"], "Unknown");
            continue;
        }
        let status = c.status(node);
        let t = threshold_in_force(&status);
        let name = &node.name;
        assert_eq!(row["state"], "ok", "{name}: {row}");
        assert_eq!(row["memoryAvailableBytes"], t["available"], "{name}");
        assert_eq!(row["capacityBytes"], t["capacity"], "{name}");
        assert_eq!(row["headroomBytes"], t["headroom"], "{name}");
        assert_eq!(row["headroomPercent"], t["headroomPercent"], "{name}");
        assert_eq!(row["threshold"]["value"], t["value"], "{name}");
        assert_eq!(row["threshold"]["signal"], t["signal"], "{name}");
        assert_eq!(row["threshold"]["hard"], t["hard"], "{name}");
        assert_eq!(row["threshold"]["thresholdBytes"], t["threshold"], "{name}");
        let met = status["conditions"]
            .as_array()
            .unwrap()
            .contains(&json!("MemoryPressure"));
        assert_eq!(row["memoryPressureNow"], met, "{name}");
        assert_eq!(row["verdict"], status["verdict"], "{name}");
        assert_eq!(row["pods"], status["evictionOrder"]["total"], "{name}");
        let first = status["evictionOrder"]["pods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["critical"] == false);
        match first {
            Some(p) => {
                assert_eq!(
                    row["firstEviction"]["pod"],
                    format!(
                        "{}/{}",
                        p["namespace"].as_str().unwrap(),
                        p["name"].as_str().unwrap()
                    ),
                    "{name}"
                );
                assert_eq!(row["firstEviction"]["placedBy"], p["placedBy"], "{name}");
            }
            None => assert!(row["firstEviction"].is_null(), "{name}: {row}"),
        }
    }

    let by = |n: &str| rows.iter().find(|r| r["node"] == n).unwrap();
    // The node under pressure, with the defaults: 80Mi available against 100Mi.
    let hot = by("node-pressure");
    assert_eq!(hot["memoryPressureNow"], true);
    assert_eq!(hot["threshold"]["value"], "100Mi");
    assert_eq!(hot["headroomBytes"], -(20 << 20));
    // The non-default config: its soft 5Gi is nearer than its hard 10% (3.2 GiB) and the
    // allocatable copy of that 10% (of the 30 GiB pods cgroup).
    assert_eq!(by("node-custom")["threshold"]["value"], "5Gi");
    assert_eq!(by("node-custom")["threshold"]["hard"], false);
    // No pods: nobody to evict, figures still there.
    assert!(by("node-empty")["firstEviction"].is_null());
    assert_eq!(by("node-empty")["pods"], 0);
    // Risk order: the met ones first, the unreachable one last.
    let order: Vec<&str> = rows.iter().map(|r| r["node"].as_str().unwrap()).collect();
    assert_eq!(order.last(), Some(&"node-down"), "{order:?}");
    assert!(
        order[..2].contains(&"node-pressure") && order[..2].contains(&"worker-3"),
        "{order:?}"
    );
}

#[test]
fn the_text_table_lists_every_node_and_says_which_did_not_answer() {
    let c = cluster();
    let run = c.run(&[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NODE") && lines[0].contains("HEADROOM%"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("node-pressure") || lines[1].starts_with("worker-3"),
        "{}",
        run.stdout
    );
    let down = lines.iter().find(|l| l.starts_with("node-down")).unwrap();
    assert!(down.contains("UNREACHABLE") && down.contains("unknown"), "{down}");
    assert!(
        run.stdout.contains("5 node(s); 1 did not answer."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  node-down: Summary (GET /api/v1/nodes/node-down/proxy/stats/summary): HTTP 503"),
        "{}",
        run.stdout
    );
    let hot = lines.iter().find(|l| l.starts_with("node-pressure")).unwrap();
    assert!(
        hot.contains("80.0 MiB") && hot.contains("100Mi hard") && hot.contains("yes"),
        "{hot}"
    );

    let run = c.run(&["-l", "kubernetes.io/hostname=node-empty"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("1 node(s); 0 did not answer."),
        "{}",
        run.stdout
    );
}

#[test]
fn cluster_node_is_the_status_explanation_of_that_node() {
    let c = cluster();
    let node = c.nodes.iter().find(|n| n.name == "node-custom").unwrap();
    let run = c.run(&["node", "node-custom", "--top", "1000", "--format", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let through_api: Value = serde_json::from_str(&run.stdout).unwrap();
    let from_files = c.status(node);
    for key in [
        "nodeName",
        "thresholds",
        "conditions",
        "actingThreshold",
        "evictionOrder",
        "verdict",
        "configWarnings",
        "kubelet",
    ] {
        assert_eq!(through_api[key], from_files[key], "{key}");
    }

    let run = c.run(&["node", "node-down"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stderr.contains("node node-down: Summary") && run.stderr.contains("503"),
        "{}",
        run.stderr
    );
}

#[test]
fn installed_as_kubectl_headroom_it_is_the_kubectl_plugin() {
    let c = cluster();
    let bin = assert_cmd::cargo::cargo_bin("headroom");
    let plugin = c.dir.path().join("kubectl-headroom");
    std::os::unix::fs::symlink(&bin, &plugin).unwrap();
    let out = std::process::Command::new(&plugin)
        .args(["node", "node-empty", "--format", "json"])
        .env("KUBECONFIG", &c.kubeconfig)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["nodeName"], "node-empty");

    let out = std::process::Command::new(&plugin)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("kubectl headroom cluster") || help.contains("Usage: kubectl headroom"),
        "{help}"
    );
}

#[test]
fn no_credentials_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = headroom([
        "cluster".as_ref(),
        "--kubeconfig".as_ref(),
        dir.path().join("missing").as_os_str(),
    ]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("kubeconfig") && run.stderr.contains("missing"),
        "{}",
        run.stderr
    );
}

#[test]
fn watch_reads_the_cluster_again_every_interval() {
    use std::io::{BufRead, BufReader};
    let c = cluster();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("headroom"))
        .arg("cluster")
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args(["--watch", "--interval", "1", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Each round is one pretty-printed document whose last line is `}` at column 0.
    let mut rounds = 0;
    for line in BufReader::new(stdout).lines() {
        if line.unwrap() == "}" {
            rounds += 1;
            if rounds == 2 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(rounds, 2);
}
