//! The v1 miss, reproduced on the real kernel and closed: a usage threshold re-armed at the end
//! of a pass, from figures read at its start, must not lose a crossing that happened in
//! between. Needs root and the cgroup v1 memory controller (the shared gate
//! `skip_unless_kernel`: with HEADROOM_REQUIRE_KERNEL_TESTS=1 a missing prerequisite fails).
//!
//! Deterministic: the "pass" is simulated by computing the arming value before the test charges
//! memory into the cgroup, which is exactly what happens when a crossing falls between a pass's
//! collection and its re-arm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;

use cgroups::{TestCgroups, in_cgroup, skip_unless_kernel};
use headroom_agent::warning::rearm_usage_threshold;
use headroom_linux::notify::{FiredKind, Notifier};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn usage(cg: &Path) -> u64 {
    std::fs::read_to_string(cg.join("memory.usage_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Charge `mib` MiB of page cache to `cg` (a file first written by a process inside it).
fn charge(cg: &Path, file: &Path, mib: u64) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(in_cgroup(
            cg,
            &format!(
                "dd if=/dev/zero of={} bs=1M count={mib} status=none",
                file.display()
            ),
        ))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_threshold_armed_behind_the_usage_is_silent_and_the_rearm_says_pass_now() {
    if skip_unless_kernel("rearm behind a crossing") {
        return;
    }
    let cgs = TestCgroups::new("early-rearm-behind");
    let cg = cgs.base.clone();
    let data = tempfile::tempdir().unwrap();
    let mut n = Notifier::new();

    // The pass read usage here and computed its arming value 16 MiB above it...
    let armed_at = usage(&cg) + 16 * MIB;
    // ...and before its re-arm, the pod allocated past it.
    charge(&cg, &data.path().join("a"), 32);
    assert!(usage(&cg) >= armed_at);

    let r = rearm_usage_threshold(&mut n, "pods", &cg, armed_at, false).unwrap();
    assert!(r.crossed_before_armed.is_some(), "{r:?}");
    assert!(
        r.catch_up,
        "a crossing during the pass must run the pass again: {r:?}"
    );

    // The kernel's side of it (the cause of the miss): that threshold never fires upwards,
    // however far the usage climbs.
    charge(&cg, &data.path().join("b"), 32);
    assert!(
        n.wait(Some(Duration::from_millis(300))).unwrap().is_empty(),
        "the kernel signalled a threshold armed below the usage; usage {} armed at {armed_at}",
        usage(&cg)
    );

    // The pass that saw the threshold met does not run again (no spin while it stays met).
    let r = rearm_usage_threshold(&mut n, "pods", &cg, armed_at + MIB, true).unwrap();
    assert!(!r.catch_up, "{r:?}");

    // Armed ahead of the usage: nothing to catch up, and the crossing is signalled.
    let ahead = usage(&cg) + 16 * MIB;
    let r = rearm_usage_threshold(&mut n, "pods", &cg, ahead, false).unwrap();
    assert!(!r.catch_up && r.crossed_before_armed.is_none(), "{r:?}");
    charge(&cg, &data.path().join("c"), 32);
    let fired = n.wait(Some(Duration::from_secs(5))).unwrap();
    assert!(
        fired
            .iter()
            .any(|f| matches!(f.kind, FiredKind::UsageThreshold { bytes, .. } if bytes == ahead)),
        "{fired:?}"
    );
}

#[test]
fn a_crossing_signalled_on_the_replaced_watch_is_not_dropped() {
    if skip_unless_kernel("rearm drops a pending crossing") {
        return;
    }
    let cgs = TestCgroups::new("early-rearm-pending");
    let cg = cgs.base.clone();
    let data = tempfile::tempdir().unwrap();
    let mut n = Notifier::new();

    let first = usage(&cg) + 8 * MIB;
    let r = rearm_usage_threshold(&mut n, "pods", &cg, first, false).unwrap();
    assert!(!r.catch_up, "{r:?}");
    // Crossed while a pass ran: the eventfd holds the event, nobody has read it.
    charge(&cg, &data.path().join("a"), 32);
    // The pass re-arms higher (e.g. its inactive_file figure grew), ahead of the usage: the new
    // watch alone would stay quiet until the next crossing.
    let higher = usage(&cg) + 64 * MIB;
    let r = rearm_usage_threshold(&mut n, "pods", &cg, higher, false).unwrap();
    assert!(
        matches!(r.replaced_pending, Some(FiredKind::UsageThreshold { bytes, .. }) if bytes == first),
        "{r:?}"
    );
    assert!(r.catch_up, "{r:?}");
}
