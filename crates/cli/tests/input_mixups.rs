//! Input mix-ups from issue #14, one test each: a file passed as the wrong thing, a misspelt
//! flag or gate, a suspicious quantity, a wrong YAML type. Each is refused with exit status 2
//! and a message naming the file, field and value, or warned about where the kubelet itself
//! accepts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/run.rs"]
mod run;
use run::{headroom, words};

use std::path::{Path, PathBuf};

#[path = "../../linux/tests/common/sample_host.rs"]
mod sample_host;

const PRESSURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/status/pressure");

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `status --config FILE` and `check-config FILE` on the same file.
fn both(config: &Path) -> [run::Run; 2] {
    [
        headroom([
            "status".as_ref(),
            "--summary".as_ref(),
            format!("{PRESSURE}/summary.json").as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
        ]),
        headroom([
            "check-config".as_ref(),
            config.as_os_str(),
            "--format".as_ref(),
            "text".as_ref(),
        ]),
    ]
}

#[test]
fn a_config_that_is_not_a_kubelet_configuration_is_refused_naming_what_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            PathBuf::from(format!("{PRESSURE}/summary.json")),
            "this is a kubelet Summary",
        ),
        (
            PathBuf::from(format!("{PRESSURE}/pods.json")),
            "this is a list of pods",
        ),
        (
            file(tmp.path(), "podlist.json", r#"{"kind": "PodList", "items": []}"#),
            "this is a list of pods",
        ),
        (
            file(tmp.path(), "foo.json", r#"{"foo": 1}"#),
            "none of the fields headroom reads (its keys: foo)",
        ),
        (
            file(tmp.path(), "timeline.yaml", "pods: []\nsteps: []\n"),
            "this is a headroom timeline",
        ),
    ];
    for (path, says) in cases {
        for run in both(&path) {
            assert_eq!(run.code, Some(2), "{}: {}", path.display(), run.stderr);
            let err = words(&run.stderr);
            assert!(err.contains(says), "{}: {err}", path.display());
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(err.contains(name), "{err}");
        }
    }
}

#[test]
fn a_config_without_kind_is_read_and_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let path = file(
        tmp.path(),
        "snippet.yaml",
        "evictionHard:\n  memory.available: 1Gi\n",
    );
    for run in both(&path) {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let out = words(&run.stdout);
        assert!(out.contains("[missing-kind]"), "{out}");
        assert!(
            out.contains("the kubelet refuses to start on a config file without them"),
            "{out}"
        );
    }
}

#[test]
fn a_key_written_twice_is_warned_with_both_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let path = file(
        tmp.path(),
        "dup.yaml",
        "kind: KubeletConfiguration\nevictionHard:\n  memory.available: 1Gi\n  memory.available: 2Gi\n",
    );
    for run in both(&path) {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let out = words(&run.stdout);
        assert!(
            out.contains("\"memory.available\" is written twice in one mapping (lines 3 and 4)"),
            "{out}"
        );
    }
}

