//! Incidents in a recording: each eviction decided, each OOM kill the kernel counted, each
//! MemoryPressure episode, with the figures an operator asks for afterwards (signal, observed
//! value against the threshold, pod chosen, ranking, and how the working set was split in the
//! minutes before). Pure: works on passes and events already read.

use headroom_core::Timestamp;
use headroom_linux::memcg::MemoryBreakdown;
use serde::Serialize;

use crate::model::{DecisionRecord, Event, Pass, Wake};

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
    /// The watches whose notifications woke the pass that saw it (an eviction, the start of
    /// a MemoryPressure episode); empty for a periodic pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub woken_by: Vec<Wake>,
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
fn split(pass: &Pass, pods_cgroup: bool) -> Option<SplitPoint> {
    let sample = if pods_cgroup {
        pass.readings.pods_cgroup.as_ref().map(|c| &c.sample)
    } else {
        pass.readings.node.as_ref()
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

/// What the window keeps of one pass.
struct Recent {
    time: Timestamp,
    node: Option<SplitPoint>,
    pods: Option<SplitPoint>,
    memory_available: Option<i64>,
}

/// Finds incidents in passes handed over one at a time, in order (a day of passes is not
/// held in memory: only the split points of the last [`SPLIT_WINDOW_SECONDS`]).
pub struct Finder {
    window: std::collections::VecDeque<Recent>,
    /// OOM kill events not yet placed (time order).
    ooms: std::collections::VecDeque<Event>,
    episode: Option<Incident>,
    out: Vec<Incident>,
}

impl Finder {
    /// `events`: the recording's events over the same range (only OOM kills are used).
    pub fn new(events: Vec<Event>) -> Finder {
        let mut ooms: Vec<Event> = events.into_iter().filter(|e| e.kind == "oom_kill").collect();
        ooms.sort_by_key(|e| e.time);
        Finder {
            window: Default::default(),
            ooms: ooms.into(),
            episode: None,
            out: Vec::new(),
        }
    }

    /// The split over the window, oldest first, evenly thinned to [`SPLIT_POINTS`] keeping
    /// the latest point.
    fn split_before(&self, at: Timestamp, signal: Option<&str>) -> Vec<SplitPoint> {
        let pods = signal == Some("allocatableMemory.available");
        let from = at.as_second() - SPLIT_WINDOW_SECONDS;
        let points: Vec<SplitPoint> = self
            .window
            .iter()
            .filter(|r| r.time <= at && r.time.as_second() >= from)
            .filter_map(|r| if pods { r.pods.clone() } else { r.node.clone() })
            .collect();
        if points.len() <= SPLIT_POINTS {
            return points;
        }
        let step = points.len().div_ceil(SPLIT_POINTS);
        let last = points.len() - 1;
        points
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (last - i).is_multiple_of(step))
            .map(|(_, p)| p)
            .collect()
    }

    /// OOM kills up to (excluding) `before`, placed against the passes seen so far.
    fn place_ooms(&mut self, before: Option<Timestamp>) {
        while let Some(e) = self.ooms.front() {
            if before.is_some_and(|b| e.time >= b) {
                break;
            }
            let Some(e) = self.ooms.pop_front() else { break };
            let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).map(str::to_string);
            self.out.push(Incident {
                kind: "oomKill",
                time: e.time,
                end: None,
                signal: None,
                observed: self.window.back().and_then(|r| r.memory_available),
                threshold: None,
                pod: text("pod"),
                cgroup: text("cgroup"),
                ranking: Vec::new(),
                message: None,
                woken_by: Vec::new(),
                working_set_before: self.split_before(e.time, None),
            });
        }
    }

    pub fn push(&mut self, pass: &Pass) {
        self.push_decided(pass, &pass.decision);
    }

    /// [`Finder::push`] with another decision than the pass's own (`replay`'s).
    pub fn push_decided(&mut self, pass: &Pass, d: &DecisionRecord) {
        self.place_ooms(Some(pass.time));
        self.window.push_back(Recent {
            time: pass.time,
            node: split(pass, false),
            pods: split(pass, true),
            memory_available: d.available("memory.available"),
        });
        while self
            .window
            .front()
            .is_some_and(|r| r.time.as_second() < pass.time.as_second() - SPLIT_WINDOW_SECONDS)
        {
            self.window.pop_front();
        }
        for e in &d.evictions {
            let threshold = d
                .thresholds_met
                .iter()
                .find(|t| t.signal == e.signal)
                .map(|t| t.threshold);
            self.out.push(Incident {
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
                woken_by: pass.woken_by.clone(),
                working_set_before: self.split_before(pass.time, Some(&e.signal)),
            });
        }
        let pressure = d.conditions.iter().any(|c| c == "MemoryPressure");
        match (self.episode.as_mut(), pressure) {
            (None, true) => {
                let met = d.thresholds_met.iter().find(|t| t.signal.contains("emory"));
                let signal = met.map(|t| t.signal.clone());
                self.episode = Some(Incident {
                    kind: "memoryPressure",
                    time: pass.time,
                    end: None,
                    observed: signal.as_deref().and_then(|s| d.available(s)),
                    threshold: met.map(|t| t.threshold),
                    working_set_before: self.split_before(pass.time, signal.as_deref()),
                    signal,
                    pod: None,
                    cgroup: None,
                    ranking: Vec::new(),
                    message: None,
                    woken_by: pass.woken_by.clone(),
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
                if let Some(mut ep) = self.episode.take() {
                    ep.end = Some(pass.time);
                    self.out.push(ep);
                }
            }
            (None, false) => {}
        }
    }

    /// Every incident, in time order (an episode still on at the end has no `end`).
    pub fn finish(mut self) -> Vec<Incident> {
        self.place_ooms(None);
        self.out.extend(self.episode.take());
        self.out.sort_by_key(|i| i.time);
        self.out
    }
}

/// Every incident in `passes` (in order) and `events`.
pub fn find(passes: &[Pass], events: &[Event]) -> Vec<Incident> {
    let mut f = Finder::new(events.to_vec());
    for p in passes {
        f.push(p);
    }
    f.finish()
}
