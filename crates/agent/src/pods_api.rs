//! Pods of this node from the Kubernetes API server (`--pods-from api`).
//!
//! The kubelet ranks the pods bound to its node; the agent asks the API server for the same
//! set: `GET /api/v1/pods?fieldSelector=spec.nodeName=<node>`. The list is fetched on a
//! background thread, at start and then once per sync period, so a slow or unreachable API
//! server never delays a pass (a pass woken by a kernel notification must not wait on the
//! network). Each pass takes the latest answer without blocking; an error is reported once and
//! the last good list stays in force. The agent never falls back to synthesized pods when the
//! API fails: a pod the API has not named is never a candidate.
//!
//! Everything here is plain code (request path, node name, JSON conversion, keep-last-good)
//! that builds without the `k8s` feature; only [`kube_api`] talks to a real client.

use crate::pods_list::{Refresh, parse_pods};
use headroom_core::pod::Pod;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// What one list request produced: the active pods, or why there are none this time.
pub type Fetched = Result<Vec<Pod>, String>;

/// The API path that lists the pods bound to `node`.
///
/// `resourceVersion=0` lets the API server answer from its watch cache instead of a quorum
/// read from etcd: every node asks every sync period, and a list that is a moment stale is
/// harmless (the agent matches pods to cgroups by uid anyway).
pub fn pods_request_path(node: &str) -> String {
    format!(
        "/api/v1/pods?fieldSelector={}&resourceVersion=0",
        percent_encode(&format!("spec.nodeName={node}"))
    )
}

/// Percent-encode a query value (RFC 3986 unreserved characters pass through).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The pods in the API server's answer to [`pods_request_path`] (a `PodList`), terminal
/// pods dropped, in headroom's pod model (the same parser as `--pods FILE`).
pub fn pods_from_api_json(text: &str, node: &str) -> Fetched {
    parse_pods(
        text,
        &format!("the API server's pod list for node {node:?}"),
        "a PodList",
    )
}

/// Where the node name came from, for the start-up log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeNameOrigin {
    Flag,
    Env,
    Hostname,
}

impl NodeNameOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeNameOrigin::Flag => "--node-name",
            NodeNameOrigin::Env => "env NODE_NAME",
            NodeNameOrigin::Hostname => "the hostname",
        }
    }
}

/// This node's name: `--node-name`, else `NODE_NAME` (a DaemonSet sets it from
/// `spec.nodeName` via the downward API), else the hostname lowercased (what the kubelet
/// registers without `--hostname-override`). Empty values count as unset.
pub(crate) fn resolve_node_name(
    flag: Option<&str>,
    env: Option<&str>,
    hostname: Option<&str>,
) -> Result<(String, NodeNameOrigin), String> {
    let pick = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let (name, origin) = if let Some(n) = pick(flag) {
        (n, NodeNameOrigin::Flag)
    } else if let Some(n) = pick(env) {
        (n, NodeNameOrigin::Env)
    } else if let Some(n) = pick(hostname) {
        (n.to_lowercase(), NodeNameOrigin::Hostname)
    } else {
        return Err(
            "cannot tell this node's name: pass --node-name, or set NODE_NAME \
                    (in a DaemonSet: env NODE_NAME from fieldRef spec.nodeName); the hostname is empty"
                .to_string(),
        );
    };
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "node name {name:?} (from {}) is not a Kubernetes node name",
            origin.as_str()
        ));
    }
    Ok((name, origin))
}

/// [`resolve_node_name`] with the process environment and the kernel's hostname.
pub fn node_name_from_host(flag: Option<&str>) -> Result<(String, NodeNameOrigin), String> {
    let env = std::env::var("NODE_NAME").ok();
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_string_lossy().into_owned();
    resolve_node_name(flag, env.as_deref(), Some(&hostname))
}

