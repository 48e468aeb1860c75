//! The parts of `v1.Pod` the eviction manager reads, as `kubectl get -o json` prints them.
//!
//! Unknown fields are ignored. A file may hold one Pod, a `PodList` (`{"kind": "PodList",
//! "items": [...]}`, also `kind: List`), or a bare JSON array of pods; [`PodList::from_value`]
//! accepts all three.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

mod active;
mod list;

pub use active::ActivePods;
pub use list::{PodList, PodListError};

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
    /// When the kubelet acknowledged the pod (`status.startTime`, RFC 3339). With cAdvisor
    /// stats the kubelet prints it as the pod's Summary `startTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
    /// Which runtime container runs each spec container: lets a Summary collected from
    /// cgroups (containers named by id) be named as the kubelet names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_container_statuses: Vec<ContainerStatus>,
}

/// `v1.ContainerStatus`, the two fields headroom reads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerStatus {
    #[serde(default)]
    pub name: String,
    /// `<runtime>://<id>`, e.g. `containerd://4f1c...`; absent before the container starts.
    #[serde(rename = "containerID", default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}

impl ContainerStatus {
    /// The runtime's container id without the `<runtime>://` prefix.
    pub fn runtime_id(&self) -> Option<&str> {
        let id = self.container_id.as_deref()?;
        let id = id.split_once("://").map_or(id, |(_, rest)| rest);
        (!id.is_empty()).then_some(id)
    }
}

impl Pod {
    /// `namespace/name`, the way headroom names pods in output.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }
}

/// The pod's Quality of Service class (`status.qosClass`); also what the collector reads from a
/// pod cgroup's path (`headroom_linux::discovery::Qos` is this type). Serialized as the kubelet
/// spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// Annotation the kubelet sets on pods it got from a file or URL (`file`, `http`) or the API (`api`).
pub(crate) const ANNOTATION_CONFIG_SOURCE: &str = "kubernetes.io/config.source";
/// Annotation present on mirror pods (the API copy of a static pod).
pub(crate) const ANNOTATION_CONFIG_MIRROR: &str = "kubernetes.io/config.mirror";
/// `system-cluster-critical`; any priority at or above it makes a pod critical.
pub(crate) const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;
/// The taint the node lifecycle controller puts on a node under MemoryPressure.
pub(crate) const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";

/// The resources that decide the QoS class.
const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];
/// Resources that may be set at pod level (`spec.resources`, feature PodLevelResources).
const POD_LEVEL_RESOURCES: [&str; 2] = ["cpu", "memory"];

impl ResourceRequirements {
    /// The request for `resource`, defaulted to the limit when only a limit is written (the API
    /// server applies that default before the kubelet ever sees the pod, so a pod file taken
    /// from `kubectl get` already has it; a hand-written one may not).
    pub fn request(&self, resource: &str) -> Option<Quantity> {
        self.requests
            .as_ref()
            .and_then(|r| r.get(resource))
            .or_else(|| self.limits.as_ref().and_then(|l| l.get(resource)))
            .copied()
    }

    /// The limit for `resource`.
    pub fn limit(&self, resource: &str) -> Option<Quantity> {
        self.limits.as_ref().and_then(|l| l.get(resource)).copied()
    }
}

impl Container {
    /// The container's request for `resource` (limit when only a limit is set).
    pub fn request(&self, resource: &str) -> Option<Quantity> {
        self.resources.as_ref()?.request(resource)
    }

    /// The container's limit for `resource`.
    pub fn limit(&self, resource: &str) -> Option<Quantity> {
        self.resources.as_ref()?.limit(resource)
    }

    /// An init container with `restartPolicy: Always` (a sidecar).
    pub(crate) fn is_restartable_init(&self) -> bool {
        self.restart_policy.as_deref() == Some("Always")
    }
}

