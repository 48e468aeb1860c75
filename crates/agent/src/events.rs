//! Kubernetes Events for what the agent decides and does (`--events on`), so it shows up in
//! `kubectl get events` / `kubectl describe` where operators already look.
//!
//! * On a pod it acted on (kill or evict): reason `Evicted`, type Warning, the eviction
//!   manager's message ("The node was low on resource: memory. Threshold quantity: ..."), as
//!   the kubelet records on a pod it evicts.
//! * On the node: `EvictionThresholdMet` / "Attempting to reclaim memory" (the kubelet's reason
//!   and message) when a memory threshold is met, and `EvictionThresholdNear` (headroom's own)
//!   when a memory signal comes within reach of a threshold: its headroom (available minus
//!   threshold) is below the threshold itself, i.e. available < 2 x threshold. Rate-limited:
//!   once when the state begins, then at most every [`NODE_REPEAT`] while it lasts (the kubelet
//!   records one per 10 s sync and lets client-go's spam filter cut them to one per 5 minutes;
//!   the agent passes far more often on notifications, so it filters at the source).
//!
//! Events are plain JSON built here ([`pod_evicted`], [`node_warning`]) and posted by a
//! background thread, so a slow or unreachable API server never delays a pass; a send error
//! is logged once per distinct error. Only [`kube_api`] needs the `k8s` feature. Tested
//! against a local HTTP server, never against a real cluster.

use headroom_core::Timestamp;
use headroom_core::manager::Decision;
use headroom_core::pod::Pod;
use headroom_core::threshold::{Threshold, threshold_quantity};
use std::collections::BTreeMap;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

/// `source.component` and `reportingComponent` of every Event the agent creates.
pub(crate) const COMPONENT: &str = "headroom-agent";
/// How often a node warning that still holds is repeated.
pub(crate) const NODE_REPEAT: Duration = Duration::from_secs(300);

/// One Event to create: the namespace to POST it in and the `v1.Event` body.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub namespace: String,
    pub body: serde_json::Value,
}

impl Event {
    /// `POST` path of the core/v1 Events API.
    pub fn path(&self) -> String {
        format!("/api/v1/namespaces/{}/events", self.namespace)
    }
}

/// client-go's event name: the object's name and the time in nanoseconds, hex.
fn event_name(object: &str, now: Timestamp) -> String {
    format!("{object}.{:x}", now.as_nanosecond())
}

fn event(
    namespace: &str,
    involved: serde_json::Value,
    reason: &str,
    message: &str,
    node: &str,
    now: Timestamp,
) -> Event {
    let name = involved["name"].as_str().unwrap_or("headroom").to_string();
    let time = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    Event {
        namespace: namespace.to_string(),
        body: serde_json::json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": event_name(&name, now), "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": "Warning",
            "source": {"component": COMPONENT, "host": node},
            "firstTimestamp": time,
            "lastTimestamp": time,
            "count": 1,
            "reportingComponent": COMPONENT,
            "reportingInstance": node,
        }),
    }
}

/// The Event on a pod the agent killed or evicted: the kubelet's `Evicted` with the eviction
/// manager's message.
pub(crate) fn pod_evicted(pod: &Pod, message: &str, node: &str, now: Timestamp) -> Event {
    let ns = &pod.metadata.namespace;
    let involved = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "namespace": ns,
        "name": pod.metadata.name,
        "uid": pod.metadata.uid,
    });
    event(ns, involved, "Evicted", message.trim_end(), node, now)
}

/// A Warning on the node (the kubelet's node reference: uid = the node's name; node Events
/// live in the `default` namespace).
pub(crate) fn node_warning(node: &str, reason: &str, message: &str, now: Timestamp) -> Event {
    let involved = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "name": node,
        "uid": node,
    });
    event("default", involved, reason, message, node, now)
}

