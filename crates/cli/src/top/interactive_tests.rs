//! The interactive view on a ratatui TestBackend: the layout at 80x24 and larger, and the keys
//! (help overlay, scroll, pause, quit) driven through the loop's own event handler and drawing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_core::Timestamp;
use headroom_core::config::KubeletConfig;
use headroom_core::pod::PodList;
use headroom_core::summary::Summary;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::history::{History, Point};
use super::keys::{Action, ViewState};
use super::model::Model;
use super::sample::Snapshot;
use super::terminal::{draw_frame, on_event};
use super::widgets::Theme;
use crate::status::build::build;
use crate::status::input::{MemorySplit, Source, StatusInput};

const MI: u64 = 1 << 20;
const PRESSURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/status/pressure");

/// The `status` pressure fixture (400Mi available against a hard 500Mi and a soft 1Gi, its
/// pods file), with 15 more pods so the list scrolls: 21 pods, the first evicted now.
fn model() -> Model {
    let text = std::fs::read_to_string(format!("{PRESSURE}/summary.json")).unwrap();
    let mut summary = Summary::parse_json(&text).unwrap();
    let template = summary.pods[0].clone();
    for i in 0..15u64 {
        let mut pod = template.clone();
        pod.pod_ref.name = format!("worker-{i:02}");
        pod.pod_ref.uid = format!("uid-worker-{i:02}");
        if let Some(m) = pod.memory.as_mut() {
            m.working_set_bytes = Some((10 + i) * MI);
        }
        summary.pods.push(pod);
    }
    // The pods file, with the 15 more: Burstable, 16Mi requested, priority 100.
    let mut pods: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{PRESSURE}/pods.json")).unwrap()).unwrap();
    for i in 0..15u64 {
        let pod = serde_json::json!({
            "metadata": {"name": format!("worker-{i:02}"), "namespace": "default", "uid": format!("uid-worker-{i:02}")},
            "spec": {"nodeName": "worker-3", "priority": 100, "containers": [
                {"name": "main", "resources": {"requests": {"memory": "16Mi"}}}]},
            "status": {"phase": "Running"},
        });
        pods["items"].as_array_mut().unwrap().push(pod);
    }
    let pods = PodList::from_value(pods).unwrap().items;
    let config = std::fs::read_to_string(format!("{PRESSURE}/kubelet.yaml")).unwrap();
    let eviction = KubeletConfig::parse(&config, "kubelet.yaml")
        .unwrap()
        .eviction()
        .unwrap();
    let input = StatusInput {
        source: Source::Summary("summary.json".into()),
        summary,
        pods: Some(pods),
        pods_origin: Some("pods.json".into()),
        eviction,
        config_origin: Some("kubelet.yaml".into()),
        config_warnings: Vec::new(),
        host: None,
    };
    let report = build(&input, usize::MAX);
    let memory = input.summary.node.memory.as_ref().unwrap();
    let node = MemorySplit {
        usage: memory.usage_bytes.unwrap(),
        working_set: memory.working_set_bytes.unwrap(),
        anon: memory.rss_bytes,
        active_file: Some(memory.working_set_bytes.unwrap() - memory.rss_bytes.unwrap()),
        ..MemorySplit::default()
    };
    let mut history = History::new(600_000_000_000);
    let t0 = report.time.unwrap();
    for s in 0..60i64 {
        let time = Timestamp::from_second(t0.as_second() - 590 + s * 10).unwrap();
        history.push(Point {
            time,
            memory: Some(i64::try_from(2000 * MI).unwrap() - s * 27 * i64::try_from(MI).unwrap()),
            allocatable: None,
            evicted: false,
        });
    }
    let mut model = Model::new(history, "1s".into());
    model.snapshot = Some(Snapshot {
        report,
        node,
        pods_cgroup: None,
    });
    model.taken_at = Some(t0);
    model
}

