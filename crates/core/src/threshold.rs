//! Eviction thresholds: `signal < value`, with a grace period and an optional minimum reclaim,
//! and the kubelet's parser that turns the four configuration maps into them
//! (`ParseThresholdConfig`).
//!
//! Map order: the kubelet receives `evictionHard` & co. as Go maps and iterates them in random
//! order, so when several keys are bad, *which* one it reports differs from run to run (whether
//! it fails does not). headroom takes the maps as lists in file order and reports the first bad
//! key in that order; the resulting thresholds are also in file order (hard, then soft, then
//! the allocatable copies), where the kubelet's order is random within each group.
//!
//! Deliberate deviation: a percentage that parses to NaN or infinity (`nan%`, `inf%`) is
//! rejected here. The kubelet accepts `nan%` (both range checks are false for NaN) and then
//! computes an undefined threshold; `inf%` min-reclaims pass its `> 0` check.

use crate::duration;
use crate::go_float::{self, FloatError};
use crate::quantity::{Quantity, QuantityError};
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

/// Which kubelet setting a threshold entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThresholdField {
    EvictionHard,
    EvictionSoft,
    EvictionSoftGracePeriod,
    EvictionMinimumReclaim,
}

impl ThresholdField {
    /// The KubeletConfiguration field name (`evictionHard`).
    pub(crate) fn config_name(self) -> &'static str {
        match self {
            ThresholdField::EvictionHard => "evictionHard",
            ThresholdField::EvictionSoft => "evictionSoft",
            ThresholdField::EvictionSoftGracePeriod => "evictionSoftGracePeriod",
            ThresholdField::EvictionMinimumReclaim => "evictionMinimumReclaim",
        }
    }
}

/// The kubelet refused a threshold entry. `Display` is the kubelet's own message; `field`,
/// `key` and `value` say which entry, so callers can point at the file line or flag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ThresholdError {
    pub field: ThresholdField,
    pub key: String,
    pub value: String,
    pub message: String,
}

/// The kubelet's `ParseThresholdConfig`: hard thresholds, then soft ones (each needs a grace
/// period), min-reclaims attached to every threshold of their signal, and, when
/// `enforce_node_allocatable` contains `pods`, an `allocatableMemory.available` copy of every
/// hard `memory.available` threshold. The first bad entry (in list order) is the error.
pub fn parse_threshold_config(
    enforce_node_allocatable: &[String],
    hard: &[(String, String)],
    soft: &[(String, String)],
    grace: &[(String, String)],
    min_reclaim: &[(String, String)],
) -> Result<Vec<Threshold>, ThresholdError> {
    let hard_list = parse_statements(ThresholdField::EvictionHard, hard)?;
    let mut soft_list = parse_statements(ThresholdField::EvictionSoft, soft)?;
    let graces = parse_grace_periods(grace)?;
    let reclaims = parse_min_reclaims(min_reclaim)?;
    for threshold in &mut soft_list {
        let Some(&(_, period)) = graces.iter().find(|(sig, _)| *sig == threshold.signal) else {
            let key = threshold.signal.as_str().to_string();
            let value = soft
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            return Err(ThresholdError {
                field: ThresholdField::EvictionSoft,
                message: format!("grace period must be specified for the soft eviction threshold {key}"),
                key,
                value,
            });
        };
        threshold.grace_period_ns = period;
    }
    let mut results: Vec<Threshold> = hard_list.into_iter().chain(soft_list).collect();
    for threshold in &mut results {
        if let Some(&(_, reclaim)) = reclaims.iter().find(|(sig, _)| *sig == threshold.signal) {
            threshold.min_reclaim = Some(reclaim);
        }
    }
    if enforce_node_allocatable.iter().any(|e| e == "pods") {
        results = add_allocatable_thresholds(results);
    }
    Ok(results)
}

