//! The agent under faults, on the real kernel (root, cgroup v1): each test reproduces one
//! failure a fault run found in production-like conditions (issue #15).
//!
//! * stuck on one pod: an empty BestEffort pod ranks first under a threshold that stays met;
//!   the agent must act on it once and move on to the next pod, not re-choose it forever;
//! * `--root`: the same with the host tree reached through a `--root` directory (as the
//!   DaemonSet's `--root=/host`): the rails and the kill must use one path model;
//! * cgroup namespace: the agent runs inside the pod that ranks first, in its own cgroup
//!   namespace (where `/proc/self/cgroup` reads `/`): it must refuse to kill its own pod.
//!
//! Every cgroup is named `headroom-faults-*` and removed on drop with the processes in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/agent_http.rs"]
mod agent_http;
#[path = "common/agent_kernel.rs"]
mod agent_kernel;
#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;

use agent_http::{http_get as get, metric_sum as metric};
use agent_kernel::{
    Procs, guaranteed, kernel_host, kubelet_config, pod_cgroup, pods_parent, wait_until, write_pods,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const BIN: &str = env!("CARGO_BIN_EXE_headroom");

fn wait_for(what: &str, timeout: Duration, f: impl FnMut() -> bool) -> bool {
    let held = wait_until(timeout, f);
    if !held {
        eprintln!("timed out after {timeout:?} waiting for {what}");
    }
    held
}

fn usage(cg: &Path) -> u64 {
    std::fs::read_to_string(cg.join("memory.usage_in_bytes"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// A pod of the `faults` namespace.
fn pod_json(name: &str, uid: &str, priority: Option<i64>, resources: serde_json::Value) -> serde_json::Value {
    agent_kernel::pod_json("faults", name, uid, priority, resources)
}

/// The kubelet config: a hard threshold the test tree always meets (512 MiB parent limit,
/// 500Mi asked to stay available).
fn write_config(dir: &Path) -> PathBuf {
    let config = dir.join("kubelet.yaml");
    kubelet_config(&config, "500Mi");
    config
}

/// A directory standing for `/` through symlinks, as `--root=/host` in the DaemonSet: the
/// same kernel files under another prefix.
fn host_mount(dir: &Path) -> PathBuf {
    let root = dir.join("host");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::symlink("/sys", root.join("sys")).unwrap();
    std::os::unix::fs::symlink("/proc", root.join("proc")).unwrap();
    root
}

fn agent_command(config: &Path, pods: &Path, parent: &str, root: Option<&Path>) -> Vec<String> {
    let mut args = vec![
        "agent".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--period".into(),
        "1s".into(),
        "--notifications".into(),
        "off".into(),
        "--action".into(),
        "kill".into(),
        "--listen".into(),
        "off".into(),
        "--pods".into(),
        pods.display().to_string(),
        "--pod-cgroup-root".into(),
        format!("/{parent}"),
    ];
    if let Some(r) = root {
        args.extend(["--root".into(), r.display().to_string()]);
    }
    args
}

fn count(out: &str, needle: &str) -> usize {
    out.lines().filter(|l| l.contains(needle)).count()
}

/// Pods `crit` (priority 2000000000, a sleeping process), `empty` (BestEffort, no process)
/// and `guar` (Guaranteed, 60 MiB) under a threshold that stays met. The kubelet evicts
/// `empty` (it ranks first), marks it Failed, then evicts `guar`; `crit` never.
fn stuck_on_one_pod(test: &str, through_root: bool) {
    let Some(host) = kernel_host(test) else { return };
    let (parent, parent_name) = pods_parent(&host, "headroom-faults-stuck");
    let stamp = std::process::id();
    let (uid_c, uid_e, uid_g) = (
        format!("crit-{stamp}"),
        format!("empty-{stamp}"),
        format!("guar-{stamp}"),
    );
    let burstable = parent.create_child("burstable").unwrap();
    let (_pod_c, ctr_c) = pod_cgroup(&burstable, &uid_c, "ctr-c");
    let besteffort = parent.create_child("besteffort").unwrap();
    let (_pod_e, _ctr_e) = pod_cgroup(&besteffort, &uid_e, "ctr-e");
    let (pod_g, ctr_g) = pod_cgroup(&parent, &uid_g, "ctr-g");

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let pods = dir.path().join("pods.json");
    write_pods(
        &pods,
        vec![
            pod_json(
                "crit",
                &uid_c,
                Some(2_000_000_000),
                serde_json::json!({"requests": {"memory": "10Mi"}}),
            ),
            pod_json("empty", &uid_e, None, serde_json::json!({})),
            pod_json("guar", &uid_g, None, guaranteed()),
        ],
    );

    let mut procs = Procs(Vec::new());
    procs.0.push(ctr_c.spawn(BIN, &["worker", "sleep"]).unwrap());
    procs
        .0
        .push(ctr_g.spawn(BIN, &["worker", "alloc", "--mib", "60"]).unwrap());
    assert!(wait_for("guar to hold 60 MiB", Duration::from_secs(20), || {
        usage(pod_g.path()) >= 60 * MIB
    }));

    let root = through_root.then(|| host_mount(dir.path()));
    let out_path = dir.path().join("agent.out");
    let agent = Command::new(BIN)
        .args(agent_command(&config, &pods, &parent_name, root.as_deref()))
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(dir.path().join("agent.err")).unwrap())
        .spawn()
        .unwrap();
    procs.0.push(agent);

    // guar is the second pod the kubelet would evict: wait for its process to be killed.
    let guar_stopped = wait_for("guar's process to be killed", Duration::from_secs(20), || {
        procs.0[1].try_wait().unwrap().is_some()
    });
    // A few more periods: the dead pods must not be chosen again.
    std::thread::sleep(Duration::from_millis(2500));
    let agent_alive = procs.0[2].try_wait().unwrap().is_none();
    let crit_alive = procs.0[0].try_wait().unwrap().is_none();
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(dir.path().join("agent.err")).unwrap_or_default();
    let head: String = out.lines().take(12).collect::<Vec<_>>().join("\n");
    let decisions = count(&out, "decision ");
    let chose_empty = count(&out, "evict=faults/empty");
    let chose_guar = count(&out, "evict=faults/guar");
    let summary = format!(
        "{test}: {decisions} decisions, empty chosen {chose_empty}x, guar chosen {chose_guar}x\n\
         first lines:\n{head}\nstderr (head):\n{}",
        err.lines().take(12).collect::<Vec<_>>().join("\n")
    );
    assert!(agent_alive, "the agent exited\n{summary}");
    assert!(guar_stopped, "guar was never killed\n{summary}");
    assert_eq!(chose_empty, 1, "the empty pod is acted on once\n{summary}");
    assert_eq!(chose_guar, 1, "guar is acted on once\n{summary}");
    assert!(crit_alive, "the critical pod was killed\n{summary}");
    // The kill of the empty pod found nothing to signal, and said so.
    assert!(err.contains("no process left"), "{summary}");
    assert!(!out.contains("refused="), "no rail refused a pod\n{summary}");
    // Ten periods at most in the ~3.5 s the agent ran after guar's kill, plus start-up: no
    // busy loop of cleanup passes.
    assert!(decisions < 40, "{summary}");
    drop(procs);
}

#[test]
fn an_acted_on_pod_leaves_the_ranking_and_the_next_pod_is_evicted() {
    stuck_on_one_pod("faults: stuck on one pod", false);
}

#[test]
fn kills_work_through_a_root_prefix_like_the_daemonsets_host_mount() {
    stuck_on_one_pod("faults: --root kills", true);
}

/// The agent runs inside the pod that ranks first (BestEffort), in a cgroup namespace of its
/// own (`unshare --cgroup`: `/proc/self/cgroup` then reads `/`, as in a container on v2).
/// It must refuse to signal that pod, whose other process stays alive.
#[test]
fn the_agent_refuses_its_own_pod_inside_a_cgroup_namespace() {
    let test = "faults: own pod in a cgroup namespace";
    let Some(host) = kernel_host(test) else { return };
    let (parent, parent_name) = pods_parent(&host, "headroom-faults-ns");
    let stamp = std::process::id();
    let (uid_s, uid_g) = (format!("self-{stamp}"), format!("guar-{stamp}"));
    let besteffort = parent.create_child("besteffort").unwrap();
    let (pod_s, ctr_s) = pod_cgroup(&besteffort, &uid_s, "ctr-s");
    let (pod_g, ctr_g) = pod_cgroup(&parent, &uid_g, "ctr-g");

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let pods = dir.path().join("pods.json");
    write_pods(
        &pods,
        vec![
            pod_json("self", &uid_s, None, serde_json::json!({})),
            pod_json("guar", &uid_g, None, guaranteed()),
        ],
    );

    let mut procs = Procs(Vec::new());
    // The agent's pod mate, and a Guaranteed pod the threshold would otherwise also reach.
    procs
        .0
        .push(ctr_s.spawn(BIN, &["worker", "alloc", "--mib", "30"]).unwrap());
    procs
        .0
        .push(ctr_g.spawn(BIN, &["worker", "alloc", "--mib", "20"]).unwrap());
    assert!(wait_for(
        "the pods to hold their memory",
        Duration::from_secs(20),
        || { usage(pod_s.path()) >= 30 * MIB && usage(pod_g.path()) >= 20 * MIB }
    ));

    let out_path = dir.path().join("agent.out");
    let mut unshare_args = vec!["--cgroup".to_string(), BIN.to_string()];
    unshare_args.extend(agent_command(&config, &pods, &parent_name, None));
    let unshare_ref: Vec<&str> = unshare_args.iter().map(String::as_str).collect();
    let agent = ctr_s
        .command("unshare", &unshare_ref)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    procs.0.push(agent);

    let refused = wait_for(
        "two refusals of the agent's own pod",
        Duration::from_secs(20),
        || std::fs::read_to_string(&out_path).is_ok_and(|t| count(&t, "refused=") >= 2),
    );
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let head: String = out.lines().take(10).collect::<Vec<_>>().join("\n");
    assert!(refused, "{test}: the agent's own pod was not refused\n{head}");
    assert!(
        out.lines()
            .filter(|l| l.contains("pod=faults/self"))
            .all(|l| l.contains("contains the agent's own process")),
        "{head}"
    );
    assert!(
        procs.0[0].try_wait().unwrap().is_none(),
        "the agent's pod mate was killed\n{head}"
    );
    assert!(procs.0[2].try_wait().unwrap().is_none(), "the agent died\n{head}");
    drop(procs);
    drop(ctr_g);
}

/// A restart during a grace wait must not restart the grace: the SIGKILL deadline is recorded
/// on the pod's cgroup with the first SIGTERM, and a later kill waits only what is left.
#[test]
fn the_sigkill_deadline_survives_an_agent_restart() {
    use headroom_agent::kill_deadline::{recorded, remaining};
    use std::time::SystemTime;
    let test = "faults: SIGKILL deadline across restarts";
    let Some(host) = kernel_host(test) else { return };
    let pod = host.create_unique("headroom-faults-deadline").unwrap();
    let t0 = SystemTime::now();
    let grace = Duration::from_secs(30);
    // The first agent: the whole grace, and the deadline written next to the pod.
    assert_eq!(remaining(pod.path(), grace, t0), grace);
    let deadline = recorded(pod.path()).expect("deadline recorded on the cgroup");
    // A restarted agent 10 s later: 20 s left, not 30.
    assert_eq!(
        remaining(pod.path(), grace, t0 + Duration::from_secs(10)),
        Duration::from_secs(20)
    );
    // After the deadline: SIGKILL at once.
    assert_eq!(
        remaining(pod.path(), grace, t0 + Duration::from_secs(31)),
        Duration::ZERO
    );
    // Long after (the pod's containers restarted since): a new kill gets a new deadline.
    assert_eq!(
        remaining(pod.path(), grace, t0 + Duration::from_secs(3600)),
        grace
    );
    assert!(recorded(pod.path()).unwrap() > deadline);
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Everything at once for `HEADROOM_SOAK_SECS` (default 20 s; BENCHMARKS.md runs 600):
/// pod cgroups created and removed (churn), a BestEffort pod allocating until the agent kills
/// it and then started again (pressure), scrapes of every endpoint (HTTP load), and the pods
/// file rewritten four times a second, one rewrite in four in place with the old mtime. No
/// pass may fail, no kill may error, `/healthz` must answer 200 throughout, and the agent's
/// RSS after warm-up must stay within 10%.
#[test]
fn soak_churn_pressure_http_and_pods_file_rewrites_at_once() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let test = "faults: soak";
    let Some(host) = kernel_host(test) else { return };
    let secs: u64 = std::env::var("HEADROOM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let (parent, parent_name) = pods_parent(&host, "headroom-faults-soak");
    let stamp = std::process::id();
    let besteffort = Arc::new(parent.create_child("besteffort").unwrap());
    let uid_g = format!("soakg-{stamp}");
    let (_pod_g, ctr_g) = pod_cgroup(&parent, &uid_g, "ctr");
    let mut procs = Procs(vec![
        ctr_g.spawn(BIN, &["worker", "alloc", "--mib", "20"]).unwrap(),
    ]);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubelet.yaml");
    kubelet_config(&config, "400Mi");
    let pods_path = dir.path().join("pods.json");
    // uid -> guaranteed?
    let listed: Arc<Mutex<Vec<(String, bool)>>> = Arc::new(Mutex::new(vec![(uid_g.clone(), true)]));
    let rewrite_pods = |listed: &[(String, bool)], path: &Path| {
        let items: Vec<_> = listed
            .iter()
            .map(|(uid, g)| {
                let res = if *g { guaranteed() } else { serde_json::json!({}) };
                pod_json(uid, uid, None, res)
            })
            .collect();
        let tmp = path.with_extension("tmp");
        write_pods(&tmp, items);
        std::fs::rename(&tmp, path).unwrap();
    };
    rewrite_pods(&listed.lock().unwrap(), &pods_path);

    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut args = agent_command(&config, &pods_path, &parent_name, None);
    let listen = args.iter().position(|a| a == "--listen").unwrap();
    args[listen + 1] = addr.to_string();
    let period = args.iter().position(|a| a == "--period").unwrap();
    args[period + 1] = "500ms".into();
    let agent = Command::new(BIN)
        .args(&args)
        .env("HEADROOM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("agent.err")).unwrap())
        .spawn()
        .unwrap();
    let agent_pid = agent.id();
    procs.0.push(agent);
    assert!(wait_for(
        "the agent's first pass",
        Duration::from_secs(20),
        || { get(addr, "/healthz").is_some_and(|h| h.starts_with("HTTP/1.1 200")) }
    ));

    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // Churn: short-lived BestEffort pods.
    let churned = Arc::new(AtomicU64::new(0));
    {
        let (stop, be, listed, churned) = (stop.clone(), besteffort.clone(), listed.clone(), churned.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let uid = format!("soakc-{stamp}-{n}");
                let Ok(cg) = be.create_child(&format!("pod{uid}")) else {
                    continue;
                };
                listed.lock().unwrap().push((uid.clone(), false));
                if let Ok(mut p) = cg.spawn(BIN, &["worker", "sleep"]) {
                    std::thread::sleep(Duration::from_millis(300));
                    let _ = p.kill();
                    let _ = p.wait();
                }
                listed.lock().unwrap().retain(|(u, _)| *u != uid);
                let _ = cg.teardown();
                churned.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Pressure: a BestEffort pod allocating 200 MiB at 100 MiB/s, started again once killed.
    let hog_kills = Arc::new(AtomicU64::new(0));
    {
        let (stop, be, listed, hog_kills) = (
            stop.clone(),
            besteffort.clone(),
            listed.clone(),
            hog_kills.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let mut generation = 0u64;
            while !stop.load(Ordering::Relaxed) {
                generation += 1;
                let uid = format!("soakh-{stamp}-{generation}");
                let Ok(cg) = be.create_child(&format!("pod{uid}")) else {
                    continue;
                };
                listed.lock().unwrap().push((uid.clone(), false));
                // Listed before it allocates: the pods file is re-read within 250 ms.
                std::thread::sleep(Duration::from_millis(400));
                if let Ok(mut p) = cg.spawn(BIN, &["worker", "alloc", "--mib", "200", "--rate", "100"]) {
                    let t0 = Instant::now();
                    while !stop.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(15) {
                        if let Ok(Some(status)) = p.try_wait() {
                            if status.code().is_none() {
                                hog_kills.fetch_add(1, Ordering::Relaxed);
                            }
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    let _ = p.kill();
                    let _ = p.wait();
                }
                listed.lock().unwrap().retain(|(u, _)| *u != uid);
                let _ = cg.teardown();
            }
        }));
    }
    // Pods-file rewrites: atomic renames, and every fourth an in-place same-size rewrite that
    // puts the old mtime back.
    {
        let (stop, listed, path) = (stop.clone(), listed.clone(), pods_path.clone());
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let current = listed.lock().unwrap().clone();
                if n.is_multiple_of(4) {
                    if let (Ok(text), Ok(meta)) = (std::fs::read(&path), std::fs::metadata(&path)) {
                        let f = std::fs::File::options().write(true).open(&path).unwrap();
                        use std::io::Write;
                        (&f).write_all(&text).unwrap();
                        let _ = f.set_modified(meta.modified().unwrap());
                    }
                } else {
                    rewrite_pods(&current, &path);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }));
    }
    // HTTP load, and /healthz watched throughout.
    let (requests, unhealthy) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(Mutex::new(Vec::<String>::new())),
    );
    for path in ["/metrics", "/healthz", "/decision", "/stats/summary"] {
        let (stop, requests, unhealthy) = (stop.clone(), requests.clone(), unhealthy.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let answer = get(addr, path);
                requests.fetch_add(1, Ordering::Relaxed);
                if path == "/healthz" && !answer.as_deref().is_some_and(|a| a.starts_with("HTTP/1.1 200")) {
                    unhealthy
                        .lock()
                        .unwrap()
                        .push(answer.unwrap_or_else(|| "no answer".into()));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }

    // RSS once a second; the baseline is taken after a quarter of the run (warm-up).
    let t0 = Instant::now();
    let mut samples = Vec::new();
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        samples.push(rss_kib(agent_pid).unwrap_or(0));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let scrape = get(addr, "/metrics").unwrap_or_default();
    let agent_alive = procs.0[1].try_wait().unwrap().is_none();
    let err = std::fs::read_to_string(dir.path().join("agent.err")).unwrap_or_default();
    let warm = samples.len() / 4;
    let baseline = samples.get(warm).copied().unwrap_or(0).max(1);
    let peak_after = samples[warm..].iter().copied().max().unwrap_or(0);
    let summary = format!(
        "{test}: {secs}s, {} pods churned, {} hog kills, {} HTTP requests, {} passes, \
         RSS baseline {baseline} KiB, peak after warm-up {peak_after} KiB ({:+.1}%), samples {samples:?}\n\
         stderr (tail):\n{}",
        churned.load(Ordering::Relaxed),
        hog_kills.load(Ordering::Relaxed),
        requests.load(Ordering::Relaxed),
        metric(&scrape, "headroom_syncs_total"),
        (peak_after as f64 / baseline as f64 - 1.0) * 100.0,
        err.lines().rev().take(10).collect::<Vec<_>>().join("\n"),
    );
    eprintln!("{summary}");
    assert!(agent_alive, "{summary}");
    assert_eq!(metric(&scrape, "headroom_pass_failures_total"), 0.0, "{summary}");
    assert_eq!(
        metric(
            &scrape,
            "headroom_actions_total{action=\"kill\",result=\"error\"}"
        ),
        0.0,
        "{summary}"
    );
    assert!(
        hog_kills.load(Ordering::Relaxed) >= 1,
        "no pressure was relieved\n{summary}"
    );
    let unhealthy = unhealthy.lock().unwrap();
    assert!(
        unhealthy.is_empty(),
        "/healthz failed {}x: {:?}\n{summary}",
        unhealthy.len(),
        unhealthy.first()
    );
    assert!(
        peak_after * 10 <= baseline * 11,
        "RSS grew more than 10%\n{summary}"
    );
    drop(procs);
}
