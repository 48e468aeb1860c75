//! The agent's kernel tests' shared parts: the v1 cgroup host behind the shared gate, and the
//! processes a test started, killed on drop. Included with `#[path = "common/agent_kernel.rs"]`
//! next to `mod cgroups` (the gate, `crates/linux/tests/common/cgroups.rs`).
#![allow(dead_code)]

use headroom_linux::control::CgroupHost;
use std::process::Child;

/// The v1 cgroup host, or `None` when the test skips (see `cgroups::skip_unless_kernel`).
pub fn kernel_host(test: &str) -> Option<CgroupHost> {
    if crate::cgroups::skip_unless_kernel(test) {
        return None;
    }
    Some(CgroupHost::detect().expect("cgroup host"))
}

/// Processes the test started; killed by pid on drop (before the cgroups are torn down).
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
