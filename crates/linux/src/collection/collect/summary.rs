//! The kubelet's Summary from one pass's readings (the figure sources are listed in the
//! [`super`] module docs). Pure: every input is already read.

use headroom_core::summary::{
    ContainerStats, MemoryStats, NodeStats, PodReference, PodStats, RlimitStats, RuntimeStats,
    SYSTEM_CONTAINER_KUBELET, SYSTEM_CONTAINER_PODS, Summary,
};
use jiff::Timestamp;

use super::{PodCgroup, PodsCgroup};
use crate::collection::creation;
use crate::collection::fsstats::FsFigures;
use crate::collection::memcg::MemoryBreakdown;
use crate::collection::pids::PidFigures;

pub(super) struct SummaryParts<'a> {
    pub(super) time: Timestamp,
    pub(super) boot_time: Option<Timestamp>,
    pub(super) node_name: String,
    pub(super) with_psi: bool,
    pub(super) node: Option<&'a MemoryBreakdown>,
    pub(super) mem_total: Option<u64>,
    pub(super) pods_cgroup: Option<&'a PodsCgroup>,
    pub(super) kubelet: Option<&'a (MemoryBreakdown, Option<Timestamp>)>,
    pub(super) pods: &'a [PodCgroup],
    pub(super) pids: &'a PidFigures,
    pub(super) nodefs: Option<&'a FsFigures>,
    pub(super) imagefs: Option<&'a FsFigures>,
}

pub(super) fn build_summary(p: SummaryParts<'_>) -> Summary {
    let time = p.time;
    let node_memory = p.node.map(|n| {
        if p.mem_total.is_some() {
            n.to_summary(time, p.with_psi)
        } else {
            // cAdvisor's root has no memory spec without MemTotal: time + workingSetBytes 0.
            MemoryStats {
                time: Some(time),
                working_set_bytes: Some(0),
                ..Default::default()
            }
        }
    });
    // Upstream's order is Go map order (random); here: pods, then kubelet.
    let system = |name: &str, memory: &MemoryBreakdown, created: Option<Timestamp>| ContainerStats {
        name: name.to_string(),
        start_time: created.map(creation::whole_seconds),
        memory: Some(memory.to_summary(time, p.with_psi)),
        swap: Some(memory.to_summary_swap(time)),
        ..Default::default()
    };
    let system_containers: Vec<ContainerStats> = [
        p.pods_cgroup
            .map(|pc| system(SYSTEM_CONTAINER_PODS, &pc.memory, pc.created)),
        p.kubelet
            .map(|(memory, created)| system(SYSTEM_CONTAINER_KUBELET, memory, *created)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let system_containers = (!system_containers.is_empty()).then_some(system_containers);
    let runtime = p.imagefs.map(|f| RuntimeStats {
        image_fs: Some(f.to_summary(time)),
        container_fs: Some(f.to_summary(time)),
    });
    let node = NodeStats {
        node_name: p.node_name,
        start_time: p.boot_time,
        system_containers,
        memory: node_memory,
        swap: p.node.map(|n| n.to_summary_swap(time)),
        fs: p.nodefs.map(|f| f.to_summary(time)),
        runtime,
        rlimit: Some(RlimitStats {
            time: Some(time),
            maxpid: p.pids.max_pid(),
            curproc: p.pids.total_tasks,
        }),
        ..Default::default()
    };
    let pods = p
        .pods
        .iter()
        .map(|pod| PodStats {
            pod_ref: PodReference {
                name: String::new(),
                namespace: String::new(),
                uid: pod.uid.clone(),
            },
            start_time: pod.created.map(creation::whole_seconds),
            containers: pod
                .containers
                .iter()
                .map(|c| ContainerStats {
                    name: c.id.clone(),
                    start_time: c.created.map(creation::whole_seconds),
                    memory: Some(c.memory.to_summary(time, p.with_psi)),
                    swap: Some(c.memory.to_summary_swap(time)),
                    ..Default::default()
                })
                .collect(),
            memory: Some(pod.memory.to_summary(time, p.with_psi)),
            swap: Some(pod.memory.to_summary_swap(time)),
            ..Default::default()
        })
        .collect();
    Summary { node, pods }
}
