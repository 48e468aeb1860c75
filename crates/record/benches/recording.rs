//! Flight recorder benchmark, one run, side by side:
//! * bytes per day for a 110-pod node (3 containers each, 441 memory cgroups) at a 10 s
//!   period, every pass a full one (the agent's light passes at rest would store less);
//! * the recorder's cost per pass (`Recorder::record`) against the pass itself (collection
//!   + `synchronize`), measured in the same loop;
//! * replay of the recording (decode every pass + `synchronize`), scaled to a day.
//!
//! Between passes the node root and the pods cgroup move at every pass, and each pod (with its
//! containers) is busy at a third of the passes, at random: its usage, rss, file LRU lists move
//! by up to 64 pages and its page-in/out and fault counters grow. `-- --all-busy`: every pod
//! busy at every pass (the worst case for the delta encoding).
//!
//! Run: `cargo bench -p headroom-record --bench recording` (a simulated day, 8,640 passes);
//! `-- --quick` records an hour (360 passes) and scales by 24; `-- --passes N` records N;
//! `-- --compare-sync` also records the at-rest case under `synchronous=NORMAL` (no fsync per
//! commit), to show what the recorder's `FULL` costs per pass; `-- --replays N` replays each
//! recording N times and prints the best, median and worst (one replay of 360 passes is short);
//! `-- --keep DIR` keeps each recording under DIR (`at-rest`, `at-rest-normal`, `full`), so that
//! `headroom replay --recording DIR/full` can be timed end to end on it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use headroom_core::Timestamp;
use headroom_core::config::KubeletConfig;
use headroom_core::manager::{ManagerState, SyncInputs, synchronize};
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::root::HostRoot;
use headroom_record::store::{Samples, WalkOptions};
use headroom_record::{PassInput, Recorder, RecordingMeta, Retention, Store};

use headroom_linux::test_support::{self, V1_STAT as STAT};
const PODS: usize = 110;
const CONFIG: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
                      evictionHard:\n  memory.available: \"100Mi\"\n  allocatableMemory.available: \"100Mi\"\n";

fn uid(p: usize) -> String {
    format!("{p:08}-0000-4000-8000-000000000000")
}

/// Every memory cgroup of the fake node: root, kubepods, pods and their containers.
fn cgroups(mem: &Path) -> Vec<Moving> {
    let mut out = vec![
        Moving::new(mem.to_path_buf(), None),
        Moving::new(mem.join("kubepods"), None),
    ];
    for p in 0..PODS {
        let qos = ["", "burstable/", "besteffort/"][p % 3];
        let pod = mem.join(format!("kubepods/{qos}pod{}", uid(p)));
        out.push(Moving::new(pod.clone(), Some(p)));
        for c in 0..3 {
            out.push(Moving::new(pod.join(format!("{:064x}", p * 3 + c)), Some(p)));
        }
    }
    out
}

/// A cheap deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

const MOVING: [&str; 16] = [
    "cache",
    "rss",
    "inactive_file",
    "active_file",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "total_cache",
    "total_rss",
    "total_inactive_file",
    "total_active_file",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_inactive_anon",
    "total_active_anon",
];

/// One cgroup's `memory.stat` as it moves from pass to pass.
struct Moving {
    path: PathBuf,
    /// The pod it belongs to (`None`: the root or kubepods, which move at every pass).
    pod: Option<usize>,
    stat: Vec<(String, u64)>,
}

impl Moving {
    fn new(path: PathBuf, pod: Option<usize>) -> Moving {
        let stat = STAT
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(0)))
            .collect();
        Moving { path, pod, stat }
    }

    /// Counters grow by up to a few thousand, sizes walk by up to 64 pages either way.
    fn step(&mut self, rng: &mut Rng) {
        for (k, v) in &mut self.stat {
            if !MOVING.contains(&k.as_str()) {
                continue;
            }
            *v = if k.contains("pg") {
                *v + rng.next(3000)
            } else {
                (*v + rng.next(129) * 4096).saturating_sub(64 * 4096)
            };
        }
    }

    fn write(&self) {
        let mut text = String::with_capacity(STAT.len() + 64);
        let mut usage = 0u64;
        for (k, v) in &self.stat {
            if k == "total_rss" || k == "total_cache" {
                usage += v;
            }
            text.push_str(&format!("{k} {v}\n"));
        }
        std::fs::write(self.path.join("memory.stat"), text).unwrap();
        std::fs::write(self.path.join("memory.usage_in_bytes"), format!("{usage}\n")).unwrap();
    }
}

/// Move the node for one pass: the root and kubepods always; each pod (with its containers)
/// when it is busy this pass (every pod with `all_busy`, else a third of them at random).
fn write_pass(cgs: &mut [Moving], all_busy: bool, rng: &mut Rng) {
    let busy: Vec<bool> = (0..PODS).map(|_| all_busy || rng.next(3) == 0).collect();
    for cg in cgs.iter_mut() {
        if cg.pod.is_none_or(|p| busy[p]) {
            cg.step(rng);
            cg.write();
        }
    }
}

