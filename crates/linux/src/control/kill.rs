//! Stopping the processes of a cgroup subtree: the recursive pid walk, SIGTERM with a grace
//! period, then SIGKILL (or v2 `cgroup.kill`), and the agent's [`kill_pod`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::{Cgroup, CgroupHost, CgroupVersion, ControlError, Result, read_file, write_file};

/// How long [`Cgroup::kill_all`] keeps signalling before it gives up: processes that fork
/// while we walk `cgroup.procs` need a few rounds; a process stuck in uninterruptible sleep
/// (D state) can take a while to die.
const KILL_DEADLINE: Duration = Duration::from_secs(5);
/// Pause between two rounds of the SIGKILL walk.
const KILL_ROUND_PAUSE: Duration = Duration::from_millis(5);
/// How long to wait after writing `cgroup.kill` before falling back to the SIGKILL walk.
const CGROUP_KILL_WAIT: Duration = Duration::from_secs(1);
/// What [`Cgroup::kill_all`] and [`Cgroup::terminate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KillReport {
    /// Pids sent SIGTERM (terminate only).
    pub sigterm: Vec<i32>,
    /// Pids sent SIGKILL (including repeats over several rounds, each pid once).
    pub sigkill: Vec<i32>,
    /// `cgroup.kill` was written (v2).
    pub used_cgroup_kill: bool,
    /// Every process had exited within the grace period (no SIGKILL needed).
    pub exited_in_grace: bool,
    /// Time from the first signal until the cgroup was empty.
    pub elapsed: Duration,
}

impl Cgroup {
    /// Pids listed in this cgroup's own `cgroup.procs` (not its descendants').
    pub fn pids(&self) -> Result<Vec<i32>> {
        let procs = self.file("cgroup.procs");
        if !self.path.is_dir() {
            return Err(ControlError::CgroupMissing {
                path: self.path.clone(),
            });
        }
        let text = read_file(&procs)?;
        Ok(parse_pids(&text))
    }

    /// Pids of this cgroup and all its descendants, never pid 1 (see [`subtree_pids`]).
    pub fn pids_recursive(&self) -> Result<Vec<i32>> {
        Ok(subtree_pids(&self.path)?.into_iter().filter(|&p| p > 1).collect())
    }

    /// Live (non-zombie) processes of the subtree. A zombie holds no memory and only waits
    /// for its parent to reap it, so it does not count as "still running".
    fn live_pids(&self) -> Result<Vec<i32>> {
        Ok(self
            .pids_recursive()?
            .into_iter()
            .filter(|&p| is_alive(p))
            .collect())
    }

    /// This cgroup and every descendant directory, deepest first.
    pub(super) fn subtree_bottom_up(&self) -> Result<Vec<PathBuf>> {
        subtree_bottom_up(&self.path)
    }

    /// Kill every process of this cgroup and its descendants and wait until none is left.
    ///
    /// v2 with `cgroup.kill`: one write kills the whole subtree, race-free against forks.
    /// Otherwise (v1, older v2): SIGKILL every pid in `cgroup.procs`, repeatedly, until the
    /// subtree is empty or 5 s have passed.
    pub fn kill_all(&self) -> Result<KillReport> {
        let start = Instant::now();
        let mut report = KillReport::default();
        self.kill_remaining(&mut report, start)?;
        report.elapsed = start.elapsed();
        Ok(report)
    }

