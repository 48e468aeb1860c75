//! The flight recorder survives power cuts of a cgroup v2 guest (the VM test bed), CI-sized:
//! two cuts at random moments while `headroom record` writes to an ext4 disk, then a boot that
//! finds every confirmed pass, resumes recording and stops cleanly (see `vm/powercut.rs`).
//! `HEADROOM_POWERCUT_CUTS=N` runs N cuts instead (the longer loop, by hand; BENCHMARKS.md
//! has the figures); `HEADROOM_POWERCUT_SEED` replays a failed run's cut moments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "vm/powercut.rs"]
mod powercut;

use headroom_vmtest::vm_or_skip;

#[test]
fn every_confirmed_pass_survives_power_cuts_of_the_guest() {
    let test = "every_confirmed_pass_survives_power_cuts_of_the_guest";
    let Some(vm) = vm_or_skip(test) else {
        return;
    };
    let cuts = std::env::var("HEADROOM_POWERCUT_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let report = powercut::run(&vm, &powercut::Setup::new(cuts));
    let confirmed: usize = report.boots.iter().map(|b| b.confirmed).sum();
    let extra: usize = report.boots.iter().map(|b| b.unconfirmed_extra).sum();
    let wals: Vec<_> = report.boots.iter().filter_map(|b| b.wal.clone()).collect();
    let in_flight: usize = wals.iter().map(|w| w.in_flight).sum();
    let torn: usize = wals
        .iter()
        .map(|w| w.torn + usize::from(w.partial_bytes > 0))
        .sum();
    let stale: usize = wals.iter().map(|w| w.stale).sum();
    eprintln!(
        "power cuts: {cuts}, passes confirmed {confirmed}, all found after each cut; committed \
         but not yet confirmed at a cut: {extra}; WAL tails left by the cuts (discarded): \
         {in_flight} frames in flight, {torn} torn, {stale} of an older generation; disk flushes \
         {} over {} clean passes",
        report.flushes, report.final_passes
    );
}
