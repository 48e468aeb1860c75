//! Retention by age and size, enforced while recording; only whole chains are dropped.

use headroom_core::Timestamp;

use super::{Retention, Store, StoreError, db_err};

impl Store {
    /// Bytes the recording's live pages take (the database file shrinks to this after an
    /// incremental vacuum; the WAL is checkpointed back into it).
    pub fn live_bytes(&self) -> Result<u64, StoreError> {
        let q = |sql: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(db_err(&self.dir))
        };
        let pages = q("PRAGMA page_count")? - q("PRAGMA freelist_count")?;
        Ok(u64::try_from(pages.max(0) * q("PRAGMA page_size")?).unwrap_or(0))
    }

    /// Drop whole chains older than `max_age` before `now`, then the oldest chains while the
    /// live size is over `max_bytes`; give the pages back to the filesystem. Returns the
    /// passes dropped.
    pub fn enforce(&mut self, retention: Retention, now: Timestamp) -> Result<u64, StoreError> {
        let age_ns = i64::try_from(retention.max_age.as_nanos()).unwrap_or(i64::MAX);
        let cutoff = i64::try_from(now.as_nanosecond())
            .unwrap_or(i64::MAX)
            .saturating_sub(age_ns);
        let mut dropped = self.drop_chains_before(cutoff)?;
        // Size: drop the oldest chains, a tenth of them at a time, never the chains being
        // written.
        while self.live_bytes()? > retention.max_bytes {
            let live: Vec<i64> = self.chains.iter().flatten().map(|t| t.key_id).collect();
            let chains: i64 = self
                .conn
                .query_row("SELECT COUNT(DISTINCT key_id) FROM passes", [], |r| r.get(0))
                .map_err(db_err(&self.dir))?;
            let batch = (chains / 10).max(1);
            let oldest: Vec<i64> = {
                let mut stmt = self
                    .conn
                    .prepare("SELECT DISTINCT key_id FROM passes ORDER BY key_id LIMIT ?1")
                    .map_err(db_err(&self.dir))?;
                let rows = stmt.query_map([batch], |r| r.get(0)).map_err(db_err(&self.dir))?;
                rows.collect::<Result<_, _>>().map_err(db_err(&self.dir))?
            };
            let Some(&last) = oldest.iter().take_while(|k| !live.contains(k)).last() else {
                break;
            };
            let n = self
                .conn
                .execute("DELETE FROM passes WHERE key_id <= ?1", [last])
                .map_err(db_err(&self.dir))?;
            self.conn
                .execute(
                    "DELETE FROM events WHERE time_ns < (SELECT COALESCE(MIN(time_ns), 0) FROM passes)",
                    [],
                )
                .map_err(db_err(&self.dir))?;
            dropped += n as u64;
        }
        if dropped > 0 {
            self.conn
                .execute_batch(
                    "DELETE FROM pod_lists WHERE id NOT IN (SELECT DISTINCT pods_id FROM passes); \
                     DELETE FROM configs WHERE id NOT IN (SELECT DISTINCT config_id FROM passes) \
                       AND id <> (SELECT MAX(id) FROM configs); \
                     PRAGMA wal_checkpoint(TRUNCATE); PRAGMA incremental_vacuum;",
                )
                .map_err(db_err(&self.dir))?;
            self.pods_cache = None;
        }
        Ok(dropped)
    }

    /// Delete every chain whose rows are all before `cutoff_ns` (see the module docs: a chain
    /// is only ever dropped whole, so no kept row loses its base).
    fn drop_chains_before(&mut self, cutoff_ns: i64) -> Result<u64, StoreError> {
        let keep_from: Option<i64> = self
            .conn
            .query_row(
                "SELECT MIN(key_id) FROM passes WHERE time_ns >= ?1",
                [cutoff_ns],
                |r| r.get(0),
            )
            .map_err(db_err(&self.dir))?;
        // Never drop the chains being written; with nothing recent and nothing being
        // written, everything goes.
        let live = self.chains.iter().flatten().map(|t| t.key_id).min();
        let keep_from = match (keep_from, live) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => i64::MAX,
        };
        let n = self
            .conn
            .execute("DELETE FROM passes WHERE key_id < ?1", [keep_from])
            .map_err(db_err(&self.dir))?;
        self.conn
            .execute("DELETE FROM events WHERE time_ns < ?1", [cutoff_ns])
            .map_err(db_err(&self.dir))?;
        Ok(n as u64)
    }
}
