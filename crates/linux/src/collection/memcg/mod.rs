//! One memory cgroup, read with cAdvisor's semantics (memory-accounting.md §2-§4).
//!
//! Files: [`sample`] reads the raw files into a [`MemcgSample`] (no accounting); [`breakdown`]
//! is the accounting ([`MemoryBreakdown::from_sample`], pure, and the kubelet's figures);
//! [`v1`] and [`v2`] hold what differs between the interfaces, both the reading and the
//! rules; [`stat`] is the flat-keyed `memory.stat` map.
//!
//! [`MemcgReader::read_sample`] reads a cgroup directory (v1 or v2) into a raw [`MemcgSample`]
//! (the files as read); [`MemoryBreakdown::from_sample`] applies cAdvisor's rules to it, with no
//! I/O, so the rules are tested on values and a recording of samples can be re-derived;
//! [`MemcgReader::read`] does both. The breakdown produces the kubelet's `MemoryStats`/`SwapStats`. Rules reproduced:
//! * values: trimmed, `max` => `u64::MAX`, negative => 0 (v1 can print `-1`);
//! * `memory.stat`: every `key value` line kept (unknown keys too); malformed lines skipped
//!   and counted;
//! * v1: cache/rss/swap/mapped_file/shmem/dirty/writeback from `total_*` when
//!   `memory.use_hierarchy` is 1 (local keys otherwise); active/inactive file always `total_*`;
//!   page faults always from the LOCAL `pgfault`/`pgmajfault` (cAdvisor's quirk: the node root
//!   reports only faults of processes living directly in `/`);
//! * v2: everything hierarchical; the root has no `memory.current`, so usage = `anon + file`,
//!   limit unlimited, max usage 0, swap from `/proc/meminfo`;
//! * working set = usage - inactive file, clamped at 0; usage when the key is absent;
//! * a limit above 2^62 is "unlimited": no `availableBytes`.
//!
//! Deliberate deviation: when the working set exceeds the limit, Go's unsigned subtraction
//! wraps `availableBytes` to ~1.8e19; headroom saturates at 0. Both give "below any
//! threshold"; the difference is only that `available + workingSet` no longer rebuilds the
//! limit in that (already critical) case.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::collection::root::ReadError;

pub mod breakdown;
pub mod sample;
pub mod stat;
mod v1;
mod v2;

pub use breakdown::MemoryBreakdown;
pub use sample::{CgroupKind, MemcgReader, MemcgSample, MemoryEvents};
pub use stat::StatMap;

/// Limits strictly above this are "unlimited" (cAdvisor's and the kubelet's `1 << 62`).
pub const UNLIMITED_ABOVE: u64 = 1 << 62;

/// cgroup interface version of the memory hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Parse one cgroup value: trimmed, `max` => `u64::MAX`, negative integers => 0.
pub fn parse_value(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "max" {
        return Some(u64::MAX);
    }
    if let Ok(v) = s.parse::<u64>() {
        return Some(v);
    }
    s.parse::<i64>().ok().map(|_| 0) // only negatives reach here
}

/// Read a kept-open cgroup file again from its start into `buf`: one `pread`, and a fresh
/// value every time (cgroupfs renders the file per read). `None`: unreadable, or not UTF-8.
pub fn reread<'b>(file: &std::fs::File, buf: &'b mut [u8]) -> Option<&'b str> {
    use std::os::unix::fs::FileExt;
    let n = file.read_at(buf, 0).ok()?;
    std::str::from_utf8(buf.get(..n)?).ok()
}

/// A kept-open counter file (`memory.current`, `memory.usage_in_bytes`) read again: its
/// decimal value.
pub fn reread_u64(file: &std::fs::File) -> Option<u64> {
    reread(file, &mut [0u8; 32])?.trim().parse().ok()
}

/// cAdvisor's working set: `usage - inactive_file`, clamped at 0; `usage` without the key.
pub fn working_set(usage: u64, inactive_file: Option<u64>) -> u64 {
    match inactive_file {
        Some(i) => usage.saturating_sub(i),
        None => usage,
    }
}

/// Why a cgroup could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MemcgError {
    /// The cgroup (or its memory controller) is not there: vanished mid-scan, or the
    /// controller is not enabled for it.
    #[error("{}: no memory.stat (cgroup removed, or no memory controller)", .0.display())]
    Gone(PathBuf),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{}: {value:?} is not a number", path.display())]
    Junk { path: PathBuf, value: String },
}

impl MemcgError {
    /// True when the cgroup vanished (or never had the controller).
    pub fn is_gone(&self) -> bool {
        match self {
            MemcgError::Gone(_) => true,
            MemcgError::Read(e) => e.is_not_found(),
            MemcgError::Junk { .. } => false,
        }
    }
}

/// Fixtures shared by the v1 and v2 tests.
#[cfg(test)]
pub(super) mod testing {
    use std::path::Path;

    use super::{CgroupKind, CgroupVersion};

    pub fn v2(is_root: bool) -> CgroupKind {
        CgroupKind {
            version: CgroupVersion::V2,
            is_root,
            host_swap_used: 4096,
        }
    }

    pub fn write(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (n, t) in files {
            std::fs::write(dir.join(n), t).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_fscommon() {
        assert_eq!(parse_value(" 12\n"), Some(12));
        assert_eq!(parse_value("max\n"), Some(u64::MAX));
        assert_eq!(parse_value("-1"), Some(0));
        assert_eq!(parse_value("12x"), None);
        assert_eq!(parse_value(""), None);
    }
}
