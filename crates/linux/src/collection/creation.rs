//! When a cgroup was created: the `startTime` the kubelet prints for containers, pods and
//! system containers it learns about from cAdvisor.
//!
//! cAdvisor has no creation timestamp from the kernel, so it reads one from the file system
//! (`getSpecInternal` in `container/common/helpers.go`). For every hierarchy it watches (v2:
//! the one unified tree; v1: each mounted controller it supports) it looks at the modification
//! time of the cgroup's directory and of one interface file, `cgroup.clone_children` (v1) or
//! `cgroup.events` (v2). A directory's mtime moves whenever a child cgroup is made, so the
//! file is the steadier witness; the earliest of all of them is taken. In detail:
//! * a directory that does not exist in a hierarchy is passed over (its file is not looked
//!   at); any other failure to stat the directory still lets the file be looked at;
//! * a file that cannot be stat'ed is ignored;
//! * only times strictly before "now" count; nothing counted means no creation time;
//! * a time before the machine booted is raised to the boot time, truncated to the minute.
//!
//! cAdvisor's boot time is `now - sysinfo.uptime`; headroom uses `btime` of `/proc/stat`
//! (the same instant to within a second, and kept in captures). Times keep their nanoseconds
//! here; the Summary prints whole seconds, as the kubelet's JSON does.

use std::io;
use std::path::{Path, PathBuf};

use jiff::{Timestamp, ToSpan};

/// The interface file whose mtime witnesses a v1 cgroup's creation.
pub const V1_WITNESS: &str = "cgroup.clone_children";
/// The interface file whose mtime witnesses a v2 cgroup's creation.
pub const V2_WITNESS: &str = "cgroup.events";

/// The v1 controllers whose hierarchies cAdvisor watches when the kubelet runs it
/// (`supportedSubsystems` less `io`, which only exists on v2; `blkio` stays because the
/// kubelet asks for disk I/O metrics).
pub const CADVISOR_V1_CONTROLLERS: [&str; 9] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "hugetlb",
    "pids",
    "blkio",
    "devices",
    "perf_event",
];

/// The reference times the rule needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The time of the pass: only modification times strictly before it count.
    pub now: Timestamp,
    /// The machine's boot time (`btime`), when known: earlier times are raised to it
    /// (truncated to the minute).
    pub boot: Option<Timestamp>,
}

/// The creation time from the modification times seen, cAdvisor's way: the lowest one
/// strictly before `now`, raised to the boot minute; `None` when nothing counted.
pub fn creation_time(clock: Clock, mtimes: impl IntoIterator<Item = Timestamp>) -> Option<Timestamp> {
    let mut lowest = clock.now;
    for t in mtimes {
        if t < lowest {
            lowest = t;
        }
    }
    if let Some(boot_minute) = clock.boot.and_then(truncate_to_minute)
        && lowest < boot_minute
    {
        lowest = boot_minute;
    }
    (lowest != clock.now).then_some(lowest)
}

/// `t` truncated to the whole minute (Go's `Time.Truncate(time.Minute)`).
fn truncate_to_minute(t: Timestamp) -> Option<Timestamp> {
    let second = t.as_second();
    Timestamp::from_second(second - second.rem_euclid(60)).ok()
}

/// `t` truncated to the whole second, as the kubelet prints times (`metav1.Time`, RFC 3339).
pub fn whole_seconds(t: Timestamp) -> Timestamp {
    t.checked_sub(t.subsec_nanosecond().nanoseconds()).unwrap_or(t)
}

/// The modification time of `path`.
pub fn mtime(path: &Path) -> io::Result<Timestamp> {
    let modified = std::fs::metadata(path)?.modified()?;
    Timestamp::try_from(modified).map_err(io::Error::other)
}

/// Stats one cgroup's directories and witness files in every hierarchy, reusing one path
/// buffer; optionally remembers every path it stat'ed (for the benchmark's floor).
#[derive(Debug, Default)]
pub struct CreationProbe {
    path: PathBuf,
    stated: Option<Vec<PathBuf>>,
}

impl CreationProbe {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember every path stat'ed from now on (see [`CreationProbe::take_stated`]).
    pub fn start_recording(&mut self) {
        self.stated = Some(Vec::new());
    }