impl Toleration {
    /// Kubernetes `Toleration.ToleratesTaint` for a taint with this key, value and effect.
    pub(crate) fn tolerates(&self, key: &str, value: &str, effect: &str) -> bool {
        let non_empty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(e) = non_empty(&self.effect)
            && e != effect
        {
            return false;
        }
        if let Some(k) = non_empty(&self.key)
            && k != key
        {
            return false;
        }
        match self.operator.as_deref().unwrap_or("") {
            "" | "Equal" => self.value.as_deref().unwrap_or("") == value,
            "Exists" => true,
            _ => false,
        }
    }
}

/// Which containers' values go into a pod total.
#[derive(Clone, Copy)]
enum Aggregate {
    Requests,
    Limits,
}

impl Pod {
    /// `status.phase` is terminal (`Succeeded` or `Failed`): the kubelet leaves such a pod out
    /// of its active pods (`filterOutInactivePods`), so the eviction manager never ranks it.
    pub fn is_terminated(&self) -> bool {
        matches!(
            self.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded") | Some("Failed")
        )
    }

    /// `spec.priority`, 0 when unset (as the eviction manager reads it).
    pub fn priority(&self) -> i32 {
        self.spec.priority.unwrap_or(0)
    }

    /// Static pod: the config-source annotation is present and is not `api`.
    pub fn is_static(&self) -> bool {
        self.metadata
            .annotations
            .get(ANNOTATION_CONFIG_SOURCE)
            .is_some_and(|s| s != "api")
    }

    /// Mirror pod: the mirror annotation is present.
    pub fn is_mirror(&self) -> bool {
        self.metadata.annotations.contains_key(ANNOTATION_CONFIG_MIRROR)
    }

    /// The kubelet's `IsCriticalPod`: static, mirror, or priority >= 2000000000. Critical pods
    /// are ranked like any other but never evicted, and always admitted.
    pub fn is_critical(&self) -> bool {
        self.is_static()
            || self.is_mirror()
            || self.spec.priority.is_some_and(|p| p >= SYSTEM_CRITICAL_PRIORITY)
    }

    /// Whether any toleration matches the `node.kubernetes.io/memory-pressure:NoSchedule` taint.
    pub(crate) fn tolerates_memory_pressure(&self) -> bool {
        self.spec
            .tolerations
            .iter()
            .any(|t| t.tolerates(TAINT_MEMORY_PRESSURE, "", "NoSchedule"))
    }

    /// Pod-level resources are set (`spec.resources` with a cpu or memory request or limit).
    pub(crate) fn has_pod_level_resources(&self) -> bool {
        self.spec.resources.as_ref().is_some_and(|r| {
            POD_LEVEL_RESOURCES
                .iter()
                .any(|name| r.request(name).is_some() || r.limit(name).is_some())
        })
    }

    /// QoS class: `status.qosClass` when the API filled it in, else computed like
    /// `v1qos.ComputePodQOS` (only cpu and memory values > 0 count).
    pub fn qos_class(&self) -> QosClass {
        let from_status = self.status.as_ref().and_then(|s| s.qos_class.as_deref());
        match from_status {
            Some("Guaranteed") => QosClass::Guaranteed,
            Some("Burstable") => QosClass::Burstable,
            Some("BestEffort") => QosClass::BestEffort,
            _ => self.computed_qos_class(),
        }
    }