/// The API pod source: the latest good list and the channel the background lister feeds.
pub struct ApiPods {
    node: String,
    pods: Vec<Pod>,
    /// Set once a list arrived (an empty node is a good answer, too).
    loaded: bool,
    /// The error last reported, so an outage is logged when it starts, not every pass.
    last_error: Option<String>,
    results: Receiver<Fetched>,
}

impl ApiPods {
    /// Start the lister: `fetch(node)` runs at once on its own thread and then every
    /// `interval`. The thread ends when this `ApiPods` is dropped.
    pub fn spawn(
        node: String,
        interval: Duration,
        mut fetch: impl FnMut(&str) -> Fetched + Send + 'static,
    ) -> std::io::Result<ApiPods> {
        let (tx, rx) = mpsc::channel();
        let thread_node = node.clone();
        std::thread::Builder::new()
            .name("headroom-pods-api".into())
            .spawn(move || {
                loop {
                    if tx.send(fetch(&thread_node)).is_err() {
                        return;
                    }
                    std::thread::sleep(interval);
                }
            })?;
        Ok(ApiPods::from_receiver(node, rx))
    }

    /// An API source fed by `results` (the lister thread, or a test).
    pub(crate) fn from_receiver(node: String, results: Receiver<Fetched>) -> ApiPods {
        ApiPods {
            node,
            pods: Vec::new(),
            loaded: false,
            last_error: None,
            results,
        }
    }

    pub fn pods(&self) -> &[Pod] {
        &self.pods
    }

    /// Has any list arrived yet?
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    pub(crate) fn describe(&self) -> String {
        format!("the API server (pods on node {})", self.node)
    }

    /// Take every answer that arrived since the last call, without blocking.
    pub(crate) fn refresh(&mut self) -> Refresh {
        let mut outcome = Refresh::Unchanged;
        loop {
            match self.results.try_recv() {
                Ok(fetched) => {
                    let o = self.apply(fetched);
                    if o != Refresh::Unchanged {
                        outcome = o;
                    }
                }
                Err(TryRecvError::Empty) => return outcome,
                Err(TryRecvError::Disconnected) => {
                    let error = format!(
                        "the pod lister for node {} stopped; keeping the last good list",
                        self.node
                    );
                    return self.kept(error).unwrap_or(outcome);
                }
            }
        }
    }

    /// Block up to `timeout` for the next answer (start-up: the first pass should rank real
    /// pods). `Unchanged` when none came in time.
    pub fn wait_next(&mut self, timeout: Duration) -> Refresh {
        match self.results.recv_timeout(timeout) {
            Ok(fetched) => self.apply(fetched),
            Err(RecvTimeoutError::Timeout) => Refresh::Unchanged,
            Err(RecvTimeoutError::Disconnected) => self
                .kept(format!("the pod lister for node {} stopped", self.node))
                .unwrap_or(Refresh::Unchanged),
        }
    }

    fn apply(&mut self, fetched: Fetched) -> Refresh {
        match fetched {
            Ok(pods) => {
                self.pods = pods;
                self.loaded = true;
                self.last_error = None;
                Refresh::Reloaded {
                    pods: self.pods.len(),
                }
            }
            Err(error) => self.kept(error).unwrap_or(Refresh::Unchanged),
        }
    }

    /// Keep the last good list; report an error only when it differs from the last one.
    fn kept(&mut self, error: String) -> Option<Refresh> {
        if self.last_error.as_deref() == Some(error.as_str()) {
            return None;
        }
        self.last_error = Some(error.clone());
        Some(Refresh::KeptLastGood {
            error,
            pods: self.pods.len(),
        })
    }
}

/// How long the agent waits at start for the first list, so the first pass ranks real pods.
/// An API server that is down does not stop the agent: it starts with no candidates.
#[cfg(feature = "k8s")]
pub(crate) const FIRST_LIST_WAIT: Duration = Duration::from_secs(10);

