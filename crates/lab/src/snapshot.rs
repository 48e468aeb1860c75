//! One reading of an experiment cgroup's memory with cAdvisor's arithmetic, plus the host's
//! `free`-style buff/cache. Figures come from `headroom_linux::memcg` (the same reader the
//! collector uses), so the experiments show exactly the numbers headroom reports elsewhere.

use headroom_linux::control::Cgroup;
use headroom_linux::memcg::{CgroupKind, MemcgReader, MemoryBreakdown};
use headroom_linux::meminfo::Meminfo;
use headroom_linux::root::FileReader;
use std::path::Path;

/// A cgroup's memory figures at one moment, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// v1 `memory.usage_in_bytes` / v2 `memory.current` (includes kernel memory).
    pub usage: u64,
    /// Anonymous memory (v1 `total_rss`, v2 `anon`).
    pub anon: u64,
    /// Page cache (v1 `total_cache`, v2 `file`).
    pub cache: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    /// cAdvisor's working set: usage - inactive_file, clamped at 0.
    pub working_set: u64,
    /// Kernel OOM kills counted in this cgroup (v1 `memory.oom_control`, v2 `memory.events`).
    pub oom_kill: u64,
    /// Host `free` buff/cache (Buffers + Cached + SReclaimable), when /proc/meminfo was read.
    pub host_buff_cache: Option<u64>,
}

impl Snapshot {
    fn from_breakdown(b: &MemoryBreakdown) -> Self {
        Snapshot {
            usage: b.usage,
            anon: b.rss,
            cache: b.cache,
            active_file: b.active_file,
            inactive_file: b.inactive_file.unwrap_or(0),
            working_set: b.working_set,
            oom_kill: b.oom_kill.or(b.events.as_ref().map(|e| e.oom_kill)).unwrap_or(0),
            host_buff_cache: None,
        }
    }

    /// `active_file + inactive_file`: the file pages on the LRU lists.
    pub fn file_lru(&self) -> u64 {
        self.active_file + self.inactive_file
    }
}

/// Reads snapshots of one cgroup, reusing buffers (the hot-cache sampler runs every 10 ms).
pub struct Sampler {
    reader: MemcgReader,
    files: FileReader,
    kind: CgroupKind,
    dir: std::path::PathBuf,
}

impl Sampler {
    pub fn new(cgroup: &Cgroup) -> Self {
        Sampler {
            reader: MemcgReader::new(),
            files: FileReader::new(),
            kind: CgroupKind {
                version: cgroup.version(),
                is_root: false,
                host_swap_used: 0,
            },
            dir: cgroup.path().to_path_buf(),
        }
    }

    /// The cgroup's figures only (cheap; for the 10 ms sampler).
    pub fn cgroup(&mut self) -> anyhow::Result<Snapshot> {
        let b = self
            .reader
            .read(&mut self.files, &self.dir, self.kind)
            .map_err(|e| anyhow::anyhow!("reading memory figures of {}: {e}", self.dir.display()))?;
        Ok(Snapshot::from_breakdown(&b))
    }

    /// The cgroup's figures plus the host's buff/cache.
    pub fn full(&mut self) -> anyhow::Result<Snapshot> {
        let mut snap = self.cgroup()?;
        snap.host_buff_cache = host_buff_cache(&mut self.files);
        Ok(snap)
    }
}

fn host_buff_cache(files: &mut FileReader) -> Option<u64> {
    let text = files.read(Path::new("/proc/meminfo")).ok()?;
    Meminfo::parse(text).free().map(|f| f.buff_cache)
}
