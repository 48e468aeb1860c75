//! What the store refuses, and what it keeps apart: another schema version (older or newer,
//! for reading and for writing) is refused naming the file and both versions; a second node
//! writing into a recording is refused; each pass names the config in force, stored once per
//! change; a damaged samples blob stops the readers that need it, not those that do not, and
//! no refusal changes a byte of the recording; a damaged pass or the caller's error stops a
//! walk in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use headroom_linux::memcg::{CgroupKind, CgroupVersion, MemcgSample, StatMap};
use headroom_record::model::Readings;
use headroom_record::store::{DB_FILE, OLDEST_SCHEMA_READ, RecordingMeta, SCHEMA_VERSION, Store, StoreError};

#[path = "common/pass.rs"]
mod pass;

fn meta(node: &str, config: &str) -> RecordingMeta {
    RecordingMeta {
        source: "test".into(),
        node: node.into(),
        config: config.into(),
        ..Default::default()
    }
}

fn record(dir: &Path, meta: &RecordingMeta, t0: i64, n: i64) {
    let mut s = Store::open_for_writing(dir, meta).unwrap();
    for k in 0..n {
        let mut r = Readings::default();
        r.summary.node.node_name = format!("n-{}", t0 + k);
        let mut sample = MemcgSample::empty(CgroupKind {
            version: CgroupVersion::V1,
            is_root: true,
            host_swap_used: 0,
        });
        sample.stat = StatMap::parse(&format!("cache {}\nrss 4096\n", k * 4096));
        sample.usage = Some(k as u64 * 8192);
        r.node = Some(sample);
        pass::append(&mut s, t0 + k, &[], &r);
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn set_version(dir: &Path, v: i64) {
    rusqlite::Connection::open(dir.join(DB_FILE))
        .unwrap()
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [v.to_string()],
        )
        .unwrap();
}

#[test]
fn other_schema_versions_are_refused_naming_file_and_versions() {
    for (found, advice) in [(1, "older headroom"), (SCHEMA_VERSION + 1, "newer headroom")] {
        let tmp = tempfile::tempdir().unwrap();
        record(tmp.path(), &meta("a", ""), 0, 3);
        set_version(tmp.path(), found);
        let before = files(tmp.path());
        for err in [
            Store::open(tmp.path()).err().unwrap(),
            Store::open_for_writing(tmp.path(), &meta("a", "")).err().unwrap(),
        ] {
            assert!(matches!(err, StoreError::Version { .. }), "{err}");
            let msg = err.to_string();
            let file = tmp.path().join(DB_FILE).display().to_string();
            assert!(
                msg.contains(&file)
                    && msg.contains(&format!("schema {found}"))
                    && msg.contains(&format!(
                        "reads schemas {OLDEST_SCHEMA_READ} to {SCHEMA_VERSION} only"
                    ))
                    && msg.contains(advice),
                "{msg}"
            );
        }
        assert_eq!(files(tmp.path()), before, "a refused recording is left as it was");
    }
}

#[test]
fn a_second_node_is_refused_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    record(tmp.path(), &meta("node-a", ""), 0, 3);
    let before = files(tmp.path());
    let err = Store::open_for_writing(tmp.path(), &meta("node-b", ""))
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("node \"node-a\"'s history, not node \"node-b\"'s") && msg.contains("own directory"),
        "{msg}"
    );
    assert_eq!(files(tmp.path()), before);
    // The same node resumes; a writer that does not know its node name is not refused.
    record(tmp.path(), &meta("node-a", ""), 10, 1);
    record(tmp.path(), &meta("", ""), 20, 1);
    let s = Store::open(tmp.path()).unwrap();
    assert_eq!(s.pass_count().unwrap(), 5);
    assert_eq!(s.meta().unwrap().node, "node-a");
}

#[test]
fn each_pass_names_the_config_in_force_stored_once_per_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        "evictionHard:\n  memory.available: 100Mi\n",
        "evictionHard:\n  memory.available: 750Mi\n",
    );
    record(tmp.path(), &meta("n", a), 0, 2);
    record(tmp.path(), &meta("n", a), 10, 1);
    record(tmp.path(), &meta("n", b), 20, 2);
    let s = Store::open(tmp.path()).unwrap();
    let passes = s.passes(None, None).unwrap();
    let texts: Vec<String> = passes
        .iter()
        .map(|p| s.config_text(p.config_id).unwrap())
        .collect();
    assert_eq!(texts, [a, a, a, b, b]);
    assert_eq!(
        passes[0].config_id, passes[2].config_id,
        "an unchanged config is not stored again"
    );
    let rows: i64 = rusqlite::Connection::open(tmp.path().join(DB_FILE))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM configs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}

#[test]
fn a_damaged_samples_blob_stops_only_the_readers_that_need_it() {
    let tmp = tempfile::tempdir().unwrap();
    record(tmp.path(), &meta("n", ""), 0, 5);
    {
        let db = rusqlite::Connection::open(tmp.path().join(DB_FILE)).unwrap();
        let mut blob: Vec<u8> = db
            .query_row("SELECT samples FROM passes WHERE id = 3", [], |r| r.get(0))
            .unwrap();
        let n = blob.len();
        for b in &mut blob[n / 2..] {
            *b ^= 0x5a;
        }
        db.execute("UPDATE passes SET samples = ?1 WHERE id = 3", [blob])
            .unwrap();
    }
    let s = Store::open(tmp.path()).unwrap();
    let err = s.passes(None, None).unwrap_err().to_string();
    assert!(
        err.contains("damaged") && err.contains("pass 3: samples"),
        "{err}"
    );
    // The Summary stream is whole: replay and `top` still read every pass.
    let mut n = 0;
    s.for_each_summary(None, None, |_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 5);
}

/// Chains are decoded side by side: a damaged pass in a later chain still comes after every
/// pass before it, in order; an error from the caller stops the walk there.
#[test]
fn passes_come_in_order_up_to_a_damaged_one_or_a_callers_error() {
    let tmp = tempfile::tempdir().unwrap();
    // Three chains of full passes (60, 60, 30).
    record(tmp.path(), &meta("n", ""), 0, 150);
    {
        let db = rusqlite::Connection::open(tmp.path().join(DB_FILE)).unwrap();
        db.execute("UPDATE passes SET summary = X'4400' WHERE id = 100", [])
            .unwrap();
    }
    let s = Store::open(tmp.path()).unwrap();
    let mut ids = Vec::new();
    let err = s
        .for_each_summary(None, None, |p| {
            ids.push(p.id);
            Ok(())
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("pass 100: summary"), "{err}");
    assert_eq!(ids, (1..100).collect::<Vec<i64>>());
    let mut seen = 0;
    let err = s
        .for_each_summary(None, None, |p| {
            seen += 1;
            if p.id == 70 {
                return Err(StoreError::Io {
                    dir: tmp.path().to_path_buf(),
                    detail: "stop here".into(),
                });
            }
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("stop here"), "{err}");
    assert_eq!(seen, 70);
}
