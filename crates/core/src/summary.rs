//! The kubelet Summary API (`GET /stats/summary`, `stats/v1alpha1`), as the kubelet emits it.
//!
//! Field names and nesting match the kubelet's JSON. Every statistic is optional, because the
//! kubelet omits what it could not collect and the eviction manager treats a missing value as
//! "no observation". Times are RFC 3339; a missing or `null` time is the Go zero time, which
//! the updated-stats filter treats specially. Objects headroom does not interpret (cpu, network,
//! accelerators) are kept as raw JSON so a Summary survives a parse/print round trip.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

mod time;

/// `stats/v1alpha1.Summary`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub node: NodeStats,
    #[serde(default)]
    pub pods: Vec<PodStats>,
}

/// Name of the pods system container (the pod cgroup root, `kubepods`).
pub const SYSTEM_CONTAINER_PODS: &str = "pods";
/// Name of the kubelet system container.
pub const SYSTEM_CONTAINER_KUBELET: &str = "kubelet";
/// Name of the container runtime system container.
pub const SYSTEM_CONTAINER_RUNTIME: &str = "runtime";
/// Name of the "misc" system container (`--system-cgroups`).
pub const SYSTEM_CONTAINER_MISC: &str = "misc";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    #[serde(default)]
    pub node_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_containers: Option<Vec<ContainerStats>>,
    /// Always printed, `null` when unknown (the kubelet's `metav1.Time` is not a pointer).
    #[serde(default, deserialize_with = "time::option")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs: Option<FsStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rlimit: Option<RlimitStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<SwapStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<serde_json::Value>,
}

impl NodeStats {
    /// The system container with this name (`pods`, `kubelet`, `runtime`, `misc`).
    pub fn system_container(&self, name: &str) -> Option<&ContainerStats> {
        self.system_containers.as_ref()?.iter().find(|c| c.name == name)
    }
}

/// `stats/v1alpha1.ContainerStats`: a container, or a system container such as `pods`.
///
/// Objects headroom's collection never fills (cpu, accelerators, rootfs, logs, custom
/// metrics, io) are boxed: a collected Summary holds one of these per container (10,000 on a
/// big node) and the inline forms took ~320 of its ~660 bytes, always `None`. Boxing does
/// not change the JSON read or written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStats {
    pub name: String,
    /// Always printed, `null` when unknown (the kubelet's `metav1.Time` is not a pointer).
    #[serde(default, deserialize_with = "time::option")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Box<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<SwapStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerators: Option<Box<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<Box<FsStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Box<FsStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_defined_metrics: Option<Box<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<Box<serde_json::Value>>,
}

/// `stats/v1alpha1.MemoryStats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    /// Sample time; `None` is the Go zero time.
    #[serde(default, deserialize_with = "time::option")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_set_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_faults: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major_page_faults: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi: Option<PsiStats>,
}

/// `stats/v1alpha1.PSIStats`: pressure stall information (cgroup v2 only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiStats {
    pub full: PsiData,
    pub some: PsiData,
}

/// One PSI line: cumulative stall `total` in microseconds and the 10/60/300 s averages (%).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiData {
    pub total: u64,
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
}

/// `stats/v1alpha1.SwapStats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwapStats {
    #[serde(default, deserialize_with = "time::option")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_available_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_usage_bytes: Option<u64>,
}

/// `stats/v1alpha1.FsStats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FsStats {
    #[serde(default, deserialize_with = "time::option")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes_free: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes_used: Option<u64>,
}

/// `stats/v1alpha1.RuntimeStats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_fs: Option<FsStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_fs: Option<FsStats>,
}

/// `stats/v1alpha1.RlimitStats` (JSON keys are lower case: `maxpid`, `curproc`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RlimitStats {
    #[serde(default, deserialize_with = "time::option")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxpid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curproc: Option<i64>,
}

/// `stats/v1alpha1.PodStats`. As in [`ContainerStats`], the objects collection never fills
/// (cpu, network, ephemeral storage, process stats, io) are boxed to keep a big Summary small;
/// the JSON is unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStats {
    pub pod_ref: PodReference,
    /// Always printed, `null` when unknown (the kubelet's `metav1.Time` is not a pointer).
    #[serde(default, deserialize_with = "time::option")]
    pub start_time: Option<Timestamp>,
    #[serde(default)]
    pub containers: Vec<ContainerStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Box<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<SwapStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Box<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Vec<VolumeStats>>,
    #[serde(
        rename = "ephemeral-storage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ephemeral_storage: Option<Box<FsStats>>,
    #[serde(rename = "process_stats", default, skip_serializing_if = "Option::is_none")]
    pub process_stats: Option<Box<ProcessStats>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<Box<serde_json::Value>>,
}

/// `stats/v1alpha1.PodReference`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodReference {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub uid: String,
}

/// `stats/v1alpha1.VolumeStats`: filesystem stats of one pod volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeStats {
    #[serde(flatten)]
    pub fs: FsStats,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_ref: Option<serde_json::Value>,
}

