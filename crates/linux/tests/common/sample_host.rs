//! A host tree (`DIR/sys/fs/cgroup/memory`, `DIR/proc/...`) whose cgroup v1 root is the real
//! root captured on this machine kind (`tests/fixtures/samples/sync-*`, copied from
//! /work/shared/samples). Shared by the test files of headroom-linux and of the CLI, which
//! include it with `#[path]`; tests add their kubepods subtree and extra files on top.
#![allow(dead_code)] // each including test file uses its own part

use std::path::{Path, PathBuf};

/// The samples directory. Spelled through `../linux` so that it resolves from either crate's
/// manifest directory (the file is compiled into both).
pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../linux/tests/fixtures/samples");

/// The root's files every collection needs.
const BASIC: [&str; 6] = [
    "memory.stat",
    "memory.usage_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.failcnt",
    "memory.limit_in_bytes",
    "memory.use_hierarchy",
];

/// The files a breakdown can also show (kernel memory, swap, NUMA).
const EXTRA: [&str; 3] = [
    "memory.kmem.usage_in_bytes",
    "memory.memsw.usage_in_bytes",
    "memory.numa_stat",
];

/// Which of the root's captured files the tree gets.
#[derive(Clone, Copy)]
pub enum RootFiles {
    /// What every collection reads.
    Basic,
    /// Also kernel memory, memsw usage and numa_stat.
    All,
}

pub fn sample_path(name: &str) -> PathBuf {
    Path::new(SAMPLES).join(name)
}

/// Build the host tree under `dir`; returns the v1 memory mount (`DIR/sys/fs/cgroup/memory`).
pub fn v1_sample_host(dir: &Path, files: RootFiles) -> PathBuf {
    let mem = dir.join("sys/fs/cgroup/memory");
    std::fs::create_dir_all(&mem).unwrap();
    std::fs::create_dir_all(dir.join("proc/self")).unwrap();
    let copy = |from: &str, to: &Path| {
        std::fs::copy(sample_path(from), to).unwrap_or_else(|e| panic!("copying sample {from}: {e}"));
    };
    copy("sync-meminfo.txt", &dir.join("proc/meminfo"));
    copy("mountinfo.txt", &dir.join("proc/self/mountinfo"));
    let extra: &[&str] = match files {
        RootFiles::Basic => &[],
        RootFiles::All => &EXTRA,
    };
    for f in BASIC.iter().chain(extra) {
        copy(&format!("sync-v1-root-{f}"), &mem.join(f));
    }
    mem
}
