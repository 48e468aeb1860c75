//! The text view of a [`StatusReport`]: sections a tired operator can read top to bottom,
//! at most 100 columns, colour only when asked for (a terminal without NO_COLOR).

use std::fmt::Write as _;

use super::build::amount;
use super::report::{Candidate, SignalArithmetic, StatusReport, ThresholdRow};
use super::units::{grouped, human_bytes};

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
    node_memory(&mut out, r, style);
    if style.verbose {
        arithmetic(&mut out, r, style);
    }
    thresholds(&mut out, r, style);
    eviction_order(&mut out, r, style);
    advice(&mut out, r, style);
    notes(&mut out, r, style);
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

fn node_memory(out: &mut String, r: &StatusReport, style: Style) {
    let m = &r.node_memory;
    let _ = writeln!(out, "{}", style.bold("Node memory"));
    let Some(split) = &m.split else {
        // --summary: only what the Summary carries.
        let _ = writeln!(
            out,
            "  {:<30}{:>11}",
            "capacity (MemTotal)",
            opt(m.capacity_bytes)
        );
        let _ = writeln!(out, "  {:<30}{:>11}", "usage", opt(m.usage_bytes));
        let _ = writeln!(
            out,
            "  {:<30}{:>11}",
            "working set (kubelet used)",
            opt(m.working_set_bytes)
        );
        match (m.working_set_bytes, m.rss_bytes) {
            (Some(ws), Some(rss)) => {
                let _ = writeln!(
                    out,
                    "  {:<30}{:>11}  estimate: working set - rssBytes",
                    "  active page cache",
                    h(ws.saturating_sub(rss))
                );
                let _ = writeln!(out, "  {:<30}{:>11}", "  anon (rssBytes)", h(rss.min(ws)));
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  {:<30}{:>11}",
                    "anon / page cache / kernel", "unknown (no rssBytes in the Summary)"
                );
            }
        }
        let _ = writeln!(
            out,
            "  {:<30}{:>11}",
            "inactive_file (usage - ws)",
            opt(m.inactive_file_bytes)
        );
        out.push('\n');
        return;
    };
    let free = m.free.as_ref();
    let f = |v: Option<u64>| v.map(h).unwrap_or_default();
    let _ = writeln!(out, "  {:<28}{:>11}  {:<18}{:>11}", "", "kubelet", "", "free");
    let row = |out: &mut String, label: &str, k: String, knote: &str, fr: String, fnote: &str| {
        let line = format!("  {label:<28}{k:>11}  {knote:<18}{fr:>11}  {fnote}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row(
        out,
        "total",
        opt(m.capacity_bytes),
        "MemTotal",
        f(free.map(|x| x.total_bytes)),
        "total",
    );
    row(
        out,
        "used",
        opt(m.working_set_bytes),
        "working set",
        f(free.map(|x| x.used_bytes)),
        "used = total - available",
    );
    row(
        out,
        "buff/cache",
        opt(split.cache_bytes),
        "page cache",
        f(free.map(|x| x.buff_cache_bytes)),
        "incl. reclaimable slab",
    );
    row(
        out,
        "  active_file",
        opt(split.active_file_bytes),
        "counted as used",
        String::new(),
        "",
    );
    row(
        out,
        "  inactive_file",
        opt(split.inactive_file_bytes),
        "ignored",
        String::new(),
        "",
    );
    let available = r.kubelet.memory_available.as_ref().map(|a| a.available_bytes);
    row(
        out,
        "available",
        available
            .map(|a| human_bytes(i128::from(a)))
            .unwrap_or_else(|| "?".into()),
        "memory.available",
        f(free.map(|x| x.available_bytes)),
        "available (MemAvailable)",
    );
    let mut parts = vec![format!("usage {}", opt(m.usage_bytes))];
    if let Some(a) = split.anon_bytes {
        parts.push(format!("anon {}", h(a)));
    }
    if let Some(c) = split.cache_bytes {
        parts.push(format!("page cache {}", h(c)));
    }
    if let Some(s) = split.shmem_bytes {
        parts.push(format!("shmem {} (inside page cache)", h(s)));
    }
    if let Some(k) = split.kernel_bytes {
        // The root cgroup's usage is synthesised from page cache + anon (v1) or anon + file
        // (v2): kernel memory is charged elsewhere and is not part of it.
        parts.push(format!("kernel {} (not in the node's usage)", h(k)));
    }
    wrap(out, "  ", "    ", &format!("split: {}", parts.join(", ")));
    out.push('\n');
}

