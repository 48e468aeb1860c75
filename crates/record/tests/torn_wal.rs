//! A torn WAL tail is skipped, never read as data. The recording's WAL is copied while the
//! writer still holds it (as a power cut leaves it: nothing checkpointed), then cut short at
//! many points inside its frames, or with one byte of its last frame flipped; each copy must
//! open, every pass in it must decode, and it must hold exactly the passes whose commit frame
//! survived whole (never more, never a damaged one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use headroom_record::model::Readings;
use headroom_record::store::{DB_FILE, RecordingMeta, Store};

#[path = "common/pass.rs"]
mod pass;

const PASSES: i64 = 8;

fn append(store: &mut Store, k: i64) {
    let mut r = Readings::default();
    // Every pass different, so each writes its own pages.
    r.summary.node.node_name = format!("node-{k}-{}", "x".repeat((k as usize * 997) % 3000));
    pass::append(store, 10 * k, &[], &r);
}

/// A copy of the recording with `wal` as its WAL.
fn copy_with_wal(from: &Path, to: &Path, wal: &[u8]) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join(DB_FILE), to.join(DB_FILE)).unwrap();
    std::fs::write(to.join(format!("{DB_FILE}-wal")), wal).unwrap();
}

/// Passes in the copy (after opening it as a reader would), all decoded.
fn passes_in(dir: &Path) -> usize {
    let store = Store::open(dir).unwrap_or_else(|e| panic!("{}: does not open: {e}", dir.display()));
    let n = store.pass_count().unwrap() as usize;
    assert_eq!(
        store.passes(None, None).unwrap().len(),
        n,
        "a stored pass does not decode"
    );
    n
}

#[test]
fn a_torn_wal_tail_is_skipped_and_never_read_as_data() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let mut store = Store::open_for_writing(&rec, &RecordingMeta::default()).unwrap();
    // The WAL's length after each commit: a cut inside (before, after] loses that pass only.
    let wal_len = || {
        std::fs::metadata(rec.join(format!("{DB_FILE}-wal")))
            .unwrap()
            .len() as usize
    };
    let mut ends = Vec::new();
    for k in 0..PASSES {
        append(&mut store, k);
        ends.push(wal_len());
    }
    let wal = std::fs::read(rec.join(format!("{DB_FILE}-wal"))).unwrap();
    assert_eq!(
        wal.len(),
        *ends.last().unwrap(),
        "a checkpoint ran: nothing left to tear"
    );
    let first = ends[0];

    // Cut short at many points: whole passes only, as many as whose commit is inside the cut.
    let mut cuts = 0;
    let step = ((wal.len() - first) / 97).max(1);
    for (i, cut) in (first.saturating_sub(1)..=wal.len()).step_by(step).enumerate() {
        let dir = tmp.path().join(format!("cut-{i}"));
        copy_with_wal(&rec, &dir, &wal[..cut]);
        let expected = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(
            passes_in(&dir),
            expected,
            "WAL cut at byte {cut} of {}",
            wal.len()
        );
        std::fs::remove_dir_all(&dir).unwrap();
        cuts += 1;
    }
    assert!(cuts > 50);

    // A damaged byte in the last pass's frames: that pass is gone, the others are whole.
    let before_last = ends[ends.len() - 2];
    for at in [before_last + 30, (before_last + wal.len()) / 2, wal.len() - 1] {
        let mut torn = wal.clone();
        torn[at] ^= 0x5a;
        let dir = tmp.path().join(format!("flip-{at}"));
        copy_with_wal(&rec, &dir, &torn);
        assert_eq!(passes_in(&dir), PASSES as usize - 1, "byte {at} flipped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // The writer goes on after all this: the original is untouched.
    append(&mut store, PASSES);
    drop(store);
    assert_eq!(passes_in(&rec), PASSES as usize + 1);
}
