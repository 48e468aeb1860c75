//! The closing sections: "What you can do" (the advice) and "Notes" (what is unknown, config
//! warnings, and in the verbose view what the collection skipped).

use std::fmt::Write as _;

use super::{Style, wrap};
use crate::status::report::StatusReport;

pub(super) fn advice(out: &mut String, r: &StatusReport, style: Style) {
    if r.advice.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("What you can do"));
    for a in &r.advice {
        wrap(out, "  - ", "    ", &a.text);
        let _ = writeln!(out, "    {}:", a.place);
        for line in a.config.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out.push('\n');
}

/// Whether a config warning belongs in the brief view: it concerns memory, or the file
/// itself (not what the kubelet reads, a key written twice, a misspelt field or value).
fn about_memory(w: &headroom_core::lint::Warning) -> bool {
    const ABOUT_THE_FILE: [&str; 4] = [
        "missing-kind",
        "duplicate-key",
        "misspelled-field",
        "suspicious-quantity",
    ];
    w.message.contains("memory") || w.code.contains("memory") || ABOUT_THE_FILE.contains(&w.code)
}

pub(super) fn notes(out: &mut String, r: &StatusReport, style: Style) {
    let warnings: Vec<_> = r
        .config_warnings
        .iter()
        .filter(|w| style.verbose || about_memory(w))
        .collect();
    let skipped: &[String] = if style.verbose { &r.skipped } else { &[] };
    if r.notes.is_empty() && skipped.is_empty() && warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Notes"));
    for n in &r.notes {
        wrap(out, "  - ", "    ", n);
    }
    for w in warnings {
        wrap(
            out,
            "  - config: ",
            "    ",
            &format!("{} [{}]", w.message, w.code),
        );
    }
    for s in skipped {
        wrap(out, "  - skipped ", "    ", s);
    }
    out.push('\n');
}
