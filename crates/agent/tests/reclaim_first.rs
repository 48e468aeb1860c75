//! `--policy reclaim-first` on a fake cgroup v2 host tree: which rule acts, what is written to
//! `memory.reclaim`, how the decision line and the metrics name it. A fixture file cannot
//! reclaim, so a reclaim here never lifts the signal (the fresh sync still evicts); the real
//! kernel's answer is tested in the VM (`crates/cli/tests/vm_reclaim.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/agent_config.rs"]
mod agent_config;
#[path = "support/lines.rs"]
mod lines;
#[path = "support/v2_tree.rs"]
mod v2_tree;

use std::path::Path;

use agent_config::agent_config;
use headroom_agent::http::Shared;
use headroom_agent::runner::Runner;
use headroom_core::reclaim::Policy;
use lines::Lines;
use v2_tree::{v2_skeleton, write};

const MIB: u64 = 1 << 20;

/// A v2 host whose kubepods (512 MiB limit) uses 450 MiB, `active_file` of it clean active
/// cache: allocatableMemory.available is 62 MiB, under the 100Mi threshold.
fn v2_host(dir: &Path, active_file: u64, knob: bool) {
    let cg = v2_skeleton(dir);
    let usage = 450 * MIB;
    let stat = format!(
        "anon {}\nfile {active_file}\nactive_file {active_file}\ninactive_file 0\n\
         file_dirty 0\nfile_writeback 0\nworkingset_refault_file 0\npgsteal 0\n",
        usage - active_file
    );
    let pods = cg.join("kubepods");
    write(&pods, "memory.max", &format!("{}\n", 512 * MIB));
    if knob {
        write(&pods, "memory.reclaim", "");
    }
    for d in [
        pods.clone(),
        pods.join("podcafe0000-0001"),
        pods.join("podcafe0000-0001/c1"),
    ] {
        write(&d, "memory.stat", &stat);
        write(&d, "memory.current", &format!("{usage}\n"));
        if d != pods {
            write(&d, "memory.max", "max\n");
        }
    }
}

/// One pass under `policy`: (the decision line, /metrics text, memory.reclaim's content).
fn one_pass(policy: Policy, active_file: u64, knob: bool) -> (String, String, Option<String>) {
    let tmp = tempfile::tempdir().unwrap();
    v2_host(tmp.path(), active_file, knob);
    let mut cfg = agent_config(
        tmp.path(),
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  allocatableMemory.available: \"100Mi\"\n",
    );
    cfg.policy = policy;
    let shared = Shared::new();
    let mut runner = Runner::new(cfg, shared.clone()).unwrap();
    let lines = Lines::default();
    runner.set_output(Box::new(lines.clone()));
    runner.run().unwrap();
    let text = lines.text();
    let line = text
        .lines()
        .find(|l| l.starts_with("decision"))
        .unwrap_or_else(|| panic!("no decision line: {text}"))
        .to_string();
    let knob = std::fs::read_to_string(tmp.path().join("sys/fs/cgroup/kubepods/memory.reclaim")).ok();
    (line, shared.metrics.render(false), knob)
}

#[test]
fn the_kubelet_policy_is_named_and_untouched() {
    let (line, metrics, knob) = one_pass(Policy::Kubelet, 300 * MIB, true);
    assert!(
        line.contains("evict=default/") || line.contains("evict="),
        "{line}"
    );
    assert!(line.ends_with(" policy=kubelet"), "{line}");
    assert_eq!(knob.as_deref(), Some(""), "the kubelet policy never reclaims");
    assert!(
        metrics.contains("headroom_eviction_policy{policy=\"kubelet\",effective=\"kubelet\"} 1"),
        "{metrics}"
    );
}

#[test]
fn cache_that_covers_the_shortfall_is_reclaimed_first() {
    let (line, metrics, knob) = one_pass(Policy::ReclaimFirst, 300 * MIB, true);
    // Shortfall 100 MiB - 62 MiB = 38 MiB; asked twice that (no inactive list here).
    let asked = 2 * 38 * MIB;
    // Written in 64 MiB chunks: the file keeps the last one.
    let last = asked % headroom_linux::reclaim::CHUNK_BYTES;
    assert_eq!(knob.as_deref(), Some(last.to_string().as_str()), "{line}");
    assert!(
        line.contains("policy=reclaim-first reclaim=evict because=still-met-after-reclaim"),
        "{line}"
    );
    assert!(line.contains(&format!("asked={asked}")), "{line}");
    assert!(
        line.contains("reclaimed=0"),
        "a fixture file reclaims nothing: {line}"
    );
    assert!(
        metrics.contains("headroom_reclaim_attempts_total{result=\"done\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("headroom_evictions_total{signal=\"allocatableMemory.available\"} 1"),
        "{metrics}"
    );
}

#[test]
fn anonymous_memory_is_evicted_without_a_reclaim() {
    let (line, metrics, knob) = one_pass(Policy::ReclaimFirst, 10 * MIB, true);
    assert_eq!(knob.as_deref(), Some(""), "no reclaim for anon: {line}");
    assert!(
        line.contains("reclaim=evict because=cache-cannot-cover"),
        "{line}"
    );
    assert!(
        line.contains(&format!("shortfall={} reclaimable={}", 38 * MIB, 10 * MIB)),
        "{line}"
    );
    assert!(!metrics.contains("headroom_reclaim_attempts_total{"), "{metrics}");
}

#[test]
fn without_memory_reclaim_the_kubelet_policy_acts_and_says_so() {
    let (line, metrics, _) = one_pass(Policy::ReclaimFirst, 300 * MIB, false);
    assert!(line.contains("reclaim=evict because=no-reclaim-knob"), "{line}");
    assert!(
        metrics.contains("headroom_eviction_policy{policy=\"reclaim-first\",effective=\"kubelet\"} 1"),
        "{metrics}"
    );
}
