//! Reading passes back: rows read in order, each chain decoded by one of a few decoding
//! threads (chains are independent), passes handed on in row order, one at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, mpsc};

use headroom_core::Timestamp;
use headroom_core::pod::Pod;
use headroom_core::summary::PodStats;
use rusqlite::{OptionalExtension, params};

use super::assemble::Assembler;
use super::decode::{Decoder, Row};
use super::{Store, StoreError, classify, db_err, unzip};
use crate::model::{Event, Pass};

/// Decoding threads at most: chains are independent, so each decoder takes whole chains.
const MAX_DECODERS: usize = 4;
/// Passes read ahead of the one handed on: more than a chain (60 passes), so that on a node
/// whose every pass is full (one chain after another) the next chain is decoded while this
/// one is handed on.
const IN_FLIGHT: usize = 2 * super::KEY_EVERY as usize + 8;

/// How a walk hands passes on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkOptions {
    pub samples: Samples,
    /// A light pass without pod figures is lent those of the last pass before it that had
    /// some (what `replay` ranks with), as they were read then; they are taken back after.
    pub fill_light: bool,
}

/// Which raw samples a walk decodes besides the Summary (`Readings`' other fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Samples {
    /// None: the Summary alone (several times cheaper).
    #[default]
    Skip,
    /// Meminfo, PSI, the root and the pods cgroups, not each pod's and container's (`pods`
    /// stays empty): what `incidents` and the plots read, a fraction of the work of all.
    NodeLevel,
    /// All of them.
    All,
}

