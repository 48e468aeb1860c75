//! Adaptive re-reads of the pod cgroup root's usage: an early warning that needs nothing from
//! the kernel but read access to one file.
//!
//! cgroup v2 has no usage-threshold notifier, and what it has comes too late for a race
//! against a pod that allocates anonymous memory: `memory.events` `max` changes only at the
//! limit, at the same moment as the OOM kill, and PSI reports reclaim stalls, which start at
//! the limit too (`memory.max` reclaim). So the agent reads the usage itself (`memory.current`,
//! or v1 `memory.usage_in_bytes` where usage thresholds are refused), from a kept-open
//! descriptor (one `pread`, a few µs), at an interval that shrinks as the usage nears the
//! value at which a threshold is met:
//!
//! `interval = (trip_at - usage) / rate`, clamped to [`MIN_INTERVAL`]..[`MAX_INTERVAL`],
//!
//! where `trip_at` is the usage at which the working set meets the lowest memory threshold of
//! the pods cgroup (the kubelet's notifier value, `capacity - threshold + inactive_file`,
//! recomputed on every pass) and `rate` is the faster of the growth assumed from rest and
//! twice the growth measured between the last two reads. The growth assumed from rest is the
//! machine's growth bound (measured at start, [`crate::growth_bound`]; [`ASSUMED_RATE`] if that
//! failed), capped at the fastest growth the agent could still stop before the OOM kill
//! ([`defensible_rate`]: the margin from the trip value to the OOM kill over the fastest
//! pod-level read the agent has timed): reading more often than that saves no pod, since a
//! pod growing faster reaches the limit before any reaction. Far from every threshold it reads
//! about once a second; 100 MiB away at a 4 GiB/s rate, every ~25 ms; at the threshold, every
//! [`MIN_INTERVAL`]. It writes nothing.
//!
//! Edge-triggered like a v1 usage threshold: it reports a crossing once, when a read finds the
//! usage at or beyond `trip_at` while the last pass did not see the threshold met, and again
//! only after the usage went back below. While beyond, it reads at [`MAX_INTERVAL`].

use headroom_core::notifier;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_core::threshold::Threshold;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Growth rate (bytes/s) assumed when the machine's bound could not be measured: of the order
/// of one thread faulting in anonymous memory on current hardware. Faster growth is tracked
/// once two reads measure it.
pub const ASSUMED_RATE: f64 = crate::growth_bound::FALLBACK;
/// Fastest re-read (twice the 10 ms polling yardstick's rate, only this close to a threshold).
pub const MIN_INTERVAL: Duration = Duration::from_millis(5);
/// Slowest re-read: far from every threshold.
pub const MAX_INTERVAL: Duration = Duration::from_secs(1);

/// What a due read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Usage reached `trip_at` since the last pass: pass now.
    Crossed { usage: u64, trip_at: u64 },
    /// Below (or still beyond after a pass that saw it met): next read scheduled.
    Quiet,
    /// The read failed (the cgroup went away?); next read at the slowest interval.
    Unreadable,
}

/// The re-read schedule of one usage file.
pub struct UsagePoll {
    file: File,
    path: PathBuf,
    trip_at: Option<u64>,
    /// The usage is known to be at or beyond `trip_at` (by the last pass or a read since).
    beyond: bool,
    next: Option<Instant>,
    last: Option<(Instant, u64)>,
    /// The fastest growth assumed possible from rest, bytes/s.
    bound: f64,
    /// The fastest growth the agent could still stop before the OOM kill, bytes/s (see
    /// [`defensible_rate`]); None: unknown, the bound alone applies.
    defensible: Option<f64>,
    /// Growth between the last two reads, bytes/s (None: not growing, or one read so far).
    measured: Option<f64>,
}