#[test]
fn a_misspelt_kubelet_flag_is_unknown_with_a_suggestion() {
    let run = headroom(["check-config", "--", "--evictoin-hard=memory.available<1Gi"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown flag: --evictoin-hard"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean --eviction-hard?"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("does not affect eviction"), "{}", run.stderr);
}

#[test]
fn a_misspelt_feature_gate_is_refused_as_the_kubelet_does() {
    let run = headroom(["check-config", "--", "--feature-gates=KubeletSeperateDiskGC=true"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unrecognized feature gate: KubeletSeperateDiskGC"),
        "{}",
        run.stderr
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = file(
        tmp.path(),
        "gates.yaml",
        "kind: KubeletConfiguration\nfeatureGates:\n  kubeletPSI: true\n",
    );
    for run in both(&path) {
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        let err = words(&run.stderr);
        assert!(
            err.contains("gates.yaml:3: featureGates: unrecognized feature gate: kubeletPSI"),
            "{err}"
        );
        assert!(err.contains("did you mean KubeletPSI?"), "{err}");
    }
}

#[test]
fn suspicious_quantities_are_warned_in_check_config_and_status() {
    let tmp = tempfile::tempdir().unwrap();
    let path = file(
        tmp.path(),
        "odd.yaml",
        "kind: KubeletConfiguration\nevictionHard:\n  memory.available: 100m\n  \
         nodefs.available: \"10%%\"\n  imagefs.available: \"1e3\"\n",
    );
    for run in both(&path) {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let out = words(&run.stdout);
        assert!(out.contains("m = milli, not Mi"), "{out}");
        assert!(out.contains("did you mean \"100Mi\"?"), "{out}");
        assert!(
            out.contains("the kubelet strips them all and reads \"10%\""),
            "{out}"
        );
        assert!(
            out.contains("\"1e3\" is an exponent, 1000 bytes, not a unit"),
            "{out}"
        );
    }
}

#[test]
fn wrong_yaml_types_name_the_expected_map() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("bool.yaml", "kind: KubeletConfiguration\nevictionHard: true\n"),
        (
            "list.yaml",
            "kind: KubeletConfiguration\nevictionHard:\n  - memory.available\n",
        ),
    ] {
        let path = file(tmp.path(), name, text);
        for run in both(&path) {
            assert_eq!(run.code, Some(2), "{}", run.stderr);
            let err = words(&run.stderr);
            assert!(err.contains(name) && err.contains("evictionHard"), "{err}");
            assert!(err.contains("expected a map"), "{err}");
        }
    }
}

#[test]
fn timeline_mixups_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let config = file(
        tmp.path(),
        "kc.yaml",
        "kind: KubeletConfiguration\nevictionHard:\n  memory.available: 100Mi\n",
    );
    let step = |time: &str, memory: &str| {
        format!("  - time: {time}\n    summary:\n      node: {{nodeName: n, memory: {memory}}}\n")
    };
    let simulate = |name: &str, text: &str| {
        let path = file(tmp.path(), name, text);
        headroom([
            "simulate".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            "--timeline".as_ref(),
            path.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ])
    };
    // A node named `n` stays `n` (not YAML 1.1's false).
    let ok = "{availableBytes: 1073741824, workingSetBytes: 1073741824}";
    let run = simulate("n.yaml", &format!("steps:\n{}", step("2026-01-01T00:00:00Z", ok)));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // Equal times: refused, naming the step.
    let run = simulate(
        "equal.yaml",
        &format!(
            "steps:\n{}{}",
            step("2026-01-01T00:00:00Z", ok),
            step("2026-01-01T00:00:00Z", ok)
        ),
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("equal.yaml: steps[1].time:") && run.stderr.contains("previous step's time too"),
        "{}",
        run.stderr
    );
    // No availableBytes: runs, and says memory.available is unobserved there.
    let run = simulate(
        "noavail.yaml",
        &format!("steps:\n{}", step("2026-01-01T00:00:00Z", "{workingSetBytes: 5}")),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        words(&run.stderr).contains("steps[0]: summary.node.memory has no availableBytes"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_truncated_capture_archive_is_called_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    sample_host::v1_sample_host(&host, sample_host::RootFiles::Basic);
    let archive = tmp.path().join("node.tar.gz");
    let run = headroom([
        "capture".as_ref(),
        "--root".as_ref(),
        host.as_os_str(),
        "--output".as_ref(),
        archive.as_os_str(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let bytes = std::fs::read(&archive).unwrap();
    let cut = tmp.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let run = headroom(["status".as_ref(), "--root".as_ref(), cut.as_os_str()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("cut.tar.gz: the archive is truncated"),
        "{}",
        run.stderr
    );
}

#[test]
fn experiment_arguments_that_cannot_work_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["hot-cache", "--limit", "256M", "--threshold", "300M"],
            "is not below --limit 256M",
        ),
        (&["page-cache", "--size", "1"], "too small"),
        (&["page-cache", "--size", "3.5M"], "has a fraction"),
        (&["page-cache", "--size", "-1M"], "is negative"),
        (&["hot-cache", "--dir", "/dev/shm"], "is tmpfs/ramfs"),
    ];
    for (args, says) in cases {
        if args.contains(&"/dev/shm") && !Path::new("/dev/shm").is_dir() {
            continue;
        }
        let mut all = vec!["experiment"];
        all.extend_from_slice(args);
        let run = headroom(&all);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
}
