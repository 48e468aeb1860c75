//! The text view of a [`StatusReport`]: sections a tired operator can read top to bottom,
//! at most 100 columns, colour only when asked for (a terminal without NO_COLOR).
//!
//! [`render`] puts the sections in order; each section lives with its helpers:
//! * [`memory`]: the node's memory beside `free`, and the kubelet's arithmetic (`--verbose`);
//! * [`thresholds`]: the thresholds table and the conditions they set;
//! * [`order`]: the eviction order table;
//! * [`notes`]: the advice, the notes and the config warnings.
//!
//! This module keeps the header, the styling and the line wrapper all sections share.

mod memory;
mod notes;
mod order;
mod thresholds;

use std::fmt::Write as _;

use super::report::StatusReport;
use super::units::human_bytes;

/// Lines are wrapped to this width.
pub const WIDTH: usize = 100;

/// ANSI styling, or none.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// The full view: the kubelet's arithmetic, every threshold, every pod asked for with
    /// `--top`, and every note. The brief view keeps what concerns memory.
    pub verbose: bool,
}

/// Pods the brief view lists at most.
const BRIEF_PODS: usize = 5;

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    fn red(self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
    fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }
    fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
}

pub fn render(r: &StatusReport, style: Style) -> String {
    let mut out = String::new();
    header(&mut out, r, style);
    memory::node_memory(&mut out, r, style);
    if style.verbose {
        memory::arithmetic(&mut out, r, style);
    }
    thresholds::thresholds(&mut out, r, style);
    order::eviction_order(&mut out, r, style);
    notes::advice(&mut out, r, style);
    notes::notes(&mut out, r, style);
    if !style.verbose {
        wrap(
            &mut out,
            "",
            "",
            &style.dim(
                "More with --verbose: the kubelet's arithmetic, every threshold, the whole \
                 eviction order asked for with --top, and every note.",
            ),
        );
    }
    out
}

fn h(v: u64) -> String {
    human_bytes(i128::from(v))
}

fn opt(v: Option<u64>) -> String {
    v.map(h).unwrap_or_else(|| "?".to_string())
}

/// Wrap `text` to `WIDTH`, first line prefixed by `first`, the rest by `indent`
/// (`headroom_core::text::wrap_into`: long words are cut, names not split at hyphens).
pub(crate) fn wrap(out: &mut String, first: &str, indent: &str, text: &str) {
    let mut wrapped = String::new();
    headroom_core::text::wrap_into(&mut wrapped, WIDTH, first, indent, &glue_units(text));
    out.push_str(&wrapped.replace(GLUE, " "));
}

/// Stands for a space that must not break a line (a private-use character: not whitespace to
/// the wrapper, one column wide, never in the report's own text).
const GLUE: char = '\u{E000}';

/// `3.0 GiB` stays on one line: the space between a number and its unit becomes [`GLUE`].
fn glue_units(text: &str) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(' ') {
        let (before, after) = (&rest[..i], &rest[i + 1..]);
        out.push_str(before);
        let number_before = before.ends_with(|c: char| c.is_ascii_digit());
        let unit_after = UNITS.iter().any(|u| {
            after
                .strip_prefix(u)
                .is_some_and(|tail| tail.is_empty() || tail.starts_with(|c: char| !c.is_ascii_alphanumeric()))
        });
        out.push(if number_before && unit_after { GLUE } else { ' ' });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn header(out: &mut String, r: &StatusReport, style: Style) {
    let node = if r.node_name.is_empty() {
        "(unnamed)"
    } else {
        &r.node_name
    };
    let time = r
        .time
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "time unknown".to_string());
    let _ = writeln!(out, "{} node {node}, {time}", style.bold("headroom status:"));
    // One fact per line, never wrapped: paths stay whole and output does not depend on
    // their length.
    let source = match (r.source.kind, &r.source.path) {
        ("live", _) => "this host (live)".to_string(),
        ("root", Some(p)) => format!("captured tree {p}"),
        ("summary", Some(p)) => format!("kubelet Summary {p}"),
        (k, _) => k.to_string(),
    };
    let layout = r
        .source
        .layout
        .as_deref()
        .map(|l| format!(", {l}"))
        .unwrap_or_default();
    let pods = match (r.source.pods, &r.source.pods_path) {
        ("podsFile", Some(p)) => p.clone(),
        ("cgroups", _) => "from the cgroup tree (no --pods: names, requests, priorities unknown)".into(),
        ("summary", _) => "from the Summary (no --pods: requests, priorities unknown)".into(),
        _ => "none found".to_string(),
    };
    let config = r
        .source
        .config
        .clone()
        .unwrap_or_else(|| "kubelet defaults (no --config)".into());
    let _ = writeln!(out, "  source  {source}{layout}");
    let _ = writeln!(out, "  pods    {pods}");
    let _ = writeln!(out, "  config  {config}");
    if let Some(policy) = r.policy {
        let _ = writeln!(out, "  policy  {}", super::policy::header_fact(policy));
    }
    out.push('\n');
    let pressure = r
        .conditions
        .contains(&headroom_core::signal::NodeCondition::MemoryPressure);
    let memory_unobserved = r
        .thresholds
        .iter()
        .filter(|t| t.signal.is_memory())
        .all(|t| t.met.is_none());
    let label = if pressure {
        style.red("MemoryPressure: YES")
    } else if memory_unobserved && r.thresholds.iter().any(|t| t.signal.is_memory()) {
        style.yellow("MemoryPressure: unknown")
    } else {
        style.green("MemoryPressure: no")
    };
    let _ = writeln!(out, "{label}");
    for line in &r.verdict_lines {
        wrap(out, "", "", line);
    }
    if let Some(v) = &r.policy_verdicts {
        super::policy::render_text(out, v, style.verbose);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_cuts_a_word_longer_than_a_line() {
        let pod = format!("{}/{}", "n".repeat(63), "p".repeat(90));
        let mut out = String::new();
        wrap(&mut out, "", "  ", &format!("First to go: {pod} (Burstable)."));
        for line in out.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        // Nothing is lost: joined back, the long word is whole.
        let joined: String = out.lines().map(str::trim).collect();
        assert!(joined.contains(&pod), "{out}");
        assert!(out.ends_with("(Burstable).\n"), "{out}");
    }

    #[test]
    fn a_number_and_its_unit_stay_on_one_line() {
        let mut out = String::new();
        let text = format!("{} 3.0 GiB of 12 B and 5 Bytes", "x".repeat(93));
        wrap(&mut out, "", "", &text);
        assert!(out.contains("\n3.0 GiB of"), "{out}");
        assert!(!out.contains(GLUE));
        assert!(out.contains("5 Bytes"), "{out}");
    }

    #[test]
    fn wrap_keeps_short_words_whole() {
        let mut out = String::new();
        let text = "word ".repeat(40);
        wrap(&mut out, "  - ", "    ", &text);
        assert!(
            out.lines()
                .all(|l| l.chars().count() <= WIDTH && l.ends_with("word")),
            "{out}"
        );
    }
}
