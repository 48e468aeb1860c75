//! A fake Kubernetes API server on 127.0.0.1 for the cluster tests and the benchmark: the node
//! list, each node's proxied `/stats/summary` and `/configz`, and the pod list by
//! `spec.nodeName`, with documents shaped like a real cluster's (kubeadm-style `/configz`, pods
//! with managed fields, owner references and container statuses). A node can be down (the
//! proxy answers 503 as the API server does when it cannot dial the kubelet) or slow (answers
//! after a delay). Included with `#[path]` by the cluster crate's tests and bench and by the
//! CLI's `cluster` test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each includer uses its own part

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const MI: u64 = 1 << 20;
pub const GI: u64 = 1 << 30;

/// What the node's kubelet serves through the proxy.
#[derive(Clone, Debug)]
pub struct NodeDocs {
    pub summary: String,
    pub configz: String,
    pub pods: String,
}

#[derive(Clone, Debug)]
pub enum Behaviour {
    Up,
    /// The proxy cannot reach the kubelet: 503 on `/proxy/*` (the pod list still works).
    Down,
    /// Every proxied answer comes after this delay.
    Slow(Duration),
}

#[derive(Clone, Debug)]
pub struct FakeNode {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The `MemoryPressure` condition status the node object reports.
    pub memory_pressure: &'static str,
    pub docs: NodeDocs,
    pub behaviour: Behaviour,
}

#[derive(Default)]
struct Fake {
    nodes: BTreeMap<String, FakeNode>,
    node_list: String,
    requests: AtomicUsize,
}

/// Requests served so far, for the tests.
#[derive(Clone)]
pub struct Served(Arc<Fake>);

impl Served {
    pub fn requests(&self) -> usize {
        self.0.requests.load(Ordering::Relaxed)
    }
}

fn node_object(n: &FakeNode) -> Value {
    json!({
        "metadata": {"name": n.name, "labels": n.labels, "uid": format!("node-uid-{}", n.name),
                     "resourceVersion": "4711", "creationTimestamp": "2026-11-01T00:00:00Z"},
        "spec": {"podCIDR": "10.244.1.0/24", "providerID": format!("fake://{}", n.name)},
        "status": {
            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            "allocatable": {"cpu": "7800m", "memory": "14Gi", "pods": "110"},
            "conditions": [
                {"type": "MemoryPressure", "status": n.memory_pressure,
                 "reason": if n.memory_pressure == "True" { "KubeletHasInsufficientMemory" } else { "KubeletHasSufficientMemory" },
                 "lastHeartbeatTime": "2026-12-06T03:00:00Z", "lastTransitionTime": "2026-12-06T02:00:00Z"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady"}
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}, {"type": "Hostname", "address": n.name}],
            "nodeInfo": {"kubeletVersion": "v1.34.2", "containerRuntimeVersion": "containerd://2.1.4",
                         "kernelVersion": "6.8.0-1015", "osImage": "Ubuntu 24.04.1 LTS", "architecture": "amd64"},
            "images": [{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 320368}]
        }
    })
}

/// `labelSelector=k=v[,k2=v2]` (equality only: enough for the tests).
fn selected(n: &FakeNode, query: &str) -> bool {
    let Some(sel) = query.split('&').find_map(|kv| kv.strip_prefix("labelSelector=")) else {
        return true;
    };
    let sel = decode(sel);
    sel.split(',').all(|req| match req.split_once('=') {
        Some((k, v)) => n.labels.get(k).map(String::as_str) == Some(v),
        None => n.labels.contains_key(req),
    })
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

const UNREACHABLE: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"error trying to reach service: dial tcp 10.0.0.9:10250: connect: no route to host","reason":"ServiceUnavailable","code":503}"#;

fn not_found(what: &str) -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message": format!("nodes \"{what}\" not found"),"reason":"NotFound","code":404})
        .to_string(),
    )
}

