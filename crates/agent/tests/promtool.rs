//! `promtool check metrics` on the agent's /metrics exposition (classic text format).
//! promtool comes from the Debian package `prometheus` (.ci/run installs it). Without it the
//! test skips, unless HEADROOM_REQUIRE_KERNEL_TESTS=1 (CI), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_agent::light::Trigger;
use headroom_agent::metrics::Metrics;
use std::io::Write;
use std::process::{Command, Stdio};

fn sample() -> Metrics {
    let m = Metrics::new();
    for scope in ["node", "pods"] {
        for kind in [
            "usage",
            "working_set",
            "inactive_file",
            "rss",
            "available",
            "limit",
        ] {
            m.set_memory(scope, kind, 123_456_789.0);
        }
    }
    m.set_signal(headroom_core::signal::Signal::MemoryAvailable, 2.0e9, 8.0e9);
    m.set_signal(
        headroom_core::signal::Signal::AllocatableMemoryAvailable,
        3.0e8,
        5.0e8,
    );
    m.set_threshold(
        headroom_core::signal::Signal::MemoryAvailable,
        "hard",
        104_857_600.0,
        1.9e9,
    );
    m.set_threshold(
        headroom_core::signal::Signal::AllocatableMemoryAvailable,
        "soft",
        2.0e8,
        1.0e8,
    );
    m.set_condition("MemoryPressure", true);
    m.set_condition("DiskPressure", false);
    m.inc_eviction("allocatableMemory.available");
    m.inc_action("kill", "ok");
    m.observe_sync(Trigger::Notification, false, 0.003);
    m.observe_sync(Trigger::Period, true, 0.02);
    m.inc_notification("hard memory eviction threshold", "usage_threshold");
    m.set_stats_age("memory.available", 0.002);
    m.set_notifier_armed("hard memory eviction threshold", 7.9e9);
    m
}

#[test]
fn promtool_accepts_the_classic_exposition() {
    let required = std::env::var("HEADROOM_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1");
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if required => panic!(
            "HEADROOM_REQUIRE_KERNEL_TESTS=1 but promtool cannot run: {e} (apt-get install prometheus)"
        ),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "skipping promtool test: promtool cannot run: {e} (apt-get install prometheus)"
            );
            return;
        }
    };
    let text = sample().render(false);
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool rejected the exposition:\n{report}\n---\n{text}"
    );
    // promtool also lints (naming, units); it prints findings but exits 0 for lint-only issues.
    assert!(
        report.trim().is_empty(),
        "promtool lint findings:\n{report}\n---\n{text}"
    );
}
