//! The kubelet's eviction-helper unit tests (`pkg/kubelet/eviction/helpers_test.go`), re-asked
//! of headroom's equivalents: one test per upstream helper, in this project's own data.
//!
//! Where headroom knowingly differs (docs/deviations.md) the test says so and asserts
//! headroom's documented behaviour.
//!
//! Over 600 lines on purpose: it follows upstream's helpers_test.go test by test, in its order, so the two read side by side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use headroom_core::local_storage::{self, StorageLimit};
use headroom_core::manager::{
    derive_containerfs, grace_satisfied, is_met, order_for_reclaim, same_threshold, stats_updated,
    still_reported,
};
use headroom_core::message::{ThresholdMet, eviction_message};
use headroom_core::observe::{Observation, Observations, PodStatsIndex, observe};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::rank::{Comparator, FsTopology, RankKind, rank};
use headroom_core::signal::{NodeCondition, Resource, Signal};
use headroom_core::summary::Summary;
use headroom_core::threshold::{
    Threshold, ThresholdValue, parse_percentage, parse_threshold_config, threshold_quantity,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// ParseThresholdConfig
// ---------------------------------------------------------------------------------------------

/// `"a<1,b<2"`-free notation: a list of `key=value` pairs.
fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct ParseCase {
    name: &'static str,
    enforce: &'static [&'static str],
    hard: &'static [(&'static str, &'static str)],
    soft: &'static [(&'static str, &'static str)],
    grace: &'static [(&'static str, &'static str)],
    reclaim: &'static [(&'static str, &'static str)],
    want: Result<Vec<Threshold>, &'static str>,
}