async fn node_list_route(State(f): State<Arc<Fake>>, RawQuery(q): RawQuery) -> (StatusCode, String) {
    f.requests.fetch_add(1, Ordering::Relaxed);
    let q = q.unwrap_or_default();
    if !q.contains("labelSelector=") {
        return (StatusCode::OK, f.node_list.clone());
    }
    let items: Vec<Value> = f
        .nodes
        .values()
        .filter(|n| selected(n, &q))
        .map(node_object)
        .collect();
    let list = json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "4711"}, "items": items});
    (StatusCode::OK, list.to_string())
}

async fn proxied(f: &Fake, name: &str, pick: fn(&NodeDocs) -> &String) -> (StatusCode, String) {
    f.requests.fetch_add(1, Ordering::Relaxed);
    let Some(n) = f.nodes.get(name) else {
        return not_found(name);
    };
    match &n.behaviour {
        Behaviour::Up => (StatusCode::OK, pick(&n.docs).clone()),
        Behaviour::Down => (StatusCode::SERVICE_UNAVAILABLE, UNREACHABLE.to_string()),
        Behaviour::Slow(d) => {
            tokio::time::sleep(*d).await;
            (StatusCode::OK, pick(&n.docs).clone())
        }
    }
}

async fn summary(State(f): State<Arc<Fake>>, Path(name): Path<String>) -> (StatusCode, String) {
    proxied(&f, &name, |d| &d.summary).await
}

async fn configz_route(State(f): State<Arc<Fake>>, Path(name): Path<String>) -> (StatusCode, String) {
    proxied(&f, &name, |d| &d.configz).await
}

async fn pods(State(f): State<Arc<Fake>>, RawQuery(q): RawQuery) -> (StatusCode, String) {
    f.requests.fetch_add(1, Ordering::Relaxed);
    let q = decode(&q.unwrap_or_default());
    let node = q
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldSelector=spec.nodeName="))
        .unwrap_or_default();
    match f.nodes.get(node) {
        Some(n) => (StatusCode::OK, n.docs.pods.clone()),
        None => (
            StatusCode::OK,
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4711"},"items":[]}"#
                .to_string(),
        ),
    }
}

