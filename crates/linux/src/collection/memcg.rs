//! One memory cgroup, read with cAdvisor's semantics (memory-accounting.md §2-§4).
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

use std::path::{Path, PathBuf};

use headroom_core::summary::{MemoryStats, SwapStats};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::collection::psi::Psi;
use crate::collection::root::{FileReader, ReadError};

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

/// A flat-keyed file (`memory.stat`, `memory.events`) kept whole, in file order.
///
/// Keys live in one reused string arena so re-reading thousands of cgroups does not allocate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatMap {
    keys: String,
    entries: Vec<(u32, u32, u64)>,
    malformed: usize,
}

impl StatMap {
    /// Replace the contents with the parse of `text`.
    pub fn parse_into(&mut self, text: &str) {
        self.keys.clear();
        self.entries.clear();
        self.malformed = 0;
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(' ') else {
                self.malformed += 1;
                continue;
            };
            let (Some(value), false) = (parse_value(value), key.is_empty()) else {
                self.malformed += 1;
                continue;
            };
            let start = self.keys.len();
            self.keys.push_str(key);
            let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(self.keys.len())) else {
                self.malformed += 1;
                continue;
            };
            self.entries.push((s, e, value));
        }
    }

    pub fn parse(text: &str) -> StatMap {
        let mut m = StatMap::default();
        m.parse_into(text);
        m
    }

    /// The value of `key`, if the file had it.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// All `(key, value)` pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.entries
            .iter()
            .map(|&(s, e, v)| (self.keys.get(s as usize..e as usize).unwrap_or(""), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines that were not `key value` with a number.
    pub fn malformed_lines(&self) -> usize {
        self.malformed
    }
}

impl Serialize for StatMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for StatMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(String, u64)> = std::collections::BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .collect();
        let mut text = String::new();
        for (k, v) in pairs {
            text.push_str(&k);
            text.push(' ');
            text.push_str(&v.to_string());
            text.push('\n');
        }
        Ok(StatMap::parse(&text))
    }
}

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

/// One cgroup's memory, with cAdvisor's numbers. All amounts in bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryBreakdown {
    pub version: Option<CgroupVersion>,
    /// v1 `memory.usage_in_bytes`, v2 `memory.current` (root: `anon + file`).
    pub usage: u64,
    /// `usage - inactive_file`, clamped at 0 (usage when the key is absent).
    pub working_set: u64,
    /// v1 `total_rss` (mapped anonymous), v2 `anon`.
    pub rss: u64,
    /// v1 `total_cache`, v2 `file`.
    pub cache: u64,
    pub shmem: u64,
    pub active_file: u64,
    /// `total_inactive_file` (v1) / `inactive_file` (v2); `None` when the key is absent.
    pub inactive_file: Option<u64>,
    /// v1 `memory.kmem.usage_in_bytes`, v2 `memory.stat` `kernel` (5.18+); `None` when the
    /// kernel does not report it.
    pub kernel: Option<u64>,
    pub mapped_file: u64,
    pub dirty: u64,
    pub writeback: u64,
    /// Swap only (not memory+swap).
    pub swap: u64,
    /// Memory limit; `u64::MAX` or a value above 2^62 means unlimited. For the node root the
    /// collector sets `MemTotal`.
    pub limit: u64,
    /// The limit cAdvisor reports as the spec's `swap_limit`, which the kubelet subtracts
    /// `swap` from for `swapAvailableBytes`: v2 `memory.swap.max` (swap only), v1
    /// `memory.memsw.limit_in_bytes` (memory+swap: the kubelet's arithmetic is odd there, but
    /// this is what it does), node root `SwapTotal`. A missing or junk file is 0, as
    /// cAdvisor's `readUInt64` makes it (no swap accounting => `swapAvailableBytes: 0`); the
    /// v2 root has no `memory.max`, so cAdvisor never reads a figure there: 0 too. `None`
    /// only in breakdowns that were not read by [`MemcgReader`].
    pub swap_limit: Option<u64>,
    pub max_usage: u64,
    pub failcnt: u64,
    /// LOCAL page faults on v1 (cAdvisor's quirk), hierarchical on v2.
    pub pgfault: u64,
    pub pgmajfault: u64,
    /// v1 `memory.oom_control` `oom_kill` (this cgroup only) or v2 `memory.events` `oom_kill`.
    pub oom_kill: Option<u64>,
    /// v2 `memory.events` (not at the root, not on v1).
    pub events: Option<MemoryEvents>,
    /// v2 `memory.pressure` (never on v1/hybrid). Boxed: absent on v1, and snapshots hold
    /// thousands of breakdowns.
    pub psi: Option<Box<Psi>>,
    /// Malformed `memory.stat` lines that were skipped.
    pub malformed_stat_lines: usize,
    /// The whole `memory.stat`, when the reader was asked to keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Box<StatMap>>,
    /// The raw readings these figures came from, when the reader was asked to keep them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Box<MemcgSample>>,
}

