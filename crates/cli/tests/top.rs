//! `headroom top` end to end.
//!
//! * `--once` snapshots: a cgroup v1 tree (the fake host: a pods cgroup under allocatable
//!   pressure, more pods than fit) and a cgroup v2 tree (one pod per QoS class, systemd names),
//!   at 80 columns and at 120; a flight recording as the history, read while it is written;
//!   bad input; a closed stdout.
//! * The interactive view driven in tmux (`send-keys`, `capture-pane`) at 80x24 on this host:
//!   a `--root` tree (help, scroll, pause, resize, quit, SIGTERM, and the terminal given back
//!   each time), and, as root on cgroup v1, a test pods cgroup with a pod allocating memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../linux/tests/common/cgroups.rs"]
mod cgroups;
#[path = "common/fake_host.rs"]
mod fake_host;
#[path = "common/record.rs"]
mod record;
#[path = "common/run.rs"]
mod run;
#[path = "common/status_trees.rs"]
mod status_trees;

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use run::headroom;

const BIN: &str = env!("CARGO_BIN_EXE_headroom");
const MIB: u64 = 1 << 20;

/// The fake v1 host (allocatable 62 MiB < 100Mi) with 12 more BestEffort pods, so that the
/// list scrolls at 80x24; its pods file names them all.
fn v1_tree(dir: &Path) -> (PathBuf, PathBuf) {
    fake_host::host(dir);
    std::fs::create_dir_all(dir.join("proc/sys/kernel")).unwrap();
    std::fs::write(dir.join("proc/sys/kernel/hostname"), "node-v1\n").unwrap();
    let mem = dir.join("sys/fs/cgroup/memory/kubepods/besteffort");
    let mut items = vec![
        serde_json::json!({"metadata": {"name": "db", "namespace": "prod", "uid": "g-1"},
         "spec": {"priority": 1000, "containers": [{"name": "db", "resources": {
             "requests": {"memory": "128Mi", "cpu": "1"}, "limits": {"memory": "128Mi", "cpu": "1"}}}]}}),
        serde_json::json!({"metadata": {"name": "batch", "namespace": "jobs", "uid": "be-1"},
         "spec": {"priority": 0, "containers": [{"name": "b"}]}}),
    ];
    for i in 0..12u64 {
        let uid = format!("x-{i:02}");
        fake_host::memcg(&mem.join(format!("pod{uid}")), (i + 1) * MIB, 0, u64::MAX >> 1);
        fake_host::memcg(
            &mem.join(format!("pod{uid}/ctr")),
            (i + 1) * MIB,
            0,
            u64::MAX >> 1,
        );
        items.push(
            serde_json::json!({"metadata": {"name": format!("cron-{i:02}"), "namespace": "jobs", "uid": uid},
            "spec": {"priority": 0, "containers": [{"name": "c"}]}}),
        );
    }
    let pods = dir.join("pods.json");
    std::fs::write(
        &pods,
        serde_json::json!({"kind": "PodList", "items": items}).to_string(),
    )
    .unwrap();
    (pods, fake_host::config(dir))
}

