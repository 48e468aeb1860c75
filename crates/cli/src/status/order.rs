//! The eviction order if memory pressure happened now: the pods, ranked by headroom-core's
//! memory ranking, with the facts that placed each one.

use std::collections::BTreeMap;

use headroom_core::pod::{ObjectMeta, Pod};
use headroom_core::summary::PodStats;

use super::input::{PodCgroupView, StatusInput};
use super::report::{Candidate, EvictionOrder};
use super::units::percent;

pub const MEMORY_RULE: &str =
    "pods over their memory request first, then lower priority, then larger usage over request";

/// What is known about one pod before ranking.
struct PodFacts<'a> {
    pod: Pod,
    qos: Option<String>,
    request: Option<i64>,
    priority: Option<i32>,
    critical: bool,
    stats: Option<&'a PodStats>,
    cgroup: Option<&'a PodCgroupView>,
}

pub fn eviction_order(input: &StatusInput, top: usize, notes: &mut Vec<String>) -> EvictionOrder {
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
        Some(pods) => pods
            .iter()
            .map(|pod| {
                let uid = pod.metadata.uid.as_str();
                PodFacts {
                    qos: qos_of(pod),
                    request: Some(effective_memory_request(pod)),
                    priority: Some(pod.spec.priority.unwrap_or(0)),
                    critical: is_critical(pod),
                    stats: stats_by_uid.get(uid).copied(),
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
                        request: (qos.as_deref() == Some("BestEffort")).then_some(0),
                        qos,
                        priority: None,
                        critical: false,
                        stats,
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

    let requests_known = input.pods.is_some();
    if !requests_known && !facts.is_empty() {
        notes.push(
            "Without --pods the memory requests and priorities are unknown (shown as ?); the \
             order assumes no requests and priority 0. Pass `kubectl get pods -o json \
             --field-selector spec.nodeName=NODE` as --pods for the kubelet's exact order."
                .to_string(),
        );
    }

    let ranked = rank(&facts);
    let total = ranked.len();
    let pods = ranked
        .into_iter()
        .take(top)
        .enumerate()
        .map(|(i, (idx, placed_by))| candidate(i + 1, &facts[idx], placed_by))
        .collect();
    EvictionOrder {
        rule: MEMORY_RULE,
        total,
        requests_known,
        pods,
    }
}

fn candidate(rank: usize, f: &PodFacts, placed_by: String) -> Candidate {
    let usage = f.stats.and_then(|s| s.memory.as_ref()?.working_set_bytes);
    let over = match (usage, f.request) {
        (Some(u), Some(r)) => i64::try_from(u).ok().map(|u| u - r),
        _ => None,
    };
    let active = f.cgroup.and_then(|c| c.memory.active_file);
    let meta = &f.pod.metadata;
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Candidate {
        rank,
        namespace: non_empty(&meta.namespace),
        name: non_empty(&meta.name),
        uid: meta.uid.clone(),
        qos: f.qos.clone(),
        priority: f.priority,
        request_bytes: f.request,
        usage_bytes: usage,
        over_request_bytes: over,
        exceeds_request: over.map(|o| o > 0),
        placed_by,
        critical: f.critical,
        active_file_bytes: active,
        active_file_percent: match (active, usage) {
            (Some(a), Some(u)) => percent(i128::from(a), i128::from(u)),
            _ => None,
        },
    }
}

// ---------------------------------------------------------------------------------------
// TODO(status): interim stand-ins until headroom_core::{pod, rank} land on main; they will be
// replaced by calls into the core, not kept.

fn qos_of(pod: &Pod) -> Option<String> {
    pod.status.as_ref().and_then(|s| s.qos_class.clone())
}

fn effective_memory_request(pod: &Pod) -> i64 {
    pod.spec
        .containers
        .iter()
        .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get("memory"))
        .map(|q| q.value())
        .sum()
}

fn is_critical(pod: &Pod) -> bool {
    pod.spec.priority.is_some_and(|p| p >= 2_000_000_000)
}

/// Indices into `facts` in eviction order, each with the rule that placed it.
fn rank(facts: &[PodFacts]) -> Vec<(usize, String)> {
    let usage = |f: &PodFacts| f.stats.and_then(|s| s.memory.as_ref()?.working_set_bytes);
    let mut idx: Vec<usize> = (0..facts.len()).collect();
    idx.sort_by_key(|&i| {
        let f = &facts[i];
        let u = usage(f).map(|u| u as i64);
        let r = f.request.unwrap_or(0);
        (
            u.is_some(),
            u.unwrap_or(0) <= r,
            f.priority.unwrap_or(0),
            std::cmp::Reverse(u.unwrap_or(0) - r),
        )
    });
    idx.into_iter().map(|i| (i, "interim".to_string())).collect()
}
