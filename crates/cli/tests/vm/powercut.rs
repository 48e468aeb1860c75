//! The flight recorder across power cuts of a cgroup v2 guest (the VM test bed), shared by the
//! CI test (`vm_powercut.rs`) and its longer, by-hand form (`HEADROOM_POWERCUT_CUTS=N`).
//!
//! One ext4 disk image, booted `cuts + 1` times. Each boot but the last runs `headroom record`
//! on that disk while a pod's usage swings (`powercut.sh`, STAGE=record), and the host SIGKILLs
//! qemu at a random moment after the guest has confirmed a few commits (the recorder prints a
//! pass's decision line only once the pass is committed). The next boot mounts the disk (ext4
//! replays its journal), `headroom replay` opens the recording (SQLite drops a torn WAL tail)
//! and decodes every stored pass, and the host checks that every pass any boot confirmed is
//! there; then that boot records again (recording resumes) until its own cut. The last boot
//! records a few passes, stops cleanly, and checks again.
//!
//! What SIGKILLing qemu does not model: a disk losing writes it had acknowledged before a
//! flush. The image lives in the host's page cache, which survives qemu; what is lost is the
//! guest's RAM (page cache, dirty metadata, I/O not yet issued). That every commit does issue a
//! flush to the disk (`synchronous=FULL`) is checked apart, from the block layer's counters.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use headroom_vmtest::{Ending, Guest, Outcome, Vm, headroom_binary};

#[path = "wal.rs"]
pub mod wal;

pub const SCENARIO: &str = include_str!("powercut.sh");

/// How the loop runs.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Power cuts (boots: one more).
    pub cuts: usize,
    /// Commits the guest must confirm in a boot before the cut may come.
    pub min_commits: usize,
    /// The cut comes at a uniformly random moment this long (wall) after those commits.
    pub max_delay: Duration,
    /// Passes the last boot records before it stops cleanly.
    pub final_passes: usize,
    pub seed: u64,
    /// The disk image's size.
    pub disk_mib: u64,
}

impl Setup {
    /// `cuts` power cuts; the seed from `HEADROOM_POWERCUT_SEED` (to replay a failure) or the
    /// clock.
    pub fn new(cuts: usize) -> Setup {
        let seed = std::env::var("HEADROOM_POWERCUT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        Setup {
            cuts,
            min_commits: 3,
            max_delay: Duration::from_millis(2500),
            final_passes: 10,
            seed: seed | 1,
            disk_mib: 128,
        }
    }
}

/// One boot, as the host saw it.
#[derive(Clone, Debug)]
pub struct Boot {
    pub n: usize,
    /// Passes stored when this boot opened the recording (before recording again).
    pub stored_at_start: usize,
    /// Passes this boot confirmed committed before its cut (or before its clean stop).
    pub confirmed: usize,
    /// Of the passes confirmed by the boot before, how many this boot found (all, or a failure).
    pub found: usize,
    /// Passes stored past the last confirmed one of the boot before: committed, but the cut
    /// came before the guest printed them.
    pub unconfirmed_extra: usize,
    pub wall: Duration,
    /// After this boot's cut, on a copy of the disk: what e2fsck said, and the WAL's frames
    /// (`None`: no WAL file).
    pub fsck: Option<wal::Fsck>,
    pub wal: Option<wal::Wal>,
}

/// Everything a loop measured.
#[derive(Clone, Debug)]
pub struct Report {
    pub boots: Vec<Boot>,
    /// Disk flush requests completed over the last boot's clean passes, and those passes.
    pub flushes: u64,
    pub final_passes: usize,
}

fn pods_json() -> String {
    serde_json::json!({"items": [
        {"metadata": {"name": "guaranteed", "namespace": "powercut", "uid": "g0000000-0000-0000-0000-000000000001"},
         "spec": {"containers": [{"name": "hold", "resources": {
             "requests": {"memory": "64Mi", "cpu": "1"}, "limits": {"memory": "64Mi", "cpu": "1"}}}]}},
        {"metadata": {"name": "swing", "namespace": "powercut", "uid": "be000000-0000-0000-0000-000000000001"},
         "spec": {"containers": [{"name": "swing"}]}}
    ]})
    .to_string()
}

fn guest(setup: &Setup, image: &std::path::Path, boot: usize, stage: &str) -> Guest {
    let kc = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
              cgroupDriver: systemd\nevictionHard:\n  allocatableMemory.available: \"100Mi\"\n";
    Guest::new(SCENARIO)
        .binary("headroom", headroom_binary(env!("CARGO_BIN_EXE_headroom")))
        .file("/etc/kc.yaml", kc)
        .file("/etc/pods.json", pods_json())
        .env("BOOT", &boot.to_string())
        .env("STAGE", stage)
        .env("FINAL_PASSES", &setup.final_passes.to_string())
        .disk(image)
        .memory_mib(1024)
        .timeout(Duration::from_secs(900))
}

/// The `time=` of each `decision` line after `marker` (the recorder's confirmed commits).
pub fn confirmed_times(text: &str, marker: Option<&str>) -> Vec<String> {
    let text = match marker {
        None => text,
        Some(m) => text.find(m).map_or("", |i| &text[i..]),
    };
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter_map(|l| l.strip_prefix("decision time="))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The times of the steps `headroom replay --format json` printed, in order.
pub fn replayed_times(json_lines: &str) -> Result<Vec<String>, String> {
    json_lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| format!("replay printed a line that is not JSON ({e}): {l}"))?;
            v["time"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("a replay step without a time: {l}"))
        })
        .collect()
}

/// xorshift64: the cut moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const MARKER: &str = "powercut: recording starts";