fn parse(case: &ParseCase) -> Result<Vec<Threshold>, String> {
    let enforce: Vec<String> = case.enforce.iter().map(|s| s.to_string()).collect();
    parse_threshold_config(
        &enforce,
        &kv(case.hard),
        &kv(case.soft),
        &kv(case.grace),
        &kv(case.reclaim),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn parse_threshold_config_table() {
    use Signal::*;
    let cases = vec![
        ParseCase {
            name: "nothing configured",
            enforce: &[],
            hard: &[],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Ok(vec![]),
        },
        ParseCase {
            name: "memory hard+soft, zero min-reclaim, pods enforced: one allocatable copy of the hard one",
            enforce: &["pods"],
            hard: &[("memory.available", "250Mi")],
            soft: &[("memory.available", "600Mi")],
            grace: &[("memory.available", "45s")],
            reclaim: &[("memory.available", "0")],
            want: Ok(vec![
                threshold(MemoryAvailable, qty("250Mi"), 0, Some(qty("0"))),
                threshold(MemoryAvailable, qty("600Mi"), 45, Some(qty("0"))),
                threshold(AllocatableMemoryAvailable, qty("250Mi"), 0, Some(qty("0"))),
            ]),
        },
        ParseCase {
            name: "memory percentages, no enforcement: no allocatable copy",
            enforce: &[],
            hard: &[("memory.available", "8%")],
            soft: &[("memory.available", "25%")],
            grace: &[("memory.available", "45s")],
            reclaim: &[("memory.available", "3%")],
            want: Ok(vec![
                threshold(MemoryAvailable, pct(8.0), 0, Some(pct(3.0))),
                threshold(MemoryAvailable, pct(25.0), 45, Some(pct(3.0))),
            ]),
        },
        ParseCase {
            name: "disk quantities",
            enforce: &[],
            hard: &[("imagefs.available", "2Gi"), ("nodefs.available", "1Gi")],
            soft: &[("imagefs.available", "4Gi"), ("nodefs.available", "3Gi")],
            grace: &[("imagefs.available", "2m"), ("nodefs.available", "90s")],
            reclaim: &[("imagefs.available", "5Gi"), ("nodefs.available", "500Mi")],
            want: Ok(vec![
                threshold(ImageFsAvailable, qty("2Gi"), 0, Some(qty("5Gi"))),
                threshold(NodeFsAvailable, qty("1Gi"), 0, Some(qty("500Mi"))),
                threshold(ImageFsAvailable, qty("4Gi"), 120, Some(qty("5Gi"))),
                threshold(NodeFsAvailable, qty("3Gi"), 90, Some(qty("500Mi"))),
            ]),
        },
        ParseCase {
            name: "disk percentages with fractions (f32 of the text / 100)",
            enforce: &["pods"],
            hard: &[("imagefs.available", "12%"), ("nodefs.available", "7.5%")],
            soft: &[("imagefs.available", "22%"), ("nodefs.available", "15.5%")],
            grace: &[("imagefs.available", "1m"), ("nodefs.available", "1m")],
            reclaim: &[("imagefs.available", "8%"), ("nodefs.available", "2.5%")],
            want: Ok(vec![
                threshold(ImageFsAvailable, pct(12.0), 0, Some(pct(8.0))),
                threshold(NodeFsAvailable, pct(7.5), 0, Some(pct(2.5))),
                threshold(ImageFsAvailable, pct(22.0), 60, Some(pct(8.0))),
                threshold(NodeFsAvailable, pct(15.5), 60, Some(pct(2.5))),
            ]),
        },
        ParseCase {
            name: "inode signals take plain quantities (even binary suffixes)",
            enforce: &[],
            hard: &[("imagefs.inodesFree", "64Ki"), ("nodefs.inodesFree", "5%")],
            soft: &[("imagefs.inodesFree", "128Ki"), ("nodefs.inodesFree", "10%")],
            grace: &[("imagefs.inodesFree", "30s"), ("nodefs.inodesFree", "30s")],
            reclaim: &[("imagefs.inodesFree", "1k"), ("nodefs.inodesFree", "1%")],
            want: Ok(vec![
                threshold(ImageFsInodesFree, qty("64Ki"), 0, Some(qty("1k"))),
                threshold(NodeFsInodesFree, pct(5.0), 0, Some(pct(1.0))),
                threshold(ImageFsInodesFree, qty("128Ki"), 30, Some(qty("1k"))),
                threshold(NodeFsInodesFree, pct(10.0), 30, Some(pct(1.0))),
            ]),
        },
        ParseCase {
            name: "pid and containerfs signals parse like any other",
            enforce: &[],
            hard: &[("pid.available", "500"), ("containerfs.available", "3%")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Ok(vec![
                threshold(PidAvailable, qty("500"), 0, None),
                threshold(ContainerFsAvailable, pct(3.0), 0, None),
            ]),
        },
        ParseCase {
            name: "0% and 100% switch a signal off (no threshold, no copy, no grace needed)",
            enforce: &["pods"],
            hard: &[("memory.available", "0%"), ("nodefs.available", "100%")],
            soft: &[("imagefs.available", "0%")],
            grace: &[],
            reclaim: &[],
            want: Ok(vec![]),
        },
        ParseCase {
            name: "only the exact texts 0% and 100% switch off: 0.0% and -0% are thresholds of 0",
            enforce: &[],
            hard: &[("memory.available", "0.0%"), ("nodefs.available", "-0%")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Ok(vec![
                threshold(MemoryAvailable, ThresholdValue::Percentage(0.0), 0, None),
                threshold(NodeFsAvailable, ThresholdValue::Percentage(-0.0), 0, None),
            ]),
        },
        ParseCase {
            name: "a grace period or min-reclaim without a threshold is accepted and unused",
            enforce: &[],
            hard: &[],
            soft: &[],
            grace: &[("nodefs.inodesFree", "10m")],
            reclaim: &[("pid.available", "100")],
            want: Ok(vec![]),
        },
        ParseCase {
            name: "soft memory alone is not copied to allocatable",
            enforce: &["pods", "system-reserved"],
            hard: &[],
            soft: &[("memory.available", "1Gi")],
            grace: &[("memory.available", "5m")],
            reclaim: &[],
            want: Ok(vec![threshold(MemoryAvailable, qty("1Gi"), 300, None)]),
        },
        ParseCase {
            name: "enforcement keys are matched exactly",
            enforce: &["Pods", "kube-reserved"],
            hard: &[("memory.available", "300Mi")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Ok(vec![threshold(MemoryAvailable, qty("300Mi"), 0, None)]),
        },
        ParseCase {
            name: "a percentage hard memory threshold is copied as a percentage",
            enforce: &["pods"],
            hard: &[("memory.available", "6%")],
            soft: &[],
            grace: &[],
            reclaim: &[("memory.available", "2%")],
            want: Ok(vec![
                threshold(MemoryAvailable, pct(6.0), 0, Some(pct(2.0))),
                threshold(AllocatableMemoryAvailable, pct(6.0), 0, Some(pct(2.0))),
            ]),
        },
        ParseCase {
            name: "unknown signal in evictionHard",
            enforce: &[],
            hard: &[("mem.available", "150Mi")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err("unsupported eviction signal mem.available"),
        },
        ParseCase {
            name: "a valid and an unknown signal",
            enforce: &[],
            hard: &[("memory.available", "150Mi"), ("disk.free", "1Gi")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err("unsupported eviction signal disk.free"),
        },
        ParseCase {
            name: "negative hard quantity",
            enforce: &[],
            hard: &[("memory.available", "-150Mi")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err("eviction threshold memory.available must be positive: -150Mi"),
        },
        ParseCase {
            name: "zero hard quantity",
            enforce: &[],
            hard: &[("nodefs.available", "0Gi")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err("eviction threshold nodefs.available must be positive: 0"),
        },
        ParseCase {
            name: "negative hard percentage",
            enforce: &[],
            hard: &[("memory.available", "-15%")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err("eviction percentage threshold memory.available must be >= 0%: -15%"),
        },
        ParseCase {
            name: "percentage above 100",
            enforce: &[],
            hard: &[],
            soft: &[("imagefs.available", "100.5%")],
            grace: &[("imagefs.available", "1m")],
            reclaim: &[],
            want: Err("eviction percentage threshold imagefs.available must be <= 100%: 100.5%"),
        },
        ParseCase {
            name: "negative soft quantity (reported before the missing grace period)",
            enforce: &[],
            hard: &[],
            soft: &[("memory.available", "-150Mi")],
            grace: &[],
            reclaim: &[],
            want: Err("eviction threshold memory.available must be positive: -150Mi"),
        },
        ParseCase {
            name: "soft threshold without a grace period",
            enforce: &[],
            hard: &[],
            soft: &[("nodefs.available", "2Gi")],
            grace: &[("imagefs.available", "1m")],
            reclaim: &[],
            want: Err("grace period must be specified for the soft eviction threshold nodefs.available"),
        },
        ParseCase {
            name: "negative grace period",
            enforce: &[],
            hard: &[],
            soft: &[("memory.available", "150Mi")],
            grace: &[("memory.available", "-30s")],
            reclaim: &[],
            want: Err("invalid eviction grace period specified: -30s, must be a positive value"),
        },
        ParseCase {
            name: "grace period that is not a Go duration",
            enforce: &[],
            hard: &[],
            soft: &[("memory.available", "150Mi")],
            grace: &[("memory.available", "soon")],
            reclaim: &[],
            want: Err(r#"time: invalid duration "soon""#),
        },
        ParseCase {
            name: "grace period for an unknown signal",
            enforce: &[],
            hard: &[],
            soft: &[],
            grace: &[("memory.free", "1m")],
            reclaim: &[],
            want: Err("unsupported eviction signal memory.free"),
        },
        ParseCase {
            name: "negative minimum reclaim",
            enforce: &[],
            hard: &[],
            soft: &[],
            grace: &[],
            reclaim: &[("memory.available", "-300Mi")],
            want: Err("negative eviction minimum reclaim specified for memory.available"),
        },
        ParseCase {
            name: "zero percent minimum reclaim",
            enforce: &[],
            hard: &[],
            soft: &[],
            grace: &[],
            reclaim: &[("nodefs.inodesFree", "0%")],
            want: Err("eviction percentage minimum reclaim nodefs.inodesFree must be positive: 0%"),
        },
        ParseCase {
            name: "quantity with an unknown suffix",
            enforce: &[],
            hard: &[("memory.available", "1Gb")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err("unable to parse quantity's suffix"),
        },
        ParseCase {
            name: "percentage that is not a number",
            enforce: &[],
            hard: &[("memory.available", "ten%")],
            soft: &[],
            grace: &[],
            reclaim: &[],
            want: Err(r#"strconv.ParseFloat: parsing "ten": invalid syntax"#),
        },
        ParseCase {
            name: "hard errors come before soft errors",
            enforce: &[],
            hard: &[("memory.available", "-1Mi")],
            soft: &[("bogus", "1Mi")],
            grace: &[],
            reclaim: &[],
            want: Err("eviction threshold memory.available must be positive: -1Mi"),
        },
        ParseCase {
            name: "min-reclaim errors come before a missing grace period",
            enforce: &[],
            hard: &[],
            soft: &[("memory.available", "1Gi")],
            grace: &[],
            reclaim: &[("memory.available", "-1")],
            want: Err("negative eviction minimum reclaim specified for memory.available"),
        },
    ];
    for case in &cases {
        let got = parse(case);
        let want = case.want.clone().map_err(str::to_string);
        assert_eq!(got, want, "case: {}", case.name);
    }
}

#[test]
fn repeated_flag_keys_keep_the_last_value() {
    // Upstream's old flag parser refused `memory.available<150Mi,memory.available<100Mi`.
    // Current kubelets receive maps (`--eviction-hard` is a map flag, later pairs overwrite
    // earlier ones), so a repeated key is no longer an error: the last value wins.
    let got = parse_threshold_config(
        &[],
        &kv(&[("memory.available", "150Mi"), ("memory.available", "100Mi")]),
        &[],
        &[],
        &kv(&[("memory.available", "-300Mi"), ("memory.available", "50Mi")]),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![threshold(
            Signal::MemoryAvailable,
            qty("100Mi"),
            0,
            Some(qty("50Mi"))
        )]
    );
}

#[test]
fn parsed_percentages_are_f32_text_over_100() {
    // The upstream table compares with float32 literals (0.105 for "10.5%"): the f32 division
    // of the parsed text by 100 lands exactly on them.
    let got = parse_threshold_config(
        &[],
        &kv(&[("nodefs.available", "10.5%"), ("imagefs.available", "15%")]),
        &[],
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(got[0].value, ThresholdValue::Percentage(0.105f32));
    assert_eq!(got[1].value, ThresholdValue::Percentage(0.15f32));
}

#[test]
fn parse_percentage_table() {
    // parsePercentage: every trailing % stripped, ParseFloat(_, 32), divided by 100 in float32.
    for (text, want) in [
        ("10%", 0.1f32),
        ("10.5%", 0.105),
        ("0%", 0.0),
        ("100%", 1.0),
        ("250%", 2.5),
        ("7%%", 0.07),
    ] {
        assert_eq!(parse_percentage(text).unwrap(), want, "{text}");
    }
    assert_eq!(
        parse_percentage("blah%").unwrap_err().to_string(),
        r#"strconv.ParseFloat: parsing "blah": invalid syntax"#
    );
    assert!(parse_percentage("1e40%").is_err(), "out of float32 range");
}

// ---------------------------------------------------------------------------------------------
// GetThresholdQuantity
// ---------------------------------------------------------------------------------------------

#[test]
fn threshold_quantity_table() {
    // (value, capacity bytes, bytes). Percentages go through float32 and then
    // int64(float64(capacity) * float64(pct)), so they are rarely round numbers.
    let cases: Vec<(ThresholdValue, i64, i64)> = vec![
        (qty("500Mi"), 10 << 30, 500 << 20),
        (qty("500Mi"), 0, 500 << 20),
        (pct(10.0), 1000 << 20, 104_857_601),
        (pct(0.5), 10 << 30, 53_687_090),
        (pct(7.5), 1 << 40, 82_463_375_360),
        (pct(33.3), 3_000_000_000, 999_000_012),
        (pct(5.0), 1_000_000, 50_000),
        (pct(5.0), 10 << 30, 536_870_920),
        (pct(99.9), 123_456_789, 123_333_333),
        (pct(10.0), 0, 0),
    ];
    for (value, capacity, want) in cases {
        let got = threshold_quantity(&value, &Quantity::bytes(capacity));
        assert_eq!(got.value(), want, "{value} of {capacity}");
    }
}

// ---------------------------------------------------------------------------------------------
// makeSignalObservations
// ---------------------------------------------------------------------------------------------

fn full_summary() -> Summary {
    serde_json::from_value(json!({
        "node": {
            "nodeName": "worker-7",
            "memory": {"time": "2026-03-01T10:00:00Z", "availableBytes": 3u64 << 30, "workingSetBytes": 5u64 << 30},
            "systemContainers": [
                {"name": "kubelet", "memory": {"availableBytes": 1, "workingSetBytes": 2}},
                {"name": "pods", "memory": {"time": "2026-03-01T10:00:01Z", "availableBytes": 2u64 << 30, "workingSetBytes": 4u64 << 30}}
            ],
            "fs": {"time": "2026-03-01T10:00:02Z", "availableBytes": 20_000, "capacityBytes": 80_000,
                   "inodesFree": 700, "inodes": 9000},
            "runtime": {
                "imageFs": {"time": "2026-03-01T10:00:03Z", "availableBytes": 11, "capacityBytes": 99,
                            "inodesFree": 12, "inodes": 98},
                "containerFs": {"time": "2026-03-01T10:00:04Z", "availableBytes": 13, "capacityBytes": 97,
                                "inodesFree": 14, "inodes": 96}
            },
            "rlimit": {"time": "2026-03-01T10:00:05Z", "maxpid": 4096, "curproc": 1000}
        },
        "pods": []
    }))
    .unwrap()
}

fn avail_cap(obs: &Observations, s: Signal) -> Option<(i64, i64)> {
    obs.get(s).map(|o| (o.available.value(), o.capacity.value()))
}

#[test]
fn signal_observations_for_every_signal() {
    let obs = observe(&full_summary());
    let cases = [
        // memory: capacity = available + working set.
        (Signal::MemoryAvailable, (3 << 30, 8 << 30)),
        // allocatable: the `pods` system container, same rule.
        (Signal::AllocatableMemoryAvailable, (2 << 30, 6 << 30)),
        (Signal::NodeFsAvailable, (20_000, 80_000)),
        (Signal::NodeFsInodesFree, (700, 9000)),
        (Signal::ImageFsAvailable, (11, 99)),
        (Signal::ImageFsInodesFree, (12, 98)),
        (Signal::ContainerFsAvailable, (13, 97)),
        (Signal::ContainerFsInodesFree, (14, 96)),
        // pid: maxpid - curproc of maxpid.
        (Signal::PidAvailable, (3096, 4096)),
    ];
    for (signal, want) in cases {
        assert_eq!(avail_cap(&obs, signal), Some(want), "{signal}");
    }
    // Each observation carries its own stats time.
    let t = |s| obs.get(s).unwrap().time.unwrap().to_string();
    assert_eq!(t(Signal::AllocatableMemoryAvailable), "2026-03-01T10:00:01Z");
    assert_eq!(t(Signal::ContainerFsInodesFree), "2026-03-01T10:00:04Z");
    assert_eq!(t(Signal::PidAvailable), "2026-03-01T10:00:05Z");
}

#[test]
fn signal_observations_need_both_halves() {
    // Each observation needs its available figure and its capacity (or working set) figure.
    let mut s: Value = serde_json::to_value(full_summary()).unwrap();
    s["node"]["memory"]["workingSetBytes"] = Value::Null;
    s["node"]["systemContainers"][1]["memory"]["availableBytes"] = Value::Null;
    s["node"]["fs"]["capacityBytes"] = Value::Null;
    s["node"]["runtime"]["imageFs"]["inodes"] = Value::Null;
    s["node"]["runtime"]["containerFs"] = Value::Null;
    s["node"]["rlimit"]["curproc"] = Value::Null;
    let obs = observe(&serde_json::from_value(s).unwrap());
    let seen: Vec<Signal> = obs.iter().map(|(s, _)| s).collect();
    assert_eq!(
        seen,
        vec![Signal::NodeFsInodesFree, Signal::ImageFsAvailable],
        "only the complete pairs are observed"
    );
}

#[test]
fn allocatable_needs_the_pods_system_container() {
    let mut s: Value = serde_json::to_value(full_summary()).unwrap();
    s["node"]["systemContainers"] =
        json!([{"name": "kubelet", "memory": {"availableBytes": 5, "workingSetBytes": 5}}]);
    s["node"]["runtime"] = Value::Null;
    s["node"]["rlimit"] = json!({"maxpid": 100, "curproc": 160});
    let obs = observe(&serde_json::from_value(s).unwrap());
    assert!(obs.get(Signal::AllocatableMemoryAvailable).is_none());
    assert!(obs.get(Signal::ImageFsAvailable).is_none());
    assert!(obs.get(Signal::ContainerFsInodesFree).is_none());
    // More processes than the limit: available goes negative, as int64 arithmetic does.
    assert_eq!(avail_cap(&obs, Signal::PidAvailable), Some((-60, 100)));
}

#[test]
fn pod_stats_by_uid_last_entry_wins() {
    // cachedStatsFunc fills a map from the Summary's pod list in order, so a UID listed twice
    // resolves to its last entry.
    let s: Summary = serde_json::from_value(json!({
        "node": {"nodeName": "n"},
        "pods": [
            {"podRef": {"name": "a", "namespace": "x", "uid": "dup"}, "memory": {"workingSetBytes": 1}},
            {"podRef": {"name": "b", "namespace": "x", "uid": "other"}},
            {"podRef": {"name": "a", "namespace": "x", "uid": "dup"}, "memory": {"workingSetBytes": 2}}
        ]
    }))
    .unwrap();
    let index = PodStatsIndex::new(&s);
    let ws = index
        .get("dup")
        .and_then(|p| p.memory.as_ref())
        .and_then(|m| m.working_set_bytes);
    assert_eq!(ws, Some(2));
    assert!(index.get("missing").is_none());
}

// ---------------------------------------------------------------------------------------------
// thresholdsMet (with and without min-reclaim)
// ---------------------------------------------------------------------------------------------

fn one_observation(signal: Signal, available: i64, capacity: i64) -> Observations {
    let mut obs = Observations::default();
    obs.set(
        signal,
        Observation {
            available: Quantity::bytes(available),
            capacity: Quantity::bytes(capacity),
            time: None,
        },
    );
    obs
}

#[test]
fn thresholds_met_table() {
    let m = MI as i64;
    // (threshold, available, capacity, enforce min-reclaim, met)
    let cases = [
        // quantity: strictly below.
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None),
            500 * m,
            8192 * m,
            false,
            true,
        ),
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None),
            1024 * m,
            8192 * m,
            false,
            false,
        ),
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None),
            1024 * m - 1,
            8192 * m,
            false,
            true,
        ),
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None),
            2048 * m,
            8192 * m,
            false,
            false,
        ),
        // min-reclaim only counts when asked for.
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, Some(qty("500Mi"))),
            1200 * m,
            8192 * m,
            false,
            false,
        ),
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, Some(qty("500Mi"))),
            1200 * m,
            8192 * m,
            true,
            true,
        ),
        (
            threshold(Signal::MemoryAvailable, qty("1Gi"), 0, Some(qty("500Mi"))),
            1524 * m,
            8192 * m,
            true,
            false,
        ),
        // percentages of capacity, for the value and the min-reclaim.
        (
            threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
            90 * m,
            1000 * m,
            false,
            true,
        ),
        (
            threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
            120 * m,
            1000 * m,
            false,
            false,
        ),
        (
            threshold(Signal::NodeFsAvailable, pct(10.0), 0, Some(pct(5.0))),
            120 * m,
            1000 * m,
            true,
            true,
        ),
        (
            threshold(Signal::NodeFsAvailable, pct(10.0), 0, Some(pct(5.0))),
            160 * m,
            1000 * m,
            true,
            false,
        ),
        // mixed: percentage value, quantity min-reclaim.
        (
            threshold(Signal::NodeFsAvailable, pct(10.0), 0, Some(qty("50Mi"))),
            140 * m,
            1000 * m,
            true,
            true,
        ),
        // exactly 100Mi available under "10%" of 1000Mi: met, because f32 10% is 104857601 bytes.
        (
            threshold(Signal::MemoryAvailable, pct(10.0), 0, None),
            100 * m,
            1000 * m,
            false,
            true,
        ),
        // soft thresholds are met the same way; grace is applied elsewhere.
        (
            threshold(Signal::MemoryAvailable, qty("2Gi"), 90, None),
            1024 * m,
            8192 * m,
            false,
            true,
        ),
    ];
    for (i, (t, available, capacity, enforce, want)) in cases.into_iter().enumerate() {
        let obs = one_observation(t.signal, available, capacity);
        assert_eq!(
            is_met(&t, &obs, enforce),
            want,
            "case {i}: {t:?} avail {available}"
        );
    }
    // No observation for the signal: never met.
    let t = threshold(Signal::ImageFsAvailable, qty("1Gi"), 0, None);
    assert!(!is_met(
        &t,
        &one_observation(Signal::NodeFsAvailable, 0, 10),
        false
    ));
}

// ---------------------------------------------------------------------------------------------
// thresholdsUpdatedStats
// ---------------------------------------------------------------------------------------------

#[test]
fn thresholds_updated_stats_table() {
    let obs_at = |time: Option<i64>| {
        let mut o = Observations::default();
        o.set(
            Signal::MemoryAvailable,
            Observation {
                available: Quantity::bytes(1),
                capacity: Quantity::bytes(2),
                time: time.map(at),
            },
        );
        o
    };
    let none = Observations::default();
    // (current, last, updated)
    let cases = [
        (obs_at(Some(10)), none, true),              // never observed before
        (obs_at(Some(10)), obs_at(Some(5)), true),   // newer stats
        (obs_at(Some(10)), obs_at(Some(10)), false), // same stats
        (obs_at(Some(5)), obs_at(Some(10)), false),  // older stats
        (obs_at(None), obs_at(Some(10)), true),      // zero time: always acted on
        (obs_at(Some(10)), obs_at(None), true),      // anything is after the zero time
        (none, obs_at(Some(10)), false),             // no observation now: dropped
    ];
    for (i, (current, last, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            stats_updated(Signal::MemoryAvailable, &current, &last),
            want,
            "case {i}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// mergeThresholds / hasThreshold / compareThresholdValue
// ---------------------------------------------------------------------------------------------

#[test]
fn merge_identity_ignores_min_reclaim_and_print_format() {
    let a = threshold(Signal::MemoryAvailable, qty("1Gi"), 0, Some(qty("100Mi")));
    let cases = [
        (threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None), true),
        (
            threshold(Signal::MemoryAvailable, qty("1024Mi"), 0, Some(qty("1Gi"))),
            true,
        ),
        (
            threshold(Signal::MemoryAvailable, qty("1073741824"), 0, None),
            true,
        ),
        (threshold(Signal::MemoryAvailable, qty("1Gi"), 30, None), false),
        (
            threshold(Signal::AllocatableMemoryAvailable, qty("1Gi"), 0, None),
            false,
        ),
        (threshold(Signal::MemoryAvailable, qty("1G"), 0, None), false),
        (threshold(Signal::MemoryAvailable, pct(10.0), 0, None), false),
    ];
    for (b, want) in cases {
        assert_eq!(same_threshold(&a, &b), want, "{b:?}");
    }
    // Percentages compare as float32.
    assert!(same_threshold(
        &threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
        &threshold(Signal::NodeFsAvailable, ThresholdValue::Percentage(0.1), 0, None),
    ));
    assert!(!same_threshold(
        &threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
        &threshold(Signal::NodeFsAvailable, pct(10.5), 0, None),
    ));
}

// ---------------------------------------------------------------------------------------------
// thresholdsMetGracePeriod, nodeConditionsObservedSince
// ---------------------------------------------------------------------------------------------

#[test]
fn grace_period_and_transition_period_boundaries() {
    let soft = threshold(Signal::MemoryAvailable, qty("1Gi"), 60, None);
    let hard = threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None);
    // Satisfied once now - firstObserved >= grace.
    assert!(!grace_satisfied(&soft, at(0), at(59)));
    assert!(grace_satisfied(&soft, at(0), at(60)));
    assert!(grace_satisfied(&soft, at(0), at(600)));
    assert!(grace_satisfied(&hard, at(0), at(0)));
    // A condition stays while now - lastObserved < period.
    let five_min = 300 * SEC;
    assert!(still_reported(at(0), at(0), five_min));
    assert!(still_reported(at(0), at(299), five_min));
    assert!(!still_reported(at(0), at(300), five_min));
    assert!(!still_reported(at(0), at(0), 0), "a zero period reports nothing");
}

// ---------------------------------------------------------------------------------------------
// thresholdsFirstObservedAt, nodeConditions, nodeConditionsLastObservedAt (through synchronize)
// ---------------------------------------------------------------------------------------------

/// Node memory and nodefs figures at one time (both stamped with that time).
fn node_summary(t: i64, mem_avail: u64, fs_avail: u64) -> Summary {
    serde_json::from_value(json!({
        "node": {
            "nodeName": "n",
            "memory": {"time": at(t).to_string(), "availableBytes": mem_avail, "workingSetBytes": 8 * GI - mem_avail},
            "fs": {"time": at(t).to_string(), "availableBytes": fs_avail, "capacityBytes": 100 * GI,
                   "inodesFree": fs_avail / 10_000, "inodes": 10_000_000}
        },
        "pods": []
    }))
    .unwrap()
}

#[test]
fn first_observed_kept_while_met_and_reset_after_a_miss() {
    let cfg = config(vec![
        threshold(Signal::MemoryAvailable, qty("1Gi"), 30, None),
        threshold(Signal::NodeFsAvailable, qty("10Gi"), 0, None),
    ]);
    let mut sim = Sim::new(cfg, vec![]);
    let first = |d: &headroom_core::manager::Decision, s: Signal| {
        d.thresholds_met
            .iter()
            .find(|m| m.threshold.signal == s)
            .map(|m| m.first_observed)
    };
    let d = sim.sync(at(0), &node_summary(0, 512 * MI, 50 * GI));
    assert_eq!(first(&d, Signal::MemoryAvailable), Some(at(0)));
    assert_eq!(first(&d, Signal::NodeFsAvailable), None);
    let d = sim.sync(at(10), &node_summary(10, 512 * MI, 5 * GI));
    assert_eq!(first(&d, Signal::MemoryAvailable), Some(at(0)), "kept while met");
    assert_eq!(
        first(&d, Signal::NodeFsAvailable),
        Some(at(10)),
        "new one starts now"
    );
    // Memory recovers for one sync: its first-observed time is forgotten.
    let d = sim.sync(at(20), &node_summary(20, 2 * GI, 5 * GI));
    assert_eq!(first(&d, Signal::MemoryAvailable), None);
    let d = sim.sync(at(30), &node_summary(30, 512 * MI, 5 * GI));
    assert_eq!(first(&d, Signal::MemoryAvailable), Some(at(30)));
    assert_eq!(first(&d, Signal::NodeFsAvailable), Some(at(10)));
    // The soft memory threshold needs 30 s from its new start.
    assert!(
        !d.thresholds_met
            .iter()
            .any(|m| m.threshold.signal == Signal::MemoryAvailable && m.grace_satisfied)
    );
    let d = sim.sync(at(60), &node_summary(60, 512 * MI, 5 * GI));
    assert!(
        d.thresholds_met
            .iter()
            .any(|m| m.threshold.signal == Signal::MemoryAvailable && m.grace_satisfied)
    );
}

#[test]
fn node_conditions_come_from_met_thresholds_and_linger() {
    let mut cfg = config(vec![
        // Soft with a long grace: the condition is set before the grace period passes.
        threshold(Signal::MemoryAvailable, qty("1Gi"), 600, None),
        threshold(Signal::NodeFsAvailable, qty("10Gi"), 0, None),
        // 5Gi free comes with 536870 free inodes, 50Gi with 5368709.
        threshold(Signal::NodeFsInodesFree, qty("1M"), 0, None),
    ]);
    cfg.pressure_transition_period_ns = 60 * SEC;
    let mut sim = Sim::new(cfg, vec![]);
    // Two disk thresholds met: DiskPressure is listed once.
    let d = sim.sync(at(0), &node_summary(0, 512 * MI, 5 * GI));
    assert_eq!(
        d.conditions,
        vec![NodeCondition::MemoryPressure, NodeCondition::DiskPressure]
    );
    // Everything recovers: conditions stay for the transition period (strictly less than it).
    let d = sim.sync(at(30), &node_summary(30, 4 * GI, 50 * GI));
    assert!(d.thresholds_met.is_empty());
    assert_eq!(
        d.conditions,
        vec![NodeCondition::MemoryPressure, NodeCondition::DiskPressure]
    );
    // Disk pressure again at 40: its last-observed time moves, memory's does not.
    let d = sim.sync(at(40), &node_summary(40, 4 * GI, 5 * GI));
    assert_eq!(
        d.conditions,
        vec![NodeCondition::MemoryPressure, NodeCondition::DiskPressure]
    );
    assert_eq!(
        sim.state.condition_last_observed(NodeCondition::MemoryPressure),
        Some(at(0))
    );
    assert_eq!(
        sim.state.condition_last_observed(NodeCondition::DiskPressure),
        Some(at(40))
    );
    let d = sim.sync(at(60), &node_summary(60, 4 * GI, 50 * GI));
    assert_eq!(
        d.conditions,
        vec![NodeCondition::DiskPressure],
        "memory: 60 s is not < 60 s"
    );
    let d = sim.sync(at(100), &node_summary(100, 4 * GI, 50 * GI));
    assert!(d.conditions.is_empty());
    assert_eq!(sim.state.node_conditions(), &[] as &[NodeCondition]);
}

#[test]
fn min_reclaim_holds_a_fired_threshold_once() {
    // A hard threshold that fired stays met until available >= value + minReclaim, and the
    // merged list holds it once (mergeThresholds drops the duplicate).
    let cfg = config(vec![threshold(
        Signal::NodeFsAvailable,
        qty("10Gi"),
        0,
        Some(qty("5Gi")),
    )]);
    let mut sim = Sim::new(cfg, vec![]);
    let d = sim.sync(at(0), &node_summary(0, 4 * GI, 9 * GI));
    assert_eq!(d.thresholds_met.len(), 1);
    assert!(!d.thresholds_met[0].held_by_min_reclaim);
    let d = sim.sync(at(10), &node_summary(10, 4 * GI, 12 * GI));
    assert_eq!(d.thresholds_met.len(), 1);
    assert!(d.thresholds_met[0].held_by_min_reclaim);
    assert_eq!(d.thresholds_met[0].first_observed, at(0));
    assert_eq!(d.conditions, vec![NodeCondition::DiskPressure]);
    let d = sim.sync(at(20), &node_summary(20, 4 * GI, 15 * GI));
    assert!(d.thresholds_met.is_empty(), "15Gi is not below 10Gi + 5Gi");
}

// ---------------------------------------------------------------------------------------------
// byEvictionPriority / getReclaimableThreshold
// ---------------------------------------------------------------------------------------------

#[test]
fn reclaim_order_puts_memory_first() {
    let mut list = vec![
        threshold(Signal::NodeFsAvailable, qty("1Gi"), 0, None),
        threshold(Signal::PidAvailable, qty("100"), 0, None),
        threshold(Signal::AllocatableMemoryAvailable, qty("1Gi"), 0, None),
        threshold(Signal::ImageFsInodesFree, qty("1k"), 0, None),
        threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None),
    ];
    order_for_reclaim(&mut list);
    let signals: Vec<Signal> = list.iter().map(|t| t.signal).collect();
    // Memory signals first (their relative order is random upstream; headroom puts
    // memory.available first, a documented choice), the rest keep their order.
    assert_eq!(
        signals,
        vec![
            Signal::MemoryAvailable,
            Signal::AllocatableMemoryAvailable,
            Signal::NodeFsAvailable,
            Signal::PidAvailable,
            Signal::ImageFsInodesFree,
        ]
    );
    assert_eq!(list[0].signal.resource(), Resource::Memory);
    assert_eq!(list[2].signal.resource(), Resource::EphemeralStorage);
    assert_eq!(list[3].signal.resource(), Resource::Pids);
    assert_eq!(list[4].signal.resource(), Resource::Inodes);
}

// ---------------------------------------------------------------------------------------------
// UpdateContainerFsThresholds
// ---------------------------------------------------------------------------------------------

fn disk_config() -> Vec<Threshold> {
    vec![
        threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None),
        threshold(Signal::NodeFsAvailable, qty("10Gi"), 0, Some(qty("1Gi"))),
        threshold(Signal::NodeFsAvailable, qty("20Gi"), 120, None),
        threshold(Signal::NodeFsInodesFree, pct(5.0), 0, None),
        threshold(Signal::NodeFsInodesFree, pct(10.0), 60, Some(pct(1.0))),
        threshold(Signal::ImageFsAvailable, qty("30Gi"), 0, None),
        threshold(Signal::ImageFsAvailable, qty("40Gi"), 300, Some(qty("2Gi"))),
        threshold(Signal::ImageFsInodesFree, pct(3.0), 0, None),
        threshold(Signal::ImageFsInodesFree, pct(6.0), 30, None),
    ]
}

fn containerfs_of(list: &[headroom_core::manager::TrackedThreshold]) -> Vec<Threshold> {
    list.iter()
        .map(|t| t.threshold.clone())
        .filter(|t| {
            matches!(
                t.signal,
                Signal::ContainerFsAvailable | Signal::ContainerFsInodesFree
            )
        })
        .collect()
}

fn retarget(t: &Threshold, signal: Signal) -> Threshold {
    Threshold { signal, ..t.clone() }
}

#[test]
fn containerfs_thresholds_follow_the_filesystem_layout() {
    let cfg = disk_config();
    let from_nodefs = vec![
        retarget(&cfg[1], Signal::ContainerFsAvailable),
        retarget(&cfg[2], Signal::ContainerFsAvailable),
        retarget(&cfg[3], Signal::ContainerFsInodesFree),
        retarget(&cfg[4], Signal::ContainerFsInodesFree),
    ];
    let from_imagefs = vec![
        retarget(&cfg[5], Signal::ContainerFsAvailable),
        retarget(&cfg[6], Signal::ContainerFsAvailable),
        retarget(&cfg[7], Signal::ContainerFsInodesFree),
        retarget(&cfg[8], Signal::ContainerFsInodesFree),
    ];
    // One filesystem: containers are on nodefs.
    let single = derive_containerfs(&cfg, FsTopology::default());
    assert_eq!(containerfs_of(&single), from_nodefs);
    // Images apart, containers with them: containerfs is imagefs.
    let dedicated = derive_containerfs(
        &cfg,
        FsTopology {
            dedicated_image_fs: true,
            split_container_fs: false,
        },
    );
    assert_eq!(containerfs_of(&dedicated), from_imagefs);
    // Images apart, containers on the root fs (KubeletSeparateDiskGC): containerfs is nodefs.
    let split = derive_containerfs(
        &cfg,
        FsTopology {
            dedicated_image_fs: true,
            split_container_fs: true,
        },
    );
    assert_eq!(containerfs_of(&split), from_nodefs);
    // The configured thresholds are all still there, in order.
    let rest: Vec<Threshold> = single
        .iter()
        .map(|t| t.threshold.clone())
        .filter(|t| {
            !matches!(
                t.signal,
                Signal::ContainerFsAvailable | Signal::ContainerFsInodesFree
            )
        })
        .collect();
    assert_eq!(rest, cfg);
}

#[test]
fn user_containerfs_thresholds_are_overridden() {
    // Upstream logs "found containerfs.available for hard eviction. ignoring" and replaces the
    // user's value with the nodefs/imagefs one; a missing source leaves nothing that can fire.
    let mut cfg = vec![
        threshold(Signal::ContainerFsAvailable, qty("1Ti"), 0, None),
        threshold(Signal::ContainerFsInodesFree, qty("1M"), 30, None),
        threshold(Signal::NodeFsAvailable, qty("10Gi"), 0, None),
    ];
    let derived = derive_containerfs(&cfg, FsTopology::default());
    assert_eq!(
        containerfs_of(&derived),
        vec![threshold(Signal::ContainerFsAvailable, qty("10Gi"), 0, None)]
    );
    // Overwritten in place: the entry keeps its position and identity.
    assert_eq!(derived[0].id, 0);
    assert_eq!(derived[0].threshold.value, qty("10Gi"));
    assert_eq!(
        derived.len(),
        2,
        "no soft/inode source: nothing appended, the inode entry gone"
    );
    cfg.truncate(2);
    assert!(containerfs_of(&derive_containerfs(&cfg, FsTopology::default())).is_empty());
}

#[test]
fn containerfs_apart_with_images_on_the_root_fs_changes_nothing() {
    // Neither of upstream's two cases applies when the container fs is separate from the
    // image fs but the image fs is the root fs: the thresholds are returned untouched (no
    // derived copies; a user's own containerfs thresholds stay as written).
    let cfg = vec![
        threshold(Signal::NodeFsAvailable, qty("10Gi"), 0, None),
        threshold(Signal::ContainerFsAvailable, qty("7Gi"), 0, None),
    ];
    let got = derive_containerfs(
        &cfg,
        FsTopology {
            dedicated_image_fs: false,
            split_container_fs: true,
        },
    );
    let got: Vec<Threshold> = got.into_iter().map(|t| t.threshold).collect();
    assert_eq!(got, cfg);
}

// ---------------------------------------------------------------------------------------------
// Ranking: orderedBy(exceedMemoryRequests, priority, memory), process, disk
// ---------------------------------------------------------------------------------------------

/// A pod with one container `main` and the given requests/limits (`{"memory": "1Gi"}`).
fn rpod(name: &str, priority: i32, requests: Value, limits: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "ns", "uid": name},
        "spec": {"priority": priority, "containers": [{"name": "main", "resources": {"requests": requests, "limits": limits}}],
                 "volumes": [{"name": "scratch", "emptyDir": {}}]}
    }))
    .unwrap()
}

