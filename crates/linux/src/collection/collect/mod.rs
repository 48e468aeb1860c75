//! One collection pass: the kubelet's Summary (memory, swap, fs, rlimit) built from the same
//! kernel files cAdvisor reads, plus headroom's own detail (per-cgroup breakdowns, meminfo and
//! `free` figures, PSI) and a list of what was skipped and why.
//!
//! Where each Summary figure comes from:
//! * `node.memory`/`node.swap`: the hierarchy's root cgroup, limit = `MemTotal` x 1024, swap
//!   limit = `SwapTotal` x 1024 (cAdvisor's raw root);
//! * `node.systemContainers[name="pods"]`: the pod cgroup root (`/kubepods` or
//!   `/kubepods.slice`, or as configured) with its own limit;
//! * `node.systemContainers[name="kubelet"]`: the kubelet process's own cgroup, when a process
//!   named `kubelet` runs here ([`crate::collection::kubelet_cgroup`]); `runtime`/`misc` (only with the
//!   kubelet's `--runtime-cgroups`/`--system-cgroups`) are not emitted;
//! * `pods[]`: one per pod cgroup, `podRef.uid` from the cgroup name. `podRef.name` and
//!   `namespace` are empty: cgroups do not carry them (the kubelet takes them from runtime
//!   labels). Containers are named by their container id for the same reason;
//! * `node.startTime`: boot time, `btime` of `/proc/stat` ([`crate::collection::boottime`]);
//! * `startTime` of containers, pods and system containers: the cgroup's creation time as
//!   cAdvisor reads it from directory and file modification times ([`crate::collection::creation`]); a
//!   captured tree gives the times recorded when it was captured;
//! * `node.rlimit`: [`crate::collection::pids`]; `node.fs` and `node.runtime.imageFs` (= `containerFs`):
//!   [`crate::collection::fsstats`];
//! * `memory.psi` everywhere while the kubelet's `KubeletPSI` gate is on (its default since
//!   v1.34; [`CollectOptions::kubelet_psi_off`]): the cgroup's `memory.pressure` on v2, all
//!   zeros where there is none (v1/hybrid, PSI off); no `psi` at all with the gate off.
//!
//! Read order (deliberate improvement over cAdvisor, which samples cgroups independently): every
//! container's and pod's `memory.stat` is read BEFORE the pod cgroup root's and the node's. A
//! parent's hierarchical counters (`total_*`) are refreshed by a periodic ~2 s flush and lag
//! the children by up to hundreds of MiB; reading the children first flushes the subtree, so
//! the parents' figures are consistent with the children's in the same pass.
//!
//! Robustness: a cgroup that vanishes mid-scan, an unreadable or junk file, a missing
//! controller: the cgroup is skipped with a reason in [`NodeSnapshot::skipped`] and the scan
//! goes on. Only a root that has neither `/proc/meminfo` nor a readable root cgroup is an error
//! (almost certainly a wrong `--root`).
//!
//! Cost: one [`FileReader`] buffer and one [`MemcgReader`] (path buffer, `memory.stat` arena)
//! are reused for every cgroup of every pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::collection::capture_meta::{self, CaptureMeta};
use crate::collection::creation::{self, Clock, CreationProbe};
use crate::collection::discovery::{self, DiscoveredPod};
use crate::collection::kubelet_cgroup::{self, KubeletCgroup};
use crate::collection::layout::{self, Layout};
use crate::collection::memcg::{CgroupKind, CgroupVersion, MemcgError, MemcgReader, MemoryBreakdown};
use crate::collection::meminfo::Meminfo;
use crate::collection::pids;
use crate::collection::psi;
use crate::collection::root::{FileReader, HostRoot, RecordedFile};
use crate::collection::skip::{Skip, SkipReason};

mod filesystems;
mod snapshot;
mod summary;

pub use snapshot::{ContainerCgroup, NodeSnapshot, PodCgroup, PodsCgroup};
use summary::{SummaryParts, build_summary};