fn ns(t: Option<Timestamp>, d: i64) -> i64 {
    t.map(|t| i64::try_from(t.as_nanosecond()).unwrap_or(d))
        .unwrap_or(d)
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
    /// the walk and is returned. Each pass is `f`'s to keep: its pods are copied for the next
    /// pass (cheaper: [`Store::lend_each_pass`]).
    pub fn for_each_pass(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        f: impl FnMut(Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.hand_each_pass(from, to, Samples::All, f)
    }

    /// [`Store::for_each_pass`] without the raw samples (`readings` holds only the Summary):
    /// several times cheaper to decode.
    pub fn for_each_summary(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        f: impl FnMut(Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.hand_each_pass(from, to, Samples::Skip, f)
    }

    /// The walk handing each pass over to keep, light passes as recorded.
    fn hand_each_pass(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        samples: Samples,
        mut f: impl FnMut(Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let how = WalkOptions {
            samples,
            fill_light: false,
        };
        self.walk(from, to, how, |pass| {
            let pods = pass.readings.summary.pods.clone();
            f(pass)?;
            Ok(pods)
        })
    }

    /// Lend every stored pass with `from <= time <= to` to `f`, decoded, in order, one at a
    /// time, as `how` says: what `replay` needs, nothing copied (the figures of a pod that did
    /// not move are moved on to the next pass once `f` is done with this one). An error from
    /// `f` stops the walk and is returned.
    pub fn lend_each_pass(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        how: WalkOptions,
        mut f: impl FnMut(&Pass) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.walk(from, to, how, |mut pass| {
            f(&pass)?;
            Ok(std::mem::take(&mut pass.readings.summary.pods))
        })
    }

    /// The walk: `hand` gets each pass and gives its Summary's pods back (the next pass of
    /// its chain is completed from them).
    fn walk(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        how: WalkOptions,
        mut hand: impl FnMut(Pass) -> Result<Vec<PodStats>, StoreError>,
    ) -> Result<(), StoreError> {
        let samples = how.samples;
        let with_samples = samples != Samples::Skip;
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
            if with_samples { ", samples" } else { "" }
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db_err(&self.dir))?;
        let mut rows = stmt.query(params![start, to_ns]).map_err(db_err(&self.dir))?;
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_DECODERS);
        let dir = self.dir.as_path();
        let marks_seconds = self.marks_seconds();
        std::thread::scope(|scope| {
            let mut decoders = Vec::with_capacity(workers);
            for _ in 0..workers {
                let (rows_tx, rows_rx) = mpsc::channel::<Row>();
                let (done_tx, done_rx) = mpsc::channel();
                scope.spawn(move || {
                    let mut d = Decoder::new(dir, samples, marks_seconds);
                    for row in rows_rx {
                        let failed = {
                            let out = d.decode(row);
                            let failed = out.is_err();
                            // The walk has stopped when no one listens: so do we.
                            done_tx.send(out).is_err() || failed
                        };
                        if failed {
                            break;
                        }
                    }
                });
                decoders.push((rows_tx, done_rx));
            }
            // Which decoder holds each row in flight, in row order: passes are handed to `f`
            // in that order whatever decoder finishes first.
            let mut in_flight: VecDeque<usize> = VecDeque::new();
            let mut assembler = Assembler::default();
            // Hands passes on, oldest first, until at most `keep` rows are in flight.
            let mut deliver = |in_flight: &mut VecDeque<usize>, keep: usize| -> Result<(), StoreError> {
                while in_flight.len() > keep {
                    let Some(w) = in_flight.pop_front() else {
                        break;
                    };
                    match decoders[w].1.recv() {
                        Ok(Ok(Some(decoded))) => {
                            let key_id = decoded.key_id;
                            let mut pass = assembler.complete(decoded).map_err(&damaged)?;
                            let lent = how.fill_light && assembler.lend(&mut pass);
                            let id = pass.id;
                            let pods = hand(pass)?;
                            assembler.keep(key_id, id, pods, lent);
                        }
                        Ok(Ok(None)) => {}
                        Ok(Err(e)) => return Err(e),
                        Err(_) => return Err(damaged("a decoding thread stopped".into())),
                    }
                }
                Ok(())
            };
            // Each chain goes to one decoder, chains in turn.
            let mut owner: HashMap<i64, usize> = HashMap::new();
            let mut next_decoder = 0;
            let mut pods_lists: HashMap<i64, Arc<Vec<Pod>>> = HashMap::new();
            loop {
                let read = self.next_row(&mut rows, with_samples, from_ns, &mut pods_lists);
                let row = match read {
                    Ok(Some(row)) => row,
                    Ok(None) => break,
                    Err(e) => {
                        // What was read before the failing row is handed on first.
                        deliver(&mut in_flight, 0)?;
                        return Err(e);
                    }
                };
                let w = match row.base_id {
                    None => {
                        let w = next_decoder;
                        next_decoder = (next_decoder + 1) % workers;
                        owner.insert(row.key_id, w);
                        w
                    }
                    Some(_) => match owner.get(&row.key_id) {
                        Some(&w) => w,
                        // A chain that started before the range's first key pass: skip.
                        None => continue,
                    },
                };
                if decoders[w].0.send(row).is_err() {
                    // Its decoder stopped on an error: the error is waiting in order.
                    deliver(&mut in_flight, 0)?;
                    return Err(damaged("a decoding thread stopped".into()));
                }
                in_flight.push_back(w);
                deliver(&mut in_flight, IN_FLIGHT - 1)?;
            }
            deliver(&mut in_flight, 0)?;
            Ok(())
        })
    }

    /// The next row of the walk, its blobs copied out and its pod list loaded (once per list)
    /// when it is in the range.
    fn next_row(
        &self,
        rows: &mut rusqlite::Rows<'_>,
        samples: bool,
        from_ns: i64,
        pods_lists: &mut HashMap<i64, Arc<Vec<Pod>>>,
    ) -> Result<Option<Row>, StoreError> {
        let Some(row) = rows.next().map_err(db_err(&self.dir))? else {
            return Ok(None);
        };
        let get = |e: rusqlite::Error| classify(&self.dir, e);
        let damaged = |detail: String| StoreError::Damaged {
            dir: self.dir.clone(),
            detail,
        };
        let id: i64 = row.get(0).map_err(get)?;
        let time_ns: i64 = row.get(1).map_err(get)?;
        let blob = |i: usize, name: &str| -> Result<Vec<u8>, StoreError> {
            row.get_ref(i)
                .map_err(get)?
                .as_blob()
                .map(<[u8]>::to_vec)
                .map_err(|e| damaged(format!("pass {id}: {name}: {e}")))
        };
        let pods = if time_ns < from_ns {
            None
        } else {
            let pods_id: i64 = row.get(6).map_err(get)?;
            if let std::collections::hash_map::Entry::Vacant(slot) = pods_lists.entry(pods_id) {
                let pods = self.load_pods(pods_id).map_err(|e| match e {
                    StoreError::Damaged { detail, .. } => damaged(format!("pass {id}: {detail}")),
                    other => other,
                })?;
                slot.insert(Arc::new(pods));
            }
            pods_lists.get(&pods_id).cloned()
        };
        Ok(Some(Row {
            id,
            time_ns,
            trigger: row.get(2).map_err(get)?,
            light: row.get(3).map_err(get)?,
            key_id: row.get(4).map_err(get)?,
            base_id: row.get(5).map_err(get)?,
            config_id: row.get(7).map_err(get)?,
            woken_by: row.get(8).map_err(get)?,
            decision: blob(9, "decision")?,
            summary: blob(10, "summary")?,
            samples: if samples { Some(blob(11, "samples")?) } else { None },
            pods,
        }))
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