/// `hh:mm:ss UTC` (this host's clock, in the header of a tree without a capture time) as
/// `<TIME>`, and the temporary root as `<ROOT>`.
fn redact(text: &str, root: &Path) -> String {
    let text = text.replace(root.to_str().unwrap(), "<ROOT>");
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if let Some(at) = line.find(" UTC")
            && at >= 8
            && line.is_char_boundary(at - 8)
            && line[at - 8..at].chars().all(|c| c.is_ascii_digit() || c == ':')
        {
            line.replace_range(at - 8..at, "<TIME>");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn assert_plain(text: &str, width: usize) {
    for line in text.lines() {
        assert!(line.chars().count() <= width, "over {width} columns: {line:?}");
        assert!(!line.contains('\x1b'), "escape code: {line:?}");
    }
}

fn once(root: &Path, extra: &[&str]) -> String {
    let mut args = vec!["top", "--once", "--root", root.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = headroom(&args);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    run.stdout
}

#[test]
fn once_on_a_v1_tree_under_allocatable_pressure() {
    let tmp = tempfile::tempdir().unwrap();
    let (pods, config) = v1_tree(tmp.path());
    let (pods, config) = (pods.to_str().unwrap(), config.to_str().unwrap());
    let text = once(tmp.path(), &["--pods", pods, "--config", config]);
    assert_plain(&text, 80);
    // Every pod is in the frame (no --height): 14 pods, the BestEffort batch evicted now.
    assert!(text.contains("pods in eviction order: 1-14 of 14"), "{text}");
    assert!(text.contains(">  1 jobs/batch"), "{text}");
    assert!(
        text.contains("conditions: MemoryPressure · evicting now: jobs/batch\n"),
        "{text}"
    );
    let wide = once(
        tmp.path(),
        &["--pods", pods, "--config", config, "--width", "100"],
    );
    assert!(
        wide.contains("evicting now: jobs/batch (allocatableMemory.available)"),
        "{wide}"
    );
    insta::assert_snapshot!("once_v1_80", redact(&text, tmp.path()));

    // --height 24 lays it out as an 80x24 terminal: the list is cut, not the frame.
    let text = once(
        tmp.path(),
        &["--pods", pods, "--config", config, "--height", "24"],
    );
    assert_eq!(text.lines().count(), 24);
    assert!(text.contains("pods in eviction order: 1-"), "{text}");
    assert!(
        !text.contains("jobs/cron-00"),
        "the last pod is below the fold: {text}"
    );
}

#[test]
fn once_on_a_v2_tree_at_80_and_120_columns() {
    let tmp = tempfile::tempdir().unwrap();
    status_trees::v2_tree(tmp.path(), true);
    let pods = status_trees::pods_file(tmp.path());
    let pods = pods.to_str().unwrap();
    let narrow = once(tmp.path(), &["--pods", pods]);
    assert_plain(&narrow, 80);
    assert!(narrow.contains("node-v2"), "{narrow}");
    assert!(narrow.contains("Guar") && narrow.contains("Burst") && narrow.contains("BE"));
    insta::assert_snapshot!("once_v2_80", redact(&narrow, tmp.path()));
    let wide = once(tmp.path(), &["--pods", pods, "--width", "120"]);
    assert_plain(&wide, 120);
    assert!(
        wide.contains("Guaranteed") && wide.contains("over req."),
        "{wide}"
    );
    // The pods cgroup's own split is drawn under the node's.
    assert!(wide.contains("pods /kubepods.slice"), "{wide}");
    insta::assert_snapshot!("once_v2_120", redact(&wide, tmp.path()));
}

#[test]
fn once_draws_the_history_of_a_recording_while_it_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (pods, config) = v1_tree(tmp.path());
    let rec = tmp.path().join("rec");
    let mut recorder = record::spawn_record(tmp.path(), &rec, &pods, &config, "100ms");
    let mut lines = BufReader::new(recorder.stdout.take().unwrap()).lines();
    let mut passes = 0;
    while passes < 3 {
        if lines.next().unwrap().unwrap().starts_with("decision") {
            passes += 1;
        }
    }
    // The recorder goes on writing while top reads (SQLite WAL): twice, a few passes apart.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let args = [
            "top",
            "--once",
            "--root",
            tmp.path().to_str().unwrap(),
            "--pods",
            pods.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--recording",
            rec.to_str().unwrap(),
            "--height",
            "24",
        ];
        let run = headroom(args);
        assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
        let title = run
            .stdout
            .lines()
            .find(|l| l.starts_with("allocatableMemory.available vs hard <100Mi"))
            .unwrap_or_else(|| panic!("no chart title: {}", run.stdout))
            .to_string();
        let n: usize = title
            .split(" passes")
            .next()
            .and_then(|t| {
                t.strip_prefix("allocatableMemory.available vs hard <100Mi · last 10m · recording: ")
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{title}"));
        seen.push(n);
        for _ in 0..3 {
            lines.next();
        }
    }
    recorder.kill().unwrap();
    recorder.wait().unwrap();
    assert!(seen[0] >= 3, "{seen:?}");
    assert!(
        seen[1] > seen[0],
        "the second read sees the passes committed since: {seen:?}"
    );
}

#[test]
fn bad_input_exits_2_with_the_flag_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, config) = v1_tree(tmp.path());
    let root = tmp.path().to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--once", "--recording", "/nonexistent/rec"], "--recording"),
        (
            &["--once", "--interval", "0s"],
            "--interval \"0s\": must be more than zero",
        ),
        (&["--once", "--history", "ten minutes"], "--history"),
        (&["--once", "--width", "12"], "--width 12: at least 40 columns"),
        // Not a terminal, and no --once: say what to use.
        (&["--config", config.to_str().unwrap()], "headroom top --once"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["top", "--root", root];
        all.extend_from_slice(args);
        let run = headroom(&all);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    }
}

