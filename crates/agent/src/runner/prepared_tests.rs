//! The prepared kill on the runner's fake v2 host and clock ([`super::tests::Host`]): what is
//! prepared (the manager's choice at the trip value), that a dry run never prepares, and what
//! the confirming pass says. The signal itself needs real processes: the pidfd test in
//! `headroom_linux::control::prepared` and the VM race (`crates/cli/tests/vm/race.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::Runner;
use super::tests::{Host, MIB, runner};
use crate::actuator::{Action, PodTarget};
use crate::light::Trigger;
use crate::prepared_kill::{Fired, Verdict};
use headroom_core::Timestamp;
use headroom_core::pod::Pod;
use headroom_core::summary::MemoryStats;
use headroom_linux::collect::NodeSnapshot;
use headroom_linux::control::FirstSigterm;
use std::time::{Duration, Instant};

const HARD_PODS: &str = "evictionHard:\n  allocatableMemory.available: 100Mi\n";

/// The pods cgroup's usage (3 GiB limit): `ws` bytes of anonymous memory.
fn set_pods_usage(host: &Host, ws: u64) {
    host.write("sys/fs/cgroup/kubepods/memory.current", &ws.to_string());
    host.write(
        "sys/fs/cgroup/kubepods/memory.stat",
        &format!("anon {ws}\nfile 0\ninactive_file 0\n"),
    );
}

/// The pods cgroup's figures read at a crossing, working set `ws` of its 3 GiB.
fn crossing(ws: u64) -> MemoryStats {
    MemoryStats {
        available_bytes: Some((3072 * MIB).saturating_sub(ws)),
        usage_bytes: Some(ws),
        working_set_bytes: Some(ws),
        ..Default::default()
    }
}

/// A runner on `host` after its start pass, its clock 20 ms later (the manager acts only on
/// stats that advanced since its last sync).
fn started(host: &Host, action: Action, notifications: bool) -> Runner {
    let mut cfg = host.config(HARD_PODS);
    cfg.action = action;
    cfg.notifications = notifications;
    let (mut r, clock, _lines, _shared) = runner(cfg);
    r.pass(Trigger::Start).unwrap();
    clock.advance(Duration::from_millis(20));
    r
}

/// What a preparation reads: the pod-level snapshot, the active pods, the time.
fn pod_level(r: &mut Runner) -> (NodeSnapshot, Vec<Pod>, Timestamp) {
    let now = r.clock.timestamp();
    let reads = crate::fast_pass::reads_for(&r.cfg.eviction.thresholds);
    let mut snap = r.collector.collect_pods_at(now, reads).unwrap();
    super::pass::restamp(&mut snap.summary, now);
    let pods = r.active_pods(&mut snap);
    (snap, pods, now)
}

/// A two-pod host (200 MiB and 100 MiB), far from every threshold.
fn two_pods() -> (Host, std::path::PathBuf) {
    let host = Host::new();
    host.set_node_used(1024 * MIB);
    let a = host.pod("aaaa", 200 * MIB);
    host.pod("bbbb", 100 * MIB);
    (host, a)
}

#[test]
fn a_dry_run_never_prepares_and_a_kill_agent_prepares_within_reach() {
    for action in [Action::None, Action::Kill] {
        let (host, _) = two_pods();
        let mut r = started(&host, action, true);
        assert_eq!(r.prepares_kills(), action == Action::Kill);
        // Far (100 MiB of a 2972 MiB trip value): nothing is prepared.
        r.maybe_prepare();
        assert!(r.next_prepare.is_none() && r.prepared.is_none());
        // Within reach: a kill agent tries (and its rails refuse this tree, which is not a
        // cgroup filesystem: nothing is held); a dry run does not even try.
        set_pods_usage(&host, 2900 * MIB);
        let poll = r.usage_poll.as_mut().unwrap();
        assert_eq!(
            poll.check(poll.deadline().unwrap()),
            crate::usage_poll::Check::Quiet
        );
        r.maybe_prepare();
        assert!(r.prepared.is_none(), "{action:?}");
        assert_eq!(r.next_prepare.is_some(), action == Action::Kill, "{action:?}");
        // A crossing then takes the normal path: nothing was fired.
        r.fire_prepared(Instant::now());
        assert!(r.fired.is_none());
    }
}

