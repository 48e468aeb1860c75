//! The history from a flight recording (`headroom agent --record DIR`, `headroom record DIR`)
//! that another process may be writing: SQLite in WAL mode lets us read committed passes while
//! the writer goes on; each refresh reads only the passes committed since the last one.

use std::path::{Path, PathBuf};

use headroom_core::Timestamp;
use headroom_core::signal::Signal;
use headroom_record::Store;
use headroom_record::store::WalkOptions;

use super::history::{History, Point};
use crate::cmd::bad_input;

/// An open recording and how far it has been read.
pub struct RecordingFeed {
    store: Store,
    dir: PathBuf,
    /// The recording's node name (its latest writer's), to say when it is another node's.
    node: Option<String>,
    /// The newest pass read so far.
    last: Option<Timestamp>,
}

impl RecordingFeed {
    /// Open `dir`; not a recording, damaged, or of another schema is bad input (exit 2).
    pub fn open(dir: &Path) -> anyhow::Result<RecordingFeed> {
        let store = Store::open(dir).map_err(|e| bad_input(format!("--recording: {e}")))?;
        let node = store.meta().ok().map(|m| m.node).filter(|n| !n.is_empty());
        Ok(RecordingFeed {
            store,
            dir: dir.to_path_buf(),
            node,
            last: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    pub fn last_pass(&self) -> Option<Timestamp> {
        self.last
    }

    /// Add the passes committed since the last call (at most the window before `now`) to
    /// `history`; returns how many were added.
    pub fn read_new(&mut self, now: Timestamp, history: &mut History) -> Result<usize, String> {
        let window_start = now.as_nanosecond() - history.window_ns();
        let after_last = self.last.map(|t| t.as_nanosecond() + 1);
        let from_ns = after_last.map_or(window_start, |a| a.max(window_start));
        let from = Timestamp::from_nanosecond(from_ns).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut added = 0;
        let mut newest = self.last;
        self.store
            .lend_each_pass(Some(from), None, WalkOptions::default(), |pass| {
                history.push(Point {
                    time: pass.time,
                    memory: pass.decision.available(Signal::MemoryAvailable.as_str()),
                    allocatable: pass
                        .decision
                        .available(Signal::AllocatableMemoryAvailable.as_str()),
                    evicted: !pass.decision.evictions.is_empty(),
                });
                newest = Some(pass.time);
                added += 1;
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        self.last = newest;
        Ok(added)
    }
}