/// Start the API pod source for `node` (in-cluster or kubeconfig credentials), refreshed every
/// `period`, and wait up to [`FIRST_LIST_WAIT`] for the first list.
#[cfg(feature = "k8s")]
pub(crate) fn start(node: &str, period: Duration) -> anyhow::Result<ApiPods> {
    let lister = kube_api::blocking_lister(kube_api::default_client)?;
    let mut api = ApiPods::spawn(node.to_string(), period, lister)?;
    match api.wait_next(FIRST_LIST_WAIT) {
        Refresh::Reloaded { pods } => tracing::info!("{}: {pods} active pods", api.describe()),
        Refresh::KeptLastGood { error, .. } => tracing::error!(
            "{error}; no pod is a candidate until the API server answers (retrying every {:?})",
            period
        ),
        Refresh::Unchanged => tracing::warn!(
            "{}: no answer within {}s; no pod is a candidate until it answers",
            api.describe(),
            FIRST_LIST_WAIT.as_secs()
        ),
    }
    Ok(api)
}

/// Without the `k8s` feature there is no API client (the CLI refuses `--pods-from api` first).
#[cfg(not(feature = "k8s"))]
pub(crate) fn start(node: &str, _period: Duration) -> anyhow::Result<ApiPods> {
    anyhow::bail!(
        "--pods-from api (node {node}): this build has no Kubernetes support; rebuild with the `k8s` feature (the CLI's default)"
    )
}

/// The kube client side (feature `k8s`): one GET, bounded in time. Tested against a local
/// HTTP server only, never against a real cluster.
#[cfg(feature = "k8s")]
pub mod kube_api {
    use super::{Fetched, pods_from_api_json, pods_request_path};
    use std::time::Duration;

    /// kube's client has no read timeout by default; an API server that accepts the
    /// connection and never answers must not stall the lister forever.
    pub(crate) const LIST_TIMEOUT: Duration = Duration::from_secs(30);

