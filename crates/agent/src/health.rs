//! Is the agent doing its job? What `/healthz` answers and the failure metrics say.
//!
//! An agent that runs but cannot see is worse than one that is down: it reports "no threshold
//! is met" forever. So `/healthz` fails (503, with the reason) when
//! * no pass has succeeded for [`stale_after`] (the loop stuck), or the last
//!   [`FAILURES_BEFORE_UNHEALTHY`] passes all failed to collect (a wrong `--root`), or
//! * the last pass could not observe a memory signal a threshold is configured on (no memory
//!   controller, no pod cgroup root: the agent is blind to that signal).
//!
//! While the agent is inside a kill's grace period or waiting for a pod to release its
//! processes, no pass runs, on purpose; the runner says how long that may take
//! ([`Health::busy_until`]) so a liveness probe does not restart it in the middle of a grace
//! period (a restart would start the grace again).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime};

type Labels = Vec<(String, String)>;

/// The signals whose blindness makes the agent unhealthy: the memory signals it exists for.
/// (Filesystem and pid signals unobserved are exported, not fatal: many nodes lack the runtime
/// directories the agent looks at.)
pub(crate) const MEMORY_SIGNALS: [&str; 2] = ["memory.available", "allocatableMemory.available"];

/// Consecutive failed passes after which `/healthz` fails at once (one failure can be a
/// transient read error; three in a row is a broken setup).
pub(crate) const FAILURES_BEFORE_UNHEALTHY: u32 = 3;

/// How old the last successful pass may be before `/healthz` fails: three periods, at least
/// 30 s (a slow pass on a loaded node is not an outage).
pub(crate) fn stale_after(period: Duration) -> Duration {
    (period * 3).max(Duration::from_secs(30))
}

/// Metrics about the agent's own failures (registered next to the others).
#[derive(Clone, Debug, Default)]
pub struct FaultMetrics {
    pub pass_failures: Family<Labels, Counter>,
    pub last_success_seconds: Gauge<f64, AtomicU64>,
    pub pods_source_errors: Counter,
    pub signal_unobserved: Family<Labels, Gauge>,
    pub log_lines_dropped: Counter,
    pub http_restarts: Counter,
}

impl FaultMetrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "headroom_pass_failures",
            "Passes that failed, by stage (stage=collect): no decision was made",
            self.pass_failures.clone(),
        );
        registry.register(
            "headroom_last_success_timestamp_seconds",
            "Unix time of the last pass that collected and decided",
            self.last_success_seconds.clone(),
        );
        registry.register(
            "headroom_pods_source_errors",
            "Pod source reads that failed (the last good list was kept)",
            self.pods_source_errors.clone(),
        );
        registry.register(
            "headroom_signal_unobserved",
            "1 if a threshold is configured on this signal but the last pass could not observe it (the agent is blind to it)",
            self.signal_unobserved.clone(),
        );
        registry.register(
            "headroom_log_lines_dropped",
            "Log and decision lines dropped because stdout/stderr did not keep up (the loop never waits for them)",
            self.log_lines_dropped.clone(),
        );
        registry.register(
            "headroom_http_server_restarts",
            "Times the HTTP server thread ended and was started again",
            self.http_restarts.clone(),
        );
    }
}

#[derive(Debug)]
struct State {
    period: Duration,
    started: Instant,
    last_success: Option<Instant>,
    last_failure: Option<String>,
    failures_in_a_row: u32,
    blind: Vec<String>,
    busy_until: Option<Instant>,
}

/// The loop's health, shared with the HTTP thread.
#[derive(Debug)]
pub struct Health {
    state: Mutex<State>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(crate::config::DEFAULT_PERIOD)
    }
}

