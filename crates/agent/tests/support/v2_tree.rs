//! A fake cgroup v2 host for the agent's integration tests: the skeleton every such host
//! shares (the root with the memory controller, `/proc/meminfo`, the root's `memory.stat`),
//! onto which each test writes its own pods cgroup. The agent is pointed at it with
//! `support/agent_config.rs`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// Writes `text` to `dir/name`, creating the folders on the way.
pub fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The shared skeleton under `dir`: a 4 GB node with 3 GB free and a near-empty root cgroup.
/// Returns the cgroup mount (`dir/sys/fs/cgroup`).
pub fn v2_skeleton(dir: &Path) -> PathBuf {
    let cg = dir.join("sys/fs/cgroup");
    write(&cg, "cgroup.controllers", "cpuset cpu io memory pids\n");
    write(
        &dir.join("proc"),
        "meminfo",
        "MemTotal:        4000000 kB\nMemFree:         3000000 kB\n",
    );
    write(&cg, "memory.stat", "anon 1000\nfile 0\ninactive_file 0\n");
    cg
}