impl MemoryBreakdown {
    /// True when `limit` is a real limit (not above 2^62).
    pub fn has_limit(&self) -> bool {
        self.limit <= UNLIMITED_ABOVE
    }

    /// `limit - working_set` when the limit is known (saturating, see module docs).
    pub fn available(&self) -> Option<u64> {
        self.has_limit()
            .then(|| self.limit.saturating_sub(self.working_set))
    }

    /// The kubelet's `MemoryStats` for this cgroup. `with_psi` (the kubelet's `KubeletPSI`
    /// gate) adds the `psi` object: this cgroup's `memory.pressure`, or all zeros when there
    /// was none (v1/hybrid, PSI off), as the kubelet copies cAdvisor's zero-valued PSI.
    pub fn to_summary(&self, time: Timestamp, with_psi: bool) -> MemoryStats {
        MemoryStats {
            time: Some(time),
            available_bytes: self.available(),
            usage_bytes: Some(self.usage),
            working_set_bytes: Some(self.working_set),
            rss_bytes: Some(self.rss),
            page_faults: Some(self.pgfault),
            major_page_faults: Some(self.pgmajfault),
            psi: with_psi.then(|| self.psi.as_ref().map(|p| p.to_summary()).unwrap_or_default()),
        }
    }

    /// The kubelet's `SwapStats` (`swapAvailableBytes` only when the swap limit is known).
    pub fn to_summary_swap(&self, time: Timestamp) -> SwapStats {
        SwapStats {
            time: Some(time),
            swap_available_bytes: self
                .swap_limit
                .filter(|l| *l <= UNLIMITED_ABOVE)
                .map(|l| l.saturating_sub(self.swap)),
            swap_usage_bytes: Some(self.swap),
        }
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
    fn reset(&mut self, kind: CgroupKind) {
        let stat = std::mem::take(&mut self.stat);
        *self = MemcgSample {
            stat,
            ..MemcgSample::empty(kind)
        };
    }
}

impl MemoryBreakdown {
    /// cAdvisor's figures from raw readings (the rules in the module docs). Pure: no file is
    /// read. The whole `memory.stat` is not copied (see [`MemcgReader::keep_stat`]).
    pub fn from_sample(s: &MemcgSample) -> MemoryBreakdown {
        let mut b = match s.version {
            CgroupVersion::V1 => v1_figures(s),
            CgroupVersion::V2 => v2_figures(s),
        };
        b.malformed_stat_lines = s.stat.malformed_lines();
        b
    }
}

fn v1_figures(s: &MemcgSample) -> MemoryBreakdown {
    let hierarchy = s.use_hierarchy.unwrap_or(1) == 1;
    let stat = &s.stat;
    let pick = |key: &str| {
        if hierarchy {
            stat.get(&format!("total_{key}"))
        } else {
            stat.get(key)
        }
        .unwrap_or(0)
    };
    let usage = s.usage.unwrap_or(0);
    let inactive_file = stat.get("total_inactive_file");
    MemoryBreakdown {
        version: Some(CgroupVersion::V1),
        usage,
        max_usage: s.max_usage.unwrap_or(0),
        failcnt: s.failcnt.unwrap_or(0),
        limit: s.limit.unwrap_or(0),
        kernel: s.kmem_usage,
        oom_kill: s.oom_control_kills,
        cache: pick("cache"),
        rss: pick("rss"),
        swap: pick("swap"),
        mapped_file: pick("mapped_file"),
        shmem: pick("shmem"),
        dirty: pick("dirty"),
        writeback: pick("writeback"),
        active_file: stat.get("total_active_file").unwrap_or(0),
        inactive_file,
        pgfault: stat.get("pgfault").unwrap_or(0),
        pgmajfault: stat.get("pgmajfault").unwrap_or(0),
        // Kept as cAdvisor's spec has it (memory+swap, missing => 0), see the field docs.
        swap_limit: Some(s.swap_limit.unwrap_or(0)),
        working_set: working_set(usage, inactive_file),
        ..Default::default()
    }
}

fn v2_figures(s: &MemcgSample) -> MemoryBreakdown {
    let stat = &s.stat;
    let g = |k: &str| stat.get(k).unwrap_or(0);
    let mut b = MemoryBreakdown {
        version: Some(CgroupVersion::V2),
        cache: g("file"),
        rss: g("anon"),
        shmem: g("shmem"),
        mapped_file: g("file_mapped"),
        dirty: g("file_dirty"),
        writeback: g("file_writeback"),
        active_file: g("active_file"),
        inactive_file: stat.get("inactive_file"),
        kernel: stat.get("kernel"),
        pgfault: g("pgfault"),
        pgmajfault: g("pgmajfault"),
        psi: s.psi.clone(),
        ..Default::default()
    };
    match s.usage {
        Some(v) => {
            b.usage = v;
            b.limit = s.limit.unwrap_or(u64::MAX);
            b.max_usage = s.max_usage.unwrap_or(0);
            // Usage and limit are read independently, as cAdvisor's stats and spec do: no
            // swap accounting => usage 0, limit 0.
            b.swap = s.swap_current.unwrap_or(0);
            b.swap_limit = Some(s.swap_limit.unwrap_or(0));
            b.events = s.events;
            b.oom_kill = s.events.map(|e| e.oom_kill);
        }
        None => {
            // The root (the reader refuses a non-root cgroup without memory.current).
            b.usage = g("anon").saturating_add(g("file"));
            b.limit = u64::MAX;
            b.swap = s.host_swap_used;
            // No memory.max at the root: cAdvisor's spec keeps 0 (the collector puts
            // SwapTotal here when meminfo has it).
            b.swap_limit = Some(0);
        }
    }
    b.working_set = working_set(b.usage, b.inactive_file);
    b
}

/// Reads memory cgroups; holds reusable buffers.
#[derive(Debug)]
pub struct MemcgReader {
    path: PathBuf,
    sample: MemcgSample,
    /// Keep a copy of every `memory.stat` in the breakdown (off by default: costs memory).
    pub keep_stat: bool,
    /// Keep the raw sample in the breakdown (a recorder's input; off by default).
    pub keep_sample: bool,
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