/// Serve `nodes` on an ephemeral port from a runtime with `threads` worker threads in the
/// background. Returns the address and a request counter.
pub fn serve(nodes: Vec<FakeNode>, threads: usize) -> (SocketAddr, Served) {
    let items: Vec<Value> = nodes.iter().map(node_object).collect();
    let node_list = json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "4711"}, "items": items}).to_string();
    let fake = Arc::new(Fake {
        nodes: nodes.into_iter().map(|n| (n.name.clone(), n)).collect(),
        node_list,
        requests: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/api/v1/nodes", get(node_list_route))
        .route("/api/v1/nodes/{name}/proxy/stats/summary", get(summary))
        .route("/api/v1/nodes/{name}/proxy/configz", get(configz_route))
        .route("/api/v1/pods", get(pods))
        .with_state(fake.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (addr, Served(fake))
}

/// A kubeconfig file pointing at the fake server (plain HTTP, no credentials), context `fake`.
pub fn kubeconfig(dir: &std::path::Path, addr: SocketAddr) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\nusers:\n- name: nobody\n  user: {{}}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A kubeadm-style running config (`/configz`) with these eviction settings (JSON object
/// members, e.g. `"evictionHard": {...}`), every other field as a v1.34 kubelet reports it.
pub fn configz(eviction: Value) -> String {
    let mut config = json!({
        "enableServer": true, "staticPodPath": "/etc/kubernetes/manifests", "podLogsDir": "/var/log/pods",
        "syncFrequency": "1m0s", "fileCheckFrequency": "20s", "httpCheckFrequency": "20s",
        "address": "0.0.0.0", "port": 10250, "rotateCertificates": true,
        "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"},
                           "webhook": {"enabled": true, "cacheTTL": "2m0s"}, "anonymous": {"enabled": false}},
        "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"}},
        "registryPullQPS": 5, "registryBurst": 10, "eventRecordQPS": 50, "eventBurst": 100,
        "enableDebuggingHandlers": true, "healthzPort": 10248, "healthzBindAddress": "127.0.0.1",
        "oomScoreAdj": -999, "clusterDomain": "cluster.local", "clusterDNS": ["10.96.0.10"],
    });
    let more = json!({
        "streamingConnectionIdleTimeout": "4h0m0s", "nodeStatusUpdateFrequency": "10s",
        "nodeStatusReportFrequency": "5m0s", "nodeLeaseDurationSeconds": 40,
        "imageMinimumGCAge": "2m0s", "imageMaximumGCAge": "0s", "imageGCHighThresholdPercent": 85,
        "imageGCLowThresholdPercent": 80, "volumeStatsAggPeriod": "1m0s", "cgroupsPerQOS": true,
        "cgroupDriver": "systemd", "cpuManagerPolicy": "none", "cpuManagerReconcilePeriod": "10s",
        "memoryManagerPolicy": "None", "topologyManagerPolicy": "none", "topologyManagerScope": "container",
        "runtimeRequestTimeout": "2m0s", "hairpinMode": "promiscuous-bridge", "maxPods": 110,
        "podPidsLimit": -1, "resolvConf": "/run/systemd/resolve/resolv.conf", "cpuCFSQuota": true,
        "cpuCFSQuotaPeriod": "100ms", "nodeStatusMaxImages": 50, "maxOpenFiles": 1000000,
        "contentType": "application/vnd.kubernetes.protobuf", "kubeAPIQPS": 50, "kubeAPIBurst": 100,
    });
    let rest = json!({
        "serializeImagePulls": true, "evictionPressureTransitionPeriod": "5m0s",
        "enableControllerAttachDetach": true, "makeIPTablesUtilChains": true,
        "iptablesMasqueradeBit": 14, "iptablesDropBit": 15, "failSwapOn": true, "memorySwap": {},
        "containerLogMaxSize": "10Mi", "containerLogMaxFiles": 5, "containerLogMaxWorkers": 1,
        "containerLogMonitorInterval": "10s", "configMapAndSecretChangeDetectionStrategy": "Watch",
        "enforceNodeAllocatable": ["pods"],
        "volumePluginDir": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/",
        "logging": {"format": "text", "flushFrequency": "5s", "verbosity": 0,
                    "options": {"text": {"infoBufferSize": "0"}, "json": {"infoBufferSize": "0"}}},
        "enableSystemLogHandler": true, "enableSystemLogQuery": false, "shutdownGracePeriod": "0s",
        "shutdownGracePeriodCriticalPods": "0s", "enableProfilingHandler": true,
        "enableDebugFlagsHandler": true, "seccompDefault": false, "memoryThrottlingFactor": 0.9,
        "registerNode": true, "localStorageCapacityIsolation": true,
        "containerRuntimeEndpoint": "unix:///var/run/containerd/containerd.sock", "failCgroupV1": false
    });
    for part in [more, rest, eviction] {
        if let (Some(c), Value::Object(p)) = (config.as_object_mut(), part) {
            c.extend(p);
        }
    }
    json!({"kubeletconfig": config}).to_string()
}

/// The kubeadm defaults as `/configz` reports them.
pub fn default_configz() -> String {
    configz(
        json!({"evictionHard": {"imagefs.available": "15%", "imagefs.inodesFree": "5%",
        "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%"}}),
    )
}

const T: &str = "2026-12-06T03:00:00Z";

fn mem(ws: u64, rss: u64, inactive: u64, available: Option<u64>) -> Value {
    let mut m = json!({"time": T, "usageBytes": ws + inactive, "workingSetBytes": ws, "rssBytes": rss,
                       "pageFaults": 123456, "majorPageFaults": 12});
    if let Some(a) = available {
        m["availableBytes"] = json!(a);
    }
    m
}

