//! Reclaim before evict (issue #16) on a real cgroup v2 kernel (the VM test bed), CI-sized: one
//! hot-cache run and one anonymous-growth run per policy, the kubelet's and reclaim-first, in
//! one boot. Hot cache: the kubelet policy evicts the re-reading pod although its cgroup is far
//! from its limit (the false eviction: the scenario is real); reclaim-first evicts nothing, the
//! kernel OOM-kills nothing and the reader keeps running. Anonymous growth: reclaim-first evicts
//! the hog before any kernel OOM kill. The 10-run version with reaction ratios is
//! `benches/vm_reclaim.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "vm/reclaim.rs"]
mod reclaim;

use headroom_vmtest::boot_or_skip;

#[test]
fn reclaim_first_ends_false_evictions_and_still_beats_the_oom_killer() {
    let setup = reclaim::Setup {
        runs: 1,
        hot_secs: 25,
        hot_timeout: 300,
        anon_rate: 100,
    };
    let Some(out) = boot_or_skip(
        "reclaim_first_ends_false_evictions_and_still_beats_the_oom_killer",
        &reclaim::guest(&setup),
    ) else {
        return;
    };
    let log = || {
        format!(
            "{}\n--- agent.out ---\n{}\n--- agent.log ---\n{}",
            out.log_for_failure(),
            out.text("agent.out").unwrap_or_default(),
            out.text("agent.log").unwrap_or_default()
        )
    };
    assert!(
        out.case("reclaim-scenario-finished").is_some_and(|c| c.passed),
        "{}",
        log()
    );
    let (hot, anon) = reclaim::parse(&out.text("reclaim.csv").unwrap_or_default());
    assert_eq!((hot.len(), anon.len()), (2, 2), "{}", log());
    let line = reclaim::LIMIT - reclaim::THRESHOLD;
    for r in &hot {
        eprintln!("hot: {r:?}");
        assert_eq!(r.oom_kills, 0, "hot cache must not OOM-kill: {r:?}\n{}", log());
        match r.policy.as_str() {
            "kubelet" => assert!(
                r.kills >= 1,
                "the kubelet policy did not evict the reader: the scenario is not real: {r:?}\n{}",
                log()
            ),
            _ => {
                // Valid only if the cache really went hot and over the line: the second pass
                // activates it (a run that timed out on cold passes proves nothing).
                assert!(
                    r.reads >= 2 && r.max_working_set > line,
                    "invalid hot run: the reader's cache never became active over the line \
                     ({} passes, max working set {} MiB): {r:?}\n{}",
                    r.reads,
                    r.max_working_set / reclaim::MIB,
                    log()
                );
                assert_eq!(r.kills, 0, "reclaim-first evicted the reader: {r:?}\n{}", log());
                assert!(r.reader_alive, "the reader died: {r:?}\n{}", log());
                assert!(r.reclaims >= 1 && r.reclaimed > 0, "no reclaim: {r:?}\n{}", log());
            }
        }
    }
    for r in &anon {
        eprintln!("anon: {r:?} reaction={:?}", reclaim::reaction(r));
        assert!(
            !r.oom,
            "the kernel OOM-killed before the {} policy evicted: {r:?}\n{}",
            r.policy,
            log()
        );
        assert_eq!(r.kills, 1, "the hog was not evicted: {r:?}\n{}", log());
        assert_eq!(
            r.reclaims,
            0,
            "anonymous growth must not wait for a reclaim: {r:?}\n{}",
            log()
        );
    }
}