    /// The full `memory.stat` of the last cgroup read.
    pub fn last_stat(&self) -> &StatMap {
        &self.sample.stat
    }

    /// The raw readings of the last cgroup read.
    pub fn last_sample(&self) -> &MemcgSample {
        &self.sample
    }

    fn file(&mut self, dir: &Path, name: &str) -> &Path {
        self.path.clear();
        self.path.push(dir);
        self.path.push(name);
        &self.path
    }

    /// A single-value file; `Ok(None)` when it does not exist.
    fn value(&mut self, files: &mut FileReader, dir: &Path, name: &str) -> Result<Option<u64>, MemcgError> {
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
    fn required(&mut self, files: &mut FileReader, dir: &Path, name: &str) -> Result<u64, MemcgError> {
        match self.value(files, dir, name)? {
            Some(v) => Ok(v),
            None => Err(MemcgError::Gone(self.file(dir, name).to_path_buf())),
        }
    }

    /// A single-value file that may be missing, or junk: 0 (cAdvisor's `readUInt64`).
    fn optional(&mut self, files: &mut FileReader, dir: &Path, name: &str) -> Option<u64> {
        self.value(files, dir, name).ok().flatten()
    }

    /// Read the flat-keyed file `name` into the sample's stat map; false when it does not
    /// exist.
    fn load_stat(&mut self, files: &mut FileReader, dir: &Path, name: &str) -> Result<bool, MemcgError> {
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

    fn read_v1(&mut self, files: &mut FileReader, dir: &Path) -> Result<(), MemcgError> {
        if !self.load_stat(files, dir, "memory.stat")? {
            return Err(MemcgError::Gone(self.file(dir, "memory.stat").to_path_buf()));
        }
        let usage = self.required(files, dir, "memory.usage_in_bytes")?;
        let max_usage = self.required(files, dir, "memory.max_usage_in_bytes")?;
        let failcnt = self.required(files, dir, "memory.failcnt")?;
        let limit = self.required(files, dir, "memory.limit_in_bytes")?;
        let use_hierarchy = self.optional(files, dir, "memory.use_hierarchy");
        let kmem_usage = self.optional(files, dir, "memory.kmem.usage_in_bytes");
        let swap_limit = self.optional(files, dir, "memory.memsw.limit_in_bytes");
        let oom_control_kills = self.oom_kill_v1(files, dir);
        let s = &mut self.sample;
        s.usage = Some(usage);
        s.max_usage = Some(max_usage);
        s.failcnt = Some(failcnt);
        s.limit = Some(limit);
        s.use_hierarchy = use_hierarchy;
        s.kmem_usage = kmem_usage;
        s.swap_limit = swap_limit;
        s.oom_control_kills = oom_control_kills;
        Ok(())
    }

    fn oom_kill_v1(&mut self, files: &mut FileReader, dir: &Path) -> Option<u64> {
        let path = self.file(dir, "memory.oom_control");
        let text = files.read(path).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(parse_value)
    }

    fn read_v2(&mut self, files: &mut FileReader, dir: &Path, kind: CgroupKind) -> Result<(), MemcgError> {
        let has_stat = self.load_stat(files, dir, "memory.stat")?;
        if !has_stat {
            if !kind.is_root {
                return Err(MemcgError::Gone(self.file(dir, "memory.stat").to_path_buf()));
            }
            // The library ignores a missing root memory.stat: every figure becomes 0.
            self.sample.stat.parse_into("");
        }
        let current = self.value(files, dir, "memory.current")?;
        match current {
            Some(v) => {
                self.sample.usage = Some(v);
                self.sample.limit = self.optional(files, dir, "memory.max");
                self.sample.max_usage = self.optional(files, dir, "memory.peak");
                self.sample.swap_current = self.value(files, dir, "memory.swap.current")?;
                self.sample.swap_limit = self.optional(files, dir, "memory.swap.max");
                self.sample.events = self.read_events(files, dir);
            }
            None if kind.is_root => {}
            None => return Err(MemcgError::Gone(self.file(dir, "memory.current").to_path_buf())),
        }
        let path = self.file(dir, "memory.pressure");
        self.sample.psi = files
            .read(path)
            .ok()
            .and_then(|t| crate::collection::psi::parse(t).ok())
            .map(Box::new);
        Ok(())
    }

    fn read_events(&mut self, files: &mut FileReader, dir: &Path) -> Option<MemoryEvents> {
        let path = self.file(dir, "memory.events");
        let text = files.read(path).ok()?;
        let mut e = MemoryEvents::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(' ') else {
                continue;
            };
            let Some(v) = parse_value(v) else { continue };
            match k {
                "low" => e.low = v,
                "high" => e.high = v,
                "max" => e.max = v,
                "oom" => e.oom = v,
                "oom_kill" => e.oom_kill = v,
                "oom_group_kill" => e.oom_group_kill = v,
                _ => {}
            }
        }
        Some(e)
    }
}

/// cAdvisor's working set: `usage - inactive_file`, clamped at 0; `usage` without the key.
pub fn working_set(usage: u64, inactive_file: Option<u64>) -> u64 {
    match inactive_file {
        Some(i) => usage.saturating_sub(i),
        None => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(is_root: bool) -> CgroupKind {
        CgroupKind {
            version: CgroupVersion::V2,
            is_root,
            host_swap_used: 4096,
        }
    }

    fn write(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (n, t) in files {
            std::fs::write(dir.join(n), t).unwrap();
        }
    }

    #[test]
    fn values_follow_fscommon() {
        assert_eq!(parse_value(" 12\n"), Some(12));
        assert_eq!(parse_value("max\n"), Some(u64::MAX));
        assert_eq!(parse_value("-1"), Some(0));
        assert_eq!(parse_value("12x"), None);
        assert_eq!(parse_value(""), None);
    }

    #[test]
    fn stat_map_keeps_unknown_keys_and_counts_junk() {
        let m = StatMap::parse("cache 5\nnew_key 7\nbroken\nneg -3\nbig max\nx y\n\n");
        assert_eq!(m.get("cache"), Some(5));
        assert_eq!(m.get("new_key"), Some(7));
        assert_eq!(m.get("neg"), Some(0));
        assert_eq!(m.get("big"), Some(u64::MAX));
        assert_eq!(m.get("missing"), None);
        assert_eq!(m.malformed_lines(), 2);
        assert_eq!(m.len(), 4);
        let json = serde_json::to_string(&m).unwrap();
        let back: StatMap = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("new_key"), Some(7));
    }

    #[test]
    fn v1_uses_total_keys_local_faults_and_clamps() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("cg");
        write(
            &d,
            &[
                (
                    "memory.stat",
                    "cache 1\nrss 2\npgfault 10\npgmajfault 1\ntotal_cache 100\ntotal_rss 50\n\
                     total_mapped_file 7\ntotal_shmem 3\ntotal_active_file 20\n\
                     total_inactive_file 900\ntotal_pgfault 99999\n",
                ),
                ("memory.usage_in_bytes", "500\n"),
                ("memory.max_usage_in_bytes", "600\n"),
                ("memory.failcnt", "2\n"),
                ("memory.limit_in_bytes", "9223372036854771712\n"),
                ("memory.use_hierarchy", "1\n"),
                ("memory.kmem.usage_in_bytes", "11\n"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
                ),
            ],
        );
        let kind = CgroupKind {
            version: CgroupVersion::V1,
            is_root: false,
            host_swap_used: 0,
        };
        let b = MemcgReader::new().read(&mut FileReader::new(), &d, kind).unwrap();
        assert_eq!((b.usage, b.cache, b.rss, b.mapped_file), (500, 100, 50, 7));
        assert_eq!(b.working_set, 0, "clamped, not wrapped");
        assert_eq!((b.pgfault, b.pgmajfault), (10, 1));
        assert_eq!(b.kernel, Some(11));
        assert_eq!(b.oom_kill, Some(3));
        assert!(!b.has_limit());
        let t = Timestamp::UNIX_EPOCH;
        let m = b.to_summary(t, false);
        assert_eq!(m.available_bytes, None);
        assert_eq!(m.usage_bytes, Some(500));

        // use_hierarchy 0 switches cache/rss to local keys but not the working set.
        std::fs::write(d.join("memory.use_hierarchy"), "0\n").unwrap();
        std::fs::write(d.join("memory.usage_in_bytes"), "1000\n").unwrap();
        std::fs::write(d.join("memory.limit_in_bytes"), "2000\n").unwrap();
        let b = MemcgReader::new().read(&mut FileReader::new(), &d, kind).unwrap();
        assert_eq!((b.cache, b.rss, b.working_set), (1, 2, 100));
        assert_eq!(b.available(), Some(1900));
        // No memsw file (swap accounting off): cAdvisor's limit is 0, so is the availability.
        assert_eq!(
            b.to_summary_swap(Timestamp::UNIX_EPOCH).swap_available_bytes,
            Some(0)
        );
        // v1 swap "limit" is the memsw (memory+swap) limit, as cAdvisor's spec reports it.
        std::fs::write(
            d.join("memory.memsw.limit_in_bytes"),
            "5000
",
        )
        .unwrap();
        std::fs::write(
            d.join("memory.stat"),
            "swap 300
total_inactive_file 900
",
        )
        .unwrap();
        let b = MemcgReader::new().read(&mut FileReader::new(), &d, kind).unwrap();
        let swap = b.to_summary_swap(Timestamp::UNIX_EPOCH);
        assert_eq!(
            (swap.swap_usage_bytes, swap.swap_available_bytes),
            (Some(300), Some(4700))
        );

        // Junk in a required file is an error naming the file and value.
        std::fs::write(d.join("memory.usage_in_bytes"), "lots\n").unwrap();
        let err = MemcgReader::new()
            .read(&mut FileReader::new(), &d, kind)
            .unwrap_err();
        assert!(err.to_string().contains("memory.usage_in_bytes"), "{err}");
        assert!(err.to_string().contains("lots"), "{err}");
        assert!(!err.is_gone());
        // A vanished cgroup is "gone".
        let err = MemcgReader::new()
            .read(&mut FileReader::new(), &tmp.path().join("nope"), kind)
            .unwrap_err();
        assert!(err.is_gone());
    }