impl Health {
    pub(crate) fn new(period: Duration) -> Health {
        Health {
            state: Mutex::new(State {
                period,
                started: Instant::now(),
                last_success: None,
                last_failure: None,
                failures_in_a_row: 0,
                blind: Vec::new(),
                busy_until: None,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-update; the data is plain values.
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    pub(crate) fn set_period(&self, period: Duration) {
        self.with(|s| s.period = period);
    }

    /// A pass collected and decided; `blind` names the memory signals it could not observe
    /// (with why), empty when it saw everything it needs.
    pub(crate) fn pass_ok(&self, blind: Vec<String>) {
        self.with(|s| {
            s.last_success = Some(Instant::now());
            s.last_failure = None;
            s.failures_in_a_row = 0;
            s.blind = blind;
            s.busy_until = None;
        });
    }

    pub(crate) fn pass_failed(&self, why: String) {
        self.with(|s| {
            s.last_failure = Some(why);
            s.failures_in_a_row += 1;
        });
    }

    /// No pass will run before `until` (a kill's grace period, a cleanup wait): not stale.
    pub(crate) fn busy_until(&self, until: Instant) {
        self.with(|s| s.busy_until = Some(until));
    }

    /// `Ok(text)` when healthy, `Err(reason)` otherwise (for `/healthz`).
    pub(crate) fn verdict(&self) -> Result<String, String> {
        self.with(|s| {
            let now = Instant::now();
            let bound = stale_after(s.period);
            let since = s.last_success.unwrap_or(s.started);
            let busy = s.busy_until.is_some_and(|b| now < b);
            if !busy && now.duration_since(since) > bound {
                let what = if s.last_success.is_some() {
                    "the last successful pass"
                } else {
                    "the start, and no pass has succeeded yet"
                };
                let cause = s
                    .last_failure
                    .as_deref()
                    .map(|f| format!("; last failure: {f}"))
                    .unwrap_or_default();
                return Err(format!(
                    "{}s since {what} (bound {}s){cause}",
                    now.duration_since(since).as_secs(),
                    bound.as_secs()
                ));
            }
            if s.failures_in_a_row >= FAILURES_BEFORE_UNHEALTHY {
                let last = s.last_failure.as_deref().unwrap_or("unknown");
                return Err(format!("the last {} passes failed: {last}", s.failures_in_a_row));
            }
            if !s.blind.is_empty() {
                return Err(format!("blind: {}", s.blind.join("; ")));
            }
            Ok(match (&s.last_failure, s.last_success) {
                (Some(f), _) => format!("ok (last pass failed: {f})"),
                (None, None) => "ok (starting)".to_string(),
                (None, Some(_)) => "ok".to_string(),
            })
        })
    }
}

/// The signals a threshold is configured on, each with whether the pass observed it; and the
/// memory ones it did not observe, with why (what `/healthz` reports as blind). `skipped` are
/// the collector's reasons for what it could not read.
pub(crate) fn unobserved(
    thresholds: &[headroom_core::threshold::Threshold],
    observations: &headroom_core::observe::Observations,
    skipped: &[headroom_linux::discovery::Skip],
) -> (Vec<(&'static str, bool)>, Vec<String>) {
    let mut all: Vec<(&'static str, bool)> = Vec::new();
    let mut blind = Vec::new();
    for t in thresholds {
        let name = t.signal.as_str();
        if all.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let seen = observations.get(t.signal).is_some();
        all.push((name, seen));
        if !seen && MEMORY_SIGNALS.contains(&name) {
            let why = skipped
                .first()
                .map(|s| format!(" ({}: {})", s.path.display(), s.reason))
                .unwrap_or_default();
            blind.push(format!("{name} has a threshold but is not observed{why}"));
        }
    }
    (all, blind)
}

/// Unix time now, for the last-success gauge.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_fails_when_blind_or_stale_and_not_during_a_grace_period() {
        let h = Health::new(Duration::from_millis(1));
        assert!(h.verdict().is_ok(), "starting");
        h.pass_ok(vec!["memory.available: no memory controller".into()]);
        assert!(h.verdict().unwrap_err().contains("blind: memory.available"));
        h.pass_ok(Vec::new());
        assert_eq!(h.verdict(), Ok("ok".to_string()));
        // Stale: shift the last success back past the bound (30 s floor).
        h.with(|s| s.last_success = Some(Instant::now() - Duration::from_secs(31)));
        h.pass_failed("collection failed: no /proc/meminfo".into());
        let err = h.verdict().unwrap_err();
        assert!(
            err.contains("since the last successful pass") && err.contains("no /proc/meminfo"),
            "{err}"
        );
        h.busy_until(Instant::now() + Duration::from_secs(60));
        assert!(h.verdict().is_ok(), "inside a grace period");
        h.pass_ok(Vec::new());
        for _ in 0..FAILURES_BEFORE_UNHEALTHY {
            assert!(h.verdict().is_ok());
            h.pass_failed("no /proc/meminfo".into());
        }
        assert!(h.verdict().unwrap_err().contains("the last 3 passes failed"));
    }

    #[test]
    fn the_bound_is_three_periods_and_at_least_30s() {
        assert_eq!(stale_after(Duration::from_secs(1)), Duration::from_secs(30));
        assert_eq!(stale_after(Duration::from_secs(20)), Duration::from_secs(60));
    }
}
