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
    /// What drives the memory signal: active page cache or anonymous memory, for the node and
    /// for the first pod to go, and how the kubelet's figures differ from `free`'s.
    pub cause: CauseView,
    /// What the operator can do about it, chosen by the cause (empty without pressure).
    pub advice: Vec<Advice>,
    /// The answer in a few sentences (the verdict lines joined).
    pub verdict: String,
    /// The same answer as the text view prints it, one paragraph per entry.
    #[serde(skip)]
    pub verdict_lines: Vec<String>,
    /// Things the operator should know (what is unknown and why).
    pub notes: Vec<String>,
    /// Config lint findings (`{code, message}`), only with `--config`.
    pub config_warnings: Vec<headroom_core::lint::Warning>,
    /// What the collection skipped (`path: reason`), the sentences as printed.
    pub skipped: Vec<String>,
    /// The same, typed: `{path, code, reason}` with a stable `code` to match on (absent when
    /// nothing was skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<headroom_linux::collection::skip::Skip>,
    /// `--policy`, when given (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<headroom_core::reclaim::Policy>,
    /// With `--policy`: the kubelet's verdict beside reclaim-first's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_verdicts: Option<super::policy::PolicyVerdicts>,
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
    /// The Summary's `rssBytes` (anonymous memory); `workingSetBytes - rssBytes` estimates the
    /// active page cache when the split below is unknown.
    pub rss_bytes: Option<u64>,
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
    /// The place was given with `--pod-cgroup-root`.
    pub configured: bool,
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
    /// The pod the core's decision (the eviction manager's sync on these figures) evicts now;
    /// null when it evicts none (no threshold met, or only a soft one within its grace period).
    pub evicted_uid: Option<String>,
}

impl EvictionOrder {
    /// The first pod to go: the one the decision evicts, else the first non-critical one.
    pub fn first_to_go(&self) -> Option<&Candidate> {
        self.evicted_uid
            .as_deref()
            .and_then(|uid| self.pods.iter().find(|c| c.uid == uid))
            .or_else(|| self.pods.iter().find(|c| !c.critical))
    }
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
    /// Pod working set, what the kubelet ranks by (null = no stats: the kubelet ranks such
    /// pods first).
    pub working_set_bytes: Option<u64>,
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
    /// `true` when `activeFileBytes` is estimated from the Summary (working set - rssBytes)
    /// rather than read from the pod's cgroup.
    pub active_file_estimated: bool,
    /// The pod's memory limit (null = none, or unknown without `--pods`).
    pub limit_bytes: Option<i64>,
}

impl Candidate {
    /// `namespace/name`, or the uid when the name is unknown.
    pub fn display_name(&self) -> String {
        match (&self.namespace, &self.name) {
            (Some(ns), Some(n)) => format!("{ns}/{n}"),
            (None, Some(n)) => n.clone(),
            _ => format!("pod {}", self.uid),
        }
    }
}

/// Why the memory signal is where it is.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseView {
    /// `activePageCache`: without the active page cache it counts, the signal would be above
    /// its threshold; `anonymousMemory`: it would still be below; `none`: no memory pressure;
    /// `unknown`: the split is not known.
    pub kind: &'static str,
    /// The signal this is about: the met memory threshold the kubelet acts on, else
    /// memory.available.
    pub signal: Option<Signal>,
    /// That threshold, resolved to bytes (null without pressure).
    pub threshold_bytes: Option<i64>,
    /// The signal's cgroup (the node's root, or the pods cgroup for allocatable).
    pub memory: Option<CacheShare>,
    /// The signal's available bytes, and what they would be without the active page cache.
    pub available_bytes: Option<i64>,
    pub available_without_active_file_bytes: Option<i64>,
    /// The first pod the kubelet would evict (not critical), with its own split.
    pub first_pod: Option<PodCause>,
    /// The kubelet's figures next to `free`'s (null with `--summary`).
    pub free: Option<FreeComparison>,
}

/// How much of a working set is active page cache.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheShare {
    pub working_set_bytes: u64,
    /// Active page cache inside the working set (counted as used by the kubelet, reclaimable
    /// by the kernel).
    pub active_file_bytes: u64,
    /// The rest of the working set: anonymous memory (and, estimated, shmem/kernel).
    pub other_bytes: u64,
    pub active_file_percent: Option<f64>,
    /// `true` when estimated from a Summary as `workingSetBytes - rssBytes` (which also counts
    /// shmem and, on cgroup v2, kernel memory as cache); `false` when read from `memory.stat`.
    pub estimated: bool,
}

/// The first pod to go, and its split.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCause {
    /// Its rank in `evictionOrder` (1-based).
    pub rank: usize,
    pub pod: String,
    /// null when the pod has no stats or its split is unknown.
    pub memory: Option<CacheShare>,
}

/// `used` and `available` as the kubelet and `free` see them.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeComparison {
    /// The kubelet's used: the root working set.
    pub kubelet_used_bytes: u64,
    /// `free`'s used: total - available.
    pub free_used_bytes: u64,
    /// kubelet used - free used (positive: the kubelet counts more as used).
    pub used_difference_bytes: i64,
    pub kubelet_available_bytes: i64,
    pub free_available_bytes: u64,
}

/// One thing to do about the pressure, with the line to write.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Advice {
    /// Stable code: `podMemoryLimit`, `podMemoryRequest`, `softThreshold`,
    /// `kernelMemcgNotification`, `headroomAgent`.
    pub code: &'static str,
    /// What it does, in a sentence.
    pub text: String,
    /// Where it goes (`in the pod spec ...`, `in the KubeletConfiguration`, `on the node`).
    pub place: &'static str,
    /// The line(s) to write.
    pub config: String,
}
