//! Local-storage limit evictions (§12): pods that outgrow their own ephemeral-storage limits.
//!
//! Runs on every sync when `localStorageCapacityIsolation` is on, before any threshold logic,
//! and does not need node pressure. Checks per pod, first match wins: an emptyDir over its
//! `sizeLimit`; the pod's total ephemeral storage over the sum of its containers' limits; one
//! container's logs (+ writable layer unless images live on a dedicated fs) over its limit.
//! Several pods can be evicted in one sync; critical pods are skipped.

use crate::observe::PodStatsIndex;
use crate::pod::Pod;
use crate::quantity::Quantity;
use crate::summary::{FsStats, PodStats};

/// Grace period for local-storage evictions (seconds).
pub(crate) const LOCAL_STORAGE_GRACE_SECONDS: i64 = 1;

/// Which limit a pod broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageLimit {
    EmptyDir { volume: String, limit: Quantity },
    Pod { limit: Quantity },
    Container { container: String, limit: Quantity },
}

impl StorageLimit {
    /// The pseudo-signal the kubelet counts this eviction under (its `evictions` metric label).
    pub fn signal_name(&self) -> &'static str {
        match self {
            StorageLimit::EmptyDir { .. } => "emptydirfs.limit",
            StorageLimit::Pod { .. } => "ephemeralpodfs.limit",
            StorageLimit::Container { .. } => "ephemeralcontainerfs.limit",
        }
    }
}

/// One local-storage eviction.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageEviction {
    /// Index into the active pod list.
    pub index: usize,
    pub limit: StorageLimit,
    /// Exact kubelet message.
    pub message: String,
}

/// Go's `%q` for the plain strings that appear here.
fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn used(fs: Option<&FsStats>) -> i128 {
    fs.and_then(|f| f.used_bytes).map_or(0, i128::from) * 1_000_000_000
}

/// The first local-storage limit this pod breaks, if any.
pub fn broken_limit(pod: &Pod, stats: &PodStats, dedicated_image_fs: bool) -> Option<StorageLimit> {
    for v in &pod.spec.volumes {
        let Some(limit) = v.empty_dir.as_ref().and_then(|e| e.size_limit) else {
            continue;
        };
        // Upstream indexes the volume stats by name in a map, so a repeated name means its
        // last entry.
        let used = stats
            .volume
            .as_ref()
            .and_then(|vs| vs.iter().rev().find(|s| s.name == v.name))
            .and_then(|s| s.fs.used_bytes);
        if let Some(u) = used
            && limit.signum() > 0
            && i128::from(u) * 1_000_000_000 > limit.nanos()
        {
            return Some(StorageLimit::EmptyDir {
                volume: v.name.clone(),
                limit,
            });
        }
    }
    if let Some(limit) = pod.limit("ephemeral-storage") {
        let total = used(stats.ephemeral_storage.as_deref());
        if total > limit.nanos() {
            return Some(StorageLimit::Pod { limit });
        }
    }
    for cs in &stats.containers {
        let Some(limit) = pod
            .spec
            .containers
            .iter()
            .find(|c| c.name == cs.name)
            .and_then(|c| c.limit("ephemeral-storage"))
            .filter(|l| l.value() != 0)
        else {
            continue;
        };
        let mut usage = used(cs.logs.as_deref());
        if !dedicated_image_fs {
            usage += used(cs.rootfs.as_deref());
        }
        if usage > limit.nanos() {
            return Some(StorageLimit::Container {
                container: cs.name.clone(),
                limit,
            });
        }
    }
    None
}

/// The kubelet's message for a broken limit.
pub fn message(limit: &StorageLimit) -> String {
    match limit {
        StorageLimit::EmptyDir { volume, limit } => format!(
            "Usage of EmptyDir volume {} exceeds the limit {}. ",
            quoted(volume),
            quoted(&limit.to_string())
        ),
        StorageLimit::Pod { limit } => {
            format!("Pod ephemeral local storage usage exceeds the total limit of containers {limit}. ")
        }
        StorageLimit::Container { container, limit } => format!(
            "Container {container} exceeded its local ephemeral storage limit {}. ",
            quoted(&limit.to_string())
        ),
    }
}

