//! Pods JSON (as `headroom status --pods` reads it) -> `PodList::from_value` + `check_uids` ->
//! each pod's QoS, effective requests and limits, priority, criticality -> memory, PID and disk
//! rankings against synthetic stats with hostile numbers -> one sync of a node out of memory,
//! disk and pids with those pods active (messages, annotations, local-storage limits).
//!
//! Properties: a list that passed the checks has no negative effective request; a computed
//! BestEffort pod (without pod-level resources) requests no cpu or memory; a computed Guaranteed
//! one, whose containers request no more than their limits, has a memory limit equal to its
//! memory request; every ranking is a permutation of the pods, in comparator order, with every
//! `before_next` step really placing the pod first.
#![no_main]

use std::cmp::Ordering;

use headroom_core::config::KubeletConfig;
use headroom_core::manager::{ManagerState, SyncInputs, synchronize};
use headroom_core::observe::PodStatsIndex;
use headroom_core::pod::{Pod, PodList, QosClass};
use headroom_core::quantity::Quantity;
use headroom_core::rank::{FsTopology, RankKind, compare, rank};
use headroom_core::signal::Signal;
use headroom_core::summary::{
    ContainerStats, FsStats, MemoryStats, NodeStats, PodReference, PodStats, ProcessStats, RlimitStats,
    Summary, VolumeStats,
};
use libfuzzer_sys::fuzz_target;

mod invariants;

/// Usage figures the Summary may carry: zero, ordinary, the i64 edge and beyond.
const HOSTILE: [u64; 8] = [
    0,
    1,
    100 << 20,
    1 << 62,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX - 1,
    u64::MAX,
];

fn stats_for(index: usize, pod: &Pod, seed: u8) -> Option<PodStats> {
    let pick = |salt: usize| HOSTILE[(index + salt + seed as usize) % HOSTILE.len()];
    // Every fourth pod (shifted by the seed) has no stats at all.
    if (index + seed as usize) % 4 == 3 {
        return None;
    }
    let fs = |salt: usize| FsStats {
        used_bytes: Some(pick(salt)),
        inodes_used: Some(pick(salt + 1)),
        ..FsStats::default()
    };
    Some(PodStats {
        pod_ref: PodReference {
            name: pod.metadata.name.clone(),
            namespace: pod.metadata.namespace.clone(),
            uid: pod.metadata.uid.clone(),
        },
        memory: Some(MemoryStats {
            working_set_bytes: Some(pick(0)),
            ..MemoryStats::default()
        }),
        process_stats: Some(Box::new(ProcessStats {
            process_count: Some(pick(3)),
        })),
        volume: Some(
            pod.spec
                .volumes
                .iter()
                .enumerate()
                .map(|(v, volume)| VolumeStats {
                    fs: fs(4 + v),
                    name: volume.name.clone(),
                    pvc_ref: None,
                })
                .collect(),
        ),
        containers: vec![ContainerStats {
            rootfs: Some(Box::new(fs(1))),
            logs: Some(Box::new(fs(2))),
            ..ContainerStats::default()
        }],
        ..PodStats::default()
    })
}

fn requests_within_limits(pod: &Pod, resource: &str) -> bool {
    pod.spec
        .containers
        .iter()
        .chain(&pod.spec.init_containers)
        .all(|c| match (c.request(resource), c.limit(resource)) {
            (Some(r), Some(l)) => r <= l,
            _ => true,
        })
}