    fn kill_remaining(&self, report: &mut KillReport, start: Instant) -> Result<()> {
        let kill_file = self.file("cgroup.kill");
        if self.host.version == CgroupVersion::V2 && kill_file.exists() {
            write_file(&kill_file, "1")?;
            report.used_cgroup_kill = true;
            let waited = Instant::now();
            while waited.elapsed() < CGROUP_KILL_WAIT {
                if self.live_pids()?.is_empty() {
                    return Ok(());
                }
                std::thread::sleep(KILL_ROUND_PAUSE);
            }
            // Fall through: signal what is left one by one.
        }
        let deadline = Instant::now() + KILL_DEADLINE;
        loop {
            let live = self.live_pids()?;
            if live.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ControlError::StillPopulated {
                    path: self.path.clone(),
                    pids: live,
                    waited_ms: start.elapsed().as_millis(),
                });
            }
            for pid in live {
                if send_signal(pid, Signal::KILL) && !report.sigkill.contains(&pid) {
                    report.sigkill.push(pid);
                }
            }
            std::thread::sleep(KILL_ROUND_PAUSE);
        }
    }

    /// Stop a workload the way the kubelet stops a pod: SIGTERM to every process of the
    /// subtree, wait up to `grace` for them to exit, then kill what is left
    /// ([`Cgroup::kill_all`]). A zero grace period sends SIGKILL at once.
    pub fn terminate(&self, grace: Duration) -> Result<KillReport> {
        self.terminate_after(grace, Instant::now(), KillReport::default())
    }

    /// [`Cgroup::terminate`] where the caller may have sent the first SIGTERMs already, at
    /// `start` (listed in `report.sigterm`): SIGTERM whatever else lives in the subtree (a
    /// process forked since the caller's list), wait what is left of `grace` from `start`,
    /// then kill what is left.
    fn terminate_after(&self, grace: Duration, start: Instant, mut report: KillReport) -> Result<KillReport> {
        if !grace.is_zero() {
            let live = match self.live_pids() {
                Ok(pids) => pids,
                // The caller's SIGTERM worked and the runtime removed the cgroup already.
                Err(e) if e.cgroup_gone() && !report.sigterm.is_empty() => Vec::new(),
                Err(e) => return Err(e),
            };
            for pid in live {
                if !report.sigterm.contains(&pid) && send_signal(pid, Signal::TERM) {
                    report.sigterm.push(pid);
                }
            }
            loop {
                let alive = match self.live_pids() {
                    Ok(pids) => pids,
                    // Signalled, the processes exited and the runtime removed their cgroup
                    // during the wait: the SIGTERM worked; the target did not vanish.
                    Err(e) if e.cgroup_gone() && !report.sigterm.is_empty() => Vec::new(),
                    Err(e) => return Err(e),
                };
                if alive.is_empty() {
                    report.exited_in_grace = true;
                    report.elapsed = start.elapsed();
                    return Ok(report);
                }
                if start.elapsed() >= grace {
                    break;
                }
                std::thread::sleep(KILL_ROUND_PAUSE.min(grace.saturating_sub(start.elapsed())));
            }
        }
        self.kill_remaining(&mut report, start)?;
        report.elapsed = start.elapsed();
        Ok(report)
    }
}

/// The agent's `kill` action: stop every process of the pod cgroup at `path` (absolute, or
/// relative to the memory controller root) with SIGTERM, `grace`, SIGKILL. The cgroup itself
/// is left in place (the runtime owns it).
pub fn kill_pod(host: &CgroupHost, path: &Path, grace: Duration) -> Result<KillReport> {
    Cgroup::open(host, path)?.terminate(grace)
}

/// The first SIGTERM of a kill, sent by a caller that has just listed the pod's processes
/// (the agent's rails list them: [`subtree_pids`]): one `kill` per process and nothing else,
/// no second walk of the tree and no look at `/proc/<pid>` first (a zombie ignores the
/// signal), so the SIGTERM is not kept waiting by bookkeeping. Then [`kill_pod_after`] does
/// the rest: newcomers, the grace period, SIGKILL.
#[derive(Clone, Debug)]
pub struct FirstSigterm {
    /// Pids signalled (never pid 1, never this process).
    pub pids: Vec<i32>,
    /// When the first signal went out: the grace period runs from here.
    pub at: Instant,
}

impl FirstSigterm {
    /// SIGTERM every pid of `listed` (from the target's `cgroup.procs`, just read).
    pub fn send(listed: &[i32]) -> FirstSigterm {
        let at = Instant::now();
        let pids = listed
            .iter()
            .copied()
            .filter(|&p| send_signal(p, Signal::TERM))
            .collect();
        FirstSigterm { pids, at }
    }
}

