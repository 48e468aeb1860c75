//! Regression tests from user-level QA of the whole CLI: what a tired operator trips on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/run.rs"]
mod run;
use run::headroom;

// Skip lines go to the real stderr: the test harness captures eprintln! of passing tests,
// which would hide them.
use std::io::Write as _;

#[path = "../../linux/tests/common/sample_host.rs"]
mod sample_host;

use std::path::Path;

/// A minimal cgroup v1 host tree from the samples of this machine kind.
fn sample_tree(dir: &Path) {
    sample_host::v1_sample_host(dir, sample_host::RootFiles::Basic);
}

#[test]
fn capture_into_a_missing_directory_names_the_path_once() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    sample_tree(&host);
    let out = tmp.path().join("no-such-dir/node.tar.gz");
    let run = headroom([
        "capture".as_ref(),
        "--root".as_ref(),
        host.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    // Bad input (exit 2), said before anything is read.
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let error: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("headroom: error:"))
        .collect();
    assert_eq!(error.len(), 1, "{}", run.stderr);
    assert!(error[0].contains(&out.display().to_string()), "{}", error[0]);
    assert!(
        error[0].contains("the folder") && error[0].contains("does not exist"),
        "{}",
        error[0]
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn a_summary_passed_as_the_pods_file_is_bad_input() {
    let summary = "tests/fixtures/status/pressure/summary.json";
    let run = headroom(["status", "--summary", summary, "--pods", summary]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let line = run.stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains(summary) && line.contains("expected a Pod"),
        "{line}"
    );
}

#[test]
fn experiment_output_paths_are_checked_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-dir/plot.svg");
    let run = headroom([
        "experiment".as_ref(),
        "hot-cache".as_ref(),
        "--plot".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("--plot") && run.stderr.contains("does not exist"),
        "{}",
        run.stderr
    );
    let run = headroom([
        "experiment".as_ref(),
        "hot-cache".as_ref(),
        "--samples".as_ref(),
        tmp.path().as_os_str(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);
}

#[test]
fn experiment_dir_that_is_a_file_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let run = headroom([
        "experiment".as_ref(),
        "page-cache".as_ref(),
        "--dir".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("not a directory"), "{}", run.stderr);
}

#[test]
fn agent_config_error_names_the_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("kubelet.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  memory.availble: 100Mi\n",
    )
    .unwrap();
    let run = headroom([
        "agent".as_ref(),
        "--once".as_ref(),
        "--listen".as_ref(),
        "off".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("headroom: error:"))
        .unwrap();
    let name = config.display().to_string();
    assert_eq!(line.matches(name.as_str()).count(), 1, "{line}");
    assert!(line.contains(&format!("{name}:4:")), "{line}");
    assert!(line.contains("memory.availble"), "{line}");
}

/// Run `headroom ARGS` on a pseudo-terminal through util-linux `script`; None when it is missing.
fn on_a_terminal(args: &str, no_color: bool) -> Option<String> {
    let bin = assert_cmd::cargo::cargo_bin("headroom");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"]);
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn no_color_turns_off_escape_codes_on_a_terminal() {
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/min-reclaim/kubelet-config.yaml"
    );
    let summary = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/status/pressure/summary.json"
    );
    let commands = [
        format!("agent --once --listen off --notifications off --config {config}"),
        format!("status --summary {summary}"),
    ];
    for args in &commands {
        let Some(coloured) = on_a_terminal(args, false) else {
            let _ = writeln!(
                std::io::stderr(),
                "skipping: util-linux `script` is not installed"
            );
            return;
        };
        assert!(!coloured.contains("panicked"), "{coloured}");
        let plain = on_a_terminal(args, true).unwrap();
        assert!(!plain.is_empty(), "{args}: no output");
        assert!(
            !plain.contains('\u{1b}'),
            "{args}: escape codes despite NO_COLOR:\n{plain}"
        );
    }
}

#[test]
fn help_fits_100_columns_and_shows_examples() {
    let all: &[&[&str]] = &[
        &[],
        &["status"],
        &["summary"],
        &["capture"],
        &["simulate"],
        &["check-config"],
        &["experiment"],
        &["experiment", "page-cache"],
        &["experiment", "hot-cache"],
        &["agent"],
    ];
    for cmd in all {
        for flag in ["-h", "--help"] {
            let run = headroom(cmd.iter().copied().chain([flag]));
            assert_eq!(run.code, Some(0), "{cmd:?} {flag}: {}", run.stderr);
            for line in run.stdout.lines() {
                assert!(
                    line.chars().count() <= 100,
                    "{cmd:?} {flag}: line over 100 columns: {line}"
                );
            }
        }
    }
    let with_examples: &[&[&str]] = &[
        &["status"],
        &["summary"],
        &["capture"],
        &["check-config"],
        &["simulate"],
        &["agent"],
        &["experiment", "page-cache"],
        &["experiment", "hot-cache"],
    ];
    for cmd in with_examples {
        let run = headroom(cmd.iter().copied().chain(["--help"]));
        assert!(run.stdout.contains("Examples:"), "{cmd:?}: {}", run.stdout);
    }
}

#[test]
fn a_bad_pod_field_is_named_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let pods = tmp.path().join("pods.json");
    std::fs::write(
        &pods,
        r#"{"kind":"List","items":[{"metadata":{"name":"a","namespace":"d","uid":"u"},
            "spec":{"containers":[{"name":"c","resources":{"requests":{"memory":"lots"}}}]}}]}"#,
    )
    .unwrap();
    let run = headroom([
        "status".as_ref(),
        "--summary".as_ref(),
        "tests/fixtures/status/pressure/summary.json".as_ref(),
        "--pods".as_ref(),
        pods.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.stderr.trim_end();
    assert!(
        line.contains("pod #0: spec.containers[0].resources.requests.memory: ") && line.contains("\"lots\""),
        "{line}"
    );
}

#[test]
fn root_that_is_not_an_archive_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("node1.tar.gz");
    std::fs::write(&junk, b"this is not gzip").unwrap();
    let empty = tmp.path().join("empty.tar.gz");
    std::fs::write(&empty, b"").unwrap();
    for (file, why) in [(&junk, "invalid gzip header"), (&empty, "unexpected end of file")] {
        for cmd in ["status", "summary"] {
            let run = headroom([cmd.as_ref(), "--root".as_ref(), file.as_os_str()]);
            assert_eq!(run.code, Some(2), "{}", run.stderr);
            let line = run.stderr.trim_end();
            assert_eq!(line.lines().count(), 1, "{line}");
            assert!(
                line.contains(&file.display().to_string()) && line.contains(why),
                "{line}"
            );
        }
    }
}

