//! One node's row: the figures of its `headroom status` report that say how close it is to
//! memory-pressure eviction, and who goes first.

use headroom_core::signal::{NodeCondition, Signal};
use headroom_core::summary::Summary;
use serde::Serialize;

use crate::status::report::{Candidate, StatusReport, ThresholdRow};
use crate::status::units::human_bytes;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeRow {
    pub node: String,
    pub state: State,
    pub error: Option<String>,
    pub memory_pressure_reported: Option<String>,
    pub memory_pressure_now: Option<bool>,
    pub memory_available_bytes: Option<i64>,
    pub capacity_bytes: Option<i64>,
    pub threshold: Option<ThresholdInForce>,
    pub headroom_bytes: Option<i64>,
    pub headroom_percent: Option<f64>,
    pub page_cache_share: Option<f64>,
    pub first_eviction: Option<FirstEviction>,
    pub pods: Option<usize>,
    pub verdict: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum State {
    Ok,
    Unreachable,
    BadAnswer,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdInForce {
    pub signal: Signal,
    /// As configured: `100Mi` or `10%`.
    pub value: String,
    pub hard: bool,
    pub grace_period: String,
    pub threshold_bytes: Option<i64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FirstEviction {
    /// `namespace/name`.
    pub pod: String,
    pub qos: Option<String>,
    /// The comparator that put it first (`exceedsRequest`, `priority`, ...).
    pub placed_by: &'static str,
    /// Why, in words with the figures.
    pub why: String,
}

/// The row of a node whose report was built.
pub fn from_report(report: &StatusReport, summary: &Summary, reported: Option<String>) -> NodeRow {
    let threshold = threshold_in_force(report);
    NodeRow {
        node: report.node_name.clone(),
        state: State::Ok,
        error: None,
        memory_pressure_reported: reported,
        memory_pressure_now: Some(report.conditions.contains(&NodeCondition::MemoryPressure)),
        memory_available_bytes: threshold.and_then(|t| t.available).or_else(|| {
            report
                .kubelet
                .memory_available
                .as_ref()
                .map(|m| m.available_bytes)
        }),
        capacity_bytes: threshold.and_then(|t| t.capacity),
        headroom_bytes: threshold.and_then(|t| t.headroom),
        headroom_percent: threshold.and_then(|t| t.headroom_percent),
        threshold: threshold.map(|t| ThresholdInForce {
            signal: t.signal,
            value: t.value.clone(),
            hard: t.hard,
            grace_period: t.grace_period.clone(),
            threshold_bytes: t.threshold,
        }),
        page_cache_share: page_cache_share(summary),
        first_eviction: first_eviction(report),
        pods: Some(report.eviction_order.total),
        verdict: Some(report.verdict.clone()),
    }
}

/// The row of a node that could not be read.
pub fn failed(node: String, state: State, error: String, reported: Option<String>) -> NodeRow {
    NodeRow {
        node,
        state,
        error: Some(error),
        memory_pressure_reported: reported,
        memory_pressure_now: None,
        memory_available_bytes: None,
        capacity_bytes: None,
        threshold: None,
        headroom_bytes: None,
        headroom_percent: None,
        page_cache_share: None,
        first_eviction: None,
        pods: None,
        verdict: None,
    }
}

/// The memory threshold that matters now: the one the kubelet acts on when one is met, else
/// the observed memory threshold with the least headroom (the first to trip as memory grows:
/// a pod's growth adds the same bytes to the node's and the pods cgroup's working set).
fn threshold_in_force(r: &StatusReport) -> Option<&ThresholdRow> {
    let acting = r
        .acting_threshold
        .and_then(|i| r.thresholds.get(i))
        .filter(|t| t.signal.is_memory());
    acting.or_else(|| {
        r.thresholds
            .iter()
            .filter(|t| t.signal.is_memory() && t.headroom.is_some())
            .min_by_key(|t| t.headroom)
    })
}

/// (working set - rss) / working set of the node: what the kubelet counts as used although it
/// is not anonymous memory (mostly active page cache, which the kernel could still reclaim).
fn page_cache_share(summary: &Summary) -> Option<f64> {
    let m = summary.node.memory.as_ref()?;
    let ws = m.working_set_bytes?;
    let rss = m.rss_bytes?;
    if ws == 0 {
        return None;
    }
    Some(ws.saturating_sub(rss) as f64 / ws as f64)
}

/// The first pod of the ranking the kubelet would evict (critical pods are ranked, never
/// evicted).
fn first_eviction(r: &StatusReport) -> Option<FirstEviction> {
    let c = r.eviction_order.pods.iter().find(|c| !c.critical)?;
    Some(FirstEviction {
        pod: c.display_name(),
        qos: c.qos.clone(),
        placed_by: c.placed_by,
        why: why(c),
    })
}

fn bytes(v: Option<impl Into<i128>>) -> String {
    v.map_or_else(|| "?".to_string(), |v| human_bytes(v.into()))
}

/// The comparator that placed the pod first, with its figures.
fn why(c: &Candidate) -> String {
    match c.placed_by {
        "missingStats" => "no memory stats (ranked first)".to_string(),
        "exceedsRequest" if c.request_bytes == Some(0) => {
            format!("uses {}, no memory request", bytes(c.working_set_bytes))
        }
        "exceedsRequest" => format!(
            "uses {}, {} over its {} request",
            bytes(c.working_set_bytes),
            bytes(c.over_request_bytes),
            bytes(c.request_bytes)
        ),
        "priority" => format!(
            "lowest priority ({})",
            c.priority.map_or_else(|| "?".to_string(), |p| p.to_string())
        ),
        "usageOverRequest" if c.request_bytes == Some(0) => {
            format!(
                "largest usage, no memory request (uses {})",
                bytes(c.working_set_bytes)
            )
        }
        "usageOverRequest" => format!(
            "largest usage over request ({} over its {} request)",
            bytes(c.over_request_bytes),
            bytes(c.request_bytes)
        ),
        "last" => format!("the only candidate, uses {}", bytes(c.working_set_bytes)),
        _ => format!("tied, first in list order, uses {}", bytes(c.working_set_bytes)),
    }
}

/// Risk order: nodes a memory threshold is met on, then the least headroom (% of capacity)
/// first; nodes without a memory observation, then the nodes that did not answer, last.
pub fn sort_by_risk(rows: &mut [NodeRow]) {
    fn key(r: &NodeRow) -> (u8, u8, f64) {
        let class = match (r.state, r.headroom_percent) {
            (State::Ok, Some(_)) => 0,
            (State::Ok, None) => 1,
            _ => 2,
        };
        let met = u8::from(r.memory_pressure_now != Some(true));
        (class, met, r.headroom_percent.unwrap_or(f64::INFINITY))
    }
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then_with(|| a.node.cmp(&b.node))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(node: &str, state: State, met: Option<bool>, pct: Option<f64>) -> NodeRow {
        let mut r = failed(node.into(), state, String::new(), None);
        r.memory_pressure_now = met;
        r.headroom_percent = pct;
        r
    }

    #[test]
    fn page_cache_share_is_the_non_anonymous_part_of_the_working_set() {
        use headroom_core::summary::MemoryStats;
        let mut s = Summary::default();
        assert_eq!(page_cache_share(&s), None);
        s.node.memory = Some(MemoryStats {
            working_set_bytes: Some(800),
            rss_bytes: Some(200),
            ..MemoryStats::default()
        });
        assert_eq!(page_cache_share(&s), Some(0.75));
        // rss above the working set (v1 kernel memory accounting off) is no negative share.
        s.node.memory.as_mut().unwrap().rss_bytes = Some(900);
        assert_eq!(page_cache_share(&s), Some(0.0));
        s.node.memory.as_mut().unwrap().working_set_bytes = Some(0);
        assert_eq!(page_cache_share(&s), None);
    }

    #[test]
    fn pressure_first_then_least_headroom_then_unknown_then_unreachable() {
        let mut rows = vec![
            row("down", State::Unreachable, None, None),
            row("roomy", State::Ok, Some(false), Some(40.0)),
            row("blind", State::Ok, Some(false), None),
            row("tight", State::Ok, Some(false), Some(2.5)),
            row("hot", State::Ok, Some(true), Some(-0.1)),
            row("junk", State::BadAnswer, None, None),
        ];
        sort_by_risk(&mut rows);
        let order: Vec<&str> = rows.iter().map(|r| r.node.as_str()).collect();
        assert_eq!(order, ["hot", "tight", "roomy", "blind", "down", "junk"]);
    }
}
