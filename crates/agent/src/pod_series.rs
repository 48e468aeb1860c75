//! Per-pod metrics: each active pod's working set and its place in the kubelet's memory
//! eviction order, computed on every full pass (not only under pressure, when the manager
//! ranks) so a dashboard shows who would go first before it happens. Capped at
//! [`crate::metrics::POD_SERIES_CAP`] pods, first in eviction order.

use crate::metrics::Metrics;
use headroom_core::observe::PodStatsIndex;
use headroom_core::pod::Pod;
use headroom_core::rank::{RankKind, rank};
use headroom_core::summary::Summary;

/// `(namespace, name, working set bytes)` of `pods` in the kubelet's memory eviction order.
pub(crate) fn memory_order(pods: &[Pod], summary: &Summary) -> Vec<(String, String, f64)> {
    let index = PodStatsIndex::new(summary);
    rank(RankKind::Memory, pods, &index)
        .into_iter()
        .filter_map(|r| {
            let p = pods.get(r.index)?;
            Some((
                p.metadata.namespace.clone(),
                p.metadata.name.clone(),
                r.facts.usage.value() as f64,
            ))
        })
        .collect()
}

/// Export the order of this full pass.
pub(crate) fn export(metrics: &Metrics, pods: &[Pod], summary: &Summary) {
    metrics.set_pod_ranking(&memory_order(pods, summary));
}