impl UsagePoll {
    /// Open `path` (`memory.current` or `memory.usage_in_bytes`) and check it reads a number.
    /// `bound`: the fastest growth (bytes/s) assumed possible from rest.
    pub fn open(path: &Path, bound: f64) -> std::io::Result<UsagePoll> {
        let file = File::open(path)?;
        let poll = UsagePoll {
            file,
            path: path.to_path_buf(),
            trip_at: None,
            beyond: false,
            next: None,
            last: None,
            bound,
            defensible: None,
            measured: None,
        };
        if poll.read().is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not read as a byte count", path.display()),
            ));
        }
        Ok(poll)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The machine's growth bound, bytes/s.
    pub fn bound(&self) -> f64 {
        self.bound
    }

    pub fn trip_at(&self) -> Option<u64> {
        self.trip_at
    }

    /// The usage the last read found.
    pub fn last_usage(&self) -> Option<u64> {
        self.last.map(|(_, u)| u)
    }

    /// The growth the last two reads measured, bytes/s (None: not growing, or one read).
    pub fn measured_rate(&self) -> Option<f64> {
        self.measured
    }

    fn read(&self) -> Option<u64> {
        headroom_linux::memcg::reread_u64(&self.file)
    }

    /// The fastest growth worth reading for ([`defensible_rate`]); None: the bound alone.
    /// Returns the new assumed rate when it moved by more than a quarter (for the log).
    pub fn set_defensible(&mut self, rate: Option<f64>) -> Option<f64> {
        let before = self.assumed_rate();
        self.defensible = rate.filter(|r| r.is_finite() && *r > 0.0);
        let after = self.assumed_rate();
        ((after - before).abs() > before / 4.0).then_some(after)
    }

    /// The growth rate the schedule assumes from rest: the machine's bound, or less when no
    /// growth that fast could be stopped before the OOM kill anyway.
    pub fn assumed_rate(&self) -> f64 {
        self.defensible.map_or(self.bound, |d| d.min(self.bound))
    }

    /// After a pass: the usage at which the lowest threshold is met (None: nothing to watch),
    /// and whether that pass saw it met. Schedules the next read from a fresh one.
    pub fn rearm(&mut self, trip_at: Option<u64>, met_this_pass: bool, now: Instant) {
        self.trip_at = trip_at;
        self.beyond = met_this_pass;
        match (trip_at, self.read()) {
            (Some(trip), Some(usage)) => self.schedule(trip, usage, now),
            _ => self.next = trip_at.map(|_| now + MAX_INTERVAL),
        }
    }

    /// When the next read is due (None: nothing armed).
    pub fn deadline(&self) -> Option<Instant> {
        self.next
    }

    /// Read if due; report a crossing at most once per excursion beyond `trip_at`.
    pub fn check(&mut self, now: Instant) -> Check {
        let Some(trip_at) = self.trip_at else {
            return Check::Quiet;
        };
        if self.next.is_some_and(|n| now < n) {
            return Check::Quiet;
        }
        let Some(usage) = self.read() else {
            self.next = Some(now + MAX_INTERVAL);
            return Check::Unreadable;
        };
        let crossed = usage >= trip_at && !self.beyond;
        self.beyond = usage >= trip_at;
        self.schedule(trip_at, usage, now);
        if crossed {
            Check::Crossed { usage, trip_at }
        } else {
            Check::Quiet
        }
    }

    fn schedule(&mut self, trip_at: u64, usage: u64, now: Instant) {
        let measured = self.last.and_then(|(t, u)| {
            let dt = now.checked_duration_since(t)?.as_secs_f64();
            (dt > 0.0 && usage > u).then(|| (usage - u) as f64 / dt)
        });
        self.last = Some((now, usage));
        self.measured = measured;
        let wait = if self.beyond {
            MAX_INTERVAL
        } else {
            interval(trip_at.saturating_sub(usage), measured, self.assumed_rate())
        };
        self.next = Some(now + wait);
    }
}