fn mem_stats(name: &str, ws: u64) -> Value {
    json!({"podRef": {"name": name, "namespace": "ns", "uid": name},
           "memory": {"workingSetBytes": ws},
           "containers": [{"name": "main", "memory": {"workingSetBytes": ws}}]})
}

fn summary_of(pods: Vec<Value>) -> Summary {
    serde_json::from_value(json!({"node": {"nodeName": "n"}, "pods": pods})).unwrap()
}

fn order(kind: RankKind, pods: &[Pod], s: &Summary) -> Vec<String> {
    rank(kind, pods, &PodStatsIndex::new(s))
        .iter()
        .map(|r| pods[r.index].metadata.name.clone())
        .collect()
}

fn besteffort(name: &str, priority: i32) -> Pod {
    rpod(name, priority, json!({}), json!({}))
}

fn burstable(name: &str, priority: i32) -> Pod {
    rpod(
        name,
        priority,
        json!({"cpu": "100m", "memory": "100Mi"}),
        json!({"cpu": "200m", "memory": "1Gi"}),
    )
}

fn guaranteed(name: &str, priority: i32) -> Pod {
    rpod(
        name,
        priority,
        json!({"cpu": "100m", "memory": "1Gi"}),
        json!({"cpu": "100m", "memory": "1Gi"}),
    )
}

