//! Proactive reclaim of one memory cgroup (cgroup v2 `memory.reclaim`, Linux >= 5.19), for the
//! reclaim-first policy (docs/reclaim-first.md), and the `memory.stat` figures it plans from.
//!
//! Writing `N` to `memory.reclaim` asks the kernel to reclaim `N` bytes from the cgroup and its
//! descendants, the way it would at `memory.max`: inactive lists first, clean file cache before
//! anything that needs I/O. The write blocks while the kernel works and fails with `EAGAIN`
//! when it could not reclaim all of it. To stay bounded in time the request is written in
//! chunks, and no further chunk is started once the time cap has passed; how much was really
//! reclaimed is re-read from `memory.stat` (`pgsteal`) or `memory.current`.
//!
//! cgroup v1 has no such knob (`memory.force_empty` drops everything and is not a bound);
//! [`Reclaimer::open`] then fails with [`ReclaimError::NoKnob`] and the policy falls back to
//! the kubelet's.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use headroom_core::reclaim::CacheFigures;

use crate::memcg::{MemoryBreakdown, StatMap};

/// Largest single write to `memory.reclaim`: small enough that a time cap is checked often
/// (the kernel reclaims 64 MiB of clean cache in a few milliseconds), large enough to keep the
/// number of writes low.
pub const CHUNK_BYTES: u64 = 64 << 20;

/// What went wrong, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum ReclaimError {
    #[error(
        "{path} does not exist: proactive reclaim needs cgroup v2 and Linux 5.19 or newer; \
         reclaim-first falls back to the kubelet policy here"
    )]
    NoKnob { path: PathBuf },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The `memory.stat` figures reclaim-first plans from. v1 shows each figure twice, for the
/// cgroup alone and (`total_*`) for its subtree: the subtree's wins. v2 figures always cover the
/// subtree. Absent keys read as 0 (a kernel without workingset counters shows no churn).
pub fn cache_figures(stat: &StatMap) -> CacheFigures {
    let g = |keys: &[&str]| keys.iter().find_map(|k| stat.get(k)).unwrap_or(0);
    CacheFigures {
        active_file: g(&["total_active_file", "active_file"]),
        inactive_file: g(&["total_inactive_file", "inactive_file"]),
        dirty: g(&["total_dirty", "file_dirty"]),
        writeback: g(&["total_writeback", "file_writeback"]),
        // `workingset_refault` before Linux 5.9 counted anon and file together.
        workingset_refault_file: g(&[
            "total_workingset_refault_file",
            "workingset_refault_file",
            "workingset_refault",
        ]),
        workingset_activate_file: g(&[
            "total_workingset_activate_file",
            "workingset_activate_file",
            "workingset_activate",
        ]),
    }
}

fn read(path: &Path) -> Result<String, ReclaimError> {
    fs::read_to_string(path).map_err(|source| ReclaimError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })
}

/// `memory.stat` of the cgroup directory `dir`, parsed.
pub fn read_stat(dir: &Path) -> Result<StatMap, ReclaimError> {
    Ok(StatMap::parse(&read(&dir.join("memory.stat"))?))
}

/// The clean-cache figures of a breakdown a collection already read (the pass's own, read with
/// the stats the decision was made on): enough for rules 1 to 4 of the plan
/// ([`headroom_core::reclaim::plan_rules_1_to_4`]); the refault counters are not in a breakdown
/// and read as 0.
pub fn pass_cache_figures(b: &MemoryBreakdown) -> CacheFigures {
    CacheFigures {
        active_file: b.active_file,
        inactive_file: b.inactive_file.unwrap_or(0),
        dirty: b.dirty,
        writeback: b.writeback,
        workingset_refault_file: 0,
        workingset_activate_file: 0,
    }
}

/// The cgroup's cache figures, read now.
pub fn read_cache_figures(dir: &Path) -> Result<CacheFigures, ReclaimError> {
    Ok(cache_figures(&read_stat(dir)?))
}

/// Bytes per page of this kernel (the unit of the refault and `pgsteal` counters).
pub fn page_size() -> u64 {
    u64::try_from(rustix::param::page_size()).unwrap_or(4096)
}

/// Why a reclaim stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every chunk was written and accepted.
    Done,
    /// The kernel answered `EAGAIN`: it could not reclaim a whole chunk.
    KernelShort,
    /// The time cap passed before the last chunk.
    TimeCap,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Done => "done",
            Stop::KernelShort => "kernel-short",
            Stop::TimeCap => "time-cap",
        }
    }
}

/// What one reclaim did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes asked for.
    pub asked: u64,
    /// Bytes the kernel reclaimed from the cgroup meanwhile (`pgsteal` delta x page size; the
    /// drop of `memory.current` when the kernel has no `pgsteal`).
    pub reclaimed: u64,
    pub elapsed: Duration,
    pub stop: Stop,
    /// Figures re-read right after (refault counters for the churn ledger).
    pub after: CacheFigures,
}

/// The `memory.reclaim` knob of one cgroup.
#[derive(Clone, Debug)]
pub struct Reclaimer {
    dir: PathBuf,
    knob: PathBuf,
}

