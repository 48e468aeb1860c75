//! The agent's early warning on cgroup v2 (no usage-threshold notifier there), on a fake host
//! tree: the adaptive re-reads of the pods cgroup's `memory.current` wake a pass as soon as the
//! usage reaches the value at which `allocatableMemory.available` is met, long before the 10 s
//! period; and the mechanisms armed and refused are exported (`headroom_early_warning`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/agent_config.rs"]
mod agent_config;
#[path = "support/lines.rs"]
mod lines;
#[path = "support/v2_tree.rs"]
mod v2_tree;

use std::path::Path;
use std::time::{Duration, Instant};

use agent_config::agent_config;
use headroom_agent::http::Shared;
use headroom_agent::runner::Runner;
use lines::Lines;
use v2_tree::{v2_skeleton, write};

const MIB: u64 = 1 << 20;

/// A v2 host: root, kubepods (512 MiB limit) with `usage` bytes of anonymous memory, one pod.
fn v2_host(dir: &Path, usage: u64) {
    let cg = v2_skeleton(dir);
    let pods = cg.join("kubepods");
    write(&pods, "memory.max", &format!("{}\n", 512 * MIB));
    write(
        &pods,
        "memory.events",
        "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
    );
    set_usage(&pods, usage);
    for rel in ["podcafe0000-0001", "podcafe0000-0001/c1"] {
        let d = pods.join(rel);
        write(&d, "memory.max", "max\n");
        set_usage(&d, usage);
    }
}

fn set_usage(cg: &Path, usage: u64) {
    write(
        cg,
        "memory.stat",
        &format!("anon {usage}\nfile 0\ninactive_file 0\n"),
    );
    write(cg, "memory.current", &format!("{usage}\n"));
}

#[test]
fn a_usage_crossing_on_v2_wakes_a_pass_before_the_period() {
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), 300 * MIB);
    let mut cfg = agent_config(
        tmp.path(),
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  allocatableMemory.available: \"100Mi\"\n",
    );
    cfg.notifications = true;
    cfg.once = false;
    cfg.max_passes = Some(2);
    let shared = Shared::new();
    let mut runner = Runner::new(cfg, shared.clone()).unwrap();
    let lines = Lines::default();
    runner.set_output(Box::new(lines.clone()));
    let t0 = Instant::now();
    let agent = std::thread::spawn(move || runner.run());

    // Wait for the start pass, then let the pods cgroup cross 412 MiB (512 MiB - 100Mi).
    while !lines.text().contains("trigger=start") {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no start pass: {}",
            lines.text()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pods = tmp.path().join("sys/fs/cgroup/kubepods");
    set_usage(&pods, 450 * MIB);
    agent.join().unwrap().unwrap();

    let text = lines.text();
    let second = text
        .lines()
        .filter(|l| l.starts_with("decision"))
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    // A period pass would say trigger=period (after 10 s): the re-reads woke this one.
    assert!(second.contains("trigger=notification"), "{text}");
    assert!(second.contains("allocatableMemory.available<100Mi"), "{text}");

    let metrics = shared.metrics.render(false);
    for (mechanism, state) in [
        ("usage_poll_pods", "armed"),
        ("memory_events_pods", "armed"),
        // No /proc/pressure/memory in this tree: refused, and said so.
        ("psi_node", "refused"),
    ] {
        let line = format!(r#"headroom_early_warning{{mechanism="{mechanism}",state="{state}"}} 1"#);
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    assert!(
        metrics.contains(r#"headroom_notification_events_total{watch="pods usage",kind="usage_poll"} 1"#),
        "{metrics}"
    );
}
