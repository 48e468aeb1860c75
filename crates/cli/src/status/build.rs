//! Build the [`StatusReport`] from a [`StatusInput`]. No I/O: every number comes from the
//! input, every decision from headroom-core.

use std::collections::BTreeMap;

use headroom_core::quantity::Quantity;
use headroom_core::signal::{NodeCondition, Resource, Signal};
use headroom_core::summary::{SYSTEM_CONTAINER_PODS, Summary};
use headroom_core::threshold::{Threshold, threshold_quantity};

use super::input::{HostView, MemorySplit, StatusInput};
use super::order;
use super::report::*;
use super::units::{human_bytes, percent};
use super::verdict;

/// One signal's observation, as the kubelet computes it from the Summary.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Observed {
    pub available: i64,
    pub capacity: i64,
}

pub fn build(input: &StatusInput, top: usize) -> StatusReport {
    let summary = &input.summary;
    let observations = observe(summary);
    let host = input.host.as_ref();

    let mut notes = Vec::new();
    let thresholds: Vec<ThresholdRow> = input
        .eviction
        .thresholds
        .iter()
        .map(|t| threshold_row(t, observations.get(&t.signal).copied(), input))
        .collect();

    let mut conditions: Vec<NodeCondition> = Vec::new();
    for row in thresholds.iter().filter(|r| r.met == Some(true)) {
        if !conditions.contains(&row.condition) {
            conditions.push(row.condition);
        }
    }

    let eviction_order = order::eviction_order(input, top, &mut notes);
    let pods_cgroup = pods_cgroup_info(input);
    if input.host.is_none() {
        notes.push(
            "The Summary does not say how memory splits into anon, page cache and kernel memory; \
             it only gives usage and working set (usage - working set = inactive_file)."
                .to_string(),
        );
    }

    let mut report = StatusReport {
        node_name: summary.node.node_name.clone(),
        time: summary.node.memory.as_ref().and_then(|m| m.time),
        source: SourceInfo {
            kind: input.source.kind(),
            path: input.source.path().map(str::to_string),
            layout: host.map(|h| h.layout.clone()),
            pods: pods_source(input),
            pods_path: input.pods_origin.clone(),
            config: input.config_origin.clone(),
        },
        node_memory: node_memory(input),
        kubelet: KubeletArithmetic {
            memory_available: node_arithmetic(summary, host),
            allocatable_memory_available: allocatable_arithmetic(summary, host),
        },
        pods_cgroup,
        thresholds,
        conditions,
        eviction_order,
        verdict: String::new(),
        notes,
        skipped: host.map(|h| h.skipped.clone()).unwrap_or_default(),
    };
    report.verdict = verdict::verdict(&report);
    report
}

/// Where the pod identities in the eviction order came from.
fn pods_source(input: &StatusInput) -> &'static str {
    if input.pods.is_some() {
        "podsFile"
    } else if input.host.as_ref().is_some_and(|h| !h.pods.is_empty()) {
        "cgroups"
    } else if !input.summary.pods.is_empty() {
        "summary"
    } else {
        "none"
    }
}

/// The kubelet's observations (available, capacity) for every signal the Summary carries.
// TODO(status): switch to headroom_core::observe once it lands on main.
pub(crate) fn observe(summary: &Summary) -> BTreeMap<Signal, Observed> {
    let mut out = BTreeMap::new();
    let node = &summary.node;
    let mem = |m: &headroom_core::summary::MemoryStats| -> Option<Observed> {
        let available = i64::try_from(m.available_bytes?).ok()?;
        let ws = i64::try_from(m.working_set_bytes?).ok()?;
        Some(Observed {
            available,
            capacity: available.checked_add(ws)?,
        })
    };
    if let Some(o) = node.memory.as_ref().and_then(mem) {
        out.insert(Signal::MemoryAvailable, o);
    }
    if let Some(o) = node
        .system_container(SYSTEM_CONTAINER_PODS)
        .and_then(|c| c.memory.as_ref())
        .and_then(mem)
    {
        out.insert(Signal::AllocatableMemoryAvailable, o);
    }
    let pair = |a: Option<u64>, c: Option<u64>| -> Option<Observed> {
        Some(Observed {
            available: i64::try_from(a?).ok()?,
            capacity: i64::try_from(c?).ok()?,
        })
    };
    if let Some(fs) = &node.fs {
        if let Some(o) = pair(fs.available_bytes, fs.capacity_bytes) {
            out.insert(Signal::NodeFsAvailable, o);
        }
        if let Some(o) = pair(fs.inodes_free, fs.inodes) {
            out.insert(Signal::NodeFsInodesFree, o);
        }
    }
    if let Some(rt) = &node.runtime {
        for (fs, bytes, inodes) in [
            (&rt.image_fs, Signal::ImageFsAvailable, Signal::ImageFsInodesFree),
            (
                &rt.container_fs,
                Signal::ContainerFsAvailable,
                Signal::ContainerFsInodesFree,
            ),
        ] {
            if let Some(fs) = fs {
                if let Some(o) = pair(fs.available_bytes, fs.capacity_bytes) {
                    out.insert(bytes, o);
                }
                if let Some(o) = pair(fs.inodes_free, fs.inodes) {
                    out.insert(inodes, o);
                }
            }
        }
    }
    if let Some(rl) = &node.rlimit
        && let (Some(max), Some(cur)) = (rl.maxpid, rl.curproc)
    {
        out.insert(
            Signal::PidAvailable,
            Observed {
                available: max - cur,
                capacity: max,
            },
        );
    }
    out
}