/// One synthetic pod: its API object and its Summary entry. `i` varies request, priority and
/// usage so the ranking has work to do.
fn pod(node: &str, i: usize) -> (Value, Value) {
    let name = format!("app-{i}-7d9f8c6b5-x{i:03}");
    let ns = ["shop", "batch", "kube-system", "monitoring"][i % 4];
    let uid = format!("{node}-pod-{i:04}-8c1e-4b2a-9f3d-1a2b3c4d5e6f");
    let request_mi = [0u64, 256, 512, 1024][i % 4];
    let ws = (64 + (i as u64 * 37) % 900) * MI;
    let rss = ws * 2 / 3;
    let mut resources = json!({});
    if request_mi > 0 {
        resources = json!({"requests": {"cpu": "100m", "memory": format!("{request_mi}Mi")},
                           "limits": {"memory": format!("{}Mi", request_mi * 2)}});
    }
    let priority = [0, 1000, 2_000_000_000, 100][i % 4];
    let priority_class = if i % 4 == 2 {
        Value::from("system-cluster-critical")
    } else {
        Value::Null
    };
    let qos = if request_mi == 0 {
        "BestEffort"
    } else {
        "Burstable"
    };
    let object = json!({
        "metadata": {
            "name": name, "namespace": ns, "uid": uid, "resourceVersion": format!("{}", 100000 + i),
            "creationTimestamp": "2026-12-01T10:00:00Z", "generateName": format!("app-{i}-7d9f8c6b5-"),
            "labels": {"app": format!("app-{i}"), "pod-template-hash": "7d9f8c6b5"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-12-01T09:59:00Z"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("app-{i}-7d9f8c6b5"),
                                 "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                               "time": "2026-12-01T10:00:00Z", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}},
                                            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}}}}]
        },
        "spec": {
            "nodeName": node, "priority": priority,
            "priorityClassName": priority_class,
            "serviceAccountName": "default", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "enableServiceLinks": true,
            "containers": [{"name": "app", "image": format!("registry.example/app-{i}:1.4.2"),
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "env": [{"name": "MODE", "value": "prod"}],
                            "resources": resources,
                            "volumeMounts": [{"name": "kube-api-access", "readOnly": true,
                                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                            "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]
        },
        "status": {
            "phase": "Running", "qosClass": qos, "hostIP": "10.0.0.7", "podIP": format!("10.244.1.{}", i % 250),
            "startTime": "2026-12-01T10:00:01Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-01T10:00:05Z"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "started": true,
                                   "image": format!("registry.example/app-{i}:1.4.2"),
                                   "imageID": "registry.example/app@sha256:0123456789abcdef",
                                   "containerID": format!("containerd://{i:064x}"),
                                   "state": {"running": {"startedAt": "2026-12-01T10:00:03Z"}}}]
        }
    });
    let stats = json!({
        "podRef": {"name": name, "namespace": ns, "uid": uid},
        "startTime": "2026-12-01T10:00:01Z",
        "containers": [{"name": "app", "startTime": "2026-12-01T10:00:03Z",
                        "cpu": {"time": T, "usageNanoCores": 1200000, "usageCoreNanoSeconds": 98765432100u64},
                        "memory": mem(ws, rss, 16 * MI, None),
                        "rootfs": {"time": T, "availableBytes": 40 * GI, "capacityBytes": 100 * GI, "usedBytes": 40960, "inodesFree": 6000000, "inodes": 6553600, "inodesUsed": 12},
                        "logs": {"time": T, "availableBytes": 40 * GI, "capacityBytes": 100 * GI, "usedBytes": 8192, "inodesFree": 6000000, "inodes": 6553600, "inodesUsed": 2}}],
        "cpu": {"time": T, "usageNanoCores": 1200000, "usageCoreNanoSeconds": 98765432100u64},
        "memory": mem(ws, rss, 16 * MI, None),
        "network": {"time": T, "name": "eth0", "rxBytes": 123456789, "rxErrors": 0, "txBytes": 98765432, "txErrors": 0},
        "volume": [{"time": T, "availableBytes": 8 * GI, "capacityBytes": 8 * GI, "usedBytes": 12288, "inodesFree": 2000000, "inodes": 2000009, "inodesUsed": 9, "name": "kube-api-access"}],
        "ephemeral-storage": {"time": T, "availableBytes": 40 * GI, "capacityBytes": 100 * GI, "usedBytes": 61440, "inodesFree": 6000000, "inodes": 6553600, "inodesUsed": 14},
        "process_stats": {"process_count": 3}
    });
    (object, stats)
}