    #[test]
    fn v2_non_root_and_root_emulation() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("cg");
        write(
            &d,
            &[
                (
                    "memory.stat",
                    "anon 100\nfile 400\nkernel 30\nshmem 5\nfile_mapped 6\nfile_dirty 7\n\
                     inactive_file 250\nactive_file 120\npgfault 44\npgmajfault 4\n",
                ),
                ("memory.current", "600\n"),
                ("memory.max", "1000\n"),
                ("memory.swap.current", "8\n"),
                ("memory.swap.max", "max\n"),
                ("memory.events", "low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\n"),
                (
                    "memory.pressure",
                    "some avg10=1.00 avg60=0.00 avg300=0.00 total=10\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n",
                ),
            ],
        );
        let b = MemcgReader::new()
            .read(&mut FileReader::new(), &d, v2(false))
            .unwrap();
        assert_eq!((b.usage, b.working_set, b.limit), (600, 350, 1000));
        assert_eq!((b.rss, b.cache, b.kernel), (100, 400, Some(30)));
        assert_eq!(b.events.unwrap().high, 2);
        assert_eq!(b.oom_kill, Some(1));
        assert_eq!(b.swap, 8);
        assert_eq!(
            b.to_summary_swap(Timestamp::UNIX_EPOCH).swap_available_bytes,
            None
        );
        let m = b.to_summary(Timestamp::UNIX_EPOCH, true);
        assert_eq!(m.available_bytes, Some(650));
        assert_eq!(m.psi.unwrap().some.total, 10);

