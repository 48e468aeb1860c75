//! Raw reading: one memory cgroup directory into a [`MemcgSample`] (the files as read, after
//! `parse_value`), with reusable buffers. The interface-specific file lists are in
//! [`super::v1`] and [`super::v2`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CgroupVersion, MemcgError, MemoryBreakdown, StatMap, parse_value};
use crate::collection::psi::Psi;
use crate::collection::root::FileReader;

/// cgroup v2 `memory.events` counters (hierarchical).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryEvents {
    pub low: u64,
    pub high: u64,
    pub max: u64,
    pub oom: u64,
    pub oom_kill: u64,
    pub oom_group_kill: u64,
}

/// The raw readings of one memory cgroup, as the kernel printed them (after `parse_value`):
/// what [`MemoryBreakdown::from_sample`] derives every figure from. Kept apart from the
/// accounting so the rules are unit-tested on values and a recording can re-derive figures
/// with a later version's rules. A file that was not there (or, for the files cAdvisor reads
/// with `readUInt64`, held junk) is `None`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemcgSample {
    pub version: CgroupVersion,
    /// The hierarchy's root cgroup (v2: no `memory.current`, emulated).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_root: bool,
    /// `SwapTotal - SwapFree` from meminfo, the v2 root's swap figure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub host_swap_used: u64,
    /// `memory.stat`, every line (empty when the v2 root has none).
    pub stat: StatMap,
    /// v1 `memory.usage_in_bytes`, v2 `memory.current` (the v2 root has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    /// v1 `memory.limit_in_bytes`, v2 `memory.max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// v1 `memory.max_usage_in_bytes`, v2 `memory.peak`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    /// v1 `memory.failcnt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    /// v1 `memory.use_hierarchy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_hierarchy: Option<u64>,
    /// v1 `memory.kmem.usage_in_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmem_usage: Option<u64>,
    /// v1 `memory.memsw.limit_in_bytes`, v2 `memory.swap.max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_limit: Option<u64>,
    /// v2 `memory.swap.current`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_current: Option<u64>,
    /// v1 `memory.oom_control` `oom_kill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_control_kills: Option<u64>,
    /// v2 `memory.events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<MemoryEvents>,
    /// v2 `memory.pressure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi: Option<Box<Psi>>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl MemcgSample {
    /// A sample with nothing read yet.
    pub fn empty(kind: CgroupKind) -> MemcgSample {
        MemcgSample {
            version: kind.version,
            is_root: kind.is_root,
            host_swap_used: kind.host_swap_used,
            stat: StatMap::default(),
            usage: None,
            limit: None,
            max_usage: None,
            failcnt: None,
            use_hierarchy: None,
            kmem_usage: None,
            swap_limit: None,
            swap_current: None,
            oom_control_kills: None,
            events: None,
            psi: None,
        }
    }

    /// Forget the readings (keeping the stat map's buffers) for a new read.
    pub(super) fn reset(&mut self, kind: CgroupKind) {
        let stat = std::mem::take(&mut self.stat);
        *self = MemcgSample {
            stat,
            ..MemcgSample::empty(kind)
        };
    }
}

/// Reads memory cgroups; holds reusable buffers.
#[derive(Debug)]
pub struct MemcgReader {
    pub(super) path: PathBuf,
    pub(super) sample: MemcgSample,
    /// Keep a copy of every `memory.stat` in the breakdown (off by default: costs memory).
    pub keep_stat: bool,
    /// Keep the raw sample in the breakdown (a recorder's input; off by default).
    pub keep_sample: bool,
    /// v2: read only what the kubelet's memory eviction decision needs (`memory.stat`,
    /// `memory.current`, `memory.max`); no peak, swap, events or pressure, which no eviction
    /// signal or ranking reads. For the agent's fast pass, where every file is a few system
    /// calls on the way to the SIGTERM. v1 reads are unchanged.
    pub lean: bool,
}

impl Default for MemcgReader {
    fn default() -> Self {
        MemcgReader {
            path: PathBuf::new(),
            sample: MemcgSample::empty(CgroupKind {
                version: CgroupVersion::V1,
                is_root: false,
                host_swap_used: 0,
            }),
            keep_stat: false,
            keep_sample: false,
            lean: false,
        }
    }
}

/// What the caller knows about the cgroup being read.
#[derive(Clone, Copy, Debug)]
pub struct CgroupKind {
    pub version: CgroupVersion,
    /// The hierarchy's root cgroup (`/`): v2 emulation, v1 root semantics.
    pub is_root: bool,
    /// `SwapTotal - SwapFree` from meminfo, for the v2 root's swap figure.
    pub host_swap_used: u64,
}