/// Append an `allocatableMemory.available` copy of every hard `memory.available` threshold
/// (same value and min-reclaim, grace 0), after all existing thresholds.
pub(crate) fn add_allocatable_thresholds(thresholds: Vec<Threshold>) -> Vec<Threshold> {
    let copies: Vec<Threshold> = thresholds
        .iter()
        .filter(|t| t.signal == Signal::MemoryAvailable && t.is_hard())
        .map(|t| Threshold {
            signal: Signal::AllocatableMemoryAvailable,
            value: t.value,
            grace_period_ns: 0,
            min_reclaim: t.min_reclaim,
        })
        .collect();
    let mut all = thresholds;
    all.extend(copies);
    all
}

/// Collapse repeated keys like a Go map would (the later value wins), keeping the position of
/// the first occurrence so error reporting follows file order.
fn dedup(entries: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        match out.iter_mut().find(|(key, _)| *key == k.as_str()) {
            Some(slot) => slot.1 = v.as_str(),
            None => out.push((k.as_str(), v.as_str())),
        }
    }
    out
}

fn entry_error(field: ThresholdField, key: &str, value: &str, message: String) -> ThresholdError {
    ThresholdError {
        field,
        key: key.to_string(),
        value: value.to_string(),
        message,
    }
}

fn parse_signal(field: ThresholdField, key: &str, value: &str) -> Result<Signal, ThresholdError> {
    key.parse::<Signal>()
        .map_err(|e| entry_error(field, key, value, e.to_string()))
}

fn parse_statements(
    field: ThresholdField,
    entries: &[(String, String)],
) -> Result<Vec<Threshold>, ThresholdError> {
    let mut out = Vec::new();
    for (key, value) in dedup(entries) {
        let signal = parse_signal(field, key, value)?;
        let parsed = parse_threshold_value(signal, value).map_err(|m| entry_error(field, key, value, m))?;
        if let Some(value) = parsed {
            out.push(Threshold {
                signal,
                value,
                grace_period_ns: 0,
                min_reclaim: None,
            });
        }
    }
    Ok(out)
}

/// The kubelet's `parseThresholdStatement` for one hard/soft value: `Ok(None)` when the value
/// is exactly `0%` or `100%` (the documented way to switch a signal off), otherwise the
/// threshold value or the kubelet's error message.
pub(crate) fn parse_threshold_value(signal: Signal, value: &str) -> Result<Option<ThresholdValue>, String> {
    if value.ends_with('%') {
        if value == "0%" || value == "100%" {
            return Ok(None);
        }
        let pct = parse_percentage(value).map_err(|e| e.to_string())?;
        if !pct.is_finite() {
            return Err(format!(
                "eviction percentage threshold {signal} must be a finite number: {value} \
                 (headroom rejects this; the kubelet would accept it and misbehave)"
            ));
        }
        if pct < 0.0 {
            return Err(format!(
                "eviction percentage threshold {signal} must be >= 0%: {value}"
            ));
        }
        if pct > 1.0 {
            return Err(format!(
                "eviction percentage threshold {signal} must be <= 100%: {value}"
            ));
        }
        return Ok(Some(ThresholdValue::Percentage(pct)));
    }
    let quantity = Quantity::parse(value).map_err(|e| quantity_error(value, e))?;
    if quantity.signum() <= 0 {
        return Err(format!(
            "eviction threshold {signal} must be positive: {quantity}"
        ));
    }
    Ok(Some(ThresholdValue::Quantity(quantity)))
}

fn quantity_error(_value: &str, e: QuantityError) -> String {
    // The kubelet returns apimachinery's error unchanged; callers add the value and location.
    e.to_string()
}

/// The kubelet's `parsePercentage`: strip every trailing `%`, parse as Go float32, divide by
/// 100 in float32 (so `10%` is 0.100000001490116..., not 0.1).
pub fn parse_percentage(value: &str) -> Result<f32, FloatError> {
    let number = value.trim_end_matches('%');
    Ok(go_float::parse_float32(number)? / 100.0f32)
}

