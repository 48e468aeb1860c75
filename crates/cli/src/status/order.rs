//! The eviction order if memory pressure happened now: the pods, ranked by headroom-core's
//! memory ranking, with the facts that placed each one.

use std::collections::BTreeMap;

use headroom_core::observe::PodStatsIndex;
use headroom_core::pod::{ActivePods, ObjectMeta, Pod};
use headroom_core::rank::{self, Comparator, RankKind, RankedPod};
use headroom_core::summary::PodStats;

use super::input::{PodCgroupView, StatusInput};
use super::report::{Candidate, EvictionOrder};
use super::units::percent;

pub const MEMORY_RULE: &str = "pods whose working set exceeds their memory request first, then lower priority, then larger \
     working set over request";

/// What is known about one pod besides its ranking facts.
struct PodFacts<'a> {
    pod: Pod,
    qos: Option<String>,
    /// Whether the memory request is known (a pods file, or a BestEffort cgroup).
    request_known: bool,
    /// Whether the priority and criticality are known (a pods file).
    api_known: bool,
    cgroup: Option<&'a PodCgroupView>,
}

/// The pods of a pods file the kubelet of `node` would rank: its active pods, by the core's one
/// rule ([`ActivePods`]); what was left out becomes a note.
fn active_pods<'p>(pods: &'p [Pod], node: &str, notes: &mut Vec<String>) -> Vec<&'p Pod> {
    let ActivePods {
        active,
        elsewhere,
        finished,
        names_this_node,
    } = ActivePods::select(pods, node);
    let finished: Vec<String> = finished.iter().map(|p| p.key()).collect();
    if !elsewhere.is_empty() {
        let mut nodes: Vec<&str> = elsewhere
            .iter()
            .filter_map(|p| p.spec.node_name.as_deref())
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        notes.push(format!(
            "{} pod(s) of the pods file run on other nodes ({}) and were left out: the kubelet of \
             {node} only knows its own pods (kubectl get pods -A -o json --field-selector \
             spec.nodeName={node}).",
            elsewhere.len(),
            list_some(&nodes)
        ));
    } else if !names_this_node {
        let mut nodes: Vec<&str> = pods
            .iter()
            .filter_map(|p| p.spec.node_name.as_deref())
            .filter(|n| !n.is_empty())
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.len() > 1 {
            notes.push(format!(
                "The pods file holds pods of several nodes ({}), none named {node:?}: all were \
                 ranked. Filter it with kubectl's --field-selector spec.nodeName=NODE.",
                list_some(&nodes)
            ));
        }
    }
    if !finished.is_empty() {
        let keys: Vec<&str> = finished.iter().map(String::as_str).collect();
        notes.push(format!(
            "{} pod(s) in a terminal phase (Succeeded/Failed) were left out, as the kubelet leaves \
             them out of its active pods: {}.",
            finished.len(),
            list_some(&keys)
        ));
    }
    active
}

/// At most three items, then how many more.
fn list_some(items: &[&str]) -> String {
    let shown = items.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    match items.len().saturating_sub(3) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// The eviction order, and the active pods it ranks (for the core's decision).
pub fn eviction_order(input: &StatusInput, top: usize, notes: &mut Vec<String>) -> (EvictionOrder, Vec<Pod>) {
    let stats_by_uid: BTreeMap<&str, &PodStats> = input
        .summary
        .pods
        .iter()
        .map(|p| (p.pod_ref.uid.as_str(), p))
        .collect();
    let cgroups_by_uid: BTreeMap<&str, &PodCgroupView> = input
        .host
        .iter()
        .flat_map(|h| h.pods.iter())
        .map(|p| (p.uid.as_str(), p))
        .collect();

    let facts: Vec<PodFacts> = match &input.pods {
        Some(pods) => active_pods(pods, &input.summary.node.node_name, notes)
            .into_iter()
            .map(|pod| {
                let uid = pod.metadata.uid.as_str();
                PodFacts {
                    qos: Some(pod.qos_class().as_str().to_string()),
                    request_known: true,
                    api_known: true,
                    cgroup: cgroups_by_uid.get(uid).copied(),
                    pod: pod.clone(),
                }
            })
            .collect(),
        None => {
            // No API view: pods are what the cgroup tree or the Summary shows. Requests and
            // priorities are unknown, except that a BestEffort pod has no request.
            let uids: Vec<&str> = if cgroups_by_uid.is_empty() {
                input
                    .summary
                    .pods
                    .iter()
                    .map(|p| p.pod_ref.uid.as_str())
                    .collect()
            } else {
                input
                    .host
                    .iter()
                    .flat_map(|h| h.pods.iter())
                    .map(|p| p.uid.as_str())
                    .collect()
            };
            uids.into_iter()
                .map(|uid| {
                    let stats = stats_by_uid.get(uid).copied();
                    let cgroup = cgroups_by_uid.get(uid).copied();
                    let qos = cgroup.and_then(|c| c.qos.clone());
                    let meta = match stats {
                        Some(s) => ObjectMeta {
                            name: s.pod_ref.name.clone(),
                            namespace: s.pod_ref.namespace.clone(),
                            uid: uid.to_string(),
                            ..ObjectMeta::default()
                        },
                        None => ObjectMeta {
                            uid: uid.to_string(),
                            ..ObjectMeta::default()
                        },
                    };
                    PodFacts {
                        request_known: qos.as_deref() == Some("BestEffort"),
                        qos,
                        api_known: false,
                        cgroup,
                        pod: Pod {
                            metadata: meta,
                            ..Pod::default()
                        },
                    }
                })
                .collect()
        }
    };

    if let Some(pods) = &input.pods
        && !facts.is_empty()
        && (!stats_by_uid.is_empty() || !cgroups_by_uid.is_empty())
        && facts.iter().all(|f| {
            let uid = f.pod.metadata.uid.as_str();
            !stats_by_uid.contains_key(uid) && !cgroups_by_uid.contains_key(uid)
        })
    {
        notes.push(format!(
            "None of the {} pod(s) of the pods file has stats or a pod cgroup here, while {} \
             other pod(s) do: this pod list seems to be from another node (kubectl get pods -A \
             -o json --field-selector spec.nodeName=NODE).",
            pods.len(),
            stats_by_uid.len().max(cgroups_by_uid.len())
        ));
    }
    let requests_known = input.pods.is_some();
    if !requests_known && !facts.is_empty() {
        notes.push(
            "Without --pods the memory requests and priorities are unknown (shown as ?); the \
             order assumes no requests and priority 0. Pass `kubectl get pods -o json \
             --field-selector spec.nodeName=NODE` as --pods for the kubelet's exact order."
                .to_string(),
        );
    }

    // The kubelet's memory ranking, from headroom-core (ties keep input order).
    let pods_only: Vec<Pod> = facts.iter().map(|f| f.pod.clone()).collect();
    let ranked = rank::rank(RankKind::Memory, &pods_only, &PodStatsIndex::new(&input.summary));
    let total = ranked.len();
    let last = total.saturating_sub(1);
    let pods = ranked
        .iter()
        .take(top)
        .enumerate()
        .map(|(i, r)| {
            let f = &facts[r.index];
            let stats = stats_by_uid.get(f.pod.metadata.uid.as_str()).copied();
            candidate(i + 1, f, r, i == last, stats)
        })
        .collect();
    let order = EvictionOrder {
        rule: MEMORY_RULE,
        total,
        requests_known,
        pods,
        evicted_uid: None,
    };
    (order, pods_only)
}

/// A stable code for the comparator that placed a pod before the next one.
fn placed_by_code(c: Option<Comparator>, last: bool) -> &'static str {
    match c {
        Some(Comparator::MissingStats) => "missingStats",
        Some(Comparator::ExceedsRequest) => "exceedsRequest",
        Some(Comparator::Priority) => "priority",
        Some(Comparator::UsageOverRequest) => "usageOverRequest",
        Some(Comparator::ProcessCount) => "processCount",
        None if last => "last",
        None => "tie",
    }
}

