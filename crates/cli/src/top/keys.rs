//! The view state (scroll, help, pause) and what each key does to it. Pure: the terminal loop
//! feeds it key events, the TestBackend tests feed it the same.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the loop does after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Draw again (the view changed, or nothing did).
    Redraw,
    /// Sample now, then draw.
    Refresh,
    Quit,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewState {
    /// The first pod row shown (0 = the first pod in eviction order).
    pub scroll: usize,
    /// The help overlay is open.
    pub help: bool,
    /// Refreshing is paused: the frame stays as it is for reading.
    pub paused: bool,
    /// Pod rows the last frame had room for (a page, for PgUp/PgDn and the scroll limit).
    pub page: usize,
}

impl ViewState {
    /// Apply one key; `pods` is how many pods the list holds.
    pub fn on_key(&mut self, key: KeyEvent, pods: usize) -> Action {
        // Key releases and repeats are reported only by terminals with the kitty protocol.
        if key.kind == KeyEventKind::Release {
            return Action::Redraw;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let page = self.page.max(1);
        match key.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('q') => return Action::Quit,
            // Esc closes the help first; with nothing open it quits, like q.
            KeyCode::Esc if self.help => self.help = false,
            KeyCode::Esc => return Action::Quit,
            KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => self.help = !self.help,
            KeyCode::Char('p') | KeyCode::Char(' ') => self.paused = !self.paused,
            KeyCode::Char('r') => return Action::Refresh,
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(page),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::End | KeyCode::Char('G') => self.scroll = usize::MAX,
            _ => {}
        }
        self.clamp(pods);
        Action::Redraw
    }

    /// Keep the last page full: scrolling stops when the last pod is on the bottom row.
    pub fn clamp(&mut self, pods: usize) {
        self.scroll = self.scroll.min(pods.saturating_sub(self.page.max(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn scrolling_stays_within_the_list() {
        let mut s = ViewState {
            page: 10,
            ..ViewState::default()
        };
        assert_eq!(s.on_key(key(KeyCode::Down), 25), Action::Redraw);
        assert_eq!(s.scroll, 1);
        s.on_key(key(KeyCode::Char('k')), 25);
        s.on_key(key(KeyCode::Char('k')), 25);
        assert_eq!(s.scroll, 0);
        s.on_key(key(KeyCode::PageDown), 25);
        assert_eq!(s.scroll, 10);
        s.on_key(key(KeyCode::End), 25);
        assert_eq!(s.scroll, 15, "the last pod on the bottom row");
        s.on_key(key(KeyCode::Char('j')), 25);
        assert_eq!(s.scroll, 15);
        s.on_key(key(KeyCode::Home), 25);
        assert_eq!(s.scroll, 0);
        // Fewer pods than a page: nothing to scroll.
        s.on_key(key(KeyCode::Down), 3);
        assert_eq!(s.scroll, 0);
    }

    #[test]
    fn esc_closes_the_help_before_it_quits() {
        let mut s = ViewState::default();
        s.on_key(key(KeyCode::Char('?')), 0);
        assert!(s.help);
        assert_eq!(s.on_key(key(KeyCode::Esc), 0), Action::Redraw);
        assert!(!s.help);
        assert_eq!(s.on_key(key(KeyCode::Esc), 0), Action::Quit);
        assert_eq!(s.on_key(key(KeyCode::Char('q')), 0), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(s.on_key(ctrl_c, 0), Action::Quit);
        assert_eq!(s.on_key(key(KeyCode::Char('c')), 0), Action::Redraw);
    }

    #[test]
    fn p_pauses_and_r_refreshes() {
        let mut s = ViewState::default();
        s.on_key(key(KeyCode::Char('p')), 0);
        assert!(s.paused);
        assert_eq!(s.on_key(key(KeyCode::Char('r')), 0), Action::Refresh);
        s.on_key(key(KeyCode::Char('p')), 0);
        assert!(!s.paused);
    }
}
