//! The recording on disk: one SQLite database (`recording.sqlite`) in WAL mode in the
//! recording directory.
//!
//! Why SQLite: each pass is one transaction, so a SIGKILL or a power cut leaves either the
//! whole pass or none of it (a torn WAL tail fails its checksums and is discarded by SQLite
//! itself, never read as data); retention is a `DELETE` plus an incremental vacuum, done while
//! recording; readers (`replay`, `incidents`) get indexed time ranges for free.
//!
//! A pass row holds three streams, each a tag byte and a zlib stream (whose Adler-32 catches a
//! damaged blob): the decision, the Summary, and the raw samples. Each is stored whole or as
//! its binary delta ([`crate::leaf_delta`]) from the same stream of the previous pass of the
//! same kind (full or light), with a whole pass (a "key" pass) every [`KEY_EVERY`] passes and
//! after every restart, so a chain never spans a crash. The streams are apart so that `replay`
//! (the Summary and the decision) never decodes the samples, and the samples column is last so
//! SQLite does not even read it then. The config in force is stored once per change
//! (`configs`), each pass names its own.
//!
//! Schema version [`SCHEMA_VERSION`] lives in the `meta` table. A recording keeps the schema it
//! was created with: schema 2 recordings are read, and resumed, as schema 2 (they differ from
//! 3 only in the pass-time marks, [`crate::pass_time`]); any other version is refused with a
//! message naming the file, its version and the ones this headroom reads.

use std::io::Write;
use std::path::{Path, PathBuf};

use headroom_core::Timestamp;
use headroom_core::pod::Pod;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::Value;

use crate::model::DecisionRecord;

mod append;
mod assemble;
mod chain;
mod decode;
mod read;
mod retention;

pub use read::{Samples, WalkOptions};

/// The file inside a recording directory.
pub const DB_FILE: &str = "recording.sqlite";
/// Bumped on any change a reader of the previous version would misread.
/// 1: one JSON delta of all readings per pass; 2: three streams, binary deltas, configs;
/// 3: the pass time in whole seconds (the Summary's stats times) is marked too.
pub const SCHEMA_VERSION: i64 = 3;
/// The oldest schema this headroom reads (and resumes, in that schema).
pub const OLDEST_SCHEMA_READ: i64 = 2;
/// What `meta.format` says, so another SQLite file is not taken for a recording.
const FORMAT: &str = "headroom-recording";
/// A whole pass every this many passes of a chain (bounds the cost of a damaged row).
pub const KEY_EVERY: u32 = 60;

/// Chains a reader keeps at most (each decoder its chains' trees, the walk their last pass's
/// pods): without a bound, a day's reading would keep every chain it has read (~2.4 MiB of
/// trees each for a 110-pod node). The recorder interleaves two (full and light passes); a
/// recording with more chains in flight at once is refused where a pass needs a chain that
/// was let go, never read wrong.
pub(crate) const MAX_CHAINS: usize = 8;

/// The chain to let go of when `chains` (by key pass id) holds more than [`MAX_CHAINS`]: the
/// one whose last pass (`last_id`) is oldest, a finished one, since chains of the same kind
/// follow each other; never one that `keep` says to keep.
fn stalest_beyond_bound<V>(
    chains: &std::collections::HashMap<i64, V>,
    keep: impl Fn(i64) -> bool,
    last_id: impl Fn(&V) -> i64,
) -> Option<i64> {
    if chains.len() <= MAX_CHAINS {
        return None;
    }
    chains
        .iter()
        .filter(|(k, _)| !keep(**k))
        .min_by_key(|(_, v)| last_id(v))
        .map(|(k, _)| *k)
}

/// Why a recording cannot be opened or read. Every message names the recording.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: not a headroom recording: {why}", .dir.display())]
    NotARecording { dir: PathBuf, why: String },
    #[error(
        "{}: written with recording schema {found}; this headroom reads schemas {OLDEST_SCHEMA_READ} to {SCHEMA_VERSION} only \
         ({advice})",
        .dir.join(DB_FILE).display()
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
    /// One recording holds one node's history: passes of two nodes interleaved in one chain
    /// would replay as a node whose pods jump back and forth.
    #[error(
        "{}: this recording holds node {recorded:?}'s history, not node {this:?}'s; record each \
         node into its own directory",
        .dir.display()
    )]
    OtherNode {
        dir: PathBuf,
        recorded: String,
        this: String,
    },
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
    /// The watches that woke the pass (stored only when there are some).
    pub woken_by: &'a [crate::model::Wake],
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
    /// The `configs` row of the config in force (writing only).
    config_id: i64,
    /// `passes` has the `woken_by` column (added to schema 2 after its first release).
    woken_by_column: bool,
    /// The recording's schema version (the one it was created with).
    schema: i64,
}

/// The last pass written to a chain: the base of the next one's deltas.
struct ChainTip {
    key_id: i64,
    id: i64,
    length: u32,
    streams: Streams,
}