        // Root: no memory.current => anon + file, unlimited, swap from meminfo, no events.
        let r = tmp.path().join("root");
        write(&r, &[("memory.stat", "anon 100\nfile 400\ninactive_file 250\n")]);
        let b = MemcgReader::new()
            .read(&mut FileReader::new(), &r, v2(true))
            .unwrap();
        assert_eq!((b.usage, b.working_set, b.limit), (500, 250, u64::MAX));
        assert_eq!((b.swap, b.max_usage, b.events), (4096, 0, None));
        // Missing non-root stat => gone; missing root stat => zeros.
        let e = tmp.path().join("empty");
        std::fs::create_dir_all(&e).unwrap();
        assert!(
            MemcgReader::new()
                .read(&mut FileReader::new(), &e, v2(false))
                .unwrap_err()
                .is_gone()
        );
        let b = MemcgReader::new()
            .read(&mut FileReader::new(), &e, v2(true))
            .unwrap();
        assert_eq!((b.usage, b.working_set), (0, 0));
    }

    fn v1_sample(stat: &str, usage: u64, use_hierarchy: Option<u64>) -> MemcgSample {
        MemcgSample {
            stat: StatMap::parse(stat),
            usage: Some(usage),
            limit: Some(2000),
            max_usage: Some(usage),
            failcnt: Some(0),
            use_hierarchy,
            ..MemcgSample::empty(CgroupKind {
                version: CgroupVersion::V1,
                is_root: false,
                host_swap_used: 0,
            })
        }
    }

