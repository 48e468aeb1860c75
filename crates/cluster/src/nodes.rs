//! The node list: which nodes to read, and what each node's kubelet reports about memory
//! pressure right now (its `MemoryPressure` condition), to show beside headroom's figures.

use serde::Deserialize;

/// One node of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeMeta {
    pub name: String,
    /// `status.conditions[type=MemoryPressure].status` (`True`, `False`, `Unknown`); `None`
    /// when the node reports no such condition.
    pub memory_pressure: Option<String>,
    /// `status.conditions[type=Ready].status`.
    pub ready: Option<String>,
}

// Only the fields headroom reads; a real NodeList carries much more (images, addresses...).
#[derive(Deserialize)]
struct NodeList {
    #[serde(default)]
    items: Option<Vec<Node>>,
}

#[derive(Deserialize)]
struct Node {
    metadata: Metadata,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
}

#[derive(Deserialize, Default)]
struct Status {
    #[serde(default)]
    conditions: Option<Vec<Condition>>,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

/// The nodes of the API server's answer to [`crate::paths::nodes`], sorted by name.
pub fn parse_node_list(text: &str) -> Result<Vec<NodeMeta>, String> {
    let mut json = serde_json::Deserializer::from_str(text);
    let list: NodeList = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        format!(
            "the API server's node list is not a NodeList: {}: {}",
            e.path(),
            e.inner()
        )
    })?;
    let mut nodes: Vec<NodeMeta> = list
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let conditions = n.status.and_then(|s| s.conditions).unwrap_or_default();
            let status_of = |kind: &str| {
                conditions
                    .iter()
                    .find(|c| c.kind == kind)
                    .map(|c| c.status.clone())
            };
            NodeMeta {
                memory_pressure: status_of("MemoryPressure"),
                ready: status_of("Ready"),
                name: n.metadata.name,
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_conditions_come_from_a_node_list() {
        let text = r#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"9"},
          "items":[
            {"metadata":{"name":"b","labels":{"pool":"web"}},
             "status":{"conditions":[{"type":"MemoryPressure","status":"True","reason":"KubeletHasInsufficientMemory"},
                                     {"type":"Ready","status":"True"}],
                       "images":[{"names":["x"],"sizeBytes":1}]}},
            {"metadata":{"name":"a"}}
          ]}"#;
        let nodes = parse_node_list(text).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].name, "a");
        assert_eq!(nodes[0].memory_pressure, None);
        assert_eq!(nodes[1].memory_pressure.as_deref(), Some("True"));
        assert_eq!(nodes[1].ready.as_deref(), Some("True"));
    }

    #[test]
    fn an_empty_cluster_is_an_empty_list_and_junk_names_the_field() {
        assert_eq!(parse_node_list(r#"{"items":null}"#).unwrap(), vec![]);
        assert_eq!(parse_node_list(r#"{"kind":"NodeList"}"#).unwrap(), vec![]);
        let err = parse_node_list(r#"{"items":[{"metadata":{"name":7}}]}"#).unwrap_err();
        assert!(err.contains("items[0].metadata.name"), "{err}");
        assert!(parse_node_list("<html>").is_err());
    }
}
