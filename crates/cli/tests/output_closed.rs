//! Output that cannot be written: a reader that went away (`headroom status | head -1`) and a
//! full disk (`> /dev/full`). Never a panic or a backtrace; a closed pipe is a quiet exit 0, any
//! other write error one line and exit 1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Skip lines go to the real stderr: the test harness captures eprintln! of passing tests,
// which would hide them.
use std::io::Write as _;

use std::process::{Command, Stdio};

const PRESSURE: &str = "tests/fixtures/status/pressure";

/// Commands that print without touching this host's kernel state.
fn offline_commands() -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let summary = format!("{PRESSURE}/summary.json");
    let pods = format!("{PRESSURE}/pods.json");
    let config = format!("{PRESSURE}/kubelet.yaml");
    let timeline = "../../examples/soft-then-hard/timeline.yaml";
    vec![
        s(&[
            "status",
            "--summary",
            &summary,
            "--pods",
            &pods,
            "--config",
            &config,
        ]),
        s(&["status", "--summary", &summary, "--format", "json"]),
        s(&["check-config", &config, "--format", "text", "--capacity", "16Gi"]),
        s(&["check-config", &config, "--format", "json"]),
        s(&["simulate", "--timeline", timeline, "--format", "text"]),
        s(&["simulate", "--timeline", timeline, "--format", "json"]),
        s(&["--help"]),
    ]
}

fn headroom() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("headroom"))
}

fn assert_no_panic(args: &[String], stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "headroom {args:?} panicked:\n{stderr}"
    );
}

#[test]
fn a_reader_that_went_away_is_a_quiet_success() {
    for args in offline_commands() {
        // The read end is closed before headroom starts, so its first write gets EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = headroom()
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_no_panic(&args, &stderr);
        assert_eq!(out.status.code(), Some(0), "headroom {args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "headroom {args:?}: {stderr}");
    }
}

#[test]
fn a_full_disk_is_one_line_and_exit_1() {
    if !std::path::Path::new("/dev/full").exists() {
        let _ = writeln!(std::io::stderr(), "skipping: no /dev/full on this machine");
        return;
    }
    // clap prints --help itself and ignores write errors there; everything else is ours.
    for args in offline_commands().into_iter().filter(|a| a[0] != "--help") {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = headroom()
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_no_panic(&args, &stderr);
        assert_eq!(out.status.code(), Some(1), "headroom {args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "headroom {args:?}: {stderr}");
        assert!(
            lines[0].starts_with("headroom: error: ") && lines[0].contains("No space left on device"),
            "headroom {args:?}: {stderr}"
        );
        assert!(lines[0].contains("stdout"), "headroom {args:?}: {stderr}");
    }
}