    #[test]
    fn v1_accounting_on_values() {
        let stat = "cache 1\nrss 2\nswap 3\ntotal_cache 100\ntotal_rss 50\ntotal_swap 30\n\
                    total_active_file 20\ntotal_inactive_file 300\npgfault 10\ntotal_pgfault 99\n";
        let b = MemoryBreakdown::from_sample(&v1_sample(stat, 1000, None));
        // use_hierarchy missing counts as 1: total_* keys.
        assert_eq!((b.cache, b.rss, b.swap), (100, 50, 30));
        assert_eq!(
            (b.working_set, b.active_file, b.inactive_file),
            (700, 20, Some(300))
        );
        assert_eq!(b.pgfault, 10, "local faults, cAdvisor's quirk");
        assert_eq!(b.available(), Some(1300));
        assert_eq!(b.swap_limit, Some(0), "no memsw file: cAdvisor's 0");
        let b = MemoryBreakdown::from_sample(&v1_sample(stat, 1000, Some(0)));
        assert_eq!((b.cache, b.rss, b.swap, b.working_set), (1, 2, 3, 700));
        // No inactive_file key: the working set is the usage; more inactive than usage: 0.
        assert_eq!(
            MemoryBreakdown::from_sample(&v1_sample("", 1000, None)).working_set,
            1000
        );
        assert_eq!(
            MemoryBreakdown::from_sample(&v1_sample("total_inactive_file 5000\n", 1000, None)).working_set,
            0
        );
    }

