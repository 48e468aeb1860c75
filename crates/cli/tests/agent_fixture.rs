//! `headroom agent --once` on a fake host tree (no root needed): the real sample v1 root plus
//! a hand-made pods cgroup under pressure. Checks the decision line, the dry-run action line
//! and the refusal to act on a critical pod.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/agent_http.rs"]
mod agent_http;

use agent_http::{http_get, metric_sum};
use assert_cmd::Command;
use std::path::Path;

#[path = "common/schema.rs"]
mod schema;

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
    let stdout = String::from_utf8(out.stdout).unwrap();
    if format == "json" {
        // Every decision line is a sync step as documented (docs/sync-step.md).
        for line in stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["event"] == "decision" {
                schema::assert_valid(&schema::sync_step_schema(), &v);
                assert!(v["trigger"].is_string() && v["action"].is_string(), "{v}");
            }
        }
    }
    stdout
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
    // A period so short the loop would spin (a typo for 10s): refused with the floor.
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(["agent", "--once", "--period", "1ns", "--config"])
        .arg(config(tmp.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--period \"1ns\": must be at least 100ms"), "{err}");
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
        err.contains("this build has no Kubernetes support (a slim build, --no-default-features); rebuild with the default features"),
        "{err}"
    );
}

// ---- The agent under faults (issue #15): a running agent on the fixture tree. ----

/// A free loopback port (bound, then released for the agent to take).
fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn wait_until(timeout: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = std::time::Instant::now();
    while !f() {
        if t0.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

/// Kills the agent on drop.
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `headroom agent` running on `root` every 100 ms, serving on `addr`.
fn spawn_agent(
    root: &Path,
    addr: std::net::SocketAddr,
    extra: &[&str],
    stdout: std::process::Stdio,
    wrapper: &[&str],
) -> Agent {
    let bin = assert_cmd::cargo::cargo_bin("headroom");
    let (program, pre): (&std::ffi::OsStr, &[&str]) = match wrapper.split_first() {
        Some((w, rest)) => (std::ffi::OsStr::new(w), rest),
        None => (bin.as_os_str(), &[]),
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(pre);
    if !wrapper.is_empty() {
        cmd.arg(&bin);
    }
    cmd.args(["agent", "--period", "100ms", "--notifications", "off", "--listen"])
        .arg(addr.to_string())
        .arg("--config")
        .arg(config(root))
        .arg("--root")
        .arg(root)
        .args(extra)
        .env("HEADROOM_LOG", "warn")
        .stdout(stdout)
        .stderr(std::process::Stdio::null());
    Agent(cmd.spawn().unwrap())
}

#[test]
fn a_stalled_stdout_does_not_freeze_the_decision_loop() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let pods = pods(tmp.path(), 0);
    // A pipe nobody reads, already full (64 KiB, Linux's default pipe size): the agent's
    // first decision line would block a blocking writer for good.
    let (reader, mut writer) = std::io::pipe().unwrap();
    writer.write_all(&[b'x'; 65536]).unwrap();
    let addr = free_port();
    let _agent = spawn_agent(
        tmp.path(),
        addr,
        &["--pods", pods.to_str().unwrap()],
        std::process::Stdio::from(writer),
        &[],
    );
    let mut last = String::new();
    let advanced = wait_until(std::time::Duration::from_secs(30), || {
        last = http_get(addr, "/metrics").unwrap_or_default();
        metric_sum(&last, "headroom_syncs_total") >= 10.0
    });
    assert!(advanced, "the pass counter stopped with stdout stalled:\n{last}");
    // Lines beyond the writer's queue are dropped and counted (the queue holds 1024 here).
    assert!(last.contains("headroom_log_lines_dropped_total"), "{last}");
    drop(reader);
}

#[test]
fn a_root_without_a_host_or_without_the_pod_cgroup_root_fails_healthz() {
    // An empty --root: every collection fails.
    let empty = tempfile::tempdir().unwrap();
    let addr = free_port();
    std::fs::write(empty.path().join("unrelated"), "").unwrap();
    let _agent = spawn_agent(empty.path(), addr, &[], std::process::Stdio::null(), &[]);
    let mut health = String::new();
    let failed = wait_until(std::time::Duration::from_secs(20), || {
        health = http_get(addr, "/healthz").unwrap_or_default();
        health.starts_with("HTTP/1.1 503")
    });
    assert!(failed, "{health}");
    assert!(
        health.contains("passes failed") && health.contains("does not look like a host root"),
        "{health}"
    );
    let scrape = http_get(addr, "/metrics").unwrap();
    assert!(
        metric_sum(&scrape, "headroom_pass_failures_total") >= 3.0,
        "{scrape}"
    );

    // A host without the pod cgroup root: allocatableMemory.available cannot be observed.
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    std::fs::remove_dir_all(tmp.path().join("sys/fs/cgroup/memory/kubepods")).unwrap();
    let addr = free_port();
    let _agent = spawn_agent(tmp.path(), addr, &[], std::process::Stdio::null(), &[]);
    let blind = wait_until(std::time::Duration::from_secs(20), || {
        health = http_get(addr, "/healthz").unwrap_or_default();
        health.starts_with("HTTP/1.1 503")
    });
    assert!(blind, "{health}");
    assert!(health.contains("blind: allocatableMemory.available"), "{health}");
    let scrape = http_get(addr, "/metrics").unwrap();
    assert!(
        scrape.contains("headroom_signal_unobserved{signal=\"allocatableMemory.available\"} 1"),
        "{scrape}"
    );
}

#[test]
fn the_http_server_outlives_running_out_of_descriptors_and_closes_idle_connections() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let addr = free_port();
    // 64 descriptors in all (soft = hard, so the agent cannot raise it).
    let _agent = spawn_agent(
        tmp.path(),
        addr,
        &[],
        std::process::Stdio::null(),
        &["prlimit", "--nofile=64:64", "--"],
    );
    assert!(wait_until(std::time::Duration::from_secs(20), || {
        http_get(addr, "/healthz").is_some_and(|h| h.starts_with("HTTP/1.1 200"))
    }));
    // More idle connections than descriptors.
    let idle: Vec<_> = (0..100)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).ok()
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(idle);
    let mut health = String::new();
    let answers = wait_until(std::time::Duration::from_secs(30), || {
        health = http_get(addr, "/healthz").unwrap_or_default();
        health.starts_with("HTTP/1.1 200")
    });
    assert!(answers, "/healthz after the descriptors ran out: {health:?}");

    // An idle connection is closed by the server (not held forever).
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf);
    assert!(matches!(n, Ok(0)), "an idle connection stayed open: {n:?}");
}

