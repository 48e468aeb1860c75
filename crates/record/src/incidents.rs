//! Incidents in a recording: each eviction decided, each OOM kill the kernel counted, each
//! MemoryPressure episode, with the figures an operator asks for afterwards (signal, observed
//! value against the threshold, pod chosen, ranking, and how the working set was split in the
//! minutes before). Pure: works on passes and events already read.

use headroom_core::Timestamp;
use headroom_linux::memcg::MemoryBreakdown;
use serde::Serialize;

use crate::model::{Event, Pass};

/// How far back the working-set split of an incident reaches.
pub const SPLIT_WINDOW_SECONDS: i64 = 300;
/// At most this many points in a split (evenly thinned).
const SPLIT_POINTS: usize = 30;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// `eviction`, `oomKill` or `memoryPressure`.
    pub kind: &'static str,
    pub time: Timestamp,
    /// End of a MemoryPressure episode (`None`: still on at the end of the recording).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Available bytes of `signal` observed (an episode: the lowest seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<i64>,
    /// The threshold in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
    /// The pod evicted, or killed by the kernel (when the kill was in a pod's cgroup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranking: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The node's (or, for allocatable, the pods cgroup's) working set split, oldest first.
    pub working_set_before: Vec<SplitPoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitPoint {
    pub time: Timestamp,
    pub anon: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    pub working_set: u64,
}

/// The split at one pass: from the raw sample of the node (memory.available) or the pods
/// cgroup (allocatableMemory.available).
fn split(pass: &Pass, signal: Option<&str>) -> Option<SplitPoint> {
    let sample = match signal {
        Some("allocatableMemory.available") => pass.readings.pods_cgroup.as_ref().map(|c| &c.sample),
        _ => pass.readings.node.as_ref(),
    }?;
    let b = MemoryBreakdown::from_sample(sample);
    Some(SplitPoint {
        time: pass.time,
        anon: b.rss,
        active_file: b.active_file,
        inactive_file: b.inactive_file.unwrap_or(0),
        working_set: b.working_set,
    })
}

fn split_before(passes: &[Pass], at: Timestamp, signal: Option<&str>) -> Vec<SplitPoint> {
    let from = at.as_second() - SPLIT_WINDOW_SECONDS;
    let points: Vec<SplitPoint> = passes
        .iter()
        .filter(|p| p.time <= at && p.time.as_second() >= from)
        .filter_map(|p| split(p, signal))
        .collect();
    if points.len() <= SPLIT_POINTS {
        return points;
    }
    // Keep the last point (the incident's own pass) and thin the rest evenly.
    let step = points.len().div_ceil(SPLIT_POINTS);
    let last = points.len() - 1;
    points
        .into_iter()
        .enumerate()
        .filter(|(i, _)| (last - i) % step == 0)
        .map(|(_, p)| p)
        .collect()
}

/// Every incident, in time order.
pub fn find(passes: &[Pass], events: &[Event]) -> Vec<Incident> {
    let mut out = Vec::new();
    let mut episode: Option<Incident> = None;
    for (i, pass) in passes.iter().enumerate() {
        let d = &pass.decision;
        for e in &d.evictions {
            let threshold = d
                .thresholds_met
                .iter()
                .find(|t| t.signal == e.signal)
                .map(|t| t.threshold);
            out.push(Incident {
                kind: "eviction",
                time: pass.time,
                end: None,
                signal: Some(e.signal.clone()),
                observed: d.available(&e.signal),
                threshold,
                pod: Some(e.pod.clone()),
                cgroup: None,
                ranking: d.ranking.clone(),
                message: Some(e.message.trim_end().to_string()),
                working_set_before: split_before(&passes[..=i], pass.time, Some(&e.signal)),
            });
        }
        let pressure = d.conditions.iter().any(|c| c == "MemoryPressure");
        match (&mut episode, pressure) {
            (None, true) => {
                let met = d.thresholds_met.iter().find(|t| t.signal.contains("emory"));
                let signal = met.map(|t| t.signal.clone());
                episode = Some(Incident {
                    kind: "memoryPressure",
                    time: pass.time,
                    end: None,
                    observed: signal.as_deref().and_then(|s| d.available(s)),
                    threshold: met.map(|t| t.threshold),
                    working_set_before: split_before(&passes[..=i], pass.time, signal.as_deref()),
                    signal,
                    pod: None,
                    cgroup: None,
                    ranking: Vec::new(),
                    message: None,
                });
            }
            (Some(ep), true) => {
                if let Some(s) = &ep.signal
                    && let Some(a) = d.available(s)
                {
                    ep.observed = Some(ep.observed.map_or(a, |o| o.min(a)));
                }
            }
            (Some(_), false) => {
                if let Some(mut ep) = episode.take() {
                    ep.end = Some(pass.time);
                    out.push(ep);
                }
            }
            (None, false) => {}
        }
    }
    out.extend(episode);
    for e in events.iter().filter(|e| e.kind == "oom_kill") {
        let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let before = passes.iter().rposition(|p| p.time <= e.time);
        out.push(Incident {
            kind: "oomKill",
            time: e.time,
            end: None,
            signal: None,
            observed: before.and_then(|i| passes[i].decision.available("memory.available")),
            threshold: None,
            pod: text("pod"),
            cgroup: text("cgroup"),
            ranking: Vec::new(),
            message: None,
            working_set_before: before
                .map(|i| split_before(&passes[..=i], e.time, None))
                .unwrap_or_default(),
        });
    }
    out.sort_by_key(|i| i.time);
    out
}