/// `stats/v1alpha1.ProcessStats` (JSON key `process_count`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_count: Option<u64>,
}

/// Why a document is not a kubelet Summary: the field serde stopped at (empty for the document
/// itself) and serde's own words. Callers say which file or endpoint it came from.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct SummaryParseError {
    pub field: String,
    pub message: String,
}

impl Summary {
    /// Parse `GET /stats/summary` JSON, naming the field that does not fit
    /// (`node.memory.availableBytes`), not only the line and column.
    pub fn parse_json(text: &str) -> Result<Summary, SummaryParseError> {
        let mut json = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let field = e.path().to_string();
            SummaryParseError {
                // serde_path_to_error prints "." for the document itself.
                field: if field == "." { String::new() } else { field },
                message: e.inner().to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubelet_summary_shape() {
        let json = r#"{
          "node": {
            "nodeName": "vm",
            "systemContainers": [
              {"name": "pods", "startTime": "2026-11-28T00:10:01Z",
               "memory": {"time": "2026-11-28T02:01:35Z", "availableBytes": 23622320128,
                          "usageBytes": 300000000, "workingSetBytes": 150000000}}
            ],
            "memory": {"time": "2026-11-28T02:01:35Z", "availableBytes": 24988028928,
                       "usageBytes": 752611328, "workingSetBytes": 288473088, "rssBytes": 22843392,
                       "pageFaults": 58599, "majorPageFaults": 0},
            "rlimit": {"time": "2026-11-28T02:01:35Z", "maxpid": 4194304, "curproc": 210},
            "cpu": {"usageNanoCores": 1}
          },
          "pods": [
            {"podRef": {"name": "web-0", "namespace": "default", "uid": "3f6c"},
             "containers": [{"name": "app", "memory": {"time": null, "workingSetBytes": 5}}],
             "memory": {"time": "2026-11-28T02:01:35Z", "workingSetBytes": 106870912},
             "ephemeral-storage": {"usedBytes": 10},
             "process_stats": {"process_count": 4}}
          ]
        }"#;
        let s: Summary = serde_json::from_str(json).unwrap();
        assert_eq!(
            s.node.memory.as_ref().unwrap().working_set_bytes,
            Some(288_473_088)
        );
        let pods = s.node.system_container(SYSTEM_CONTAINER_PODS).unwrap();
        assert_eq!(
            pods.memory.as_ref().unwrap().available_bytes,
            Some(23_622_320_128)
        );
        assert_eq!(s.node.rlimit.as_ref().unwrap().maxpid, Some(4_194_304));
        assert_eq!(s.pods[0].process_stats.as_ref().unwrap().process_count, Some(4));
        assert_eq!(s.pods[0].ephemeral_storage.as_ref().unwrap().used_bytes, Some(10));
        assert_eq!(s.pods[0].containers[0].memory.as_ref().unwrap().time, None);
        // Round trip keeps everything headroom understands and the raw objects it does not.
        let again: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }

    /// The boxed fields of a container and a pod read and print exactly as the kubelet's
    /// objects: a Summary with every one of them set survives a parse/print unchanged, and
    /// the boxing keeps the per-container and per-pod structs small.
    #[test]
    fn boxed_fields_keep_their_json() {
        let fs = r#"{"time":"2026-11-28T02:01:35Z","availableBytes":7,"capacityBytes":9,"usedBytes":2,"inodesFree":5,"inodes":8,"inodesUsed":3}"#;
        let container = format!(
            r#"{{"name":"sidecar","startTime":"2026-11-28T00:10:01Z","cpu":{{"usageNanoCores":12}},"memory":{{"time":"2026-11-28T02:01:35Z","workingSetBytes":5}},"swap":{{"time":"2026-11-28T02:01:35Z","swapUsageBytes":0}},"accelerators":[{{"make":"acme","memoryUsed":1}}],"rootfs":{fs},"logs":{fs},"userDefinedMetrics":[{{"name":"queue","value":3}}],"io":{{"read":1}}}}"#
        );
        let json = format!(
            r#"{{"node":{{"nodeName":"n1","startTime":null}},"pods":[{{"podRef":{{"name":"web-0","namespace":"shop","uid":"u-7"}},"startTime":"2026-11-28T00:10:01Z","containers":[{container}],"cpu":{{"usageNanoCores":40}},"network":{{"interfaces":[]}},"ephemeral-storage":{fs},"process_stats":{{"process_count":4}},"io":{{"write":2}}}}]}}"#
        );
        let parsed: Summary = serde_json::from_str(&json).unwrap();
        let c = &parsed.pods[0].containers[0];
        assert_eq!(c.rootfs.as_deref().and_then(|f| f.used_bytes), Some(2));
        assert_eq!(c.logs.as_deref().and_then(|f| f.inodes_used), Some(3));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        // A guard, not an exact figure: a collected Summary holds one per container.
        assert!(std::mem::size_of::<ContainerStats>() <= 400);
        assert!(std::mem::size_of::<PodStats>() <= 480);
    }
}
