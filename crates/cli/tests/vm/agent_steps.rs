//! Where the agent's time goes in the VM race, from its own log (`agent.log`, info level):
//! the prepared kill's hot path (the re-read that found the crossing -> the first SIGTERM),
//! the preparation, the confirming pass, and the fast pass's collection. Shared by the race
//! bench (printed) and test (asserted). Durations are as Rust's `Debug` prints them.
#![allow(dead_code)]

/// A `Duration`'s `Debug` text (`533.67µs`, `4.83376ms`, `1.2s`, `0ns`) in ms.
pub fn debug_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ns") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("µs") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// The agent's steps, ms of guest time, one entry per event.
#[derive(Debug, Default)]
pub struct AgentSteps {
    /// Re-read that found the crossing -> the prepared kill's first SIGTERM.
    pub hot_path: Vec<f64>,
    /// How old the preparation was at the crossing.
    pub prepared_age: Vec<f64>,
    /// How long that preparation took (pod-level read, decision, rails, pidfds).
    pub prepared_in: Vec<f64>,
    /// The first SIGTERM -> the confirming pass's verdict line.
    pub to_verdict: Vec<f64>,
    /// The fast pass's collection (node, pods cgroup, pod cgroups).
    pub fast_collection: Vec<f64>,
    pub crossings: usize,
    pub confirmed: usize,
    pub disagreed: usize,
    pub unused: usize,
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// The line's timestamp, ns (kept whole: f64 ms of a Unix time lose the µs).
fn timestamp_ns(line: &str) -> Option<i128> {
    let t: jiff::Timestamp = line.split_once(' ')?.0.parse().ok()?;
    Some(t.as_nanosecond())
}

/// Read the steps out of the agent's log.
pub fn agent_steps(log: &str) -> AgentSteps {
    let mut s = AgentSteps::default();
    let mut fired_at = None;
    for line in log.lines() {
        if line.contains("notification: pods usage:") {
            s.crossings += 1;
        } else if let Some(rest) = line.split_once("prepared kill: SIGTERM to pod ").map(|x| x.1) {
            let hot = rest
                .split_once(" after the re-read")
                .and_then(|(before, _)| before.rsplit(' ').next())
                .and_then(debug_ms);
            s.hot_path.extend(hot);
            s.prepared_age
                .extend(between(rest, "; prepared ", " before, in ").and_then(debug_ms));
            s.prepared_in
                .extend(between(rest, " before, in ", ")").and_then(debug_ms));
            fired_at = timestamp_ns(line);
        } else if line.contains(": confirmed by the pass") || line.contains("DISAGREES with") {
            if line.contains("DISAGREES") {
                s.disagreed += 1;
            } else {
                s.confirmed += 1;
            }
            if let (Some(a), Some(b)) = (fired_at.take(), timestamp_ns(line)) {
                s.to_verdict.push((b - a) as f64 / 1e6);
            }
        } else if line.contains("prepared kill of pod") && line.contains(" not used: ") {
            s.unused += 1;
        } else if let Some(rest) = line.split_once("read without their containers in ").map(|x| x.1) {
            s.fast_collection.extend(debug_ms(rest));
        }
    }
    s
}