fn candidate(rank: usize, f: &PodFacts, r: &RankedPod, last: bool, stats: Option<&PodStats>) -> Candidate {
    let facts = &r.facts;
    let usage = facts
        .has_stats
        .then(|| u64::try_from(facts.usage.value()).ok())
        .flatten();
    let request = f.request_known.then(|| facts.request.value());
    let over = (facts.has_stats && f.request_known).then(|| facts.usage_over_request.value());
    // The pod cgroup's active_file when the kernel files were read; else, from the Summary,
    // working set - rssBytes (active page cache plus shmem and kernel memory: an estimate).
    let from_cgroup = f.cgroup.and_then(|c| c.memory.active_file);
    let estimated = match from_cgroup {
        Some(_) => None,
        None => stats
            .and_then(|s| s.memory.as_ref())
            .and_then(|m| Some(m.working_set_bytes?.saturating_sub(m.rss_bytes?))),
    };
    let active = from_cgroup.or(estimated);
    let meta = &f.pod.metadata;
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Candidate {
        rank,
        namespace: non_empty(&meta.namespace),
        name: non_empty(&meta.name),
        uid: meta.uid.clone(),
        qos: f.qos.clone(),
        priority: f.api_known.then_some(facts.priority),
        request_bytes: request,
        working_set_bytes: usage,
        over_request_bytes: over,
        exceeds_request: (facts.has_stats && f.request_known).then_some(facts.exceeds_request),
        placed_by: placed_by_code(r.before_next, last),
        placed_by_rule: r.before_next.map(Comparator::describe),
        critical: f.api_known && f.pod.is_critical(),
        active_file_bytes: active,
        active_file_percent: match (active, usage) {
            (Some(a), Some(u)) => percent(i128::from(a), i128::from(u)),
            _ => None,
        },
        active_file_estimated: estimated.is_some(),
        limit_bytes: f
            .api_known
            .then(|| f.pod.limit("memory"))
            .flatten()
            .map(|q| q.value()),
    }
}

#[cfg(test)]
mod active_pods_tests {
    use super::*;

    fn pod(name: &str, node: Option<&str>, phase: Option<&str>) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns", "uid": name},
            "spec": {"nodeName": node},
            "status": {"phase": phase}
        }))
        .unwrap()
    }

    #[test]
    fn a_node_name_the_file_never_uses_keeps_every_pod() {
        // On a live node whose hostname differs from its node name, nothing is dropped.
        let pods = [pod("a", Some("n1"), None), pod("b", Some("n2"), Some("Running"))];
        let mut notes = Vec::new();
        let kept = active_pods(&pods, "ip-10-0-0-1", &mut notes);
        assert_eq!(kept.len(), 2);
        assert!(notes[0].contains("several nodes (n1, n2)"), "{notes:?}");
    }

    #[test]
    fn unbound_pods_stay_and_terminal_ones_go() {
        let pods = [
            pod("here", Some("n1"), None),
            pod("unbound", None, None),
            pod("failed", Some("n1"), Some("Failed")),
            pod("there", Some("n2"), None),
        ];
        let mut notes = Vec::new();
        let kept: Vec<String> = active_pods(&pods, "n1", &mut notes)
            .iter()
            .map(|p| p.metadata.name.clone())
            .collect();
        assert_eq!(kept, ["here", "unbound"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