fn arithmetic_lines(out: &mut String, a: &SignalArithmetic) {
    let cg = a
        .cgroup
        .as_deref()
        .map(|c| format!(" (cgroup {c})"))
        .unwrap_or_default();
    let _ = writeln!(out, "  {}{cg}", a.signal);
    match (a.usage_bytes, a.inactive_file_bytes) {
        (Some(u), Some(i)) => {
            let clamped = u.saturating_sub(i) != a.working_set_bytes;
            let _ = writeln!(
                out,
                "    working set = usage {} - inactive_file {} = {} ({}){}",
                grouped(i128::from(u)),
                grouped(i128::from(i)),
                grouped(i128::from(a.working_set_bytes)),
                h(a.working_set_bytes),
                if clamped { " [kubelet sample]" } else { "" }
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "    working set = {} ({})",
                grouped(i128::from(a.working_set_bytes)),
                h(a.working_set_bytes)
            );
        }
    }
    let _ = writeln!(
        out,
        "    available   = capacity {} - working set {} = {} ({})",
        grouped(i128::from(a.capacity_bytes)),
        grouped(i128::from(a.working_set_bytes)),
        grouped(i128::from(a.available_bytes)),
        human_bytes(i128::from(a.available_bytes))
    );
}

fn arithmetic(out: &mut String, r: &StatusReport, style: Style) {
    let _ = writeln!(out, "{}", style.bold("The kubelet's arithmetic"));
    match &r.kubelet.memory_available {
        Some(a) => arithmetic_lines(out, a),
        None => {
            let _ = writeln!(
                out,
                "  memory.available: not observed (the Summary has no node memory)"
            );
        }
    }
    match &r.kubelet.allocatable_memory_available {
        Some(a) => arithmetic_lines(out, a),
        None => {
            let why = r
                .thresholds
                .iter()
                .find(|t| t.signal == headroom_core::signal::Signal::AllocatableMemoryAvailable)
                .and_then(|t| t.unobserved_reason.clone())
                .unwrap_or_else(|| {
                    if r.pods_cgroup.found {
                        "the pods cgroup has no memory limit".to_string()
                    } else if r.pods_cgroup.searched.is_empty() {
                        "no pods cgroup".to_string()
                    } else {
                        format!(
                            "no pods cgroup found (looked for {})",
                            r.pods_cgroup.searched.join(", ")
                        )
                    }
                });
            wrap(
                out,
                "  ",
                "    ",
                &format!("allocatableMemory.available: not observed: {why}"),
            );
        }
    }
    out.push('\n');
}

fn threshold_kind(t: &ThresholdRow) -> String {
    if t.hard {
        "hard".to_string()
    } else {
        format!("soft {}", t.grace_period)
    }
}

fn threshold_text(t: &ThresholdRow) -> String {
    match t.threshold {
        Some(v) if t.value.ends_with('%') => format!("{} = {}", t.value, amount(t.unit, v)),
        _ => t.value.clone(),
    }
}

fn thresholds(out: &mut String, r: &StatusReport, style: Style) {
    let title = match &r.source.config {
        // The header names the whole path; the file name is enough here and keeps the title
        // within 100 columns.
        Some(c) => format!(
            "Thresholds ({})",
            std::path::Path::new(c)
                .file_name()
                .map_or_else(|| c.clone(), |n| n.to_string_lossy().into_owned())
        ),
        None => "Thresholds (kubelet defaults)".to_string(),
    };
    let _ = writeln!(out, "{}", style.bold(&title));
    if r.thresholds.is_empty() {
        let _ = writeln!(out, "  none configured\n");
        return;
    }
    let _ = writeln!(
        out,
        "  {:<28}{:<12}{:<16}{:>11} {:>20}  state",
        "signal", "type", "threshold", "available", "headroom"
    );
    let shown = |t: &&ThresholdRow| style.verbose || t.signal.is_memory();
    for t in r.thresholds.iter().filter(shown) {
        let kind = threshold_kind(t);
        let th = threshold_text(t);
        match (t.available, t.headroom) {
            (Some(avail), Some(head)) => {
                let pct = t
                    .headroom_percent
                    .map(|p| format!(" ({p:.1}%)"))
                    .unwrap_or_default();
                let state = match t.met {
                    Some(true) if t.hard => style.red("MET"),
                    Some(true) => style.yellow("MET"),
                    _ => style.green("ok"),
                };
                let _ = writeln!(
                    out,
                    "  {:<28}{:<12}{:<16}{:>11} {:>20}  {state}",
                    t.signal.as_str(),
                    kind,
                    th,
                    amount(t.unit, avail),
                    format!("{}{pct}", amount(t.unit, head)),
                );
            }
            _ => {
                let line = format!("  {:<28}{:<12}{:<16}", t.signal.as_str(), kind, th);
                let why = t.unobserved_reason.as_deref().unwrap_or("no observation");
                wrap(
                    out,
                    &line,
                    &" ".repeat(58),
                    &style.dim(&format!("unobserved: {why}")),
                );
            }
        }
    }
    let mut drives: Vec<String> = Vec::new();
    for t in r.thresholds.iter().filter(|t| t.met == Some(true)) {
        let s = format!("{} (by {})", t.condition, t.signal);
        if !drives.contains(&s) {
            drives.push(s);
        }
    }
    let hidden = r.thresholds.iter().filter(|t| !shown(t)).count();
    if hidden > 0 {
        let met = r
            .thresholds
            .iter()
            .filter(|t| !shown(t) && t.met == Some(true))
            .count();
        wrap(
            out,
            "  ",
            "  ",
            &format!("{hidden} disk/pid threshold(s) not shown ({met} met): --verbose lists them."),
        );
    }
    let text = if drives.is_empty() {
        "Conditions set now: none (memory signals drive MemoryPressure, nodefs/imagefs \
         DiskPressure, pid PIDPressure)."
            .to_string()
    } else {
        format!("Conditions set now: {}.", drives.join(", "))
    };
    wrap(out, "  ", "  ", &text);
    out.push('\n');
}

