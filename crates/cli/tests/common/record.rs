//! Starting `headroom record` on a fake host tree in the CLI's tests. Included with
//! `#[path = "common/record.rs"]`.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `headroom record` reading the tree under `root` into `rec`, one pass every `period`; its
/// stdout is piped: one decision line per pass, printed after the pass is committed.
pub fn spawn_record(root: &Path, rec: &Path, pods: &Path, config: &Path, period: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["record", "--period", period, "--pods"])
        .arg(pods)
        .arg("--config")
        .arg(config)
        .arg("--root")
        .arg(root)
        .arg(rec)
        .env("HEADROOM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start headroom record: {e}"))
}
