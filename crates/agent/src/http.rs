//! The agent's HTTP endpoints: `/metrics`, `/stats/summary`, `/decision`, `/healthz`.
//!
//! Served by axum on a tokio *current-thread* runtime in its own OS thread, so the agent's
//! decision loop never waits on a scraper and the process stays small (one extra thread).
//!
//! Exposure: `/stats/summary` and `/decision` name every pod on the node with its memory, data
//! the kubelet serves only to authenticated clients. On a loopback address they are served; on
//! any other address (a DaemonSet's `0.0.0.0:9464`, reachable from every pod in the cluster) only
//! `/metrics` and `/healthz` are, unless the operator opts in (`--expose-details`); the refused
//! paths answer 403 saying how to get them.
//!
//! The listener caps and times out connections ([`crate::http_listener`]); if the server
//! ever ends (a panic, an error) the thread starts it again on the same socket.
//!
//! `/healthz` says whether the loop is doing its job ([`crate::health`]), not only that this
//! thread is alive.

use crate::health::Health;
use crate::http_listener::GuardedListener;
use crate::metrics::{CLASSIC_CONTENT_TYPE, Metrics, OPENMETRICS_CONTENT_TYPE, wants_openmetrics};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Pause before the server is started again after it ended.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// What the loop publishes for the HTTP side: the latest Summary and decision, pre-serialized
/// (a scrape then costs one clone of a string, not a serialization under the lock).
#[derive(Default)]
pub struct Published {
    pub summary_json: Option<String>,
    pub decision_json: Option<String>,
}

/// State shared between the decision loop and the HTTP server.
#[derive(Clone, Default)]
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub published: Arc<Mutex<Published>>,
    pub health: Arc<Health>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared::default()
    }

    pub(crate) fn publish_summary(&self, json: String) {
        if let Ok(mut p) = self.published.lock() {
            p.summary_json = Some(json);
        }
    }

    pub(crate) fn publish_decision(&self, json: String) {
        if let Ok(mut p) = self.published.lock() {
            p.decision_json = Some(json);
        }
    }
}

/// The router, separate from the listener so tests can drive it directly.
pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/stats/summary", get(summary))
        .route("/decision", get(decision))
        .route("/healthz", get(healthz))
        .with_state(shared)
}

/// Serve the per-pod endpoints (`/stats/summary`, `/decision`) on `addr`? Always on loopback;
/// elsewhere only when `expose_details` (`--expose-details`).
pub fn serves_details(addr: SocketAddr, expose_details: bool) -> bool {
    expose_details || addr.ip().is_loopback()
}

/// Paths that name pods: served on loopback or with `--expose-details` only.
const DETAIL_PATHS: [&str; 2] = ["/stats/summary", "/decision"];

/// [`router`] for a listener on `addr`: without details, [`DETAIL_PATHS`] answer 403 (a
/// layer over the same router, so every other endpoint stays exactly as [`router`] serves it).
fn router_for(shared: Shared, addr: SocketAddr, expose_details: bool) -> Router {
    if serves_details(addr, expose_details) {
        return router(shared);
    }
    router(shared).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            if !DETAIL_PATHS.contains(&req.uri().path()) {
                return next.run(req).await;
            }
            (
                StatusCode::FORBIDDEN,
                format!(
                    "not served on {addr}: /stats/summary and /decision name every pod and its \
                     memory, so on an address other than loopback only /metrics and /healthz are \
                     served; restart the agent with --expose-details to serve them here, or ask \
                     127.0.0.1\n"
                ),
            )
                .into_response()
        },
    ))
}

async fn metrics(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let om = wants_openmetrics(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let body = shared.metrics.render(om);
    let ct = if om {
        OPENMETRICS_CONTENT_TYPE
    } else {
        CLASSIC_CONTENT_TYPE
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body).into_response()
}

async fn healthz(State(shared): State<Shared>) -> Response {
    match shared.health.verdict() {
        Ok(text) => format!("{text}\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {why}\n")).into_response(),
    }
}

fn json_or_503(body: Option<String>, what: &str) -> Response {
    match body {
        Some(b) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            b,
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no {what} yet: the agent has not completed its first pass\n"),
        )
            .into_response(),
    }
}

async fn summary(State(shared): State<Shared>) -> Response {
    let body = shared.published.lock().ok().and_then(|p| p.summary_json.clone());
    json_or_503(body, "summary")
}

async fn decision(State(shared): State<Shared>) -> Response {
    let body = shared.published.lock().ok().and_then(|p| p.decision_json.clone());
    json_or_503(body, "decision")
}

