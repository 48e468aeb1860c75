//! Node allocatable memory, as the kubelet's container manager computes it.
//!
//! * reservation = systemReserved + kubeReserved + the hard `memory.available` threshold
//!   (as a quantity of capacity). Only `evictionHard` counts, never soft thresholds.
//! * allocatable = max(0, capacity - reservation): what the scheduler sees.
//! * the pods cgroup (`kubepods`) limit = capacity - systemReserved - kubeReserved when
//!   `enforceNodeAllocatable` contains `pods` (the eviction threshold is *not* subtracted),
//!   else the whole capacity. The `allocatableMemory.available` signal is measured against
//!   this limit, so with the default `memory.available<100Mi` it fires when pods' working set
//!   exceeds allocatable.
//!
//! Hugepages (which the kubelet also subtracts) are not modelled.

use crate::config::EvictionConfig;
use crate::quantity::Quantity;
use crate::signal::Signal;
use crate::threshold::threshold_quantity;

/// Node-allocatable memory figures, all in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAllocatable {
    /// Machine memory (MemTotal).
    pub capacity: Quantity,
    /// `systemReserved.memory` (0 when unset).
    pub system_reserved: Quantity,
    /// `kubeReserved.memory` (0 when unset).
    pub kube_reserved: Quantity,
    /// The hard `memory.available` threshold as bytes of capacity (0 without one).
    pub hard_eviction: Quantity,
    /// system + kube + hard eviction.
    pub reservation: Quantity,
    /// `node.status.allocatable.memory`.
    pub allocatable: Quantity,
    /// The memory limit of the pods cgroup.
    pub pods_cgroup_limit: Quantity,
}

/// The kubelet refuses to start when reservations exceed capacity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Node Allocatable configuration. Resource \"memory\" has a reservation of {reservation} \
     but capacity of {capacity}. Expected capacity >= reservation."
)]
pub struct AllocatableError {
    pub reservation: Quantity,
    pub capacity: Quantity,
}

/// Compute node-allocatable memory for a machine with `capacity` bytes of memory.
pub fn node_allocatable_memory(
    capacity: Quantity,
    cfg: &EvictionConfig,
) -> Result<NodeAllocatable, AllocatableError> {
    let memory = |list: &crate::pod::ResourceList| list.get("memory").copied().unwrap_or(Quantity::bytes(0));
    let system_reserved = memory(&cfg.system_reserved);
    let kube_reserved = memory(&cfg.kube_reserved);
    // Like the kubelet's map assignment, the last hard memory.available threshold wins
    // (a map can hold only one).
    let hard_eviction = cfg
        .reservation_thresholds
        .iter()
        .rev()
        .find(|t| t.signal == Signal::MemoryAvailable)
        .map(|t| threshold_quantity(&t.value, &capacity))
        .unwrap_or(Quantity::bytes(0));
    let sum = |parts: &[Quantity]| {
        parts
            .iter()
            .fold(Quantity::bytes(0), |acc, q| acc.checked_add(q).unwrap_or(acc))
    };
    let reservation = sum(&[system_reserved, kube_reserved, hard_eviction]);
    if reservation > capacity {
        return Err(AllocatableError {
            reservation,
            capacity,
        });
    }
    let floor_zero = |q: Quantity| if q.signum() < 0 { Quantity::bytes(0) } else { q };
    let allocatable = floor_zero(capacity.checked_sub(&reservation).unwrap_or(Quantity::bytes(0)));
    let pods_cgroup_limit = if cfg.enforces_pods() {
        let reserved = sum(&[system_reserved, kube_reserved]);
        floor_zero(capacity.checked_sub(&reserved).unwrap_or(Quantity::bytes(0)))
    } else {
        capacity
    };
    Ok(NodeAllocatable {
        capacity,
        system_reserved,
        kube_reserved,
        hard_eviction,
        reservation,
        allocatable,
        pods_cgroup_limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KubeletConfig;

    fn cfg(yaml: &str) -> EvictionConfig {
        KubeletConfig::parse(yaml, "t.yaml").unwrap().eviction().unwrap()
    }

    fn gi(n: i64) -> Quantity {
        Quantity::bytes(n << 30)
    }

    #[test]
    fn defaults_reserve_only_the_hard_threshold() {
        let a = node_allocatable_memory(gi(16), &cfg("{}")).unwrap();
        assert_eq!(a.hard_eviction, Quantity::bytes(100 << 20));
        assert_eq!(a.reservation, Quantity::bytes(100 << 20));
        assert_eq!(a.allocatable, Quantity::bytes((16 << 30) - (100 << 20)));
        assert_eq!(
            a.pods_cgroup_limit,
            gi(16),
            "the threshold is not subtracted from the pods cgroup"
        );
        assert_eq!(a.allocatable.to_string(), "16284Mi");
    }

    #[test]
    fn reserved_and_percentage_thresholds() {
        let c = cfg(
            "systemReserved: {memory: 1Gi}\nkubeReserved: {memory: 512Mi}\nevictionHard: {memory.available: \"10%\"}\n",
        );
        let a = node_allocatable_memory(gi(16), &c).unwrap();
        assert_eq!(a.hard_eviction.value(), 1_717_986_944, "f32 10% of 16Gi");
        assert_eq!(a.reservation.value(), (1 << 30) + (512 << 20) + 1_717_986_944);
        assert_eq!(
            a.pods_cgroup_limit,
            Quantity::bytes((16 << 30) - (1 << 30) - (512 << 20))
        );
    }

    #[test]
    fn soft_thresholds_and_ignore_flag_do_not_reserve() {
        let c = cfg(
            "evictionHard: {}\nevictionSoft: {memory.available: 1Gi}\nevictionSoftGracePeriod: {memory.available: 0s}\n",
        );
        assert!(
            node_allocatable_memory(gi(4), &c)
                .unwrap()
                .hard_eviction
                .is_zero()
        );
        let flags: Vec<String> = vec!["--experimental-allocatable-ignore-eviction".into()];
        let c = KubeletConfig::from_flags(&flags).unwrap().eviction().unwrap();
        assert!(
            node_allocatable_memory(gi(4), &c)
                .unwrap()
                .hard_eviction
                .is_zero()
        );
    }

    #[test]
    fn without_pods_enforcement_the_pods_cgroup_gets_capacity() {
        let c = cfg("enforceNodeAllocatable: []\nsystemReserved: {memory: 1Gi}\n");
        let a = node_allocatable_memory(gi(8), &c).unwrap();
        assert_eq!(a.pods_cgroup_limit, gi(8));
        assert_eq!(a.allocatable, Quantity::bytes((7 << 30) - (100 << 20)));
    }

    #[test]
    fn over_reservation_is_the_kubelet_error() {
        let c = cfg("systemReserved: {memory: 3Gi}\nkubeReserved: {memory: 1Gi}\n");
        let e = node_allocatable_memory(gi(4), &c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Node Allocatable configuration. Resource \"memory\" has a reservation of 4196Mi \
             but capacity of 4Gi. Expected capacity >= reservation."
        );
    }
}
