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
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;
use rustix::io::Errno;

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
// cgroup v1 usage thresholds

/// A cgroup v1 memory usage threshold: an eventfd the kernel signals whenever
/// `memory.usage_in_bytes` of `cgroup` crosses `bytes`, upwards or downwards.
///
/// Thresholds are checked by the kernel on the charge path every 128 page events per CPU, so a
/// crossing is noticed within ~0.5 MiB per CPU of allocation. A threshold on a parent fires for
/// charges in its children.
pub struct UsageThreshold {
    eventfd: OwnedFd,
    cgroup: PathBuf,
    bytes: u64,
    /// `memory.usage_in_bytes` read right after the registration (None if that read failed).
    usage_after_arm: Option<u64>,
}

impl UsageThreshold {
    /// Register a threshold at `bytes` on the v1 memory cgroup directory `cgroup`.
    pub fn arm(cgroup: &Path, bytes: u64) -> Result<UsageThreshold, NotifyError> {
        let usage_path = cgroup.join("memory.usage_in_bytes");
        let control_path = cgroup.join("cgroup.event_control");
        let eventfd = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| io_err("create an eventfd for", cgroup, e.into()))?;
        // The kernel keeps its own reference to the watched file; both of these may be closed
        // right after the registration (the kubelet does the same).
        let usage = File::open(&usage_path).map_err(|e| io_err("open", &usage_path, e))?;
        let mut control = OpenOptions::new()
            .write(true)
            .open(&control_path)
            .map_err(|e| io_err("open for writing", &control_path, e))?;
        let line = format!("{} {} {}", eventfd.as_raw_fd(), usage.as_raw_fd(), bytes);
        control
            .write_all(line.as_bytes())
            .map_err(|e| io_err("register a usage threshold through", &control_path, e))?;
        // The kernel counts a threshold at or below the usage it sees at registration as
        // already crossed: it will only ever signal the downward crossing. A caller that
        // computed `bytes` from an earlier read can therefore arm silently *behind* a crossing
        // that happened in between; this read, taken after the registration, tells it so.
        let usage_after_arm = read_u64_at_start(&usage);
        Ok(UsageThreshold {
            eventfd,
            cgroup: cgroup.to_path_buf(),
            bytes,
            usage_after_arm,
        })
    }

    /// The usage read right after registering, when it was already at or beyond `bytes`: the
    /// kernel will not signal this (upward) crossing, so the caller must act on it itself.
    pub fn crossed_before_armed(&self) -> Option<u64> {
        self.usage_after_arm.filter(|u| *u >= self.bytes)
    }

    pub fn cgroup(&self) -> &Path {
        &self.cgroup
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Read and reset the eventfd counter (0 if nothing happened).
    fn drain(&self) -> u64 {
        let mut buf = [0u8; 8];
        match rustix::io::read(&self.eventfd, &mut buf) {
            Ok(8) => u64::from_ne_bytes(buf),
            _ => 0,
        }
    }
}

/// Read a decimal counter file from offset 0 (a kept-open cgroup file gives a fresh value on
/// every read from the start).
fn read_u64_at_start(file: &File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 32];
    let n = file.read_at(&mut buf, 0).ok()?;
    std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------------
// cgroup v2 memory.events

/// Watches a cgroup v2 `memory.events` (or `memory.events.local`, `cgroup.events`) file with
/// inotify and reports which counters changed since the last look.
pub struct MemoryEventsWatch {
    inotify: OwnedFd,
    path: PathBuf,
    last: BTreeMap<String, u64>,
}

impl MemoryEventsWatch {
    pub fn watch(path: &Path) -> Result<MemoryEventsWatch, NotifyError> {
        let inotify = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
            .map_err(|e| io_err("create an inotify instance for", path, e.into()))?;
        inotify::add_watch(&inotify, path, inotify::WatchFlags::MODIFY)
            .map_err(|e| io_err("watch (inotify IN_MODIFY)", path, e.into()))?;
        let last = read_flat_keyed(path).unwrap_or_default();
        Ok(MemoryEventsWatch {
            inotify,
            path: path.to_path_buf(),
            last,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Consume pending inotify events; if there were any, re-read the file and return the
    /// counters whose value changed.
    fn drain(&mut self) -> Option<Vec<(String, u64)>> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
        let mut reader = inotify::Reader::new(&self.inotify, &mut buf);
        let mut any = false;
        while reader.next().is_ok() {
            any = true;
        }
        if !any {
            return None;
        }
        let now = read_flat_keyed(&self.path).unwrap_or_default();
        let changed = now
            .iter()
            .filter(|(k, v)| self.last.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.last = now;
        Some(changed)
    }
}

/// Parse a flat-keyed cgroup file (`key value` per line); lines that are not that are skipped.
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let key = it.next()?;
            let value = it.next()?.parse().ok()?;
            Some((key.to_string(), value))
        })
        .collect()
}

fn read_flat_keyed(path: &Path) -> std::io::Result<BTreeMap<String, u64>> {
    let mut text = String::new();
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(parse_flat_keyed(&text))
}

// ---------------------------------------------------------------------------------------------
// PSI triggers

/// `some` (at least one task stalled) or `full` (all non-idle tasks stalled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsiKind {
    Some,
    Full,
}

impl PsiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PsiKind::Some => "some",
            PsiKind::Full => "full",
        }
    }
}

