//! The prepared kill: decide the kill before the crossing, signal at the crossing, confirm
//! after.
//!
//! On cgroup v2 the usage re-reads ([`crate::usage_poll`]) find a crossing within a few ms;
//! what followed was a fast pass ([`crate::fast_pass`]): read the node, the pods cgroup and
//! every pod cgroup, synchronize, log, list the pod's processes, and only then the SIGTERM:
//! 13-18 ms of the VM's emulated time (BENCHMARKS.md run 4b), against a 10 ms polling loop
//! that reads two files and signals. So, while a hard `allocatableMemory.available` threshold
//! is within reach ([`within_reach`]) and `--action kill`, the agent prepares the action:
//!
//! * **prepare** (off the hot path, on a re-read that finds the usage within reach): a
//!   pod-level read (the fast pass's), the manager's `synchronize` on a copy of its state with
//!   the pods cgroup set just past the trip value ([`headroom_core::prepared::at_trip`]): the
//!   kubelet's own ranking (usage over request, priority, usage) and grace; then the kill's
//!   rails (path, criticality, cgroupfs, the agent's own cgroup and pid) and one pidfd per
//!   process of the pod ([`headroom_linux::control::PreparedProcesses`], at most 64);
//! * **fire** (the hot path, when the re-read finds the crossing): read the pods cgroup's
//!   `memory.stat`, `memory.current` and `memory.max` from kept-open descriptors
//!   ([`HotFiles`]); the working set is `usage - inactive_file` of that cgroup, and the
//!   threshold is met by the manager's arithmetic ([`headroom_core::prepared::met_at_crossing`]);
//!   if met, no pod cgroup came or went since the preparation ([`PodSetWatch`]) and the
//!   preparation is fresh ([`usable_for`]), SIGTERM the held processes. Nothing else runs
//!   between the re-read and the signal: no log line, no collection, no decision;
//! * **confirm** (the pass that follows, as before: collection, synchronize, the decision and
//!   action lines, the SIGKILL deadline, the newcomer sweep): the pass's own decision, and a
//!   second `synchronize` on the crossing's pods-cgroup figures with the signalled pod's
//!   working set at least what it was prepared with (it frees its memory as it exits, so the
//!   pass's figures alone would understate it). Same pod: `confirmed`. Another pod, or no
//!   eviction: `disagreed`, logged as a warning naming both and counted
//!   (`headroom_prepared_kills_total{outcome}`); the signalled pod's kill is completed (a
//!   SIGTERMed pod is acted on) and no second pod is acted on in that pass (the kubelet's one
//!   eviction per pass); the next pass decides afresh.
//!
//! Invalidation: the preparation is dropped at every pass (a pass reads fresher figures) and
//! re-made when older than [`refresh_every`] (at least 100 ms, and ten times what the
//! preparation took, so preparing costs at most ~10% of a CPU, and only while within reach);
//! a pod cgroup created or removed under the pod cgroup root or a QoS folder since the
//! preparation voids it at the crossing (inotify, one non-blocking read on the hot path). A
//! change of a pod's requests or priority is seen at the next refresh.
//!
//! Not prepared: `--action none` (a dry run never signals, so nothing is held) and `evict`
//! (an API call, not a signal); `--policy reclaim-first` (its pass may reclaim page cache
//! instead of evicting); soft thresholds (they must stay met for their grace period);
//! `memory.available` (the re-reads watch the pods cgroup only); cgroup v1 (kernel usage
//! thresholds wake the pass there); a zero grace (SIGKILL at once: the normal path); a pod
//! with more than 64 processes.

use headroom_core::pod::Pod;
use headroom_core::summary::{MemoryStats, PodStats};
use headroom_core::threshold::Threshold;
use headroom_linux::control::{FirstSigterm, PreparedProcesses};
use headroom_linux::memcg::{
    CgroupKind, CgroupVersion, MemcgSample, MemoryBreakdown, StatMap, parse_value, reread,
};
use rustix::fs::inotify;
use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::actuator::PodTarget;

/// Least time between two preparations.
pub const REFRESH_FLOOR: Duration = Duration::from_millis(100);
/// A preparation is redone after this many times what it took (its CPU share while within
/// reach stays below 1/this).
pub const REFRESH_FACTOR: u32 = 10;

/// Is the usage within reach of the trip value: close enough that the kill is worth
/// preparing? Within an eighth of the trip value, at least 16 MiB and at most 1 GiB.
pub fn within_reach(usage: u64, trip_at: u64) -> bool {
    let reach = (trip_at / 8).clamp(16 << 20, 1 << 30);
    usage.saturating_add(reach) >= trip_at
}

/// How long a preparation that took `took` stands before it is redone.
pub fn refresh_every(took: Duration) -> Duration {
    (took * REFRESH_FACTOR).max(REFRESH_FLOOR)
}

