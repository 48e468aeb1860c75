//! Eviction thresholds: `signal < value`, with a grace period and an optional minimum reclaim.
//!
//! (Parsing of the kubelet's maps into thresholds is added below by the config work.)

use crate::quantity::Quantity;
use crate::signal::Signal;

/// A threshold value: an absolute quantity, or a fraction of capacity stored as the kubelet
/// stores it, a 32-bit float in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdValue {
    Quantity(Quantity),
    Percentage(f32),
}

/// Grace periods are whole nanoseconds, like Go's `time.Duration`.
pub type GraceNanos = i64;

/// One eviction threshold. Hard iff `grace_period_ns == 0`.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub signal: Signal,
    pub value: ThresholdValue,
    /// Go `time.Duration` in nanoseconds; 0 means hard.
    pub grace_period_ns: GraceNanos,
    pub min_reclaim: Option<ThresholdValue>,
}

impl Threshold {
    pub fn is_hard(&self) -> bool {
        self.grace_period_ns == 0
    }
}

/// The threshold in bytes (or inodes, or pids) for a given capacity (kubelet
/// `GetThresholdQuantity`): the quantity itself, or `trunc(capacity as f64 * pct as f64)`,
/// which reproduces the kubelet's f32 rounding (`10%` of 1000Mi is 104857601, not 104857600).
pub fn threshold_quantity(value: &ThresholdValue, capacity: &Quantity) -> Quantity {
    match value {
        ThresholdValue::Quantity(q) => *q,
        ThresholdValue::Percentage(pct) => {
            let bytes = (capacity.value() as f64) * f64::from(*pct);
            // `as` truncates toward zero and saturates, like the kubelet's int64() on sane input.
            Quantity::bytes(bytes as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentage_thresholds_reproduce_f32_rounding() {
        let cap = Quantity::bytes(1_048_576_000);
        assert_eq!(
            threshold_quantity(&ThresholdValue::Percentage(10.0f32 / 100.0), &cap).value(),
            104_857_601
        );
        assert_eq!(
            threshold_quantity(&ThresholdValue::Percentage(20.0f32 / 100.0), &cap).value(),
            209_715_203
        );
        assert_eq!(
            threshold_quantity(&ThresholdValue::Percentage(5.0f32 / 100.0), &cap).value(),
            52_428_800
        );
        let cap16 = Quantity::bytes(17_179_869_184);
        assert_eq!(
            threshold_quantity(&ThresholdValue::Percentage(10.0f32 / 100.0), &cap16).value(),
            1_717_986_944
        );
    }
}
