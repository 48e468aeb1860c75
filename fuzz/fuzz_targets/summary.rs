//! Summary JSON (as `headroom status --summary` reads it) -> observations -> two syncs of the
//! eviction manager, once with the kubelet's default config and once with a config that turns
//! every computing part on (percentages, soft thresholds, minimum reclaim, node allocatable,
//! memcg notifiers) on a dedicated image filesystem. The active pods are one synthetic pod per
//! pod in the Summary, so hostile numbers (u64 near overflow, zero or huge capacity, missing
//! fields) travel the whole decision path, ranking included.
//!
//! Properties: a parsed Summary prints and re-parses to the same text; memory capacity is never
//! below memory available; under the defaults, `memory.available<100Mi` is met exactly when the
//! observed memory.available is under 100Mi; an eviction names an active pod; a sync evicts
//! at most one pod for node pressure.
#![no_main]

use std::sync::OnceLock;

use headroom_core::config::{EvictionConfig, KubeletConfig};
use headroom_core::manager::{ManagerState, SyncInputs, synchronize};
use headroom_core::observe::{Observations, observe};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::rank::FsTopology;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use libfuzzer_sys::fuzz_target;

mod invariants;

const DEFAULT_MEMORY_THRESHOLD: i64 = 100 << 20;

const EVERYTHING_ON: &str = r#"{
  "kind": "KubeletConfiguration",
  "evictionHard": {"memory.available": "10%", "nodefs.available": "5%",
                   "imagefs.inodesFree": "5%", "pid.available": "10%"},
  "evictionSoft": {"memory.available": "1Gi", "nodefs.available": "15%"},
  "evictionSoftGracePeriod": {"memory.available": "0s", "nodefs.available": "10s"},
  "evictionMinimumReclaim": {"memory.available": "5%", "nodefs.available": "1Gi"},
  "systemReserved": {"memory": "1Gi"},
  "kubeReserved": {"memory": "512Mi"},
  "enforceNodeAllocatable": ["pods"],
  "kernelMemcgNotification": true
}"#;

fn configs() -> &'static [(EvictionConfig, FsTopology, bool); 2] {
    static CONFIGS: OnceLock<[(EvictionConfig, FsTopology, bool); 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let default = KubeletConfig::default()
            .eviction()
            .expect("the defaults are valid");
        let everything = KubeletConfig::parse(EVERYTHING_ON, "fuzz")
            .and_then(|c| c.eviction())
            .expect("the fixed config is valid");
        let dedicated_image_fs = FsTopology {
            dedicated_image_fs: true,
            split_container_fs: false,
        };
        [
            (default, FsTopology::default(), true),
            (everything, dedicated_image_fs, false),
        ]
    })
}

fn parse(text: &str) -> Option<Summary> {
    // The same entry point as the CLI: serde_path_to_error over serde_json.
    let mut json = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut json).ok()
}

fn pods_of(summary: &Summary) -> Vec<Pod> {
    summary
        .pods
        .iter()
        .map(|s| {
            let mut pod = Pod::default();
            pod.metadata.name = s.pod_ref.name.clone();
            pod.metadata.namespace = s.pod_ref.namespace.clone();
            pod.metadata.uid = s.pod_ref.uid.clone();
            pod
        })
        .collect()
}

/// Two syncs 10 s apart. `defaults`: the config is the kubelet's default one.
fn sync_twice(
    summary: &Summary,
    obs: &Observations,
    config: &EvictionConfig,
    topology: FsTopology,
    defaults: bool,
) {
    let pods = pods_of(summary);
    let mut state = ManagerState::new();
    let start = jiff::Timestamp::from_second(1_800_000_000).expect("valid time");
    for step in 0..2i64 {
        let now = start + jiff::SignedDuration::from_secs(10 * step);
        let decision = synchronize(
            &mut state,
            config,
            SyncInputs {
                summary,
                active_pods: &pods,
                now,
                fs_topology: topology,
                pod_cgroup_root: &config.pod_cgroup_root,
            },
        );
        if decision.error.is_some() {
            continue;
        }
        if defaults {
            let memory_met = decision
                .thresholds_met
                .iter()
                .any(|m| m.threshold.signal == Signal::MemoryAvailable);
            let memory = obs.get(Signal::MemoryAvailable);
            let under = memory.is_some_and(|o| o.available < Quantity::bytes(DEFAULT_MEMORY_THRESHOLD));
            assert_eq!(memory_met, under, "memory.available<100Mi met? {memory:?}");
        }
        invariants::evictions_are_sane(&decision, pods.len(), None);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(summary) = parse(text) else { return };

    let printed = serde_json::to_string(&summary).expect("a parsed Summary prints");
    let again = parse(&printed).expect("a printed Summary parses");
    assert_eq!(
        printed,
        serde_json::to_string(&again).expect("prints"),
        "round trip"
    );

    let obs = observe(&summary);
    for signal in [Signal::MemoryAvailable, Signal::AllocatableMemoryAvailable] {
        if let Some(o) = obs.get(signal) {
            assert!(o.available >= Quantity::bytes(0), "{signal:?} negative: {o:?}");
            assert!(
                o.capacity >= o.available,
                "{signal:?} capacity below available: {o:?}"
            );
        }
    }
    for (config, topology, defaults) in configs() {
        sync_twice(&summary, &obs, config, *topology, *defaults);
    }
});
