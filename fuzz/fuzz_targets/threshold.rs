//! Lines of `map|key|value` feed the four eviction maps; parsing must not panic, and every
//! parsed threshold value must print to text that parses back to the same value.
#![no_main]

use headroom_core::quantity::Quantity;
use headroom_core::threshold::{
    ThresholdValue, format_threshold_value, parse_threshold_config, parse_threshold_value, threshold_quantity,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut maps: [Vec<(String, String)>; 4] = Default::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, '|');
        let (Some(which), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let idx = which.bytes().next().map_or(0, |b| usize::from(b % 4));
        maps[idx].push((key.to_string(), value.to_string()));
    }
    let enforce = if text.len() % 2 == 0 { vec!["pods".to_string()] } else { vec![] };
    let Ok(thresholds) = parse_threshold_config(&enforce, &maps[0], &maps[1], &maps[2], &maps[3]) else {
        return;
    };
    for t in &thresholds {
        let printed = format_threshold_value(&t.value);
        match parse_threshold_value(t.signal, &printed) {
            Ok(Some(back)) => assert_eq!(back, t.value, "{printed}"),
            Ok(None) => assert!(printed == "0%" || printed == "100%"),
            Err(e) => panic!("{:?} printed as {printed:?} does not parse back: {e}", t.value),
        }
        for cap in [0i64, 1, 1 << 30, i64::MAX] {
            let _ = threshold_quantity(&t.value, &Quantity::bytes(cap));
            if let Some(m @ ThresholdValue::Percentage(_)) = t.min_reclaim {
                let _ = threshold_quantity(&m, &Quantity::bytes(cap));
            }
        }
    }
});
