//! Builders for manager-level tests: thresholds, pods and Summaries in a few words.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use headroom_core::Timestamp;
use headroom_core::config::EvictionConfig;
use headroom_core::manager::{Decision, ManagerState, SyncInputs, synchronize};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::rank::FsTopology;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_core::threshold::{Threshold, ThresholdValue};
use serde_json::{Value, json};

pub const MI: u64 = 1 << 20;
pub const GI: u64 = 1 << 30;
pub const SEC: i64 = 1_000_000_000;

pub fn qty(s: &str) -> ThresholdValue {
    ThresholdValue::Quantity(Quantity::parse(s).unwrap())
}

pub fn pct(p: f32) -> ThresholdValue {
    ThresholdValue::Percentage(p / 100.0)
}

pub fn threshold(
    signal: Signal,
    value: ThresholdValue,
    grace_s: i64,
    min_reclaim: Option<ThresholdValue>,
) -> Threshold {
    Threshold {
        signal,
        value,
        grace_period_ns: grace_s * SEC,
        min_reclaim,
    }
}

pub fn config(thresholds: Vec<Threshold>) -> EvictionConfig {
    EvictionConfig {
        thresholds,
        ..EvictionConfig::default()
    }
}

/// t0 + secs.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + secs).unwrap()
}

/// A pod with one container `app`; requests/limits in Mi.
pub fn pod(name: &str, priority: i32, req_mi: Option<u64>, lim_mi: Option<u64>) -> Pod {
    let mut res = json!({});
    if let Some(r) = req_mi {
        res["requests"] = json!({"memory": format!("{r}Mi")});
    }
    if let Some(l) = lim_mi {
        res["limits"] = json!({"memory": format!("{l}Mi")});
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"priority": priority, "containers": [{"name": "app", "resources": res}]}
    }))
    .unwrap()
}

/// Pod set A of the spec: [A1..A5] with their working sets.
pub fn set_a() -> (Vec<Pod>, Vec<(String, u64)>) {
    let pods = vec![
        pod("a1-guaranteed", -1, Some(1024), Some(1024)),
        pod("a2-burstable-below", 0, Some(100), Some(1024)),
        pod("a3-burstable-above", 0, Some(100), Some(1024)),
        pod("a4-besteffort-high", 1, None, None),
        pod("a5-besteffort-low", -1, None, None),
    ];
    let ws = [900, 50, 400, 400, 100];
    let stats = pods
        .iter()
        .zip(ws)
        .map(|(p, w)| (p.metadata.name.clone(), w * MI))
        .collect();
    (pods, stats)
}

/// A Summary with node memory `available`/`capacity` at stats time `time`, and pod working sets.
pub fn summary(time: Timestamp, available: u64, capacity: u64, pods: &[(String, u64)]) -> Summary {
    let pod_stats: Vec<Value> = pods
        .iter()
        .map(|(name, ws)| {
            json!({
                "podRef": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
                "memory": {"time": time.to_string(), "workingSetBytes": ws},
                "containers": [{"name": "app", "memory": {"time": time.to_string(), "workingSetBytes": ws}}]
            })
        })
        .collect();
    serde_json::from_value(json!({
        "node": {
            "nodeName": "n1",
            "memory": {"time": time.to_string(), "availableBytes": available,
                       "workingSetBytes": capacity - available, "usageBytes": capacity - available + 100 * MI}
        },
        "pods": pod_stats
    }))
    .unwrap()
}

/// A manager driven sync by sync.
pub struct Sim {
    pub state: ManagerState,
    pub config: EvictionConfig,
    pub pods: Vec<Pod>,
    pub topology: FsTopology,
}

impl Sim {
    pub fn new(config: EvictionConfig, pods: Vec<Pod>) -> Self {
        Sim {
            state: ManagerState::new(),
            config,
            pods,
            topology: FsTopology::default(),
        }
    }

    pub fn sync(&mut self, now: Timestamp, summary: &Summary) -> Decision {
        synchronize(
            &mut self.state,
            &self.config,
            SyncInputs {
                summary,
                active_pods: &self.pods,
                now,
                fs_topology: self.topology,
                pod_cgroup_root: "kubepods",
            },
        )
    }

    /// Sync at `t0 + secs` with node memory available `avail` of `cap`, stats time = sync time.
    pub fn mem(&mut self, secs: i64, avail: u64, cap: u64, stats: &[(String, u64)]) -> Decision {
        let s = summary(at(secs), avail, cap, stats);
        self.sync(at(secs), &s)
    }

    pub fn evicted(&self, d: &Decision) -> Option<String> {
        d.evictions
            .first()
            .map(|e| self.pods[e.index].metadata.name.clone())
    }
}
