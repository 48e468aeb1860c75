//! Kubernetes Events against a local HTTP server on 127.0.0.1 that plays the API server: the
//! Event for an eviction on the pod, and the node's warnings for a memory threshold within
//! reach and met, with the kubelet's reasons and messages, from real `synchronize` decisions.
//! Under the default features the Events are sent as plain HTTP/1.1; with `k8s` (the CLI's
//! default build) through the kube client too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/api_server.rs"]
mod api_server;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use headroom_agent::events::{self, Event, Events};
use headroom_core::Timestamp;
use headroom_core::config::KubeletConfig;
use headroom_core::manager::{self, ManagerState, SyncInputs};
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use headroom_core::summary::Summary;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

async fn capture(
    State(seen): State<Seen>,
    Path(ns): Path<String>,
    body: String,
) -> (axum::http::StatusCode, String) {
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    seen.lock().unwrap().push((ns, v));
    (axum::http::StatusCode::CREATED, body)
}

fn fake_api() -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/api/v1/namespaces/{ns}/events", post(capture))
        .with_state(seen.clone());
    (api_server::serve_in_background(app), seen)
}

/// Wait (bounded) until the server has seen `n` Events.
fn wait_for(seen: &Seen, n: usize) -> Vec<(String, serde_json::Value)> {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        let got = seen.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the server saw {:?}, wanted {n} Events", seen.lock().unwrap());
}

/// The node at `available_mi`, its stats taken at second `second` (a new time per sync: the
/// kubelet acts only on updated stats).
fn summary(available_mi: i64, second: i64) -> Summary {
    let mi = 1i64 << 20;
    let json = serde_json::json!({
        "node": {
            "nodeName": "node-a",
            "memory": {
                "time": format!("2026-12-01T10:00:{second:02}Z"),
                "availableBytes": available_mi * mi,
                "usageBytes": 4096 * mi - available_mi * mi,
                "workingSetBytes": 4096 * mi - available_mi * mi
            }
        },
        "pods": []
    });
    serde_json::from_value(json).unwrap()
}

fn pod() -> Pod {
    let mut p = Pod::default();
    p.metadata.name = "batch-1".into();
    p.metadata.namespace = "jobs".into();
    p.metadata.uid = "u-batch".into();
    p
}

/// Decisions at 150Mi available (within reach of 100Mi) and at 90Mi (met).
fn decisions() -> (Vec<headroom_core::threshold::Threshold>, Vec<manager::Decision>) {
    let kc = KubeletConfig::parse(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  memory.available: \"100Mi\"\n",
        "kc.yaml",
    )
    .unwrap();
    let eviction = kc.eviction().unwrap();
    let mut state = ManagerState::new();
    let t0 = Timestamp::from_second(1_796_119_200).unwrap();
    let mut out = Vec::new();
    for (i, avail) in [150, 90].into_iter().enumerate() {
        let s = summary(avail, 10 * i as i64);
        out.push(manager::synchronize(
            &mut state,
            &eviction,
            SyncInputs {
                summary: &s,
                active_pods: &[],
                now: t0 + jiff::SignedDuration::from_secs(10 * i as i64),
                fs_topology: FsTopology::default(),
                pod_cgroup_root: "/kubepods",
            },
        ));
    }
    (eviction.thresholds.clone(), out)
}

fn check(got: &[(String, serde_json::Value)]) {
    let pod_ev = got
        .iter()
        .find(|(_, e)| e["involvedObject"]["kind"] == "Pod")
        .expect("no pod Event");
    assert_eq!(pod_ev.0, "jobs");
    assert_eq!(pod_ev.1["reason"], "Evicted");
    assert_eq!(pod_ev.1["type"], "Warning");
    assert_eq!(pod_ev.1["involvedObject"]["name"], "batch-1");
    assert_eq!(pod_ev.1["involvedObject"]["uid"], "u-batch");
    assert!(
        pod_ev.1["message"]
            .as_str()
            .unwrap()
            .starts_with("The node was low on resource: memory. Threshold quantity: 100Mi"),
        "{}",
        pod_ev.1
    );
    assert_eq!(pod_ev.1["source"]["component"], "headroom-agent");
    assert_eq!(pod_ev.1["source"]["host"], "node-a");

    let node: Vec<_> = got
        .iter()
        .filter(|(_, e)| e["involvedObject"]["kind"] == "Node")
        .collect();
    assert_eq!(node.len(), 2, "{got:?}");
    assert!(
        node.iter().all(|(ns, e)| ns == "default"
            && e["involvedObject"]["name"] == "node-a"
            && e["type"] == "Warning")
    );
    assert_eq!(node[0].1["reason"], "EvictionThresholdNear");
    let near = node[0].1["message"].as_str().unwrap();
    assert!(
        near.starts_with("memory.available is 150Mi (157286400 bytes), within 52428800 bytes of the hard eviction threshold 100Mi"),
        "{near}"
    );
    assert_eq!(node[1].1["reason"], "EvictionThresholdMet");
    assert_eq!(node[1].1["message"], "Attempting to reclaim memory");
}

/// Feed the recorder what the runner feeds it: two decisions (twice each: the repeat is
/// rate-limited) and one action.
fn drive(mut recorder: Events) {
    let (thresholds, decisions) = decisions();
    for d in &decisions {
        recorder.after_decision(d, &thresholds, false);
        recorder.after_decision(d, &thresholds, false);
    }
    let message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi. ";
    recorder.pod_acted(&pod(), message);
}

#[test]
fn eviction_and_node_warnings_reach_the_api_server_over_plain_http() {
    let (addr, seen) = fake_api();
    let sender = move |ev: &Event| {
        let reply = api_server::http_request(addr, "POST", &ev.path(), Some(&ev.body.to_string()));
        if reply.starts_with("HTTP/1.1 201") {
            Ok(())
        } else {
            Err(reply)
        }
    };
    drive(Events::spawn("node-a".into(), sender).unwrap());
    let got = wait_for(&seen, 3);
    std::thread::sleep(Duration::from_millis(50));
    check(&seen.lock().unwrap());
    assert_eq!(got.len(), 3);
}

#[test]
fn dry_run_says_nothing_was_reclaimed_by_headroom() {
    let (thresholds, decisions) = decisions();
    let w = events::node_warnings(&decisions[1], &thresholds, true);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].2
            .starts_with("Attempting to reclaim memory (headroom --action none"),
        "{w:?}"
    );
    assert!(events::node_warnings(&decisions[0], &thresholds, true)[0].1 == "EvictionThresholdNear");
}

#[cfg(feature = "k8s")]
#[test]
fn kube_client_creates_the_events() {
    let (addr, seen) = fake_api();
    let sender = events::kube_api::blocking_sender(move || async move {
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        kube::Client::try_from(config).map_err(|e| e.to_string())
    })
    .unwrap();
    drive(Events::spawn("node-a".into(), sender).unwrap());
    wait_for(&seen, 3);
    std::thread::sleep(Duration::from_millis(50));
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:?}");
    check(&got);
}
