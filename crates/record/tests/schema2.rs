//! A recording written by the schema 2 writer (headroom before the whole-second mark:
//! `fixtures/schema2/recording.sqlite`, 40 passes of both chains, a pod that leaves and comes
//! back) reads exactly as the schema 2 reader read it (`fixtures/schema2/expected.json`, that
//! reader's output), and a writer resumes it in schema 2, so an older headroom still reads it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use headroom_core::Timestamp;
use headroom_record::model::{DecisionRecord, Readings};
use headroom_record::pass_time::{PassTexts, mark};
use headroom_record::store::{DB_FILE, NewPass, RecordingMeta, Store};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema2");

fn read(dir: &Path) -> Vec<serde_json::Value> {
    let store = Store::open(dir).unwrap();
    assert_eq!(store.schema(), 2);
    let mut out = Vec::new();
    store
        .for_each_pass(None, None, |p| {
            out.push(serde_json::json!({"time": p.time, "light": p.light, "readings": p.readings}));
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn a_schema_2_recording_reads_as_before_and_resumes_in_schema_2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(FIXTURE).join(DB_FILE), tmp.path().join(DB_FILE)).unwrap();
    let expected: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(Path::new(FIXTURE).join("expected.json")).unwrap())
            .unwrap();
    assert_eq!(expected.len(), 40);
    assert_eq!(read(tmp.path()), expected);
    // Only replay's Summary: the same Summaries.
    let store = Store::open(tmp.path()).unwrap();
    let mut summaries = Vec::new();
    store
        .for_each_summary(None, None, |p| {
            summaries.push(serde_json::to_value(&p.readings.summary).unwrap());
            Ok(())
        })
        .unwrap();
    drop(store);
    let want: Vec<_> = expected
        .iter()
        .map(|p| p["readings"]["summary"].clone())
        .collect();
    assert_eq!(summaries, want);

    // Resumed by this headroom: still schema 2, whole seconds unmarked, all of it reads.
    let meta = RecordingMeta {
        source: "test".into(),
        node: "n".into(),
        ..Default::default()
    };
    let mut store = Store::open_for_writing(tmp.path(), &meta).unwrap();
    assert_eq!(store.schema(), 2);
    assert!(!store.marks_seconds());
    let mut added = Vec::new();
    for k in 0..5 {
        let t = Timestamp::new(1_900_000_000 + k, 250_000_000).unwrap();
        let mut r = Readings::default();
        r.summary.node.node_name = "n".into();
        r.summary.node.start_time = Some(headroom_linux::collection::creation::whole_seconds(t));
        let mut value = serde_json::to_value(&r).unwrap();
        mark(&mut value, &PassTexts::new(t, store.marks_seconds()));
        assert_eq!(
            value["summary"]["node"]["startTime"],
            serde_json::json!(format!("{}", r.summary.node.start_time.unwrap()))
        );
        store
            .append(NewPass {
                time: t,
                trigger: "period",
                woken_by: &[],
                light: false,
                readings: &value,
                pods: &[],
                decision: &DecisionRecord::default(),
            })
            .unwrap();
        added.push(serde_json::json!({"time": t, "light": false, "readings": r}));
    }
    drop(store);
    let version: String = rusqlite::Connection::open(tmp.path().join(DB_FILE))
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, "2");
    let all = read(tmp.path());
    assert_eq!(all[..40], expected[..]);
    assert_eq!(all[40..], added[..]);
}
