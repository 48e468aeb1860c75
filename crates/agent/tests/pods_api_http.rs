//! The API pod source against a local HTTP server on 127.0.0.1 that plays the API server.
//! Under the default features the request built by `pods_request_path` is sent as plain
//! HTTP/1.1 and the answer converted; with `--features k8s` the kube client sends it
//! (`pods_api::kube_api`), and API failures keep the last good list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/api_server.rs"]
mod api_server;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use headroom_agent::pods_api::{pods_from_api_json, pods_request_path};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Fake {
    /// Raw query strings received.
    queries: Arc<Mutex<Vec<String>>>,
    /// Answer 503 instead of the list.
    failing: Arc<AtomicBool>,
}

const LIST: &str = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[
  {"metadata":{"name":"web-0","namespace":"shop","uid":"u-web"},
   "spec":{"nodeName":"node-a","priority":1000,
           "containers":[{"name":"app","resources":{"requests":{"memory":"64Mi"}}}]},
   "status":{"phase":"Running","qosClass":"Burstable"}},
  {"metadata":{"name":"done","namespace":"shop","uid":"u-done"},
   "spec":{"nodeName":"node-a"},"status":{"phase":"Failed"}}
]}"#;

async fn list(State(fake): State<Fake>, RawQuery(q): RawQuery) -> (axum::http::StatusCode, String) {
    fake.queries.lock().unwrap().push(q.unwrap_or_default());
    if fake.failing.load(Ordering::SeqCst) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd is down","reason":"ServiceUnavailable","code":503}"#.into(),
        );
    }
    (axum::http::StatusCode::OK, LIST.into())
}

/// Start the fake API server on a current-thread runtime in its own thread.
fn fake_api() -> (std::net::SocketAddr, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/api/v1/pods", get(list))
        .with_state(fake.clone());
    let addr = api_server::serve_in_background(app);
    (addr, fake)
}

fn check_query(fake: &Fake, node: &str) {
    let q = fake
        .queries
        .lock()
        .unwrap()
        .pop()
        .expect("the server received no list request");
    assert_eq!(
        q,
        format!("fieldSelector=spec.nodeName%3D{node}&resourceVersion=0")
    );
}

#[test]
fn pod_list_request_reaches_the_api_and_converts() {
    let (addr, fake) = fake_api();
    let path = pods_request_path("node-a");
    let reply = api_server::http_request(addr, "GET", &path, None);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    check_query(&fake, "node-a");
    let body = reply.split("\r\n\r\n").nth(1).unwrap();
    let pods = pods_from_api_json(body, "node-a").unwrap();
    assert_eq!(pods.len(), 1, "the Failed pod is not active");
    assert_eq!(pods[0].key(), "shop/web-0");
    assert_eq!(pods[0].spec.priority, Some(1000));
}

#[cfg(feature = "k8s")]
mod with_kube {
    use super::*;
    use headroom_agent::pods_api::{ApiPods, kube_api};
    use headroom_agent::pods_list::Refresh;
    use std::time::Duration;

    fn client_for(
        addr: std::net::SocketAddr,
    ) -> impl FnMut() -> std::future::Ready<Result<kube::Client, String>> + Send {
        move || {
            let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
            std::future::ready(kube_api::client_from(config))
        }
    }

    const WAIT: Duration = Duration::from_secs(20);

    #[test]
    fn kube_client_lists_this_nodes_pods_and_keeps_them_when_the_api_fails() {
        let (addr, fake) = fake_api();
        let lister = kube_api::blocking_lister(client_for(addr)).unwrap();
        let mut api = ApiPods::spawn("node-a".into(), Duration::from_millis(20), lister).unwrap();
        assert_eq!(api.wait_next(WAIT), Refresh::Reloaded { pods: 1 });
        check_query(&fake, "node-a");
        assert_eq!(api.pods()[0].key(), "shop/web-0");
        assert_eq!(
            api.pods()[0].spec.containers[0]
                .request("memory")
                .map(|q| q.value()),
            Some(64 << 20)
        );

        fake.failing.store(true, Ordering::SeqCst);
        let refresh = loop {
            match api.wait_next(WAIT) {
                Refresh::Reloaded { .. } => continue, // answered before the switch
                other => break other,
            }
        };
        match refresh {
            Refresh::KeptLastGood { error, pods } => {
                assert_eq!(pods, 1);
                assert!(
                    error.contains("/api/v1/pods") && error.contains("etcd is down"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(api.pods()[0].key(), "shop/web-0", "the last good list stays");

        fake.failing.store(false, Ordering::SeqCst);
        let refresh = loop {
            match api.wait_next(WAIT) {
                Refresh::Unchanged => continue, // the same outage, not reported again
                other => break other,
            }
        };
        assert_eq!(refresh, Refresh::Reloaded { pods: 1 });
    }

    #[test]
    fn an_unreachable_api_is_an_error_naming_the_request_and_lists_nothing() {
        // A port nothing listens on: bind, note it, close it.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let lister = kube_api::blocking_lister(client_for(addr)).unwrap();
        let mut api = ApiPods::spawn("node-b".into(), Duration::from_secs(3600), lister).unwrap();
        match api.wait_next(WAIT) {
            Refresh::KeptLastGood { error, pods } => {
                assert_eq!(pods, 0);
                assert!(
                    error.contains("spec.nodeName%3Dnode-b") && error.contains("unreachable"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(!api.loaded());
        assert!(
            api.pods().is_empty(),
            "no pod is a candidate until the API answers"
        );
    }
}
