//! Decision-core benchmarks: one `synchronize` with 110 and 5,000 pods under memory pressure
//! (ranking every sync, the worst case), and a one-day replay at 1 s steps with 110 pods.
//!
//! Run: `cargo bench -p headroom-core --bench synchronize`
//! The last lines print the figures side by side with the 1 s replay target.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use headroom_core::Timestamp;
use headroom_core::config::EvictionConfig;
use headroom_core::manager::{ManagerState, SyncInputs, synchronize};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::rank::FsTopology;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_core::threshold::{Threshold, ThresholdValue};
use serde_json::json;

const MI: u64 = 1 << 20;
const GI: u64 = 1 << 30;
const T0: i64 = 1_790_000_000;

fn config() -> EvictionConfig {
    let q = |s: &str| ThresholdValue::Quantity(Quantity::parse(s).unwrap());
    EvictionConfig {
        thresholds: vec![
            Threshold {
                signal: Signal::MemoryAvailable,
                value: q("500Mi"),
                grace_period_ns: 0,
                min_reclaim: Some(q("200Mi")),
            },
            Threshold {
                signal: Signal::MemoryAvailable,
                value: q("1Gi"),
                grace_period_ns: 30_000_000_000,
                min_reclaim: None,
            },
            Threshold {
                signal: Signal::AllocatableMemoryAvailable,
                value: q("500Mi"),
                grace_period_ns: 0,
                min_reclaim: None,
            },
            Threshold {
                signal: Signal::NodeFsAvailable,
                value: ThresholdValue::Percentage(0.1),
                grace_period_ns: 0,
                min_reclaim: None,
            },
        ],
        kernel_memcg_notification: true,
        ..EvictionConfig::default()
    }
}

/// `n` pods with a mix of QoS classes, priorities and usages, plus a matching Summary.
fn cluster(n: usize) -> (Vec<Pod>, Summary) {
    let mut pods = Vec::with_capacity(n);
    let mut stats = Vec::with_capacity(n);
    for i in 0..n {
        let uid = format!("uid-{i:05}");
        let res = match i % 3 {
            0 => json!({}),
            1 => json!({"requests": {"memory": format!("{}Mi", 64 + i % 200), "cpu": "100m"}}),
            _ => {
                json!({"requests": {"memory": "256Mi", "cpu": "1"}, "limits": {"memory": "256Mi", "cpu": "1"}})
            }
        };
        pods.push(
            serde_json::from_value::<Pod>(json!({
                "metadata": {"name": format!("pod-{i}"), "namespace": "bench", "uid": uid},
                "spec": {"priority": (i % 5) as i32 - 2, "containers": [{"name": "app", "resources": res}, {"name": "side"}]}
            }))
            .unwrap(),
        );
        let ws = (i as u64 * 7919 % 300 + 10) * MI;
        stats.push(json!({
            "podRef": {"name": format!("pod-{i}"), "namespace": "bench", "uid": uid},
            "memory": {"time": "2026-01-01T00:00:00Z", "workingSetBytes": ws},
            "containers": [{"name": "app", "memory": {"workingSetBytes": ws - 5 * MI}}, {"name": "side", "memory": {"workingSetBytes": 5 * MI}}]
        }));
    }
    let summary = serde_json::from_value(json!({
        "node": {
            "memory": {"time": "2026-01-01T00:00:00Z", "availableBytes": 300 * MI, "workingSetBytes": 16 * GI - 300 * MI, "usageBytes": 17 * GI},
            "systemContainers": [{"name": "pods", "memory": {"time": "2026-01-01T00:00:00Z", "availableBytes": 2 * GI, "workingSetBytes": 12 * GI, "usageBytes": 13 * GI}}],
            "fs": {"time": "2026-01-01T00:00:00Z", "availableBytes": 50 * GI, "capacityBytes": 100 * GI, "inodesFree": 1000000, "inodes": 2000000}
        },
        "pods": stats
    }))
    .unwrap();
    (pods, summary)
}

fn set_node(summary: &mut Summary, at: Timestamp, available: u64) {
    let m = summary.node.memory.as_mut().unwrap();
    m.time = Some(at);
    m.available_bytes = Some(available);
    m.working_set_bytes = Some(16 * GI - available);
}

/// One sync per call, clock and stats advancing 10 s each time, always under hard pressure.
fn pressured_syncs(pods: &[Pod], summary: &mut Summary, config: &EvictionConfig, iters: u64) {
    let mut state = ManagerState::new();
    for k in 0..iters {
        let at = Timestamp::from_second(T0 + 10 * k as i64).unwrap();
        set_node(summary, at, 300 * MI);
        let d = synchronize(
            &mut state,
            config,
            SyncInputs {
                summary,
                active_pods: pods,
                now: at,
                fs_topology: FsTopology::default(),
                pod_cgroup_root: "kubepods",
            },
        );
        black_box(d);
    }
}

/// A day at 1 s: mostly calm, a pressure episode every ~20 minutes.
fn replay_day(pods: &[Pod], summary: &mut Summary, config: &EvictionConfig) -> usize {
    let mut state = ManagerState::new();
    let mut evictions = 0;
    for s in 0..86_400i64 {
        let at = Timestamp::from_second(T0 + s).unwrap();
        let phase = s % 1200;
        let available = if (600..660).contains(&phase) {
            400 * MI
        } else {
            4 * GI - (phase as u64 % 97) * MI
        };
        set_node(summary, at, available);
        let d = synchronize(
            &mut state,
            config,
            SyncInputs {
                summary,
                active_pods: pods,
                now: at,
                fs_topology: FsTopology::default(),
                pod_cgroup_root: "kubepods",
            },
        );
        evictions += d.evictions.len();
    }
    evictions
}

fn benches(c: &mut Criterion) {
    let config = config();
    for n in [110usize, 5000] {
        let (pods, mut summary) = cluster(n);
        c.bench_function(&format!("synchronize/{n}_pods_under_pressure"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                pressured_syncs(&pods, &mut summary, &config, iters);
                start.elapsed()
            })
        });
    }
    let (pods, mut summary) = cluster(110);
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.bench_function("day_at_1s_110_pods", |b| {
        b.iter(|| replay_day(&pods, &mut summary, &config))
    });
    group.finish();
}

/// Side-by-side figures from this run (median of 5), compared with the 1 s replay target.
fn report() {
    let config = config();
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let per_sync = |n: usize| {
        let (pods, mut summary) = cluster(n);
        let iters = if n > 1000 { 20 } else { 500 };
        median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    pressured_syncs(&pods, &mut summary, &config, iters);
                    t.elapsed().as_secs_f64() / iters as f64
                })
                .collect(),
        )
    };
    let s110 = per_sync(110);
    let s5000 = per_sync(5000);
    let (pods, mut summary) = cluster(110);
    let mut evictions = 0;
    let day = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                evictions = replay_day(&pods, &mut summary, &config);
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!();
    println!("== decision core, side by side (median of 5) ==");
    println!(
        "synchronize, 110 pods under pressure:   {:>10.1} us/sync",
        s110 * 1e6
    );
    println!(
        "synchronize, 5000 pods under pressure:  {:>10.1} us/sync  ({:.1}x the 110-pod sync)",
        s5000 * 1e6,
        s5000 / s110
    );
    println!(
        "replay, 86400 steps x 110 pods:         {:>10.1} ms        ({:.3} of the 1 s target; {evictions} evictions)",
        day * 1e3,
        day / 1.0
    );
}

criterion_group!(decision_core, benches);

fn main() {
    decision_core();
    report();
}