fn fake_tree(dir: &Path) -> Vec<Moving> {
    let cgs = cgroups(&test_support::v1_memory_root(dir));
    let paths: Vec<PathBuf> = cgs.iter().map(|cg| cg.path.clone()).collect();
    test_support::write_v1_host(dir, &paths).unwrap();
    cgs
}

fn pods() -> Vec<Pod> {
    let items: Vec<serde_json::Value> = (0..PODS)
        .map(|p| {
            serde_json::json!({"metadata": {"name": format!("pod-{p}"), "namespace": "bench", "uid": uid(p)},
                "spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}})
        })
        .collect();
    serde_json::from_value(serde_json::Value::Array(items)).unwrap()
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let passes: u64 = args
        .iter()
        .position(|a| a == "--passes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 360 } else { 8640 });
    let all_busy = args.iter().any(|a| a == "--all-busy");
    // `-- --replays N`: replay each recording N times (the figures above are the first; a
    // replay of 360 passes lasts ~0.1 s, so one run is at the mercy of the machine's load).
    let replays: usize = args
        .iter()
        .position(|a| a == "--replays")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let keep: Option<PathBuf> = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let kept = |name: &str| keep.as_ref().map(|d| d.join(name));
    println!(
        "flight recorder, {PODS} pods x 3 containers, {passes} passes of 10 s, {} (machine load: {})",
        if all_busy {
            "every pod busy at every pass"
        } else {
            "a third of the pods busy at each pass"
        },
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    run(
        "the agent at rest: a full pass every 6th, light passes between",
        passes,
        all_busy,
        6,
        false,
        replays,
        kept("at-rest"),
    );
    if args.iter().any(|a| a == "--compare-sync") {
        run(
            "the same, synchronous=NORMAL (no fsync per commit: not what the recorder does)",
            passes,
            all_busy,
            6,
            true,
            replays,
            kept("at-rest-normal"),
        );
    }
    run(
        "every pass full (near a threshold, or `headroom record` on a busy node)",
        passes,
        all_busy,
        1,
        false,
        replays,
        kept("full"),
    );
}

/// Record `passes` passes, a full one every `full_every` (light otherwise, as the agent at
/// rest), then replay them; print the figures. With `keep`, the recording is moved there after.
fn run(
    label: &str,
    passes: u64,
    all_busy: bool,
    full_every: u64,
    sync_normal: bool,
    replays: usize,
    keep: Option<PathBuf>,
) {
    let scale = 8640.0 / passes as f64;
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    let mut cgs = fake_tree(&host);
    let rec = tmp.path().join("rec");
    let config = KubeletConfig::parse(CONFIG, "bench").unwrap().eviction().unwrap();
    let pods = pods();
    let mut collector = Collector::new(CollectOptions {
        root: HostRoot::dir(host.clone()),
        pod_cgroup_root: Some("/kubepods".into()),
        node_name: Some("bench".into()),
        ..CollectOptions::default()
    })
    .unwrap();
    collector.keep_samples(true);
    let meta = RecordingMeta {
        source: "bench".into(),
        config: CONFIG.into(),
        pod_cgroup_root: "/kubepods".into(),
        action: "none".into(),
        ..RecordingMeta::default()
    };
    // No size limit here: the point is how much a day takes.
    let retention = Retention {
        max_bytes: 1 << 40,
        max_age: Duration::from_secs(7 * 24 * 3600),
    };
    let mut recorder = Recorder::open(&rec, &meta, retention).unwrap();
    if sync_normal {
        recorder.store().relax_durability_for_benchmarks().unwrap();
    }
    let mut state = ManagerState::new();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let start = Timestamp::now();
    let (mut pass_time, mut record_time) = (Duration::ZERO, Duration::ZERO);
    for k in 0..passes {
        write_pass(&mut cgs, all_busy, &mut rng);
        let now = start + jiff::SignedDuration::from_secs(10 * k as i64);
        let t0 = Instant::now();
        let light = k % full_every != 0;
        let snapshot = if light {
            collector.collect_light_at(now).unwrap()
        } else {
            collector.collect_at(now).unwrap()
        };
        let decision = synchronize(
            &mut state,
            &config,
            SyncInputs {
                summary: &snapshot.summary,
                active_pods: &pods,
                now,
                fs_topology: FsTopology::default(),
                pod_cgroup_root: "/kubepods",
            },
        );
        let t1 = Instant::now();
        recorder
            .record(PassInput {
                snapshot: &snapshot,
                pods: &pods,
                decision: &decision,
                config: &config,
                trigger: "period",
                woken_by: &[],
                light,
                now,
            })
            .unwrap();
        pass_time += t1 - t0;
        record_time += t1.elapsed();
    }
    drop(recorder);
    let store = Store::open(&rec).unwrap();
    let live = store.live_bytes().unwrap();
    drop(store);
    let on_disk = dir_bytes(&rec);

    let runs: Vec<Replayed> = (0..replays.max(1))
        .map(|_| replay_once(&rec, &config, passes))
        .collect();
    let Replayed {
        replay,
        opened,
        sync_time,
        cpu,
        evictions,
    } = runs[0];

    let mib = |b: f64| b / f64::from(1 << 20);
    println!("{label} ({} memory cgroups)", cgs.len());
    println!(
        "  bytes: {:.1} MiB live ({:.1} MiB files) for {passes} passes -> {:.1} MiB per day ({} B per pass)",
        mib(live as f64),
        mib(on_disk as f64),
        mib(live as f64 * scale),
        live / passes
    );
    let per = |d: Duration| d.as_secs_f64() * 1e3 / passes as f64;
    println!(
        "  per pass: collect + synchronize {:.2} ms, record {:.2} ms ({:.0}% of the pass)",
        per(pass_time),
        per(record_time),
        100.0 * record_time.as_secs_f64() / pass_time.as_secs_f64()
    );
    println!(
        "  replay: {passes} passes in {:.2} s -> {:.2} s per day ({evictions} evictions; opening and \
         checking the recording {:.1} ms of it)",
        replay.as_secs_f64(),
        replay.as_secs_f64() * scale,
        opened.as_secs_f64() * 1e3
    );
    println!(
        "  replay split: synchronize {:.1} ms in the caller (in order), the rest waiting for decoded \
         passes; CPU of all threads {:.1} ms ({:.2} cores busy)",
        sync_time.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3,
        cpu.as_secs_f64() / replay.as_secs_f64()
    );
    if runs.len() > 1 {
        let mut walls: Vec<f64> = runs.iter().map(|r| r.replay.as_secs_f64() * scale).collect();
        walls.sort_by(f64::total_cmp);
        let mut cpus: Vec<f64> = runs.iter().map(|r| r.cpu.as_secs_f64() * 1e3).collect();
        cpus.sort_by(f64::total_cmp);
        println!(
            "  replay, {} times over: {:.2} s per day at best, {:.2} s median, {:.2} s at worst; CPU \
             {:.1} ms median",
            runs.len(),
            walls[0],
            walls[walls.len() / 2],
            walls[walls.len() - 1],
            cpus[cpus.len() / 2]
        );
    }
    if let Some(dir) = keep {
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&rec, &dir).unwrap();
        println!("  kept the recording in {}", dir.display());
    }
}

/// One replay of a recording: decode every pass + `synchronize`.
#[derive(Clone, Copy)]
struct Replayed {
    replay: Duration,
    opened: Duration,
    sync_time: Duration,
    cpu: Duration,
    evictions: usize,
}

fn replay_once(rec: &Path, config: &headroom_core::config::EvictionConfig, passes: u64) -> Replayed {
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let store = Store::open(rec).unwrap();
    // Part of a replay's cost (the integrity check reads every page), shown apart.
    let opened = t0.elapsed();
    let mut state = ManagerState::new();
    let (mut evictions, mut read) = (0, 0u64);
    // The caller's in-order share (synchronize): with the decoding threads, replay cannot take
    // less than this, whatever the decoders do.
    let mut sync_time = Duration::ZERO;
    // As `headroom replay` walks: lent, light passes lent the pods before them.
    let how = WalkOptions {
        samples: Samples::Skip,
        fill_light: true,
    };
    store
        .lend_each_pass(None, None, how, |p| {
            read += 1;
            let s0 = Instant::now();
            let d = synchronize(
                &mut state,
                config,
                SyncInputs {
                    summary: &p.readings.summary,
                    active_pods: &p.pods,
                    now: p.time,
                    fs_topology: FsTopology::default(),
                    pod_cgroup_root: "/kubepods",
                },
            );
            evictions += d.evictions.len();
            sync_time += s0.elapsed();
            Ok(())
        })
        .unwrap();
    let replay = t0.elapsed();
    let cpu = process_cpu().saturating_sub(cpu0);
    assert_eq!(read, passes);
    Replayed {
        replay,
        opened,
        sync_time,
        cpu,
        evictions,
    }
}

/// CPU time used by this process so far, all its threads (those that ended included); zero
/// under valgrind, where rustix's vDSO lookup faults (the callgrind profiles count instructions
/// instead).
fn process_cpu() -> Duration {
    let preload = std::env::var("LD_PRELOAD").unwrap_or_default();
    if preload.contains("vgpreload") {
        return Duration::ZERO;
    }
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}
