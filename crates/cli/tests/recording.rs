//! The flight recorder on a fake host tree (no root needed): `headroom record` stores passes,
//! `incidents` lists the eviction, `replay` reproduces it and answers for another config; a
//! recording survives SIGKILLs at random moments; damaged or foreign input gets clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "common/json_lines.rs"]
mod json_lines;
use json_lines::json_lines;

#[path = "common/record.rs"]
mod record;

#[path = "common/fake_host.rs"]
mod fake_host;
use fake_host::{MIB, config, host, memcg, pods};

fn headroom() -> Command {
    let mut c = Command::cargo_bin("headroom").unwrap();
    c.env("HEADROOM_LOG", "warn");
    c
}

/// Start `headroom record` on the fake host; the child prints one decision line per pass,
/// after the pass is committed.
fn spawn_record(dir: &Path, rec: &Path, period: &str) -> std::process::Child {
    record::spawn_record(
        dir,
        rec,
        &dir.join("pods.json"),
        &dir.join("kubelet.yaml"),
        period,
    )
}

/// Record `n` passes, then stop the recorder.
fn record_passes(dir: &Path, rec: &Path, n: usize) {
    let mut child = spawn_record(dir, rec, "100ms");
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = 0;
    for line in out.lines() {
        if line.unwrap().starts_with("decision") {
            seen += 1;
            if seen == n {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(seen, n, "the recorder stopped early");
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    host(tmp.path());
    pods(tmp.path(), 0);
    config(tmp.path());
    let rec = tmp.path().join("rec");
    (tmp, rec)
}

#[test]
fn incidents_and_replay_read_what_record_stored() {
    let (tmp, rec) = fixture();
    // Two calm passes (the pods cgroup well under its limit), then pressure.
    memcg(
        &tmp.path().join("sys/fs/cgroup/memory/kubepods"),
        300 * MIB,
        10 * MIB,
        512 * MIB,
    );
    record_passes(tmp.path(), &rec, 2);
    memcg(
        &tmp.path().join("sys/fs/cgroup/memory/kubepods"),
        460 * MIB,
        10 * MIB,
        512 * MIB,
    );
    record_passes(tmp.path(), &rec, 2);

    let out = headroom()
        .args(["incidents", "--format", "json", "--recording"])
        .arg(&rec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let incidents = json_lines(&out.stdout);
    let evictions: Vec<_> = incidents.iter().filter(|i| i["kind"] == "eviction").collect();
    assert_eq!(evictions.len(), 2, "{incidents:?}");
    let e = evictions[0];
    assert_eq!(e["pod"], "jobs/batch");
    assert_eq!(e["signal"], "allocatableMemory.available");
    assert_eq!(e["threshold"], 100 * MIB);
    // 512 MiB limit - (460 - 10) MiB working set.
    assert_eq!(e["observed"], 62 * MIB);
    assert_eq!(e["ranking"][0], "jobs/batch");
    let split = e["workingSetBefore"].as_array().unwrap();
    // The calm passes (at least the two seen; a loaded machine may let the recorder pass once
    // more before it is killed), then the incident's own.
    let (own, calm) = split.split_last().unwrap();
    assert!(calm.len() >= 2, "two calm passes and the incident's own: {e}");
    assert!(calm.iter().all(|c| c["workingSet"] == 290 * MIB), "{e}");
    assert_eq!(own["workingSet"], 450 * MIB);
    assert_eq!(own["inactiveFile"], 10 * MIB);
    let pressure: Vec<_> = incidents
        .iter()
        .filter(|i| i["kind"] == "memoryPressure")
        .collect();
    assert_eq!(pressure.len(), 1, "{incidents:?}");
    assert_eq!(pressure[0]["time"], e["time"]);

    // Replay with the recorded config reproduces each recorded decision.
    let out = headroom()
        .args(["replay", "--format", "json", "--recording"])
        .arg(&rec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let steps = json_lines(&out.stdout);
    assert_eq!(steps.len(), 4);
    for s in &steps {
        let replayed: Vec<_> = s["evictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pod"].clone())
            .collect();
        assert_eq!(serde_json::json!(replayed), s["recorded"]["evicted"], "{s}");
    }
    assert_eq!(steps[2]["evicted"]["pod"], "jobs/batch");
    assert!(steps[0]["evicted"].is_null());

    // A larger threshold (250Mi > the calm passes' 222 MiB available) evicts from the start.
    let larger = tmp.path().join("larger.yaml");
    std::fs::write(
        &larger,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  allocatableMemory.available: \"250Mi\"\n",
    )
    .unwrap();
    let out = headroom()
        .args(["replay", "--format", "json", "--recording"])
        .arg(&rec)
        .arg("--config")
        .arg(&larger)
        .output()
        .unwrap();
    let steps = json_lines(&out.stdout);
    assert_eq!(steps[0]["evicted"]["pod"], "jobs/batch", "{:?}", steps[0]);
    assert!(steps[0]["recorded"]["evicted"].as_array().unwrap().is_empty());

    // --from skips the calm passes; the export is a timeline simulate replays the same way.
    let from = steps[2]["time"].as_str().unwrap().to_string();
    let timeline = tmp.path().join("timeline.json");
    let out = headroom()
        .args(["replay", "--recording"])
        .arg(&rec)
        .args(["--from", &from, "--export-timeline"])
        .arg(&timeline)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = headroom()
        .args(["simulate", "--format", "json", "--timeline"])
        .arg(&timeline)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let simulated = json_lines(&out.stdout);
    assert_eq!(simulated.len(), 2);
    assert_eq!(simulated[0]["evicted"]["pod"], "jobs/batch");

    // Text forms name the pod, the signal and the threshold.
    let out = headroom()
        .args(["incidents", "--format", "text", "--recording"])
        .arg(&rec)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("eviction  pod jobs/batch"), "{text}");
    assert!(
        text.contains("allocatableMemory.available: 62Mi available, threshold 100Mi"),
        "{text}"
    );
}

/// The crash test: SIGKILL the recorder at random moments; after each kill the recording
/// opens, holds every pass the recorder reported committed, and recording resumes.
#[test]
fn every_committed_pass_survives_sigkill_and_recording_resumes() {
    let (tmp, rec) = fixture();
    let kills: usize = std::env::var("HEADROOM_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    // A small xorshift: random kill moments, reproducible from the printed seed.
    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut committed = 0u64;
    let (mut before_any_commit, mut mid_recording) = (0, 0);
    for round in 0..kills {
        let mut child = spawn_record(tmp.path(), &rec, "100ms");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("decision") && tx.send(()).is_err() {
                    break;
                }
            }
        });
        // Kill between 0 and 300 ms after start (the agent's shortest period is 100 ms): during
        // start-up, mid-pass, mid-commit.
        let deadline = Instant::now() + Duration::from_millis(next() % 300);
        let mut reported = 0u64;
        while Instant::now() < deadline {
            if rx.recv_timeout(Duration::from_millis(1)).is_ok() {
                reported += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        while rx.try_recv().is_ok() {
            reported += 1;
        }
        committed += reported;
        if reported == 0 {
            before_any_commit += 1;
        } else {
            mid_recording += 1;
        }
        if !rec.join("recording.sqlite").exists() {
            assert_eq!(committed, 0, "round {round}: passes reported but no recording");
            continue;
        }
        let store = headroom_record::Store::open(&rec)
            .unwrap_or_else(|e| panic!("round {round}: the recording does not open after SIGKILL: {e}"));
        let stored = store.pass_count().unwrap();
        assert!(
            stored >= committed,
            "round {round}: {stored} passes stored, {committed} reported committed"
        );
        // Every stored pass decodes (no torn row is read as data).
        assert_eq!(
            store.passes(None, None).unwrap().len() as u64,
            stored,
            "round {round}"
        );
        committed = stored;
    }
    assert!(committed > 0, "no pass was ever committed in {kills} rounds");
    eprintln!(
        "crash test: {kills} SIGKILLs ({before_any_commit} before the round's first reported commit, \
         {mid_recording} after), {committed} passes stored, all readable"
    );
    // Recording resumes after the last kill.
    let before = committed;
    record_passes(tmp.path(), &rec, 2);
    let store = headroom_record::Store::open(&rec).unwrap();
    assert!(store.pass_count().unwrap() >= before + 2);
}

fn error_of(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = headroom().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn damaged_or_foreign_recordings_are_refused_clearly() {
    let (tmp, rec) = fixture();
    record_passes(tmp.path(), &rec, 3);
    let os = |s: &str| std::ffi::OsString::from(s);

    // Not a recording: an empty directory, a missing one, another SQLite file.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, err) = error_of(&[&os("incidents"), &os("--recording"), empty.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not a headroom recording") && err.contains("no recording.sqlite"),
        "{err}"
    );
    let (code, err) = error_of(&[&os("replay"), &os("--recording"), &os("/nonexistent/rec")]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("/nonexistent/rec: not a headroom recording"),
        "{err}"
    );
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(
        other.join("recording.sqlite"),
        b"just some text, not SQLite at all\n",
    )
    .unwrap();
    let (code, err) = error_of(&[&os("incidents"), &os("--recording"), other.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("damaged") || err.contains("not a headroom recording"),
        "{err}"
    );
    // Recording into a directory that has other files is refused too (nothing is lost).
    let (code, err) = error_of(&[
        &os("record"),
        &os("--config"),
        tmp.path().join("kubelet.yaml").as_os_str(),
        tmp.path().as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("has files but no recording.sqlite"), "{err}");

    // Truncated: half the database file.
    let cut = tmp.path().join("cut");
    std::fs::create_dir(&cut).unwrap();
    // The WAL holds recent passes until a checkpoint: open once to fold it in.
    drop(headroom_record::Store::open(&rec).unwrap());
    let bytes = std::fs::read(rec.join("recording.sqlite")).unwrap();
    std::fs::write(cut.join("recording.sqlite"), &bytes[..bytes.len() / 2]).unwrap();
    let (code, err) = error_of(&[&os("replay"), &os("--recording"), cut.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cut"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // Corrupted: one pass's stored raw samples damaged in place (bytes flipped inside the
    // blob; SQLite's own pages stay valid, so only the zlib checksum can tell).
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("recording.sqlite"), &bytes).unwrap();
    {
        let db = rusqlite::Connection::open(bad.join("recording.sqlite")).unwrap();
        let mut blob: Vec<u8> = db
            .query_row("SELECT samples FROM passes WHERE id = 2", [], |r| r.get(0))
            .unwrap();
        let n = blob.len();
        for b in &mut blob[n / 2..n] {
            *b ^= 0x5a;
        }
        db.execute("UPDATE passes SET samples = ?1 WHERE id = 2", [blob])
            .unwrap();
    }
    let before = std::fs::read(bad.join("recording.sqlite")).unwrap();
    let (code, err) = error_of(&[&os("incidents"), &os("--recording"), bad.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("damaged") && err.contains("pass 2: samples"),
        "{err}"
    );
    // Nothing lost: the refused recording is as it was.
    assert_eq!(std::fs::read(bad.join("recording.sqlite")).unwrap(), before);

    // Another schema, older (1: before the streams were split) or newer, is refused naming
    // the file and both versions.
    let copy_with_version = |name: &str, version: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("recording.sqlite"), &bytes).unwrap();
        rusqlite::Connection::open(dir.join("recording.sqlite"))
            .unwrap()
            .execute(
                "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                [version],
            )
            .unwrap();
        dir
    };
    for (name, version, cmd, advice) in [
        ("older", "1", "replay", "older headroom"),
        ("newer", "99", "incidents", "newer headroom"),
    ] {
        let dir = copy_with_version(name, version);
        let (code, err) = error_of(&[&os(cmd), &os("--recording"), dir.as_os_str()]);
        assert_eq!(code, Some(2), "{err}");
        let file = dir.join("recording.sqlite").display().to_string();
        assert!(
            err.contains(&file)
                && err.contains(&format!("schema {version}"))
                && err.contains("reads schemas 2 to 3 only")
                && err.contains(advice),
            "{err}"
        );
    }
}
