//! Every node, concurrently: list the nodes, then read each node's Summary, running config
//! and pods, at most `concurrency` nodes at a time, each request bounded by the client's
//! timeout. A node whose answer is missing or unreadable becomes a [`NodeFailure`]; it never
//! stops the others, so one dead kubelet costs the table one timeout, not the run.

use std::sync::Arc;

use crate::api::{Api, GetError};
use crate::inputs::{ConfigCache, NodeInputs, parse_pods, parse_summary};
use crate::nodes::{NodeMeta, parse_node_list};
use crate::paths;

/// One node as read: its list entry, and its inputs or why there are none.
#[derive(Clone, Debug)]
pub struct NodeReading {
    pub node: NodeMeta,
    pub inputs: Result<NodeInputs, NodeFailure>,
}

/// Which of a node's documents failed, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeFailure {
    /// `Summary`, `kubelet config` or `pods`.
    pub what: &'static str,
    pub path: String,
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The request got no document: the kubelet (or the API server) did not answer, refused,
    /// or timed out.
    Unreachable,
    /// A document came but is not what it should be.
    BadAnswer,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "unreachable",
            FailureKind::BadAnswer => "bad answer",
        }
    }
}

impl std::fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (GET {}): {}", self.what, self.path, self.message)
    }
}

/// The list of nodes to read (`label_selector` as `kubectl get nodes -l`).
pub async fn list_nodes(api: &Api, label_selector: Option<&str>) -> Result<Vec<NodeMeta>, String> {
    let path = paths::nodes(label_selector);
    let text = api
        .get(&path)
        .await
        .map_err(|e| format!("cannot list the nodes (GET {path}): {e}"))?;
    parse_node_list(&text)
}

/// Read one node's three documents (concurrently) and parse them (configs through `configs`).
pub async fn read_node(api: &Api, node: &NodeMeta, configs: &ConfigCache) -> Result<NodeInputs, NodeFailure> {
    let name = &node.name;
    let (summary_path, config_path, pods_path) =
        (paths::summary(name), paths::configz(name), paths::pods(name));
    let (summary, config, pods) =
        tokio::join!(api.get(&summary_path), api.get(&config_path), api.get(&pods_path));
    let got = |what: &'static str, path: &str, r: Result<String, GetError>| {
        r.map_err(|e| NodeFailure {
            what,
            path: path.to_string(),
            kind: FailureKind::Unreachable,
            message: e.to_string(),
        })
    };
    let summary = got("Summary", &summary_path, summary)?;
    let config = got("kubelet config", &config_path, config)?;
    let pods = got("pods", &pods_path, pods)?;
    let bad = |what: &'static str, path: &str| {
        let path = path.to_string();
        move |message: String| NodeFailure {
            what,
            path,
            kind: FailureKind::BadAnswer,
            message,
        }
    };
    let summary =
        parse_summary(&summary, &format!("node {name} Summary")).map_err(bad("Summary", &summary_path))?;
    let (eviction, config_warnings) = configs
        .parse(&config, &format!("node {name} /configz"))
        .map_err(bad("kubelet config", &config_path))?;
    let pods = parse_pods(&pods, &format!("node {name} pods")).map_err(bad("pods", &pods_path))?;
    Ok(NodeInputs {
        summary,
        eviction,
        config_warnings,
        pods,
    })
}

/// Read every node of `nodes`, at most `concurrency` at a time, and turn each reading into a
/// `T` with `each` as soon as it arrives (so a node's documents are dropped once digested and
/// memory stays bounded by the concurrency, not the cluster size). Results in `nodes` order.
pub async fn read_all<T, F>(api: &Api, nodes: Vec<NodeMeta>, concurrency: usize, each: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(NodeReading) -> T + Send + Sync + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let configs = Arc::new(ConfigCache::default());
    let each = Arc::new(each);
    let mut tasks = tokio::task::JoinSet::new();
    let count = nodes.len();
    for (index, node) in nodes.into_iter().enumerate() {
        let (api, permits, each) = (api.clone(), permits.clone(), each.clone());
        let configs = configs.clone();
        tasks.spawn(async move {
            let inputs = match permits.acquire_owned().await {
                Ok(_permit) => read_node(&api, &node, &configs).await,
                // The semaphore is never closed; should it be, the node is reported, not lost.
                Err(_) => Err(NodeFailure {
                    what: "Summary",
                    path: paths::summary(&node.name),
                    kind: FailureKind::Unreachable,
                    message: "the scan was stopped".to_string(),
                }),
            };
            (index, each(NodeReading { node, inputs }))
        });
    }
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, value)) => {
                if let Some(slot) = out.get_mut(index) {
                    *slot = Some(value);
                }
            }
            // A panic in `each` is a bug: let it surface as one.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    out.into_iter().flatten().collect()
}