fn parse_grace_periods(entries: &[(String, String)]) -> Result<Vec<(Signal, GraceNanos)>, ThresholdError> {
    let field = ThresholdField::EvictionSoftGracePeriod;
    let mut out = Vec::new();
    for (key, value) in dedup(entries) {
        let signal = parse_signal(field, key, value)?;
        let period =
            duration::parse_duration(value).map_err(|e| entry_error(field, key, value, e.to_string()))?;
        if period < 0 {
            return Err(entry_error(
                field,
                key,
                value,
                format!("invalid eviction grace period specified: {value}, must be a positive value"),
            ));
        }
        out.push((signal, period));
    }
    Ok(out)
}

fn parse_min_reclaims(entries: &[(String, String)]) -> Result<Vec<(Signal, ThresholdValue)>, ThresholdError> {
    let field = ThresholdField::EvictionMinimumReclaim;
    let mut out = Vec::new();
    for (key, value) in dedup(entries) {
        let signal = parse_signal(field, key, value)?;
        let parsed = parse_min_reclaim_value(signal, value).map_err(|m| entry_error(field, key, value, m))?;
        out.push((signal, parsed));
    }
    Ok(out)
}

/// One `evictionMinimumReclaim` value: a percentage must be > 0 (no upper bound, no `0%`
/// special case); a quantity must not be negative (zero is fine).
pub(crate) fn parse_min_reclaim_value(signal: Signal, value: &str) -> Result<ThresholdValue, String> {
    if value.ends_with('%') {
        let pct = parse_percentage(value).map_err(|e| e.to_string())?;
        if !pct.is_finite() {
            return Err(format!(
                "eviction percentage minimum reclaim {signal} must be a finite number: {value} \
                 (headroom rejects this; the kubelet would accept it and misbehave)"
            ));
        }
        if pct <= 0.0 {
            return Err(format!(
                "eviction percentage minimum reclaim {signal} must be positive: {value}"
            ));
        }
        return Ok(ThresholdValue::Percentage(pct));
    }
    let quantity = Quantity::parse(value).map_err(|e| quantity_error(value, e))?;
    if quantity.signum() < 0 {
        return Err(format!(
            "negative eviction minimum reclaim specified for {signal}"
        ));
    }
    Ok(ThresholdValue::Quantity(quantity))
}

/// A percentage as the shortest text that parses back to the same float32 (`0.1` -> `10%`,
/// `0.333` -> `33.3%`).
pub(crate) fn format_percentage(pct: f32) -> String {
    if !pct.is_finite() {
        return format!("{}%", pct * 100.0);
    }
    let parses_back = |text: &str| go_float::parse_float32(text).is_ok_and(|v| v / 100.0f32 == pct);
    // Fewest decimal places first: 15% is stored as 0.15000000596..., which prints as "15".
    let exact = f64::from(pct) * 100.0;
    for places in 0..=9 {
        let text = format!("{exact:.places$}");
        if parses_back(&text) {
            return format!("{text}%");
        }
    }
    // Very small values: the shortest float32 around pct*100 (or a neighbour) parses back.
    let mut candidate = pct * 100.0f32;
    for _ in 0..4 {
        let text = format!("{candidate}");
        if parses_back(&text) {
            return format!("{text}%");
        }
        candidate = if candidate / 100.0f32 < pct {
            candidate.next_up()
        } else {
            candidate.next_down()
        };
    }
    // Not reachable for values the parser produced; print enough digits to be exact.
    format!("{:.9}%", f64::from(pct) * 100.0)
}

/// A threshold value as the kubelet's users write it: `10%` or a canonical quantity (`100Mi`).
pub fn format_threshold_value(value: &ThresholdValue) -> String {
    match value {
        ThresholdValue::Quantity(q) => q.to_string(),
        ThresholdValue::Percentage(p) => format_percentage(*p),
    }
}

impl std::fmt::Display for ThresholdValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_threshold_value(self))
    }
}

#[cfg(test)]
mod tests;
