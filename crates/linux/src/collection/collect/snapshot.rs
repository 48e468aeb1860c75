//! What one pass produces: [`NodeSnapshot`] and the per-cgroup records in it.

use std::path::PathBuf;

use headroom_core::summary::Summary;
use jiff::Timestamp;
use serde::Serialize;

use crate::collection::discovery::Qos;
use crate::collection::fsstats::FsFigures;
use crate::collection::layout::Layout;
use crate::collection::memcg::MemoryBreakdown;
use crate::collection::meminfo::{FreeFigures, Meminfo};
use crate::collection::pids::PidFigures;
use crate::collection::psi::Psi;
use crate::collection::skip::Skip;

/// The pod cgroup root and its memory.
#[derive(Clone, Debug, Serialize)]
pub struct PodsCgroup {
    /// cgroup name, e.g. `/kubepods`.
    pub cgroup: String,
    /// Host path, e.g. `/sys/fs/cgroup/memory/kubepods`.
    pub path: PathBuf,
    /// Creation time ([`crate::collection::creation`]), when one could be read.
    pub created: Option<Timestamp>,
    pub memory: MemoryBreakdown,
}

/// A container cgroup and its memory.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerCgroup {
    pub id: String,
    /// Host path of the cgroup.
    pub path: PathBuf,
    /// Creation time ([`crate::collection::creation`]), when one could be read.
    pub created: Option<Timestamp>,
    pub memory: MemoryBreakdown,
}

/// A pod cgroup, its memory and its containers.
#[derive(Clone, Debug, Serialize)]
pub struct PodCgroup {
    pub uid: String,
    pub qos: Qos,
    /// Host path of the pod cgroup.
    pub path: PathBuf,
    /// Creation time ([`crate::collection::creation`]), when one could be read.
    pub created: Option<Timestamp>,
    pub memory: MemoryBreakdown,
    pub containers: Vec<ContainerCgroup>,
}

/// Everything one pass produced.
#[derive(Clone, Debug, Serialize)]
pub struct NodeSnapshot {
    /// Sample time (whole seconds, as the Summary API prints it).
    pub time: Timestamp,
    /// The kubelet-compatible Summary.
    pub summary: Summary,
    pub layout: Layout,
    pub meminfo: Option<Meminfo>,
    pub free: Option<FreeFigures>,
    /// The node (root cgroup), limit = `MemTotal`. `None` if unreadable (see `skipped`).
    pub node: Option<MemoryBreakdown>,
    pub pods_cgroup: Option<PodsCgroup>,
    pub pods: Vec<PodCgroup>,
    /// System-wide `/proc/pressure/memory` (any layout), when the kernel has PSI.
    pub psi: Option<Psi>,
    pub pids: PidFigures,
    pub nodefs: Option<FsFigures>,
    pub imagefs: Option<FsFigures>,
    /// What could not be read, and why; also notes about unobserved signals.
    pub skipped: Vec<Skip>,
}
