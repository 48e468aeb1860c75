//! The recording on disk: one SQLite database (`recording.sqlite`) in WAL mode in the
//! recording directory.
//!
//! Why SQLite: each pass is one transaction, so a SIGKILL or a power cut leaves either the
//! whole pass or none of it (a torn WAL tail fails its checksums and is discarded by SQLite
//! itself, never read as data); retention is a `DELETE` plus an incremental vacuum, done while
//! recording; readers (`replay`, `incidents`) get indexed time ranges for free. Each pass's
//! readings are a zlib stream (whose Adler-32 catches a damaged blob) of the JSON delta from
//! the previous pass of the same kind (full or light), with a whole pass (a "key" pass) every
//! [`KEY_EVERY`] passes and after every restart, so a chain never spans a crash.
//!
//! Schema version [`SCHEMA_VERSION`] lives in the `meta` table; a recording of another version
//! is refused with a message saying which headroom reads it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use headroom_core::Timestamp;
use headroom_core::pod::Pod;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Deserialize;
use serde_json::Value;

use crate::delta;
use crate::model::{DecisionRecord, Event, Pass, Readings};

/// The file inside a recording directory.
pub const DB_FILE: &str = "recording.sqlite";
/// Bumped on any change a reader of the previous version would misread.
pub const SCHEMA_VERSION: i64 = 1;
/// What `meta.format` says, so another SQLite file is not taken for a recording.
const FORMAT: &str = "headroom-recording";
/// A whole pass every this many passes of a chain (bounds the cost of a damaged row).
pub const KEY_EVERY: u32 = 60;

/// Why a recording cannot be opened or read. Every message names the recording.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: not a headroom recording: {why}", .dir.display())]
    NotARecording { dir: PathBuf, why: String },
    #[error(
        "{}: written with recording schema {found}; this headroom reads schema {SCHEMA_VERSION} only \
         ({advice})",
        .dir.display()
    )]
    Version {
        dir: PathBuf,
        found: i64,
        advice: &'static str,
    },
    #[error("{}: the recording is damaged ({detail}); copy it aside and start a new one", .dir.display())]
    Damaged { dir: PathBuf, detail: String },
    #[error("{}: {detail}", .dir.display())]
    Io { dir: PathBuf, detail: String },
}

/// The recording's own description, written when it is created (and updated on resume).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordingMeta {
    /// `agent` or `record`.
    pub source: String,
    /// The KubeletConfiguration text the decisions were made with (empty: kubelet defaults).
    pub config: String,
    pub config_origin: String,
    pub pod_cgroup_root: String,
    /// The agent's `--action` (`none` for `headroom record`).
    pub action: String,
    pub node: String,
}

/// One pass to store (already encoded by the recorder).
pub struct NewPass<'a> {
    pub time: Timestamp,
    pub trigger: &'a str,
    pub light: bool,
    pub readings: &'a Value,
    pub pods: &'a [Pod],
    pub decision: &'a DecisionRecord,
}

/// Limits enforced while recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub max_bytes: u64,
    pub max_age: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_bytes: 64 << 20,
            max_age: std::time::Duration::from_secs(24 * 3600),
        }
    }
}

pub struct Store {
    dir: PathBuf,
    conn: Connection,
    /// Per chain (0 = full, 1 = light): the last stored row and its readings.
    chains: [Option<ChainTip>; 2],
    pods_cache: Option<(String, i64)>,
}

struct ChainTip {
    key_id: i64,
    id: i64,
    length: u32,
    readings: Value,
}

fn db_err(dir: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| classify(dir, e)
}

