//! Kernel memory notifications, behind one [`Notifier`] the agent blocks on.
//!
//! Three kinds of watch, each a file descriptor the kernel makes readable (or "priority") when
//! something happens:
//!
//! * [`UsageThreshold`] — cgroup v1: an eventfd registered through `cgroup.event_control`
//!   against `memory.usage_in_bytes`. Fires when usage crosses the value in **either**
//!   direction (the kubelet's memcg notifier, spec kubelet-eviction §11).
//! * [`MemoryEventsWatch`] — cgroup v2: inotify `IN_MODIFY` on a `memory.events` file; every
//!   counter change (`low`, `high`, `max`, `oom`, `oom_kill`) modifies the file.
//! * [`PsiTrigger`] — a PSI trigger (`some <stall_us> <window_us>`) on `/proc/pressure/memory`
//!   or a cgroup2 `memory.pressure`, polled for `POLLPRI`. Without `CAP_SYS_RESOURCE` the kernel
//!   only accepts windows that are a multiple of 2 s; [`PsiTrigger::register_or_widen`] falls
//!   back to the next such window and says so.
//!
//! Watches are keyed by a caller-chosen name ("node", "pods", ...). Re-arming a key replaces
//! the old watch; dropping a watch closes its descriptors, which is how the kernel forgets it.

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

mod memory_events;
mod psi_trigger;
mod usage_threshold;

pub use memory_events::{MemoryEventsWatch, parse_flat_keyed};
pub use psi_trigger::{PsiKind, PsiTrigger, unprivileged_window};
pub use usage_threshold::UsageThreshold;

/// A notification could not be set up or waited for. Messages name the file and the value.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the kernel refused PSI trigger {trigger:?} on {path}: {errno} \
         (stall must be > 0 and <= window; window <= 10 s; without CAP_SYS_RESOURCE a multiple of 2 s)"
    )]
    PsiRejected {
        path: PathBuf,
        trigger: String,
        errno: Errno,
    },
    #[error("waiting for memory notifications failed: {0}")]
    Poll(Errno),
}

fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> NotifyError {
    NotifyError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What kind of kernel event woke the notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FiredKind {
    /// A v1 usage threshold was crossed (up or down); `count` crossings since the last read.
    UsageThreshold { cgroup: PathBuf, bytes: u64, count: u64 },
    /// A v2 `memory.events` file changed; the counters that moved, with their new values.
    MemoryEvents {
        path: PathBuf,
        changed: Vec<(String, u64)>,
    },
    /// A PSI trigger's stall budget was exceeded within its window.
    Psi { path: PathBuf, trigger: String },
    /// The watched cgroup disappeared (PSI `POLLERR`, or the eventfd fired because the cgroup
    /// was removed). The watch stays registered until re-armed or removed.
    Gone { path: PathBuf },
}

/// One wake-up: which watch (by key) fired and what it reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    pub key: String,
    pub kind: FiredKind,
}

impl FiredKind {
    /// Short label for metrics and logs: `usage_threshold`, `memory_events`, `psi`, `gone`.
    pub fn label(&self) -> &'static str {
        match self {
            FiredKind::UsageThreshold { .. } => "usage_threshold",
            FiredKind::MemoryEvents { .. } => "memory_events",
            FiredKind::Psi { .. } => "psi",
            FiredKind::Gone { .. } => "gone",
        }
    }
}

impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FiredKind::UsageThreshold { cgroup, bytes, count } => write!(
                f,
                "{}: usage of {} crossed {} bytes ({} crossing(s))",
                self.key,
                cgroup.display(),
                bytes,
                count
            ),
            FiredKind::MemoryEvents { path, changed } => {
                write!(f, "{}: {} changed", self.key, path.display())?;
                for (name, value) in changed {
                    write!(f, " {name}={value}")?;
                }
                Ok(())
            }
            FiredKind::Psi { path, trigger } => {
                write!(
                    f,
                    "{}: PSI trigger {trigger:?} on {} fired",
                    self.key,
                    path.display()
                )
            }
            FiredKind::Gone { path } => write!(f, "{}: {} went away", self.key, path.display()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The notifier

/// One registered watch.
pub enum Watch {
    Usage(UsageThreshold),
    Events(MemoryEventsWatch),
    Psi(PsiTrigger),
}

impl Watch {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Watch::Usage(w) => w.eventfd.as_fd(),
            Watch::Events(w) => w.inotify.as_fd(),
            Watch::Psi(w) => w.fd.as_fd(),
        }
    }

    fn interest(&self) -> PollFlags {
        match self {
            Watch::Usage(_) | Watch::Events(_) => PollFlags::IN,
            Watch::Psi(_) => PollFlags::PRI,
        }
    }

    /// Turn the poll result into a report, consuming the event so the fd is quiet again.
    fn collect(&mut self, revents: PollFlags) -> Option<FiredKind> {
        match self {
            Watch::Usage(w) => {
                let count = w.drain();
                if count == 0 {
                    return None;
                }
                // Removing the cgroup also signals the eventfd.
                if !w.cgroup.exists() {
                    return Some(FiredKind::Gone {
                        path: w.cgroup.clone(),
                    });
                }
                Some(FiredKind::UsageThreshold {
                    cgroup: w.cgroup.clone(),
                    bytes: w.bytes,
                    count,
                })
            }
            Watch::Events(w) => w.drain().map(|changed| FiredKind::MemoryEvents {
                path: w.path.clone(),
                changed,
            }),
            Watch::Psi(w) => {
                if revents.intersects(PollFlags::ERR | PollFlags::NVAL) {
                    Some(FiredKind::Gone { path: w.path.clone() })
                } else if revents.contains(PollFlags::PRI) {
                    Some(FiredKind::Psi {
                        path: w.path.clone(),
                        trigger: w.trigger.clone(),
                    })
                } else {
                    None
                }
            }
        }
    }

    /// Human description for logs.
    pub fn describe(&self) -> String {
        match self {
            Watch::Usage(w) => format!(
                "usage threshold {} bytes on {}",
                w.bytes,
                w.cgroup.join("memory.usage_in_bytes").display()
            ),
            Watch::Events(w) => format!("inotify on {}", w.path.display()),
            Watch::Psi(w) => format!("PSI trigger {:?} on {}", w.trigger, w.path.display()),
        }
    }
}