#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let tmp = tempfile::tempdir().unwrap();
    v1_tree(tmp.path());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["top", "--once", "--root"])
        .arg(tmp.path())
        .stdout(Stdio::from(writer))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

// ---------------------------------------------------------------------------------------
// In a terminal: tmux

/// A tmux server of our own (its own socket), holding one shell at 80x24; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` (one skip line) when tmux is missing, unless HEADROOM_REQUIRE_KERNEL_TESTS=1.
    fn start(test: &str) -> Option<Tmux> {
        let found = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            if std::env::var("HEADROOM_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
                panic!("{test}: HEADROOM_REQUIRE_KERNEL_TESTS=1 but tmux is not installed");
            }
            let _ = writeln!(std::io::stderr(), "skipping {test}: tmux is not installed");
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let tmux = Tmux {
            socket: format!("headroom-top-{}-{nanos}", std::process::id()),
        };
        tmux.run(&["new-session", "-d", "-x", "80", "-y", "24", "env PS1='$ ' sh"]);
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type `keys` (tmux key names: `Enter`, `Escape`, `C-c`, or literal text).
    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "0"])
    }

    /// The screen once `ready` holds for it (at most 15 s).
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid of the program the shell is running (`top`), from the pane's shell.
    fn foreground_child(&self) -> i32 {
        let shell = self.run(&["display-message", "-p", "-t", "0", "#{pane_pid}"]);
        let shell = shell.trim();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children.split_whitespace().next().unwrap().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Run `top ARGS` in the shell; after it ends the shell prints `exit=STATUS` and
/// `tty=icanon,echo,` when the terminal is back in canonical mode with echo (what raw mode
/// turns off), each on a line of its own.
fn start_top(tmux: &Tmux, args: &str) -> String {
    tmux.send(&["clear", "Enter"]);
    tmux.wait_for("a clear screen", |s| s.trim() == "$");
    tmux.send(&[
        &format!(
            "{BIN} top {args}; echo \"exit=$?\"; echo \"tty=$(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ,)\""
        ),
        "Enter",
    ]);
    tmux.wait_for("the first frame", |s| s.starts_with("headroom top ·"))
}

/// After top ended: exit 0, the terminal given back (icanon and echo on again), the main
/// screen back (the alternate screen left).
fn assert_restored(tmux: &Tmux) {
    let screen = tmux.wait_for("the shell", |s| {
        s.lines().any(|l| l.starts_with("tty=") && l.ends_with(','))
    });
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    assert!(lines.contains(&"exit=0"), "{screen}");
    assert!(lines.contains(&"tty=icanon,echo,"), "{screen}");
    assert!(
        !screen.contains("headroom top ·"),
        "left the alternate screen: {screen}"
    );
}

#[test]
fn in_tmux_at_80x24_keys_work_and_the_terminal_is_given_back() {
    let Some(tmux) = Tmux::start("top in tmux") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (pods, config) = v1_tree(tmp.path());
    let args = format!(
        "--root {} --pods {} --config {} --interval 200ms",
        tmp.path().display(),
        pods.display(),
        config.display()
    );
    let screen = start_top(&tmux, &args);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines.len() <= 24 && lines.iter().all(|l| l.chars().count() <= 80),
        "{screen}"
    );
    assert!(
        screen.contains("allocatableMemory.available") && screen.contains("MET"),
        "{screen}"
    );
    assert!(screen.contains("evicting now: jobs/batch"), "{screen}");
    assert!(screen.contains("? help  q quit"), "{screen}");
    let title = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("pods in eviction order"))
            .map(str::to_string)
    };
    assert!(
        title(&screen).unwrap().starts_with("pods in eviction order: 1-"),
        "{screen}"
    );

    tmux.send(&["j", "j", "j"]);
    tmux.wait_for("scrolled 3", |s| {
        title(s).is_some_and(|t| t.starts_with("pods in eviction order: 4-"))
    });
    tmux.send(&["End"]);
    tmux.wait_for("the last pod", |s| s.contains("jobs/cron-00"));
    tmux.send(&["?"]);
    tmux.wait_for("the help", |s| s.contains("keys and legend"));
    tmux.send(&["Escape"]);
    tmux.wait_for("the help closed", |s| !s.contains("keys and legend"));
    tmux.send(&["p"]);
    tmux.wait_for("paused", |s| s.contains("PAUSED (p resumes)"));
    tmux.send(&["p"]);
    tmux.wait_for("running", |s| !s.contains("PAUSED"));
    // A larger window: wide columns, the pods cgroup's split.
    tmux.run(&["resize-window", "-t", "0", "-x", "130", "-y", "50"]);
    tmux.wait_for("the wide layout", |s| {
        s.contains("over req.") && s.contains("pods /kubepods")
    });
    tmux.run(&["resize-window", "-t", "0", "-x", "80", "-y", "24"]);
    tmux.wait_for("the narrow layout", |s| s.contains("work.set"));
    tmux.send(&["q"]);
    assert_restored(&tmux);

    // Ctrl-C (a key in raw mode), and SIGTERM from outside: the terminal is given back too.
    start_top(&tmux, &args);
    tmux.send(&["C-c"]);
    assert_restored(&tmux);
    start_top(&tmux, &args);
    let pid = tmux.foreground_child();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_restored(&tmux);
}

