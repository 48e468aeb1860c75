//! The status report: everything `headroom status` says, as data. The text renderer and the
//! JSON document are two views of this one model, so they can never disagree.
//!
//! Serialized field names are camelCase; byte values are integers (`...Bytes`), threshold
//! values are also given as the quantity strings the kubelet prints. See `status/mod.rs` for
//! the documented JSON keys.

use headroom_core::signal::{NodeCondition, Signal};
use jiff::Timestamp;
use serde::Serialize;

use super::input::FreeFigures;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub node_name: String,
    /// The node memory sample time from the Summary (null = unknown).
    pub time: Option<Timestamp>,
    pub source: SourceInfo,
    pub node_memory: NodeMemory,
    pub kubelet: KubeletArithmetic,
    pub pods_cgroup: PodsCgroupInfo,
    pub thresholds: Vec<ThresholdRow>,
    /// Node conditions the met thresholds set right now (soft thresholds set theirs before
    /// their grace period runs out).
    pub conditions: Vec<NodeCondition>,
    /// Index into `thresholds` of the met threshold the kubelet acts on first (its reclaim
    /// order: memory first, hard before soft, memory.available before allocatable).
    pub acting_threshold: Option<usize>,
    pub eviction_order: EvictionOrder,
    pub verdict: String,
    /// Things the operator should know (what is unknown and why).
    pub notes: Vec<String>,
    /// Config lint findings (`{code, message}`), only with `--config`.
    pub config_warnings: Vec<headroom_core::lint::Warning>,
    /// What the collection skipped (`path: reason`).
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// `live`, `root` or `summary`.
    pub kind: &'static str,
    /// The `--root` directory or `--summary` file.
    pub path: Option<String>,
    /// cgroup layout when the kernel files were read (`cgroup v1 (hybrid)`).
    pub layout: Option<String>,
    /// Where pod identities came from: `podsFile`, `cgroups`, `summary` or `none`.
    pub pods: &'static str,
    pub pods_path: Option<String>,
    /// The kubelet config file, or null for the kubelet's defaults.
    pub config: Option<String>,
}

/// Node memory as the kernel splits it and as `free` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMemory {
    /// MemTotal: the kubelet's memory capacity (availableBytes + workingSetBytes).
    pub capacity_bytes: Option<u64>,
    pub usage_bytes: Option<u64>,
    pub working_set_bytes: Option<u64>,
    /// usage - workingSet: the inactive page cache the kubelet ignores.
    pub inactive_file_bytes: Option<u64>,
    /// How usage splits (null with `--summary`: the Summary does not carry it).
    pub split: Option<MemorySplitView>,
    /// What `free -b` (procps-ng 4) prints (null with `--summary`).
    pub free: Option<FreeView>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemorySplitView {
    pub anon_bytes: Option<u64>,
    /// Page cache = active_file + inactive_file (+ shmem and other non-LRU file pages).
    pub cache_bytes: Option<u64>,
    pub active_file_bytes: Option<u64>,
    pub inactive_file_bytes: Option<u64>,
    pub shmem_bytes: Option<u64>,
    pub kernel_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeView {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub shared_bytes: u64,
    pub buff_cache_bytes: u64,
    pub available_bytes: u64,
}

impl From<&FreeFigures> for FreeView {
    fn from(f: &FreeFigures) -> Self {
        FreeView {
            total_bytes: f.total,
            used_bytes: f.used,
            free_bytes: f.free,
            shared_bytes: f.shared,
            buff_cache_bytes: f.buff_cache,
            available_bytes: f.available,
        }
    }
}

/// The kubelet's arithmetic for the two memory signals, with the real numbers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeletArithmetic {
    pub memory_available: Option<SignalArithmetic>,
    pub allocatable_memory_available: Option<SignalArithmetic>,
}

/// `workingSet = usage - inactive_file`; `available = capacity - workingSet`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalArithmetic {
    pub signal: Signal,
    /// The cgroup the numbers come from (`/` for the node).
    pub cgroup: Option<String>,
    /// MemTotal for the node, the pods cgroup limit for allocatable.
    pub capacity_bytes: u64,
    pub usage_bytes: Option<u64>,
    pub inactive_file_bytes: Option<u64>,
    pub working_set_bytes: u64,
    pub available_bytes: i64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodsCgroupInfo {
    pub found: bool,
    pub path: Option<String>,
    /// Where it was looked for (when the kernel files were read).
    pub searched: Vec<String>,
    pub limit_bytes: Option<u64>,
}

/// One configured threshold against its observation.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdRow {
    pub signal: Signal,
    pub condition: NodeCondition,
    pub hard: bool,
    /// Go duration (`0s`, `1m30s`).
    pub grace_period: String,
    /// As configured: `100Mi` or `10%`.
    pub value: String,
    /// `bytes`, `inodes` or `pids`.
    pub unit: &'static str,
    /// The value resolved against the capacity (null when unobserved and a percentage).
    pub threshold: Option<i64>,
    /// The same as a quantity string (`100Mi`, `104857601`).
    pub threshold_quantity: Option<String>,
    pub observed: bool,
    pub available: Option<i64>,
    pub capacity: Option<i64>,
    /// available - threshold: how far the signal is from tripping (negative = met).
    pub headroom: Option<i64>,
    /// headroom as a percentage of capacity.
    pub headroom_percent: Option<f64>,
    /// `available < threshold` (strict, as the kubelet compares); null when unobserved.
    pub met: Option<bool>,
    /// Why there is no observation.
    pub unobserved_reason: Option<String>,
}

/// The pods in the order the kubelet would evict them for memory pressure.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvictionOrder {
    /// Comparator chain, in words.
    pub rule: &'static str,
    /// Pods ranked in total.
    pub total: usize,
    /// Whether requests and priorities were known (a pods file was given).
    pub requests_known: bool,
    pub pods: Vec<Candidate>,
}

/// One pod in the eviction order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// 1-based position in the eviction order.
    pub rank: usize,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub uid: String,
    pub qos: Option<String>,
    pub priority: Option<i32>,
    /// Effective memory request (null = unknown).
    pub request_bytes: Option<i64>,
    /// Pod working set (null = no stats: the kubelet ranks such pods first).
    pub usage_bytes: Option<u64>,
    pub over_request_bytes: Option<i64>,
    pub exceeds_request: Option<bool>,
    /// The comparator that placed this pod before the next one: `missingStats`,
    /// `exceedsRequest`, `priority`, `usageOverRequest`, `tie` (kept in input order) or `last`.
    pub placed_by: &'static str,
    /// The same rule in words.
    pub placed_by_rule: Option<&'static str>,
    /// Critical pods are ranked but never evicted by the kubelet.
    pub critical: bool,
    /// Active page cache in the pod's working set (counted by the kubelet, reclaimable by
    /// the kernel), when the cgroup breakdown is known.
    pub active_file_bytes: Option<u64>,
    pub active_file_percent: Option<f64>,
}