/// A set of keyed watches the caller blocks on with [`Notifier::wait`].
#[derive(Default)]
pub struct Notifier {
    watches: BTreeMap<String, Watch>,
    /// Watches that reported `Gone` are not polled again until re-armed (a removed cgroup's
    /// PSI fd would report POLLERR forever and spin the loop).
    gone: std::collections::BTreeSet<String>,
}

impl Notifier {
    pub fn new() -> Notifier {
        Notifier::default()
    }

    /// Install `watch` under `key`, replacing (and thereby unregistering) any previous one.
    pub fn set(&mut self, key: impl Into<String>, watch: Watch) {
        let key = key.into();
        self.gone.remove(&key);
        self.watches.insert(key, watch);
    }

    /// Install `watch` under `key` like [`set`](Self::set), and report what the replaced watch
    /// had signalled but nobody had read yet. Dropping a watch drops its pending event: a
    /// threshold crossed while a pass was running would otherwise be forgotten at re-arm.
    /// The new watch is registered before the old one is closed, so no moment is unwatched.
    pub fn replace(&mut self, key: impl Into<String>, watch: Watch) -> Option<FiredKind> {
        let key = key.into();
        self.gone.remove(&key);
        let mut old = self.watches.insert(key, watch)?;
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let revents = {
            let mut fds = [PollFd::from_borrowed_fd(old.fd(), old.interest())];
            match rustix::event::poll(&mut fds, Some(&zero)) {
                Ok(n) if n > 0 => fds[0].revents(),
                _ => return None,
            }
        };
        old.collect(revents)
    }

    /// Remove the watch under `key` (the kernel forgets it when its fd closes).
    pub fn remove(&mut self, key: &str) -> Option<Watch> {
        self.gone.remove(key);
        self.watches.remove(key)
    }

    pub fn get(&self, key: &str) -> Option<&Watch> {
        self.watches.get(key)
    }

    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    pub fn len(&self) -> usize {
        self.watches.len()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.watches.keys().map(String::as_str)
    }

    /// Block until at least one watch fires or `timeout` passes (`None` = forever). Returns
    /// every watch that fired (empty on timeout). With no watches this just sleeps.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<Fired>, NotifyError> {
        let keys: Vec<String> = self
            .watches
            .keys()
            .filter(|k| !self.gone.contains(*k))
            .cloned()
            .collect();
        let ts = timeout.map(|t| Timespec {
            tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        let revents: Vec<PollFlags> = {
            let mut fds: Vec<PollFd<'_>> = keys
                .iter()
                .filter_map(|k| self.watches.get(k))
                .map(|w| PollFd::from_borrowed_fd(w.fd(), w.interest()))
                .collect();
            match rustix::event::poll(&mut fds, ts.as_ref()) {
                Ok(_) => {}
                // A signal interrupted the wait: report "nothing fired" and let the caller
                // decide; its period clock tells it whether to sync.
                Err(Errno::INTR) => return Ok(Vec::new()),
                Err(e) => return Err(NotifyError::Poll(e)),
            }
            fds.iter().map(PollFd::revents).collect()
        };
        let mut fired = Vec::new();
        for (key, rev) in keys.into_iter().zip(revents) {
            if rev.is_empty() {
                continue;
            }
            let Some(watch) = self.watches.get_mut(&key) else {
                continue;
            };
            if let Some(kind) = watch.collect(rev) {
                if matches!(kind, FiredKind::Gone { .. }) {
                    self.gone.insert(key.clone());
                }
                fired.push(Fired { key, kind });
            }
        }
        Ok(fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_events_file_changes_wake_the_notifier() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.events");
        std::fs::write(&path, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n").unwrap();
        let mut n = Notifier::new();
        n.set("pods", Watch::Events(MemoryEventsWatch::watch(&path).unwrap()));

        // Nothing changed: the wait times out empty.
        assert!(n.wait(Some(Duration::from_millis(20))).unwrap().is_empty());

        std::fs::write(&path, "low 0\nhigh 5\nmax 0\noom 0\noom_kill 1\n").unwrap();
        let fired = n.wait(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].key, "pods");
        assert_eq!(
            fired[0].kind,
            FiredKind::MemoryEvents {
                path: path.clone(),
                changed: vec![("high".into(), 5), ("oom_kill".into(), 1)],
            }
        );
        assert_eq!(fired[0].kind.label(), "memory_events");
        // Drained: quiet again.
        assert!(n.wait(Some(Duration::from_millis(20))).unwrap().is_empty());
    }

    #[test]
    fn missing_files_name_the_path() {
        let err = MemoryEventsWatch::watch(Path::new("/nonexistent/memory.events"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent/memory.events"), "{err}");
        let err = UsageThreshold::arm(Path::new("/nonexistent/cg"), 1)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent/cg/memory.usage_in_bytes"), "{err}");
    }

    #[test]
    fn an_empty_notifier_sleeps_for_the_timeout() {
        let mut n = Notifier::new();
        let t0 = std::time::Instant::now();
        assert!(n.wait(Some(Duration::from_millis(30))).unwrap().is_empty());
        assert!(t0.elapsed() >= Duration::from_millis(25));
    }
}
