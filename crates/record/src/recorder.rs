//! The writing side: one call per pass (the agent's or `headroom record`'s), which stores the
//! readings, the active pods and the decision, notes kernel events seen in the readings (OOM
//! kill counters that moved, MemoryPressure and other condition changes), and keeps the
//! recording within its retention limits.

use std::collections::BTreeMap;
use std::path::Path;

use headroom_core::Timestamp;
use headroom_core::config::EvictionConfig;
use headroom_core::manager::Decision;
use headroom_core::pod::Pod;
use headroom_core::threshold::threshold_quantity;
use headroom_linux::collect::NodeSnapshot;
use headroom_linux::memcg::MemoryBreakdown;
use serde_json::json;

use crate::model::{DecisionRecord, Event, Readings};
use crate::store::{NewPass, RecordingMeta, Retention, Store, StoreError};

/// Retention is checked every this many passes (and when the recorder opens).
const ENFORCE_EVERY: u32 = 30;

/// What one pass hands the recorder.
pub struct PassInput<'a> {
    pub snapshot: &'a NodeSnapshot,
    pub pods: &'a [Pod],
    pub decision: &'a Decision,
    pub config: &'a EvictionConfig,
    pub trigger: &'a str,
    /// The watches whose notifications woke the pass (empty when none did).
    pub woken_by: &'a [crate::model::Wake],
    pub light: bool,
    pub now: Timestamp,
}

pub struct Recorder {
    store: Store,
    retention: Retention,
    since_enforce: u32,
    /// Last `oom_kill` counter of each cgroup seen (`node`, `pods`, `pod <uid>`, ...).
    oom_kills: BTreeMap<String, u64>,
    conditions: Option<Vec<String>>,
    near: bool,
}

impl Recorder {
    /// Create or resume the recording in `dir`.
    pub fn open(dir: &Path, meta: &RecordingMeta, retention: Retention) -> Result<Recorder, StoreError> {
        let mut store = Store::open_for_writing(dir, meta)?;
        let now = Timestamp::now();
        store.enforce(retention, now)?;
        store.add_event(&Event {
            time: now,
            kind: "start".into(),
            detail: json!({"source": meta.source, "action": meta.action, "configOrigin": meta.config_origin}),
        })?;
        Ok(Recorder {
            store,
            retention,
            since_enforce: 0,
            oom_kills: BTreeMap::new(),
            conditions: None,
            near: false,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A memory threshold was within reach at the last pass: the caller should sample every
    /// second rather than every period, so the seconds before an incident are recorded.
    pub fn near_threshold(&self) -> bool {
        self.near
    }

    /// Store one pass; returns its id once it is committed to disk.
    pub fn record(&mut self, p: PassInput<'_>) -> Result<i64, StoreError> {
        let readings = Readings::from_snapshot(p.snapshot);
        let mut value = serde_json::to_value(&readings).map_err(|e| StoreError::Io {
            dir: self.store.dir().to_path_buf(),
            detail: format!("cannot encode the readings: {e}"),
        })?;
        let texts = crate::pass_time::PassTexts::new(p.now, self.store.marks_seconds());
        crate::pass_time::mark(&mut value, &texts);
        let decision = DecisionRecord::from_decision(p.decision, p.pods);
        let id = self.store.append(NewPass {
            time: p.now,
            trigger: p.trigger,
            woken_by: p.woken_by,
            light: p.light,
            readings: &value,
            pods: p.pods,
            decision: &decision,
        })?;
        for event in self.events(p.snapshot, &decision, p.now) {
            self.store.add_event(&event)?;
        }
        self.near = near_threshold(p.config, p.decision);
        self.since_enforce += 1;
        if self.since_enforce >= ENFORCE_EVERY {
            self.since_enforce = 0;
            self.store.enforce(self.retention, p.now)?;
        }
        Ok(id)
    }

    /// Store what an action on a pod did (`ok`, `refused: ...`, `error: ...`).
    pub fn record_action(
        &mut self,
        now: Timestamp,
        action: &str,
        pod: &str,
        result: &str,
    ) -> Result<(), StoreError> {
        self.store.add_event(&Event {
            time: now,
            kind: "action".into(),
            detail: json!({"action": action, "pod": pod, "result": result}),
        })
    }

    /// OOM kill counters that moved since the last pass, and condition changes.
    fn events(&mut self, s: &NodeSnapshot, decision: &DecisionRecord, now: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        let mut seen = |key: String, pod: Option<&str>, b: &MemoryBreakdown| {
            let Some(count) = b.oom_kill else { return };
            let before = self.oom_kills.insert(key.clone(), count);
            if let Some(before) = before
                && count > before
            {
                out.push(Event {
                    time: now,
                    kind: "oom_kill".into(),
                    detail: json!({"cgroup": key, "pod": pod, "kills": count - before}),
                });
            }
        };
        if let Some(n) = &s.node {
            seen("node".into(), None, n);
        }
        if let Some(p) = &s.pods_cgroup {
            seen(p.cgroup.clone(), None, &p.memory);
        }
        for pod in &s.pods {
            let name = s
                .summary
                .pods
                .iter()
                .find(|ps| ps.pod_ref.uid == pod.uid)
                .map(|ps| format!("{}/{}", ps.pod_ref.namespace, ps.pod_ref.name));
            let name = name.as_deref().unwrap_or(pod.uid.as_str());
            seen(format!("pod {}", pod.uid), Some(name), &pod.memory);
            for c in &pod.containers {
                seen(format!("pod {}/{}", pod.uid, c.id), Some(name), &c.memory);
            }
        }
        let conditions = decision.conditions.clone();
        if let Some(before) = &self.conditions
            && *before != conditions
        {
            out.push(Event {
                time: now,
                kind: "condition".into(),
                detail: json!({"from": before, "to": conditions}),
            });
        }
        self.conditions = Some(conditions);
        out
    }
}

/// Some memory threshold's gap (available - threshold) is under the larger of the threshold
/// itself and a tenth of the capacity.
fn near_threshold(config: &EvictionConfig, d: &Decision) -> bool {
    config
        .thresholds
        .iter()
        .filter(|t| t.signal.is_memory())
        .any(|t| {
            d.observations.get(t.signal).is_some_and(|o| {
                let q = threshold_quantity(&t.value, &o.capacity).value();
                let reach = q.max(o.capacity.value() / 10);
                o.available.value() - q < reach
            })
        })
}
