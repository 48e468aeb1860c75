//! The eviction message and annotations the kubelet writes on an evicted pod (§10.3).
//!
//! The text is reproduced exactly because operators grep for it:
//! `The node was low on resource: memory. Threshold quantity: 100Mi, available: 99Mi. Container
//! app was using 1Gi, request is 100Mi, has larger consumption of memory. `

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::pod::Pod;
use crate::quantity::Quantity;
use crate::signal::Resource;
use crate::summary::{ContainerStats, PodStats};

/// Annotation: comma-joined names of the containers using more than their request.
pub const OFFENDING_CONTAINERS: &str = "offending_containers";
/// Annotation: their usages, same order.
pub const OFFENDING_CONTAINERS_USAGE: &str = "offending_containers_usage";
/// Annotation: the resource the node was low on.
pub const STARVED_RESOURCE: &str = "starved_resource";
/// Annotation (pod-level resources): the pod's name.
pub(crate) const OFFENDING_POD: &str = "offending_pod";
/// Annotation (pod-level resources): the pod's usage.
pub(crate) const OFFENDING_POD_USAGE: &str = "offending_pod_usage";

/// Annotations on the eviction event, sorted by key.
pub type Annotations = BTreeMap<String, String>;

/// The threshold part of a message: threshold quantity and observed available amount.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThresholdMet {
    pub quantity: Quantity,
    pub available: Quantity,
}

fn container_usage(resource: Resource, stats: &ContainerStats) -> Option<Quantity> {
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    match resource {
        Resource::Memory => {
            let ws = stats.memory.as_ref()?.working_set_bytes?;
            Some(Quantity::bytes(signed(ws)))
        }
        Resource::EphemeralStorage => {
            let root = stats.rootfs.as_ref()?.used_bytes?;
            let logs = stats.logs.as_ref()?.used_bytes?;
            Some(Quantity::bytes(signed(root).saturating_add(signed(logs))))
        }
        Resource::Inodes | Resource::Pids => None,
    }
}

/// Build the message and annotations for evicting `pod` to reclaim `resource`.
///
/// `threshold` is the first actionable threshold for the same resource that had an
/// observation (the caller picks it). Without pod stats the message stops after the threshold
/// part and the annotations are empty, as upstream.
pub fn eviction_message(
    resource: Resource,
    pod: &Pod,
    stats: Option<&PodStats>,
    threshold: Option<ThresholdMet>,
) -> (String, Annotations) {
    let mut message = format!("The node was low on resource: {resource}. ");
    let mut annotations = Annotations::new();
    if let Some(t) = threshold {
        let _ = write!(
            message,
            "Threshold quantity: {}, available: {}. ",
            t.quantity, t.available
        );
    }
    let Some(stats) = stats else {
        return (message, annotations);
    };
    // Pod-level resources (PodLevelResources, on by default since v1.34): the pod as a whole.
    if resource == Resource::Memory
        && pod.has_pod_level_resources()
        && let Some(request) = pod.spec.resources.as_ref().and_then(|r| r.request("memory"))
        && let Some(memory) = stats.memory.as_ref()
    {
        // Upstream needs memory stats but not the working set in them (absent counts as 0).
        let ws = memory.working_set_bytes.unwrap_or(0);
        let usage = Quantity::bytes(i64::try_from(ws).unwrap_or(i64::MAX));
        let _ = write!(
            message,
            "Pod {} was using {usage}, request is {request}, has larger consumption of {resource}. ",
            pod.metadata.name
        );
        annotations.insert(OFFENDING_POD.into(), pod.metadata.name.clone());
        annotations.insert(OFFENDING_POD_USAGE.into(), usage.to_string());
    }
    let mut names: Vec<&str> = Vec::new();
    let mut usages: Vec<String> = Vec::new();
    let spec_containers = pod.spec.containers.iter().chain(&pod.spec.init_containers);
    for cs in &stats.containers {
        let Some(container) = spec_containers.clone().find(|c| c.name == cs.name) else {
            continue;
        };
        let request = container.request(resource.as_str()).unwrap_or(Quantity::ZERO);
        if let Some(usage) = container_usage(resource, cs)
            && usage > request
        {
            let _ = write!(
                message,
                "Container {} was using {usage}, request is {request}, has larger consumption of {resource}. ",
                container.name
            );
            names.push(&container.name);
            usages.push(usage.to_string());
        }
    }
    annotations.insert(OFFENDING_CONTAINERS.into(), names.join(","));
    annotations.insert(OFFENDING_CONTAINERS_USAGE.into(), usages.join(","));
    annotations.insert(STARVED_RESOURCE.into(), resource.as_str().into());
    (message, annotations)
}

