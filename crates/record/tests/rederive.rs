//! The point of keeping raw samples: a later version re-derives the figures from them. Record
//! passes of a fake v1 host through the delta chains, read them back, and re-derive every
//! memory figure of the stored Summary (node, pods cgroup, each pod and container) from the
//! stored raw samples alone; they must agree exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use headroom_core::Timestamp;
use headroom_core::config::EvictionConfig;
use headroom_core::manager::{ManagerState, SyncInputs, synchronize};
use headroom_core::rank::FsTopology;
use headroom_core::summary::MemoryStats;
use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::memcg::{MemcgSample, MemoryBreakdown};
use headroom_linux::root::HostRoot;
use headroom_record::store::{Samples, WalkOptions};
use headroom_record::{PassInput, Recorder, RecordingMeta, Retention, Store};

const STAT: &str = include_str!("../../linux/tests/fixtures/samples/sync-v1-root-memory.stat");
const MOUNTINFO: &str = include_str!("../../linux/tests/fixtures/samples/mountinfo.txt");
const MEMINFO: &str = include_str!("../../linux/tests/fixtures/samples/sync-meminfo.txt");

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A v1 memory cgroup whose `memory.stat` sizes are the sample's plus `k` pages.
fn memcg(dir: &Path, k: u64) {
    let stat: String = STAT
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(key, v)| {
            let v: u64 = v.parse().unwrap_or(0);
            let moved = if key.contains("pg") {
                v + 7 * k
            } else {
                v + 4096 * k
            };
            format!("{key} {moved}\n")
        })
        .collect();
    write(&dir.join("memory.stat"), &stat);
    for (f, v) in [
        ("memory.usage_in_bytes", format!("{}\n", 700_000_000 + 8192 * k)),
        ("memory.limit_in_bytes", "9223372036854771712\n".to_string()),
        ("memory.max_usage_in_bytes", "854720512\n".to_string()),
        ("memory.failcnt", "0\n".to_string()),
        ("memory.use_hierarchy", "1\n".to_string()),
        (
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n".to_string(),
        ),
    ] {
        write(&dir.join(f), &v);
    }
}

fn host(dir: &Path, pass: u64) {
    write(&dir.join("proc/self/mountinfo"), MOUNTINFO);
    write(&dir.join("proc/meminfo"), MEMINFO);
    write(&dir.join("proc/loadavg"), "0.1 0.2 0.3 2/333 99\n");
    write(&dir.join("proc/sys/kernel/pid_max"), "4194304\n");
    let mem = dir.join("sys/fs/cgroup/memory");
    memcg(&mem, pass);
    memcg(&mem.join("kubepods"), pass * 2);
    for p in 0..3u64 {
        let pod = mem.join(format!(
            "kubepods/besteffort/pod{p:08}-0000-4000-8000-000000000000"
        ));
        // Pods move at different passes, so some deltas are empty and some are not.
        memcg(&pod, pass * p);
        for c in 0..2u64 {
            memcg(&pod.join(format!("{:064x}", p * 2 + c)), pass * (p + c));
        }
    }
}

fn derived(sample: &MemcgSample, stored: &Option<MemoryStats>) -> Option<MemoryStats> {
    derived_with(MemoryBreakdown::from_sample(sample), stored)
}

fn derived_with(b: MemoryBreakdown, stored: &Option<MemoryStats>) -> Option<MemoryStats> {
    let time = stored.as_ref()?.time?;
    let with_psi = stored.as_ref()?.psi.is_some();
    Some(b.to_summary(time, with_psi))
}

#[test]
fn the_summary_re_derives_from_the_stored_raw_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("host");
    host(&root, 0);
    let mut collector = Collector::new(CollectOptions {
        root: HostRoot::dir(root.clone()),
        pod_cgroup_root: Some("/kubepods".into()),
        node_name: Some("n".into()),
        ..CollectOptions::default()
    })
    .unwrap();
    collector.keep_samples(true);
    let rec = tmp.path().join("rec");
    let meta = RecordingMeta {
        source: "test".into(),
        ..Default::default()
    };
    let mut recorder = Recorder::open(&rec, &meta, Retention::default()).unwrap();
    let config = EvictionConfig::default();
    let mut state = ManagerState::new();
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let passes = 8;
    for k in 0..passes {
        host(&root, k);
        let now = t0 + jiff::SignedDuration::from_secs(10 * k as i64);
        let snapshot = collector.collect_at(now).unwrap();
        let decision = synchronize(
            &mut state,
            &config,
            SyncInputs {
                summary: &snapshot.summary,
                active_pods: &[],
                now,
                fs_topology: FsTopology::default(),
                pod_cgroup_root: "/kubepods",
            },
        );
        recorder
            .record(PassInput {
                snapshot: &snapshot,
                pods: &[],
                decision: &decision,
                config: &config,
                trigger: "period",
                woken_by: &[],
                light: false,
                now,
            })
            .unwrap();
    }
    drop(recorder);
    let store = Store::open(&rec).unwrap();
    let stored = store.passes(None, None).unwrap();
    assert_eq!(stored.len() as u64, passes);
    // The node-level walk (`incidents`, plots): the same passes without each pod's samples.
    let mut node_level = Vec::new();
    let how = WalkOptions {
        samples: Samples::NodeLevel,
        fill_light: false,
    };
    store
        .lend_each_pass(None, None, how, |p| {
            node_level.push(p.clone());
            Ok(())
        })
        .unwrap();
    let without_pods: Vec<_> = stored
        .iter()
        .cloned()
        .map(|mut p| {
            assert!(!p.readings.pods.is_empty());
            p.readings.pods.clear();
            p
        })
        .collect();
    assert_eq!(node_level, without_pods);
    let mut compared = 0;
    for p in &stored {
        let r = &p.readings;
        let s = &r.summary;
        // The root's limit is MemTotal from the stored meminfo (cAdvisor's raw root).
        let mut node = MemoryBreakdown::from_sample(r.node.as_ref().unwrap());
        node.limit = r.meminfo.as_ref().unwrap().mem_total().unwrap();
        assert_eq!(derived_with(node, &s.node.memory), s.node.memory, "pass {}", p.id);
        let pods_cgroup = s
            .node
            .system_containers
            .iter()
            .flatten()
            .find(|c| c.name == "pods")
            .unwrap();
        assert_eq!(
            derived(&r.pods_cgroup.as_ref().unwrap().sample, &pods_cgroup.memory),
            pods_cgroup.memory
        );
        assert_eq!(r.pods.len(), 3);
        for pod in &r.pods {
            let ps = s.pods.iter().find(|x| x.pod_ref.uid == pod.uid).unwrap();
            assert_eq!(
                derived(&pod.sample, &ps.memory),
                ps.memory,
                "pass {} pod {}",
                p.id,
                pod.uid
            );
            assert_eq!(pod.containers.len(), 2);
            for c in &pod.containers {
                let cs = ps.containers.iter().find(|x| x.name == c.id).unwrap();
                assert_eq!(derived(&c.sample, &cs.memory), cs.memory);
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 6 * passes);
    // The figures moved from pass to pass (the deltas carried something).
    let ws = |i: usize| {
        stored[i].readings.summary.pods[2]
            .memory
            .as_ref()
            .unwrap()
            .working_set_bytes
    };
    assert_ne!(ws(0), ws(7));
}
