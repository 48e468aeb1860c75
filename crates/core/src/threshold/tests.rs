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