    /// QoS class computed from the spec, ignoring `status.qosClass`.
    pub(crate) fn computed_qos_class(&self) -> QosClass {
        let positive = |q: Option<Quantity>| q.filter(|q| q.signum() > 0);
        let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
        let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
        let mut guaranteed = true;
        let pod_level = self
            .spec
            .resources
            .as_ref()
            .filter(|_| self.has_pod_level_resources());
        if let Some(r) = pod_level {
            for name in QOS_RESOURCES {
                if let Some(q) = positive(r.request(name)) {
                    requests.insert(name, q.nanos());
                }
                if let Some(q) = positive(r.limit(name)) {
                    limits.insert(name, q.nanos());
                }
            }
            if QOS_RESOURCES.iter().any(|n| !limits.contains_key(n)) {
                guaranteed = false;
            }
        } else {
            for c in self.spec.containers.iter().chain(&self.spec.init_containers) {
                let mut limit_found = 0;
                for name in QOS_RESOURCES {
                    if let Some(q) = positive(c.request(name)) {
                        *requests.entry(name).or_default() += q.nanos();
                    }
                    if let Some(q) = positive(c.limit(name)) {
                        *limits.entry(name).or_default() += q.nanos();
                        limit_found += 1;
                    }
                }
                if limit_found < QOS_RESOURCES.len() {
                    guaranteed = false;
                }
            }
        }
        if requests.is_empty() && limits.is_empty() {
            return QosClass::BestEffort;
        }
        if guaranteed
            && requests.iter().all(|(name, req)| limits.get(name) == Some(req))
            && requests.len() == limits.len()
        {
            return QosClass::Guaranteed;
        }
        QosClass::Burstable
    }

    /// The pod's effective request for `resource` as the kubelet's ranking uses it
    /// (`resourcehelper.PodRequests`): regular containers plus sidecars, or the largest init
    /// container step if bigger; pod-level resources replace that for cpu/memory; the pod
    /// overhead is added only when the result is non-zero. Missing values count as 0.
    pub fn request(&self, resource: &str) -> Quantity {
        self.aggregate(resource, Aggregate::Requests)
            .unwrap_or(Quantity::bytes(0))
    }

    /// The pod's effective limit for `resource` (`resourcehelper.PodLimits`), `None` when no
    /// container (nor the pod level) sets one.
    pub fn limit(&self, resource: &str) -> Option<Quantity> {
        self.aggregate(resource, Aggregate::Limits)
    }

    fn aggregate(&self, resource: &str, which: Aggregate) -> Option<Quantity> {
        let get = |c: &Container| match which {
            Aggregate::Requests => c.request(resource),
            Aggregate::Limits => c.limit(resource),
        };
        // The total keeps the print format of the first value found, as Quantity.Add does.
        let mut format = None;
        let mut sum: i128 = 0;
        for c in &self.spec.containers {
            if let Some(q) = get(c) {
                format.get_or_insert(q.format());
                sum += q.nanos();
            }
        }
        // Sidecars run alongside everything started after them; an ordinary init container
        // runs alone next to the sidecars declared before it.
        let mut sidecars: i128 = 0;
        let mut init_max: i128 = 0;
        for c in &self.spec.init_containers {
            let q = get(c);
            if let Some(q) = q {
                format.get_or_insert(q.format());
            }
            let v = q.map_or(0, |q| q.nanos());
            if c.is_restartable_init() {
                sum += v;
                sidecars += v;
                init_max = init_max.max(sidecars);
            } else {
                init_max = init_max.max(v + sidecars);
            }
        }
        let mut total = sum.max(init_max);
        if POD_LEVEL_RESOURCES.contains(&resource)
            && self.has_pod_level_resources()
            && let Some(r) = &self.spec.resources
        {
            let pod_level = match which {
                Aggregate::Requests => r.request(resource),
                Aggregate::Limits => r.limit(resource),
            };
            if let Some(q) = pod_level {
                format = Some(q.format());
                total = q.nanos();
            }
        }
        let format = format?;
        if total != 0
            && let Some(overhead) = self.spec.overhead.as_ref().and_then(|o| o.get(resource))
        {
            total += overhead.nanos();
        }
        Some(Quantity::from_nanos(total, format))
    }

    /// `terminationGracePeriodSeconds` when set.
    pub fn termination_grace_period_seconds(&self) -> Option<i64> {
        self.spec.termination_grace_period_seconds
    }
}

#[cfg(test)]
mod tests;
