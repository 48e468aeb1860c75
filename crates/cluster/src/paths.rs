//! The API paths headroom reads a cluster through. All GETs: the read-only role documented in
//! `docs/cluster.md` (nodes list, nodes/proxy get, pods list) is enough.

use headroom_agent::pods_api::percent_encode;

/// The node list, filtered by a label selector (`kubectl get nodes -l SELECTOR`).
/// `resourceVersion=0`: served from the API server's watch cache, not a quorum read from etcd.
pub fn nodes(label_selector: Option<&str>) -> String {
    match label_selector.filter(|s| !s.trim().is_empty()) {
        Some(s) => format!(
            "/api/v1/nodes?labelSelector={}&resourceVersion=0",
            percent_encode(s)
        ),
        None => "/api/v1/nodes?resourceVersion=0".to_string(),
    }
}

/// The node's kubelet Summary, through the API server's node proxy.
pub fn summary(node: &str) -> String {
    format!("/api/v1/nodes/{}/proxy/stats/summary", percent_encode(node))
}

/// The node's running kubelet config (`{"kubeletconfig": {...}}`), through the node proxy.
pub fn configz(node: &str) -> String {
    format!("/api/v1/nodes/{}/proxy/configz", percent_encode(node))
}

/// The pods bound to the node: the request the agent's `--pods-from api` makes.
pub fn pods(node: &str) -> String {
    headroom_agent::pods_api::pods_request_path(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_and_selectors_are_escaped() {
        assert_eq!(
            summary("ip-10-0-1-7.ec2.internal"),
            "/api/v1/nodes/ip-10-0-1-7.ec2.internal/proxy/stats/summary"
        );
        assert_eq!(configz("a/b"), "/api/v1/nodes/a%2Fb/proxy/configz");
        assert_eq!(
            nodes(Some("pool=web,!spot")),
            "/api/v1/nodes?labelSelector=pool%3Dweb%2C%21spot&resourceVersion=0"
        );
        assert_eq!(nodes(Some(" ")), "/api/v1/nodes?resourceVersion=0");
        assert_eq!(
            pods("n1"),
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&resourceVersion=0"
        );
    }
}
