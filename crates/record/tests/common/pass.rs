//! Appending a test pass: `readings` at `second` seconds past a fixed epoch, no pods, an
//! empty decision, full (not light).
#![allow(dead_code, clippy::unwrap_used)]

use headroom_core::Timestamp;
use headroom_record::model::{DecisionRecord, Readings, Wake};
use headroom_record::store::{NewPass, Store};

pub fn append(store: &mut Store, second: i64, woken_by: &[Wake], readings: &Readings) {
    store
        .append(NewPass {
            time: Timestamp::from_second(1_800_000_000 + second).unwrap(),
            trigger: if woken_by.is_empty() {
                "period"
            } else {
                "notification"
            },
            woken_by,
            light: false,
            readings: &serde_json::to_value(readings).unwrap(),
            pods: &[],
            decision: &DecisionRecord::default(),
        })
        .unwrap();
}
