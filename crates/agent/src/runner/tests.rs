//! The runner on a fake clock and a fake host: a cgroup v2 tree under a temporary directory,
//! reached through `HostRoot` as `--root` would (no root, no kernel needed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/support/lines.rs"]
mod lines;

use super::Runner;
use super::clock::{Clock, FakeClock};
use crate::actuator::Action;
use crate::config::AgentConfig;
use crate::http::Shared;
use crate::light::Trigger;
use crate::report::LogFormat;
use headroom_core::config::KubeletConfig;
use headroom_linux::root::HostRoot;
use lines::Lines;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) const MIB: u64 = 1 << 20;
const PERIOD: Duration = Duration::from_secs(10);

/// A v2 host: 4 GiB of memory, `kubepods` limited to 3 GiB, pods holding what tests say.
pub(super) struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    pub(super) fn new() -> Host {
        let host = Host {
            dir: tempfile::tempdir().unwrap(),
        };
        host.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
        host.write("sys/fs/cgroup/kubepods/memory.max", &(3072 * MIB).to_string());
        host.write(
            "sys/fs/cgroup/kubepods/memory.events",
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
        );
        host.set_node_used(0);
        host.set_pods_inactive(0);
        host
    }

    /// Far from every threshold: 1 GiB of the node's 4 GiB used, one pod of 200 MiB.
    fn quiet() -> Host {
        let host = Host::new();
        host.set_node_used(1024 * MIB);
        host.pod("aaaa", 200 * MIB);
        host
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(super) fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The node's working set is `used` bytes of its 4 GiB (the root cgroup's anonymous
    /// memory; `MemFree` agrees).
    pub(super) fn set_node_used(&self, used: u64) {
        self.write(
            "sys/fs/cgroup/memory.stat",
            &format!("anon {used}\nfile 0\ninactive_file 0\n"),
        );
        let total_kb = 4096 * 1024;
        let free_kb = total_kb - used / 1024;
        self.write(
            "proc/meminfo",
            &format!("MemTotal: {total_kb} kB\nMemFree: {free_kb} kB\nMemAvailable: {free_kb} kB\n"),
        );
    }

    fn set_pods_inactive(&self, bytes: u64) {
        self.write(
            "sys/fs/cgroup/kubepods/memory.current",
            &(100 * MIB + bytes).to_string(),
        );
        self.write(
            "sys/fs/cgroup/kubepods/memory.stat",
            &format!("anon {}\nfile {bytes}\ninactive_file {bytes}\n", 100 * MIB),
        );
    }

    /// The pod's cgroup directory (real path), holding `bytes` of anonymous memory.
    pub(super) fn pod(&self, uid: &str, bytes: u64) -> PathBuf {
        for rel in [format!("kubepods/pod{uid}"), format!("kubepods/pod{uid}/c1")] {
            let d = format!("sys/fs/cgroup/{rel}");
            self.write(&format!("{d}/memory.current"), &bytes.to_string());
            self.write(&format!("{d}/memory.max"), "max\n");
            self.write(
                &format!("{d}/memory.stat"),
                &format!("anon {bytes}\nfile 0\ninactive_file 0\n"),
            );
        }
        self.root().join(format!("sys/fs/cgroup/kubepods/pod{uid}"))
    }

    pub(super) fn config(&self, kubelet_yaml: &str) -> AgentConfig {
        let kubelet = KubeletConfig::parse(kubelet_yaml, "kubelet.yaml").unwrap();
        AgentConfig {
            eviction: kubelet.eviction().unwrap(),
            config_origin: "kubelet.yaml".into(),
            period: PERIOD,
            notifications: false,
            action: Action::None,
            pods_file: None,
            pods_api_node: None,
            pod_cgroup_root: "/kubepods".into(),
            root: HostRoot::dir(self.root()),
            log_format: LogFormat::Json,
            listen: None,
            once: false,
            max_passes: None,
            policy: Default::default(),
        }
    }
}