impl Reclaimer {
    /// The knob of the cgroup directory `dir` (e.g. `/sys/fs/cgroup/kubepods.slice`);
    /// [`ReclaimError::NoKnob`] on cgroup v1 and kernels before 5.19.
    pub fn open(dir: &Path) -> Result<Self, ReclaimError> {
        let knob = dir.join("memory.reclaim");
        match fs::metadata(&knob) {
            Ok(_) => Ok(Reclaimer {
                dir: dir.to_path_buf(),
                knob,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ReclaimError::NoKnob { path: knob }),
            Err(source) => Err(ReclaimError::Io {
                action: "checking",
                path: knob,
                source,
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn usage(&self) -> Result<u64, ReclaimError> {
        let path = self.dir.join("memory.current");
        let text = read(&path)?;
        Ok(crate::memcg::parse_value(text.trim()).unwrap_or(0))
    }

    /// Ask the kernel to reclaim `bytes` from the cgroup, in chunks of at most [`CHUNK_BYTES`],
    /// starting no chunk after `time_cap` has passed (a chunk under way is not interrupted:
    /// the kernel's own reclaim of 64 MiB is bounded).
    pub fn reclaim(&self, bytes: u64, time_cap: Duration) -> Result<Outcome, ReclaimError> {
        let start = Instant::now();
        let stat_before = read_stat(&self.dir)?;
        let usage_before = self.usage()?;
        let mut left = bytes;
        let mut stop = Stop::Done;
        while left > 0 {
            if start.elapsed() >= time_cap {
                stop = Stop::TimeCap;
                break;
            }
            let chunk = left.min(CHUNK_BYTES);
            match self.write(chunk) {
                Ok(()) => left -= chunk,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    stop = Stop::KernelShort;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ReclaimError::Io {
                        action: "writing",
                        path: self.knob.clone(),
                        source,
                    });
                }
            }
        }
        let elapsed = start.elapsed();
        let stat_after = read_stat(&self.dir)?;
        let usage_after = self.usage()?;
        let reclaimed = match (stat_before.get("pgsteal"), stat_after.get("pgsteal")) {
            (Some(b), Some(a)) if a >= b => (a - b).saturating_mul(page_size()),
            _ => usage_before.saturating_sub(usage_after),
        };
        Ok(Outcome {
            asked: bytes,
            reclaimed,
            elapsed,
            stop,
            after: cache_figures(&stat_after),
        })
    }

    fn write(&self, bytes: u64) -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).truncate(true).open(&self.knob)?;
        f.write_all(bytes.to_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_keys_and_v1_subtree_keys() {
        let v2 = StatMap::parse(
            "anon 1\nactive_file 400\ninactive_file 30\nfile_dirty 4\nfile_writeback 2\n\
             workingset_refault_file 9\nworkingset_activate_file 3\nworkingset_refault_anon 77\n",
        );
        assert_eq!(
            cache_figures(&v2),
            CacheFigures {
                active_file: 400,
                inactive_file: 30,
                dirty: 4,
                writeback: 2,
                workingset_refault_file: 9,
                workingset_activate_file: 3,
            }
        );
        let v1 = StatMap::parse(
            "active_file 1\ntotal_active_file 500\ntotal_inactive_file 20\ntotal_dirty 7\n\
             total_writeback 0\n",
        );
        let f = cache_figures(&v1);
        // v1's local `active_file` is this cgroup alone; `total_active_file` covers the subtree.
        assert_eq!(f.active_file, 500);
        assert_eq!((f.inactive_file, f.dirty), (20, 7));
        assert_eq!(f.workingset_refault_file, 0);
    }

    #[test]
    fn no_knob_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Reclaimer::open(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("memory.reclaim") && text.contains("5.19"), "{text}");
        assert!(text.contains("falls back to the kubelet"), "{text}");
    }

    #[test]
    fn writes_chunks_and_reports_the_usage_drop() {
        // A fixture directory stands in for the cgroup: the "kernel" does not reclaim, so the
        // writes land in the file and nothing is reclaimed.
        let dir = tempfile::tempdir().unwrap();
        for (f, text) in [
            ("memory.reclaim", ""),
            ("memory.current", "1000\n"),
            ("memory.stat", "active_file 900\ninactive_file 0\n"),
        ] {
            fs::write(dir.path().join(f), text).unwrap();
        }
        let r = Reclaimer::open(dir.path()).unwrap();
        let out = r.reclaim(CHUNK_BYTES + 5, Duration::from_secs(5)).unwrap();
        assert_eq!(out.stop, Stop::Done);
        assert_eq!(out.asked, CHUNK_BYTES + 5);
        assert_eq!(out.reclaimed, 0);
        assert_eq!(out.after.active_file, 900);
        // The last chunk written is the remainder (each write truncates the fixture file).
        assert_eq!(
            fs::read_to_string(dir.path().join("memory.reclaim")).unwrap(),
            "5"
        );
        let capped = r.reclaim(10, Duration::ZERO).unwrap();
        assert_eq!(capped.stop, Stop::TimeCap);
    }
}
