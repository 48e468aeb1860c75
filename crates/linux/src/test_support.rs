//! Fake host trees for benches and tests of other crates (feature `test-support`, never in a
//! release build): the one builder of a cgroup v1 host with a kubepods tree that the collect
//! and recording benches used to write twice.

use std::io;
use std::path::{Path, PathBuf};

/// The `memory.stat` of a real v1 root cgroup (a sample from the test machine).
pub const V1_STAT: &str = include_str!("../tests/fixtures/samples/sync-v1-root-memory.stat");
/// A real `/proc/self/mountinfo` of a cgroup v1 host.
pub const MOUNTINFO: &str = include_str!("../tests/fixtures/samples/mountinfo.txt");
/// A real `/proc/meminfo`.
pub const MEMINFO: &str = include_str!("../tests/fixtures/samples/sync-meminfo.txt");

/// The files of one v1 memory cgroup besides `memory.stat`, with a live cgroup's values.
pub const V1_CGROUP_FILES: [(&str, &str); 7] = [
    ("memory.usage_in_bytes", "752611328\n"),
    ("memory.max_usage_in_bytes", "854720512\n"),
    ("memory.failcnt", "0\n"),
    ("memory.limit_in_bytes", "9223372036854771712\n"),
    ("memory.use_hierarchy", "1\n"),
    ("memory.kmem.usage_in_bytes", "61026304\n"),
    (
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    ),
];

/// Write `text` at `path`, creating the parent directories.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

/// Cgroup names (relative to the pod root) of `pods` pods with 3 containers each, spread over
/// the three QoS classes as the cgroupfs driver lays them out.
pub fn pod_cgroups(pods: usize) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..pods {
        let qos = ["", "burstable/", "besteffort/"][p % 3];
        let pod = format!("{qos}pod{p:08}-0000-4000-8000-000000000000");
        out.push(pod.clone());
        for c in 0..3 {
            out.push(format!("{pod}/{:064x}", p * 3 + c));
        }
    }
    out
}

/// A fake cgroup v1 host under `dir`: `/proc` (mountinfo, meminfo, loadavg, pid_max) and, for
/// each of `cgroups` (real paths, under `dir/sys/fs/cgroup/memory`), [`V1_STAT`] and
/// [`V1_CGROUP_FILES`]. Returns the memory hierarchy's real path.
pub fn write_v1_host(dir: &Path, cgroups: &[PathBuf]) -> io::Result<PathBuf> {
    write(&dir.join("proc/self/mountinfo"), MOUNTINFO)?;
    write(&dir.join("proc/meminfo"), MEMINFO)?;
    write(&dir.join("proc/loadavg"), "0.1 0.2 0.3 2/333 99\n")?;
    write(&dir.join("proc/sys/kernel/pid_max"), "4194304\n")?;
    for cg in cgroups {
        write(&cg.join("memory.stat"), V1_STAT)?;
        for (file, value) in V1_CGROUP_FILES {
            std::fs::write(cg.join(file), value)?;
        }
    }
    Ok(v1_memory_root(dir))
}

/// The real path of the v1 memory hierarchy of a fake host at `dir`.
pub fn v1_memory_root(dir: &Path) -> PathBuf {
    dir.join("sys/fs/cgroup/memory")
}
