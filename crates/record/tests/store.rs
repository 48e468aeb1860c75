//! The store on its own: passes round-trip through delta chains, retention by age and by size
//! drops only whole chains (every kept pass still decodes), a resumed recording starts a new
//! chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_core::Timestamp;
use headroom_record::model::{DecisionRecord, Readings};
use headroom_record::store::{NewPass, RecordingMeta, Retention, Store};

/// Readings whose node name carries `noise` bytes of incompressible text (a stand-in for
/// figures that change at every pass).
fn readings(k: u64, noise: usize, seed: &mut u64) -> serde_json::Value {
    let mut r = Readings::default();
    let mut name = format!("node-{k}-");
    for _ in 0..noise / 16 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        name.push_str(&format!("{:016x}", *seed));
    }
    r.summary.node.node_name = name;
    serde_json::to_value(r).unwrap()
}

fn append(store: &mut Store, t: Timestamp, k: u64, light: bool, noise: usize, seed: &mut u64) {
    store
        .append(NewPass {
            time: t,
            trigger: "period",
            woken_by: &[],
            light,
            readings: &readings(k, noise, seed),
            pods: &[],
            decision: &DecisionRecord::default(),
        })
        .unwrap();
}

fn meta() -> RecordingMeta {
    RecordingMeta {
        source: "test".into(),
        ..Default::default()
    }
}

#[test]
fn passes_round_trip_through_both_chains_and_a_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let mut seed = 7;
    {
        let mut s = Store::open_for_writing(tmp.path(), &meta()).unwrap();
        for k in 0..150 {
            let t = t0 + jiff::SignedDuration::from_secs(10 * k as i64);
            append(&mut s, t, k, k % 3 != 0, 64, &mut seed);
        }
    }
    {
        // Resumed: a new key pass, the old chains untouched.
        let mut s = Store::open_for_writing(tmp.path(), &meta()).unwrap();
        append(
            &mut s,
            t0 + jiff::SignedDuration::from_secs(5000),
            150,
            false,
            64,
            &mut seed,
        );
    }
    let s = Store::open(tmp.path()).unwrap();
    let passes = s.passes(None, None).unwrap();
    assert_eq!(passes.len(), 151);
    for (k, p) in passes.iter().enumerate() {
        assert!(
            p.readings
                .summary
                .node
                .node_name
                .starts_with(&format!("node-{k}-")),
            "pass {k}: {}",
            p.readings.summary.node.node_name
        );
        assert_eq!(p.light, k % 3 != 0 && k < 150);
    }
    // A range in the middle of a chain decodes from the chain's key pass.
    let from = t0 + jiff::SignedDuration::from_secs(10 * 100);
    let to = t0 + jiff::SignedDuration::from_secs(10 * 110);
    let mid = s.passes(Some(from), Some(to)).unwrap();
    assert_eq!(mid.len(), 11);
    assert!(mid[0].readings.summary.node.node_name.starts_with("node-100-"));
}

#[test]
fn retention_by_age_keeps_whole_recent_chains() {
    let tmp = tempfile::tempdir().unwrap();
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let mut seed = 11;
    let mut s = Store::open_for_writing(tmp.path(), &meta()).unwrap();
    // 3 days, one pass every 10 minutes (432 passes, chains of 60).
    let n = 3 * 24 * 6;
    for k in 0..n {
        append(
            &mut s,
            t0 + jiff::SignedDuration::from_mins(10 * k as i64),
            k,
            false,
            32,
            &mut seed,
        );
    }
    let last = t0 + jiff::SignedDuration::from_mins(10 * (n as i64 - 1));
    let dropped = s.enforce(Retention::default(), last).unwrap();
    assert!(dropped > 0);
    let kept = s.passes(None, None).unwrap();
    assert_eq!(kept.len() as u64 + dropped, n);
    let day_ago = last - jiff::SignedDuration::from_hours(24);
    // Everything of the last day is there; nothing older than a day plus one chain.
    assert!(kept.iter().filter(|p| p.time >= day_ago).count() >= 24 * 6);
    assert!(kept[0].time >= day_ago - jiff::SignedDuration::from_mins(10 * 60));
}

#[test]
fn retention_by_size_bounds_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let mut seed = 13;
    let mut s = Store::open_for_writing(tmp.path(), &meta()).unwrap();
    let retention = Retention {
        max_bytes: 1 << 20,
        max_age: Duration::from_secs(365 * 24 * 3600),
    };
    // ~4 KiB of incompressible change per pass, 1,000 passes: about 4 MiB unbounded.
    for k in 0..1000 {
        let t = t0 + jiff::SignedDuration::from_secs(10 * k as i64);
        append(&mut s, t, k, false, 4096, &mut seed);
        if k % 30 == 29 {
            s.enforce(retention, t).unwrap();
        }
    }
    s.enforce(retention, t0 + jiff::SignedDuration::from_secs(10_000))
        .unwrap();
    assert!(s.live_bytes().unwrap() <= 1 << 20, "{}", s.live_bytes().unwrap());
    let db = std::fs::metadata(tmp.path().join("recording.sqlite"))
        .unwrap()
        .len();
    assert!(db <= 3 << 19, "the database file is {db} bytes");
    let kept = s.passes(None, None).unwrap();
    assert!(!kept.is_empty());
    // The newest passes are the ones kept, in order, every one decodable.
    assert!(
        kept.last()
            .unwrap()
            .readings
            .summary
            .node
            .node_name
            .starts_with("node-999-")
    );
    assert!(kept.windows(2).all(|w| w[0].id < w[1].id));
}
