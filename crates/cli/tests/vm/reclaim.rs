//! Reclaim before evict (issue #16) in the VM test bed, shared by the CI test
//! (`vm_reclaim.rs`, one run per scenario and policy) and the benchmark
//! (`benches/vm_reclaim.rs`, 10): the guest scenario (`reclaim.sh`), what it is given, and the
//! figures computed from what it sends back.
//!
//! Anonymous-growth reaction (crossing -> the hog's last progress) comes from the allocator's
//! heartbeat: the crossing is where its allocated bytes put the pods cgroup's working set at
//! `LIMIT - THRESHOLD`: the working set before the hog started, plus the hog's own overhead
//! (binary, stack, page tables: its container's usage less its allocated bytes, probed a second
//! in), plus what it allocated. Leaving the overhead out (as the first version did) shifted
//! every crossing by about a MiB, which at 40 MiB/s is ~25 ms: as large as the reactions
//! themselves, so the ratio of two runs could read 28 where the agent's own log showed the
//! same path. Emulated time is not real time: compare policies of one guest run.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use headroom_lab::heartbeat::Heartbeat;
use headroom_vmtest::{Guest, headroom_binary};
use std::time::Duration;

pub const SCENARIO: &str = include_str!("reclaim.sh");
pub const MIB: u64 = 1 << 20;
/// `memory.max` of kubepods.slice. Small, so that a CI boot stays short: the shape is what
/// matters (active cache over the threshold, the cgroup far below its limit).
pub const LIMIT: u64 = 384 * MIB;
/// `allocatableMemory.available<128Mi`: met when the working set passes 256 MiB.
pub const THRESHOLD: u64 = 128 * MIB;
/// The file the hot-cache pod re-reads: once active, with the pod's anon, it puts the working
/// set 32 MiB over the line and 96 MiB under the limit.
pub const FILE: u64 = 256 * MIB;
pub const POD_ANON: u64 = 32 * MIB;
pub const PAGE: u64 = 4096;

pub struct Setup {
    pub runs: usize,
    /// Seconds a hot run goes on after the reader's second pass (the cache is active from then).
    pub hot_secs: u64,
    /// Bound on a whole hot run, guest seconds (cold passes are slow under TCG).
    pub hot_timeout: u64,
    pub anon_rate: u64,
}

pub fn guest(setup: &Setup) -> Guest {
    // The kubelet configuration is written by the scenario itself (runnable with headroom-vm).
    Guest::new(SCENARIO)
        .binary("headroom", headroom_binary(env!("CARGO_BIN_EXE_headroom")))
        .env("RUNS", &setup.runs.to_string())
        .env("HOT_SECS", &setup.hot_secs.to_string())
        .env("HOT_TIMEOUT", &setup.hot_timeout.to_string())
        .env("LIMIT_MIB", &(LIMIT / MIB).to_string())
        .env("THRESHOLD_MIB", &(THRESHOLD / MIB).to_string())
        .env("FILE_MIB", &(FILE / MIB).to_string())
        .env("POD_ANON_MIB", &(POD_ANON / MIB).to_string())
        .env("ANON_RATE", &setup.anon_rate.to_string())
        // On a loaded host, TCG can miss the kernel's IO-APIC timer check and panic the boot.
        .kernel_args("no_timer_check")
        .timeout(Duration::from_secs(3600))
}

/// One hot-cache run.
#[derive(Debug, Clone)]
pub struct Hot {
    pub policy: String,
    /// Pods the agent killed (each a false eviction: the cgroup was far from its limit).
    pub kills: u64,
    pub oom_kills: u64,
    pub reader_alive: bool,
    /// Whole passes over the file the reader completed (from 2 on, its cache is active).
    pub reads: u64,
    /// File bytes re-faulted in the pods cgroup during the run.
    pub refaulted: u64,
    /// Highest working set of the pods cgroup seen by the scenario's 0.5 s sampler.
    pub max_working_set: u64,
    pub active_file: u64,
    pub anon: u64,
    pub reclaims: u64,
    pub asked: u64,
    pub reclaimed: u64,
    /// Passes where reclaim-first held back an eviction the kubelet policy would make.
    pub holds: u64,
}

/// One anonymous-growth run.
#[derive(Debug, Clone)]
pub struct Anon {
    pub policy: String,
    /// The run's number in the guest (its section in agent.log).
    pub run: u64,
    pub base_working_set: u64,
    pub oom: bool,
    /// The hog's exit status as the shell saw it (137: SIGKILL).
    pub status: i32,
    pub kills: u64,
    pub reclaims: u64,
    /// The hog's own memory beyond what it allocated (probed a second in; 0 if not probed).
    pub overhead: u64,
    pub heartbeat: Option<Heartbeat>,
}

fn num(f: &[&str], i: usize, line: &str) -> u64 {
    f.get(i)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("field {i} of {line:?}"))
}