/// How old a preparation may be when the crossing comes and still be used: twice its refresh
/// interval (a re-read within reach refreshes it; older means the re-reads were not running).
pub fn usable_for(refresh: Duration) -> Duration {
    refresh * 2
}

/// Prepare (again) now? Only when due (`due`: no attempt yet, or the last one, failed or
/// not, is older than its refresh interval); then when none stands, or it is past usable, or
/// the crossing is not expected within two of its durations. A preparation blocks the
/// re-reads while it runs, so one started just before the crossing delays the crossing's read
/// by that long (measured in the VM: 4 MiB past the trip value, ~40 ms late, behind a 49 ms
/// preparation); a usable one is kept through that last stretch instead. `eta`: the distance
/// to the trip value over the growth the last two re-reads measured (or the growth assumed
/// from rest).
pub fn refresh_now(prepared: Option<(Duration, Duration, Duration)>, due: bool, eta: Duration) -> bool {
    match prepared {
        None => due,
        Some((age, refresh, took)) => due && (age > usable_for(refresh) || eta >= took * 2),
    }
}

/// The pods cgroup's files the hot path reads, kept open (one `pread` each).
pub struct HotFiles {
    stat: File,
    current: File,
    max: File,
}

impl HotFiles {
    /// Open `memory.stat`, `memory.current` and `memory.max` of the v2 cgroup `dir`.
    pub fn open(dir: &Path) -> std::io::Result<HotFiles> {
        Ok(HotFiles {
            stat: File::open(dir.join("memory.stat"))?,
            current: File::open(dir.join("memory.current"))?,
            max: File::open(dir.join("memory.max"))?,
        })
    }

    /// The cgroup's figures as a pass computes them: the readings go through the collector's
    /// own rules ([`MemoryBreakdown::from_sample`]: working set = `memory.current -
    /// inactive_file`, available = `memory.max - working set` under a real limit), read in the
    /// collector's order (stat, current, max). `None`: unreadable.
    pub fn read(&self) -> Option<MemoryStats> {
        let mut sample = MemcgSample::empty(CgroupKind {
            version: CgroupVersion::V2,
            is_root: false,
            host_swap_used: 0,
        });
        sample.stat = StatMap::parse(reread(&self.stat, &mut vec![0u8; 8192])?);
        sample.usage = Some(parse_value(reread(&self.current, &mut [0u8; 32])?)?);
        sample.limit = Some(parse_value(reread(&self.max, &mut [0u8; 32])?)?);
        let b = MemoryBreakdown::from_sample(&sample);
        Some(MemoryStats {
            available_bytes: b.available(),
            usage_bytes: Some(b.usage),
            working_set_bytes: Some(b.working_set),
            ..Default::default()
        })
    }
}

/// Watches the pod cgroup root and its QoS folders (`*besteffort*`, `*burstable*`) for pod
/// cgroups created or removed: a pod that came or went since the preparation may rank first.
pub struct PodSetWatch {
    fd: OwnedFd,
    changed: bool,
}

impl PodSetWatch {
    /// Armed before the preparation reads the tree, so a change during the read counts.
    pub fn arm(pods_root: &Path) -> std::io::Result<PodSetWatch> {
        let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
        let flags = inotify::WatchFlags::CREATE
            | inotify::WatchFlags::DELETE
            | inotify::WatchFlags::MOVED_FROM
            | inotify::WatchFlags::MOVED_TO
            | inotify::WatchFlags::ONLYDIR;
        inotify::add_watch(&fd, pods_root, flags)?;
        for entry in std::fs::read_dir(pods_root)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let qos = name.contains("besteffort") || name.contains("burstable");
            if qos && entry.file_type().is_ok_and(|t| t.is_dir()) {
                inotify::add_watch(&fd, entry.path(), flags)?;
            }
        }
        Ok(PodSetWatch { fd, changed: false })
    }

    /// Did a pod cgroup come or go since [`PodSetWatch::arm`]? One non-blocking read.
    pub fn changed(&mut self) -> bool {
        if !self.changed {
            let mut buf = [MaybeUninit::<u8>::uninit(); 512];
            let mut reader = inotify::Reader::new(&self.fd, &mut buf);
            self.changed = reader.next().is_ok();
        }
        self.changed
    }
}

/// A kill decided ahead of the crossing, its processes held.
pub(crate) struct PreparedKill {
    pub pod: Pod,
    pub target: PodTarget,
    /// The pod's stats when prepared (the confirmation's floor for its working set).
    pub stats: Option<PodStats>,
    pub grace: i64,
    pub message: String,
    pub procs: PreparedProcesses,
    pub watch: PodSetWatch,
    /// When it was prepared, and how long it stands.
    pub at: Instant,
    pub refresh: Duration,
    /// How long the preparation took.
    pub took: Duration,
}

