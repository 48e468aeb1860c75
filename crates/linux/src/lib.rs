//! headroom-linux: everything that reads or changes the Linux kernel's state.
//!
//! Collection reads the same files as cAdvisor (cgroup v1 and v2, `/proc`) and produces the
//! kubelet's numbers; control creates and tears down cgroups for experiments and tests;
//! notify wraps the kernel's memory notifications (v1 usage thresholds, v2 `memory.events`,
//! PSI triggers). All readers take a [`root::HostRoot`] so a captured tree can stand in for
//! the live host.

pub mod capture;
pub mod collect;
pub mod control;
pub mod discovery;
pub mod fsstats;
pub mod layout;
pub mod memcg;
pub mod meminfo;
pub mod notify;
pub mod pids;
pub mod psi;
pub mod root;
