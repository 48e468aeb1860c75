//! Replay rebuilds only the pods whose stored leaves moved and copies the others, moved to
//! the new pass time: property test that what is read back is exactly the Summary that was
//! recorded, pass after pass, over random moves (idle and busy pods, pods that come and go,
//! pass times on and off whole seconds, times equal to a pass time in odd places), whole
//! recordings and ranges that start inside a chain, in schema 3 and in schema 2; handed on by
//! value and lent (nothing copied), with light passes lent the pods before them or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_core::Timestamp;
use headroom_core::summary::{ContainerStats, MemoryStats, PodReference, PodStats, Summary, SwapStats};
use headroom_record::model::{DecisionRecord, Readings};
use headroom_record::pass_time::{PassTexts, mark};
use headroom_record::store::{DB_FILE, NewPass, RecordingMeta, Samples, Store, WalkOptions};
use proptest::prelude::*;

/// One pass to record: which pods are there, which move, when it is.
#[derive(Clone, Debug)]
struct Step {
    /// Nanoseconds past the previous pass's second (0: a whole second).
    nanos: u32,
    /// Seconds since the previous pass.
    gap: i64,
    /// Per pod slot: 0 idle, 1 busy, 2 absent (gone or not yet there).
    pods: Vec<u8>,
    light: bool,
    /// A light pass also read its pods (the agent's light passes do not).
    light_pods: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![Just(0u32), 1u32..1_000_000_000],
        1i64..12,
        proptest::collection::vec(prop_oneof![6 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)], 4),
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(nanos, gap, pods, light, light_pods)| Step {
            nanos,
            gap,
            pods,
            light,
            light_pods,
        })
}

fn memory(time: Timestamp, v: u64) -> MemoryStats {
    MemoryStats {
        time: Some(time),
        usage_bytes: Some(v * 4096),
        working_set_bytes: Some(v * 2048),
        rss_bytes: Some(v),
        page_faults: Some(v * 3),
        ..Default::default()
    }
}