fn screen(terminal: &Terminal<TestBackend>) -> Vec<String> {
    super::plain::text(terminal.backend().buffer())
        .lines()
        .map(str::to_string)
        .collect()
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Feed one event through the loop's handler and draw again, as the loop does.
fn press(
    terminal: &mut Terminal<TestBackend>,
    model: &Model,
    state: &mut ViewState,
    event: Event,
) -> Option<Action> {
    let action = on_event(&event, state, model);
    draw_frame(terminal, model, state, Theme { color: true }).unwrap();
    action
}

fn pods_title(lines: &[String]) -> &str {
    lines
        .iter()
        .find(|l| l.starts_with("pods in eviction order"))
        .unwrap()
}

#[test]
fn at_80x24_every_section_is_on_screen() {
    let model = model();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut state = ViewState::default();
    draw_frame(&mut terminal, &model, &mut state, Theme { color: true }).unwrap();
    let lines = screen(&terminal);
    insta::assert_snapshot!("interactive_80x24", lines.join("\n"));
    assert!(lines[0].starts_with("headroom top · worker-3"), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("memory.available") && l.contains("MET"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("conditions: MemoryPressure · evicting now"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("working set") && l.contains("anon"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("not counted") && l.contains("inactive_file"))
    );
    assert!(lines.iter().any(|l| l.contains("own samples: 60")), "chart title");
    // Header, 3 threshold lines and conditions, split, chart: 7 pods fit; 14 scroll.
    assert_eq!(state.page, 7);
    assert!(pods_title(&lines).starts_with("pods in eviction order: 1-7 of 21"));
    assert!(lines[23].starts_with("? help  q quit"), "{:?}", lines[23]);
    assert!(lines[23].contains("14 more below"), "{:?}", lines[23]);
    assert!(lines.iter().all(|l| l.chars().count() <= 80));
}

#[test]
fn keys_scroll_open_the_help_pause_and_quit() {
    let model = model();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut state = ViewState::default();
    draw_frame(&mut terminal, &model, &mut state, Theme { color: true }).unwrap();
    for _ in 0..3 {
        assert_eq!(
            press(&mut terminal, &model, &mut state, key(KeyCode::Down)),
            Some(Action::Redraw)
        );
    }
    assert!(pods_title(&screen(&terminal)).starts_with("pods in eviction order: 4-10 of 21"));
    press(&mut terminal, &model, &mut state, key(KeyCode::Char('k')));
    assert!(pods_title(&screen(&terminal)).starts_with("pods in eviction order: 3-9 of 21"));
    press(&mut terminal, &model, &mut state, key(KeyCode::End));
    let lines = screen(&terminal);
    assert!(pods_title(&lines).starts_with("pods in eviction order: 15-21 of 21"));
    assert!(
        lines.iter().any(|l| l.contains("default/worker-00")),
        "the smallest pod comes last"
    );
    press(&mut terminal, &model, &mut state, key(KeyCode::Home));
    let lines = screen(&terminal);
    assert!(pods_title(&lines).starts_with("pods in eviction order: 1-7 of 21"));
    // The pod evicted now is first and marked.
    let first = lines
        .iter()
        .position(|l| l.starts_with("pods in eviction order"))
        .unwrap()
        + 2;
    assert!(lines[first].starts_with(">  1"), "{:?}", lines[first]);

    press(&mut terminal, &model, &mut state, key(KeyCode::Char('?')));
    let lines = screen(&terminal);
    assert!(
        lines.iter().any(|l| l.contains("headroom top: keys and legend")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("q  Esc  Ctrl-C  quit")));
    assert_eq!(
        press(&mut terminal, &model, &mut state, key(KeyCode::Esc)),
        Some(Action::Redraw)
    );
    assert!(!screen(&terminal).iter().any(|l| l.contains("keys and legend")));

    press(&mut terminal, &model, &mut state, key(KeyCode::Char('p')));
    let lines = screen(&terminal);
    assert!(lines[0].contains("PAUSED"), "{:?}", lines[0]);
    assert!(lines[23].starts_with("PAUSED (p resumes)"), "{:?}", lines[23]);
    assert_eq!(
        press(&mut terminal, &model, &mut state, key(KeyCode::Char('r'))),
        Some(Action::Refresh)
    );

    assert_eq!(
        press(&mut terminal, &model, &mut state, key(KeyCode::Char('q'))),
        Some(Action::Quit)
    );
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(
        press(&mut terminal, &model, &mut state, ctrl_c),
        Some(Action::Quit)
    );
    assert_eq!(
        press(&mut terminal, &model, &mut state, Event::Resize(100, 40)),
        Some(Action::Redraw)
    );
}

#[test]
fn a_large_terminal_shows_every_pod_and_wide_columns() {
    let model = model();
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let mut state = ViewState::default();
    draw_frame(&mut terminal, &model, &mut state, Theme { color: true }).unwrap();
    let lines = screen(&terminal);
    assert!(pods_title(&lines).starts_with("pods in eviction order: 1-21 of 21"));
    let header = lines.iter().find(|l| l.contains("placed by")).unwrap();
    assert!(header.contains("over req."), "wide columns: {header:?}");
    assert!(
        lines.iter().any(|l| l.contains("BestEffort")),
        "QoS unabbreviated"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" of ") && l.starts_with("memory.available"))
    );
    // The chart grew past its 80x24 size.
    let chart_title = lines.iter().position(|l| l.contains("own samples")).unwrap();
    let pods = lines
        .iter()
        .position(|l| l.starts_with("pods in eviction order"))
        .unwrap();
    assert!(pods - chart_title > 6, "chart rows: {}", pods - chart_title);
}

#[test]
fn small_and_odd_sizes_draw_without_panicking() {
    let model = model();
    let empty = Model::new(History::new(1), "1s".into());
    for (w, h) in [(80, 12), (40, 10), (20, 5), (1, 1), (0, 0), (300, 100)] {
        for m in [&model, &empty] {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            let mut state = ViewState {
                help: true,
                ..ViewState::default()
            };
            draw_frame(&mut terminal, m, &mut state, Theme { color: false }).unwrap();
        }
    }
}
