//! Reading a cluster through a local fake API server: every node's three documents parsed,
//! a node whose kubelet is unreachable or too slow reported as such without stopping the
//! others, the label selector passed through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fake_api.rs"]
mod fake_api;

use fake_api::{Behaviour, GI, MI, default_configz, fake_node, four_nodes, synthetic_node};
use headroom_cluster::api::{Api, Credentials, connect};
use headroom_cluster::scan::{FailureKind, NodeReading, list_nodes, read_all};
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn plain(addr: std::net::SocketAddr, timeout: Duration) -> (tokio::runtime::Runtime, Api) {
    let rt = runtime();
    let api = rt
        .block_on(Api::plain(&format!("http://{addr}"), timeout))
        .unwrap();
    (rt, api)
}

fn read(rt: &tokio::runtime::Runtime, api: &Api, selector: Option<&str>) -> Vec<NodeReading> {
    rt.block_on(async {
        let nodes = list_nodes(api, selector).await.unwrap();
        read_all(api, nodes, 8, |r| r).await
    })
}

#[test]
fn every_node_is_read_and_the_unreachable_one_is_reported() {
    let (addr, _) = fake_api::serve(four_nodes(), 1);
    let (rt, api) = plain(addr, Duration::from_secs(10));
    let readings = read(&rt, &api, None);
    let names: Vec<&str> = readings.iter().map(|r| r.node.name.as_str()).collect();
    assert_eq!(names, ["node-custom", "node-down", "node-empty", "node-pressure"]);

    let by = |n: &str| readings.iter().find(|r| r.node.name == n).unwrap();
    let down = by("node-down").inputs.as_ref().unwrap_err();
    assert_eq!(down.kind, FailureKind::Unreachable);
    assert!(
        down.message.contains("503") && down.message.contains("no route to host"),
        "{down}"
    );
    assert!(down.path.starts_with("/api/v1/nodes/node-down/proxy/"), "{down}");

    let pressure = by("node-pressure").inputs.as_ref().unwrap();
    assert_eq!(pressure.summary.node.node_name, "node-pressure");
    assert_eq!(pressure.pods.len(), 12);
    assert_eq!(
        pressure.summary.node.memory.as_ref().unwrap().available_bytes,
        Some(80 * MI)
    );
    assert_eq!(by("node-pressure").node.memory_pressure.as_deref(), Some("True"));

    let custom = by("node-custom").inputs.as_ref().unwrap();
    let values: Vec<String> = custom
        .eviction
        .thresholds
        .iter()
        .filter(|t| t.signal.is_memory())
        .map(|t| headroom_core::threshold::format_threshold_value(&t.value))
        .collect();
    assert!(
        values.contains(&"10%".to_string()) && values.contains(&"5Gi".to_string()),
        "{values:?}"
    );

    let empty = by("node-empty").inputs.as_ref().unwrap();
    assert!(empty.pods.is_empty() && empty.summary.pods.is_empty());
}

#[test]
fn a_slow_kubelet_times_out_alone() {
    let mut nodes = four_nodes();
    nodes.push(fake_node(
        "node-slow",
        "False",
        synthetic_node("node-slow", 16 * GI, 8 * GI, 3, default_configz()),
        Behaviour::Slow(Duration::from_secs(30)),
    ));
    let (addr, _) = fake_api::serve(nodes, 1);
    let (rt, api) = plain(addr, Duration::from_millis(500));
    let readings = read(&rt, &api, None);
    assert_eq!(readings.len(), 5);
    let slow = readings.iter().find(|r| r.node.name == "node-slow").unwrap();
    let err = slow.inputs.as_ref().unwrap_err();
    assert_eq!(err.kind, FailureKind::Unreachable);
    assert!(err.message.contains("no answer within 0.5s"), "{err}");
    let good = readings.iter().filter(|r| r.inputs.is_ok()).count();
    assert_eq!(good, 3, "every other reachable node was read");
}

#[test]
fn the_label_selector_reaches_the_api_server() {
    let (addr, _) = fake_api::serve(four_nodes(), 1);
    let (rt, api) = plain(addr, Duration::from_secs(10));
    let readings = read(&rt, &api, Some("kubernetes.io/hostname=node-empty"));
    let names: Vec<&str> = readings.iter().map(|r| r.node.name.as_str()).collect();
    assert_eq!(names, ["node-empty"]);
}

#[test]
fn credentials_come_from_a_kubeconfig_and_its_context() {
    let (addr, served) = fake_api::serve(four_nodes(), 1);
    let tmp = tempfile::tempdir().unwrap();
    let path = fake_api::kubeconfig(tmp.path(), addr);
    let rt = runtime();
    let api = rt
        .block_on(connect(
            &Credentials {
                kubeconfig: Some(path.clone()),
                context: Some("fake".into()),
            },
            Duration::from_secs(10),
        ))
        .unwrap();
    let nodes = rt.block_on(list_nodes(&api, None)).unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(served.requests() >= 1);

    let err = rt
        .block_on(connect(
            &Credentials {
                kubeconfig: Some(path),
                context: Some("prod".into()),
            },
            Duration::from_secs(10),
        ))
        .err()
        .unwrap();
    assert!(err.contains("kubeconfig") && err.contains("prod"), "{err}");
}

#[test]
fn an_unreachable_api_server_fails_the_listing_with_the_request() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (rt, api) = plain(addr, Duration::from_secs(5));
    let err = rt.block_on(list_nodes(&api, None)).unwrap_err();
    assert!(err.contains("cannot list the nodes (GET /api/v1/nodes"), "{err}");
}

#[test]
fn a_document_that_is_not_what_it_should_be_is_a_bad_answer_naming_the_field() {
    let mut junk = synthetic_node("node-junk", 16 * GI, 8 * GI, 2, default_configz());
    junk.summary = r#"{"node": {"nodeName": "node-junk", "memory": {"availableBytes": "lots"}}}"#.into();
    let mut nodes = four_nodes();
    nodes.push(fake_node("node-junk", "False", junk, Behaviour::Up));
    let (addr, _) = fake_api::serve(nodes, 1);
    let (rt, api) = plain(addr, Duration::from_secs(10));
    let readings = read(&rt, &api, None);
    let junk = readings.iter().find(|r| r.node.name == "node-junk").unwrap();
    let err = junk.inputs.as_ref().unwrap_err();
    assert_eq!(err.kind, FailureKind::BadAnswer);
    assert_eq!(err.what, "Summary");
    assert!(err.message.contains("node.memory.availableBytes"), "{err}");
    assert_eq!(readings.iter().filter(|r| r.inputs.is_ok()).count(), 3);
}