#[test]
fn the_prepared_pod_is_the_managers_choice_at_the_trip_value_and_follows_new_pods() {
    let (host, _) = two_pods();
    let mut r = started(&host, Action::Kill, false);
    let plan = |r: &mut Runner| {
        let (snap, pods, now) = pod_level(r);
        r.plan(&snap, &pods, now)
    };
    // Far from the threshold, the pass evicts nobody; the plan is who it would evict there.
    let p = plan(&mut r).unwrap();
    assert_eq!(p.pod.key(), "/podaaaa");
    assert_eq!(p.target.cgroup, "/kubepods/podaaaa");
    assert!(p.grace > 0, "a hard threshold's grace: {}", p.grace);
    assert!(p.message.contains("Threshold quantity: 100Mi"), "{}", p.message);
    assert_eq!(
        p.stats.unwrap().memory.unwrap().working_set_bytes,
        Some(200 * MIB)
    );
    // A bigger pod came: the next preparation names it.
    host.pod("cccc", 500 * MIB);
    assert_eq!(plan(&mut r).unwrap().pod.key(), "/podcccc");
}

#[test]
fn the_confirming_pass_says_confirmed_or_names_what_it_would_have_done() {
    let (host, a) = two_pods();
    let mut r = started(&host, Action::Kill, false);
    let (snap, pods, now) = pod_level(&mut r);
    let threshold = r.cfg.eviction.thresholds[0].clone();
    let fired = |uid: &str, ws: u64| Fired {
        pod: pods.iter().find(|p| p.metadata.uid == uid).unwrap().clone(),
        target: PodTarget {
            cgroup: format!("/kubepods/pod{uid}"),
            real: a.clone(),
        },
        stats: snap.summary.pods.iter().find(|p| p.pod_ref.uid == uid).cloned(),
        grace: 1,
        message: String::new(),
        first: FirstSigterm {
            pids: Vec::new(),
            at: Instant::now(),
        },
        crossing: crossing(ws),
        threshold: threshold.clone(),
        hot_path: Duration::ZERO,
    };
    let state = r.state.clone();
    let over = 2973 * MIB;
    assert_eq!(
        r.confirm(&fired("aaaa", over), &snap, &pods, state.clone(), now),
        Verdict::Confirmed
    );
    let v = r.confirm(&fired("bbbb", over), &snap, &pods, state.clone(), now);
    assert!(
        matches!(&v, Verdict::Disagreed { other: Some(o), .. } if o == "/podaaaa"),
        "{v:?}"
    );
    let v = r.confirm(&fired("aaaa", 2000 * MIB), &snap, &pods, state.clone(), now);
    assert!(
        matches!(&v, Verdict::Disagreed { other: None, why } if why.contains("evicts nobody")),
        "{v:?}"
    );
    // The signalled pod exited and its cgroup went before the pass read the tree: the pass
    // still weighs it with its prepared figures.
    let f = fired("aaaa", over);
    std::fs::remove_dir_all(&a).unwrap();
    let (after, pods_after, _) = pod_level(&mut r);
    assert_eq!(pods_after.len(), 1);
    assert_eq!(r.confirm(&f, &after, &pods_after, state, now), Verdict::Confirmed);
}

#[test]
fn reclaim_first_and_soft_thresholds_are_never_prepared() {
    let (host, _) = two_pods();
    let mut cfg = host.config(HARD_PODS);
    cfg.action = Action::Kill;
    cfg.notifications = true;
    cfg.policy = headroom_core::reclaim::Policy::ReclaimFirst;
    assert!(!runner(cfg).0.prepares_kills(), "its pass may reclaim instead");
    // No hard memory threshold (a hard memory.available would be mirrored on the pods
    // cgroup, as the kubelet does with enforceNodeAllocatable: pods).
    let mut cfg = host.config(
        "evictionHard:\n  nodefs.available: 10%\n\
         evictionSoft:\n  allocatableMemory.available: 100Mi\n\
         evictionSoftGracePeriod:\n  allocatableMemory.available: 30s\n",
    );
    cfg.action = Action::Kill;
    cfg.notifications = true;
    assert!(
        !runner(cfg.clone()).0.prepares_kills(),
        "a soft threshold must hold for its grace: {:?}",
        cfg.eviction.thresholds
    );
}
