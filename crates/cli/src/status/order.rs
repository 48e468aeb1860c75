//! The eviction order if memory pressure happened now: the pods, ranked by headroom-core's
//! memory ranking, with the facts that placed each one.

use std::collections::BTreeMap;

use headroom_core::observe::PodStatsIndex;
use headroom_core::pod::{ObjectMeta, Pod};
use headroom_core::rank::{self, Comparator, RankKind, RankedPod};
use headroom_core::summary::PodStats;

use super::input::{PodCgroupView, StatusInput};
use super::report::{Candidate, EvictionOrder};
use super::units::percent;

pub const MEMORY_RULE: &str =
    "pods over their memory request first, then lower priority, then larger usage over request";

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
        .map(|(i, r)| candidate(i + 1, &facts[r.index], r, i == last))
        .collect();
    EvictionOrder {
        rule: MEMORY_RULE,
        total,
        requests_known,
        pods,
    }
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

fn candidate(rank: usize, f: &PodFacts, r: &RankedPod, last: bool) -> Candidate {
    let facts = &r.facts;
    let usage = facts
        .has_stats
        .then(|| u64::try_from(facts.usage.value()).ok())
        .flatten();
    let request = f.request_known.then(|| facts.request.value());
    let over = (facts.has_stats && f.request_known).then(|| facts.usage_over_request.value());
    let active = f.cgroup.and_then(|c| c.memory.active_file);
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
        usage_bytes: usage,
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
    }
}