/// [`kill_pod`] after a [`FirstSigterm`]: SIGTERM the processes the first round did not reach
/// (forked since it listed them), wait what is left of `grace` since the first signal, then
/// SIGKILL (`cgroup.kill` on v2). A cgroup gone after the first SIGTERM is a pod that
/// stopped, not a vanished target.
pub fn kill_pod_after(
    host: &CgroupHost,
    path: &Path,
    grace: Duration,
    first: FirstSigterm,
) -> Result<KillReport> {
    let report = KillReport {
        sigterm: first.pids,
        ..KillReport::default()
    };
    match Cgroup::open(host, path) {
        Ok(cg) => cg.terminate_after(grace, first.at, report),
        Err(e) if e.cgroup_gone() && !report.sigterm.is_empty() => Ok(KillReport {
            exited_in_grace: true,
            elapsed: first.at.elapsed(),
            ..report
        }),
        Err(e) => Err(e),
    }
}

/// Every pid listed in the `cgroup.procs` of `cgroup` and of all its descendants, sorted,
/// each once, pid 1 included (the agent may be pid 1 of its container: its own-pid rail needs
/// to see it; [`Cgroup::pids_recursive`] leaves it out because it signals). The one recursive
/// pid walk: kills, the agent's rails and its cleanup wait all list processes through it.
///
/// `cgroup` is a real path (under `--root` where there is one). Errors: the cgroup directory
/// is missing ([`ControlError::CgroupMissing`]) or a `cgroup.procs` cannot be read for another
/// reason than having vanished; a descendant removed during the walk has no processes left.
pub fn subtree_pids(cgroup: &Path) -> Result<Vec<i32>> {
    let mut all = Vec::new();
    for dir in subtree_bottom_up(cgroup)? {
        match read_file(&dir.join("cgroup.procs")) {
            Ok(text) => all.extend(listed_pids(&text)),
            // A child cgroup removed while we walk has no processes left.
            Err(ControlError::FileMissing { .. } | ControlError::CgroupMissing { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    all.sort_unstable();
    all.dedup();
    Ok(all)
}

/// This cgroup and every descendant directory, deepest first.
fn subtree_bottom_up(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Err(ControlError::CgroupMissing {
            path: path.to_path_buf(),
        });
    }
    let mut order = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(entry.path());
                }
            }
        }
        order.push(dir);
    }
    // Parents were pushed before their children; reverse so children come first.
    order.reverse();
    Ok(order)
}

/// The pids of a `cgroup.procs` text (junk and non-positive entries left out).
fn listed_pids(text: &str) -> impl Iterator<Item = i32> + '_ {
    text.split_whitespace()
        .filter_map(|t| t.parse::<i32>().ok())
        .filter(|&p| p > 0)
}

/// The pids of a `cgroup.procs` text that may be signalled (never pid 1).
fn parse_pids(text: &str) -> Vec<i32> {
    listed_pids(text).filter(|&p| p > 1).collect()
}

/// Send `sig` to `pid`; false when the process is already gone or must not be signalled
/// (pid 0/1 or this process).
fn send_signal(pid: i32, sig: Signal) -> bool {
    if pid <= 1 || pid == rustix::process::getpid().as_raw_nonzero().get() {
        return false;
    }
    match Pid::from_raw(pid) {
        Some(p) => rustix::process::kill_process(p, sig).is_ok(),
        None => false,
    }
}

/// True if `pid` exists and is not a zombie.
fn is_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Format: `pid (comm) S ...`; comm may contain spaces and parentheses.
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => true,
        },
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_parse_skips_junk_and_init() {
        assert_eq!(parse_pids("12\n1\n\nxyz\n-4\n300\n"), vec![12, 300]);
    }

    #[test]
    fn own_process_is_never_signalled() {
        assert!(!send_signal(std::process::id() as i32, Signal::TERM));
        assert!(!send_signal(1, Signal::TERM));
        assert!(!send_signal(0, Signal::TERM));
    }

    #[test]
    fn this_process_is_alive() {
        assert!(is_alive(std::process::id() as i32));
        assert!(!is_alive(i32::MAX));
    }
}
