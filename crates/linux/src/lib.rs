//! headroom-linux: everything that reads or changes the Linux kernel's state.
//!
//! Collection reads the same files as cAdvisor (cgroup v1 and v2, `/proc`) and produces the
//! kubelet's numbers; control creates and tears down cgroups for experiments and tests;
//! notify wraps the kernel's memory notifications (v1 usage thresholds, v2 `memory.events`,
//! PSI triggers). All readers take a [`root::HostRoot`] so a captured tree can stand in for
//! the live host.
//!
//! # Collection API (for `status`, the agent and experiments)
//!
//! ```no_run
//! use headroom_linux::collect::{CollectOptions, Collector};
//! use headroom_linux::root::HostRoot;
//!
//! let mut collector = Collector::new(CollectOptions {
//!     root: HostRoot::live(),          // or HostRoot::dir("capture-dir")
//!     pod_cgroup_root: None,           // auto: /kubepods, else /kubepods.slice
//!     ..Default::default()
//! })?;
//! let snap = collector.collect()?;     // reuse the collector: buffers are kept between passes
//! let summary = &snap.summary;         // kubelet-compatible stats/summary
//! let node = snap.node.as_ref();       // MemoryBreakdown of the root cgroup (limit = MemTotal)
//! for pod in &snap.pods { let _ = (&pod.uid, pod.qos, pod.memory.working_set); }
//! for skip in &snap.skipped { eprintln!("{}: {}", skip.path.display(), skip.reason); }
//! # Ok::<(), headroom_linux::collect::CollectError>(())
//! ```
//!
//! * [`collect::Collector`] / [`collect::NodeSnapshot`]: one pass -> `summary`, `layout`,
//!   `meminfo` + `free`, `node`, `pods_cgroup`, `pods` (with `containers`), `psi`, `pids`,
//!   `nodefs`/`imagefs`, `skipped`, `time`.
//! * Low level: [`memcg::MemcgReader::read`] reads one memory cgroup directory (v1 or v2) into a
//!   [`memcg::MemoryBreakdown`] (`to_summary` gives the kubelet's `MemoryStats`);
//!   [`meminfo::Meminfo`], [`psi::parse`], [`pids::read`], [`fsstats::statvfs`],
//!   [`discovery::discover`], [`layout::detect`], [`creation::CreationProbe::probe`] (a
//!   cgroup's creation time, the `startTime` cAdvisor gives the kubelet).
//! * Control (experiments, tests, the agent's kill action): [`control::CgroupHost::detect`]
//!   finds the memory controller (v1 or v2); `create_unique` makes an owned [`control::Cgroup`]
//!   (removed on drop) with `set_memory_limit`, `set_oom_kill_disable` (v1), `spawn`/`command`
//!   (a process that starts inside the cgroup), `pids`, `kill_all`, `terminate(grace)`,
//!   `teardown`; [`control::kill_pod`] = SIGTERM, grace, SIGKILL on an existing cgroup.
//! * [`capture::capture`] writes exactly the files a pass read (plus `headroom-capture.json`),
//!   so `Collector` on the captured directory reproduces the same Summary.

pub mod collection;
pub mod control;
pub mod notify;

// The collection modules keep their old top-level paths (`headroom_linux::memcg`, ...): about
// 30 files in the cli, agent, record and lab crates import them that way, and those files
// belong to other workstreams. New code should use `headroom_linux::collection::...`.
pub use collection::{
    boottime, capture, collect, creation, discovery, fsstats, kubelet_cgroup, layout, memcg, meminfo, pids,
    psi, root,
};