#[test]
fn in_tmux_on_the_live_host_with_a_test_pods_cgroup() {
    if cgroups::skip_unless_kernel("top on a live pods cgroup") {
        return;
    }
    let Some(tmux) = Tmux::start("top on a live pods cgroup") else {
        return;
    };
    let mut cg = cgroups::TestCgroups::new("top");
    std::fs::write(cg.base.join("memory.limit_in_bytes"), (512 * MIB).to_string()).unwrap();
    let stamp = std::process::id();
    let uid = format!("top-e-{stamp}");
    let ctr = cg.mkdir(&format!("besteffort/pod{uid}/ctr"));
    let child = Command::new("sh")
        .arg("-c")
        .arg(cgroups::in_cgroup(&ctr, &format!("{BIN} worker alloc --mib 64")))
        .spawn()
        .unwrap();
    cg.adopt(child);
    let tmp = tempfile::tempdir().unwrap();
    let pods = tmp.path().join("pods.json");
    std::fs::write(
        &pods,
        serde_json::json!({"kind": "PodList", "items": [
            {"metadata": {"name": "hog", "namespace": "top-test", "uid": uid},
             "spec": {"containers": [{"name": "c"}]}}]})
        .to_string(),
    )
    .unwrap();
    let config = fake_host::config(tmp.path());
    let args = format!(
        "--pod-cgroup-root {} --pods {} --config {} --interval 300ms",
        cg.name,
        pods.display(),
        config.display()
    );
    start_top(&tmux, &args);
    // The pod appears with its working set once the allocator has touched its 64 MiB.
    let working_set = |line: &str| -> Option<f64> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "MiB")?;
        words.get(at.checked_sub(1)?)?.parse().ok()
    };
    let screen = tmux.wait_for("the pod at 64 MiB", |s| {
        s.lines()
            .any(|l| l.contains("top-test/hog") && working_set(l).is_some_and(|w| w >= 64.0))
    });
    assert!(screen.contains("pods in eviction order: 1-1 of 1"), "{screen}");
    // The test pods cgroup has a limit: allocatable is observed (448 MiB or so available).
    let line = screen
        .lines()
        .find(|l| l.starts_with("allocatableMemory.available"))
        .unwrap();
    assert!(line.contains("MiB") && line.contains("headroom"), "{line}");
    tmux.send(&["q"]);
    assert_restored(&tmux);
}