/// A prepared kill whose first SIGTERM went out at the crossing, for the pass to confirm.
pub(crate) struct Fired {
    pub pod: Pod,
    pub target: PodTarget,
    pub stats: Option<PodStats>,
    pub grace: i64,
    pub message: String,
    pub first: FirstSigterm,
    /// The pods cgroup's figures read at the crossing.
    pub crossing: MemoryStats,
    pub threshold: Threshold,
    /// From the re-read that found the crossing to the first SIGTERM.
    pub hot_path: Duration,
}

/// What the confirming pass said of a prepared kill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The pass would have evicted the same pod.
    Confirmed,
    /// It would have evicted another pod (`Some(key)`), or none (`None`, with why).
    Disagreed { other: Option<String>, why: String },
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Disagreed { .. } => "disagreed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn reach_is_an_eighth_of_the_trip_value_within_bounds() {
        assert!(!within_reach(300 * MIB, 412 * MIB));
        assert!(within_reach(412 * MIB - 51 * MIB, 412 * MIB));
        assert!(!within_reach(412 * MIB - 52 * MIB, 412 * MIB));
        // Small pods cgroups: at least 16 MiB; big ones: at most 1 GiB.
        assert!(within_reach(48 * MIB, 64 * MIB));
        assert!(!within_reach(62 << 30, 64 << 30));
        assert!(within_reach(63 << 30, 64 << 30));
        assert!(within_reach(500 * MIB, 412 * MIB));
    }

    #[test]
    fn a_slow_preparation_is_refreshed_less_often() {
        assert_eq!(refresh_every(Duration::from_millis(2)), REFRESH_FLOOR);
        assert_eq!(
            refresh_every(Duration::from_millis(30)),
            Duration::from_millis(300)
        );
        assert_eq!(usable_for(REFRESH_FLOOR), Duration::from_millis(200));
    }

    #[test]
    fn a_usable_preparation_is_not_redone_just_before_the_crossing() {
        let ms = Duration::from_millis;
        assert!(refresh_now(None, true, ms(0)));
        assert!(
            !refresh_now(None, false, ms(0)),
            "a failed attempt is not retried at once"
        );
        // (age, refresh interval, how long it took)
        let p = Some((ms(150), ms(100), ms(10)));
        assert!(refresh_now(p, true, ms(500)), "far: refreshed");
        assert!(!refresh_now(p, false, ms(500)), "not due");
        assert!(
            !refresh_now(p, true, ms(15)),
            "the crossing may come while it runs"
        );
        // Past usable: redone whatever the distance (a stale one would not be used).
        assert!(refresh_now(Some((ms(201), ms(100), ms(10))), true, ms(1)));
    }

    #[test]
    fn the_hot_read_is_the_working_set_of_the_same_cgroup() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("memory.stat"), "anon 400\nfile 100\ninactive_file 60\n").unwrap();
        std::fs::write(d.join("memory.current"), "500\n").unwrap();
        std::fs::write(d.join("memory.max"), "1000\n").unwrap();
        let hot = HotFiles::open(d).unwrap();
        let m = hot.read().unwrap();
        assert_eq!(
            (m.usage_bytes, m.working_set_bytes, m.available_bytes),
            (Some(500), Some(440), Some(560))
        );
        // Re-read from the kept-open descriptors: a later value is seen.
        std::fs::write(d.join("memory.current"), "900\n").unwrap();
        std::fs::write(d.join("memory.max"), "max\n").unwrap();
        let m = hot.read().unwrap();
        assert_eq!((m.working_set_bytes, m.available_bytes), (Some(840), None));
    }

    #[test]
    fn a_pod_cgroup_created_or_removed_voids_the_preparation() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("kubepods.slice");
        let be = root.join("kubepods-besteffort.slice");
        std::fs::create_dir_all(be.join("pod-a")).unwrap();
        std::fs::write(root.join("memory.current"), "1\n").unwrap();
        let mut w = PodSetWatch::arm(&root).unwrap();
        assert!(!w.changed());
        // Figures written into existing files are not a pod change.
        std::fs::write(root.join("memory.current"), "2\n").unwrap();
        assert!(!w.changed());
        std::fs::create_dir(be.join("pod-b")).unwrap();
        assert!(w.changed());
        assert!(w.changed(), "stays void");
        let mut w = PodSetWatch::arm(&root).unwrap();
        std::fs::remove_dir(be.join("pod-a")).unwrap();
        assert!(w.changed());
        let mut w = PodSetWatch::arm(&root).unwrap();
        std::fs::create_dir(root.join("kubepods-pod-g.slice")).unwrap();
        assert!(w.changed());
    }
}
