//! The agent's race on a real cgroup v2 kernel (the VM test bed), CI-sized: one run per rate
//! (100 MiB/s and as fast as the guest allows) for the agent (`--action kill`, 10 s period), the
//! 10 ms polling yardstick and no evictor. The agent must stop the BestEffort hog before the
//! kernel's OOM killer, every time, and leave the Guaranteed pod alive; without an evictor the
//! kernel must OOM-kill (the race is real); the agent's passes woken by the usage re-reads are
//! fast passes (pod cgroups only). The 20-run version is `benches/vm_race.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "vm/agent_steps.rs"]
mod agent_steps;
#[path = "vm/race.rs"]
mod race;

use headroom_vmtest::boot_or_skip;

#[test]
fn the_agent_beats_the_oom_killer_on_cgroup_v2() {
    let setup = race::Setup {
        runs: 1,
        rates: vec!["100".into(), "full".into()],
        contenders: vec!["agent".into(), "yardstick".into(), "none".into()],
        idle_secs: 0,
    };
    let Some(out) = boot_or_skip(
        "the_agent_beats_the_oom_killer_on_cgroup_v2",
        &race::guest(&setup),
    ) else {
        return;
    };
    let log = || {
        format!(
            "{}\n--- agent.log ---\n{}",
            out.log_for_failure(),
            out.text("agent.log").unwrap_or_default()
        )
    };
    assert!(
        out.case("race-scenario-finished").is_some_and(|c| c.passed),
        "{}",
        log()
    );
    let runs = race::parse(&out.text("race.csv").unwrap_or_default());
    assert_eq!(runs.len(), setup.total_runs(), "{runs:?}\n{}", log());
    let overhead = race::hog_overhead(&runs);
    for r in &runs {
        let figures = race::reaction(r, overhead);
        eprintln!(
            "{} at {}: oom={} status={} reaction={figures:?}",
            r.contender, r.rate, r.oom, r.status
        );
        match r.contender.as_str() {
            "agent" => {
                assert!(
                    !r.oom,
                    "the kernel OOM-killed before the agent acted: {r:?}\n{}",
                    log()
                );
                assert!(r.guaranteed_alive, "the Guaranteed pod died: {r:?}\n{}", log());
            }
            "none" => assert!(
                r.oom,
                "no evictor and no OOM kill: the race is not real: {r:?}\n{}",
                log()
            ),
            _ => {}
        }
    }
    // The re-reads found the crossings and the passes they woke read pod cgroups only
    // (crate::fast_pass); the re-read interval came from a measured growth bound.
    let agent_log = out.text("agent.log").unwrap_or_default();
    assert!(
        agent_log.contains("fast pass:"),
        "no fast pass in the agent's log\n{}",
        log()
    );
    // The kill was prepared before the crossing, signalled at it and confirmed by the pass
    // (crates/agent/src/prepared_kill.rs); never contradicted by it.
    let steps = agent_steps::agent_steps(&agent_log);
    eprintln!("agent steps: {steps:?}");
    assert!(
        steps.confirmed >= 1 && !steps.hot_path.is_empty(),
        "no prepared kill fired and confirmed in the agent's log\n{}",
        log()
    );
    assert_eq!(
        steps.disagreed,
        0,
        "a prepared kill disagreed with its confirming pass\n{}",
        log()
    );
    assert!(
        agent_log.contains("growth from rest assumed up to") && agent_log.contains("measured"),
        "the growth bound was not measured\n{}",
        log()
    );
}

/// The log lines the bench's step table is read from (no VM needed).
#[test]
fn the_agents_steps_are_read_from_its_log_lines() {
    let log = "\
2026-12-06T12:18:13.592033Z  INFO headroom_agent::runner::prepare: prepared kill: SIGTERM to pod race/hog-2 [154] 533.67µs after the re-read that found the crossing (pods cgroup working set 432611328 bytes, available 104259584 < 100Mi; prepared 40.1ms before, in 3.2ms); the pass confirms
2026-12-06T12:18:13.593166Z  INFO headroom_agent::warning: notification: pods usage: /sys/fs/cgroup/kubepods.slice/memory.current is 432611328 bytes, at or beyond 432013312 (a threshold is met there)
2026-12-06T12:18:13.595000Z  INFO headroom_agent::runner::pass: fast pass: 2 pod cgroups read without their containers in 2.5ms
2026-12-06T12:18:13.599034Z  INFO headroom_agent::runner::prepare: prepared kill of pod race/hog-2: confirmed by the pass
2026-12-06T12:18:20.000000Z  INFO headroom_agent::runner::prepare: prepared kill of pod race/hog-3 not used: stale (1s old, usable for 200ms); the crossing takes the fast pass
";
    let s = agent_steps::agent_steps(log);
    assert_eq!((s.crossings, s.confirmed, s.disagreed, s.unused), (1, 1, 0, 1));
    assert!((s.hot_path[0] - 0.53367).abs() < 1e-9, "{s:?}");
    assert!((s.prepared_age[0] - 40.1).abs() < 1e-9, "{s:?}");
    assert!((s.prepared_in[0] - 3.2).abs() < 1e-9, "{s:?}");
    assert!((s.fast_collection[0] - 2.5).abs() < 1e-9, "{s:?}");
    assert!((s.to_verdict[0] - 7.001).abs() < 1e-6, "{s:?}");
    assert_eq!(agent_steps::debug_ms("1.5s"), Some(1500.0));
    assert_eq!(agent_steps::debug_ms("250ns"), Some(0.00025));
}