/// The recording the boot opened, checked against every pass confirmed so far: replay ran
/// (every stored pass decoded) and found them all. Returns (stored, found, extra past the last
/// confirmed pass). `name` is `replay` or `replay-final`.
fn check_recording(
    out: &Outcome,
    name: &str,
    confirmed: &[String],
    log: &dyn Fn() -> String,
) -> (usize, usize, usize) {
    let file = |f: &str| {
        out.text(f)
            .unwrap_or_else(|| panic!("the guest sent no {f}\n{}", log()))
    };
    let rc = file(&format!("{name}.rc"));
    assert_eq!(
        rc.trim(),
        "0",
        "headroom replay failed on the recording left by the power cut:\n{}\n{}",
        file(&format!("{name}.err")),
        log()
    );
    let stored = replayed_times(&file(&format!("{name}.json"))).unwrap_or_else(|e| panic!("{e}\n{}", log()));
    let have: BTreeSet<&String> = stored.iter().collect();
    let missing: Vec<&String> = confirmed.iter().filter(|t| !have.contains(t)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} passes confirmed committed before the power cut are not in the recording \
         (first: {}; {} stored)\n{}",
        missing.len(),
        confirmed.len(),
        missing[0],
        stored.len(),
        log()
    );
    let extra = confirmed
        .last()
        .and_then(|last| stored.iter().position(|t| t == last))
        .map_or(stored.len(), |i| stored.len() - i - 1);
    (stored.len(), confirmed.len() - missing.len(), extra)
}

/// Run the loop; panics (with the guest's log) on any failure.
pub fn run(vm: &Vm, setup: &Setup) -> Report {
    eprintln!(
        "power-cut loop: {} cuts, seed {} (HEADROOM_POWERCUT_SEED={} replays it)",
        setup.cuts, setup.seed, setup.seed
    );
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("disk.img");
    headroom_vmtest::disk::ext4_image(&image, setup.disk_mib).unwrap();
    let mut rng = Rng(setup.seed);
    let mut confirmed: Vec<String> = Vec::new();
    let mut boots = Vec::new();
    let mut flushes = 0;
    let mut final_passes = 0;
    for n in 0..=setup.cuts {
        let last = n == setup.cuts;
        let guest = guest(setup, &image, n, if last { "final" } else { "record" });
        let delay = Duration::from_millis(rng.next() % (setup.max_delay.as_millis() as u64 + 1));
        let mut cut_at: Option<Instant> = None;
        let out = if last {
            vm.run(&guest)
        } else {
            vm.run_until_power_cut(&guest, |console| {
                if cut_at.is_none() && confirmed_times(console, Some(MARKER)).len() >= setup.min_commits {
                    cut_at = Some(Instant::now() + delay);
                }
                cut_at.is_some_and(|t| Instant::now() >= t)
            })
        }
        .unwrap_or_else(|e| panic!("boot {n}: {e}"));
        let log = || {
            format!(
                "boot {n} of the power-cut loop (seed {})\n{}",
                setup.seed,
                out.log_for_failure()
            )
        };
        assert!(out.booted(), "the VM did not boot\n{}", log());
        out.assert_case("disk-mounts");
        if last {
            assert_eq!(out.ending, Ending::Finished { scenario_exit: 0 }, "{}", log());
        } else {
            assert_eq!(
                out.ending,
                Ending::PowerCut,
                "the guest stopped before its power cut\n{}",
                log()
            );
        }
        let (stored_at_start, found, extra) = if n == 0 {
            assert!(
                out.text("replay.rc").is_none(),
                "a fresh disk held a recording\n{}",
                log()
            );
            (0, 0, 0)
        } else {
            check_recording(&out, "replay", &confirmed, &log)
        };
        let mine = if last {
            confirmed_times(&out.text("record.out").unwrap_or_default(), None)
        } else {
            confirmed_times(&out.console, Some(MARKER))
        };
        assert!(
            mine.len()
                >= if last {
                    setup.final_passes
                } else {
                    setup.min_commits
                },
            "boot {n} confirmed only {} passes\n{}",
            mine.len(),
            log()
        );
        confirmed.extend(mine.iter().cloned());
        if last {
            let (stored, _, _) = check_recording(&out, "replay-final", &confirmed, &log);
            assert!(
                stored >= stored_at_start + mine.len(),
                "recording did not resume: {stored} passes after, {stored_at_start} before\n{}",
                log()
            );
            let f = out.text("flushes").unwrap_or_default();
            let v: Vec<u64> = f.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            assert_eq!(v.len(), 2, "flushes: {f:?}\n{}", log());
            flushes = v[1].saturating_sub(v[0]);
            final_passes = mine.len();
            // synchronous=FULL: each commit's fsync reaches the disk as a flush.
            assert!(
                flushes >= final_passes as u64,
                "{flushes} disk flushes over {final_passes} committed passes: a commit did not \
                 flush the disk's write cache\n{}",
                log()
            );
        }
        let (fsck, wal) = if last {
            (None, None)
        } else {
            let (status, bytes) = wal::after_cut(&image, "/rec/recording.sqlite-wal")
                .unwrap_or_else(|e| panic!("{e}\n{}", log()));
            let wal =
                bytes.map(|b| wal::inspect(&b).unwrap_or_else(|e| panic!("the WAL after the cut: {e}")));
            (Some(status), wal)
        };
        let boot = Boot {
            n,
            stored_at_start,
            confirmed: mine.len(),
            found,
            unconfirmed_extra: extra,
            wall: out.wall,
            fsck,
            wal,
        };
        eprintln!("{boot:?}");
        boots.push(boot);
    }
    Report {
        boots,
        flushes,
        final_passes,
    }
}