/// Short words for the comparator that placed a pod before the next one, to fit the table.
fn short_rule(placed_by: &str) -> &str {
    match placed_by {
        "missingStats" => "no stats",
        "exceedsRequest" => "exceeds",
        "priority" => "priority",
        "usageOverRequest" => "over req",
        "processCount" => "processes",
        "tie" => "tie",
        _ => "",
    }
}

/// Width of the pod column in the eviction order.
const POD_COLUMN: usize = 24;

fn pod_label(c: &Candidate) -> String {
    let full = match (&c.namespace, &c.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => format!("uid {}", c.uid),
    };
    shorten_middle(&full, POD_COLUMN)
}

/// `text` cut to `width` characters by replacing its middle with `…`: pods of one namespace
/// and one deployment differ only at the end of their names (the ReplicaSet and pod hashes),
/// so both ends are kept.
fn shorten_middle(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width {
        return text.to_string();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

fn eviction_order(out: &mut String, r: &StatusReport, style: Style) {
    let e = &r.eviction_order;
    let listed = if style.verbose {
        e.pods.len()
    } else {
        e.pods.len().min(BRIEF_PODS)
    };
    let title = if e.total > listed {
        format!(
            "Eviction order if memory pressure happened now (top {} of {})",
            listed, e.total
        )
    } else {
        "Eviction order if memory pressure happened now".to_string()
    };
    let _ = writeln!(out, "{}", style.bold(&title));
    let rows = if style.verbose {
        e.pods.len()
    } else {
        e.pods.len().min(BRIEF_PODS)
    };
    if e.total == 0 {
        let _ = writeln!(out, "  no pods\n");
        return;
    }
    if e.pods.is_empty() {
        // --top 0: the count in the title is all that was asked for.
        out.push('\n');
        return;
    }
    wrap(out, "  ", "  ", &format!("rule: {}", e.rule));
    // "working set" in two lines: the column is as narrow as its numbers.
    let _ = writeln!(
        out,
        "  {:>3} {:<24} {:<10} {:>10} {:>9} {:>9} {:>10} {:<9} {:>6}",
        "#", "pod", "qos", "priority", "request", "working", "over req", "placed by", "active"
    );
    let _ = writeln!(
        out,
        "  {:>3} {:<24} {:<10} {:>10} {:>9} {:>9}",
        "", "", "", "", "", "set"
    );
    for c in e.pods.iter().take(rows) {
        let rank = if c.critical {
            format!("{}*", c.rank)
        } else {
            c.rank.to_string()
        };
        let signed = |v: i64| {
            let s = human_bytes(i128::from(v));
            if v > 0 { format!("+{s}") } else { s }
        };
        let line = format!(
            "  {:>3} {:<24} {:<10} {:>10} {:>9} {:>9} {:>10} {:<9} {:>6}",
            rank,
            pod_label(c),
            c.qos.as_deref().unwrap_or("?"),
            c.priority.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            c.request_bytes
                .map(|v| human_bytes(i128::from(v)))
                .unwrap_or_else(|| "?".into()),
            c.working_set_bytes.map(h).unwrap_or_else(|| "no stats".into()),
            c.over_request_bytes.map(signed).unwrap_or_else(|| "?".into()),
            short_rule(c.placed_by),
            c.active_file_percent
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "-".into()),
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    wrap(
        out,
        "  ",
        "  ",
        "placed by = the rule that put the pod ahead of the next one (tie: kept in input order).",
    );
    if e.pods.iter().any(|c| c.critical) {
        let _ = writeln!(out, "  * critical pod: ranked, but the kubelet never evicts it");
    }
    if e.pods.iter().take(rows).any(|c| c.active_file_percent.is_some()) {
        let estimated = e.pods.iter().take(rows).any(|c| c.active_file_estimated);
        wrap(
            out,
            "  ",
            "  ",
            &format!(
                "active = share of the pod's working set that is active page cache: counted by \
                 the kubelet, yet reclaimable by the kernel{}.",
                if estimated {
                    " (estimated from the Summary: working set - rssBytes)"
                } else {
                    ""
                }
            ),
        );
    }
    out.push('\n');
}

fn advice(out: &mut String, r: &StatusReport, style: Style) {
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

fn notes(out: &mut String, r: &StatusReport, style: Style) {
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

    #[test]
    fn long_pod_names_keep_both_ends() {
        let a = shorten_middle("payments-production/checkout-7f9c8b6d5f-x2k4q", 24);
        let b = shorten_middle("payments-production/checkout-7f9c8b6d5f-z9m1p", 24);
        assert_eq!(a.chars().count(), 24);
        assert_ne!(a, b);
        assert!(a.starts_with("payments-pro") && a.ends_with("5f-x2k4q"), "{a}");
        assert_eq!(shorten_middle("shop/web", 24), "shop/web");
    }
}
