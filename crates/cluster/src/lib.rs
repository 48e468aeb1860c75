//! headroom-cluster: a whole cluster through the Kubernetes API server.
//!
//! For every node (optionally filtered by a label selector) the API server proxies what the
//! node's kubelet serves, and lists the node's pods:
//!
//! * `GET /api/v1/nodes/NAME/proxy/stats/summary`: the kubelet Summary;
//! * `GET /api/v1/nodes/NAME/proxy/configz`: the running kubelet config (flags included);
//! * `GET /api/v1/pods?fieldSelector=spec.nodeName=NAME`: the node's pods.
//!
//! These are the same three documents `headroom status --summary --pods --config` reads from
//! files, parsed into headroom-core's types here ([`inputs`]). Nodes are read with bounded
//! concurrency and a timeout per request ([`scan`]); a node that does not answer becomes a
//! [`scan::NodeFailure`] and never stops the others. Read-only: every request is a GET.
//!
//! * [`paths`]: the request paths;
//! * [`nodes`]: the node list (names, the MemoryPressure condition the kubelet reports);
//! * [`inputs`]: the three answers -> Summary, eviction config, pods;
//! * [`api`]: the kube client, its credentials and its timeout;
//! * [`scan`]: every node, concurrently.

pub mod api;
pub mod inputs;
pub mod nodes;
pub mod paths;
pub mod scan;