/// What to collect and from where.
#[derive(Clone, Debug, Default)]
pub struct CollectOptions {
    /// `/` for the live host, or a captured/synthetic tree.
    pub root: HostRoot,
    /// Pod cgroup root as a cgroup name (`/kubepods`, `kubepods.slice`, or a test parent such
    /// as `/headroom-test-1/kubepods`). `None`: `kubepods` if present, else `kubepods.slice`.
    pub pod_cgroup_root: Option<String>,
    /// nodefs path (default `/var/lib/kubelet`).
    pub nodefs: Option<PathBuf>,
    /// imagefs path (default: first existing runtime root, see [`fsstats::RUNTIME_ROOTS`]).
    pub imagefs: Option<PathBuf>,
    /// Node name for the Summary, used as given (default: `/proc/sys/kernel/hostname`, trimmed
    /// and lower-cased as the kubelet does).
    pub node_name: Option<String>,
    /// Keep each cgroup's whole `memory.stat` in its breakdown (costs memory; off by default).
    pub keep_stat_maps: bool,
    /// The kubelet's `KubeletPSI` feature gate is off: no `psi` in the Summary's memory
    /// objects. Default (false): the gate's default, on.
    pub kubelet_psi_off: bool,
}

/// A pass that could not produce anything.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(
        "{root}: does not look like a host root: no readable proc/meminfo and no readable \
         memory cgroup at {memory_root} ({detail}). Pass --root a directory made by \
         `headroom capture`, or run on the node itself."
    )]
    NotAHost {
        root: PathBuf,
        memory_root: PathBuf,
        detail: String,
    },
    #[error("{path}: capture metadata is unreadable: {detail}")]
    BadMetadata { path: PathBuf, detail: String },
}

/// Collects snapshots; keeps the layout and reusable buffers between passes.
#[derive(Debug)]
pub struct Collector {
    opts: CollectOptions,
    layout: Layout,
    meta: Option<CaptureMeta>,
    files: FileReader,
    memcg: MemcgReader,
    /// `node.startTime`: read once (it does not change while the machine is up).
    boot_time: Option<Timestamp>,
    /// The kubelet's own cgroup (`systemContainers[name="kubelet"]`), looked up once.
    kubelet: KubeletCgroup,
    /// Stats cgroup directories for their creation times (not used on a captured tree).
    creation: CreationProbe,
    /// Real paths of the hierarchy roots where creation times are looked up.
    hierarchies: Vec<PathBuf>,
    /// Creation times handed out since [`Collector::start_recording`], by cgroup name.
    recorded_creation: Option<BTreeMap<String, Timestamp>>,
    /// The node name read from the hostname (see [`Collector::hostname`]).
    hostname: Option<String>,
}

