//! Which watches woke a pass: stored with the pass, read back by both walks, and added to a
//! schema-2 recording written before the column existed (its passes read with no watches; a
//! resumed writer adds the column, an older reader's query still works).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_record::model::{Readings, Wake};
use headroom_record::store::{DB_FILE, RecordingMeta, Store};

#[path = "common/pass.rs"]
mod pass;

fn append(store: &mut Store, second: i64, woken_by: &[Wake]) {
    pass::append(store, second, woken_by, &Readings::default());
}

fn wake(watch: &str, kind: &str, detail: &str) -> Wake {
    Wake {
        watch: watch.into(),
        kind: kind.into(),
        detail: detail.into(),
    }
}

fn woken(store: &Store) -> Vec<Vec<Wake>> {
    let mut out = Vec::new();
    store
        .for_each_summary(None, None, |p| {
            out.push(p.woken_by);
            Ok(())
        })
        .unwrap();
    let full: Vec<Vec<Wake>> = store
        .passes(None, None)
        .unwrap()
        .into_iter()
        .map(|p| p.woken_by)
        .collect();
    assert_eq!(out, full, "the two walks disagree");
    out
}

#[test]
fn the_watches_that_woke_a_pass_are_stored_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let both = [
        wake(
            "pods memory.events",
            "memory_events",
            "/sys/fs/cgroup/kubepods.slice/memory.events changed high=3",
        ),
        wake("psi pods", "psi", ""),
    ];
    {
        let mut s = Store::open_for_writing(tmp.path(), &RecordingMeta::default()).unwrap();
        append(&mut s, 0, &[]);
        append(&mut s, 1, &both);
        append(
            &mut s,
            2,
            &[wake("pods usage", "usage_poll", "a threshold is met")],
        );
    }
    let s = Store::open(tmp.path()).unwrap();
    let got = woken(&s);
    assert_eq!(got[0], vec![]);
    assert_eq!(got[1], both.to_vec());
    assert_eq!(got[2][0].to_string(), "pods usage (usage_poll)");
}

#[test]
fn a_recording_from_before_the_column_reads_and_gains_it_when_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open_for_writing(tmp.path(), &RecordingMeta::default()).unwrap();
        append(&mut s, 0, &[]);
        append(&mut s, 1, &[]);
    }
    // As the first schema-2 release wrote it: no woken_by column.
    let conn = rusqlite::Connection::open(tmp.path().join(DB_FILE)).unwrap();
    conn.execute_batch("ALTER TABLE passes DROP COLUMN woken_by")
        .unwrap();
    drop(conn);
    assert_eq!(woken(&Store::open(tmp.path()).unwrap()), vec![vec![], vec![]]);
    {
        let mut s = Store::open_for_writing(tmp.path(), &RecordingMeta::default()).unwrap();
        append(&mut s, 2, &[wake("psi pods", "psi", "")]);
    }
    let got = woken(&Store::open(tmp.path()).unwrap());
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], vec![wake("psi pods", "psi", "")]);
    // An older schema-2 reader names its columns: the added one does not disturb it.
    let conn = rusqlite::Connection::open(tmp.path().join(DB_FILE)).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT id, time_ns, trigger, light, key_id, base_id, pods_id, \
             config_id, decision, summary, samples FROM passes)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 3);
}