#[test]
fn memory_ranking_exceeds_request_then_priority_then_usage_over_request() {
    let pods = vec![
        guaranteed("g-under", 0),
        burstable("b-over-small", 0),
        besteffort("be-small", 0),
        burstable("b-under", 0),
        besteffort("be-big", 0),
        guaranteed("g-over", 0),
    ];
    let s = summary_of(vec![
        mem_stats("g-under", 600 * MI),      // -424Mi
        mem_stats("b-over-small", 150 * MI), // +50Mi
        mem_stats("be-small", 20 * MI),      // +20Mi
        mem_stats("b-under", 80 * MI),       // -20Mi
        mem_stats("be-big", 700 * MI),       // +700Mi
        mem_stats("g-over", 1100 * MI),      // +76Mi
    ]);
    assert_eq!(
        order(RankKind::Memory, &pods, &s),
        vec![
            "be-big",
            "g-over",
            "b-over-small",
            "be-small",
            "b-under",
            "g-under"
        ]
    );
}

#[test]
fn memory_ranking_priority_splits_pods_that_exceed_alike() {
    let pods = vec![
        besteffort("be-high", 10),
        burstable("b-low", -5),
        guaranteed("g-low-under", -5),
        besteffort("be-default", 0),
        burstable("b-high-under", 10),
    ];
    let s = summary_of(vec![
        mem_stats("be-high", 900 * MI),
        mem_stats("b-low", 200 * MI),
        mem_stats("g-low-under", 10 * MI),
        mem_stats("be-default", 5 * MI),
        mem_stats("b-high-under", 50 * MI),
    ]);
    // Exceeding: b-low (-5), be-default (0), be-high (10). Then not exceeding by priority.
    assert_eq!(
        order(RankKind::Memory, &pods, &s),
        vec!["b-low", "be-default", "be-high", "g-low-under", "b-high-under"]
    );
}

