use super::*;

#[test]
fn other_kinds_and_stray_objects_are_not_pods() {
    // A kubelet Summary passed as the pods file used to become one nameless BestEffort pod.
    let summary = serde_json::json!({"node": {"nodeName": "n"}, "pods": []});
    let err = PodList::from_value(summary).unwrap_err().to_string();
    assert!(
        err.contains("expected a Pod") && err.contains("keys: node, pods"),
        "{err}"
    );
    let node = serde_json::json!({"kind": "Node", "metadata": {"name": "n"}});
    let err = PodList::from_value(node).unwrap_err().to_string();
    assert!(err.contains("kind: \"Node\""), "{err}");
    let nodes = serde_json::json!({"kind": "List", "items": [{"kind": "Pod"}, {"kind": "Node"}]});
    let err = PodList::from_value(nodes).unwrap_err().to_string();
    assert!(err.starts_with("item #1: ") && err.contains("Node"), "{err}");
}

#[test]
fn a_list_of_another_kind_is_not_a_pod_list() {
    // `kubectl get --raw /api/v1/nodes` items carry metadata and spec but no kind.
    let nodes = serde_json::json!({"kind": "NodeList", "items": [{"metadata": {"name": "n1"}, "spec": {}}]});
    let err = PodList::from_value(nodes).unwrap_err().to_string();
    assert!(err.contains("kind: \"NodeList\" is not a pod list"), "{err}");
    // `kubectl get --raw /api/v1/pods` items carry no kind either, but the list says PodList.
    let raw = serde_json::json!({"kind": "PodList", "items": [{"metadata": {"name": "a", "uid": "u"}}]});
    assert_eq!(PodList::from_value(raw).unwrap().items.len(), 1);
}

#[test]
fn uids_must_be_present_and_distinct() {
    let list = |items: serde_json::Value| PodList::from_value(items).unwrap();
    let ok = list(
        serde_json::json!([{"metadata": {"name": "a", "uid": "u1"}}, {"metadata": {"name": "b", "uid": "u2"}}]),
    );
    assert!(ok.check_uids().is_ok());
    let missing = list(
        serde_json::json!([{"metadata": {"name": "a", "uid": "u1"}}, {"metadata": {"name": "b", "namespace": "d"}}]),
    );
    let err = missing.check_uids().unwrap_err().to_string();
    assert!(
        err.starts_with("pod #1 (\"d/b\"): metadata.uid: missing"),
        "{err}"
    );
    let twice = list(
        serde_json::json!([{"metadata": {"name": "a", "uid": "u1"}}, {"metadata": {"name": "b", "uid": "u1"}}]),
    );
    let err = twice.check_uids().unwrap_err().to_string();
    assert!(
        err.contains("metadata.uid: \"u1\" appears twice (also pod #0)"),
        "{err}"
    );
}

#[test]
fn pods_without_kind_are_recognised_by_metadata_or_spec() {
    let bare = serde_json::json!([{"metadata": {"name": "a"}}, {"spec": {"containers": []}}]);
    assert_eq!(PodList::from_value(bare).unwrap().items.len(), 2);
    let one = serde_json::json!({"kind": "Pod", "metadata": {"name": "a", "namespace": "d"}});
    assert_eq!(PodList::from_value(one).unwrap().items[0].key(), "d/a");
    let empty = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": []});
    assert!(PodList::from_value(empty).unwrap().items.is_empty());
}

#[test]
fn reads_kubectl_pod_list() {
    let json = serde_json::json!({
        "apiVersion": "v1", "kind": "List",
        "items": [{
            "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                          "annotations": {"kubernetes.io/config.source": "api"}},
            "spec": {
                "priority": 0,
                "terminationGracePeriodSeconds": 30,
                "containers": [{"name": "app", "image": "nginx",
                    "resources": {"requests": {"memory": "100Mi", "cpu": "100m"}, "limits": {"memory": "1Gi"}}}],
                "initContainers": [{"name": "log", "restartPolicy": "Always"}],
                "overhead": {"memory": "10Mi"},
                "tolerations": [{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}],
                "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}, {"name": "cfg", "configMap": {"name": "x"}}]
            },
            "status": {"phase": "Running", "qosClass": "Burstable"}
        }]
    });
    let list = PodList::from_value(json).unwrap();
    let pod = &list.items[0];
    assert_eq!(pod.key(), "default/web");
    let req = pod.spec.containers[0]
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap();
    assert_eq!(req["memory"].value(), 104_857_600);
    assert_eq!(
        pod.spec.init_containers[0].restart_policy.as_deref(),
        Some("Always")
    );
    assert_eq!(
        pod.spec.volumes[0]
            .empty_dir
            .as_ref()
            .unwrap()
            .size_limit
            .unwrap()
            .value(),
        1 << 30
    );
    assert!(pod.spec.volumes[1].other_sources.contains_key("configMap"));
    assert_eq!(
        pod.status.as_ref().unwrap().qos_class.as_deref(),
        Some("Burstable")
    );
}

#[test]
fn container_statuses_give_runtime_ids() {
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "a"},
        "status": {"containerStatuses": [
            {"name": "app", "containerID": "containerd://9f8e", "ready": true},
            {"name": "waiting", "containerID": ""},
            {"name": "plain", "containerID": "b00c"}]}
    }))
    .unwrap();
    let ids: Vec<_> = pod
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .iter()
        .map(|c| (c.name.as_str(), c.runtime_id()))
        .collect();
    assert_eq!(
        ids,
        [("app", Some("9f8e")), ("waiting", None), ("plain", Some("b00c"))]
    );
    // Round trip keeps the API's key spelling.
    let json = serde_json::to_value(&pod).unwrap();
    assert_eq!(
        json["status"]["containerStatuses"][0]["containerID"],
        "containerd://9f8e"
    );
}

#[test]
fn accepts_single_pod_and_arrays_and_names_the_bad_item() {
    let one = PodList::from_value(serde_json::json!({"metadata": {"name": "a"}})).unwrap();
    assert_eq!(one.items.len(), 1);
    let arr = PodList::from_value(serde_json::json!([{"metadata": {"name": "a"}}, {}])).unwrap();
    assert_eq!(arr.items.len(), 2);
    let err =
        PodList::from_value(serde_json::json!({"items": [{}, {"spec": {"priority": "high"}}]})).unwrap_err();
    assert!(err.to_string().starts_with("pod #1: spec.priority: "), "{err}");
    assert!(PodList::from_value(serde_json::json!(3)).is_err());
}

#[test]
fn negative_requests_limits_and_overhead_are_refused_with_their_field() {
    let cases = [
        (
            serde_json::json!({"spec": {"containers": [{}, {"resources": {"requests": {"memory": "-1Mi"}}}]}}),
            "pod #0: spec.containers[1].resources.requests.memory: -1Mi is negative",
        ),
        (
            serde_json::json!({"spec": {"initContainers": [{"resources": {"limits": {"cpu": "-100m"}}}]}}),
            "pod #0: spec.initContainers[0].resources.limits.cpu: -100m is negative",
        ),
        (
            serde_json::json!({"spec": {"overhead": {"memory": "-5"}}}),
            "pod #0: spec.overhead.memory: -5 is negative",
        ),
    ];
    for (pod, want) in cases {
        let err = PodList::from_value(pod).unwrap_err().to_string();
        assert!(err.starts_with(want), "{err}");
    }
    let zero = serde_json::json!({"spec": {"containers": [{"resources": {"requests": {"memory": "0"}}}]}});
    assert!(PodList::from_value(zero).is_ok());
}