/// The pods cgroup usage at which its lowest `allocatableMemory.available` threshold (hard or
/// soft) is met, from a pass's Summary: the kubelet's notifier value
/// (`capacity - threshold + inactive_file`); None without such a threshold or figures.
pub fn pods_trip_at(thresholds: &[Threshold], summary: &Summary, pod_cgroup_root: &str) -> Option<u64> {
    notifier::arm_all(thresholds, summary, pod_cgroup_root)
        .into_iter()
        .flatten()
        .filter(|a| a.signal == Signal::AllocatableMemoryAvailable)
        .filter_map(|a| u64::try_from(a.arm_at_bytes).ok())
        .min()
}

/// The fastest growth (bytes/s) the agent could still stop before the kernel's OOM kill: a
/// pod growing faster covers the `margin` (bytes from the trip value to the OOM kill) in
/// less than the agent's `reaction` (the least time from a read that finds the crossing to
/// the SIGTERM), so no read schedule saves it, not even reading without pause.
///
/// Reading at `distance / defensible_rate` then saves every pod that reading without pause
/// would save: a pod at rate `r <= margin / reaction` is either read before it crosses
/// (`r * interval <= distance`) or, crossing at `distance / r`, is read at the latest
/// `interval = distance * reaction / margin` after the last read, and acted on by
/// `interval + reaction <= (distance + margin) / r`, its OOM kill. Both inputs must err on
/// the safe side: `margin` an over-estimate (the caller adds the reclaimable page cache),
/// `reaction` an under-estimate (the fastest pod-level read the agent has timed). None when
/// either is unknown or zero.
pub fn defensible_rate(margin: u64, reaction: Duration) -> Option<f64> {
    let secs = reaction.as_secs_f64();
    (margin > 0 && secs > 0.0).then(|| margin as f64 / secs)
}

