//! Inputs of the kubelet's `pid.available` signal (`node.rlimit` in the Summary).
//!
//! `maxpid` = min(`/proc/sys/kernel/pid_max`, `/proc/sys/kernel/threads-max`), whichever are
//! readable; `curproc` = the total-tasks figure of `/proc/loadavg` (the number after the `/`).
//! The kubelet falls back to `sysinfo().procs` when loadavg is unreadable; headroom does not
//! (that would read the machine running headroom, not the captured host) and leaves it unset.

use crate::collection::root::{FileReader, HostRoot};

/// What the rlimit readers found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PidFigures {
    pub pid_max: Option<i64>,
    pub threads_max: Option<i64>,
    pub total_tasks: Option<i64>,
}

impl PidFigures {
    /// The kubelet's `maxpid`.
    pub fn max_pid(&self) -> Option<i64> {
        match (self.pid_max, self.threads_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Read the three files; unreadable or junk values stay `None`.
pub fn read(root: &HostRoot, reader: &mut FileReader) -> PidFigures {
    let mut single = |p: &str| {
        reader
            .read(&root.path(p))
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
    };
    let pid_max = single("/proc/sys/kernel/pid_max");
    let threads_max = single("/proc/sys/kernel/threads-max");
    let total_tasks = reader
        .read(&root.path("/proc/loadavg"))
        .ok()
        .and_then(parse_loadavg_total);
    PidFigures {
        pid_max,
        threads_max,
        total_tasks,
    }
}

/// `0.00 0.01 0.05 1/210 12345` -> 210.
pub fn parse_loadavg_total(text: &str) -> Option<i64> {
    let field = text.split_whitespace().nth(3)?;
    field.split_once('/')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_and_min_of_limits() {
        assert_eq!(parse_loadavg_total("0.00 0.01 0.05 1/210 12345\n"), Some(210));
        assert_eq!(parse_loadavg_total("junk"), None);
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc/sys/kernel")).unwrap();
        std::fs::write(tmp.path().join("proc/sys/kernel/pid_max"), "4194304\n").unwrap();
        std::fs::write(tmp.path().join("proc/sys/kernel/threads-max"), "192000\n").unwrap();
        std::fs::write(tmp.path().join("proc/loadavg"), "0.1 0.2 0.3 2/333 99\n").unwrap();
        let f = read(&HostRoot::dir(tmp.path()), &mut FileReader::new());
        assert_eq!(f.max_pid(), Some(192_000));
        assert_eq!(f.total_tasks, Some(333));
        std::fs::write(tmp.path().join("proc/sys/kernel/threads-max"), "lots\n").unwrap();
        let f = read(&HostRoot::dir(tmp.path()), &mut FileReader::new());
        assert_eq!(f.max_pid(), Some(4_194_304));
    }
}
