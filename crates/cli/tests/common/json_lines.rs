//! Output of a command that prints one JSON object per line.
#![allow(dead_code, clippy::unwrap_used)]

pub fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
