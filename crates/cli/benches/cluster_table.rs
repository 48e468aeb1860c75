//! `headroom cluster` on 1,000 nodes x 30 pods against a local fake API server.
//! `cargo bench -p headroom --features k8s --bench cluster_table`
//!
//! The fake API server (crates/cluster/tests/support/fake_api.rs, one worker thread, in this
//! process) serves 1,000 nodes, each with a kubelet-shaped Summary, a kubeadm-style `/configz`
//! and a PodList of 30 pods (managed fields, statuses: ~120 KiB per node); 10 of the nodes are
//! down (the proxy answers 503); ten pools of nodes run ten different kubelet configs. Two
//! contenders, side by side in one run:
//!   * the table: the `headroom cluster --format json` binary (release), end to end: list,
//!     3,000 GETs, parsing, `headroom status`'s report per node, sort, print; wall time and
//!     peak RSS (VmHWM, sampled every 5 ms);
//!   * a yardstick: the same 3,001 GETs with the same client and concurrency, bodies dropped
//!     unread (in this process): what the network part alone costs on this machine.
//!
//! Target (issue #17): the whole table under 10 s and 200 MiB on 2 cores. The fake server
//! shares the cores with the contender, as an API server would not.
//!
//! Env: HEADROOM_BENCH_RUNS (default 3), HEADROOM_BENCH_NODES (default 1000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../cluster/tests/support/fake_api.rs"]
mod fake_api;

use fake_api::{Behaviour, GI, MI, fake_node, synthetic_node};
use headroom_cluster::api::Api;
use headroom_cluster::paths;
use headroom_cluster::scan::list_nodes;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_headroom");
const PODS: usize = 30;
const CONCURRENCY: usize = 32;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU seconds of this process's waited-for children (`cutime + cstime` of /proc/self/stat).
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of stat(5), 14 and 15 after the name and state.
    let ticks: u64 = fields[13].parse::<u64>().unwrap() + fields[14].parse::<u64>().unwrap();
    // USER_HZ: /proc reports clock ticks of 1/100 s on Linux whatever the kernel's HZ.
    ticks as f64 / 100.0
}

/// One run of the binary: wall time, CPU seconds, peak RSS (KiB), nodes in the document.
fn table_run(kubeconfig: &std::path::Path) -> (Duration, f64, u64, usize) {
    let cpu_before = children_cpu_seconds();
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(["cluster", "--format", "json", "--concurrency"])
        .arg(CONCURRENCY.to_string())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    let mut peak = 0;
    loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let cpu = children_cpu_seconds() - cpu_before;
    let out = reader.join().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    (wall, cpu, peak, doc["total"].as_u64().unwrap() as usize)
}

/// The yardstick: the same GETs, bodies dropped.
fn fetch_only(rt: &tokio::runtime::Runtime, url: &str) -> (Duration, usize) {
    rt.block_on(async {
        let start = Instant::now();
        let api = Api::plain(url, Duration::from_secs(10)).await.unwrap();
        let nodes = list_nodes(&api, None).await.unwrap();
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for node in nodes {
            let (api, permits) = (api.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.unwrap();
                let n = &node.name;
                let (s, c, p) = (paths::summary(n), paths::configz(n), paths::pods(n));
                let (a, b, c) = tokio::join!(api.get(&s), api.get(&c), api.get(&p));
                [a, b, c]
                    .iter()
                    .map(|r| r.as_ref().map_or(0, String::len))
                    .sum::<usize>()
            });
        }
        let mut bytes = 0;
        while let Some(n) = tasks.join_next().await {
            bytes += n.unwrap();
        }
        (start.elapsed(), bytes)
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs = env_usize("HEADROOM_BENCH_RUNS", 3).max(1);
    let count = env_usize("HEADROOM_BENCH_NODES", 1000);
    let generated = Instant::now();
    let nodes: Vec<_> = (0..count)
        .map(|i| {
            let name = format!("ip-10-0-{}-{}.ec2.internal", i / 250, i % 250);
            let available = (64 + (i as u64 * 7919) % 8000) * MI;
            // Ten node pools, ten running configs (the kubelet config differs by pool).
            let configz = fake_api::configz(serde_json::json!({"evictionHard": {
                "memory.available": format!("{}Mi", 100 + (i % 10) * 50),
                "nodefs.available": "10%", "imagefs.available": "15%"}}));
            let docs = synthetic_node(&name, 16 * GI, available, PODS, configz);
            let behaviour = if i % 100 == 99 {
                Behaviour::Down
            } else {
                Behaviour::Up
            };
            fake_node(&name, "False", docs, behaviour)
        })
        .collect();
    let per_node: usize = nodes
        .iter()
        .take(1)
        .map(|n| n.docs.summary.len() + n.docs.configz.len() + n.docs.pods.len())
        .sum();
    eprintln!(
        "generated {count} nodes x {PODS} pods in {:.1}s (~{} KiB per node)",
        generated.elapsed().as_secs_f64(),
        per_node / 1024
    );
    let (addr, _served) = fake_api::serve(nodes, 1);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake_api::kubeconfig(dir.path(), addr);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://{addr}");

    let mut table = Vec::new();
    let mut cpus = Vec::new();
    let mut fetch = Vec::new();
    let mut peak = 0;
    let mut bytes = 0;
    for run in 0..runs {
        let (wall, cpu, kib, total) = table_run(&kubeconfig);
        assert_eq!(total, count);
        let (f, b) = fetch_only(&rt, &url);
        eprintln!(
            "run {}: table {:.2}s ({:.2} CPU s), peak RSS {:.1} MiB; fetch only {:.2}s",
            run + 1,
            wall.as_secs_f64(),
            cpu,
            kib as f64 / 1024.0,
            f.as_secs_f64()
        );
        table.push(wall);
        cpus.push(Duration::from_secs_f64(cpu));
        fetch.push(f);
        peak = peak.max(kib);
        bytes = b;
    }
    let (t, f) = (median(table), median(fetch));
    println!(
        "{count} nodes x {PODS} pods, {:.0} MiB of documents per round, concurrency {CONCURRENCY}, {runs} runs (median)",
        bytes as f64 / MI as f64
    );
    println!("| contender | wall s | CPU s | peak RSS MiB |");
    println!("|---|---|---|---|");
    println!(
        "| `headroom cluster --format json` (whole table) | {:.2} | {:.2} | {:.1} |",
        t.as_secs_f64(),
        median(cpus).as_secs_f64(),
        peak as f64 / 1024.0
    );
    println!(
        "| yardstick: the same GETs, bodies dropped | {:.2} | - | - |",
        f.as_secs_f64()
    );
    println!(
        "| ratio table / fetch (wall) | {:.1} | | |",
        t.as_secs_f64() / f.as_secs_f64()
    );
}