impl Collector {
    /// Detect the layout (and read a capture's metadata when the root is a captured tree).
    pub fn new(opts: CollectOptions) -> Result<Collector, CollectError> {
        let meta = capture_meta::read(&opts.root)
            .map_err(|(path, detail)| CollectError::BadMetadata { path, detail })?;
        let mut files = FileReader::new();
        let layout = layout::detect(&opts.root, &mut files, meta.as_ref().map(|m| &m.layout));
        let mut memcg = MemcgReader::new();
        memcg.keep_stat = opts.keep_stat_maps;
        let boot_time = read_boot_time(&opts.root, &mut files);
        let kubelet = kubelet_cgroup::find(&opts.root, &mut files, layout.mode.is_v2());
        let hierarchies = layout.hierarchies.iter().map(|h| opts.root.path(h)).collect();
        Ok(Collector {
            opts,
            layout,
            meta,
            files,
            memcg,
            boot_time,
            kubelet,
            creation: CreationProbe::new(),
            hierarchies,
            recorded_creation: None,
            hostname: None,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Keep each cgroup's raw readings in its breakdown (`MemoryBreakdown::sample`), for a
    /// recorder that stores what figures are derived from. Off by default: costs memory.
    pub fn keep_samples(&mut self, on: bool) {
        self.memcg.keep_sample = on;
    }

    pub fn options(&self) -> &CollectOptions {
        &self.opts
    }

    /// Metadata of the captured tree being read, if any.
    pub fn capture_meta(&self) -> Option<&CaptureMeta> {
        self.meta.as_ref()
    }

    /// Record every file read from now on (for `capture`); see [`Collector::take_recorded`].
    /// Creation times handed out and the paths stat'ed for them are recorded too (see
    /// [`Collector::take_recorded_creation`], [`Collector::take_stated`]).
    pub fn start_recording(&mut self) {
        self.files = FileReader::recording();
        self.hostname = None;
        self.creation.start_recording();
        self.recorded_creation = Some(BTreeMap::new());
        // The layout files were read before recording started: read them again so they land
        // in the capture.
        let _ = self.files.read(&self.opts.root.path("/proc/self/mountinfo"));
        let _ = self.files.read(&self.opts.root.path("/proc/self/cgroup"));
        let _ = self.files.read(&self.opts.root.path(PROC_STAT));
        self.kubelet = kubelet_cgroup::find(&self.opts.root, &mut self.files, self.layout.mode.is_v2());
    }

    /// Files read since [`Collector::start_recording`].
    pub fn take_recorded(&mut self) -> Vec<RecordedFile> {
        self.files.take_recorded()
    }

    /// Creation times handed out since [`Collector::start_recording`], by cgroup name (what
    /// a capture keeps, since copied files do not keep the cgroups' modification times).
    pub(crate) fn take_recorded_creation(&mut self) -> BTreeMap<String, Timestamp> {
        self.recorded_creation
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Paths stat'ed for creation times since [`Collector::start_recording`], in order.
    pub fn take_stated(&mut self) -> Vec<PathBuf> {
        self.creation.take_stated()
    }

    /// The creation time of cgroup `cgroup` (a name such as `/kubepods/pod1`): from the
    /// capture's record on a captured tree, else from the modification times under the root.
    fn created(&mut self, cgroup: &str, now: Timestamp) -> Option<Timestamp> {
        // A pod-level pass reads nothing a decision does not need: no start times.
        if self.memcg.lean {
            return None;
        }
        let key = creation_key(cgroup);
        let created = match &self.meta {
            Some(meta) => meta.cgroup_created.get(&key).copied(),
            None => {
                let witness = if self.layout.mode.is_v2() {
                    creation::V2_WITNESS
                } else {
                    creation::V1_WITNESS
                };
                let clock = Clock {
                    now,
                    boot: self.boot_time,
                };
                self.creation.probe(&self.hierarchies, &key, witness, clock)
            }
        };
        if let (Some(rec), Some(t)) = (self.recorded_creation.as_mut(), created) {
            rec.insert(key, t);
        }
        created
    }

    fn version(&self) -> CgroupVersion {
        if self.layout.mode.is_v2() {
            CgroupVersion::V2
        } else {
            CgroupVersion::V1
        }
    }

    /// Host path of a cgroup name in the memory hierarchy (exact capacity: a snapshot keeps
    /// one per cgroup).
    fn cgroup_host_path(&self, cgroup: &str) -> PathBuf {
        let rel = cgroup.trim_start_matches('/');
        let mut path = self.layout.memory_root.clone();
        if !rel.is_empty() {
            path.push(rel);
        }
        path.shrink_to_fit();
        path
    }

    /// One pass, stamped with the current time (or the capture's time for a captured tree).
    pub fn collect(&mut self) -> Result<NodeSnapshot, CollectError> {
        let time = match &self.meta {
            Some(m) => m.captured_at,
            None => Timestamp::now(),
        };
        self.collect_at(time)
    }

    /// One pass stamped with `time` (truncated to whole seconds, as the Summary API prints).
    pub fn collect_at(&mut self, time: Timestamp) -> Result<NodeSnapshot, CollectError> {
        self.collect_with(time, Depth::Full)
    }

    /// A light pass: the node and the pod cgroup root only (plus meminfo, pids and the
    /// filesystems), no pod or container cgroups, so `summary.pods` and `pods` are empty.
    /// Enough for every node-level signal, not for ranking pods.
    ///
    /// Caveat: without the children read first, the pod cgroup root's and the node's
    /// hierarchical `memory.stat` counters may lag by up to a flush period (~2 s, hundreds of
    /// MiB of `inactive_file`); a caller deciding on these figures needs a margin for that.
    pub fn collect_light_at(&mut self, time: Timestamp) -> Result<NodeSnapshot, CollectError> {
        self.collect_with(time, Depth::Light)
    }

    /// A pod-level pass: the agent's fast pass, on its way to a SIGTERM, reads only what the
    /// kubelet's decision reads. No container cgroups (each pod's `containers` and the
    /// Summary's pod `containers` are empty); on v2 each cgroup's `memory.stat`,
    /// `memory.current` and `memory.max` only ([`MemcgReader::lean`]: no peak, swap, events,
    /// pressure); no start times, no kubelet system container, no node PSI; pids and the
    /// filesystems only as `reads` says. Enough for every eviction signal read and for
    /// ranking pods by memory or process count (the kubelet ranks on pod-level stats), not
    /// for disk ranking, local-storage limits or the container part of an eviction message.
    /// Pods are still read before the pod cgroup root and the node (see the module docs).
    pub fn collect_pods_at(
        &mut self,
        time: Timestamp,
        reads: PodPassReads,
    ) -> Result<NodeSnapshot, CollectError> {
        self.collect_with(time, Depth::Pods(reads))
    }

    fn collect_with(&mut self, time: Timestamp, depth: Depth) -> Result<NodeSnapshot, CollectError> {
        // Creation times count only before the exact pass time (cAdvisor's "now").
        let now = time;
        let time = creation::whole_seconds(time);
        let root = self.opts.root.clone();
        let version = self.version();
        let mut skipped = Vec::new();
        // A pod-level pass is the agent's way to a SIGTERM: only the decision's files.
        self.memcg.lean = depth.is_pods();

        // 1. Pods and containers (children first: see the module docs).
        let pods_cgroup_name = self
            .opts
            .pod_cgroup_root
            .as_deref()
            .map(discovery::normalize_cgroup_name)
            .or_else(|| discovery::detect_pod_cgroup_root(&root, &self.layout.memory_root));
        let discovered = match &pods_cgroup_name {
            Some(_) if matches!(depth, Depth::Light) => Vec::new(),
            Some(name) => discovery::discover(
                &root,
                &self.layout.memory_root,
                name,
                matches!(depth, Depth::Full),
                &mut skipped,
            ),
            None => {
                skipped.push(Skip {
                    path: self.cgroup_host_path("/kubepods"),
                    reason: SkipReason::NoPodCgroupRoot,
                });
                Vec::new()
            }
        };
        let kind = CgroupKind {
            version,
            is_root: false,
            host_swap_used: 0,
        };
        let mut pods = Vec::with_capacity(discovered.len());
        for pod in discovered {
            if let Some(p) = self.read_pod(pod, kind, now, &mut skipped) {
                pods.push(p);
            }
        }

        // 2. The pod cgroup root.
        let pods_cgroup = pods_cgroup_name.and_then(|cgroup| {
            let path = self.cgroup_host_path(&cgroup);
            let memory = self.read_cgroup(&path, kind, &mut skipped)?;
            let created = self.created(&cgroup, now);
            Some(PodsCgroup {
                cgroup,
                path,
                created,
                memory,
            })
        });

        // 3. The node: root cgroup, then meminfo right after it (root usage is synthesised
        //    from the same global counters meminfo shows).
        let meminfo_path = root.path("/proc/meminfo");
        let meminfo = match self.files.read(&meminfo_path) {
            Ok(text) => Some(Meminfo::parse(text)),
            Err(e) => {
                skipped.push(Skip {
                    path: PathBuf::from("/proc/meminfo"),
                    reason: SkipReason::MeminfoUnreadable {
                        detail: e.to_string(),
                    },
                });
                None
            }
        };
        let root_kind = CgroupKind {
            version,
            is_root: true,
            host_swap_used: meminfo.as_ref().and_then(|m| m.swap_used()).unwrap_or(0),
        };
        let node_path = self.layout.memory_root.clone();
        let mut root_error = String::new();
        let mut node = match self
            .memcg
            .read(&mut self.files, &root.path(&node_path), root_kind)
        {
            Ok(b) => Some(b),
            Err(e) => {
                root_error = e.to_string();
                skipped.push(Skip {
                    path: node_path.clone(),
                    reason: SkipReason::RootCgroupUnreadable {
                        detail: e.to_string(),
                    },
                });
                None
            }
        };
        if meminfo.is_none() && node.is_none() {
            return Err(CollectError::NotAHost {
                root: root.base().to_path_buf(),
                memory_root: node_path,
                detail: root_error,
            });
        }
        let mem_total = meminfo.as_ref().and_then(|m| m.mem_total());
        let swap_total = meminfo.as_ref().and_then(|m| m.swap_total());
        if let Some(n) = node.as_mut() {
            // cAdvisor's raw root: limit = MemTotal, swap limit = SwapTotal; without
            // SwapTotal it keeps the root cgroup's own spec figure (see `swap_limit`).
            n.limit = mem_total.unwrap_or(u64::MAX);
            if swap_total.is_some() {
                n.swap_limit = swap_total;
            }
        }
        // The kubelet's own cgroup, after the node (a kubelet in `/` reports the node's figures).
        let kubelet = if depth.is_pods() {
            None
        } else {
            self.read_kubelet_cgroup(node.as_ref(), kind, now, &mut skipped)
        };
        if let Some(m) = &meminfo
            && m.malformed_lines > 0
        {
            skipped.push(Skip {
                path: PathBuf::from("/proc/meminfo"),
                reason: SkipReason::MeminfoMalformed {
                    lines: m.malformed_lines,
                },
            });
        }

        // 4. PSI (not in a pod-level pass: no eviction signal reads it), pids, filesystems.
        let psi = if depth.is_pods() {
            None
        } else {
            self.node_psi(&mut skipped)
        };
        let reads = match depth {
            Depth::Pods(r) => r,
            Depth::Full | Depth::Light => PodPassReads::ALL,
        };
        let pid_figures = if reads.pids {
            pids::read(&root, &mut self.files)
        } else {
            pids::PidFigures::default()
        };
        let (nodefs, imagefs) = if reads.filesystems {
            self.filesystems(&mut skipped)
        } else {
            (None, None)
        };
        let node_name = match &self.opts.node_name {
            Some(n) => n.clone(),
            None => self.hostname(),
        };

        let summary = build_summary(SummaryParts {
            time,
            boot_time: self.boot_time,
            node_name,
            with_psi: !self.opts.kubelet_psi_off,
            node: node.as_ref(),
            mem_total,
            pods_cgroup: pods_cgroup.as_ref(),
            kubelet: kubelet.as_ref(),
            pods: &pods,
            pids: &pid_figures,
            nodefs: nodefs.as_ref(),
            imagefs: imagefs.as_ref(),
        });
        Ok(NodeSnapshot {
            time,
            summary,
            layout: self.layout.clone(),
            free: meminfo.as_ref().and_then(|m| m.free()),
            meminfo,
            node,
            pods_cgroup,
            pods,
            psi,
            pids: pid_figures,
            nodefs,
            imagefs,
            skipped,
        })
    }

    /// The node name from the hostname, trimmed and lower-cased as the kubelet does; read once
    /// (the kubelet fixes its node name at start) unless a capture records what is read.
    fn hostname(&mut self) -> String {
        if let Some(n) = &self.hostname {
            return n.clone();
        }
        let name = self
            .files
            .read(&self.opts.root.path("/proc/sys/kernel/hostname"))
            .map(|t| t.trim().to_lowercase())
            .unwrap_or_default();
        if !name.is_empty() && !self.files.is_recording() {
            self.hostname = Some(name.clone());
        }
        name
    }

    /// `/proc/pressure/memory`; `None` on a kernel without PSI (not a problem) or junk
    /// (recorded in `skipped`).
    fn node_psi(&mut self, skipped: &mut Vec<Skip>) -> Option<psi::Psi> {
        let text = self
            .files
            .read(&self.opts.root.path("/proc/pressure/memory"))
            .ok()?;
        match psi::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                skipped.push(Skip {
                    path: PathBuf::from("/proc/pressure/memory"),
                    reason: SkipReason::PsiMalformed {
                        detail: e.to_string(),
                    },
                });
                None
            }
        }
    }

    fn read_pod(
        &mut self,
        pod: DiscoveredPod,
        kind: CgroupKind,
        now: Timestamp,
        skipped: &mut Vec<Skip>,
    ) -> Option<PodCgroup> {
        let mut containers = Vec::with_capacity(pod.containers.len());
        for c in pod.containers {
            let path = self.cgroup_host_path(&c.cgroup);
            if let Some(memory) = self.read_cgroup(&path, kind, skipped) {
                let created = self.created(&c.cgroup, now);
                containers.push(ContainerCgroup {
                    id: c.id,
                    path,
                    created,
                    memory,
                });
            }
        }
        let path = self.cgroup_host_path(&pod.cgroup);
        let memory = self.read_cgroup(&path, kind, skipped)?;
        let created = self.created(&pod.cgroup, now);
        Some(PodCgroup {
            uid: pod.uid,
            qos: pod.qos,
            path,
            created,
            memory,
            containers,
        })
    }

    /// Read one cgroup; on failure record why and return `None`.
    fn read_cgroup(
        &mut self,
        host_path: &Path,
        kind: CgroupKind,
        skipped: &mut Vec<Skip>,
    ) -> Option<MemoryBreakdown> {
        let real = self.opts.root.path(host_path);
        match self.memcg.read(&mut self.files, &real, kind) {
            Ok(b) => {
                if b.malformed_stat_lines > 0 {
                    skipped.push(Skip {
                        path: host_path.join("memory.stat"),
                        reason: SkipReason::MemoryStatMalformed {
                            lines: b.malformed_stat_lines,
                        },
                    });
                }
                Some(b)
            }
            Err(e) => {
                let reason = match &e {
                    MemcgError::Gone(_) => SkipReason::CgroupVanished { detail: None },
                    e if e.is_gone() => SkipReason::CgroupVanished {
                        detail: Some(e.to_string()),
                    },
                    e => SkipReason::CgroupUnreadable {
                        detail: e.to_string(),
                    },
                };
                skipped.push(Skip {
                    path: host_path.to_path_buf(),
                    reason,
                });
                None
            }
        }
    }

    /// The kubelet's own cgroup, when the kubelet runs here and would report it.
    /// Its memory and creation time.
    fn read_kubelet_cgroup(
        &mut self,
        node: Option<&MemoryBreakdown>,
        kind: CgroupKind,
        now: Timestamp,
        skipped: &mut Vec<Skip>,
    ) -> Option<(MemoryBreakdown, Option<Timestamp>)> {
        let cgroup = match &self.kubelet {
            KubeletCgroup::NotRunning => return None,
            KubeletCgroup::Unusable { pid, reason } => {
                skipped.push(Skip {
                    path: PathBuf::from(format!("/proc/{pid}/cgroup")),
                    reason: SkipReason::KubeletCgroupLeftOut {
                        detail: reason.clone(),
                    },
                });
                return None;
            }
            KubeletCgroup::Found { cgroup, .. } => cgroup.clone(),
        };
        let memory = if cgroup.trim_start_matches('/').is_empty() {
            node.cloned()?
        } else {
            let path = self.cgroup_host_path(&cgroup);
            self.read_cgroup(&path, kind, skipped)?
        };
        let created = self.created(&cgroup, now);
        Some((memory, created))
    }
}

/// A cgroup name as a key of recorded creation times: one leading `/`.
fn creation_key(cgroup: &str) -> String {
    format!("/{}", cgroup.trim_start_matches('/'))
}

/// Where the kubelet reads the boot time (`btime`).
const PROC_STAT: &str = "/proc/stat";

/// The node's boot time, `None` when `/proc/stat` is unreadable or has no `btime`.
fn read_boot_time(root: &HostRoot, files: &mut FileReader) -> Option<Timestamp> {
    files
        .read(&root.path(PROC_STAT))
        .ok()
        .and_then(crate::collection::boottime::parse_btime)
}

/// How much of the tree a pass reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Depth {
    Full,
    /// Pod cgroups but no container cgroups, lean reads (see [`Collector::collect_pods_at`]).
    Pods(PodPassReads),
    Light,
}

impl Depth {
    fn is_pods(self) -> bool {
        matches!(self, Depth::Pods(_))
    }
}

/// The node-level figures besides memory that a pod-level pass reads: the caller knows its
/// eviction thresholds, and a signal without a threshold decides nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodPassReads {
    /// `/proc/sys/kernel/{pid_max,threads-max}`, `/proc/loadavg` (`pid.available`).
    pub pids: bool,
    /// nodefs and imagefs `statvfs` (`nodefs.*`, `imagefs.*`, `containerfs.*`).
    pub filesystems: bool,
}

impl PodPassReads {
    /// Everything a full pass reads.
    pub const ALL: PodPassReads = PodPassReads {
        pids: true,
        filesystems: true,
    };
}