/// SQLite's "not a database" and "malformed" are a damaged file; everything else is I/O.
fn classify(dir: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e.sqlite_error_code() {
        Some(DatabaseCorrupt) | Some(NotADatabase) => StoreError::Damaged {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        },
        _ => StoreError::Io {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        },
    }
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pod_lists (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, pods BLOB NOT NULL);
CREATE INDEX pod_lists_hash ON pod_lists(hash);
CREATE TABLE passes (
    id INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    light INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    base_id INTEGER,
    readings BLOB NOT NULL,
    pods_id INTEGER NOT NULL,
    decision TEXT NOT NULL
);
CREATE INDEX passes_time ON passes(time_ns);
CREATE TABLE events (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX events_time ON events(time_ns);
";

fn zip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing to a Vec cannot fail.
    let _ = z.write_all(bytes);
    z.finish().unwrap_or_default()
}

fn unzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

impl Store {
    /// Open `dir` for recording: create it (and the database) when absent, resume it when it
    /// is a recording of this schema, refuse anything else.
    pub fn open_for_writing(dir: &Path, meta: &RecordingMeta) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            dir: dir.to_path_buf(),
            detail: format!("cannot create the recording directory: {e}"),
        })?;
        let path = dir.join(DB_FILE);
        if !path.exists() {
            create(dir)?;
        }
        let conn = Connection::open(&path).map_err(db_err(dir))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(db_err(dir))?;
        check_meta(dir, &conn)?;
        let mut store = Store {
            dir: dir.to_path_buf(),
            conn,
            chains: [None, None],
            pods_cache: None,
        };
        store.write_meta(meta)?;
        Ok(store)
    }

    /// Open an existing recording read-only, checking it is one and is whole.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !dir.is_dir() {
            return Err(StoreError::NotARecording {
                dir: dir.to_path_buf(),
                why: "no such directory".into(),
            });
        }
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::NotARecording {
                dir: dir.to_path_buf(),
                why: format!(
                    "no {DB_FILE} in it (record one with `headroom record DIR` or `headroom agent --record DIR`)"
                ),
            });
        }
        // Read-write open so SQLite can replay a WAL left by a killed writer; nothing is
        // written by this process.
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .or_else(|_| Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY))
        .map_err(db_err(dir))?;
        check_meta(dir, &conn)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(db_err(dir))?;
        if check != "ok" {
            return Err(StoreError::Damaged {
                dir: dir.to_path_buf(),
                detail: format!("SQLite quick_check: {check}"),
            });
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            conn,
            chains: [None, None],
            pods_cache: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write_meta(&mut self, meta: &RecordingMeta) -> Result<(), StoreError> {
        let pairs = [
            ("source", &meta.source),
            ("config", &meta.config),
            ("config_origin", &meta.config_origin),
            ("pod_cgroup_root", &meta.pod_cgroup_root),
            ("action", &meta.action),
            ("node", &meta.node),
        ];
        let tx = self.conn.transaction().map_err(db_err(&self.dir))?;
        for (k, v) in pairs {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )
            .map_err(db_err(&self.dir))?;
        }
        tx.commit().map_err(db_err(&self.dir))
    }

    /// The recording's description (the latest writer's).
    pub fn meta(&self) -> Result<RecordingMeta, StoreError> {
        let get = |k: &str| -> Result<String, StoreError> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map(Option::unwrap_or_default)
                .map_err(db_err(&self.dir))
        };
        Ok(RecordingMeta {
            source: get("source")?,
            config: get("config")?,
            config_origin: get("config_origin")?,
            pod_cgroup_root: get("pod_cgroup_root")?,
            action: get("action")?,
            node: get("node")?,
        })
    }

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
        let decision = serde_json::to_string(pass.decision).map_err(|e| StoreError::Io {
            dir: self.dir.clone(),
            detail: format!("cannot encode the decision: {e}"),
        })?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(db_err(&self.dir))?;
        let result = self.append_in_tx(pass, chain, &decision);
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
        decision: &str,
    ) -> Result<(i64, Option<ChainTip>), StoreError> {
        let pods_id = self.pods_id(pass.pods)?;
        let tip = self.chains[chain].as_ref().filter(|t| t.length < KEY_EVERY);
        let (base_id, key_id, length, body) = match tip {
            Some(t) => {
                let d = delta::diff(&t.readings, pass.readings).unwrap_or(Value::Object(Default::default()));
                (Some(t.id), Some(t.key_id), t.length + 1, d)
            }
            None => (None, None, 1, pass.readings.clone()),
        };
        let blob = zip(body.to_string().as_bytes());
        let time_ns = i64::try_from(pass.time.as_nanosecond()).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO passes(time_ns, trigger, light, key_id, base_id, readings, pods_id, decision) \
                 VALUES (?1, ?2, ?3, COALESCE(?4, 0), ?5, ?6, ?7, ?8)",
                params![
                    time_ns,
                    pass.trigger,
                    pass.light,
                    key_id,
                    base_id,
                    blob,
                    pods_id,
                    decision
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
                readings: pass.readings.clone(),
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
        let ns = |t: Option<Timestamp>, d: i64| {
            t.map(|t| i64::try_from(t.as_nanosecond()).unwrap_or(d))
                .unwrap_or(d)
        };
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
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, time_ns, trigger, light, key_id, base_id, readings, pods_id, decision \
                 FROM passes WHERE id >= ?1 AND time_ns <= ?2 ORDER BY id",
            )
            .map_err(db_err(&self.dir))?;
        let mut rows = stmt.query(params![start, to_ns]).map_err(db_err(&self.dir))?;
        let mut tips: HashMap<i64, (i64, Value)> = HashMap::new();
        let mut pods_lists: HashMap<i64, Vec<Pod>> = HashMap::new();
        while let Some(row) = rows.next().map_err(db_err(&self.dir))? {
            let get = |e: rusqlite::Error| classify(&self.dir, e);
            let id: i64 = row.get(0).map_err(get)?;
            let time_ns: i64 = row.get(1).map_err(get)?;
            let key_id: i64 = row.get(4).map_err(get)?;
            let base_id: Option<i64> = row.get(5).map_err(get)?;
            let blob: Vec<u8> = row.get(6).map_err(get)?;
            let body =
                unzip(&blob).map_err(|e| damaged(format!("pass {id}: readings do not decompress: {e}")))?;
            let body: Value = serde_json::from_slice(&body)
                .map_err(|e| damaged(format!("pass {id}: readings are not JSON: {e}")))?;
            let mut stored = match base_id {
                None => body,
                Some(base) => {
                    let Some((tip_id, mut value)) = tips.remove(&key_id) else {
                        // A chain that started before the range's first key pass: skip.
                        continue;
                    };
                    if tip_id != base {
                        return Err(damaged(format!("pass {id}: its base pass {base} is missing")));
                    }
                    delta::apply(&mut value, &body).map_err(|e| damaged(format!("pass {id}: {e}")))?;
                    value
                }
            };
            if time_ns < from_ns {
                tips.insert(key_id, (id, stored));
                continue;
            }
            let pods_id: i64 = row.get(7).map_err(get)?;
            if let std::collections::hash_map::Entry::Vacant(slot) = pods_lists.entry(pods_id) {
                let pods = self.load_pods(pods_id).map_err(|e| match e {
                    StoreError::Damaged { detail, .. } => damaged(format!("pass {id}: {detail}")),
                    other => other,
                })?;
                slot.insert(pods);
            }
            let decision: String = row.get(8).map_err(get)?;
            let decision: DecisionRecord =
                serde_json::from_str(&decision).map_err(|e| damaged(format!("pass {id}: decision: {e}")))?;
            let time = Timestamp::from_nanosecond(i128::from(time_ns))
                .map_err(|e| damaged(format!("pass {id}: time {time_ns}: {e}")))?;
            // Read in place (the value stays the base of the next delta): time back in, parse,
            // mark again.
            let time_text = time.to_string();
            crate::pass_time::unmark(&mut stored, &time_text);
            let parsed = if samples {
                Readings::deserialize(&stored)
            } else {
                stored
                    .get("summary")
                    .map(headroom_core::summary::Summary::deserialize)
                    .transpose()
                    .map(|summary| Readings {
                        summary: summary.unwrap_or_default(),
                        ..Readings::default()
                    })
            };
            crate::pass_time::mark(&mut stored, &time_text);
            let readings = parsed.map_err(|e| damaged(format!("pass {id}: readings: {e}")))?;
            tips.insert(key_id, (id, stored));
            f(Pass {
                id,
                time,
                trigger: row.get(2).map_err(get)?,
                light: row.get(3).map_err(get)?,
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
        let ns = |t: Option<Timestamp>, d: i64| {
            t.map(|t| i64::try_from(t.as_nanosecond()).unwrap_or(d))
                .unwrap_or(d)
        };
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

/// Create the database under a temporary name and rename it into place, so a kill during
/// creation never leaves a `recording.sqlite` without its schema (a leftover temporary file
/// is replaced).
fn create(dir: &Path) -> Result<(), StoreError> {
    let io = |what: &str, e: std::io::Error| StoreError::Io {
        dir: dir.to_path_buf(),
        detail: format!("{what}: {e}"),
    };
    let tmp = dir.join(format!("{DB_FILE}.new"));
    for leftover in [
        tmp.clone(),
        dir.join(format!("{DB_FILE}.new-wal")),
        dir.join(format!("{DB_FILE}.new-shm")),
    ] {
        if leftover.exists() {
            std::fs::remove_file(&leftover).map_err(|e| io("removing a half-created recording", e))?;
        }
    }
    let other = std::fs::read_dir(dir)
        .map_err(|e| io("cannot list the recording directory", e))?
        .flatten()
        .any(|e| !e.file_name().to_string_lossy().starts_with(DB_FILE));
    if other {
        return Err(StoreError::NotARecording {
            dir: dir.to_path_buf(),
            why: format!("the directory has files but no {DB_FILE}; give an empty or new directory"),
        });
    }
    {
        let conn = Connection::open(&tmp).map_err(db_err(dir))?;
        // auto_vacuum must be chosen before the first table exists.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;")
            .map_err(db_err(dir))?;
        conn.execute_batch(SCHEMA).map_err(db_err(dir))?;
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('format', ?1), ('schema_version', ?2)",
            params![FORMAT, SCHEMA_VERSION.to_string()],
        )
        .map_err(db_err(dir))?;
        // Fold the WAL into the file before it is renamed (the WAL's name follows the file's).
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(db_err(dir))?;
        conn.close().map_err(|(_, e)| classify(dir, e))?;
    }
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing the new recording", e))?;
    std::fs::rename(&tmp, dir.join(DB_FILE)).map_err(|e| io("moving the new recording into place", e))?;
    let _ = std::fs::remove_file(dir.join(format!("{DB_FILE}.new-wal")));
    let _ = std::fs::remove_file(dir.join(format!("{DB_FILE}.new-shm")));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn check_meta(dir: &Path, conn: &Connection) -> Result<(), StoreError> {
    let get = |k: &str| -> Result<Option<String>, StoreError> {
        match conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0)) {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) if e.to_string().contains("no such table") => Ok(None),
            Err(e) => Err(classify(dir, e)),
        }
    };
    if get("format")?.as_deref() != Some(FORMAT) {
        return Err(StoreError::NotARecording {
            dir: dir.to_path_buf(),
            why: format!("{DB_FILE} is an SQLite file that headroom did not write"),
        });
    }
    let version = get("schema_version")?;
    let found = version
        .as_deref()
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if found != SCHEMA_VERSION {
        return Err(StoreError::Version {
            dir: dir.to_path_buf(),
            found,
            advice: if found > SCHEMA_VERSION {
                "a newer headroom wrote it: read it with that version"
            } else {
                "an older headroom wrote it: read it with that version, or record anew"
            },
        });
    }
    Ok(())
}

/// FNV-1a, to find a pod list already stored (a match is confirmed byte for byte).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
