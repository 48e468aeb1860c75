//! The polling yardstick the agent's reaction is measured against: every `every` (10 ms), read
//! a cgroup's working set (usage minus inactive file, as the kubelet) and, once it exceeds a
//! limit, SIGKILL every process under a victims cgroup. The simplest evictor that can win a
//! race against the OOM killer, and what it costs to run all the time. cgroup v1
//! (`memory.usage_in_bytes`, `total_inactive_file`) and v2 (`memory.current`,
//! `inactive_file`), told apart by which usage file exists.

use headroom_linux::control::{Cgroup, CgroupHost};
use std::io;
use std::path::Path;
use std::time::Duration;

/// The working set of `cgroup`, or None when its files cannot be read.
pub fn working_set(cgroup: &Path) -> Option<u64> {
    let (usage_file, inactive_key) = if cgroup.join("memory.current").exists() {
        ("memory.current", "inactive_file ")
    } else {
        ("memory.usage_in_bytes", "total_inactive_file ")
    };
    let usage: u64 = std::fs::read_to_string(cgroup.join(usage_file))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(cgroup.join("memory.stat")).ok()?;
    let inactive: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix(inactive_key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some(usage.saturating_sub(inactive))
}

/// Run forever (until killed): poll `cgroup` every `every`; above `working_set_above` bytes,
/// SIGKILL everything under `victims`.
pub fn run(cgroup: &Path, victims: &Path, working_set_above: u64, every: Duration) -> io::Result<()> {
    if working_set(cgroup).is_none() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "cannot read the working set of {} (memory.current or memory.usage_in_bytes, and memory.stat)",
                cgroup.display()
            ),
        ));
    }
    let host = CgroupHost::detect().map_err(io::Error::other)?;
    let victims = Cgroup::open(&host, victims).map_err(io::Error::other)?;
    loop {
        if working_set(cgroup).is_some_and(|ws| ws > working_set_above) {
            for pid in victims.pids_recursive().unwrap_or_default() {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_set_reads_v1_and_v2_files() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = dir.path().join("v2");
        std::fs::create_dir(&v2).unwrap();
        std::fs::write(v2.join("memory.current"), "1000\n").unwrap();
        std::fs::write(v2.join("memory.stat"), "anon 700\ninactive_file 300\n").unwrap();
        assert_eq!(working_set(&v2), Some(700));
        let v1 = dir.path().join("v1");
        std::fs::create_dir(&v1).unwrap();
        std::fs::write(v1.join("memory.usage_in_bytes"), "1000\n").unwrap();
        std::fs::write(
            v1.join("memory.stat"),
            "inactive_file 5\ntotal_inactive_file 100\n",
        )
        .unwrap();
        assert_eq!(working_set(&v1), Some(900));
        assert_eq!(working_set(dir.path()), None);
        let err = run(dir.path(), dir.path(), 1, Duration::from_millis(10)).unwrap_err();
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
    }
}