impl MemcgReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// The raw readings of the last cgroup read.
    pub fn last_sample(&self) -> &MemcgSample {
        &self.sample
    }

    pub(super) fn file(&mut self, dir: &Path, name: &str) -> &Path {
        self.path.clear();
        self.path.push(dir);
        self.path.push(name);
        &self.path
    }

    /// A single-value file; `Ok(None)` when it does not exist.
    pub(super) fn value(
        &mut self,
        files: &mut FileReader,
        dir: &Path,
        name: &str,
    ) -> Result<Option<u64>, MemcgError> {
        let path = self.file(dir, name);
        match files.read(path) {
            Ok(text) => match parse_value(text) {
                Some(v) => Ok(Some(v)),
                None => Err(MemcgError::Junk {
                    path: path.to_path_buf(),
                    value: text.trim().chars().take(40).collect(),
                }),
            },
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A single-value file that must exist.
    pub(super) fn required(
        &mut self,
        files: &mut FileReader,
        dir: &Path,
        name: &str,
    ) -> Result<u64, MemcgError> {
        match self.value(files, dir, name)? {
            Some(v) => Ok(v),
            None => Err(MemcgError::Gone(self.file(dir, name).to_path_buf())),
        }
    }

    /// A single-value file that may be missing, or junk: 0 (cAdvisor's `readUInt64`).
    pub(super) fn optional(&mut self, files: &mut FileReader, dir: &Path, name: &str) -> Option<u64> {
        self.value(files, dir, name).ok().flatten()
    }

    /// Read the flat-keyed file `name` into the sample's stat map; false when it does not
    /// exist.
    pub(super) fn load_stat(
        &mut self,
        files: &mut FileReader,
        dir: &Path,
        name: &str,
    ) -> Result<bool, MemcgError> {
        self.path.clear();
        self.path.push(dir);
        self.path.push(name);
        match files.read(&self.path) {
            Ok(text) => {
                self.sample.stat.parse_into(text);
                Ok(true)
            }
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Read the memory cgroup at real path `dir`.
    pub fn read(
        &mut self,
        files: &mut FileReader,
        dir: &Path,
        kind: CgroupKind,
    ) -> Result<MemoryBreakdown, MemcgError> {
        self.read_sample(files, dir, kind)?;
        let mut b = MemoryBreakdown::from_sample(&self.sample);
        if self.keep_stat {
            b.stat = Some(Box::new(self.sample.stat.clone()));
        }
        if self.keep_sample {
            b.sample = Some(Box::new(self.sample.clone()));
        }
        Ok(b)
    }

    /// Read the raw files of the memory cgroup at real path `dir` (no accounting); the
    /// result is [`MemcgReader::last_sample`]. Errors when the cgroup is gone or a required
    /// file holds junk.
    pub fn read_sample(
        &mut self,
        files: &mut FileReader,
        dir: &Path,
        kind: CgroupKind,
    ) -> Result<(), MemcgError> {
        self.sample.reset(kind);
        match kind.version {
            CgroupVersion::V1 => self.read_v1(files, dir),
            CgroupVersion::V2 => self.read_v2(files, dir, kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::memcg::testing::{v2, write};

    #[test]
    fn a_stored_sample_re_derives_the_same_breakdown() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("cg");
        write(
            &d,
            &[
                ("memory.stat", "anon 100\nfile 400\ninactive_file 250\nbroken\n"),
                ("memory.current", "600\n"),
                ("memory.max", "max\n"),
                ("memory.events", "low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\n"),
            ],
        );
        let mut reader = MemcgReader::new();
        reader.keep_sample = true;
        let b = reader.read(&mut FileReader::new(), &d, v2(false)).unwrap();
        let sample = b.sample.clone().unwrap();
        let json = serde_json::to_string(&sample).unwrap();
        let back: MemcgSample = serde_json::from_str(&json).unwrap();
        let again = MemoryBreakdown::from_sample(&back);
        assert_eq!(again.working_set, b.working_set);
        assert_eq!(again.events, b.events);
        assert_eq!(
            MemoryBreakdown {
                sample: None,
                malformed_stat_lines: 0,
                ..b
            },
            MemoryBreakdown {
                malformed_stat_lines: 0,
                ..again
            },
            "malformed lines are not stored, every figure is"
        );
    }
}
