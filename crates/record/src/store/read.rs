//! Reading passes back: chains decoded in order, one pass at a time.

use std::collections::HashMap;
use std::sync::Arc;

use headroom_core::Timestamp;
use headroom_core::pod::Pod;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use super::chain::Tip;
use super::{Inflater, Store, StoreError, classify, db_err, unzip};
use crate::model::{DecisionRecord, Event, Pass, Readings};
use crate::pass_time::PassTexts;

fn ns(t: Option<Timestamp>, d: i64) -> i64 {
    t.map(|t| i64::try_from(t.as_nanosecond()).unwrap_or(d))
        .unwrap_or(d)
}

/// The typed readings of a pass (the Summary alone without `samples`), read from the marked
/// trees with the pass time in place of the mark (the trees stay marked: they are the next
/// pass's base).
fn readings(tip: &mut Tip, samples: bool, texts: &PassTexts) -> Result<Readings, serde_json::Error> {
    let summary = tip.typed_summary(texts)?;
    let mut readings: Readings = if samples {
        crate::pass_time::from_marked(&tip.samples.tree, texts)?
    } else {
        Readings::default()
    };
    readings.summary = summary;
    Ok(readings)
}

impl Store {
    /// Number of passes stored.
    pub fn pass_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM passes", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(db_err(&self.dir))
    }

    /// Every stored pass with `from <= time <= to`, decoded, in order (all in memory: for a
    /// long range use [`Store::for_each_pass`]).
    pub fn passes(&self, from: Option<Timestamp>, to: Option<Timestamp>) -> Result<Vec<Pass>, StoreError> {
        let mut out = Vec::new();
        self.for_each_pass(from, to, |p| {
            out.push(p);
            Ok(())
        })?;
        Ok(out)
    }

    /// Hand every stored pass with `from <= time <= to` to `f`, decoded, in order, one at a
    /// time (a day of a 110-pod node does not fit in memory decoded). An error from `f` stops
    /// the walk and is returned.
    pub fn for_each_pass(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        f: impl FnMut(Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.walk(from, to, true, f)
    }

    /// [`Store::for_each_pass`] without the raw samples (`readings` holds only the Summary):
    /// what `replay` needs, several times cheaper to decode.
    pub fn for_each_summary(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        f: impl FnMut(Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.walk(from, to, false, f)
    }

    fn walk(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        samples: bool,
        mut f: impl FnMut(Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let (from_ns, to_ns) = (ns(from, i64::MIN), ns(to, i64::MAX));
        let damaged = |detail: String| StoreError::Damaged {
            dir: self.dir.clone(),
            detail,
        };
        // Decoding starts at the key pass of the first chain that reaches into the range.
        let start: Option<i64> = self
            .conn
            .query_row(
                "SELECT MIN(key_id) FROM passes WHERE time_ns >= ?1 AND time_ns <= ?2",
                params![from_ns, to_ns],
                |r| r.get(0),
            )
            .map_err(db_err(&self.dir))?;
        let Some(start) = start else {
            return Ok(());
        };
        // The samples column is left out of the query when not wanted: SQLite then does not
        // read its pages at all.
        let sql = format!(
            "SELECT id, time_ns, trigger, light, key_id, base_id, pods_id, config_id, {}, decision, \
             summary{} FROM passes WHERE id >= ?1 AND time_ns <= ?2 ORDER BY id",
            if self.woken_by_column { "woken_by" } else { "NULL" },
            if samples { ", samples" } else { "" }
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db_err(&self.dir))?;
        let mut rows = stmt.query(params![start, to_ns]).map_err(db_err(&self.dir))?;
        let mut tips: HashMap<i64, Tip> = HashMap::new();
        let mut pods_lists: HashMap<i64, Arc<Vec<Pod>>> = HashMap::new();
        let mut inflater = Inflater::default();
        while let Some(row) = rows.next().map_err(db_err(&self.dir))? {
            let get = |e: rusqlite::Error| classify(&self.dir, e);
            let id: i64 = row.get(0).map_err(get)?;
            let time_ns: i64 = row.get(1).map_err(get)?;
            let key_id: i64 = row.get(4).map_err(get)?;
            let base_id: Option<i64> = row.get(5).map_err(get)?;
            let mut tip = match base_id {
                None => Tip::default(),
                Some(base) => {
                    let Some(tip) = tips.remove(&key_id) else {
                        // A chain that started before the range's first key pass: skip.
                        continue;
                    };
                    if tip.id != base {
                        return Err(damaged(format!("pass {id}: its base pass {base} is missing")));
                    }
                    tip
                }
            };
            tip.id = id;
            let has_base = base_id.is_some();
            let blob = |i: usize, name: &str| -> Result<&[u8], StoreError> {
                row.get_ref(i)
                    .map_err(get)?
                    .as_blob()
                    .map_err(|e| damaged(format!("pass {id}: {name}: {e}")))
            };
            let stream_err = |name: &'static str| move |e: String| damaged(format!("pass {id}: {name}: {e}"));
            tip.decision(blob(9, "decision")?, has_base, &mut inflater)
                .map_err(stream_err("decision"))?;
            tip.summary(blob(10, "summary")?, has_base, &mut inflater)
                .map_err(stream_err("summary"))?;
            if samples {
                tip.samples(blob(11, "samples")?, has_base, &mut inflater)
                    .map_err(stream_err("samples"))?;
            }
            if time_ns < from_ns {
                tips.insert(key_id, tip);
                continue;
            }
            let pods_id: i64 = row.get(6).map_err(get)?;
            if let std::collections::hash_map::Entry::Vacant(slot) = pods_lists.entry(pods_id) {
                let pods = self.load_pods(pods_id).map_err(|e| match e {
                    StoreError::Damaged { detail, .. } => damaged(format!("pass {id}: {detail}")),
                    other => other,
                })?;
                slot.insert(Arc::new(pods));
            }
            let decision = DecisionRecord::deserialize(&tip.decision.tree)
                .map_err(|e| damaged(format!("pass {id}: decision: {e}")))?;
            let time = Timestamp::from_nanosecond(i128::from(time_ns))
                .map_err(|e| damaged(format!("pass {id}: time {time_ns}: {e}")))?;
            // The pass time as text once per pass: every marked time of the pass reads as it.
            let texts = PassTexts::new(time, self.marks_seconds());
            let readings = readings(&mut tip, samples, &texts)
                .map_err(|e| damaged(format!("pass {id}: readings: {e}")))?;
            let woken_by: Option<String> = row.get(8).map_err(get)?;
            let woken_by = match woken_by {
                None => Vec::new(),
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| damaged(format!("pass {id}: woken_by {text:?}: {e}")))?,
            };
            tips.insert(key_id, tip);
            f(Pass {
                id,
                time,
                trigger: row.get(2).map_err(get)?,
                woken_by,
                light: row.get(3).map_err(get)?,
                config_id: row.get(7).map_err(get)?,
                readings,
                pods: pods_lists.get(&pods_id).cloned().unwrap_or_default(),
                decision,
            })?;
        }
        Ok(())
    }

    fn load_pods(&self, id: i64) -> Result<Vec<Pod>, StoreError> {
        let damaged = |detail: String| StoreError::Damaged {
            dir: self.dir.clone(),
            detail,
        };
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT pods FROM pod_lists WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(db_err(&self.dir))?;
        let blob = blob.ok_or_else(|| damaged(format!("pod list {id} is missing")))?;
        let json = unzip(&blob).map_err(|e| damaged(format!("pod list {id} does not decompress: {e}")))?;
        serde_json::from_slice(&json).map_err(|e| damaged(format!("pod list {id}: {e}")))
    }

    /// Every event with `from <= time <= to`, in order.
    pub fn events(&self, from: Option<Timestamp>, to: Option<Timestamp>) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT time_ns, kind, detail FROM events WHERE time_ns >= ?1 AND time_ns <= ?2 ORDER BY id",
            )
            .map_err(db_err(&self.dir))?;
        let rows = stmt
            .query_map(params![ns(from, i64::MIN), ns(to, i64::MAX)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db_err(&self.dir))?;
        let mut out = Vec::new();
        for row in rows {
            let (t, kind, detail) = row.map_err(db_err(&self.dir))?;
            let damaged = |detail: String| StoreError::Damaged {
                dir: self.dir.clone(),
                detail,
            };
            out.push(Event {
                time: Timestamp::from_nanosecond(i128::from(t))
                    .map_err(|e| damaged(format!("event time {t}: {e}")))?,
                kind,
                detail: serde_json::from_str(&detail).map_err(|e| damaged(format!("event detail: {e}")))?,
            });
        }
        Ok(out)
    }
}
