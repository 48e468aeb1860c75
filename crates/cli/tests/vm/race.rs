//! The agent's race on cgroup v2 in the VM test bed, shared by the CI test (`vm_race.rs`, one
//! run per rate) and the benchmark (`benches/vm_race.rs`, 20): the guest scenario
//! (`race.sh`), what it is given, and the figures computed from what it sends back.
//!
//! Reaction (crossing -> the hog's last progress) is computed from the allocator's own
//! heartbeat: the crossing is where its allocated bytes put the pods cgroup's working set at
//! `512 MiB - 100Mi` (the working set before the hog started, plus what it allocated, plus the
//! hog's own overhead: page tables, stack; calibrated on the runs without an evictor, where the
//! kernel stops the hog at the limit). Overshoot = bytes allocated past the crossing (the
//! 100 MiB buffer is what is left before the OOM kill); time = overshoot / the hog's average
//! rate. Emulated time is not real time: compare contenders of the same guest run.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use headroom_lab::heartbeat::Heartbeat;
use headroom_vmtest::{Guest, headroom_binary};
use std::time::Duration;

pub const SCENARIO: &str = include_str!("race.sh");
pub const MIB: u64 = 1 << 20;
pub const LIMIT: u64 = 512 * MIB;
pub const THRESHOLD: u64 = 100 * MIB;

pub struct Setup {
    pub runs: usize,
    /// MiB/s, or "full".
    pub rates: Vec<String>,
    /// agent, yardstick, none.
    pub contenders: Vec<String>,
    pub idle_secs: u64,
}

impl Setup {
    pub fn total_runs(&self) -> usize {
        self.runs * self.rates.len() * self.contenders.len()
    }
}

fn pods_json(total: usize) -> String {
    let mut items = vec![serde_json::json!({
        "metadata": {"name": "guaranteed", "namespace": "race", "uid": "g0000000-0000-0000-0000-000000000001"},
        "spec": {"containers": [{"name": "hold", "resources": {
            "requests": {"memory": "128Mi", "cpu": "1"}, "limits": {"memory": "128Mi", "cpu": "1"}}}]}})];
    for n in 1..=total {
        let uid = format!("be000000-0000-0000-0000-{n:012}");
        items.push(serde_json::json!({
            "metadata": {"name": format!("hog-{n}"), "namespace": "race", "uid": uid},
            "spec": {"containers": [{"name": "hog"}]}}));
    }
    serde_json::json!({"items": items}).to_string()
}

pub fn guest(setup: &Setup) -> Guest {
    let kc = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
              cgroupDriver: systemd\nevictionHard:\n  allocatableMemory.available: \"100Mi\"\n";
    Guest::new(SCENARIO)
        .binary("headroom", headroom_binary(env!("CARGO_BIN_EXE_headroom")))
        .file("/etc/kc.yaml", kc)
        .file("/etc/pods.json", pods_json(setup.total_runs()))
        .env("RUNS", &setup.runs.to_string())
        .env("RATES", &setup.rates.join(" "))
        .env("CONTENDERS", &setup.contenders.join(" "))
        .env("IDLE_SECS", &setup.idle_secs.to_string())
        .timeout(Duration::from_secs(3600))
}

/// One run, as the guest reported it.
#[derive(Debug, Clone)]
pub struct Run {
    pub contender: String,
    pub rate: String,
    pub n: u64,
    /// Working set of the pods cgroup before the hog started.
    pub base_working_set: u64,
    /// The kernel OOM-killed something in the pods cgroup during the run.
    pub oom: bool,
    /// The hog's exit status as the shell saw it (143: SIGTERM, 137: SIGKILL).
    pub status: i32,
    pub guaranteed_alive: bool,
    pub heartbeat: Option<Heartbeat>,
}

pub fn parse(csv: &str) -> Vec<Run> {
    csv.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(10, ',').collect();
            assert_eq!(f.len(), 10, "bad race.csv line {l:?}");
            let num = |i: usize| -> u64 {
                f[i].trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("field {i} of {l:?}"))
            };
            Run {
                contender: f[0].to_string(),
                rate: f[1].to_string(),
                n: num(2),
                base_working_set: num(3).saturating_sub(num(4)),
                oom: num(6) > num(5),
                status: f[7].trim().parse().unwrap_or(-1),
                guaranteed_alive: f[8].trim() == "1",
                heartbeat: Heartbeat::parse(f[9]),
            }
        })
        .collect()
}