/// The runs of reclaim.csv: (hot-cache runs, anonymous-growth runs).
pub fn parse(csv: &str) -> (Vec<Hot>, Vec<Anon>) {
    let (mut hot, mut anon) = (Vec::new(), Vec::new());
    for l in csv.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = l.splitn(13, ',').collect();
        match f[0] {
            "hot" => {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!(f.len(), 17, "bad hot line {l:?}");
                let n = |i| num(&f, i, l);
                hot.push(Hot {
                    policy: f[1].to_string(),
                    kills: n(3),
                    oom_kills: n(5).saturating_sub(n(4)),
                    reader_alive: f[6] == "1",
                    reads: n(7),
                    refaulted: n(9).saturating_sub(n(8)) * PAGE,
                    max_working_set: n(10),
                    active_file: n(11),
                    anon: n(12),
                    reclaims: n(13),
                    asked: n(14),
                    reclaimed: n(15),
                    holds: n(16),
                });
            }
            "anon" => {
                assert_eq!(f.len(), 13, "bad anon line {l:?}");
                let n = |i| num(&f, i, l);
                anon.push(Anon {
                    policy: f[1].to_string(),
                    run: n(2),
                    base_working_set: n(3).saturating_sub(n(4)),
                    oom: n(6) > n(5),
                    status: f[7].trim().parse().unwrap_or(-1),
                    kills: n(8),
                    reclaims: n(9),
                    overhead: n(10).saturating_sub(n(11)),
                    heartbeat: Heartbeat::parse(f[12]),
                });
            }
            other => panic!("bad reclaim.csv line kind {other:?}: {l:?}"),
        }
    }
    (hot, anon)
}

/// (overshoot bytes past the crossing, reaction ms) of an anonymous-growth run.
pub fn reaction(run: &Anon) -> Option<(i64, f64)> {
    let hb = run.heartbeat?;
    let crossing = (LIMIT - THRESHOLD) as i64 - run.base_working_set as i64 - run.overhead as i64;
    let overshoot = hb.allocated as i64 - crossing;
    let secs = hb.mono_ns.checked_sub(hb.start_mono_ns)? as f64 / 1e9;
    if secs <= 0.0 || hb.allocated == 0 {
        return None;
    }
    let rate = hb.allocated as f64 / secs;
    Some((overshoot, overshoot as f64 / rate * 1e3))
}

/// One sample of a hot run: (policy, run, seconds, working set, active_file, anon,
/// inactive_file, passes the reader completed).
pub type Sample = (String, u64, f64, u64, u64, u64, u64, u64);

pub fn parse_series(csv: &str) -> Vec<Sample> {
    csv.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f.get(i)?.trim().parse::<u64>().ok();
            Some((
                f.first()?.to_string(),
                n(1)?,
                n(2)? as f64 / 1e3,
                n(3)?,
                n(4)?,
                n(5)?,
                n(6)?,
                n(7)?,
            ))
        })
        .collect()
}

/// The agent's own path in an anonymous-growth run, from its log: ms from the usage
/// notification to the first signal of the kill (the `killed pod` line's time less the kill's
/// own duration, which is the hog's exit: it stopped allocating at the signal). This leaves out
/// how late the notification came (the usage re-reads, the same code under both policies) and
/// is what a policy can add between the decision and the act.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPath {
    pub policy: String,
    pub run: u64,
    pub notified_to_signal_ms: f64,
}

/// [`AgentPath`] of each run whose log section (`=== POLICY run N`, as reclaim.sh writes
/// agent.log) has a notification and a kill.
pub fn agent_paths(log: &str) -> Vec<AgentPath> {
    let stamp = |line: &str| -> Option<f64> {
        let t: jiff::Timestamp = line.split_whitespace().next()?.parse().ok()?;
        Some(t.as_nanosecond() as f64 / 1e6)
    };
    let mut out = Vec::new();
    let mut current: Option<(String, u64)> = None;
    let mut notified: Option<f64> = None;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("=== ") {
            let mut w = rest.split_whitespace();
            current = match (w.next(), w.next(), w.next().and_then(|n| n.parse().ok())) {
                (Some(p), Some("run"), Some(n)) => Some((p.to_string(), n)),
                _ => None,
            };
            notified = None;
        } else if line.contains("notification: pods usage") && notified.is_none() {
            notified = stamp(line);
        } else if let (Some(i), Some((policy, run)), Some(t0)) =
            (line.find("killed pod "), current.as_ref(), notified)
        {
            // "..., exited in grace=true, 257.79725ms" (Duration's Debug form).
            let took = line[i..].rsplit(", ").next().and_then(duration_ms);
            if let (Some(t1), Some(took)) = (stamp(line), took) {
                out.push(AgentPath {
                    policy: policy.clone(),
                    run: *run,
                    notified_to_signal_ms: t1 - took - t0,
                });
            }
            notified = None;
        }
    }
    out
}

/// A `Duration`'s Debug text (`257.79725ms`, `1.2s`, `950µs`) in ms.
fn duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    for (unit, scale) in [("ms", 1.0), ("µs", 1e-3), ("ns", 1e-6), ("s", 1e3)] {
        if let Some(v) = s.strip_suffix(unit) {
            return v.parse::<f64>().ok().map(|v| v * scale);
        }
    }
    None
}