/// Time until the next read when `distance` bytes are left before the threshold, the usage
/// grew at `measured` bytes/s between the last two reads and growth from rest can reach
/// `bound` bytes/s.
pub fn interval(distance: u64, measured: Option<f64>, bound: f64) -> Duration {
    let rate = measured.map_or(bound, |m| (2.0 * m).max(bound));
    let secs = distance as f64 / rate;
    Duration::from_secs_f64(secs.clamp(MIN_INTERVAL.as_secs_f64(), MAX_INTERVAL.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn the_interval_shrinks_as_the_threshold_nears() {
        let b = ASSUMED_RATE;
        assert_eq!(interval(8 << 30, None, b), MAX_INTERVAL);
        let far = interval(1 << 30, None, b);
        let near = interval(100 * MIB, None, b);
        assert!(far > near, "{far:?} {near:?}");
        assert!(
            near >= MIN_INTERVAL && near < Duration::from_millis(30),
            "{near:?}"
        );
        assert_eq!(interval(0, None, b), MIN_INTERVAL);
        // A measured growth faster than assumed shortens it further.
        assert!(interval(1 << 30, Some(b * 4.0), b) < far);
        // A slow measured growth never lengthens it past the assumed rate's.
        assert_eq!(interval(1 << 30, Some(1.0), b), far);
        // A slower machine (a lower bound) reads less often at the same distance.
        assert!(interval(100 * MIB, None, b / 8.0) > near);
    }

    fn poll_on(dir: &Path, usage: u64) -> UsagePoll {
        let path = dir.join("memory.current");
        std::fs::write(&path, format!("{usage}\n")).unwrap();
        UsagePoll::open(&path, ASSUMED_RATE).unwrap()
    }

    #[test]
    fn growth_no_read_could_stop_in_time_does_not_set_the_schedule() {
        // 100 MiB from the trip value to the OOM kill, 20 ms to react: 5 GiB/s at most.
        let d = defensible_rate(100 * MIB, Duration::from_millis(20)).unwrap();
        assert_eq!(d, 100.0 * MIB as f64 / 0.02);
        assert_eq!(defensible_rate(0, Duration::from_millis(20)), None);
        assert_eq!(defensible_rate(100 * MIB, Duration::ZERO), None);
        let dir = tempfile::tempdir().unwrap();
        let bound = 40.0 * (1u64 << 30) as f64;
        let path = dir.path().join("memory.current");
        std::fs::write(&path, format!("{}\n", 102 * MIB)).unwrap();
        let mut p = UsagePoll::open(&path, bound).unwrap();
        let t0 = Instant::now();
        p.rearm(Some(412 * MIB), false, t0);
        let fast = p.deadline().unwrap() - t0;
        p.set_defensible(Some(d));
        assert_eq!(p.assumed_rate(), d);
        p.rearm(Some(412 * MIB), false, t0);
        let slow = p.deadline().unwrap() - t0;
        assert!(slow > fast * 7, "{slow:?} vs {fast:?}");
        // The schedule's promise: a pod at the defensible rate, crossing right after a read,
        // is read again and acted on before its OOM kill.
        let distance = (412 - 102) * MIB;
        let oom_at = (distance + 100 * MIB) as f64 / d;
        assert!(slow.as_secs_f64() + 0.02 <= oom_at + 1e-9, "{slow:?} {oom_at}");
        // Never slower than the bound alone would read... when the bound is the lower rate.
        p.set_defensible(Some(bound * 10.0));
        assert_eq!(p.assumed_rate(), bound);
        p.set_defensible(None);
        assert_eq!(p.assumed_rate(), bound);
    }

    #[test]
    fn a_crossing_is_reported_once_per_excursion() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = poll_on(dir.path(), 300 * MIB);
        let t0 = Instant::now();
        p.rearm(Some(412 * MIB), false, t0);
        let due = p.deadline().unwrap();
        assert!(due > t0 && due <= t0 + MAX_INTERVAL);
        // Not due yet: nothing read.
        assert_eq!(p.check(t0), Check::Quiet);
        std::fs::write(p.path(), format!("{}\n", 413 * MIB)).unwrap();
        assert_eq!(
            p.check(due),
            Check::Crossed {
                usage: 413 * MIB,
                trip_at: 412 * MIB
            }
        );
        // Still beyond: quiet, and read slowly.
        let t1 = p.deadline().unwrap();
        assert_eq!(t1 - due, MAX_INTERVAL);
        assert_eq!(p.check(t1), Check::Quiet);
        // Back below, then beyond again: a second crossing.
        std::fs::write(p.path(), format!("{}\n", 400 * MIB)).unwrap();
        let t2 = p.deadline().unwrap();
        assert_eq!(p.check(t2), Check::Quiet);
        std::fs::write(p.path(), format!("{}\n", 420 * MIB)).unwrap();
        let t3 = p.deadline().unwrap();
        assert!(matches!(p.check(t3), Check::Crossed { .. }));
    }

    #[test]
    fn a_pass_that_saw_the_threshold_met_is_not_reported_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = poll_on(dir.path(), 500 * MIB);
        let t0 = Instant::now();
        p.rearm(Some(412 * MIB), true, t0);
        assert_eq!(p.check(p.deadline().unwrap()), Check::Quiet);
        // A pass that did not see it met (it read before the crossing): reported at once.
        p.rearm(Some(412 * MIB), false, t0);
        assert_eq!(p.deadline(), Some(t0 + MIN_INTERVAL));
        assert!(matches!(p.check(t0 + MIN_INTERVAL), Check::Crossed { .. }));
    }

    #[test]
    fn nothing_armed_means_no_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = poll_on(dir.path(), 1);
        p.rearm(None, false, Instant::now());
        assert_eq!(p.deadline(), None);
        assert_eq!(p.check(Instant::now()), Check::Quiet);
    }

    #[test]
    fn junk_is_refused_at_open_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.current");
        std::fs::write(&path, "max\n").unwrap();
        let err = UsagePoll::open(&path, ASSUMED_RATE).err().unwrap().to_string();
        assert!(err.contains("memory.current"), "{err}");
    }
}
