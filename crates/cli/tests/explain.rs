//! `headroom explain`: an eviction message, an evicted pod's JSON and the eviction Event's
//! JSON read back into their numbers, the ranking rule and what the message cannot tell.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/run.rs"]
mod run;
use run::{headroom, words};

const MESSAGE: &str = "The node was low on resource: memory. Threshold quantity: 2Gi, available: \
                       1476Mi. Container indexer was using 3000Mi, request is 512Mi, has larger \
                       consumption of memory. ";

#[test]
fn a_message_is_explained_number_by_number() {
    let run = headroom(["explain", MESSAGE]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = words(&run.stdout);
    assert!(
        out.contains("memory.available or allocatableMemory.available"),
        "{out}"
    );
    // 2Gi - 1476Mi = 572 MiB below the threshold; 3000Mi - 512Mi over the request.
    assert!(
        out.contains("2Gi (2,147,483,648 bytes); available 1476Mi (1,547,698,176 bytes): 572.0 MiB below it"),
        "{out}"
    );
    assert!(
        out.contains(
            "container indexer was using 3000Mi (working set), request 512Mi: 2.4 GiB over its request"
        ),
        "{out}"
    );
    assert!(
        out.contains("pods whose working set exceeds their memory request first"),
        "{out}"
    );
    assert!(
        out.contains("How much of the 2.9 GiB working set was active page cache"),
        "{out}"
    );
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    let json = headroom(["explain", MESSAGE, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["belowBytes"], 572i64 * 1024 * 1024);
    assert_eq!(v["overRequest"][0]["overBytes"], (3000i64 - 512) * 1024 * 1024);
    assert_eq!(v["parsed"]["containers"][0]["name"], "indexer");
}

#[test]
fn an_evicted_pods_json_adds_its_name_qos_and_priority() {
    let tmp = tempfile::tempdir().unwrap();
    let pod = serde_json::json!({
        "kind": "Pod",
        "metadata": {"name": "log-indexer-0", "namespace": "shop", "uid": "u1"},
        "spec": {"priority": 0, "containers": [{"name": "indexer",
            "resources": {"requests": {"memory": "512Mi"}}}]},
        "status": {"phase": "Failed", "reason": "Evicted", "message": MESSAGE},
    });
    let path = tmp.path().join("pod.json");
    std::fs::write(&path, pod.to_string()).unwrap();
    let run = headroom(["explain".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = words(&run.stdout);
    assert!(
        out.starts_with("headroom explain: shop/log-indexer-0 was evicted for memory pressure"),
        "{out}"
    );
    assert!(out.contains("It is Burstable with priority 0"), "{out}");

    // A pod that was not evicted: said, exit 2.
    let mut running = pod.clone();
    running["status"] = serde_json::json!({"phase": "Running"});
    std::fs::write(&path, running.to_string()).unwrap();
    let run = headroom(["explain".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("pod.json: no eviction message in it"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_event_shows_the_kubelets_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let event = serde_json::json!({
        "kind": "Event",
        "metadata": {"name": "x.1", "namespace": "shop", "annotations": {
            "offending_containers": "indexer", "offending_containers_usage": "3000Mi",
            "starved_resource": "memory"}},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "log-indexer-0"},
        "reason": "Evicted",
        "message": MESSAGE,
    });
    let path = tmp.path().join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let run = headroom(["explain".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = words(&run.stdout);
    assert!(out.contains("shop/log-indexer-0 was evicted"), "{out}");
    assert!(
        out.contains("annotation offending_containers_usage=3000Mi"),
        "{out}"
    );
}

#[test]
fn a_message_without_stats_says_the_pod_was_ranked_first() {
    let run = headroom(["explain", "The node was low on resource: memory. "]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = words(&run.stdout);
    assert!(
        out.contains("pods without stats are ranked first of all"),
        "{out}"
    );
}

#[test]
fn what_is_not_an_eviction_is_bad_input() {
    let run = headroom(["explain", "OOMKilled"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("neither an eviction message"),
        "{}",
        run.stderr
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("notes.txt");
    std::fs::write(&path, "container was OOMKilled\n").unwrap();
    let run = headroom(["explain".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("notes.txt: not a kubelet eviction message"),
        "{}",
        run.stderr
    );
}