fn unit_of(signal: Signal) -> &'static str {
    match signal.resource() {
        Resource::Memory | Resource::EphemeralStorage => "bytes",
        Resource::Inodes => "inodes",
        Resource::Pids => "pids",
    }
}

fn threshold_row(t: &Threshold, obs: Option<Observed>, input: &StatusInput) -> ThresholdRow {
    let resolved = match (&t.value, obs) {
        (headroom_core::threshold::ThresholdValue::Quantity(q), _) => Some(*q),
        (v, Some(o)) => Some(threshold_quantity(v, &Quantity::bytes(o.capacity))),
        (_, None) => None,
    };
    let threshold = resolved.map(|q| q.value());
    let headroom = match (obs, threshold) {
        (Some(o), Some(th)) => Some(o.available.saturating_sub(th)),
        _ => None,
    };
    ThresholdRow {
        signal: t.signal,
        condition: t.signal.condition(),
        hard: t.is_hard(),
        grace_period: go_duration(t.grace_period_ns),
        value: value_text(&t.value),
        unit: unit_of(t.signal),
        threshold,
        threshold_quantity: resolved.map(|q| q.to_string()),
        observed: obs.is_some(),
        available: obs.map(|o| o.available),
        capacity: obs.map(|o| o.capacity),
        headroom,
        headroom_percent: match (headroom, obs) {
            (Some(h), Some(o)) => percent(i128::from(h), i128::from(o.capacity)),
            _ => None,
        },
        // The kubelet's comparison is strict: available == threshold is not met.
        met: match (obs, threshold) {
            (Some(o), Some(th)) => Some(th > o.available),
            _ => None,
        },
        unobserved_reason: if obs.is_some() {
            None
        } else {
            Some(unobserved_reason(t.signal, input))
        },
    }
}

/// `100Mi` or `10%`, the way the threshold was written.
// TODO(status): use the config module's printer once it lands.
fn value_text(value: &headroom_core::threshold::ThresholdValue) -> String {
    match value {
        headroom_core::threshold::ThresholdValue::Quantity(q) => q.to_string(),
        headroom_core::threshold::ThresholdValue::Percentage(p) => format!("{}%", p * 100.0),
    }
}

/// Go's `Duration.String()` for the grace periods.
// TODO(status): use headroom_core::duration's formatter once it lands.
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let secs = ns / 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Why a signal has no observation, in words that point at the cause.
fn unobserved_reason(signal: Signal, input: &StatusInput) -> String {
    let node = &input.summary.node;
    match signal {
        Signal::MemoryAvailable => {
            "the Summary has no node.memory.availableBytes/workingSetBytes".to_string()
        }
        Signal::AllocatableMemoryAvailable => match &input.host {
            Some(h) if h.pods_cgroup.is_none() => no_pods_cgroup_text(h),
            Some(_) => "the pods cgroup has no memory limit, so the kubelet reports no \
                        availableBytes for it"
                .to_string(),
            None => "the Summary has no \"pods\" system container with memory \
                     availableBytes/workingSetBytes"
                .to_string(),
        },
        Signal::NodeFsAvailable | Signal::NodeFsInodesFree => {
            if node.fs.is_none() {
                "the Summary has no node.fs (is there a /var/lib/kubelet?)".to_string()
            } else {
                "node.fs lacks the needed fields".to_string()
            }
        }
        Signal::ImageFsAvailable | Signal::ImageFsInodesFree => {
            "the Summary has no runtime.imageFs (no container runtime root found)".to_string()
        }
        Signal::ContainerFsAvailable | Signal::ContainerFsInodesFree => {
            "the Summary has no runtime.containerFs (no container runtime root found)".to_string()
        }
        Signal::PidAvailable => "the Summary has no node.rlimit maxpid/curproc".to_string(),
    }
}