    /// List the pods bound to `node` with `client`.
    pub(crate) async fn list_node_pods(client: &kube::Client, node: &str) -> Fetched {
        let path = pods_request_path(node);
        let req = axum::http::Request::get(&path)
            .header("accept", "application/json")
            .body(Vec::new())
            .map_err(|e| format!("GET {path}: cannot build the request: {e}"))?;
        let text = match tokio::time::timeout(LIST_TIMEOUT, client.request_text(req)).await {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                return Err(format!(
                    "GET {path}: the API server refused or was unreachable: {e}"
                ));
            }
            Err(_) => {
                return Err(format!(
                    "GET {path}: no answer from the API server within {}s",
                    LIST_TIMEOUT.as_secs()
                ));
            }
        };
        pods_from_api_json(&text, node)
    }

    /// A blocking lister for [`super::ApiPods::spawn`], through [`blocking_call`].
    pub fn blocking_lister<F, Fut>(make_client: F) -> std::io::Result<impl FnMut(&str) -> Fetched + Send>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<kube::Client, String>>,
    {
        let mut call = blocking_call(make_client, |client, node: String| async move {
            list_node_pods(&client, &node).await
        })?;
        Ok(move |node: &str| call(node.to_string()))
    }

    /// A blocking API call for a background thread: its own single-threaded runtime and a
    /// client made by `make_client` on first use (and again after that failed, so credentials
    /// that appear later are picked up), handed to `op` with each argument.
    pub(crate) fn blocking_call<A, T, F, Fut, Op, OpFut>(
        mut make_client: F,
        mut op: Op,
    ) -> std::io::Result<impl FnMut(A) -> Result<T, String> + Send>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<kube::Client, String>>,
        Op: FnMut(kube::Client, A) -> OpFut + Send,
        OpFut: std::future::Future<Output = Result<T, String>>,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut client: Option<kube::Client> = None;
        Ok(move |arg: A| {
            rt.block_on(async {
                let c = match &client {
                    Some(c) => c.clone(),
                    None => {
                        let c = make_client().await?;
                        client = Some(c.clone());
                        c
                    }
                };
                op(c, arg).await
            })
        })
    }

    /// In-cluster or kubeconfig credentials, as `kubectl` finds them (`Client::try_default`'s
    /// search), made into a client by [`client_from`].
    pub async fn default_client() -> Result<kube::Client, String> {
        let config = kube::Config::infer().await.map_err(|e| {
            format!("no Kubernetes credentials (in-cluster service account or kubeconfig): {e}")
        })?;
        client_from(config)
    }

    /// A client for the lister. kube's own retry of 429/503/504 is switched off: it backs off
    /// for up to 15 attempts, which would hide an outage behind [`LIST_TIMEOUT`]; the lister
    /// retries every sync period anyway and reports what the API server said.
    pub fn client_from(mut config: kube::Config) -> Result<kube::Client, String> {
        config.default_retry = false;
        let url = config.cluster_url.to_string();
        kube::Client::try_from(config)
            .map_err(|e| format!("cannot build a Kubernetes client for the API server {url}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API_LIST: &str = r#"{
      "kind": "PodList", "apiVersion": "v1",
      "metadata": {"resourceVersion": "12345"},
      "items": [
        {"metadata": {"name": "web-0", "namespace": "shop", "uid": "u-web",
                      "creationTimestamp": "2026-11-28T04:00:00Z", "labels": {"app": "web"},
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "x"}]},
         "spec": {"nodeName": "node-a", "priority": 1000, "priorityClassName": "high",
                  "containers": [{"name": "app", "image": "nginx",
                                  "resources": {"requests": {"memory": "256Mi", "cpu": "100m"},
                                                "limits": {"memory": "1Gi"}}}],
                  "tolerations": [{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}]},
         "status": {"phase": "Running", "qosClass": "Burstable", "podIP": "10.0.0.7"}},
        {"metadata": {"name": "job-1", "namespace": "batch", "uid": "u-job"},
         "spec": {"nodeName": "node-a", "containers": [{"name": "c"}]},
         "status": {"phase": "Succeeded", "qosClass": "BestEffort"}},
        {"metadata": {"name": "pending", "namespace": "batch", "uid": "u-p"},
         "spec": {"nodeName": "node-a"}, "status": {"phase": "Pending"}}
      ]
    }"#;

    fn pod(name: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = name.into();
        p.metadata.uid = format!("u-{name}");
        p
    }

    #[test]
    fn request_path_selects_this_node_from_the_watch_cache() {
        assert_eq!(
            pods_request_path("node-a.example.com"),
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a.example.com&resourceVersion=0"
        );
        // Anything outside the unreserved set is escaped, so a name can't smuggle a parameter.
        assert_eq!(
            pods_request_path("a&b=c"),
            "/api/v1/pods?fieldSelector=spec.nodeName%3Da%26b%3Dc&resourceVersion=0"
        );
    }

    #[test]
    fn api_pod_list_converts_with_requests_priority_and_qos() {
        let pods = pods_from_api_json(API_LIST, "node-a").unwrap();
        let names: Vec<_> = pods.iter().map(|p| p.key()).collect();
        assert_eq!(
            names,
            ["shop/web-0", "batch/pending"],
            "terminal pods are dropped"
        );
        let web = &pods[0];
        assert_eq!(web.metadata.uid, "u-web");
        assert_eq!(web.spec.priority, Some(1000));
        assert_eq!(
            web.spec.containers[0].request("memory").map(|q| q.value()),
            Some(256 << 20)
        );
        assert_eq!(
            web.status.as_ref().and_then(|s| s.qos_class.as_deref()),
            Some("Burstable")
        );
    }

    #[test]
    fn bad_api_answers_are_errors_naming_the_node() {
        for junk in [
            "{\"items\": [trunc",
            "\"Forbidden\"",
            "{\"items\": 3}",
            "[{\"spec\": 7}]",
        ] {
            let err = pods_from_api_json(junk, "node-a").unwrap_err();
            assert!(err.contains("node \"node-a\""), "{junk}: {err}");
        }
        // An empty node is a good answer, not an error.
        assert_eq!(
            pods_from_api_json(r#"{"kind":"PodList","items":[]}"#, "n").unwrap(),
            vec![]
        );
        assert_eq!(
            pods_from_api_json(r#"{"kind":"PodList","items":null}"#, "n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn node_name_prefers_flag_then_env_then_lowercased_hostname() {
        let r = |f, e, h| resolve_node_name(f, e, h);
        assert_eq!(
            r(Some("n-flag"), Some("n-env"), Some("host")).unwrap(),
            ("n-flag".into(), NodeNameOrigin::Flag)
        );
        assert_eq!(
            r(None, Some("n-env"), Some("host")).unwrap(),
            ("n-env".into(), NodeNameOrigin::Env)
        );
        assert_eq!(
            r(Some("  "), Some(""), Some("Worker-1.Example")).unwrap(),
            ("worker-1.example".into(), NodeNameOrigin::Hostname)
        );
        let err = r(None, None, Some("")).unwrap_err();
        assert!(err.contains("--node-name") && err.contains("NODE_NAME"), "{err}");
        let err = r(Some("a b"), None, None).unwrap_err();
        assert!(err.contains("\"a b\"") && err.contains("--node-name"), "{err}");
    }

    #[test]
    fn node_name_from_host_takes_the_flag_first() {
        let (name, _) = node_name_from_host(Some("explicit")).unwrap();
        assert_eq!(name, "explicit");
    }

    #[test]
    fn api_errors_keep_the_last_good_list_and_are_reported_once() {
        let (tx, rx) = mpsc::channel();
        let mut api = ApiPods::from_receiver("node-a".into(), rx);
        assert_eq!(api.refresh(), Refresh::Unchanged);
        assert!(!api.loaded());

        tx.send(Ok(vec![pod("a"), pod("b")])).unwrap();
        assert_eq!(api.refresh(), Refresh::Reloaded { pods: 2 });
        assert!(api.loaded());
        assert_eq!(api.refresh(), Refresh::Unchanged);

        tx.send(Err("connection refused".into())).unwrap();
        assert_eq!(
            api.refresh(),
            Refresh::KeptLastGood {
                error: "connection refused".into(),
                pods: 2
            }
        );
        assert_eq!(api.pods().len(), 2);
        // The same outage again is not reported on every pass.
        tx.send(Err("connection refused".into())).unwrap();
        assert_eq!(api.refresh(), Refresh::Unchanged);
        assert_eq!(api.pods()[1].metadata.name, "b");

        // Recovery, then several answers at once: the newest wins.
        tx.send(Ok(vec![pod("c")])).unwrap();
        tx.send(Ok(vec![pod("d"), pod("e"), pod("f")])).unwrap();
        assert_eq!(api.refresh(), Refresh::Reloaded { pods: 3 });
        assert_eq!(api.pods()[0].metadata.name, "d");

        // The lister went away: said once, list kept.
        drop(tx);
        assert!(matches!(api.refresh(), Refresh::KeptLastGood { pods: 3, .. }));
        assert_eq!(api.refresh(), Refresh::Unchanged);
        assert_eq!(api.pods().len(), 3);
    }

    #[test]
    fn spawned_lister_fetches_at_once_then_every_interval() {
        let mut script = vec![Ok(vec![pod("a")]), Err("503".to_string()), Ok(vec![])].into_iter();
        let mut api = ApiPods::spawn("node-a".into(), Duration::from_millis(1), move |node| {
            assert_eq!(node, "node-a");
            script.next().unwrap_or_else(|| Err("done".into()))
        })
        .unwrap();
        let long = Duration::from_secs(10);
        assert_eq!(api.wait_next(long), Refresh::Reloaded { pods: 1 });
        assert_eq!(
            api.wait_next(long),
            Refresh::KeptLastGood {
                error: "503".into(),
                pods: 1
            }
        );
        assert_eq!(api.pods()[0].metadata.name, "a");
        assert_eq!(api.wait_next(long), Refresh::Reloaded { pods: 0 });
        assert_eq!(api.describe(), "the API server (pods on node node-a)");
    }
}