    /// Paths stat'ed since [`CreationProbe::start_recording`], in order; drains the list.
    pub fn take_stated(&mut self) -> Vec<PathBuf> {
        self.stated.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The creation time of the cgroup `cgroup` (a name such as `/kubepods/pod1`) under the
    /// hierarchy roots `hierarchies` (real paths), with witness file `witness`.
    pub fn probe(
        &mut self,
        hierarchies: &[PathBuf],
        cgroup: &str,
        witness: &str,
        clock: Clock,
    ) -> Option<Timestamp> {
        let rel = cgroup.trim_start_matches('/');
        // Only the earliest matters: keep a running minimum instead of a list.
        let mut earliest: Option<Timestamp> = None;
        let mut see = |t: Timestamp| earliest = Some(earliest.map_or(t, |e| e.min(t)));
        for root in hierarchies {
            self.path.clear();
            self.path.push(root);
            if !rel.is_empty() {
                self.path.push(rel);
            }
            match self.stat() {
                Ok(t) => see(t),
                // Not in this hierarchy (or vanished mid-scan): nothing more to look at here.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                // Any other failure on the directory still lets the witness file count.
                Err(_) => {}
            }
            self.path.push(witness);
            if let Ok(t) = self.stat() {
                see(t);
            }
        }
        creation_time(clock, earliest)
    }

    fn stat(&mut self) -> io::Result<Timestamp> {
        if let Some(stated) = self.stated.as_mut() {
            stated.push(self.path.clone());
        }
        mtime(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::time::SystemTime;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn set_mtime(path: &Path, t: Timestamp) {
        let nanos = u64::try_from(t.as_nanosecond()).unwrap();
        let when = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(nanos);
        if path.is_dir() {
            File::open(path).unwrap().set_modified(when).unwrap();
        } else {
            File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
    }

    const NOW: &str = "2026-03-01T12:00:00.5Z";

    fn clock(boot: Option<&str>) -> Clock {
        Clock {
            now: ts(NOW),
            boot: boot.map(ts),
        }
    }

    #[test]
    fn the_lowest_time_before_now_wins() {
        let c = clock(None);
        let got = creation_time(c, [ts("2026-03-01T10:00:00Z"), ts("2026-03-01T09:30:00.25Z")]);
        assert_eq!(got, Some(ts("2026-03-01T09:30:00.25Z")));
        // Times at or after now do not count; nothing counted = no creation time.
        assert_eq!(creation_time(c, [ts(NOW), ts("2026-03-02T00:00:00Z")]), None);
        assert_eq!(creation_time(c, []), None);
    }

    #[test]
    fn times_before_boot_are_raised_to_the_boot_minute() {
        let c = clock(Some("2026-03-01T08:17:42Z"));
        let got = creation_time(c, [ts("2026-02-27T00:00:00Z")]);
        assert_eq!(got, Some(ts("2026-03-01T08:17:00Z")));
        // After the boot minute (even before btime itself): kept as is.
        let got = creation_time(c, [ts("2026-03-01T08:17:10Z")]);
        assert_eq!(got, Some(ts("2026-03-01T08:17:10Z")));
    }

    #[test]
    fn whole_seconds_truncates() {
        assert_eq!(
            whole_seconds(ts("2026-03-01T09:30:00.999Z")),
            ts("2026-03-01T09:30:00Z")
        );
        assert_eq!(
            whole_seconds(ts("2026-03-01T09:30:00Z")),
            ts("2026-03-01T09:30:00Z")
        );
    }

    /// Two v1 hierarchies: the lowest of directory and `cgroup.clone_children` mtimes over
    /// both wins; a hierarchy without the cgroup is passed over.
    #[test]
    fn probe_takes_the_lowest_over_hierarchies_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let memory = tmp.path().join("memory");
        let cpu = tmp.path().join("cpu");
        let pids = tmp.path().join("pids"); // mounted, but without this cgroup
        for h in [&memory, &cpu] {
            std::fs::create_dir_all(h.join("kubepods/pod1")).unwrap();
            File::create(h.join("kubepods/pod1").join(V1_WITNESS)).unwrap();
        }
        std::fs::create_dir_all(&pids).unwrap();
        // The directory moved when a child was made; the witness file kept the creation.
        set_mtime(
            &memory.join("kubepods/pod1").join(V1_WITNESS),
            ts("2026-03-01T11:00:05Z"),
        );
        set_mtime(&memory.join("kubepods/pod1"), ts("2026-03-01T11:59:00Z"));
        set_mtime(
            &cpu.join("kubepods/pod1").join(V1_WITNESS),
            ts("2026-03-01T11:00:04.7Z"),
        );
        set_mtime(&cpu.join("kubepods/pod1"), ts("2026-03-01T11:30:00Z"));

        let mut probe = CreationProbe::new();
        probe.start_recording();
        let hierarchies = vec![memory.clone(), pids.clone(), cpu.clone()];
        let got = probe.probe(&hierarchies, "/kubepods/pod1", V1_WITNESS, clock(None));
        assert_eq!(got, Some(ts("2026-03-01T11:00:04.7Z")));
        let stated = probe.take_stated();
        // memory dir + file, pids dir (missing: its file is not looked at), cpu dir + file.
        assert_eq!(stated.len(), 5, "{stated:?}");
        assert_eq!(stated[2], pids.join("kubepods/pod1"));
    }

    /// v2: `cgroup.events`; a directory older than its file wins; a missing witness file
    /// is ignored; a vanished cgroup gives no time.
    #[test]
    fn probe_v2_directory_can_win_and_missing_pieces_are_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let pod = root.join("kubepods.slice/pod2");
        std::fs::create_dir_all(&pod).unwrap();
        File::create(pod.join(V2_WITNESS)).unwrap();
        set_mtime(&pod.join(V2_WITNESS), ts("2026-03-01T10:00:00Z"));
        set_mtime(&pod, ts("2026-03-01T09:00:00Z"));
        let mut probe = CreationProbe::new();
        let h = [root.clone()];
        let got = probe.probe(&h, "kubepods.slice/pod2", V2_WITNESS, clock(None));
        assert_eq!(got, Some(ts("2026-03-01T09:00:00Z")));

        std::fs::remove_file(pod.join(V2_WITNESS)).unwrap();
        set_mtime(&pod, ts("2026-03-01T09:00:00Z")); // the removal moved it
        let got = probe.probe(&h, "kubepods.slice/pod2", V2_WITNESS, clock(None));
        assert_eq!(got, Some(ts("2026-03-01T09:00:00Z")));

        let got = probe.probe(&h, "kubepods.slice/gone", V2_WITNESS, clock(None));
        assert_eq!(got, None);
        // A cgroup made after the pass time (the clock of a replayed pass) has none either.
        set_mtime(&pod, ts("2027-01-01T00:00:00Z"));
        assert_eq!(
            probe.probe(&h, "kubepods.slice/pod2", V2_WITNESS, clock(None)),
            None
        );
    }
}