pub(crate) fn no_pods_cgroup_text(host: &HostView) -> String {
    if host.pods_cgroup_searched.is_empty() {
        "no pods cgroup found".to_string()
    } else {
        format!(
            "no pods cgroup found (looked for {})",
            host.pods_cgroup_searched.join(", ")
        )
    }
}

fn split_view(s: &MemorySplit) -> MemorySplitView {
    MemorySplitView {
        anon_bytes: s.anon,
        cache_bytes: s.cache,
        active_file_bytes: s.active_file,
        inactive_file_bytes: s.inactive_file,
        shmem_bytes: s.shmem,
        kernel_bytes: s.kernel,
    }
}

fn node_memory(input: &StatusInput) -> NodeMemory {
    let m = input.summary.node.memory.as_ref();
    let usage = m.and_then(|m| m.usage_bytes);
    let ws = m.and_then(|m| m.working_set_bytes);
    let capacity = m.and_then(|m| Some(m.available_bytes?.saturating_add(m.working_set_bytes?)));
    NodeMemory {
        capacity_bytes: capacity,
        usage_bytes: usage,
        working_set_bytes: ws,
        inactive_file_bytes: match (usage, ws) {
            (Some(u), Some(w)) => Some(u.saturating_sub(w)),
            _ => None,
        },
        split: input.host.as_ref().map(|h| split_view(&h.node)),
        free: input
            .host
            .as_ref()
            .and_then(|h| h.free.as_ref())
            .map(FreeView::from),
    }
}

fn arithmetic(
    signal: Signal,
    cgroup: Option<String>,
    m: &headroom_core::summary::MemoryStats,
    split: Option<&MemorySplit>,
) -> Option<SignalArithmetic> {
    let available = m.available_bytes?;
    let ws = m.working_set_bytes?;
    Some(SignalArithmetic {
        signal,
        cgroup,
        capacity_bytes: available.saturating_add(ws),
        usage_bytes: m.usage_bytes,
        inactive_file_bytes: split
            .and_then(|s| s.inactive_file)
            .or_else(|| Some(m.usage_bytes?.saturating_sub(ws))),
        working_set_bytes: ws,
        available_bytes: i64::try_from(available).unwrap_or(i64::MAX),
    })
}

fn node_arithmetic(summary: &Summary, host: Option<&HostView>) -> Option<SignalArithmetic> {
    arithmetic(
        Signal::MemoryAvailable,
        Some("/".to_string()),
        summary.node.memory.as_ref()?,
        host.map(|h| &h.node),
    )
}

fn allocatable_arithmetic(summary: &Summary, host: Option<&HostView>) -> Option<SignalArithmetic> {
    let pods = host.and_then(|h| h.pods_cgroup.as_ref());
    arithmetic(
        Signal::AllocatableMemoryAvailable,
        pods.map(|p| p.path.clone()),
        summary
            .node
            .system_container(SYSTEM_CONTAINER_PODS)?
            .memory
            .as_ref()?,
        pods.map(|p| &p.memory),
    )
}

fn pods_cgroup_info(input: &StatusInput) -> PodsCgroupInfo {
    let from_summary = input
        .summary
        .node
        .system_container(SYSTEM_CONTAINER_PODS)
        .and_then(|c| c.memory.as_ref());
    match &input.host {
        Some(h) => PodsCgroupInfo {
            found: h.pods_cgroup.is_some(),
            path: h.pods_cgroup.as_ref().map(|p| p.path.clone()),
            searched: h.pods_cgroup_searched.clone(),
            limit_bytes: h.pods_cgroup.as_ref().and_then(|p| p.memory.limit),
        },
        None => PodsCgroupInfo {
            found: from_summary.is_some(),
            path: None,
            searched: Vec::new(),
            limit_bytes: from_summary
                .and_then(|m| Some(m.available_bytes?.saturating_add(m.working_set_bytes?))),
        },
    }
}

/// `80.0 MiB` for bytes, `1,234` for counts.
pub(crate) fn amount(unit: &str, value: i64) -> String {
    if unit == "bytes" {
        human_bytes(i128::from(value))
    } else {
        super::units::grouped(i128::from(value))
    }
}
