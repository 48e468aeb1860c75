//! The JSON view of a [`StatusReport`] (keys documented in the `status` module docs).

use super::report::StatusReport;

/// Pretty-printed, stable key order (struct order), trailing newline.
pub fn render(report: &StatusReport) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}