/// A node of `capacity` bytes with `available` bytes of memory.available, `pods` pods, and
/// the given `/configz`. Its Summary and pod list are shaped like a v1.34 kubelet's.
pub fn synthetic_node(name: &str, capacity: u64, available: u64, pods: usize, configz: String) -> NodeDocs {
    let (objects, stats): (Vec<Value>, Vec<Value>) = (0..pods).map(|i| pod(name, i)).unzip();
    let ws = capacity - available;
    let pods_ws: u64 = ws.saturating_sub(GI);
    let summary = json!({
        "node": {
            "nodeName": name,
            "systemContainers": [
                {"name": "kubelet", "startTime": "2026-12-01T09:00:00Z", "memory": mem(90 * MI, 60 * MI, 30 * MI, None)},
                {"name": "runtime", "startTime": "2026-12-01T09:00:00Z", "memory": mem(120 * MI, 80 * MI, 40 * MI, None)},
                {"name": "pods", "startTime": "2026-12-01T09:00:00Z",
                 "memory": mem(pods_ws, pods_ws / 2, 2 * GI, Some((capacity - 2 * GI).saturating_sub(pods_ws)))}
            ],
            "startTime": "2026-12-01T08:59:00Z",
            "cpu": {"time": T, "usageNanoCores": 812000000, "usageCoreNanoSeconds": 9876543210000u64},
            "memory": mem(ws, ws / 2, 3 * GI, Some(available)),
            "network": {"time": T, "name": "eth0", "interfaces": [{"name": "eth0", "rxBytes": 1, "rxErrors": 0, "txBytes": 1, "txErrors": 0}]},
            "fs": {"time": T, "availableBytes": 40 * GI, "capacityBytes": 100 * GI, "usedBytes": 60 * GI, "inodesFree": 6000000, "inodes": 6553600, "inodesUsed": 553600},
            "runtime": {"imageFs": {"time": T, "availableBytes": 40 * GI, "capacityBytes": 100 * GI, "usedBytes": 9 * GI, "inodesFree": 6000000, "inodes": 6553600, "inodesUsed": 553600}},
            "rlimit": {"time": T, "maxpid": 4194304, "curproc": 812}
        },
        "pods": stats
    });
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "4711"}, "items": objects});
    NodeDocs {
        summary: summary.to_string(),
        configz,
        pods: list.to_string(),
    }
}

pub fn fake_node(
    name: &str,
    memory_pressure: &'static str,
    docs: NodeDocs,
    behaviour: Behaviour,
) -> FakeNode {
    FakeNode {
        name: name.to_string(),
        labels: BTreeMap::from([("kubernetes.io/hostname".to_string(), name.to_string())]),
        memory_pressure,
        docs,
        behaviour,
    }
}

/// The four nodes of the "Done means" test: one under pressure, one with a non-default
/// config, one unreachable, one with no pods.
pub fn four_nodes() -> Vec<FakeNode> {
    vec![
        fake_node(
            "node-pressure",
            "True",
            synthetic_node("node-pressure", 16 * GI, 80 * MI, 12, default_configz()),
            Behaviour::Up,
        ),
        fake_node(
            "node-custom",
            "False",
            synthetic_node(
                "node-custom",
                32 * GI,
                6 * GI,
                20,
                configz(
                    json!({"evictionHard": {"memory.available": "10%", "nodefs.available": "5%"},
                               "evictionSoft": {"memory.available": "5Gi"},
                               "evictionSoftGracePeriod": {"memory.available": "1m30s"},
                               "evictionMinimumReclaim": {"memory.available": "500Mi"}}),
                ),
            ),
            Behaviour::Up,
        ),
        fake_node(
            "node-down",
            "Unknown",
            synthetic_node("node-down", 16 * GI, 8 * GI, 5, default_configz()),
            Behaviour::Down,
        ),
        fake_node(
            "node-empty",
            "False",
            synthetic_node("node-empty", 8 * GI, 6 * GI, 0, default_configz()),
            Behaviour::Up,
        ),
    ]
}