#[test]
fn besteffort_with_no_usage_does_not_exceed() {
    // usage > request is strict: a BestEffort pod using nothing does not exceed 0.
    let pods = vec![besteffort("idle", 0), burstable("over", 5)];
    let s = summary_of(vec![mem_stats("idle", 0), mem_stats("over", 101 * MI)]);
    assert_eq!(order(RankKind::Memory, &pods, &s), vec!["over", "idle"]);
}

#[test]
fn pods_without_stats_rank_first_in_stats_comparators() {
    // Memory: the missing-stats rule sits in exceedMemoryRequests, before priority.
    let pods = vec![
        besteffort("hungry", -10),
        guaranteed("no-stats", 100),
        burstable("also-none", 50),
    ];
    let s = summary_of(vec![mem_stats("hungry", 4 * GI)]);
    let ranked = rank(RankKind::Memory, &pods, &PodStatsIndex::new(&s));
    let names: Vec<&str> = ranked
        .iter()
        .map(|r| pods[r.index].metadata.name.as_str())
        .collect();
    // The two without stats tie in the stats steps and are split by priority.
    assert_eq!(names, vec!["also-none", "no-stats", "hungry"]);
    assert_eq!(ranked[1].before_next, Some(Comparator::MissingStats));
}

fn proc_stats(name: &str, count: u64) -> Value {
    json!({"podRef": {"name": name, "namespace": "ns", "uid": name}, "process_stats": {"process_count": count}})
}