#[test]
fn agent_bad_pods_file_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/min-reclaim/kubelet-config.yaml"
    );
    let truncated = tmp.path().join("pods.json");
    std::fs::write(&truncated, br#"{"kind":"List","items":[{"metadata":{"na"#).unwrap();
    let missing = tmp.path().join("missing.json");
    for pods in [&truncated, &missing] {
        let run = headroom([
            "agent".as_ref(),
            "--once".as_ref(),
            "--listen".as_ref(),
            "off".as_ref(),
            "--notifications".as_ref(),
            "off".as_ref(),
            "--config".as_ref(),
            config.as_ref(),
            "--pods".as_ref(),
            pods.as_os_str(),
        ]);
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with("headroom: error:"))
            .unwrap();
        assert!(
            line.contains("--pods") && line.contains(&pods.display().to_string()),
            "{line}"
        );
    }
}

#[test]
fn empty_and_binary_inputs_to_status_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, b"  \n").unwrap();
    let binary = tmp.path().join("binary.json");
    std::fs::write(&binary, [0xff_u8, 0xfe, 0x00, 0x7b]).unwrap();
    let summary = Path::new("tests/fixtures/status/pressure/summary.json");
    let cases = [
        ("--summary", &empty, "the file is empty"),
        ("--summary", &binary, "not a text file"),
        ("--pods", &empty, "the file is empty"),
        ("--pods", &binary, "not a text file"),
    ];
    for (flag, file, why) in cases {
        let mut args = vec!["status".as_ref(), flag.as_ref(), file.as_os_str()];
        if flag == "--pods" {
            args.extend(["--summary".as_ref(), summary.as_os_str()]);
        }
        let run = headroom(args);
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        let line = run.stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.contains(&file.display().to_string()) && line.contains(why),
            "{flag}: {line}"
        );
    }
}

#[test]
fn agent_once_works_next_to_a_running_agent() {
    // Hold an ephemeral port the way a running agent holds 127.0.0.1:9464.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    sample_tree(&host);
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/min-reclaim/kubelet-config.yaml"
    );
    let run = headroom([
        "agent".as_ref(),
        "--once".as_ref(),
        "--notifications".as_ref(),
        "off".as_ref(),
        "--listen".as_ref(),
        addr.as_ref(),
        "--root".as_ref(),
        host.as_os_str(),
        "--config".as_ref(),
        config.as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("decision "), "{}", run.stdout);
    drop(busy);
}

#[test]
fn agent_once_fails_when_its_only_pass_cannot_collect() {
    // An empty directory is no host root: the one pass `--once` makes has nothing to decide on,
    // and a script running it must see that in the exit status.
    let tmp = tempfile::tempdir().unwrap();
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/min-reclaim/kubelet-config.yaml"
    );
    let run = headroom([
        "agent".as_ref(),
        "--once".as_ref(),
        "--notifications".as_ref(),
        "off".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
        "--config".as_ref(),
        config.as_ref(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no decision line: {}", run.stdout);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("headroom: error:"))
        .unwrap();
    assert!(line.contains("collection failed"), "{line}");
    assert!(line.contains("does not look like a host root"), "{line}");
}

#[test]
fn simulate_says_so_when_the_timeline_has_no_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let timeline = tmp.path().join("timeline.yaml");
    std::fs::write(&timeline, "pods: []\nsteps: []\n").unwrap();
    let run = headroom(["simulate".as_ref(), "--timeline".as_ref(), timeline.as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("`steps` is empty"), "{}", run.stderr);
}