/// Whether the pod sets any limit this check can enforce (lets the hot path skip the rest).
pub fn has_storage_limits(pod: &Pod) -> bool {
    pod.spec
        .volumes
        .iter()
        .any(|v| v.empty_dir.as_ref().is_some_and(|e| e.size_limit.is_some()))
        || pod
            .spec
            .containers
            .iter()
            .chain(&pod.spec.init_containers)
            .any(|c| {
                // Runs for every pod on every sync: compare names by equality (length first)
                // instead of an ordered map lookup.
                c.resources
                    .as_ref()
                    .and_then(|r| r.limits.as_ref())
                    .is_some_and(|l| l.keys().any(|k| k == "ephemeral-storage"))
            })
}

/// All local-storage evictions for this sync, in active-pod order; critical pods are skipped.
pub fn evictions(pods: &[Pod], stats: &PodStatsIndex<'_>, dedicated_image_fs: bool) -> Vec<StorageEviction> {
    let mut out = Vec::new();
    for (index, pod) in pods.iter().enumerate() {
        if !has_storage_limits(pod) || pod.is_critical() {
            continue;
        }
        let Some(pod_stats) = stats.get(&pod.metadata.uid) else {
            continue;
        };
        if let Some(limit) = broken_limit(pod, pod_stats, dedicated_image_fs) {
            out.push(StorageEviction {
                index,
                message: message(&limit),
                limit,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Summary;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    fn stats(json: serde_json::Value) -> PodStats {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn empty_dir_over_its_size_limit() {
        let p = pod(
            serde_json::json!({"metadata": {"uid": "u"}, "spec": {"containers": [{"name": "c"}],
            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}]}}),
        );
        let s = stats(
            serde_json::json!({"podRef": {"uid": "u"}, "volume": [{"name": "scratch", "usedBytes": 1048577}]}),
        );
        let l = broken_limit(&p, &s, false).unwrap();
        assert_eq!(
            message(&l),
            "Usage of EmptyDir volume \"scratch\" exceeds the limit \"1Mi\". "
        );
        let s = stats(
            serde_json::json!({"podRef": {"uid": "u"}, "volume": [{"name": "scratch", "usedBytes": 1048576}]}),
        );
        assert_eq!(broken_limit(&p, &s, false), None);
    }

    #[test]
    fn pod_and_container_limits() {
        let p = pod(
            serde_json::json!({"metadata": {"uid": "u"}, "spec": {"containers": [
            {"name": "a", "resources": {"limits": {"ephemeral-storage": "2Ki"}}},
            {"name": "b", "resources": {"limits": {"ephemeral-storage": "1Ki"}}}]}}),
        );
        let s = stats(serde_json::json!({"podRef": {"uid": "u"}, "ephemeral-storage": {"usedBytes": 4096}}));
        assert_eq!(
            message(&broken_limit(&p, &s, false).unwrap()),
            "Pod ephemeral local storage usage exceeds the total limit of containers 3Ki. "
        );
        let s = stats(
            serde_json::json!({"podRef": {"uid": "u"}, "ephemeral-storage": {"usedBytes": 100},
            "containers": [{"name": "b", "logs": {"usedBytes": 600}, "rootfs": {"usedBytes": 600}}]}),
        );
        assert_eq!(
            message(&broken_limit(&p, &s, false).unwrap()),
            "Container b exceeded its local ephemeral storage limit \"1Ki\". "
        );
        // With a dedicated image fs only logs count for the container limit.
        assert_eq!(broken_limit(&p, &s, true), None);
    }

    #[test]
    fn several_pods_in_one_sync_and_critical_skipped() {
        let mk = |uid: &str, prio: i32| {
            pod(
                serde_json::json!({"metadata": {"uid": uid}, "spec": {"priority": prio,
            "containers": [{"name": "c", "resources": {"limits": {"ephemeral-storage": "1Ki"}}}]}}),
            )
        };
        let pods = vec![
            mk("a", 0),
            mk("b", 2_000_000_000),
            mk("c", 0),
            pod(serde_json::json!({"metadata": {"uid": "d"}})),
        ];
        let summary: Summary = serde_json::from_value(serde_json::json!({"node": {}, "pods": [
            {"podRef": {"uid": "a"}, "ephemeral-storage": {"usedBytes": 2048}},
            {"podRef": {"uid": "b"}, "ephemeral-storage": {"usedBytes": 2048}},
            {"podRef": {"uid": "c"}, "ephemeral-storage": {"usedBytes": 2048}},
            {"podRef": {"uid": "d"}, "ephemeral-storage": {"usedBytes": 2048}}]}))
        .unwrap();
        let idx = PodStatsIndex::new(&summary);
        let ev = evictions(&pods, &idx, false);
        assert_eq!(ev.iter().map(|e| e.index).collect::<Vec<_>>(), [0, 2]);
    }
}