#[test]
fn pid_ranking_priority_then_process_count() {
    let pods = vec![
        besteffort("few-low", -1),
        besteffort("many-high", 7),
        besteffort("many-low", -1),
        besteffort("none-default", 0),
        besteffort("some-default", 0),
    ];
    let s = summary_of(vec![
        proc_stats("few-low", 3),
        proc_stats("many-high", 900),
        proc_stats("many-low", 400),
        proc_stats("some-default", 12),
    ]);
    // Priority first (lowest first); within a priority more processes first, and a pod with no
    // stats goes before pods with stats.
    assert_eq!(
        order(RankKind::Pid, &pods, &s),
        vec!["many-low", "few-low", "none-default", "some-default", "many-high"]
    );
}

/// Disk stats: container rootfs + logs, and the `scratch` emptyDir, each with bytes and inodes.
fn disk_stats(name: &str, root: u64, logs: u64, volume: u64) -> Value {
    json!({"podRef": {"name": name, "namespace": "ns", "uid": name},
           "containers": [{"name": "main",
                           "rootfs": {"usedBytes": root * MI, "inodesUsed": root},
                           "logs": {"usedBytes": logs * MI, "inodesUsed": logs}}],
           "volume": [{"name": "scratch", "usedBytes": volume * MI, "inodesUsed": volume}]})
}

