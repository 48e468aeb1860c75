//! Helpers the bench binaries share: environment knobs and percentiles.
#![allow(dead_code)]

/// An integer knob from the environment (`HEADROOM_BENCH_*`), `default` when unset or not a
/// number.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile (0..=1) of already sorted figures, nearest rank; NaN when empty.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