const HARD_1G: &str = "evictionHard:\n  memory.available: 1Gi\n";

/// A runner on `host` with a fake clock; its log lines go to the returned buffer.
pub(super) fn runner(cfg: AgentConfig) -> (Runner, FakeClock, Lines, Shared) {
    let shared = Shared::new();
    let mut runner = Runner::new(cfg, shared.clone()).unwrap();
    let clock = FakeClock::new();
    runner.clock = Box::new(clock.clone());
    let lines = Lines::default();
    runner.set_output(Box::new(lines.clone()));
    (runner, clock, lines, shared)
}

fn decisions(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["event"] == "decision").collect()
}

/// The pod the pass's decision chose (`/pod<uid>`), if any.
fn chosen(lines: &[Value]) -> Option<String> {
    let d = decisions(lines);
    d.last()?["evicted"]["pod"].as_str().map(str::to_string)
}

#[test]
fn passes_run_every_period_of_the_clock_and_say_what_started_them() {
    let host = Host::quiet();
    let mut cfg = host.config(HARD_1G);
    cfg.max_passes = Some(3);
    let (mut r, clock, lines, _shared) = runner(cfg);
    r.run().unwrap();
    let lines = lines.take_json();
    let d = decisions(&lines);
    let triggers: Vec<&str> = d.iter().map(|l| l["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["start", "period", "period"]);
    let times: Vec<jiff::Timestamp> = d
        .iter()
        .map(|l| l["time"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        times[1] - times[0],
        jiff::SignedDuration::try_from(PERIOD).unwrap()
    );
    assert_eq!(
        times[2] - times[1],
        jiff::SignedDuration::try_from(PERIOD).unwrap()
    );
    // The loop slept exactly two periods on the clock, not on the wall.
    assert_eq!(clock.elapsed(), 2 * PERIOD);
}

#[test]
fn a_pass_is_light_only_when_quiet_period_or_pressure_and_a_full_pass_is_recent() {
    let host = Host::quiet();
    let (mut r, clock, _lines, _shared) = runner(host.config(HARD_1G));
    let full = |r: &mut Runner, trigger: Trigger| {
        clock.advance(Duration::from_secs(1));
        r.pass(trigger).unwrap();
        r.last_full == Some(clock.now())
    };
    assert!(
        full(&mut r, Trigger::Start),
        "the first pass reads the whole tree"
    );
    assert!(!full(&mut r, Trigger::Period), "quiet and periodic: light");
    assert!(!full(&mut r, Trigger::Pressure), "PSI alone: light");
    assert!(
        full(&mut r, Trigger::Notification),
        "a threshold notification: full"
    );
    assert!(full(&mut r, Trigger::Cleanup), "after acting: full");
    clock.advance(PERIOD * crate::light::FULL_PASS_EVERY);
    assert!(full(&mut r, Trigger::Period), "a full pass is due");
    // Near the threshold (within the light margin), a periodic pass reads everything.
    host.set_node_used(2600 * MIB);
    assert!(full(&mut r, Trigger::Period), "near a threshold: full");
}

#[test]
fn an_acted_pod_leaves_the_ranking_until_its_cgroup_is_replaced() {
    let host = Host::new();
    host.set_node_used(3500 * MIB);
    let big = host.pod("aaaa", 200 * MIB);
    host.pod("bbbb", 100 * MIB);
    let (mut r, clock, lines, _shared) = runner(host.config(HARD_1G));
    r.pass(Trigger::Start).unwrap();
    assert_eq!(chosen(&lines.take_json()).as_deref(), Some("/podaaaa"));
    // What a kill does to the pod it signalled (`act`): remember it by its real cgroup.
    let pod = r
        .active
        .iter()
        .find(|p| p.metadata.uid == "aaaa")
        .unwrap()
        .clone();
    r.acted.remember(&pod, &big);

    clock.advance(Duration::from_secs(1));
    r.pass(Trigger::Cleanup).unwrap();
    let l = lines.take_json();
    assert_eq!(
        chosen(&l).as_deref(),
        Some("/podbbbb"),
        "the acted-on pod is left out"
    );
    assert_eq!(decisions(&l)[0]["ranking"], serde_json::json!(["/podbbbb"]));

    // The runtime replaced the pod's cgroup (a new inode): it may be ranked again.
    // (The old directory is kept elsewhere meanwhile, so the new one cannot reuse its inode.)
    std::fs::rename(&big, host.root().join("old-pod")).unwrap();
    host.pod("aaaa", 200 * MIB);
    clock.advance(Duration::from_secs(1));
    r.pass(Trigger::Period).unwrap();
    assert_eq!(chosen(&lines.take_json()).as_deref(), Some("/podaaaa"));
    assert!(r.acted.is_empty());
}

#[test]
fn the_usage_reads_are_rearmed_from_each_pass() {
    let host = Host::quiet();
    let mut cfg = host.config("evictionHard:\n  allocatableMemory.available: 100Mi\n");
    cfg.notifications = true;
    let (mut r, clock, _lines, _shared) = runner(cfg);
    r.pass(Trigger::Start).unwrap();
    let trip = |r: &Runner| r.usage_poll.as_ref().and_then(|p| p.trip_at());
    // The kubelet's notifier value: capacity - threshold + inactive_file.
    assert_eq!(trip(&r), Some(3072 * MIB - 100 * MIB));
    let first = r.usage_poll.as_ref().unwrap().deadline().unwrap();
    assert!(first > clock.now());

    host.set_pods_inactive(50 * MIB);
    clock.advance(PERIOD);
    r.pass(Trigger::Period).unwrap();
    assert_eq!(trip(&r), Some(3072 * MIB - 100 * MIB + 50 * MIB));
    let next = r.usage_poll.as_ref().unwrap().deadline().unwrap();
    assert!(
        next > clock.now() && next > first,
        "re-aimed from this pass's time"
    );
}

#[test]
fn failing_collections_are_reported_unhealthy_and_a_good_pass_clears_them() {
    let host = Host::quiet();
    let (mut r, clock, lines, shared) = runner(host.config(HARD_1G));
    r.pass(Trigger::Start).unwrap();
    assert_eq!(shared.health.verdict(), Ok("ok".to_string()));

    // Neither meminfo nor a readable root cgroup: the collection fails, the pass is skipped.
    let meminfo = std::fs::read(host.root().join("proc/meminfo")).unwrap();
    let root_stat = host.root().join("sys/fs/cgroup/memory.stat");
    let stat = std::fs::read(&root_stat).unwrap();
    std::fs::remove_file(host.root().join("proc/meminfo")).unwrap();
    std::fs::remove_file(&root_stat).unwrap();
    std::fs::create_dir(&root_stat).unwrap();
    for _ in 0..3 {
        clock.advance(PERIOD);
        let outcome = r.pass(Trigger::Period).unwrap();
        assert!(outcome.cleanup.is_empty() && outcome.evicted.is_empty());
    }
    let l = lines.take_json();
    assert!(
        decisions(&l).len() == 1,
        "no decision from a failed collection: {l:?}"
    );
    let why = shared.health.verdict().unwrap_err();
    assert!(
        why.contains("the last 3 passes failed: collection failed"),
        "{why}"
    );
    let text = shared.metrics.render(false);
    assert!(
        text.contains("headroom_pass_failures_total{stage=\"collect\"} 3"),
        "{text}"
    );

    std::fs::write(host.root().join("proc/meminfo"), meminfo).unwrap();
    std::fs::remove_dir(&root_stat).unwrap();
    std::fs::write(&root_stat, stat).unwrap();
    clock.advance(PERIOD);
    r.pass(Trigger::Period).unwrap();
    assert!(shared.health.verdict().is_ok());
}

#[test]
fn a_kill_targets_the_chosen_pods_cgroup_and_refuses_a_tree_that_is_not_cgroupfs() {
    let host = Host::new();
    host.set_node_used(3500 * MIB);
    host.pod("aaaa", 200 * MIB);
    host.pod("bbbb", 100 * MIB);
    let mut cfg = host.config(HARD_1G);
    cfg.action = Action::Kill;
    let (mut r, _clock, lines, shared) = runner(cfg);
    let outcome = r.pass(Trigger::Start).unwrap();
    let lines = lines.take_json();
    let action = lines.iter().find(|l| l["event"] == "action").unwrap();
    // The cgroup as the hierarchy names it (not the path under --root), the pod the decision
    // chose; the on-disk rail refuses a directory that is not a cgroup filesystem.
    assert_eq!(action["pod"], "/podaaaa");
    assert_eq!(action["cgroup"], "/kubepods/podaaaa");
    assert_eq!(action["action"], "kill");
    let refused = action["refused"].as_str().unwrap();
    assert!(refused.contains("cgroup"), "{refused}");
    assert_eq!(outcome.evicted, ["/podaaaa"]);
    assert!(
        outcome.cleanup.is_empty(),
        "nothing was signalled: nothing to wait for"
    );
    assert!(
        r.acted.is_empty(),
        "a refused kill does not take the pod out of the ranking"
    );
    let text = shared.metrics.render(false);
    assert!(text.contains("action=\"kill\",result=\"refused\"} 1"), "{text}");
}

/// Issue #16, the anonymous-growth case: when the pass's own figures show that the clean cache
/// cannot lift the signal, reclaim-first evicts in that pass as the kubelet policy does, with
/// nothing read, written or waited for between the decision and the act. The policy's knob
/// directory here has `memory.reclaim` but no `memory.stat`: had the hook read it (as it did
/// before planning on the pass's figures), the plan would say `no-cache-figures`.
#[test]
fn reclaim_first_evicts_on_anonymous_growth_in_the_same_pass_without_reading_or_reclaiming() {
    let host = Host::new();
    host.set_node_used(3500 * MIB);
    // The pods cgroup at 3000 of its 3072 MiB, nearly all anonymous; 8 MiB of active file cache.
    host.write("sys/fs/cgroup/kubepods/memory.current", &(3000 * MIB).to_string());
    let stat = |active: u64| {
        format!(
            "anon {}\nfile {}\nactive_file {}\ninactive_file {}\n",
            2990 * MIB - active,
            active + 2 * MIB,
            active,
            2 * MIB
        )
    };
    host.write("sys/fs/cgroup/kubepods/memory.stat", &stat(8 * MIB));
    host.pod("aaaa", 2900 * MIB);
    let mut cfg = host.config("evictionHard:\n  allocatableMemory.available: 200Mi\n");
    cfg.policy = headroom_core::reclaim::Policy::ReclaimFirst;
    let (mut r, clock, lines, shared) = runner(cfg);
    let knob = tempfile::tempdir().unwrap();
    std::fs::write(knob.path().join("memory.reclaim"), "").unwrap();
    r.reclaim_first = crate::reclaim_first::ReclaimFirst::new(
        headroom_core::reclaim::Policy::ReclaimFirst,
        knob.path(),
        &shared.metrics,
    );

    let outcome = r.pass(Trigger::Notification).unwrap();
    let l = lines.take_json();
    let d = decisions(&l);
    assert_eq!(d.len(), 1, "{l:?}");
    assert_eq!(d[0]["reclaim"]["plan"], "evict", "{}", d[0]);
    assert_eq!(d[0]["reclaim"]["because"], "cache-cannot-cover", "{}", d[0]);
    assert!(d[0]["reclaim"].get("askedBytes").is_none(), "{}", d[0]);
    assert_eq!(outcome.evicted, ["/podaaaa"], "evicted in the pass that decided");
    assert!(
        l.iter().any(|x| x["event"] == "action" && x["pod"] == "/podaaaa"),
        "{l:?}"
    );
    assert_eq!(
        std::fs::read_to_string(knob.path().join("memory.reclaim")).unwrap(),
        ""
    );
    assert_eq!(clock.elapsed(), Duration::ZERO, "no wait before the act");

    // The same shortage with enough active file cache to cover it: only then is the knob's
    // memory.stat read (for its refault counters), here in vain.
    host.write("sys/fs/cgroup/kubepods/memory.stat", &stat(1000 * MIB));
    r.acted = crate::acted::Acted::new();
    clock.advance(Duration::from_secs(1));
    r.pass(Trigger::Notification).unwrap();
    let l = lines.take_json();
    assert_eq!(
        decisions(&l)[0]["reclaim"]["because"],
        "no-cache-figures",
        "{l:?}"
    );
}

#[test]
fn a_pass_woken_by_the_re_reads_reads_only_the_files_the_decision_needs() {
    let host = Host::new();
    host.set_node_used(3500 * MIB);
    host.pod("aaaa", 200 * MIB);
    host.pod("bbbb", 100 * MIB);
    let (mut r, clock, lines, _shared) = runner(host.config(HARD_1G));
    r.pass(Trigger::Start).unwrap();
    let full = chosen(&lines.take_json());
    assert_eq!(full.as_deref(), Some("/podaaaa"));
    // Junk in a file the full pass reads and the decision does not (swap): a full pass skips
    // such a cgroup, the fast pass never opens the file.
    for uid in ["aaaa", "bbbb"] {
        host.write(
            &format!("sys/fs/cgroup/kubepods/pod{uid}/memory.swap.current"),
            "junk\n",
        );
    }
    r.woken_by_usage_poll = true;
    clock.advance(Duration::from_millis(20));
    r.pass(Trigger::Notification).unwrap();
    assert_eq!(
        chosen(&lines.take_json()),
        full,
        "the fast pass decides as the full one"
    );
    clock.advance(PERIOD);
    r.pass(Trigger::Period).unwrap();
    assert_eq!(
        chosen(&lines.take_json()),
        None,
        "a full pass reads the swap files (and skips the junk ones)"
    );
}

#[test]
fn the_re_reads_assume_no_faster_growth_than_the_agent_could_stop() {
    let host = Host::quiet();
    host.set_pods_inactive(20 * MIB);
    let mut cfg = host.config("evictionHard:\n  allocatableMemory.available: 100Mi\n");
    cfg.notifications = true;
    let (mut r, clock, _lines, _shared) = runner(cfg);
    r.pass(Trigger::Start).unwrap();
    let poll = |r: &Runner| r.usage_poll.as_ref().unwrap().assumed_rate();
    // The fake clock times every read at zero: nothing known, the growth bound alone.
    assert_eq!(r.reaction_floor, None);
    let bound = poll(&r);
    // The fastest pod-level read is kept, zero tells nothing.
    r.note_reaction_floor(Duration::from_millis(30));
    r.note_reaction_floor(Duration::from_millis(20));
    r.note_reaction_floor(Duration::from_millis(25));
    r.note_reaction_floor(Duration::ZERO);
    assert_eq!(r.reaction_floor, Some(Duration::from_millis(20)));
    clock.advance(PERIOD);
    r.pass(Trigger::Period).unwrap();
    // From the trip value to the OOM kill: limit - trip value (the threshold's 100 MiB less
    // the 20 MiB of inactive_file the trip value adds) plus the page cache the kernel
    // reclaims first (20 MiB), in 20 ms at best.
    let defensible = ((100 - 20 + 20) * MIB) as f64 / 0.020;
    assert_eq!(poll(&r), defensible.min(bound));
}
