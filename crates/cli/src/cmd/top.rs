//! `headroom top`: the live view of this node's memory against the kubelet's thresholds (the
//! view itself is in `crate::top`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use headroom_core::Timestamp;
use headroom_core::duration::parse_duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::cmd::bad_input;
use crate::cmd::summary::SourceArgs;
use crate::top::history::History;
use crate::top::keys::ViewState;
use crate::top::layout::{self, Mode, Needs};
use crate::top::model::Model;
use crate::top::recording::RecordingFeed;
use crate::top::sample::Sampler;
use crate::top::terminal::{Live, run as run_live};
use crate::top::widgets::{Theme, draw, signals};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Keys: ? help, q / Esc / Ctrl-C quit, ↑ ↓ j k PgUp PgDn Home End scroll the \
pods, p pause, r refresh now.\n\n\
Examples:\n  \
headroom top                                          # this node, kubelet default thresholds\n  \
headroom top --config /var/lib/kubelet/config.yaml --pods pods.json\n  \
headroom top --recording /var/lib/headroom/recording  # history from a running recorder\n  \
headroom top --once --width 100 --root ./capture      # one frame as text, for scripts"
)]
pub struct Args {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Pods on the node (`kubectl get pods -o json`): gives requests, priorities and names.
    /// Read once at start.
    #[arg(long, value_name = "PODS.json")]
    pub pods: Option<PathBuf>,

    /// KubeletConfiguration file (YAML or JSON), or the kubelet's /configz output. Default: the
    /// kubelet's default thresholds.
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: Option<PathBuf>,

    /// Time between refreshes (a Go duration: 1s, 500ms, 5s).
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub interval: String,

    /// Draw the history from this flight recording (`headroom agent --record DIR` or
    /// `headroom record DIR`), read-only while it is being written. Default: this view's own
    /// samples since it started.
    #[arg(long, value_name = "DIR")]
    pub recording: Option<PathBuf>,

    /// How far back the chart goes (a Go duration).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub history: String,

    /// Print one frame as plain text and exit (no keys, no escape codes): for scripts.
    #[arg(long)]
    pub once: bool,

    /// With --once: the frame's width in columns.
    #[arg(long, value_name = "COLUMNS", default_value_t = 80, requires = "once")]
    pub width: u16,

    /// With --once: the frame's height in rows, laid out as the terminal would be. Default:
    /// tall enough for every pod.
    #[arg(long, value_name = "ROWS", requires = "once")]
    pub height: Option<u16>,
}

/// The narrowest frame the sections can be laid out in.
const MIN_WIDTH: u16 = 40;

fn duration_flag(flag: &str, value: &str) -> anyhow::Result<i64> {
    let ns = parse_duration(value).map_err(|e| bad_input(format!("--{flag} {value:?}: {e}")))?;
    if ns <= 0 {
        return Err(bad_input(format!("--{flag} {value:?}: must be more than zero")));
    }
    Ok(ns)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let interval_ns = duration_flag("interval", &args.interval)?;
    let window_ns = duration_flag("history", &args.history)?;
    if args.width < MIN_WIDTH {
        return Err(bad_input(format!(
            "--width {}: at least {MIN_WIDTH} columns are needed",
            args.width
        )));
    }
    let mut feed = args.recording.as_deref().map(RecordingFeed::open).transpose()?;
    let sampler = Sampler::new(args.source, args.config.as_deref(), args.pods.as_ref())?;
    let mut model = Model::new(History::new(window_ns), args.interval.clone());
    if args.once {
        model.refresh(&sampler, feed.as_mut(), Timestamp::now());
        if let Some(e) = &model.sample_error {
            // Nothing to draw: the error alone, as `status` would say it.
            return Err(anyhow::anyhow!("{e}"));
        }
        let frame = once(&model, args.width, args.height);
        crate::output::stdout(&frame)?;
        return Ok(ExitCode::SUCCESS);
    }
    // https://no-color.org: a NO_COLOR that is present and not empty turns colour off.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    run_live(Live {
        sampler,
        feed,
        model,
        interval: Duration::from_nanos(u64::try_from(interval_ns).unwrap_or(u64::MAX)),
        theme: Theme {
            color: !no_color && std::io::stdout().is_terminal(),
        },
    })
}

/// One frame as text: `width` columns, `height` rows or as many as every section needs.
pub fn once(model: &Model, width: u16, height: Option<u16>) -> String {
    let height = height.unwrap_or_else(|| {
        model.snapshot.as_ref().map_or(3, |s| {
            layout::natural_height(Needs {
                signals: u16::try_from(signals::lines(&s.report, width, Theme { color: false }).len())
                    .unwrap_or(u16::MAX),
                pods_split: s.pods_cgroup.is_some(),
                pods: u16::try_from(s.report.eviction_order.pods.len()).unwrap_or(u16::MAX),
            })
        })
    });
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(never) => match never {},
    };
    let state = ViewState::default();
    let drawn = terminal.draw(|frame| {
        let area = frame.area();
        draw(
            area,
            frame.buffer_mut(),
            model,
            &state,
            Mode::Once,
            Theme { color: false },
        );
    });
    match drawn {
        Ok(_) => crate::top::plain::text(terminal.backend().buffer()),
        Err(never) => match never {},
    }
}
