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
    pub fn config_name(self) -> &'static str {
        match self {
            ThresholdField::EvictionHard => "evictionHard",
            ThresholdField::EvictionSoft => "evictionSoft",
            ThresholdField::EvictionSoftGracePeriod => "evictionSoftGracePeriod",
            ThresholdField::EvictionMinimumReclaim => "evictionMinimumReclaim",
        }
    }

    /// The kubelet command-line flag (`--eviction-hard`).
    pub fn flag_name(self) -> &'static str {
        match self {
            ThresholdField::EvictionHard => "--eviction-hard",
            ThresholdField::EvictionSoft => "--eviction-soft",
            ThresholdField::EvictionSoftGracePeriod => "--eviction-soft-grace-period",
            ThresholdField::EvictionMinimumReclaim => "--eviction-minimum-reclaim",
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

/// The four eviction maps as ordered `(signal, value)` lists, in file (or flag) order.
/// A repeated key behaves like a map: the later value wins.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThresholdMaps<'a> {
    pub hard: &'a [(String, String)],
    pub soft: &'a [(String, String)],
    pub grace: &'a [(String, String)],
    pub min_reclaim: &'a [(String, String)],
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

/// [`parse_threshold_config`] taking the maps as one struct.
pub fn parse_threshold_maps(
    enforce_node_allocatable: &[String],
    maps: ThresholdMaps<'_>,
) -> Result<Vec<Threshold>, ThresholdError> {
    parse_threshold_config(
        enforce_node_allocatable,
        maps.hard,
        maps.soft,
        maps.grace,
        maps.min_reclaim,
    )
}

/// Append an `allocatableMemory.available` copy of every hard `memory.available` threshold
/// (same value and min-reclaim, grace 0), after all existing thresholds.
pub fn add_allocatable_thresholds(thresholds: Vec<Threshold>) -> Vec<Threshold> {
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
pub fn parse_threshold_value(signal: Signal, value: &str) -> Result<Option<ThresholdValue>, String> {
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
pub fn parse_min_reclaim_value(signal: Signal, value: &str) -> Result<ThresholdValue, String> {
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
pub fn format_percentage(pct: f32) -> String {
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

    fn m(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pods() -> Vec<String> {
        vec!["pods".to_string()]
    }

    fn qty(s: &str) -> ThresholdValue {
        ThresholdValue::Quantity(Quantity::parse(s).unwrap())
    }

    fn pct(p: f32) -> ThresholdValue {
        ThresholdValue::Percentage(p / 100.0f32)
    }

    fn th(signal: Signal, value: ThresholdValue, grace: i64, min: Option<ThresholdValue>) -> Threshold {
        Threshold {
            signal,
            value,
            grace_period_ns: grace,
            min_reclaim: min,
        }
    }

    fn err_of(
        hard: &[(&str, &str)],
        soft: &[(&str, &str)],
        grace: &[(&str, &str)],
        min: &[(&str, &str)],
    ) -> String {
        parse_threshold_config(&[], &m(hard), &m(soft), &m(grace), &m(min))
            .unwrap_err()
            .to_string()
    }

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn hard_soft_and_allocatable_copy() {
        // A small node: hard at 200Mi, soft at 400Mi for 45s, reclaim nothing extra.
        let got = parse_threshold_config(
            &pods(),
            &m(&[("memory.available", "200Mi")]),
            &m(&[("memory.available", "400Mi")]),
            &m(&[("memory.available", "45s")]),
            &m(&[("memory.available", "0")]),
        )
        .unwrap();
        let zero = Some(qty("0"));
        assert_eq!(
            got,
            vec![
                th(Signal::MemoryAvailable, qty("200Mi"), 0, zero),
                th(Signal::MemoryAvailable, qty("400Mi"), 45 * SEC, zero),
                th(Signal::AllocatableMemoryAvailable, qty("200Mi"), 0, zero),
            ]
        );
    }

    #[test]
    fn percentages_without_enforcement() {
        let got = parse_threshold_config(
            &[],
            &m(&[("memory.available", "15%")]),
            &m(&[("memory.available", "25%")]),
            &m(&[("memory.available", "2m")]),
            &m(&[("memory.available", "3%")]),
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                th(Signal::MemoryAvailable, pct(15.0), 0, Some(pct(3.0))),
                th(Signal::MemoryAvailable, pct(25.0), 120 * SEC, Some(pct(3.0))),
            ]
        );
    }

    #[test]
    fn disk_and_inode_thresholds_share_min_reclaim() {
        let got = parse_threshold_config(
            &pods(),
            &m(&[("nodefs.available", "2Gi"), ("imagefs.inodesFree", "200k")]),
            &m(&[("nodefs.available", "4Gi"), ("imagefs.inodesFree", "400k")]),
            &m(&[("nodefs.available", "1m"), ("imagefs.inodesFree", "90s")]),
            &m(&[("nodefs.available", "500Mi"), ("imagefs.inodesFree", "50k")]),
        )
        .unwrap();
        assert_eq!(got.len(), 4, "no allocatable copy without a memory threshold");
        assert_eq!(
            got[0],
            th(Signal::NodeFsAvailable, qty("2Gi"), 0, Some(qty("500Mi")))
        );
        assert_eq!(
            got[1],
            th(Signal::ImageFsInodesFree, qty("200k"), 0, Some(qty("50k")))
        );
        assert_eq!(
            got[2],
            th(Signal::NodeFsAvailable, qty("4Gi"), 60 * SEC, Some(qty("500Mi")))
        );
        assert_eq!(
            got[3],
            th(Signal::ImageFsInodesFree, qty("400k"), 90 * SEC, Some(qty("50k")))
        );
    }

    #[test]
    fn exact_zero_and_hundred_percent_disable() {
        for v in ["0%", "100%"] {
            let got = parse_threshold_config(
                &pods(),
                &m(&[("memory.available", v)]),
                &m(&[("nodefs.available", v)]),
                &[],
                &[],
            )
            .unwrap();
            assert!(
                got.is_empty(),
                "{v} disables, and a disabled soft threshold needs no grace"
            );
        }
    }

    #[test]
    fn near_disabling_spellings_are_real_thresholds() {
        let got = parse_threshold_config(&[], &m(&[("memory.available", "100.0%")]), &[], &[], &[]).unwrap();
        assert_eq!(
            got,
            vec![th(
                Signal::MemoryAvailable,
                ThresholdValue::Percentage(1.0),
                0,
                None
            )]
        );
        let got = parse_threshold_config(&[], &m(&[("nodefs.available", "0.0%")]), &[], &[], &[]).unwrap();
        assert_eq!(
            got,
            vec![th(
                Signal::NodeFsAvailable,
                ThresholdValue::Percentage(0.0),
                0,
                None
            )]
        );
        // The never-met / always-met consequences.
        let cap = Quantity::bytes(8 << 30);
        assert_eq!(threshold_quantity(&ThresholdValue::Percentage(1.0), &cap), cap);
        assert!(threshold_quantity(&ThresholdValue::Percentage(0.0), &cap).is_zero());
        let got = parse_threshold_config(&[], &m(&[("memory.available", "0%%")]), &[], &[], &[]).unwrap();
        assert_eq!(got.len(), 1, "0%% is not the exact disabling string");
    }

    #[test]
    fn range_and_sign_errors() {
        assert_eq!(
            err_of(&[("memory.available", "120%")], &[], &[], &[]),
            "eviction percentage threshold memory.available must be <= 100%: 120%"
        );
        assert_eq!(
            err_of(&[("nodefs.available", "-5%")], &[], &[], &[]),
            "eviction percentage threshold nodefs.available must be >= 0%: -5%"
        );
        assert_eq!(
            err_of(&[("memory.available", "-1.5Gi")], &[], &[], &[]),
            "eviction threshold memory.available must be positive: -1536Mi"
        );
        assert_eq!(
            err_of(&[("memory.available", "0Gi")], &[], &[], &[]),
            "eviction threshold memory.available must be positive: 0"
        );
        assert_eq!(
            err_of(&[("memory.available", "0")], &[], &[], &[]),
            "eviction threshold memory.available must be positive: 0"
        );
        assert_eq!(
            err_of(
                &[],
                &[("memory.available", "-2Gi")],
                &[("memory.available", "1m")],
                &[]
            ),
            "eviction threshold memory.available must be positive: -2Gi"
        );
        assert!(
            parse_threshold_config(&[], &m(&[("memory.available", "100m")]), &[], &[], &[]).is_ok(),
            "a fraction of a byte is still positive"
        );
    }

    #[test]
    fn unknown_signals_everywhere() {
        assert_eq!(
            err_of(&[("memory.free", "1Gi")], &[], &[], &[]),
            "unsupported eviction signal memory.free"
        );
        assert_eq!(
            err_of(
                &[("memory.available", "1Gi"), ("disk.available", "1Gi")],
                &[],
                &[],
                &[]
            ),
            "unsupported eviction signal disk.available"
        );
        assert_eq!(
            err_of(&[], &[], &[("memory.availble", "1m")], &[]),
            "unsupported eviction signal memory.availble"
        );
        assert_eq!(
            err_of(&[], &[], &[], &[("bar", "1Gi")]),
            "unsupported eviction signal bar"
        );
        let e = parse_threshold_config(&[], &[], &[], &[], &m(&[("bar", "1Gi")])).unwrap_err();
        assert_eq!(
            (e.field, e.key.as_str()),
            (ThresholdField::EvictionMinimumReclaim, "bar")
        );
    }

    #[test]
    fn grace_period_rules() {
        let e = parse_threshold_config(&[], &[], &m(&[("memory.available", "1Gi")]), &[], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "grace period must be specified for the soft eviction threshold memory.available"
        );
        assert_eq!(e.field, ThresholdField::EvictionSoft);
        assert_eq!(
            err_of(
                &[],
                &[("memory.available", "1Gi")],
                &[("memory.available", "-1m")],
                &[]
            ),
            "invalid eviction grace period specified: -1m, must be a positive value"
        );
        assert_eq!(
            err_of(
                &[],
                &[("memory.available", "1Gi")],
                &[("memory.available", "90")],
                &[]
            ),
            r#"time: missing unit in duration "90""#
        );
        // A grace period without a soft threshold is accepted and ignored.
        let got = parse_threshold_config(&[], &[], &[], &m(&[("nodefs.available", "5m")]), &[]).unwrap();
        assert!(got.is_empty());
        // A soft threshold with grace 0s is hard in effect: copied to allocatable.
        let got = parse_threshold_config(
            &pods(),
            &[],
            &m(&[("memory.available", "500Mi")]),
            &m(&[("memory.available", "0s")]),
            &[],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                th(Signal::MemoryAvailable, qty("500Mi"), 0, None),
                th(Signal::AllocatableMemoryAvailable, qty("500Mi"), 0, None),
            ]
        );
    }

    #[test]
    fn min_reclaim_rules() {
        assert_eq!(
            err_of(&[], &[], &[], &[("memory.available", "-1Mi")]),
            "negative eviction minimum reclaim specified for memory.available"
        );
        assert_eq!(
            err_of(&[], &[], &[], &[("memory.available", "0%")]),
            "eviction percentage minimum reclaim memory.available must be positive: 0%"
        );
        assert!(parse_threshold_config(&[], &[], &[], &[], &m(&[("memory.available", "0")])).is_ok());
        assert!(
            parse_threshold_config(&[], &[], &[], &[], &m(&[("memory.available", "250%")])).is_ok(),
            "no upper bound on min-reclaim percentages"
        );
        // Accepted and unused without a threshold for its signal.
        assert!(
            parse_threshold_config(&[], &[], &[], &[], &m(&[("pid.available", "7%")]))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn percent_string_oddities() {
        let got = parse_threshold_config(&[], &m(&[("memory.available", "15%%%")]), &[], &[], &[]).unwrap();
        assert_eq!(got[0].value, pct(15.0));
        assert_eq!(
            err_of(&[("memory.available", "lots%")], &[], &[], &[]),
            r#"strconv.ParseFloat: parsing "lots": invalid syntax"#
        );
        // Not a percentage form (the `%` is not trailing): a quantity error.
        let e = err_of(&[("memory.available", "10%5")], &[], &[], &[]);
        assert!(e.contains("quantit"), "{e}");
        assert!(err_of(&[("memory.available", "nan%")], &[], &[], &[]).contains("finite"));
        assert!(err_of(&[], &[], &[], &[("memory.available", "inf%")]).contains("finite"));
        assert!(err_of(&[("memory.available", "inf%")], &[], &[], &[]).contains("finite"));
        // Go float syntax: exponents, hex, underscores between digits.
        for (text, want) in [
            ("1e1%", 10.0f32),
            ("0x1.4p3%", 10.0),
            ("1_0%", 10.0),
            ("+10.%", 10.0),
        ] {
            let got = parse_threshold_config(&[], &m(&[("memory.available", text)]), &[], &[], &[]).unwrap();
            assert_eq!(got[0].value, pct(want), "{text}");
        }
    }

    #[test]
    fn repeated_keys_behave_like_a_map() {
        let got = parse_threshold_config(
            &[],
            &m(&[("memory.available", "-1Mi"), ("memory.available", "300Mi")]),
            &[],
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(got, vec![th(Signal::MemoryAvailable, qty("300Mi"), 0, None)]);
    }

    #[test]
    fn first_bad_key_in_file_order_is_reported() {
        let e = parse_threshold_config(
            &[],
            &m(&[("memory.available", "-1"), ("nodefs.available", "200%")]),
            &[],
            &[],
            &[],
        )
        .unwrap_err();
        assert_eq!((e.key.as_str(), e.value.as_str()), ("memory.available", "-1"));
    }

    #[test]
    fn prints_values() {
        assert_eq!(format_threshold_value(&pct(10.0)), "10%");
        assert_eq!(format_threshold_value(&pct(33.3)), "33.3%");
        assert_eq!(format_threshold_value(&pct(0.5)), "0.5%");
        assert_eq!(format_threshold_value(&ThresholdValue::Percentage(1.0)), "100%");
        assert_eq!(format_threshold_value(&qty("1.5Gi")), "1536Mi");
        assert_eq!(format_threshold_value(&qty("100Mi")), "100Mi");
    }

    #[test]
    fn parsed_ten_percent_keeps_the_kubelets_f32_rounding() {
        // 10% of 1000Mi is 104857601 bytes, so exactly 100Mi available is already below it.
        let Some(ten) = parse_threshold_value(Signal::MemoryAvailable, "10%").unwrap() else {
            panic!("10% is a threshold");
        };
        let cap = Quantity::bytes(1000 << 20);
        let q = threshold_quantity(&ten, &cap);
        assert_eq!(q.value(), 104_857_601);
        assert!(q > Quantity::bytes(100 << 20), "available == 100Mi is met");
        let twenty = parse_threshold_value(Signal::MemoryAvailable, "20%")
            .unwrap()
            .unwrap();
        assert_eq!(threshold_quantity(&twenty, &cap).value(), 209_715_203);
        let five = parse_threshold_value(Signal::MemoryAvailable, "5%")
            .unwrap()
            .unwrap();
        assert_eq!(threshold_quantity(&five, &cap).value(), 52_428_800);
        assert_eq!(
            threshold_quantity(&ten, &Quantity::bytes(16 << 30)).value(),
            1_717_986_944
        );
    }

    proptest::proptest! {
        #[test]
        fn printed_percentages_parse_back(p in 0.0f32..=100.0f32) {
            let value = ThresholdValue::Percentage(p / 100.0f32);
            let text = format_threshold_value(&value);
            let back = parse_threshold_value(Signal::MemoryAvailable, &text).unwrap();
            if text == "0%" || text == "100%" {
                proptest::prop_assert_eq!(back, None);
            } else {
                proptest::prop_assert_eq!(back, Some(value));
            }
        }

        #[test]
        fn percent_text_round_trips(whole in 0u32..100, frac in 0u32..1000) {
            let text = format!("{whole}.{frac:03}%");
            let Some(value) = parse_threshold_value(Signal::NodeFsAvailable, &text).unwrap() else {
                return Ok(());
            };
            let printed = format_threshold_value(&value);
            proptest::prop_assert_eq!(parse_threshold_value(Signal::NodeFsAvailable, &printed).unwrap(), Some(value));
        }

        #[test]
        fn parsing_never_panics(k in "[a-zA-Z.]{0,20}", v in "\\PC{0,16}") {
            let maps = m(&[(k.as_str(), v.as_str())]);
            let _ = parse_threshold_config(&pods(), &maps, &maps, &maps, &maps);
        }
    }
}
