//! Agent reaction time and idle cost (root, cgroup v1). `cargo bench -p headroom --bench agent_reaction`
//!
//! Reaction: a 512 MiB test "pods" cgroup, a Guaranteed pod holding 100 MiB, and a BestEffort
//! pod allocating anonymous memory at 200 MiB/s or as fast as it can (`headroom worker alloc`).
//! The threshold is `allocatableMemory.available<100Mi` (hard). Both ends are read on the
//! allocator's own clock (its `--heartbeat` file: CLOCK_MONOTONIC of its last progress and the
//! bytes allocated so far, rewritten every 64 KiB):
//!   * crossing: a sampler pairs the pods cgroup's working set (usage - total_inactive_file)
//!     with the heartbeat every ~200 µs, which gives how many allocated bytes put the working
//!     set at `capacity - 100Mi`; the time the heartbeat passed that amount is interpolated;
//!   * kill: the heartbeat's last progress (a killed allocator stops within one 64 KiB step).
//!
//! Reaction = kill - crossing. Process teardown (freeing hundreds of MiB, tens of ms) is NOT
//! included: the pod stops growing at the kill. Three contenders:
//!   * the agent with notifications (10 s period, so only notifications can win);
//!   * the agent polling every 1 s (notifications off);
//!   * a yardstick: a minimal loop re-reading the working set every 10 ms and SIGKILLing the
//!     BestEffort pod's processes (this very binary, re-executed with `yardstick`).
//!
//! Idle cost: 110 empty pod cgroups, no pressure, 10 s period: CPU time (`/proc/<pid>/schedstat`,
//! ns) and peak RSS of the agent vs the yardstick over the same window, which starts
//! `IDLE_SETTLE` after both started (start-up cost excluded). The default window, 60 s, holds
//! one whole cycle of the agent's passes (one full pass per `FULL_PASS_EVERY` = 6 periods, light
//! passes in between), so its figure is the long-run average.
//!
//! Ctrl-C (or SIGTERM) stops the bench at the next check; the Drop guards then kill the
//! processes it started and remove its cgroups.
//!
//! Env: HEADROOM_BENCH_RUNS (default 20), HEADROOM_BENCH_IDLE_SECS (default 60; 0 skips the
//! idle part), HEADROOM_BENCH_CONTENDERS (comma list of `notify,poll1s,yardstick`, default all:
//! `notify` alone is the v1 soak), HEADROOM_BENCH_AGENT_LOG (a file: the agents' decision
//! lines and their stderr at info level go there, e.g. to count catch-up passes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_lab::heartbeat::Heartbeat;
use headroom_linux::control::{Cgroup, CgroupHost};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const LIMIT: u64 = 512 * MIB;
const THRESHOLD: u64 = 100 * MIB;
const BIN: &str = env!("CARGO_BIN_EXE_headroom");
/// Time between the contenders' start and the idle window's first sample.
const IDLE_SETTLE: Duration = Duration::from_secs(3);