fn disk_pod(name: &str, priority: i32, storage_request: Option<&str>) -> Pod {
    let requests = storage_request.map_or(json!({}), |r| json!({"ephemeral-storage": r}));
    rpod(name, priority, requests, json!({}))
}

#[test]
fn disk_ranking_by_usage_over_ephemeral_storage_request() {
    let all = RankKind::for_signal(Signal::NodeFsAvailable, FsTopology::default());
    let pods = vec![
        disk_pod("small", 0, None),
        disk_pod("big-but-requested", 0, Some("1Gi")),
        disk_pod("medium", 0, None),
        disk_pod("low-prio-over", -3, Some("10Mi")),
    ];
    let s = summary_of(vec![
        disk_stats("small", 40, 10, 10),               // 60Mi, no request
        disk_stats("big-but-requested", 500, 100, 50), // 650Mi of 1Gi: not exceeding
        disk_stats("medium", 150, 100, 50),            // 300Mi, no request
        disk_stats("low-prio-over", 10, 5, 5),         // 20Mi of 10Mi
    ]);
    assert_eq!(
        order(all, &pods, &s),
        vec!["low-prio-over", "medium", "small", "big-but-requested"]
    );
}

#[test]
fn inode_ranking_exceeds_nothing_but_subtracts_the_storage_request() {
    // exceedDiskRequests asks for a request of `inodes` (never set, so 0); disk() subtracts
    // the ephemeral-storage request from the inode count. Both quirks are upstream's.
    let inodes = RankKind::for_signal(Signal::NodeFsInodesFree, FsTopology::default());
    let pods = vec![
        disk_pod("few-inodes", 0, None),
        disk_pod("many-inodes-big-request", 0, Some("1k")),
        disk_pod("mid-inodes", 0, None),
    ];
    let s = summary_of(vec![
        disk_stats("few-inodes", 10, 5, 5),               // 20 inodes
        disk_stats("many-inodes-big-request", 600, 0, 0), // 600 inodes - 1000 = -400
        disk_stats("mid-inodes", 100, 50, 50),            // 200 inodes
    ]);
    assert_eq!(
        order(inodes, &pods, &s),
        vec!["mid-inodes", "few-inodes", "many-inodes-big-request"]
    );
}

#[test]
fn disk_ranking_measures_per_layout() {
    // One pod heavy on rootfs, one on logs, one on its emptyDir.
    let pods = vec![
        disk_pod("rootfs-heavy", 0, None),
        disk_pod("logs-heavy", 0, None),
        disk_pod("volume-heavy", 0, None),
    ];
    let s = summary_of(vec![
        disk_stats("rootfs-heavy", 900, 1, 1),
        disk_stats("logs-heavy", 100, 500, 1),
        disk_stats("volume-heavy", 1, 1, 400),
    ]);
    let dedicated = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: false,
    };
    let split = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: true,
    };
    // No imagefs: everything counts.
    assert_eq!(
        order(
            RankKind::for_signal(Signal::NodeFsAvailable, FsTopology::default()),
            &pods,
            &s
        ),
        vec!["rootfs-heavy", "logs-heavy", "volume-heavy"]
    );
    // Dedicated imagefs: nodefs counts logs + volumes; imagefs/containerfs count rootfs.
    assert_eq!(
        order(
            RankKind::for_signal(Signal::NodeFsAvailable, dedicated),
            &pods,
            &s
        ),
        vec!["logs-heavy", "volume-heavy", "rootfs-heavy"]
    );
    assert_eq!(
        order(
            RankKind::for_signal(Signal::ContainerFsAvailable, dedicated),
            &pods,
            &s
        ),
        vec!["rootfs-heavy", "logs-heavy", "volume-heavy"]
    );
    // Split: nodefs and containerfs count logs + volumes + rootfs; imagefs counts images only,
    // which no pod stat carries, so nobody is charged and input order is kept.
    assert_eq!(
        order(
            RankKind::for_signal(Signal::ContainerFsAvailable, split),
            &pods,
            &s
        ),
        vec!["rootfs-heavy", "logs-heavy", "volume-heavy"]
    );
    assert_eq!(
        order(RankKind::for_signal(Signal::ImageFsAvailable, split), &pods, &s),
        vec!["rootfs-heavy", "logs-heavy", "volume-heavy"]
    );
}

// ---------------------------------------------------------------------------------------------
// evictionMessage
// ---------------------------------------------------------------------------------------------