/// Bind `addr` now (so a busy port is reported at start-up, naming the address) and serve in
/// a background thread. Returns the bound address. The per-pod endpoints (`/stats/summary`,
/// `/decision`) are served only on loopback unless `expose_details` (see the module docs).
pub fn spawn_exposed(addr: SocketAddr, shared: Shared, expose_details: bool) -> anyhow::Result<SocketAddr> {
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (--listen): {e}"))?;
    std_listener.set_nonblocking(true)?;
    let bound = std_listener.local_addr()?;
    std::thread::Builder::new()
        .name("headroom-http".into())
        .spawn(move || supervise(std_listener, bound, shared, expose_details))?;
    Ok(bound)
}

/// Serve until the server ends, then start it again on the same socket (forever): an agent
/// whose `/healthz` is refused while it lives on gets restarted by nobody.
fn supervise(std_listener: std::net::TcpListener, bound: SocketAddr, shared: Shared, expose_details: bool) {
    loop {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve_once(&std_listener, shared.clone(), bound, expose_details)
        }));
        let why = match run {
            Ok(Ok(())) => "it returned".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "it panicked".to_string(),
        };
        tracing::error!(
            "HTTP server on {bound} stopped ({why}); starting it again in {}s",
            RESTART_PAUSE.as_secs()
        );
        shared.metrics.faults.http_restarts.inc();
        std::thread::sleep(RESTART_PAUSE);
    }
}

/// One run of the server on a fresh runtime (timers on: accept back-off and the connection
/// timeouts need them).
fn serve_once(
    std_listener: &std::net::TcpListener,
    shared: Shared,
    bound: SocketAddr,
    expose_details: bool,
) -> anyhow::Result<()> {
    let listener = std_listener.try_clone()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = GuardedListener::new(tokio::net::TcpListener::from_std(listener)?);
        axum::serve(listener, router_for(shared, bound, expose_details)).await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{accept}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn endpoints_serve_published_state_and_negotiate_the_metrics_format() {
        let shared = Shared::new();
        let addr = spawn_exposed("127.0.0.1:0".parse().unwrap(), shared.clone(), false).unwrap();
        assert!(get(addr, "/healthz", None).ends_with("ok (starting)\n"));
        assert!(get(addr, "/decision", None).starts_with("HTTP/1.1 503"));
        shared.publish_decision("{\"evicted\":null}".into());
        shared.publish_summary("{\"node\":{}}".into());
        let d = get(addr, "/decision", None);
        assert!(d.starts_with("HTTP/1.1 200"), "{d}");
        assert!(d.ends_with("{\"evicted\":null}"));
        assert!(get(addr, "/stats/summary", None).ends_with("{\"node\":{}}"));

        shared.metrics.inc_eviction("memory.available");
        let classic = get(addr, "/metrics", None);
        assert!(classic.contains("text/plain; version=0.0.4"), "{classic}");
        assert!(classic.contains("# TYPE headroom_evictions_total counter"));
        let om = get(
            addr,
            "/metrics",
            Some("application/openmetrics-text; version=1.0.0"),
        );
        assert!(om.contains("application/openmetrics-text"), "{om}");
        assert!(om.contains("# EOF"));
    }

    #[test]
    fn a_non_loopback_listener_serves_only_metrics_and_health_unless_told() {
        let shared = Shared::new();
        shared.publish_decision("{\"evicted\":null}".into());
        shared.publish_summary("{\"node\":{}}".into());
        // 0.0.0.0 is not loopback; the test still connects through 127.0.0.1.
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let local = |a: SocketAddr| SocketAddr::from(([127, 0, 0, 1], a.port()));
        let closed = local(spawn_exposed(any, shared.clone(), false).unwrap());
        for path in ["/stats/summary", "/decision"] {
            let r = get(closed, path, None);
            assert!(r.starts_with("HTTP/1.1 403"), "{path}: {r}");
            assert!(r.contains("--expose-details"), "{r}");
            assert!(!r.contains("evicted") && !r.contains("node"), "{r}");
        }
        assert!(get(closed, "/metrics", None).starts_with("HTTP/1.1 200"));
        // Health is served (a fresh agent says "ok (starting)": see crate::health).
        assert!(get(closed, "/healthz", None).starts_with("HTTP/1.1 200"));

        let open = local(spawn_exposed(any, shared.clone(), true).unwrap());
        assert!(get(open, "/stats/summary", None).ends_with("{\"node\":{}}"));
        assert!(get(open, "/decision", None).ends_with("{\"evicted\":null}"));
        assert!(serves_details("127.0.0.1:9464".parse().unwrap(), false));
        assert!(serves_details("[::1]:9464".parse().unwrap(), false));
        assert!(!serves_details("10.0.0.7:9464".parse().unwrap(), false));
    }
}
