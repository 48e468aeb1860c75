//! Writing a pass: one transaction per pass, each stream stored whole or as its delta.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{
    ChainTip, KEY_EVERY, NewPass, Store, StoreError, Streams, db_err, fnv1a, unzip, zip, zip_tagged,
};
use crate::leaf_delta;
use crate::model::Event;
use headroom_core::pod::Pod;

/// A stream stored whole (JSON).
pub(super) const WHOLE: u8 = b'W';
/// A stream stored as its binary delta from the base pass's same stream.
pub(super) const DELTA: u8 = b'D';

/// One stream's blob: its delta from `base` when the shapes agree, else the whole value.
fn stream_blob(base: Option<&Value>, next: &Value) -> Vec<u8> {
    match base.and_then(|b| leaf_delta::diff(b, next)) {
        Some(d) => zip_tagged(Some(DELTA), &d),
        None => zip_tagged(Some(WHOLE), next.to_string().as_bytes()),
    }
}

impl Store {
    fn pods_id(&mut self, pods: &[Pod]) -> Result<i64, StoreError> {
        let json = serde_json::to_vec(pods).map_err(|e| StoreError::Io {
            dir: self.dir.clone(),
            detail: format!("cannot encode the pods: {e}"),
        })?;
        let hash = format!("{:016x}-{}", fnv1a(&json), json.len());
        if let Some((h, id)) = &self.pods_cache
            && *h == hash
        {
            return Ok(*id);
        }
        let existing: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT id, pods FROM pod_lists WHERE hash = ?1 ORDER BY id DESC LIMIT 1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err(&self.dir))?;
        // Same hash and the same bytes: the list is already there.
        let existing = existing
            .filter(|(_, blob)| unzip(blob).is_ok_and(|stored| stored == json))
            .map(|(id, _)| id);
        let id = match existing {
            Some(id) => id,
            None => {
                self.conn
                    .execute(
                        "INSERT INTO pod_lists(hash, pods) VALUES (?1, ?2)",
                        params![hash, zip(&json)],
                    )
                    .map_err(db_err(&self.dir))?;
                self.conn.last_insert_rowid()
            }
        };
        self.pods_cache = Some((hash, id));
        Ok(id)
    }

    /// Store one pass in one transaction; returns its id. When this returns, the pass is on
    /// disk (`synchronous = FULL`).
    pub fn append(&mut self, pass: NewPass<'_>) -> Result<i64, StoreError> {
        let chain = usize::from(pass.light);
        let decision = serde_json::to_value(pass.decision).map_err(|e| StoreError::Io {
            dir: self.dir.clone(),
            detail: format!("cannot encode the decision: {e}"),
        })?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(db_err(&self.dir))?;
        let result = self.append_in_tx(pass, chain, decision);
        match result {
            Ok((id, tip)) => {
                self.conn.execute_batch("COMMIT").map_err(db_err(&self.dir))?;
                if let Some(tip) = tip {
                    self.chains[chain] = Some(tip);
                }
                Ok(id)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.pods_cache = None;
                Err(e)
            }
        }
    }

    fn append_in_tx(
        &mut self,
        pass: NewPass<'_>,
        chain: usize,
        decision: Value,
    ) -> Result<(i64, Option<ChainTip>), StoreError> {
        let pods_id = self.pods_id(pass.pods)?;
        let mut samples = pass.readings.clone();
        let summary = samples
            .as_object_mut()
            .and_then(|m| m.remove("summary"))
            .unwrap_or(Value::Null);
        let next = Streams {
            decision,
            summary,
            samples,
        };
        let tip = self.chains[chain].as_ref().filter(|t| t.length < KEY_EVERY);
        let (base_id, key_id, length) = match tip {
            Some(t) => (Some(t.id), Some(t.key_id), t.length + 1),
            None => (None, None, 1),
        };
        let base = tip.map(|t| &t.streams);
        let blob = |b: Option<&Value>, n: &Value| stream_blob(b, n);
        let decision_blob = blob(base.map(|b| &b.decision), &next.decision);
        let summary_blob = blob(base.map(|b| &b.summary), &next.summary);
        let samples_blob = blob(base.map(|b| &b.samples), &next.samples);
        let time_ns = i64::try_from(pass.time.as_nanosecond()).unwrap_or(i64::MAX);
        let woken_by = if pass.woken_by.is_empty() {
            None
        } else {
            serde_json::to_string(pass.woken_by).ok()
        };
        self.conn
            .execute(
                "INSERT INTO passes(time_ns, trigger, light, key_id, base_id, pods_id, config_id, \
                 decision, summary, samples, woken_by) \
                 VALUES (?1, ?2, ?3, COALESCE(?4, 0), ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    time_ns,
                    pass.trigger,
                    pass.light,
                    key_id,
                    base_id,
                    pods_id,
                    self.config_id,
                    decision_blob,
                    summary_blob,
                    samples_blob,
                    woken_by
                ],
            )
            .map_err(db_err(&self.dir))?;
        let id = self.conn.last_insert_rowid();
        let key_id = match key_id {
            Some(k) => k,
            None => {
                self.conn
                    .execute("UPDATE passes SET key_id = ?1 WHERE id = ?1", [id])
                    .map_err(db_err(&self.dir))?;
                id
            }
        };
        Ok((
            id,
            Some(ChainTip {
                key_id,
                id,
                length,
                streams: next,
            }),
        ))
    }

    /// Store an event (its own transaction).
    pub fn add_event(&mut self, event: &Event) -> Result<(), StoreError> {
        let time_ns = i64::try_from(event.time.as_nanosecond()).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO events(time_ns, kind, detail) VALUES (?1, ?2, ?3)",
                params![time_ns, event.kind, event.detail.to_string()],
            )
            .map_err(db_err(&self.dir))?;
        Ok(())
    }
}
