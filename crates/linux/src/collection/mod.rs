//! Collection: read-only, every read through a [`root::HostRoot`] so a captured or synthetic
//! tree can stand in for the live host. Nothing here writes to the kernel.
//!
//! * [`root`]: where the host's files are and the one reader every collector uses.
//! * [`layout`]: which cgroup layout (v1, hybrid, v2) and where the memory hierarchy is.
//! * [`discovery`], [`kubelet_cgroup`]: which cgroups are pods, containers, the kubelet.
//! * [`memcg`], [`meminfo`], [`psi`], [`pids`], [`fsstats`], [`boottime`], [`creation`]: one
//!   source each, parsed into the figures the kubelet gets from cAdvisor.
//! * [`collect`]: one pass over all of them into a [`collect::NodeSnapshot`].
//! * [`capture`]: writes exactly the files a pass read, to replay it elsewhere.

pub mod boottime;
pub mod capture;
pub mod collect;
pub mod creation;
pub mod discovery;
pub mod fsstats;
pub mod kubelet_cgroup;
pub mod layout;
pub mod memcg;
pub mod meminfo;
pub mod pids;
pub mod psi;
pub mod root;
