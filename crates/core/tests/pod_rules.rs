//! Pod rules the eviction manager depends on: QoS, effective requests, critical pods.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_core::pod::{Pod, QosClass};
use serde_json::json;

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u"}, "spec": spec})).unwrap()
}

fn c(name: &str, requests: serde_json::Value, limits: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "resources": {"requests": requests, "limits": limits}})
}

#[test]
fn qos_classes() {
    assert_eq!(
        pod(json!({"containers": [{"name": "a"}]})).qos_class(),
        QosClass::BestEffort
    );
    let g = pod(
        json!({"containers": [c("a", json!({"cpu": "1", "memory": "1Gi"}), json!({"cpu": "1", "memory": "1Gi"}))]}),
    );
    assert_eq!(g.qos_class(), QosClass::Guaranteed);
    // Limits only: requests default to limits -> Guaranteed.
    let g2 = pod(json!({"containers": [c("a", json!({}), json!({"cpu": "1", "memory": "1Gi"}))]}));
    assert_eq!(g2.qos_class(), QosClass::Guaranteed);
    // Memory limit only: Burstable.
    let b = pod(json!({"containers": [c("a", json!({}), json!({"memory": "1Gi"}))]}));
    assert_eq!(b.qos_class(), QosClass::Burstable);
    // One guaranteed container plus one best-effort container: Burstable.
    let mixed = pod(json!({"containers": [
        c("a", json!({"cpu": "1", "memory": "1Gi"}), json!({"cpu": "1", "memory": "1Gi"})),
        {"name": "b"}
    ]}));
    assert_eq!(mixed.qos_class(), QosClass::Burstable);
    // Only non-QoS resources count as nothing: BestEffort.
    let eph = pod(json!({"containers": [c("a", json!({"ephemeral-storage": "1Gi"}), json!({}))]}));
    assert_eq!(eph.qos_class(), QosClass::BestEffort);
    // Zero requests do not count.
    let zero = pod(json!({"containers": [c("a", json!({"memory": "0"}), json!({}))]}));
    assert_eq!(zero.qos_class(), QosClass::BestEffort);
    // Pod-level resources decide.
    let pl =
        pod(json!({"resources": {"limits": {"cpu": "2", "memory": "2Gi"}}, "containers": [{"name": "a"}]}));
    assert_eq!(pl.qos_class(), QosClass::Guaranteed);
    // status.qosClass wins over the spec.
    let mut s = g.clone();
    s.status = serde_json::from_value(json!({"qosClass": "BestEffort"})).unwrap();
    assert_eq!(s.qos_class(), QosClass::BestEffort);
}

#[test]
fn effective_memory_request() {
    const MI: i64 = 1 << 20;
    let p = pod(json!({"containers": [
        c("a", json!({"memory": "100Mi"}), json!({})),
        c("b", json!({"memory": "50Mi"}), json!({}))
    ]}));
    assert_eq!(p.request("memory").value(), 150 * MI);
    // An init container bigger than the sum wins.
    let p = pod(
        json!({"containers": [c("a", json!({"memory": "100Mi"}), json!({}))],
        "initContainers": [c("init", json!({"memory": "300Mi"}), json!({}))]}),
    );
    assert_eq!(p.request("memory").value(), 300 * MI);
    // Sidecars add to the regular sum and to later init containers.
    let p = pod(
        json!({"containers": [c("a", json!({"memory": "100Mi"}), json!({}))],
        "initContainers": [
            {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"memory": "50Mi"}}},
            c("init", json!({"memory": "200Mi"}), json!({}))
        ]}),
    );
    // max(100 + 50, 200 + 50) = 250Mi
    assert_eq!(p.request("memory").value(), 250 * MI);
    // Sidecar declared after the init container does not run alongside it.
    let p = pod(
        json!({"containers": [c("a", json!({"memory": "100Mi"}), json!({}))],
        "initContainers": [
            c("init", json!({"memory": "200Mi"}), json!({})),
            {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"memory": "50Mi"}}}
        ]}),
    );
    assert_eq!(p.request("memory").value(), 200 * MI);
    // Overhead only when non-zero.
    let p = pod(
        json!({"overhead": {"memory": "10Mi"}, "containers": [c("a", json!({"memory": "100Mi"}), json!({}))]}),
    );
    assert_eq!(p.request("memory").value(), 110 * MI);
    let p = pod(json!({"overhead": {"memory": "10Mi"}, "containers": [{"name": "a"}]}));
    assert_eq!(p.request("memory").value(), 0);
    // Pod-level request replaces the container sum.
    let p = pod(json!({"resources": {"requests": {"memory": "1Gi"}},
        "containers": [c("a", json!({"memory": "100Mi"}), json!({}))]}));
    assert_eq!(p.request("memory").value(), 1024 * MI);
    // Limits default requests.
    let p = pod(json!({"containers": [c("a", json!({}), json!({"memory": "64Mi"}))]}));
    assert_eq!(p.request("memory").value(), 64 * MI);
    assert_eq!(p.limit("memory").unwrap().value(), 64 * MI);
    assert!(p.limit("ephemeral-storage").is_none());
}

#[test]
fn critical_pods() {
    let mut p = pod(json!({"containers": [{"name": "a"}]}));
    assert!(!p.is_critical());
    p.spec.priority = Some(1_999_999_999);
    assert!(!p.is_critical());
    p.spec.priority = Some(2_000_000_000);
    assert!(p.is_critical());
    let mut s = pod(json!({}));
    s.metadata
        .annotations
        .insert("kubernetes.io/config.source".into(), "api".into());
    assert!(!s.is_critical());
    s.metadata
        .annotations
        .insert("kubernetes.io/config.source".into(), "file".into());
    assert!(s.is_critical() && s.is_static());
    let mut m = pod(json!({}));
    m.metadata
        .annotations
        .insert("kubernetes.io/config.mirror".into(), "hash".into());
    assert!(m.is_critical() && m.is_mirror());
}