fn check_pod(pod: &Pod) {
    let zero = Quantity::bytes(0);
    for resource in ["memory", "cpu", "ephemeral-storage", "pods"] {
        assert!(
            pod.request(resource) >= zero,
            "negative {resource} request: {pod:?}"
        );
        let _ = pod.limit(resource);
    }
    let _ = (
        pod.priority(),
        pod.is_critical(),
        pod.is_static(),
        pod.is_mirror(),
    );
    let _ = (pod.tolerates_memory_pressure(), pod.qos_class(), pod.key());
    if pod.has_pod_level_resources() {
        // The class then comes from `spec.resources` alone while requests of resources it
        // leaves out still add up over the containers, as upstream's do.
        return;
    }
    match pod.computed_qos_class() {
        QosClass::BestEffort => {
            assert!(
                pod.request("memory").is_zero(),
                "BestEffort requests memory: {pod:?}"
            );
            assert!(pod.request("cpu").is_zero(), "BestEffort requests cpu: {pod:?}");
        }
        // Upstream compares the sums over containers, so a container requesting more than its
        // limit (which the API server refuses) can make the effective figures differ.
        QosClass::Guaranteed if requests_within_limits(pod, "memory") => {
            let (req, lim) = (pod.request("memory"), pod.limit("memory"));
            assert_eq!(lim.map(|l| l.nanos()), Some(req.nanos()), "Guaranteed: {pod:?}");
        }
        _ => {}
    }
}

fn check_ranking(kind: RankKind, pods: &[Pod], index: &PodStatsIndex<'_>) {
    let ranked = rank(kind, pods, index);
    let mut seen: Vec<usize> = ranked.iter().map(|r| r.index).collect();
    seen.sort_unstable();
    assert!(
        seen.iter().copied().eq(0..pods.len()),
        "{kind:?}: not a permutation"
    );
    for pair in ranked.windows(2) {
        let (ord, by) = compare(kind, &pair[0].facts, &pair[1].facts);
        assert_ne!(ord, Ordering::Greater, "{kind:?}: out of order");
        assert_eq!(pair[0].before_next, if ord == Ordering::Less { by } else { None });
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, json)) = data.split_last() else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let Ok(list) = PodList::from_value(value) else {
        return;
    };
    if list.check_uids().is_err() {
        return;
    }
    let pods = list.items;
    pods.iter().for_each(check_pod);

    let time = jiff::Timestamp::from_second(1_800_000_000).expect("valid time");
    let empty = FsStats {
        time: Some(time),
        available_bytes: Some(0),
        capacity_bytes: Some(1 << 40),
        inodes_free: Some(0),
        inodes: Some(1 << 20),
        ..FsStats::default()
    };
    let summary = Summary {
        node: NodeStats {
            memory: Some(MemoryStats {
                time: Some(time),
                available_bytes: Some(0),
                working_set_bytes: Some(1 << 34),
                ..MemoryStats::default()
            }),
            fs: Some(empty.clone()),
            rlimit: Some(RlimitStats {
                time: Some(time),
                maxpid: Some(1000),
                curproc: Some(1000),
            }),
            ..NodeStats::default()
        },
        pods: pods
            .iter()
            .enumerate()
            .filter_map(|(i, p)| stats_for(i, p, seed))
            .collect(),
        ..Summary::default()
    };
    let index = PodStatsIndex::new(&summary);
    let split = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: true,
    };
    for (signal, topology) in [
        (Signal::MemoryAvailable, FsTopology::default()),
        (Signal::PidAvailable, FsTopology::default()),
        (Signal::NodeFsAvailable, FsTopology::default()),
        (Signal::NodeFsInodesFree, split),
        (Signal::ImageFsAvailable, split),
    ] {
        check_ranking(RankKind::for_signal(signal, topology), &pods, &index);
    }

    // A node out of memory, disk and pids: the eviction path (ranking, messages, annotations,
    // local-storage limits) on the fuzzed pods.
    let Ok(config) = KubeletConfig::default().eviction() else {
        return;
    };
    let decision = synchronize(
        &mut ManagerState::new(),
        &config,
        SyncInputs {
            summary: &summary,
            active_pods: &pods,
            now: time,
            fs_topology: FsTopology::default(),
            pod_cgroup_root: &config.pod_cgroup_root,
        },
    );
    invariants::evictions_are_sane(&decision, pods.len(), None);
});