#[test]
fn kill_refuses_to_start_when_no_kill_could_pass_the_rails() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let pods = pods(tmp.path(), 0);
    for (root, words) in [
        ("/nope", "the pod cgroup root /nope is not at"),
        ("/", "is the hierarchy root"),
        ("/kubepods/../x", "contains `..`"),
    ] {
        let out = Command::cargo_bin("headroom")
            .unwrap()
            .args(["agent", "--once", "--listen", "off", "--action", "kill"])
            .args(["--pod-cgroup-root", root, "--config"])
            .arg(config(tmp.path()))
            .arg("--root")
            .arg(tmp.path())
            .arg("--pods")
            .arg(&pods)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{root}: {err}");
        assert!(
            err.contains("--action kill") && err.contains(words),
            "{root}: {err}"
        );
    }
}

#[test]
fn decision_endpoint_serves_the_sync_step_of_the_json_log_line() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let pods = pods(tmp.path(), 0);
    // A free port: bind, note it, release it for the agent.
    let addr = free_port();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("headroom"))
        .args([
            "agent",
            "--listen",
            &addr.to_string(),
            "--action",
            "none",
            "--notifications",
            "off",
        ])
        .args(["--log-format", "json", "--config"])
        .arg(config(tmp.path()))
        .arg("--root")
        .arg(tmp.path())
        .arg("--pods")
        .arg(&pods)
        .env("HEADROOM_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        if let Some(body) = http_get(addr, "/decision")
            .filter(|r| r.starts_with("HTTP/1.1 200"))
            .and_then(|r| r.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
        {
            break Some(body);
        }
        if std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    let body = body.expect("the agent served no /decision within 20 s");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    schema::assert_valid(&schema::sync_step_schema(), &v);
    assert_eq!(v["trigger"], "start", "{v}");
    assert_eq!(v["action"], "none", "{v}");
    assert!(v.get("event").is_none(), "/decision carries no log event: {v}");
    assert_eq!(v["evicted"]["pod"], "jobs/batch", "{v}");
    assert_eq!(v["reclaiming"]["signal"], "allocatableMemory.available", "{v}");
}

#[test]
fn the_agent_says_why_when_it_is_stopped_by_a_signal() {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    let addr = free_port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("headroom"))
        .args(["agent", "--period", "100ms", "--notifications", "off", "--listen"])
        .arg(addr.to_string())
        .arg("--config")
        .arg(config(tmp.path()))
        .arg("--root")
        .arg(tmp.path())
        .env("HEADROOM_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let up = wait_until(std::time::Duration::from_secs(20), || {
        http_get(addr, "/healthz").is_some()
    });
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(up && killed.success(), "{err}");
    assert!(
        out.status.success(),
        "SIGTERM is a normal stop: {:?}\n{err}",
        out.status
    );
    assert!(
        err.contains(&format!("shutting down on SIGTERM (pid {pid})")),
        "{err}"
    );
}