/// A registered PSI trigger: the kernel raises `POLLPRI` on the descriptor at most once per
/// window when tasks stalled on memory for more than `stall` within `window`.
pub struct PsiTrigger {
    fd: OwnedFd,
    path: PathBuf,
    trigger: String,
    window: Duration,
}

/// Unprivileged PSI triggers must use windows that are a multiple of this (kernel psi.c).
const UNPRIVILEGED_WINDOW_STEP_US: u64 = 2_000_000;
/// The kernel's upper bound on a trigger window.
const MAX_WINDOW_US: u64 = 10_000_000;

impl PsiTrigger {
    /// Register `<kind> <stall_us> <window_us>` on `path` (`/proc/pressure/memory` or a
    /// cgroup2 `memory.pressure`). The text is written with a trailing NUL, as the kernel
    /// documentation does.
    pub fn register(
        path: &Path,
        kind: PsiKind,
        stall: Duration,
        window: Duration,
    ) -> Result<PsiTrigger, NotifyError> {
        let fd = rustix::fs::open(
            path,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| io_err("open (read-write) for a PSI trigger", path, e.into()))?;
        let trigger = format!("{} {} {}", kind.as_str(), stall.as_micros(), window.as_micros());
        let mut bytes = trigger.clone().into_bytes();
        bytes.push(0);
        match rustix::io::write(&fd, &bytes) {
            Ok(_) => Ok(PsiTrigger {
                fd,
                path: path.to_path_buf(),
                trigger,
                window,
            }),
            Err(errno) if errno == Errno::INVAL || errno == Errno::PERM || errno == Errno::BUSY => {
                Err(NotifyError::PsiRejected {
                    path: path.to_path_buf(),
                    trigger,
                    errno,
                })
            }
            Err(errno) => Err(io_err("write a PSI trigger to", path, errno.into())),
        }
    }

    /// Like [`register`](Self::register), but when the kernel rejects the window with EINVAL
    /// (the process lacks `CAP_SYS_RESOURCE`), retry with the window rounded up to the next
    /// multiple of 2 s (stall scaled by the same factor, capped at the window). Returns the
    /// trigger and, when a fallback was used, a sentence for the log saying so.
    pub fn register_or_widen(
        path: &Path,
        kind: PsiKind,
        stall: Duration,
        window: Duration,
    ) -> Result<(PsiTrigger, Option<String>), NotifyError> {
        match PsiTrigger::register(path, kind, stall, window) {
            Ok(t) => Ok((t, None)),
            Err(NotifyError::PsiRejected { errno, .. }) if errno == Errno::INVAL => {
                let Some((wide_stall, wide_window)) = unprivileged_window(stall, window) else {
                    return PsiTrigger::register(path, kind, stall, window).map(|t| (t, None));
                };
                let t = PsiTrigger::register(path, kind, wide_stall, wide_window)?;
                let note = format!(
                    "PSI trigger \"{} {} {}\" on {} was refused (EINVAL: no CAP_SYS_RESOURCE?); \
                     using \"{}\" instead: pressure events arrive on 2 s ticks",
                    kind.as_str(),
                    stall.as_micros(),
                    window.as_micros(),
                    path.display(),
                    t.trigger
                );
                Ok((t, Some(note)))
            }
            Err(e) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trigger text as registered, e.g. `some 150000 2000000`.
    pub fn trigger(&self) -> &str {
        &self.trigger
    }

    pub fn window(&self) -> Duration {
        self.window
    }
}

/// The unprivileged equivalent of a trigger: window rounded up to a multiple of 2 s (at most
/// 10 s), stall scaled by the same factor. None if the window already is such a multiple.
pub fn unprivileged_window(stall: Duration, window: Duration) -> Option<(Duration, Duration)> {
    let window_us = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
    if window_us > 0 && window_us % UNPRIVILEGED_WINDOW_STEP_US == 0 && window_us <= MAX_WINDOW_US {
        return None;
    }
    let wide_us = window_us
        .div_ceil(UNPRIVILEGED_WINDOW_STEP_US)
        .clamp(1, MAX_WINDOW_US / UNPRIVILEGED_WINDOW_STEP_US)
        * UNPRIVILEGED_WINDOW_STEP_US;
    let stall_us = u64::try_from(stall.as_micros()).unwrap_or(u64::MAX);
    let scaled = if window_us == 0 {
        stall_us
    } else {
        (u128::from(stall_us) * u128::from(wide_us) / u128::from(window_us)) as u64
    };
    Some((
        Duration::from_micros(scaled.clamp(1, wide_us)),
        Duration::from_micros(wide_us),
    ))
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
    fn flat_keyed_files_parse_and_skip_junk() {
        let m = parse_flat_keyed("low 0\nhigh 12\nmax 3\njunk\noom x\noom_kill 1\n");
        assert_eq!(m.get("high"), Some(&12));
        assert_eq!(m.get("oom_kill"), Some(&1));
        assert!(!m.contains_key("oom"));
        assert!(!m.contains_key("junk"));
    }

    #[test]
    fn unprivileged_windows_round_up_to_two_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(unprivileged_window(ms(150), ms(1000)), Some((ms(300), ms(2000))));
        assert_eq!(
            unprivileged_window(ms(100), ms(3000)),
            Some((Duration::from_micros(133_333), ms(4000)))
        );
        assert_eq!(unprivileged_window(ms(150), ms(2000)), None);
        assert_eq!(
            unprivileged_window(ms(150), ms(20_000)),
            Some((ms(75), ms(10_000)))
        );
    }

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