/// An eviction message read back: what the kubelet wrote in `status.message` of an evicted
/// pod (and in its Event), split into its parts. Quantities are kept as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedMessage {
    /// `memory`, `ephemeral-storage`, `inodes`, `pids`.
    pub resource: String,
    /// `Threshold quantity: X, available: Y.` (absent when the threshold had no observation).
    pub threshold: Option<String>,
    pub available: Option<String>,
    /// `Pod P was using U, request is R` (pod-level resources).
    pub pod: Option<Consumer>,
    /// `Container C was using U, request is R`, in message order.
    pub containers: Vec<Consumer>,
    /// Sentences the parser did not recognise (kept, not dropped).
    pub other: Vec<String>,
}

/// A pod or container the message names as using more than its request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Consumer {
    pub name: String,
    pub usage: String,
    pub request: String,
}

const PREFIX: &str = "The node was low on resource: ";

/// Read an eviction message back. `Err` says why the text is not one.
pub fn parse_eviction_message(text: &str) -> Result<ParsedMessage, String> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix(PREFIX) else {
        let shown: String = text.chars().take(60).collect();
        return Err(format!(
            "not a kubelet eviction message: it starts with {shown:?}, expected \"{PREFIX}...\""
        ));
    };
    let mut out = ParsedMessage::default();
    // Sentences end with ". "; quantities never contain ". " (they may contain "." as in 1.5Gi).
    let mut sentences = rest.split(". ").map(|s| s.trim().trim_end_matches('.'));
    out.resource = sentences.next().unwrap_or_default().to_string();
    for sentence in sentences.filter(|s| !s.is_empty()) {
        if let Some(t) = sentence.strip_prefix("Threshold quantity: ") {
            match t.split_once(", available: ") {
                Some((q, a)) => {
                    out.threshold = Some(q.to_string());
                    out.available = Some(a.to_string());
                }
                None => out.other.push(sentence.to_string()),
            }
            continue;
        }
        let (is_pod, body) = match (sentence.strip_prefix("Container "), sentence.strip_prefix("Pod ")) {
            (Some(b), _) => (false, b),
            (None, Some(b)) => (true, b),
            _ => {
                out.other.push(sentence.to_string());
                continue;
            }
        };
        let parsed = body.split_once(" was using ").and_then(|(name, rest)| {
            let (usage, rest) = rest.split_once(", request is ")?;
            let (request, _) = rest.split_once(", has larger consumption of ")?;
            Some(Consumer {
                name: name.to_string(),
                usage: usage.to_string(),
                request: request.to_string(),
            })
        });
        match (parsed, is_pod) {
            (Some(c), true) => out.pod = Some(c),
            (Some(c), false) => out.containers.push(c),
            (None, _) => out.other.push(sentence.to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u"},
            "spec": {
                "containers": [
                    {"name": "app", "resources": {"requests": {"memory": "100Mi"}}},
                    {"name": "sidecar"},
                    {"name": "quiet", "resources": {"requests": {"memory": "1Gi"}}}
                ],
                "initContainers": [{"name": "log", "restartPolicy": "Always"}]
            }
        }))
        .unwrap()
    }

    fn stats() -> PodStats {
        serde_json::from_value(serde_json::json!({
            "podRef": {"name": "web", "namespace": "shop", "uid": "u"},
            "memory": {"workingSetBytes": 734003200u64},
            "containers": [
                {"name": "app", "memory": {"workingSetBytes": 524288000u64}},
                {"name": "sidecar", "memory": {"workingSetBytes": 1000}},
                {"name": "quiet", "memory": {"workingSetBytes": 1024}},
                {"name": "log", "memory": {"workingSetBytes": 2048}},
                {"name": "unknown", "memory": {"workingSetBytes": 4096}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn memory_message_names_offending_containers() {
        let t = ThresholdMet {
            quantity: Quantity::parse("100Mi").unwrap(),
            available: Quantity::bytes(99 * 1024 * 1024),
        };
        let (msg, ann) = eviction_message(Resource::Memory, &pod(), Some(&stats()), Some(t));
        assert_eq!(
            msg,
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 99Mi. \
             Container app was using 500Mi, request is 100Mi, has larger consumption of memory. \
             Container sidecar was using 1k, request is 0, has larger consumption of memory. \
             Container log was using 2Ki, request is 0, has larger consumption of memory. "
        );
        assert_eq!(ann[OFFENDING_CONTAINERS], "app,sidecar,log");
        assert_eq!(ann[OFFENDING_CONTAINERS_USAGE], "500Mi,1k,2Ki");
        assert_eq!(ann[STARVED_RESOURCE], "memory");
        assert!(!ann.contains_key(OFFENDING_POD));
    }

    #[test]
    fn messages_read_back_into_their_parts() {
        let t = ThresholdMet {
            quantity: Quantity::parse("100Mi").unwrap(),
            available: Quantity::bytes(99 * 1024 * 1024),
        };
        let mut p = pod();
        p.spec.resources =
            serde_json::from_value(serde_json::json!({"requests": {"memory": "600Mi"}})).unwrap();
        let (msg, _) = eviction_message(Resource::Memory, &p, Some(&stats()), Some(t));
        let parsed = parse_eviction_message(&msg).unwrap();
        assert_eq!(parsed.resource, "memory");
        assert_eq!(parsed.threshold.as_deref(), Some("100Mi"));
        assert_eq!(parsed.available.as_deref(), Some("99Mi"));
        assert_eq!(parsed.pod.as_ref().map(|c| c.usage.as_str()), Some("700Mi"));
        let names: Vec<&str> = parsed.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "sidecar", "log"]);
        assert_eq!(parsed.containers[0].request, "100Mi");
        assert!(parsed.other.is_empty(), "{:?}", parsed.other);
        let (msg, _) = eviction_message(Resource::Memory, &pod(), None, None);
        let parsed = parse_eviction_message(&msg).unwrap();
        assert_eq!(parsed.threshold, None);
        assert!(parsed.containers.is_empty());
        assert!(parse_eviction_message("OOMKilled").is_err());
    }

    proptest::proptest! {
        /// Any text: an error or a parse, never a panic; a message the kubelet could write
        /// reads back to the numbers it was written from.
        #[test]
        fn reading_back_never_panics_and_round_trips(
            junk in ".{0,200}",
            threshold in 1i64..(1 << 40),
            available in 0i64..(1 << 40),
            usage in 0i64..(1 << 40),
        ) {
            let _ = parse_eviction_message(&junk);
            let _ = parse_eviction_message(&format!("{PREFIX}{junk}"));
            let t = ThresholdMet {
                quantity: Quantity::bytes(threshold),
                available: Quantity::bytes(available),
            };
            let mut s = stats();
            s.containers[0].memory.as_mut().unwrap().working_set_bytes = Some(usage as u64 + (200 << 20));
            let (msg, _) = eviction_message(Resource::Memory, &pod(), Some(&s), Some(t));
            let parsed = parse_eviction_message(&msg).unwrap();
            proptest::prop_assert_eq!(parsed.threshold, Some(Quantity::bytes(threshold).to_string()));
            proptest::prop_assert_eq!(parsed.available, Some(Quantity::bytes(available).to_string()));
            proptest::prop_assert_eq!(&parsed.containers[0].name, "app");
            proptest::prop_assert!(parsed.other.is_empty());
        }
    }

    #[test]
    fn without_stats_the_message_stops_after_the_threshold() {
        let (msg, ann) = eviction_message(Resource::Memory, &pod(), None, None);
        assert_eq!(msg, "The node was low on resource: memory. ");
        assert!(ann.is_empty());
        // (apimachinery prints a BinarySI 1000 as `1k`.)
        // With stats but nobody over request, annotations are present and empty.
        let mut s = stats();
        s.containers.clear();
        let (_, ann) = eviction_message(Resource::Memory, &pod(), Some(&s), None);
        assert_eq!(ann[OFFENDING_CONTAINERS], "");
        assert_eq!(ann[STARVED_RESOURCE], "memory");
    }

    #[test]
    fn pod_level_variant() {
        let mut p = pod();
        p.spec.resources =
            serde_json::from_value(serde_json::json!({"requests": {"memory": "600Mi"}})).unwrap();
        let (msg, ann) = eviction_message(Resource::Memory, &p, Some(&stats()), None);
        assert!(
            msg.starts_with("The node was low on resource: memory. Pod web was using 700Mi, request is 600Mi, has larger consumption of memory. Container app"),
            "{msg}"
        );
        assert_eq!(ann[OFFENDING_POD], "web");
        assert_eq!(ann[OFFENDING_POD_USAGE], "700Mi");
    }

    #[test]
    fn ephemeral_storage_needs_rootfs_and_logs() {
        let p = pod();
        let s: PodStats = serde_json::from_value(serde_json::json!({
            "podRef": {"uid": "u"},
            "containers": [
                {"name": "app", "rootfs": {"usedBytes": 1024}, "logs": {"usedBytes": 1024}},
                {"name": "sidecar", "rootfs": {"usedBytes": 1024}}
            ]
        }))
        .unwrap();
        let (msg, ann) = eviction_message(Resource::EphemeralStorage, &p, Some(&s), None);
        assert_eq!(
            msg,
            "The node was low on resource: ephemeral-storage. Container app was using 2Ki, request is 0, has larger consumption of ephemeral-storage. "
        );
        assert_eq!(ann[STARVED_RESOURCE], "ephemeral-storage");
    }
}