    #[test]
    fn v2_accounting_on_values() {
        let kind = |is_root| CgroupKind {
            version: CgroupVersion::V2,
            is_root,
            host_swap_used: 77,
        };
        let stat = StatMap::parse("anon 100\nfile 400\ninactive_file 250\nkernel 9\n");
        let root = MemcgSample {
            stat: stat.clone(),
            ..MemcgSample::empty(kind(true))
        };
        let b = MemoryBreakdown::from_sample(&root);
        assert_eq!((b.usage, b.working_set, b.swap), (500, 250, 77));
        assert!(!b.has_limit());
        assert_eq!(b.events, None);
        let events = MemoryEvents {
            oom_kill: 2,
            ..Default::default()
        };
        let pod = MemcgSample {
            stat,
            usage: Some(600),
            limit: Some(1000),
            swap_current: Some(8),
            events: Some(events),
            ..MemcgSample::empty(kind(false))
        };
        let b = MemoryBreakdown::from_sample(&pod);
        assert_eq!((b.usage, b.working_set, b.limit, b.swap), (600, 350, 1000, 8));
        assert_eq!((b.oom_kill, b.kernel), (Some(2), Some(9)));
        // memory.max missing: unlimited.
        let b = MemoryBreakdown::from_sample(&MemcgSample { limit: None, ..pod });
        assert_eq!(b.limit, u64::MAX);
    }

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
