//! The one rule for "the active pods": the pods a node's kubelet hands its eviction manager.
//!
//! The kubelet only holds pods bound to its node (its API source watches
//! `spec.nodeName=<node>`), and the eviction manager sees `GetActivePods`, which leaves out pods
//! in a terminal phase (`filterOutInactivePods`, pkg/kubelet/kubelet_pods.go). A pods file may
//! hold more: `kubectl get pods -A` without `--field-selector` lists every node's pods and
//! finished Job pods, which ranked here would have no stats and come first. Pods of other nodes
//! are left out only when the list does name this node: a hostname that differs from the node
//! name must not empty the list. `status` and the agent both select through [`ActivePods`].

use super::Pod;

/// A pod list split by the kubelet's rule, with what was left out and why.
#[derive(Debug)]
pub struct ActivePods<'p> {
    /// The pods the eviction manager would see, in list order.
    pub active: Vec<&'p Pod>,
    /// Pods bound to another node (left out only when the list names this node).
    pub elsewhere: Vec<&'p Pod>,
    /// Pods in a terminal phase (Succeeded/Failed).
    pub finished: Vec<&'p Pod>,
    /// Whether any pod of the list is bound to this node.
    pub names_this_node: bool,
}

impl<'p> ActivePods<'p> {
    /// Split `pods` as the kubelet of `node` would.
    pub fn select(pods: &'p [Pod], node: &str) -> ActivePods<'p> {
        let names_this_node =
            !node.is_empty() && pods.iter().any(|p| p.spec.node_name.as_deref() == Some(node));
        let bound_elsewhere = |p: &Pod| {
            p.spec
                .node_name
                .as_deref()
                .is_some_and(|n| !n.is_empty() && n != node)
        };
        let mut split = ActivePods {
            active: Vec::new(),
            elsewhere: Vec::new(),
            finished: Vec::new(),
            names_this_node,
        };
        for pod in pods {
            if names_this_node && bound_elsewhere(pod) {
                split.elsewhere.push(pod);
            } else if pod.is_terminated() {
                split.finished.push(pod);
            } else {
                split.active.push(pod);
            }
        }
        split
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: Option<&str>, phase: Option<&str>) -> Pod {
        let mut json =
            serde_json::json!({"metadata": {"name": name, "namespace": "ns", "uid": name}, "spec": {}});
        if let Some(n) = node {
            json["spec"]["nodeName"] = n.into();
        }
        if let Some(p) = phase {
            json["status"] = serde_json::json!({"phase": p});
        }
        serde_json::from_value(json).unwrap()
    }

    fn names(pods: &[&Pod]) -> Vec<String> {
        pods.iter().map(|p| p.metadata.name.clone()).collect()
    }

    #[test]
    fn other_nodes_go_only_when_the_list_names_this_node() {
        let pods = [
            pod("a", Some("n1"), None),
            pod("b", Some("n2"), None),
            pod("c", None, None),
        ];
        let split = ActivePods::select(&pods, "n1");
        assert_eq!(names(&split.active), ["a", "c"]);
        assert_eq!(names(&split.elsewhere), ["b"]);
        let split = ActivePods::select(&pods, "host-name-not-node-name");
        assert!(!split.names_this_node);
        assert_eq!(names(&split.active), ["a", "b", "c"]);
    }

    #[test]
    fn terminal_phases_go_wherever_they_run() {
        let pods = [
            pod("done", Some("n1"), Some("Succeeded")),
            pod("failed", None, Some("Failed")),
            pod("running", Some("n1"), Some("Running")),
            pod("pending", None, Some("Pending")),
        ];
        let split = ActivePods::select(&pods, "n1");
        assert_eq!(names(&split.active), ["running", "pending"]);
        assert_eq!(names(&split.finished), ["done", "failed"]);
    }
}
