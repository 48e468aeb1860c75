//! Running the `headroom` binary in the CLI's user-level tests: its exit status and both
//! outputs as text, and no run may panic. Included with `#[path = "common/run.rs"]`.
#![allow(dead_code)] // each including test file uses its own part

use assert_cmd::Command;

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run `headroom ARGS` (NO_COLOR unset, so colour rules are the program's own; backtraces on,
/// so a panic would say where). Fails the test on a panic, whatever the exit status.
pub fn headroom<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::cargo_bin("headroom")
        .unwrap()
        .args(args)
        .env_remove("NO_COLOR")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Text with its whitespace runs made single spaces: a sentence the 100-column wrapping cut
/// across lines can be searched for whole.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
