//! The interactive loop: refresh every interval, draw, handle keys. The terminal (raw mode,
//! alternate screen, hidden cursor) is restored on every way out: quit, an error (the screen
//! guard's drop), a panic (ratatui's hook), SIGTERM/SIGHUP/SIGINT (flags checked between
//! events, at least every 250 ms).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use headroom_core::Timestamp;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::{DefaultTerminal, Terminal};

use super::keys::{Action, ViewState};
use super::layout::Mode;
use super::model::Model;
use super::recording::RecordingFeed;
use super::sample::Sampler;
use super::widgets::{Theme, draw};
use crate::cmd::bad_input;

/// How often signals are looked at while waiting for a key.
const SIGNAL_CHECK: Duration = Duration::from_millis(250);

/// The terminal in raw mode on the alternate screen; dropped, it is given back as it was.
struct Screen {
    terminal: DefaultTerminal,
}

impl Screen {
    fn enter() -> anyhow::Result<Screen> {
        match ratatui::try_init() {
            Ok(terminal) => Ok(Screen { terminal }),
            Err(e) => {
                // Raw mode may have been entered before the failure.
                ratatui::restore();
                Err(anyhow::Error::new(e).context("setting up the terminal"))
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        ratatui::restore();
    }
}

pub struct Live {
    pub sampler: Sampler,
    pub feed: Option<RecordingFeed>,
    pub model: Model,
    pub interval: Duration,
    pub theme: Theme,
}

pub fn run(mut live: Live) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(bad_input(
            "headroom top needs a terminal (stdin and stdout); for a script, use `headroom top --once`",
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let mut screen = Screen::enter()?;
    let mut state = ViewState::default();
    let mut next_refresh = Instant::now();
    let mut dirty = true;
    // `r` refreshes even while paused.
    let mut forced = false;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if (!state.paused && now >= next_refresh) || forced {
            forced = false;
            live.model
                .refresh(&live.sampler, live.feed.as_mut(), Timestamp::now());
            next_refresh = now + live.interval;
            dirty = true;
        }
        if dirty {
            draw_frame(&mut screen.terminal, &live.model, &mut state, live.theme)?;
            dirty = false;
        }
        let wait = if state.paused {
            SIGNAL_CHECK
        } else {
            next_refresh
                .saturating_duration_since(Instant::now())
                .min(SIGNAL_CHECK)
        };
        if !event::poll(wait)? {
            continue;
        }
        match on_event(&event::read()?, &mut state, &live.model) {
            Some(Action::Quit) => break,
            Some(Action::Refresh) => forced = true,
            Some(Action::Redraw) => dirty = true,
            None => {}
        }
    }
    drop(screen);
    Ok(ExitCode::SUCCESS)
}

/// Draw one frame on any backend (the terminal, or a TestBackend in tests); the page size it
/// had room for goes back into the state for scrolling.
pub fn draw_frame<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &Model,
    state: &mut ViewState,
    theme: Theme,
) -> Result<(), B::Error> {
    terminal.draw(|frame| {
        let area = frame.area();
        state.page = draw(area, frame.buffer_mut(), model, state, Mode::Interactive, theme);
    })?;
    Ok(())
}

/// What a terminal event does: a key goes to the view state, a resize redraws.
pub fn on_event(event: &Event, state: &mut ViewState, model: &Model) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => {
            let pods = model
                .snapshot
                .as_ref()
                .map_or(0, |s| s.report.eviction_order.pods.len());
            Some(state.on_key(*key, pods))
        }
        Event::Resize(..) => Some(Action::Redraw),
        _ => None,
    }
}