fn message_pod(extra_spec: Value) -> Pod {
    let mut spec = json!({
        "containers": [
            {"name": "api", "resources": {"requests": {"memory": "200Mi", "ephemeral-storage": "100Mi"}}},
            {"name": "cache", "resources": {"requests": {"memory": "2Gi"}}},
            {"name": "shipper"}
        ],
        "initContainers": [{"name": "warmup", "resources": {"requests": {"memory": "10Mi"}}}],
        "ephemeralContainers": [{"name": "debug"}]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(
        json!({"metadata": {"name": "checkout", "namespace": "shop", "uid": "c-1"}, "spec": spec}),
    )
    .unwrap()
}

fn message_stats() -> headroom_core::summary::PodStats {
    serde_json::from_value(json!({
        "podRef": {"name": "checkout", "namespace": "shop", "uid": "c-1"},
        "memory": {"workingSetBytes": 1536u64 * MI},
        "containers": [
            {"name": "shipper", "memory": {"workingSetBytes": 300u64 * MI},
             "rootfs": {"usedBytes": 10u64 * MI}, "logs": {"usedBytes": 5u64 * MI}},
            {"name": "api", "memory": {"workingSetBytes": 900u64 * MI},
             "rootfs": {"usedBytes": 150u64 * MI}, "logs": {"usedBytes": 50u64 * MI}},
            {"name": "cache", "memory": {"workingSetBytes": 1000u64 * MI},
             "rootfs": {"usedBytes": MI}},
            {"name": "warmup", "memory": {"workingSetBytes": 11u64 * MI}},
            {"name": "debug", "memory": {"workingSetBytes": 999u64 * MI}}
        ]
    }))
    .unwrap()
}

#[test]
fn eviction_message_memory_text_and_annotations() {
    let pod = message_pod(json!({}));
    let met = ThresholdMet {
        quantity: Quantity::parse("500Mi").unwrap(),
        available: Quantity::bytes(400 * MI as i64),
    };
    let (msg, ann) = eviction_message(Resource::Memory, &pod, Some(&message_stats()), Some(met));
    // Container lines follow the Summary's container order; init containers count, ephemeral
    // containers (not in containers/initContainers) never do.
    assert_eq!(
        msg,
        "The node was low on resource: memory. Threshold quantity: 500Mi, available: 400Mi. \
         Container shipper was using 300Mi, request is 0, has larger consumption of memory. \
         Container api was using 900Mi, request is 200Mi, has larger consumption of memory. \
         Container warmup was using 11Mi, request is 10Mi, has larger consumption of memory. "
    );
    assert_eq!(ann["offending_containers"], "shipper,api,warmup");
    assert_eq!(ann["offending_containers_usage"], "300Mi,900Mi,11Mi");
    assert_eq!(ann["starved_resource"], "memory");
    assert!(!ann.contains_key("offending_pod"));
}

#[test]
fn eviction_message_ephemeral_storage_needs_rootfs_and_logs() {
    let pod = message_pod(json!({}));
    let (msg, ann) = eviction_message(Resource::EphemeralStorage, &pod, Some(&message_stats()), None);
    // cache has no logs stats: no usage, no line. No threshold part without an observation.
    assert_eq!(
        msg,
        "The node was low on resource: ephemeral-storage. \
         Container shipper was using 15Mi, request is 0, has larger consumption of ephemeral-storage. \
         Container api was using 200Mi, request is 100Mi, has larger consumption of ephemeral-storage. "
    );
    assert_eq!(ann["offending_containers"], "shipper,api");
    assert_eq!(ann["offending_containers_usage"], "15Mi,200Mi");
    assert_eq!(ann["starved_resource"], "ephemeral-storage");
}

#[test]
fn eviction_message_inodes_and_pids_have_no_container_lines() {
    let pod = message_pod(json!({}));
    for resource in [Resource::Inodes, Resource::Pids] {
        let (msg, ann) = eviction_message(resource, &pod, Some(&message_stats()), None);
        assert_eq!(msg, format!("The node was low on resource: {resource}. "));
        assert_eq!(ann["offending_containers"], "");
        assert_eq!(ann["offending_containers_usage"], "");
        assert_eq!(ann["starved_resource"], resource.as_str());
    }
}

#[test]
fn eviction_message_without_pod_stats_has_no_annotations() {
    let pod = message_pod(json!({}));
    let met = ThresholdMet {
        quantity: Quantity::parse("1Gi").unwrap(),
        available: Quantity::bytes(1000),
    };
    let (msg, ann) = eviction_message(Resource::Memory, &pod, None, Some(met));
    assert_eq!(
        msg,
        "The node was low on resource: memory. Threshold quantity: 1Gi, available: 1k. "
    );
    assert!(ann.is_empty());
}

#[test]
fn eviction_message_pod_level_line_whenever_a_pod_memory_request_is_set() {
    // The pod line is written whether or not the pod is over its pod-level request.
    let pod = message_pod(json!({"resources": {"requests": {"memory": "3Gi"}, "limits": {"memory": "4Gi"}}}));
    let (msg, ann) = eviction_message(Resource::Memory, &pod, Some(&message_stats()), None);
    assert!(
        msg.starts_with(
            "The node was low on resource: memory. \
             Pod checkout was using 1536Mi, request is 3Gi, has larger consumption of memory. \
             Container shipper was using 300Mi"
        ),
        "{msg}"
    );
    assert_eq!(ann["offending_pod"], "checkout");
    assert_eq!(ann["offending_pod_usage"], "1536Mi");
    // Not for other resources.
    let (msg, ann) = eviction_message(Resource::EphemeralStorage, &pod, Some(&message_stats()), None);
    assert!(!msg.contains("Pod checkout"), "{msg}");
    assert!(!ann.contains_key("offending_pod"));
}

// ---------------------------------------------------------------------------------------------
// Local-storage limits (emptyDir sizeLimit, pod and container ephemeral-storage limits)
// ---------------------------------------------------------------------------------------------

fn storage_pod(volumes: Value, containers: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "ns", "uid": "p"},
        "spec": {"containers": containers, "volumes": volumes}
    }))
    .unwrap()
}

fn storage_stats(total: u64, containers: Value, volumes: Value) -> headroom_core::summary::PodStats {
    serde_json::from_value(json!({
        "podRef": {"name": "p", "namespace": "ns", "uid": "p"},
        "ephemeral-storage": {"usedBytes": total},
        "containers": containers,
        "volume": volumes
    }))
    .unwrap()
}

#[test]
fn local_storage_limits_table() {
    let plain = json!([{"name": "c1"}, {"name": "c2"}]);
    let limited = json!([
        {"name": "c1", "resources": {"limits": {"ephemeral-storage": "100Mi"}}},
        {"name": "c2", "resources": {"limits": {"ephemeral-storage": "50Mi"}}}
    ]);
    let small_containers = json!([
        {"name": "c1", "rootfs": {"usedBytes": 10 * MI}, "logs": {"usedBytes": 10 * MI}},
        {"name": "c2", "rootfs": {"usedBytes": 10 * MI}, "logs": {"usedBytes": 10 * MI}}
    ]);
    let c2_rootfs_heavy = json!([
        {"name": "c1", "rootfs": {"usedBytes": 10 * MI}, "logs": {"usedBytes": 10 * MI}},
        {"name": "c2", "rootfs": {"usedBytes": 45 * MI}, "logs": {"usedBytes": 10 * MI}}
    ]);
    let sized = json!([{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, {"name": "open", "emptyDir": {}}]);
    let cases: Vec<(
        &str,
        Pod,
        headroom_core::summary::PodStats,
        bool,
        Option<StorageLimit>,
    )> = vec![
        (
            "emptyDir over its sizeLimit",
            storage_pod(sized.clone(), plain.clone()),
            storage_stats(
                0,
                small_containers.clone(),
                json!([{"name": "tmp", "usedBytes": 65 * MI}]),
            ),
            false,
            Some(StorageLimit::EmptyDir {
                volume: "tmp".into(),
                limit: Quantity::parse("64Mi").unwrap(),
            }),
        ),
        (
            "emptyDir exactly at its sizeLimit",
            storage_pod(sized.clone(), plain.clone()),
            storage_stats(
                0,
                small_containers.clone(),
                json!([{"name": "tmp", "usedBytes": 64 * MI}]),
            ),
            false,
            None,
        ),
        (
            "pod total over the sum of container limits",
            storage_pod(json!([]), limited.clone()),
            storage_stats(151 * MI, small_containers.clone(), json!([])),
            false,
            Some(StorageLimit::Pod {
                limit: Quantity::parse("150Mi").unwrap(),
            }),
        ),
        (
            "one container over its own limit (rootfs counts without an imagefs)",
            storage_pod(json!([]), limited.clone()),
            storage_stats(80 * MI, c2_rootfs_heavy.clone(), json!([])),
            false,
            Some(StorageLimit::Container {
                container: "c2".into(),
                limit: Quantity::parse("50Mi").unwrap(),
            }),
        ),
        (
            "with a dedicated imagefs only logs count against the container limit",
            storage_pod(json!([]), limited.clone()),
            storage_stats(80 * MI, c2_rootfs_heavy.clone(), json!([])),
            true,
            None,
        ),
        (
            "a volume listed twice in the stats: its last entry counts",
            storage_pod(sized.clone(), plain.clone()),
            storage_stats(
                0,
                small_containers.clone(),
                json!([{"name": "tmp", "usedBytes": 99 * MI}, {"name": "tmp", "usedBytes": MI}]),
            ),
            false,
            None,
        ),
        (
            "no limits: nothing to enforce",
            storage_pod(json!([]), plain.clone()),
            storage_stats(10 * GI, c2_rootfs_heavy.clone(), json!([])),
            false,
            None,
        ),
    ];
    for (name, pod, stats, dedicated, want) in cases {
        let got = local_storage::broken_limit(&pod, &stats, dedicated);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn local_storage_messages() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    assert_eq!(
        local_storage::message(&StorageLimit::EmptyDir {
            volume: "tmp".into(),
            limit: q("64Mi")
        }),
        r#"Usage of EmptyDir volume "tmp" exceeds the limit "64Mi". "#
    );
    assert_eq!(
        local_storage::message(&StorageLimit::Pod { limit: q("150Mi") }),
        "Pod ephemeral local storage usage exceeds the total limit of containers 150Mi. "
    );
    assert_eq!(
        local_storage::message(&StorageLimit::Container {
            container: "c2".into(),
            limit: q("50Mi")
        }),
        r#"Container c2 exceeded its local ephemeral storage limit "50Mi". "#
    );
}