/// Bytes the hog charges beyond what it allocated, from runs the kernel stopped at the limit
/// (median); 0 without such runs.
pub fn hog_overhead(runs: &[Run]) -> u64 {
    let mut v: Vec<u64> = runs
        .iter()
        .filter(|r| r.oom && r.contender == "none")
        .filter_map(|r| {
            let hb = r.heartbeat?;
            Some(LIMIT.saturating_sub(r.base_working_set + hb.allocated))
        })
        .collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// (overshoot bytes past the crossing, reaction ms) of a run the hog did not finish.
pub fn reaction(run: &Run, overhead: u64) -> Option<(i64, f64)> {
    let hb = run.heartbeat?;
    let crossing = (LIMIT - THRESHOLD) as i64 - run.base_working_set as i64 - overhead as i64;
    let overshoot = hb.allocated as i64 - crossing;
    let secs = hb.mono_ns.checked_sub(hb.start_mono_ns)? as f64 / 1e9;
    if secs <= 0.0 || hb.allocated == 0 {
        return None;
    }
    let rate = hb.allocated as f64 / secs;
    Some((overshoot, overshoot as f64 / rate * 1e3))
}

/// Idle CPU of the three processes measured side by side, ms over `secs`.
pub struct Idle {
    pub secs: f64,
    pub agent_ms: f64,
    pub yardstick_ms: f64,
    /// The same agent with `--notifications off` (no early warning).
    pub agent_quiet_ms: f64,
}

/// `idle,SECS,agent0,agent1,yard0,yard1,quiet0,quiet1` (ns of CPU).
pub fn parse_idle(text: &str) -> Option<Idle> {
    let f: Vec<f64> = text
        .trim()
        .split(',')
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let [secs, a0, a1, y0, y1, q0, q1] = f[..] else {
        return None;
    };
    Some(Idle {
        secs,
        agent_ms: (a1 - a0) / 1e6,
        yardstick_ms: (y1 - y0) / 1e6,
        agent_quiet_ms: (q1 - q0) / 1e6,
    })
}

/// The observing agent's notifications: (Unix ns, watch key: `pods usage`, `psi pods`,
/// `pods memory.events`, `psi`).
pub fn parse_notifications(log: &str) -> Vec<(i128, String)> {
    log.lines()
        .filter_map(|l| {
            let (ts, rest) = l.split_once(' ')?;
            let t: jiff::Timestamp = ts.parse().ok()?;
            let note = rest.split_once("notification: ")?.1;
            let key = note.split_once(':')?.0.to_string();
            Some((t.as_nanosecond(), key))
        })
        .collect()
}

/// For each observed run: the crossing and the hog's end (Unix ns, guest clock), from its
/// heartbeat (constant rate assumed between its start and its last progress).
pub fn crossing_and_end(run: &Run, overhead: u64) -> Option<(f64, f64)> {
    let hb = run.heartbeat?;
    let span = hb.mono_ns.checked_sub(hb.start_mono_ns)? as f64;
    if hb.allocated == 0 || span <= 0.0 {
        return None;
    }
    let crossing = (LIMIT - THRESHOLD) as f64 - run.base_working_set as f64 - overhead as f64;
    let start_wall = hb.wall_ns as f64 - span;
    Some((
        start_wall + crossing / hb.allocated as f64 * span,
        hb.wall_ns as f64,
    ))
}

/// Per mechanism: for each observed run where it fired, (ms after the crossing, ms before
/// the hog's end) of its first firing in that run.
pub fn first_firings(
    runs: &[Run],
    overhead: u64,
    notes: &[(i128, String)],
) -> std::collections::BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    for run in runs.iter().filter(|r| r.contender == "observe") {
        let (Some((crossing, end)), Some(hb)) = (crossing_and_end(run, overhead), run.heartbeat) else {
            continue;
        };
        let start = hb.wall_ns as f64 - (hb.mono_ns - hb.start_mono_ns) as f64;
        let mut seen = std::collections::BTreeSet::new();
        for (t, key) in notes {
            let t = *t as f64;
            if t < start || t > end + 0.5e9 || !seen.insert(key.clone()) {
                continue;
            }
            out.entry(key.clone())
                .or_default()
                .push(((t - crossing) / 1e6, (end - t) / 1e6));
        }
    }
    out
}
