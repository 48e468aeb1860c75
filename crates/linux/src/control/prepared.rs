//! Processes held ready for a kill decided ahead of time (the agent's prepared kill): one
//! pidfd per process, opened when the kill is prepared, signalled at the crossing with no
//! `cgroup.procs` walk in between.
//!
//! A pidfd names one process for as long as it is held: a process that exits after the
//! preparation cannot hand its pid to another process that the signal would then hit
//! (`pidfd_send_signal` on an exited process fails with `ESRCH`). So holding pidfds is safe
//! where holding pids is not. The same rails as [`super::FirstSigterm`]: never pid 1, never
//! this process.

use std::os::fd::OwnedFd;
use std::time::Instant;

use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

use super::FirstSigterm;

/// Most processes a prepared kill holds pidfds for; a pod with more is not prepared (the
/// kill then lists its processes at the crossing, as without preparation).
pub const MAX_PREPARED_PROCESSES: usize = 64;

/// Why processes could not be held ready.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("{0} processes, more than the {MAX_PREPARED_PROCESSES} a prepared kill holds")]
    TooMany(usize),
    #[error("no process left to hold (all exited, or only pid 1 / the agent itself)")]
    Empty,
    #[error("pidfd_open({pid}) failed: {errno} (a kernel before 5.3 has no pidfds)")]
    Pidfd { pid: i32, errno: String },
}

/// The processes of a pod, each pinned by a pidfd.
#[derive(Debug)]
pub struct PreparedProcesses {
    held: Vec<(i32, OwnedFd)>,
}

impl PreparedProcesses {
    /// Open a pidfd for every pid of `listed` (just read from the target's `cgroup.procs`)
    /// except pid 1 and this process; a pid that exited since it was listed is left out.
    pub fn open(listed: &[i32]) -> Result<PreparedProcesses, PrepareError> {
        if listed.len() > MAX_PREPARED_PROCESSES {
            return Err(PrepareError::TooMany(listed.len()));
        }
        let own = rustix::process::getpid().as_raw_nonzero().get();
        let mut held = Vec::with_capacity(listed.len());
        for &raw in listed.iter().filter(|&&p| p > 1 && p != own) {
            let Some(pid) = Pid::from_raw(raw) else {
                continue;
            };
            match pidfd_open(pid, PidfdFlags::empty()) {
                Ok(fd) => held.push((raw, fd)),
                Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    return Err(PrepareError::Pidfd {
                        pid: raw,
                        errno: e.to_string(),
                    });
                }
            }
        }
        if held.is_empty() {
            return Err(PrepareError::Empty);
        }
        Ok(PreparedProcesses { held })
    }

    /// The pids held, in the order listed.
    pub fn pids(&self) -> Vec<i32> {
        self.held.iter().map(|(p, _)| *p).collect()
    }

    /// SIGTERM every held process still alive: the first SIGTERM of the kill, to be followed
    /// by [`super::kill_pod_after`] (newcomers, the grace period, SIGKILL).
    pub fn sigterm(&self) -> FirstSigterm {
        let at = Instant::now();
        let pids = self
            .held
            .iter()
            .filter(|(_, fd)| pidfd_send_signal(fd, Signal::TERM).is_ok())
            .map(|(p, _)| *p)
            .collect();
        FirstSigterm { pids, at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn init_and_self_are_never_held() {
        let own = std::process::id() as i32;
        assert_eq!(
            PreparedProcesses::open(&[1, own]).unwrap_err(),
            PrepareError::Empty
        );
        let many: Vec<i32> = (2..2 + MAX_PREPARED_PROCESSES as i32 + 1).collect();
        assert!(matches!(
            PreparedProcesses::open(&many),
            Err(PrepareError::TooMany(_))
        ));
    }

    #[test]
    fn a_held_process_is_signalled_and_an_exited_one_is_not() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let held = match PreparedProcesses::open(&[pid]) {
            Ok(h) => h,
            // A kernel without pidfds (before 5.3): nothing to test here.
            Err(PrepareError::Pidfd { .. }) => {
                child.kill().unwrap();
                child.wait().unwrap();
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(held.pids(), vec![pid]);
        let first = held.sigterm();
        assert_eq!(first.pids, vec![pid]);
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(15));
        // Exited and reaped: its pid may belong to another process now; the pidfd does not.
        assert!(held.sigterm().pids.is_empty());
    }
}