/// The Summary of a pass: stats times in whole seconds (as the collector stamps them), a
/// start time that is sometimes the pass time itself, one that is an old whole second.
fn summary(t: Timestamp, k: usize, figures: &[u64], present: &[bool]) -> Summary {
    let second = headroom_linux::collection::creation::whole_seconds(t);
    let mut s = Summary::default();
    s.node.node_name = "n".into();
    s.node.memory = Some(memory(second, k as u64));
    for (p, (&v, _)) in figures
        .iter()
        .zip(present)
        .enumerate()
        .filter(|(_, (_, here))| **here)
    {
        let start = if p == 3 {
            Some(t)
        } else {
            Some(Timestamp::from_second(1_700_000_000 + p as i64).unwrap())
        };
        s.pods.push(PodStats {
            pod_ref: PodReference {
                name: format!("pod-{p}"),
                namespace: "ns".into(),
                uid: format!("uid-{p}"),
            },
            start_time: start,
            containers: (0..2)
                .map(|c| ContainerStats {
                    name: format!("c{c}"),
                    start_time: Some(second),
                    memory: Some(memory(second, v + c)),
                    swap: Some(SwapStats {
                        time: Some(second),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            memory: Some(memory(second, v)),
            cpu: (p == 1).then(|| Box::new(serde_json::json!({"time": t.to_string(), "n": v}))),
            ..Default::default()
        });
    }
    s
}

/// Record `steps` (marking as the recorder does), return each pass's time and Summary.
fn record(dir: &std::path::Path, schema: i64, steps: &[Step]) -> Vec<(Timestamp, Summary)> {
    record_light(dir, schema, steps)
        .into_iter()
        .map(|(t, s, _)| (t, s))
        .collect()
}

/// [`record`], with whether each pass was light.
fn record_light(dir: &std::path::Path, schema: i64, steps: &[Step]) -> Vec<(Timestamp, Summary, bool)> {
    let meta = RecordingMeta {
        source: "test".into(),
        ..Default::default()
    };
    if schema != headroom_record::store::SCHEMA_VERSION {
        // A recording created by an older headroom: resumed in its own schema.
        drop(Store::open_for_writing(dir, &meta).unwrap());
        rusqlite::Connection::open(dir.join(DB_FILE))
            .unwrap()
            .execute(
                "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                [schema.to_string()],
            )
            .unwrap();
    }
    let mut store = Store::open_for_writing(dir, &meta).unwrap();
    assert_eq!(store.schema(), schema);
    let mut second = 1_800_000_000i64;
    let mut figures = vec![100u64; 4];
    let mut out = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        second += s.gap;
        let t = Timestamp::new(second, s.nanos as i32).unwrap();
        for (f, &p) in figures.iter_mut().zip(&s.pods) {
            if p == 1 {
                *f += 1 + k as u64;
            }
        }
        let read_pods = !s.light || s.light_pods;
        let present: Vec<bool> = s.pods.iter().map(|&p| p != 2 && read_pods).collect();
        let summary = summary(t, k, &figures, &present);
        let readings = Readings {
            summary: summary.clone(),
            ..Default::default()
        };
        let mut value = serde_json::to_value(&readings).unwrap();
        mark(&mut value, &PassTexts::new(t, store.marks_seconds()));
        store
            .append(NewPass {
                time: t,
                trigger: "period",
                woken_by: &[],
                light: s.light,
                readings: &value,
                pods: &[],
                decision: &DecisionRecord::default(),
            })
            .unwrap();
        out.push((t, summary, s.light));
    }
    out
}

fn read(dir: &std::path::Path, from: Option<Timestamp>) -> Vec<(Timestamp, Summary)> {
    let store = Store::open(dir).unwrap();
    let mut out = Vec::new();
    store
        .for_each_summary(from, None, |p| {
            out.push((p.time, p.readings.summary));
            Ok(())
        })
        .unwrap();
    out
}

/// Read back lent (nothing copied), each pass's Summary copied out by the test.
fn read_lent(dir: &std::path::Path, from: Option<Timestamp>, fill_light: bool) -> Vec<(Timestamp, Summary)> {
    let store = Store::open(dir).unwrap();
    let mut out = Vec::new();
    let how = WalkOptions {
        samples: Samples::Skip,
        fill_light,
    };
    store
        .lend_each_pass(from, None, how, |p| {
            out.push((p.time, p.readings.summary.clone()));
            Ok(())
        })
        .unwrap();
    out
}

/// What a walk that fills light passes hands on: a light pass without pods has the pods of
/// the pass before it (as read then), whether that pass had its own or was lent them.
fn filled(recorded: &[(Timestamp, Summary, bool)]) -> Vec<(Timestamp, Summary)> {
    let mut last = Vec::new();
    recorded
        .iter()
        .map(|(t, s, light)| {
            let mut s = s.clone();
            if *light && s.pods.is_empty() {
                s.pods = last.clone();
            }
            last = s.pods.clone();
            (*t, s)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn what_is_read_back_is_what_was_recorded(
        steps in proptest::collection::vec(step(), 1..90),
        from in 0usize..90,
        schema in prop_oneof![Just(3i64), Just(2i64)],
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let recorded = record(tmp.path(), schema, &steps);
        let all = read(tmp.path(), None);
        prop_assert_eq!(&all, &recorded);
        // A range that starts inside a chain: the passes before it are decoded, not read.
        let from = from.min(recorded.len() - 1);
        let part = read(tmp.path(), Some(recorded[from].0));
        prop_assert_eq!(&part[..], &recorded[from..]);
    }

    #[test]
    fn lent_passes_are_what_was_recorded_and_light_passes_are_filled(
        steps in proptest::collection::vec(step(), 1..90),
        from in 0usize..90,
        schema in prop_oneof![Just(3i64), Just(2i64)],
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let recorded = record_light(tmp.path(), schema, &steps);
        let plain: Vec<_> = recorded.iter().map(|(t, s, _)| (*t, s.clone())).collect();
        prop_assert_eq!(&read_lent(tmp.path(), None, false), &plain);
        prop_assert_eq!(&read_lent(tmp.path(), None, true), &filled(&recorded));
        let from = from.min(recorded.len() - 1);
        let start = Some(recorded[from].0);
        prop_assert_eq!(&read_lent(tmp.path(), start, false)[..], &plain[from..]);
        prop_assert_eq!(&read_lent(tmp.path(), start, true), &filled(&recorded[from..]));
    }
}

/// A long recording at rest (a full pass in 6, light passes between, without pods): more
/// chains than a reader keeps (finished chains are let go), read back whole, lent and filled,
/// and from inside a chain.
#[test]
fn a_long_recording_at_rest_reads_back_whole() {
    let steps: Vec<Step> = (0..1500)
        .map(|k| Step {
            nanos: if k % 7 == 0 { 0 } else { 1000 * k as u32 },
            gap: 10,
            pods: vec![u8::from(k % 3 == 0), 0, u8::from(k % 5 == 0), 0],
            light: k % 6 != 0,
            light_pods: false,
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let recorded = record_light(tmp.path(), headroom_record::store::SCHEMA_VERSION, &steps);
    let plain: Vec<_> = recorded.iter().map(|(t, s, _)| (*t, s.clone())).collect();
    assert_eq!(read(tmp.path(), None), plain);
    assert_eq!(read_lent(tmp.path(), None, true), filled(&recorded));
    let start = Some(recorded[1000].0);
    assert_eq!(read_lent(tmp.path(), start, true), filled(&recorded[1000..]));
}
