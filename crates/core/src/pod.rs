//! The parts of `v1.Pod` the eviction manager reads, as `kubectl get -o json` prints them.
//!
//! Unknown fields are ignored. A file may hold one Pod, a `PodList` (`{"kind": "PodList",
//! "items": [...]}`, also `kind: List`), or a bare JSON array of pods; [`PodList::from_value`]
//! accepts all three.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// Resource name -> quantity (`{"memory": "100Mi", "cpu": "100m"}`).
pub type ResourceList = BTreeMap<String, Quantity>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Pod-level resources (feature PodLevelResources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// `Always` on an init container makes it a sidecar (restartable init container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequirements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceList>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// A pod volume: its name, the `emptyDir` source when it is one, and the other source keys
/// (`hostPath`, `configMap`, `secret`, ...) kept as raw JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolumeSource>,
    #[serde(flatten)]
    pub other_sources: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirVolumeSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
}

/// A list of pods from any of the shapes `kubectl` and users produce.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodList {
    pub items: Vec<Pod>,
}

/// Why a JSON value is not a pod list.
#[derive(Debug, thiserror::Error)]
pub enum PodListError {
    #[error("expected a Pod, a PodList (with \"items\") or an array of pods, found {0}")]
    Shape(&'static str),
    #[error("pod #{index}: {source}")]
    Pod {
        index: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl PodList {
    /// Accept a single Pod, a `PodList`/`List` object with `items`, or a JSON array of pods.
    pub fn from_value(value: serde_json::Value) -> Result<PodList, PodListError> {
        let items = match value {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Object(mut map) => match map.remove("items") {
                Some(serde_json::Value::Array(items)) => items,
                Some(serde_json::Value::Null) => Vec::new(),
                Some(_) => return Err(PodListError::Shape("\"items\" that is not an array")),
                None => vec![serde_json::Value::Object(map)],
            },
            serde_json::Value::Null => Vec::new(),
            _ => return Err(PodListError::Shape("a scalar")),
        };
        let items = items
            .into_iter()
            .enumerate()
            .map(|(index, v)| serde_json::from_value(v).map_err(|source| PodListError::Pod { index, source }))
            .collect::<Result<Vec<Pod>, _>>()?;
        Ok(PodList { items })
    }
}

impl Pod {
    /// `namespace/name`, the way headroom names pods in output.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn accepts_single_pod_and_arrays_and_names_the_bad_item() {
        let one = PodList::from_value(serde_json::json!({"metadata": {"name": "a"}})).unwrap();
        assert_eq!(one.items.len(), 1);
        let arr = PodList::from_value(serde_json::json!([{"metadata": {"name": "a"}}, {}])).unwrap();
        assert_eq!(arr.items.len(), 2);
        let err = PodList::from_value(serde_json::json!({"items": [{}, {"spec": {"priority": "high"}}]}))
            .unwrap_err();
        assert!(err.to_string().starts_with("pod #1:"), "{err}");
        assert!(PodList::from_value(serde_json::json!(3)).is_err());
    }
}
