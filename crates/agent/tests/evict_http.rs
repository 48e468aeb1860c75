//! The eviction request against a local HTTP server on 127.0.0.1 that plays the API server:
//! path, body and grace period as the server receives them. Under the default features the
//! request built by `eviction_request` is sent as plain HTTP/1.1; with `--features k8s` the same
//! server also receives it through the kube client (`actuator::kube_api::evict`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/api_server.rs"]
mod api_server;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use headroom_agent::actuator::eviction_request;
use std::sync::{Arc, Mutex};

type Seen = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

async fn capture(
    State(seen): State<Seen>,
    Path((ns, name)): Path<(String, String)>,
    body: String,
) -> (axum::http::StatusCode, String) {
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    seen.lock().unwrap().push((ns, name, v));
    (
        axum::http::StatusCode::CREATED,
        r#"{"kind":"Status","apiVersion":"v1","status":"Success"}"#.into(),
    )
}

/// Start the fake API server on a current-thread runtime in its own thread.
fn fake_api() -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/api/v1/namespaces/{ns}/pods/{name}/eviction", post(capture))
        .with_state(seen.clone());
    let addr = api_server::serve_in_background(app);
    (addr, seen)
}

fn check(seen: &Seen, ns: &str, name: &str, grace: i64) {
    let got = seen
        .lock()
        .unwrap()
        .pop()
        .expect("the server received no eviction");
    assert_eq!(got.0, ns);
    assert_eq!(got.1, name);
    assert_eq!(got.2["apiVersion"], "policy/v1");
    assert_eq!(got.2["kind"], "Eviction");
    assert_eq!(got.2["metadata"]["name"], name);
    assert_eq!(got.2["metadata"]["namespace"], ns);
    assert_eq!(got.2["deleteOptions"]["gracePeriodSeconds"], grace);
}

#[test]
fn eviction_request_reaches_the_api_path_with_body_and_grace() {
    let (addr, seen) = fake_api();
    let (path, body) = eviction_request("team-a", "web-7f9c", 1);
    let body = body.to_string();
    let reply = api_server::http_request(addr, "POST", &path, Some(&body));
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    check(&seen, "team-a", "web-7f9c", 1);
}

#[cfg(feature = "k8s")]
#[test]
fn kube_client_sends_the_eviction() {
    let (addr, seen) = fake_api();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        headroom_agent::actuator::kube_api::evict(&client, "team-b", "batch-1", 30)
            .await
            .unwrap();
    });
    check(&seen, "team-b", "batch-1", 30);
}
