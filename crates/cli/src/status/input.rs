//! What `headroom status` is computed from, whatever the source (live host, `--root` tree,
//! `--summary` file): the kubelet Summary, optionally the pods from the API, the effective
//! eviction configuration, and, when the kernel files were read, what the Summary cannot say
//! (how memory splits, what `free` prints, where the pods cgroup is).

use headroom_core::config::EvictionConfig;
use headroom_core::pod::Pod;
use headroom_core::summary::Summary;

/// Everything the report is built from. Pure data: building the report does no I/O.
#[derive(Clone, Debug)]
pub struct StatusInput {
    /// Where the numbers came from, for the header (`live host`, `--root /tmp/capture`,
    /// `--summary summary.json`).
    pub source: Source,
    pub summary: Summary,
    /// Pods from `--pods` (the API view: requests, priority). `None` = no pods file.
    pub pods: Option<Vec<Pod>>,
    /// The pods file's name, for the header.
    pub pods_origin: Option<String>,
    pub eviction: EvictionConfig,
    /// The config file's name; `None` = the kubelet's defaults.
    pub config_origin: Option<String>,
    /// headroom-core's lint findings for the config file (empty without `--config`).
    pub config_warnings: Vec<headroom_core::lint::Warning>,
    /// Present when the kernel files were read (live host or `--root`).
    pub host: Option<HostView>,
}

/// Which kind of input the report is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Live,
    Root(String),
    Summary(String),
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Live => "live",
            Source::Root(_) => "root",
            Source::Summary(_) => "summary",
        }
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            Source::Live => None,
            Source::Root(p) | Source::Summary(p) => Some(p),
        }
    }
}

/// What reading the kernel files adds to the Summary.
#[derive(Clone, Debug, Default)]
pub struct HostView {
    /// `cgroup v1 (hybrid)`, `cgroup v2`, ...
    pub layout: String,
    /// The root cgroup, the kubelet's node figures.
    pub node: MemorySplit,
    /// What `free` (procps-ng 4) would print, from /proc/meminfo.
    pub free: Option<FreeFigures>,
    /// The pod cgroup root (`/kubepods`, `/kubepods.slice`) when found.
    pub pods_cgroup: Option<PodsCgroup>,
    /// Where the pods cgroup was looked for, to say so when it was not found.
    pub pods_cgroup_searched: Vec<String>,
    /// The place was named with `--pod-cgroup-root` (not the kubelet's default names).
    pub pods_cgroup_configured: bool,
    /// Pod cgroups found under the pods cgroup.
    pub pods: Vec<PodCgroupView>,
    /// What the collection pass skipped, and why (typed: a stable code and the sentence).
    pub skipped: Vec<headroom_linux::collection::skip::Skip>,
}

/// How one cgroup's memory splits, as the kernel reports it (bytes). Fields the kernel does
/// not report on this layout are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemorySplit {
    pub usage: u64,
    pub working_set: u64,
    pub anon: Option<u64>,
    /// Page cache (v1 `total_cache`, v2 `file`); includes shmem/tmpfs.
    pub cache: Option<u64>,
    pub active_file: Option<u64>,
    pub inactive_file: Option<u64>,
    pub shmem: Option<u64>,
    /// Kernel memory charged to the cgroup (v2 `kernel`, v1 `kmem.usage_in_bytes`).
    pub kernel: Option<u64>,
    /// Dirty and writeback file pages (v2 `file_dirty`/`file_writeback`, v1 `total_dirty`/
    /// `total_writeback`): file cache the kernel cannot drop before it reaches the disk.
    pub dirty: Option<u64>,
    pub writeback: Option<u64>,
    /// The cgroup's memory limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// `free -b` figures (procps-ng 4.x formulas).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FreeFigures {
    pub total: u64,
    pub used: u64,
    pub free: u64,
    pub shared: u64,
    pub buff_cache: u64,
    pub available: u64,
}

/// The pods cgroup: its path and memory.
#[derive(Clone, Debug, Default)]
pub struct PodsCgroup {
    pub path: String,
    pub memory: MemorySplit,
}

/// One pod cgroup: what the cgroup tree says about a pod without the API.
#[derive(Clone, Debug, Default)]
pub struct PodCgroupView {
    pub uid: String,
    /// QoS class from the cgroup path (`Guaranteed`, `Burstable`, `BestEffort`).
    pub qos: Option<String>,
    pub memory: MemorySplit,
}