/// The node warnings one decision calls for: `(key, reason, message)`; the key names the
/// state for the rate limit.
pub fn node_warnings(
    decision: &Decision,
    thresholds: &[Threshold],
    dry_run: bool,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    // The kubelet records it when it reclaims: a threshold met past its grace period.
    let met_memory = decision.reclaiming.as_ref().is_some_and(|t| t.signal.is_memory());
    if met_memory {
        let note = if dry_run {
            " (headroom --action none: decided only; the kubelet reclaims at its own sync)"
        } else {
            ""
        };
        out.push((
            "met memory".to_string(),
            "EvictionThresholdMet".to_string(),
            format!("Attempting to reclaim memory{note}"),
        ));
    }
    for t in thresholds.iter().filter(|t| t.signal.is_memory()) {
        let Some(o) = decision.observations.get(t.signal) else {
            continue;
        };
        let q = threshold_quantity(&t.value, &o.capacity);
        let headroom = o.available.value() - q.value();
        // Met but not reclaimed (a soft threshold in its grace period) is not "near" either.
        if met_memory || headroom < 0 || headroom >= q.value() {
            continue;
        }
        let kind = if t.is_hard() { "hard" } else { "soft" };
        out.push((
            format!("near {} {kind}", t.signal.as_str()),
            "EvictionThresholdNear".to_string(),
            format!(
                "{} is {} ({} bytes), within {} bytes of the {kind} eviction threshold {}",
                t.signal.as_str(),
                o.available,
                o.available.value(),
                headroom,
                q
            ),
        ));
    }
    out
}

/// Once when a state begins, then at most every `repeat` while it holds.
#[derive(Debug, Default)]
pub(crate) struct RateLimit {
    last_sent: BTreeMap<String, Instant>,
}

impl RateLimit {
    /// Which of `keys` (the states holding now) may be sent at `now`; states absent from
    /// `keys` are forgotten, so their next beginning is sent at once.
    pub(crate) fn allow(&mut self, keys: &[String], now: Instant, repeat: Duration) -> Vec<bool> {
        self.last_sent.retain(|k, _| keys.contains(k));
        keys.iter()
            .map(|k| match self.last_sent.get(k) {
                Some(t) if now.duration_since(*t) < repeat => false,
                _ => {
                    self.last_sent.insert(k.clone(), now);
                    true
                }
            })
            .collect()
    }
}

/// The agent's Event recorder: builds Events and hands them to a background sender.
pub struct Events {
    node: String,
    tx: Sender<Event>,
    limit: RateLimit,
}

impl Events {
    /// Start the sender thread: `send` posts one Event (the kube client, or a test's).
    pub fn spawn(
        node: String,
        mut send: impl FnMut(&Event) -> Result<(), String> + Send + 'static,
    ) -> std::io::Result<Events> {
        let (tx, rx) = mpsc::channel::<Event>();
        std::thread::Builder::new()
            .name("headroom-events".into())
            .spawn(move || {
                let mut last_error: Option<String> = None;
                for ev in rx {
                    match send(&ev) {
                        Ok(()) => last_error = None,
                        Err(e) if last_error.as_deref() != Some(e.as_str()) => {
                            tracing::warn!(
                                "could not create the Event {} {}: {e} (later errors like it are not logged)",
                                ev.body["reason"],
                                ev.path()
                            );
                            last_error = Some(e);
                        }
                        Err(_) => {}
                    }
                }
            })?;
        Ok(Events {
            node,
            tx,
            limit: RateLimit::default(),
        })
    }

    fn send(&self, ev: Event) {
        // The sender thread only ends with the process; a closed channel loses an Event, no more.
        let _ = self.tx.send(ev);
    }

    /// The agent killed or evicted `pod`.
    pub fn pod_acted(&self, pod: &Pod, message: &str) {
        self.send(pod_evicted(pod, message, &self.node, Timestamp::now()));
    }

