//! `headroom agent --config-from`: where the kubelet configuration comes from when the
//! DaemonSet's file is missing (a distribution that keeps it elsewhere must not leave the agent
//! crash-looping): the file, the running kubelet's `/configz` through the API server (a local
//! one-shot HTTP server on 127.0.0.1 named by a kubeconfig), or the kubelet's defaults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small cgroup v2 host with a 512 MiB pods cgroup 450 MiB full.
fn host(dir: &Path) {
    write(
        &dir.join("proc/meminfo"),
        "MemTotal: 4000000 kB\nMemFree: 3000000 kB\n",
    );
    let cg = dir.join("sys/fs/cgroup");
    write(&cg.join("cgroup.controllers"), "cpuset cpu io memory pids\n");
    write(
        &cg.join("memory.stat"),
        "anon 1000\nfile 1000\ninactive_file 500\n",
    );
    let pods = cg.join("kubepods");
    write(
        &pods.join("memory.stat"),
        "anon 471859200\nfile 0\ninactive_file 0\n",
    );
    write(&pods.join("memory.current"), "471859200\n");
    write(&pods.join("memory.max"), "536870912\n");
}

fn agent(dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::cargo_bin("headroom").unwrap();
    cmd.args(["agent", "--once", "--listen", "off", "--notifications", "off"])
        .arg("--root")
        .arg(dir)
        .args(flags)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HEADROOM_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_file_falls_through_to_the_kubelet_defaults_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let missing = tmp.path().join("no/config.yaml");
    let missing = missing.to_str().unwrap();
    let (code, out, err) = agent(
        tmp.path(),
        &["--config", missing, "--config-from", "file,defaults"],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("does not exist (or is a directory); trying --config-from defaults"),
        "{err}"
    );
    assert!(err.contains("kubelet config: the kubelet's defaults"), "{err}");
    // The defaults' allocatableMemory.available<100Mi is met: 512Mi - 450Mi = 62Mi.
    assert!(out.contains("allocatableMemory.available<100Mi"), "{out}");

    // A directory where the file should be (a hostPath file mount on a node without the file).
    let dir = tmp.path().join("config-dir");
    std::fs::create_dir(&dir).unwrap();
    let (code, _, err) = agent(
        tmp.path(),
        &[
            "--config",
            dir.to_str().unwrap(),
            "--config-from",
            "file,defaults",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("config-dir (missing)"), "{err}");

    // Alone, a missing file is still bad input naming it.
    let (code, _, err) = agent(tmp.path(), &["--config", missing], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no/config.yaml"), "{err}");
    // A file that exists but is broken never falls through.
    let broken = tmp.path().join("broken.yaml");
    std::fs::write(&broken, "evictionHard: [\n").unwrap();
    let (code, _, err) = agent(
        tmp.path(),
        &[
            "--config",
            broken.to_str().unwrap(),
            "--config-from",
            "file,defaults",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("broken.yaml"), "{err}");
    // --config-from file without --config, and --config that no source reads.
    let (code, _, err) = agent(tmp.path(), &["--config-from", "file"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--config-from file needs --config FILE"), "{err}");
    let (code, _, err) = agent(
        tmp.path(),
        &["--config", missing, "--config-from", "defaults"],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("only read with --config-from file"), "{err}");
}

/// Answer one HTTP request with `body`; returns the request line it got.
#[cfg(feature = "k8s")]
fn one_shot_server(body: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
        }
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        request_line
    });
    (port, handle)
}

#[cfg(feature = "k8s")]
#[test]
fn api_reads_the_running_kubelets_configz() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let (port, server) =
        one_shot_server(r#"{"kubeletconfig":{"evictionHard":{"allocatableMemory.available":"50Mi"}}}"#);
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n\
             users:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let (code, out, err) = agent(
        tmp.path(),
        &["--config-from", "api,defaults", "--node-name", "node-a"],
        &[("KUBECONFIG", kubeconfig.to_str().unwrap())],
    );
    assert_eq!(code, Some(0), "{err}");
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /api/v1/nodes/node-a/proxy/configz "),
        "{request}"
    );
    assert!(err.contains("kubelet config: the running kubelet's"), "{err}");
    // 62Mi available is above the node's own 50Mi: no threshold met, unlike the defaults.
    assert!(!out.contains("allocatableMemory.available<"), "{out}");
}

#[cfg(not(feature = "k8s"))]
#[test]
fn api_in_a_slim_build_says_how_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let (code, _, err) = agent(tmp.path(), &["--config-from", "api,defaults"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--config-from api: this build has no Kubernetes support"),
        "{err}"
    );
    let (code, _, err) = agent(tmp.path(), &["--config-from", "defaults", "--events", "on"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--events on: this build has no Kubernetes support"),
        "{err}"
    );
}