/// Set by SIGINT/SIGTERM: stop, and let the Drop guards clean up.
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Sleep `d`, waking early when interrupted.
fn sleep_unless_interrupted(d: Duration) {
    let end = Instant::now() + d;
    while !interrupted() {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
}

fn working_set(cg: &Path) -> u64 {
    headroom_lab::yardstick::working_set(cg).unwrap_or(0)
}

fn oom_kills(cg: &Path) -> u64 {
    std::fs::read_to_string(cg.join("memory.oom_control"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The yardstick: `headroom_lab::yardstick` every 10 ms on the pods cgroup, victims the
/// BestEffort pods.
fn yardstick(pods: &Path, victims: &Path, limit_ws: u64) -> ! {
    if let Err(e) = headroom_lab::yardstick::run(pods, victims, limit_ws, Duration::from_millis(10)) {
        eprintln!("yardstick: {e}");
    }
    std::process::exit(1)
}

#[derive(Clone, Copy, PartialEq)]
enum Contender {
    AgentNotify,
    AgentPoll1s,
    Yardstick,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::AgentNotify => "agent, notifications",
            Contender::AgentPoll1s => "agent, 1 s polling",
            Contender::Yardstick => "yardstick, 10 ms polling",
        }
    }
}

struct Started {
    child: Child,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_contender(
    c: Contender,
    dir: &Path,
    parent: &Cgroup,
    besteffort: &Cgroup,
    pods_file: &Path,
) -> Started {
    let parent_name = parent.path().file_name().unwrap().to_string_lossy().into_owned();
    let child = match c {
        Contender::Yardstick => Command::new(std::env::current_exe().unwrap())
            .arg("yardstick")
            .arg(parent.path())
            .arg(besteffort.path())
            .arg((LIMIT - THRESHOLD).to_string())
            .spawn()
            .unwrap(),
        _ => {
            let config = dir.join("kubelet.yaml");
            std::fs::write(
                &config,
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
                 evictionHard:\n  allocatableMemory.available: \"100Mi\"\n",
            )
            .unwrap();
            let (period, notif) = if c == Contender::AgentNotify {
                ("10s", "on")
            } else {
                ("1s", "off")
            };
            let log = std::env::var_os("HEADROOM_BENCH_AGENT_LOG");
            let level = if log.is_some() { "info" } else { "error" };
            // Decision lines (stdout) and diagnostics (stderr) in one file, in order.
            let (stdout, stderr) = match log {
                Some(path) => {
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .unwrap();
                    (Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
                }
                None => (Stdio::null(), Stdio::inherit()),
            };
            Command::new(BIN)
                .args(["agent", "--config"])
                .arg(&config)
                .args([
                    "--period",
                    period,
                    "--notifications",
                    notif,
                    "--action",
                    "kill",
                    "--listen",
                    "off",
                ])
                .arg("--pods")
                .arg(pods_file)
                .args(["--pod-cgroup-root", &format!("/{parent_name}")])
                .env("HEADROOM_LOG", level)
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .unwrap()
        }
    };
    // Let it complete its first pass (and arm its notifications).
    std::thread::sleep(Duration::from_millis(500));
    Started { child }
}

struct RunResult {
    reaction_ms: Option<f64>,
    oom: bool,
}

fn one_run(parent: &Cgroup, besteffort: &Cgroup, uid: &str, rate: Option<u32>, dir: &Path) -> RunResult {
    let pod = besteffort.create_child(&format!("pod{uid}")).unwrap();
    let ctr = pod.create_child("ctr").unwrap();
    let hb_path = dir.join(format!("heartbeat-{uid}"));
    let stop = Arc::new(AtomicBool::new(false));
    // (pods working set, heartbeat allocated, heartbeat mono_ns) pairs, read back to back.
    let sampler = {
        let (stop, pods, hb_path) = (stop.clone(), parent.path().to_path_buf(), hb_path.clone());
        std::thread::spawn(move || {
            let mut samples: Vec<(u64, u64, u64)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(hb) = Heartbeat::read(&hb_path) {
                    let ws = working_set(&pods);
                    if hb.allocated > 0 && !hb.done {
                        samples.push((ws, hb.allocated, hb.mono_ns));
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            samples
        })
    };
    let mut args = vec![
        "worker".to_string(),
        "alloc".into(),
        "--mib".into(),
        "1024".into(),
    ];
    if let Some(r) = rate {
        args.extend(["--rate".into(), r.to_string()]);
    }
    args.extend(["--heartbeat".into(), hb_path.display().to_string()]);
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut hog = ctr.spawn(BIN, &args_ref).unwrap();
    let t0 = Instant::now();
    let mut died = false;
    while t0.elapsed() < Duration::from_secs(20) && !interrupted() {
        if hog.try_wait().unwrap().is_some() {
            died = true;
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let _ = hog.kill();
    let _ = hog.wait();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let last = Heartbeat::read(&hb_path);
    let oom = oom_kills(ctr.path()) + oom_kills(pod.path()) > 0;
    let reaction_ms = match (died && !oom, last) {
        (true, Some(last)) => crossing_ns(&samples).map(|c| (last.mono_ns as f64 - c) / 1e6),
        _ => None,
    };
    drop(ctr);
    drop(pod);
    let _ = std::fs::remove_file(&hb_path);
    // Let the agent's cleanup wait and re-arm settle before the next run.
    std::thread::sleep(Duration::from_millis(300));
    RunResult { reaction_ms, oom }
}

/// When the pods cgroup's working set crossed `capacity - threshold`, on the allocator's
/// clock: everything but the allocator's bytes is `offset = ws - allocated` (median over the
/// samples), so the crossing is at `allocated = (LIMIT - THRESHOLD) - offset`, interpolated
/// between the heartbeat samples around it.
fn crossing_ns(samples: &[(u64, u64, u64)]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let mut offsets: Vec<i64> = samples.iter().map(|(ws, a, _)| *ws as i64 - *a as i64).collect();
    offsets.sort_unstable();
    let offset = offsets[offsets.len() / 2];
    let target = (LIMIT - THRESHOLD) as i64 - offset;
    let pts: Vec<(f64, f64)> = samples.iter().map(|(_, a, m)| (*a as f64, *m as f64)).collect();
    // Past the last sample (the contender killed at, or within the sampling noise before, the
    // crossing): extrapolate from the last two samples, which can give a reaction near 0 or
    // slightly negative. Dropping those runs would bias the figures towards slow runs.
    let n = pts.len();
    let i = pts.iter().position(|(a, _)| *a >= target as f64).unwrap_or(n - 1);
    let (lo, hi) = if i == 0 {
        (pts[0], pts[1])
    } else {
        (pts[i - 1], pts[i])
    };
    if hi.0 == lo.0 {
        return Some(hi.1);
    }
    Some(lo.1 + (target as f64 - lo.0) * (hi.1 - lo.1) / (hi.0 - lo.0))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// CPU seconds on-CPU (schedstat: ns, not 10 ms ticks; summed over the live threads) and peak
/// RSS (KiB) of a process.
fn cpu_and_hwm(pid: u32) -> (f64, u64) {
    let cpu_ns: f64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (cpu_ns / 1e9, hwm)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("yardstick") {
        yardstick(Path::new(&args[2]), Path::new(&args[3]), args[4].parse().unwrap());
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while cleaning up exits at once (order matters: this one first).
        signal_hook::flag::register_conditional_shutdown(sig, 1, flag.clone()).unwrap();
        signal_hook::flag::register(sig, flag.clone()).unwrap();
    }
    if !headroom_linux::control::is_root()
        || !Path::new("/sys/fs/cgroup/memory/memory.usage_in_bytes").exists()
    {
        eprintln!("agent_reaction: needs root and the cgroup v1 memory controller; skipped");
        return;
    }
    let runs: usize = std::env::var("HEADROOM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let idle_secs: u64 = std::env::var("HEADROOM_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let contenders: Vec<Contender> = match std::env::var("HEADROOM_BENCH_CONTENDERS") {
        Ok(list) => list
            .split(',')
            .map(|c| match c.trim() {
                "notify" => Contender::AgentNotify,
                "poll1s" => Contender::AgentPoll1s,
                "yardstick" => Contender::Yardstick,
                other => panic!("HEADROOM_BENCH_CONTENDERS: unknown contender {other:?}"),
            })
            .collect(),
        Err(_) => vec![
            Contender::AgentNotify,
            Contender::AgentPoll1s,
            Contender::Yardstick,
        ],
    };
    let host = CgroupHost::detect().unwrap();
    let dir = tempfile::tempdir().unwrap();

    println!(
        "## Agent reaction time (threshold crossing -> kill, on the allocator's clock), {runs} runs each"
    );
    println!(
        "| allocation rate | contender | p50 ms | p90 ms | max ms | kernel OOM kills | not measurable |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut p50s: Vec<(String, f64)> = Vec::new();
    for (rate_name, rate) in [("200 MiB/s", Some(200)), ("full speed", None)] {
        for &c in &contenders {
            if interrupted() {
                return;
            }
            let parent = host.create_unique("headroom-test-bench").unwrap();
            parent.set_memory_limit(Some(LIMIT)).unwrap();
            let g = parent.create_child("podbench-g").unwrap();
            let gc = g.create_child("ctr").unwrap();
            let besteffort = parent.create_child("besteffort").unwrap();
            let uids: Vec<String> = (0..runs)
                .map(|i| format!("bench-{}-{i}", std::process::id()))
                .collect();
            let mut items = vec![serde_json::json!({
                "metadata": {"name": "guaranteed", "namespace": "bench", "uid": "bench-g"},
                "spec": {"containers": [{"name": "m", "resources": {
                    "requests": {"memory": "128Mi", "cpu": "1"}, "limits": {"memory": "128Mi", "cpu": "1"}}}]}})];
            for u in &uids {
                items.push(
                    serde_json::json!({"metadata": {"name": u, "namespace": "bench", "uid": u},
                    "spec": {"containers": [{"name": "m"}]}}),
                );
            }
            let pods_file = dir.path().join("pods.json");
            std::fs::write(&pods_file, serde_json::json!({"items": items}).to_string()).unwrap();
            let _holder = Started {
                child: gc.spawn(BIN, &["worker", "alloc", "--mib", "100"]).unwrap(),
            };
            std::thread::sleep(Duration::from_millis(700));
            let _contender = start_contender(c, dir.path(), &parent, &besteffort, &pods_file);
            let mut times = Vec::new();
            let (mut ooms, mut missed) = (0, 0);
            for uid in &uids {
                if interrupted() {
                    break;
                }
                let r = one_run(&parent, &besteffort, uid, rate, dir.path());
                if r.oom {
                    ooms += 1;
                }
                match r.reaction_ms {
                    Some(ms) => times.push(ms),
                    None if !r.oom => missed += 1,
                    None => {}
                }
            }
            if interrupted() {
                // Partial rows would mislead; the guards clean up on return.
                return;
            }
            drop(_contender);
            drop(_holder);
            times.sort_by(f64::total_cmp);
            let (p50, p90, max) = (
                pct(&times, 0.5),
                pct(&times, 0.9),
                times.last().copied().unwrap_or(f64::NAN),
            );
            println!(
                "| {rate_name} | {} | {p50:.2} | {p90:.2} | {max:.2} | {ooms}/{runs} | {missed} |",
                c.name()
            );
            p50s.push((format!("{rate_name}, {}", c.name()), p50));
            drop(besteffort);
            drop(gc);
            drop(g);
            drop(parent);
        }
    }
    if interrupted() {
        return;
    }
    for chunk in p50s.chunks(3) {
        if let [(n, notify), (_, poll), (_, yard)] = chunk {
            let rate = n.split(',').next().unwrap_or("");
            if *notify < 0.1 {
                // Below the heartbeat's resolution: a ratio would be meaningless.
                println!(
                    "p50 ({rate}): agent-notify {notify:.2} ms (below resolution), yardstick {yard:.2} ms, agent-1s {poll:.2} ms"
                );
            } else {
                println!(
                    "ratio p50 ({rate}): yardstick/agent-notify = {:.1}x, agent-1s/agent-notify = {:.1}x",
                    yard / notify,
                    poll / notify
                );
            }
        }
    }

    if idle_secs == 0 {
        return;
    }
    // Idle cost: 110 empty pod cgroups, no pressure.
    let parent = host.create_unique("headroom-test-bench-idle").unwrap();
    // A limit as a real node's pod cgroup root has (node allocatable), so that
    // allocatableMemory.available is observed and checked on every pass.
    parent.set_memory_limit(Some(LIMIT)).unwrap();
    let be = parent.create_child("besteffort").unwrap();
    let mut pods = Vec::new();
    for i in 0..110 {
        let p = be.create_child(&format!("podidle-{i}")).unwrap();
        pods.push(p.create_child("ctr").unwrap());
        pods.push(p);
    }
    let pods_file = dir.path().join("pods-empty.json");
    std::fs::write(&pods_file, "[]").unwrap();
    let t_start = Instant::now();
    let mut agent = start_contender(Contender::AgentNotify, dir.path(), &parent, &be, &pods_file);
    let mut yard = start_contender(Contender::Yardstick, dir.path(), &parent, &be, &pods_file);
    sleep_unless_interrupted(IDLE_SETTLE.saturating_sub(t_start.elapsed()));
    let (a0, _) = cpu_and_hwm(agent.child.id());
    let (y0, _) = cpu_and_hwm(yard.child.id());
    let t0 = Instant::now();
    sleep_unless_interrupted(Duration::from_secs(idle_secs));
    if interrupted() {
        return;
    }
    let wall = t0.elapsed().as_secs_f64();
    let (a1, a_hwm) = cpu_and_hwm(agent.child.id());
    let (y1, y_hwm) = cpu_and_hwm(yard.child.id());
    let _ = agent.child.kill();
    let _ = yard.child.kill();
    let (acpu, ycpu) = ((a1 - a0) / wall * 100.0, (y1 - y0) / wall * 100.0);
    println!();
    println!(
        "## Idle cost over {wall:.0} s (from t={} s after start), 110 pod cgroups, no pressure",
        IDLE_SETTLE.as_secs()
    );
    println!("| process | CPU ms | CPU % | peak RSS MiB |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| agent (10 s period, notifications) | {:.2} | {acpu:.4} | {:.1} |",
        (a1 - a0) * 1e3,
        a_hwm as f64 / 1024.0
    );
    println!(
        "| yardstick (10 ms polling) | {:.2} | {ycpu:.4} | {:.1} |",
        (y1 - y0) * 1e3,
        y_hwm as f64 / 1024.0
    );
    println!("ratio idle CPU agent/yardstick = {:.1}%", acpu / ycpu * 100.0);
    drop(pods);
    drop(be);
    drop(parent);
}