    /// Node warnings for this pass's decision, rate-limited.
    pub fn after_decision(&mut self, decision: &Decision, thresholds: &[Threshold], dry_run: bool) {
        let warnings = node_warnings(decision, thresholds, dry_run);
        let keys: Vec<String> = warnings.iter().map(|w| w.0.clone()).collect();
        let allowed = self.limit.allow(&keys, Instant::now(), NODE_REPEAT);
        let now = Timestamp::now();
        for ((_, reason, message), ok) in warnings.into_iter().zip(allowed) {
            if ok {
                self.send(node_warning(&self.node, &reason, &message, now));
            }
        }
    }
}

/// Posting Events with the kube client (feature `k8s`).
#[cfg(feature = "k8s")]
pub mod kube_api {
    use super::Event;
    use std::time::Duration;

    /// An Event is not worth waiting long for.
    pub(crate) const POST_TIMEOUT: Duration = Duration::from_secs(10);

    pub(crate) async fn post(client: &kube::Client, ev: &Event) -> Result<(), String> {
        let path = ev.path();
        let body = serde_json::to_vec(&ev.body).map_err(|e| e.to_string())?;
        let req = axum::http::Request::post(&path)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| format!("POST {path}: {e}"))?;
        match tokio::time::timeout(POST_TIMEOUT, client.request_text(req)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!(
                "POST {path}: the API server refused or was unreachable: {e}"
            )),
            Err(_) => Err(format!(
                "POST {path}: no answer within {}s",
                POST_TIMEOUT.as_secs()
            )),
        }
    }

    /// A blocking sender for [`super::Events::spawn`] (see
    /// [`crate::pods_api::kube_api::blocking_call`]).
    pub fn blocking_sender<F, Fut>(
        make_client: F,
    ) -> std::io::Result<impl FnMut(&Event) -> Result<(), String> + Send>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<kube::Client, String>>,
    {
        let mut call =
            crate::pods_api::kube_api::blocking_call(make_client, |client, ev: Event| async move {
                post(&client, &ev).await
            })?;
        Ok(move |ev: &Event| call(ev.clone()))
    }

    /// Events with in-cluster or kubeconfig credentials.
    pub fn start(node: &str) -> std::io::Result<super::Events> {
        let sender = blocking_sender(crate::pods_api::kube_api::default_client)?;
        super::Events::spawn(node.to_string(), sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_sends_a_state_once_then_every_repeat_and_again_after_it_ends() {
        let mut rl = RateLimit::default();
        let t0 = Instant::now();
        let rep = Duration::from_secs(300);
        let near = vec!["near".to_string()];
        assert_eq!(rl.allow(&near, t0, rep), [true]);
        assert_eq!(rl.allow(&near, t0 + Duration::from_secs(10), rep), [false]);
        assert_eq!(rl.allow(&near, t0 + Duration::from_secs(301), rep), [true]);
        // The state ends, then begins again: sent at once.
        assert_eq!(
            rl.allow(&[], t0 + Duration::from_secs(302), rep),
            Vec::<bool>::new()
        );
        assert_eq!(rl.allow(&near, t0 + Duration::from_secs(303), rep), [true]);
    }

    #[test]
    fn pod_event_carries_the_kubelet_reason_and_the_object() {
        let mut p = Pod::default();
        p.metadata.name = "web".into();
        p.metadata.namespace = "shop".into();
        p.metadata.uid = "u-1".into();
        let now = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let ev = pod_evicted(&p, "The node was low on resource: memory. \n", "node-a", now);
        assert_eq!(ev.path(), "/api/v1/namespaces/shop/events");
        assert_eq!(ev.body["reason"], "Evicted");
        assert_eq!(ev.body["type"], "Warning");
        assert_eq!(ev.body["message"], "The node was low on resource: memory.");
        assert_eq!(ev.body["involvedObject"]["uid"], "u-1");
        assert_eq!(ev.body["source"]["host"], "node-a");
        assert_eq!(ev.body["lastTimestamp"], "2027-01-15T08:00:00Z");
        assert!(
            ev.body["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("web.")
        );
    }
}