/// A pass's three streams, as JSON trees (times marked, see [`crate::pass_time`]).
#[derive(Clone, Debug, Default)]
struct Streams {
    decision: Value,
    summary: Value,
    samples: Value,
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
CREATE TABLE configs (id INTEGER PRIMARY KEY, text TEXT NOT NULL, first_ns INTEGER NOT NULL);
CREATE TABLE passes (
    id INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    light INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    base_id INTEGER,
    pods_id INTEGER NOT NULL,
    config_id INTEGER NOT NULL,
    decision BLOB NOT NULL,
    summary BLOB NOT NULL,
    samples BLOB NOT NULL,
    woken_by TEXT
);
CREATE INDEX passes_time ON passes(time_ns);
CREATE TABLE events (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX events_time ON events(time_ns);
";

fn zip(bytes: &[u8]) -> Vec<u8> {
    zip_tagged(None, bytes)
}

/// `tag` (when given) then the zlib stream of `bytes`.
fn zip_tagged(tag: Option<u8>, bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::from_iter(tag), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(bytes);
    z.finish().unwrap_or_default()
}

/// A zlib stream read once (a pod list, the pass before an append): the same reader as the
/// walk's, which keeps it across streams.
fn unzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    Inflater::default().unzip(bytes)
}

/// A zlib reader kept across streams: a fresh one allocates and zeroes ~40 KiB of state, and
/// replay unzips two or three streams a pass.
struct Inflater(flate2::Decompress);

impl Default for Inflater {
    fn default() -> Self {
        Inflater(flate2::Decompress::new(true))
    }
}

impl Inflater {
    fn unzip(&mut self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        use flate2::{FlushDecompress, Status};
        let d = &mut self.0;
        d.reset(true);
        let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).max(64));
        loop {
            let read = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
            let rest = bytes.get(read..).unwrap_or_default();
            let (had_in, had_out) = (d.total_in(), d.total_out());
            // `Finish` would fail the stream for good when the output is too small on the
            // first call (miniz): grow and go on instead.
            let status = d.decompress_vec(rest, &mut out, FlushDecompress::None)?;
            match status {
                Status::StreamEnd => return Ok(out),
                _ if out.len() == out.capacity() => out.reserve(out.capacity()),
                _ if d.total_in() == had_in && d.total_out() == had_out => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the zlib stream is cut short",
                    ));
                }
                _ => {}
            }
        }
    }
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
        let schema = check_meta(dir, &conn)?;
        let recorded: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'node'", [], |r| r.get(0))
            .optional()
            .map_err(db_err(dir))?;
        let mut meta = meta.clone();
        if let Some(recorded) = recorded.filter(|r| !r.is_empty()) {
            if meta.node.is_empty() {
                // A writer that does not know its node name keeps the recorded one.
                meta.node = recorded;
            } else if recorded != meta.node {
                return Err(StoreError::OtherNode {
                    dir: dir.to_path_buf(),
                    recorded,
                    this: meta.node,
                });
            }
        }
        add_woken_by_column(dir, &conn)?;
        let mut store = Store {
            dir: dir.to_path_buf(),
            conn,
            chains: [None, None],
            pods_cache: None,
            config_id: 0,
            woken_by_column: true,
            schema,
        };
        store.write_meta(&meta)?;
        store.config_id = store.config_row(&meta.config)?;
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
        let schema = check_meta(dir, &conn)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(db_err(dir))?;
        if check != "ok" {
            return Err(StoreError::Damaged {
                dir: dir.to_path_buf(),
                detail: format!("SQLite quick_check: {check}"),
            });
        }
        let woken_by_column = has_column(dir, &conn, "passes", "woken_by")?;
        Ok(Store {
            dir: dir.to_path_buf(),
            conn,
            chains: [None, None],
            pods_cache: None,
            config_id: 0,
            woken_by_column,
            schema,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The recording's schema version.
    pub fn schema(&self) -> i64 {
        self.schema
    }

    /// Whether the pass time in whole seconds is marked in this recording (schema 3 on).
    pub fn marks_seconds(&self) -> bool {
        self.schema >= 3
    }

    /// `synchronous = NORMAL` for this connection: commits no longer fsync the WAL (a power
    /// cut may lose the last ones). Only for the benchmark that measures what `FULL` costs.
    #[doc(hidden)]
    pub fn relax_durability_for_benchmarks(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(db_err(&self.dir))
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

    /// The `configs` row holding `text`, added when the last one differs (a config is stored
    /// once per change, not once per pass).
    fn config_row(&mut self, text: &str) -> Result<i64, StoreError> {
        let last: Option<(i64, String)> = self
            .conn
            .query_row("SELECT id, text FROM configs ORDER BY id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db_err(&self.dir))?;
        if let Some((id, last)) = last
            && last == text
        {
            return Ok(id);
        }
        let now = i64::try_from(Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO configs(text, first_ns) VALUES (?1, ?2)",
                params![text, now],
            )
            .map_err(db_err(&self.dir))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The KubeletConfiguration text of a pass's `config_id` (empty: kubelet defaults).
    pub fn config_text(&self, id: i64) -> Result<String, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT text FROM configs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(db_err(&self.dir))?;
        text.ok_or_else(|| StoreError::Damaged {
            dir: self.dir.clone(),
            detail: format!("config {id} is missing"),
        })
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

/// Does `table` have `column`?
fn has_column(dir: &Path, conn: &Connection, table: &str, column: &str) -> Result<bool, StoreError> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .map_err(db_err(dir))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(1))
        .map_err(db_err(dir))?;
    for name in names {
        if name.map_err(db_err(dir))? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Which watches woke a pass came after schema 2's first release, as a column of its own:
/// a schema-2 recording without it gains it when a writer resumes it (older schema-2 readers
/// do not name it and read on unchanged); readers of a recording that lacks it see no watches.
fn add_woken_by_column(dir: &Path, conn: &Connection) -> Result<(), StoreError> {
    if !has_column(dir, conn, "passes", "woken_by")? {
        conn.execute_batch("ALTER TABLE passes ADD COLUMN woken_by TEXT")
            .map_err(db_err(dir))?;
    }
    Ok(())
}

/// Check the file is a recording this headroom reads; returns its schema version.
fn check_meta(dir: &Path, conn: &Connection) -> Result<i64, StoreError> {
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
    if !(OLDEST_SCHEMA_READ..=SCHEMA_VERSION).contains(&found) {
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
    Ok(found)
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
