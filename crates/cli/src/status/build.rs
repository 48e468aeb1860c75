//! Build the [`StatusReport`] from a [`StatusInput`]. No I/O: every number comes from the
//! input, every decision from headroom-core.

use std::collections::BTreeMap;

use headroom_core::manager::order_for_reclaim;
use headroom_core::observe::observe as observe_core;
use headroom_core::quantity::Quantity;
use headroom_core::signal::{NodeCondition, Resource, Signal};
use headroom_core::summary::{SYSTEM_CONTAINER_PODS, Summary};
use headroom_core::threshold::{Threshold, ThresholdValue, threshold_quantity};

use super::input::{HostView, MemorySplit, StatusInput};
use super::order;
use super::report::*;
use super::units::{human_bytes, percent};
use super::{advice, cause, decision, verdict};

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
    let (mut eviction_order, active_pods) = order::eviction_order(input, top, &mut notes);
    // Met thresholds, conditions and the pod to evict: the core's decision, not a second copy
    // of its steps.
    let decision = decision::first_sync(input, &active_pods);
    if let Some(error) = &decision.error {
        notes.push(format!("The eviction manager's sync failed: {error}."));
    }
    // Threshold ids index the manager's list: the configured thresholds first, then the
    // containerfs copies it derives.
    let met_ids: Vec<usize> = decision.thresholds_met.iter().map(|m| m.id).collect();
    let thresholds: Vec<ThresholdRow> = input
        .eviction
        .thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| {
            threshold_row(
                t,
                observations.get(&t.signal).copied(),
                met_ids.contains(&i),
                input,
            )
        })
        .collect();

    // The threshold the kubelet acts on first: the decision's, or, while every met one waits
    // for its grace period, the first met one in the kubelet's reclaim order.
    let mut met: Vec<Threshold> = decision
        .thresholds_met
        .iter()
        .map(|m| m.threshold.clone())
        .collect();
    order_for_reclaim(&mut met);
    let acting = decision.actionable.first().or(met.first());
    let acting_threshold = acting.and_then(|first| input.eviction.thresholds.iter().position(|t| t == first));
    let conditions: Vec<NodeCondition> = decision.conditions.clone();
    eviction_order.evicted_uid = decision
        .evictions
        .first()
        .and_then(|e| active_pods.get(e.index))
        .map(|p| p.metadata.uid.clone());

    let cause = cause::cause(input, &thresholds, acting_threshold, &eviction_order);
    let advice = advice::advice(
        &cause,
        acting_threshold
            .and_then(|i| thresholds.get(i))
            .filter(|t| t.signal.is_memory()),
        &thresholds,
        &eviction_order.pods,
        // The agent runs on the node: a config path only means something there.
        input
            .config_origin
            .as_deref()
            .filter(|_| input.source == super::input::Source::Live),
    );
    let pods_cgroup = pods_cgroup_info(input);
    if input.host.is_none() {
        notes.push(
            "A Summary does not carry memory.stat: the active page cache is estimated as working \
             set - rssBytes, which also counts shmem (and on cgroup v2 kernel memory) as cache. \
             Run `headroom status` on the node for the exact split."
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
        acting_threshold,
        eviction_order,
        cause,
        advice,
        verdict: String::new(),
        verdict_lines: Vec::new(),
        notes,
        config_warnings: input.config_warnings.clone(),
        skipped: host
            .map(|h| h.skipped.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        skips: host.map(|h| h.skipped.clone()).unwrap_or_default(),
        policy: None,
        policy_verdicts: None,
    };
    report.verdict_lines = verdict::verdict(&report);
    report.verdict = report.verdict_lines.join(" ");
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

/// The kubelet's observations (available, capacity) for every signal the Summary carries,
/// from headroom-core's `observe` (the kubelet's `makeSignalObservations`).
pub(crate) fn observe(summary: &Summary) -> BTreeMap<Signal, Observed> {
    observe_core(summary)
        .iter()
        .map(|(signal, o)| {
            (
                signal,
                Observed {
                    available: o.available.value(),
                    capacity: o.capacity.value(),
                },
            )
        })
        .collect()
}

fn unit_of(signal: Signal) -> &'static str {
    match signal.resource() {
        Resource::Memory | Resource::EphemeralStorage => "bytes",
        Resource::Inodes => "inodes",
        Resource::Pids => "pids",
    }
}

fn threshold_row(t: &Threshold, obs: Option<Observed>, met: bool, input: &StatusInput) -> ThresholdRow {
    let resolved = match (&t.value, obs) {
        (ThresholdValue::Quantity(q), _) => Some(*q),
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
        // headroom-core's comparison (strict, like the kubelet's); unknown when unobserved.
        met: obs.map(|_| met),
        unobserved_reason: if obs.is_some() {
            None
        } else {
            Some(unobserved_reason(t.signal, input))
        },
    }
}

/// `100Mi` or `10%`, the way the threshold was written.
fn value_text(value: &ThresholdValue) -> String {
    headroom_core::threshold::format_threshold_value(value)
}

/// Go's `Duration.String()` for the grace periods (`0s`, `1m30s`).
fn go_duration(ns: i64) -> String {
    headroom_core::duration::format_duration(ns)
}

/// Why a signal has no observation: at most 30 characters (a table cell); the collection
/// notes say more.
fn unobserved_reason(signal: Signal, input: &StatusInput) -> String {
    let node = &input.summary.node;
    let text = match signal {
        Signal::MemoryAvailable => "no node.memory in the stats",
        Signal::AllocatableMemoryAvailable => match &input.host {
            Some(h) if h.pods_cgroup.is_none() => "no pods cgroup found",
            Some(_) => "pods cgroup has no limit",
            None => match node.system_container(SYSTEM_CONTAINER_PODS) {
                None => "no \"pods\" system container",
                Some(c) if c.memory.is_none() => "no memory stats for \"pods\"",
                // The kubelet leaves availableBytes out for a cgroup without a memory limit.
                Some(_) => "pods cgroup has no limit",
            },
        },
        Signal::NodeFsAvailable | Signal::NodeFsInodesFree if node.fs.is_none() => "no node.fs in the stats",
        Signal::NodeFsAvailable | Signal::NodeFsInodesFree => "node.fs lacks the fields",
        Signal::ImageFsAvailable | Signal::ImageFsInodesFree => "no runtime.imageFs in stats",
        Signal::ContainerFsAvailable | Signal::ContainerFsInodesFree => "no runtime.containerFs",
        Signal::PidAvailable => "no node.rlimit in the stats",
    };
    text.to_string()
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
        rss_bytes: m.and_then(|m| m.rss_bytes),
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
            configured: h.pods_cgroup_configured,
            limit_bytes: h.pods_cgroup.as_ref().and_then(|p| p.memory.limit),
        },
        None => PodsCgroupInfo {
            found: from_summary.is_some(),
            path: None,
            searched: Vec::new(),
            configured: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::input::Source;
    use headroom_core::config::EvictionConfig;
    use headroom_core::summary::{FsStats, MemoryStats, NodeStats};
    use headroom_core::threshold::ThresholdValue;

    const MI: u64 = 1 << 20;

    fn summary(available: u64, working_set: u64) -> Summary {
        Summary {
            node: NodeStats {
                node_name: "n".into(),
                memory: Some(MemoryStats {
                    available_bytes: Some(available),
                    working_set_bytes: Some(working_set),
                    usage_bytes: Some(working_set + 10 * MI),
                    ..MemoryStats::default()
                }),
                ..NodeStats::default()
            },
            pods: Vec::new(),
        }
    }

    fn hard(signal: Signal, value: ThresholdValue) -> Threshold {
        Threshold {
            signal,
            value,
            grace_period_ns: 0,
            min_reclaim: None,
        }
    }

    fn input(summary: Summary, thresholds: Vec<Threshold>) -> StatusInput {
        StatusInput {
            source: Source::Summary("s.json".into()),
            summary,
            pods: None,
            pods_origin: None,
            eviction: EvictionConfig {
                thresholds,
                ..EvictionConfig::default()
            },
            config_origin: None,
            config_warnings: Vec::new(),
            host: None,
        }
    }

    #[test]
    fn available_equal_to_threshold_is_not_met() {
        let t = hard(
            Signal::MemoryAvailable,
            ThresholdValue::Quantity(Quantity::bytes(100 * MI as i64)),
        );
        let r = build(&input(summary(100 * MI, 900 * MI), vec![t]), 10);
        assert_eq!(r.thresholds[0].met, Some(false));
        assert_eq!(r.thresholds[0].headroom, Some(0));
        assert!(r.conditions.is_empty());
        assert!(r.verdict.starts_with("No memory pressure"), "{}", r.verdict);

        let t = hard(
            Signal::MemoryAvailable,
            ThresholdValue::Quantity(Quantity::bytes(100 * MI as i64 + 1)),
        );
        let r = build(&input(summary(100 * MI, 900 * MI), vec![t]), 10);
        assert_eq!(r.thresholds[0].met, Some(true));
        assert_eq!(r.conditions, vec![NodeCondition::MemoryPressure]);
        assert!(r.verdict.starts_with("memory.available is 100.0 MiB, 1 B below"));
        assert!(r.verdict.contains("no pods to evict"), "{}", r.verdict);
    }

    #[test]
    fn percentages_resolve_with_the_kubelets_f32_math() {
        // 10% of 1000Mi is 104857601 bytes in the kubelet (f32 percentage), not 104857600.
        let t = hard(Signal::MemoryAvailable, ThresholdValue::Percentage(0.1));
        let r = build(&input(summary(500 * MI, 500 * MI), vec![t]), 10);
        assert_eq!(r.thresholds[0].threshold, Some(104_857_601));
        assert_eq!(r.thresholds[0].capacity, Some(1000 * MI as i64));
        assert_eq!(r.thresholds[0].value, "10%");
    }

    #[test]
    fn unobserved_signals_say_why_and_never_count_as_met() {
        let mut s = summary(500 * MI, 500 * MI);
        s.node.memory = None;
        let thresholds = vec![
            hard(
                Signal::MemoryAvailable,
                ThresholdValue::Quantity(Quantity::bytes(100 * MI as i64)),
            ),
            hard(Signal::NodeFsAvailable, ThresholdValue::Percentage(0.1)),
        ];
        let r = build(&input(s, thresholds), 10);
        assert_eq!(r.thresholds[0].met, None);
        assert!(r.thresholds[0].unobserved_reason.is_some());
        assert_eq!(r.thresholds[1].threshold, None);
        assert!(
            r.verdict.starts_with("Unknown: no memory signal is observed"),
            "{}",
            r.verdict
        );
    }

    #[test]
    fn disk_pressure_alone_is_not_memory_pressure() {
        let mut s = summary(500 * MI, 500 * MI);
        s.node.fs = Some(FsStats {
            available_bytes: Some(5),
            capacity_bytes: Some(100),
            ..FsStats::default()
        });
        let thresholds = vec![
            hard(
                Signal::MemoryAvailable,
                ThresholdValue::Quantity(Quantity::bytes(100 * MI as i64)),
            ),
            hard(Signal::NodeFsAvailable, ThresholdValue::Percentage(0.1)),
        ];
        let r = build(&input(s, thresholds), 10);
        assert_eq!(r.conditions, vec![NodeCondition::DiskPressure]);
        assert!(r.verdict.starts_with("No memory pressure"), "{}", r.verdict);
        assert!(r.verdict.ends_with("Also under DiskPressure."), "{}", r.verdict);
    }

    #[test]
    fn unobserved_reasons_fit_a_table_cell() {
        let mut with_host = input(Summary::default(), Vec::new());
        with_host.host = Some(HostView::default());
        for inp in [input(Summary::default(), Vec::new()), with_host] {
            for signal in Signal::ALL {
                let why = unobserved_reason(signal, &inp);
                assert!(why.chars().count() <= 30, "{signal}: {why:?}");
            }
        }
    }

    #[test]
    fn allocatable_pressure_is_explained_from_the_pods_cgroup_estimate() {
        use headroom_core::summary::ContainerStats;
        // Node calm; the pods cgroup (1000Mi) has 950Mi working set, 800Mi of it not rss.
        let mut s = summary(4000 * MI, 4000 * MI);
        s.node.system_containers = Some(vec![ContainerStats {
            name: SYSTEM_CONTAINER_PODS.to_string(),
            memory: Some(MemoryStats {
                available_bytes: Some(50 * MI),
                working_set_bytes: Some(950 * MI),
                rss_bytes: Some(150 * MI),
                ..MemoryStats::default()
            }),
            ..ContainerStats::default()
        }]);
        s.node.memory.as_mut().unwrap().rss_bytes = Some(3000 * MI);
        let q = |v: u64| ThresholdValue::Quantity(Quantity::bytes(v as i64));
        let thresholds = vec![
            hard(Signal::MemoryAvailable, q(200 * MI)),
            hard(Signal::AllocatableMemoryAvailable, q(200 * MI)),
        ];
        let r = build(&input(s, thresholds), 10);
        assert_eq!(r.conditions, vec![NodeCondition::MemoryPressure]);
        assert_eq!(r.cause.signal, Some(Signal::AllocatableMemoryAvailable));
        assert_eq!(r.cause.kind, cause::ACTIVE_PAGE_CACHE);
        let m = r.cause.memory.as_ref().unwrap();
        assert!(m.estimated);
        assert_eq!(m.active_file_bytes, 800 * MI);
        assert_eq!(r.cause.available_without_active_file_bytes, Some(850 * MI as i64));
        assert!(
            r.verdict
                .contains("800.0 MiB of the pods cgroup's 950.0 MiB working set"),
            "{}",
            r.verdict
        );
        assert!(
            r.verdict.contains("an estimate from the Summary"),
            "{}",
            r.verdict
        );
        assert!(
            r.advice.iter().any(|a| a.code == "softThreshold"),
            "{:?}",
            r.advice
        );
    }

    #[test]
    fn no_memory_thresholds_means_no_memory_pressure_ever() {
        let r = build(&input(summary(1, 1), Vec::new()), 10);
        assert!(r.verdict.contains("never sets MemoryPressure"), "{}", r.verdict);
    }
}
