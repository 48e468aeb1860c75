//! Kernel memcg threshold notifiers (§11): where the kubelet asks the kernel to wake it.
//!
//! With `kernelMemcgNotification: true` the kubelet arms one cgroup v1 usage threshold per
//! memory threshold (hard and soft alike). The kernel compares `memory.usage_in_bytes`, which
//! includes inactive page cache, so the arming value adds the current inactive file back:
//! `arm_at = capacity - threshold + (usage - working_set)`. Min-reclaim is ignored.

use crate::quantity::Quantity;
use crate::signal::Signal;
use crate::summary::{MemoryStats, SYSTEM_CONTAINER_PODS, Summary};
use crate::threshold::{Threshold, threshold_quantity};

/// One armed notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierArm {
    /// `hard memory eviction threshold`, `soft allocatable memory eviction threshold`, ...
    pub description: String,
    /// Path relative to the memory controller mount: `""` for the node root, the pod cgroup
    /// root (e.g. `kubepods`) for allocatable thresholds.
    pub cgroup: String,
    /// Value written to `cgroup.event_control` for `memory.usage_in_bytes`.
    pub arm_at_bytes: i64,
    pub signal: Signal,
}

/// Why a notifier could not be armed from this Summary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotifierError {
    #[error(
        "summary was incomplete: {what} needs memory usageBytes, workingSetBytes and availableBytes to arm the {description}"
    )]
    Incomplete { what: &'static str, description: String },
}

/// The kubelet's description of the notifier for `threshold`.
pub fn description(threshold: &Threshold) -> String {
    let hard = if threshold.is_hard() { "hard" } else { "soft" };
    let allocatable = if threshold.signal == Signal::AllocatableMemoryAvailable {
        "allocatable "
    } else {
        ""
    };
    format!("{hard} {allocatable}memory eviction threshold")
}

fn arm_value(threshold: &Threshold, m: &MemoryStats) -> Option<i64> {
    let usage = i128::from(m.usage_bytes?);
    let working_set = i128::from(m.working_set_bytes?);
    let available = i128::from(m.available_bytes?);
    let capacity = available + working_set;
    let capacity_q = Quantity::bytes(i64::try_from(capacity).unwrap_or(i64::MAX));
    let threshold_bytes = i128::from(threshold_quantity(&threshold.value, &capacity_q).value());
    let arm = capacity - threshold_bytes + (usage - working_set);
    Some(i64::try_from(arm).unwrap_or(if arm < 0 { i64::MIN } else { i64::MAX }))
}

/// Arm one notifier; `pod_cgroup_root` is the pods cgroup (`kubepods`, or `/kubepods`).
pub fn arm(
    threshold: &Threshold,
    summary: &Summary,
    pod_cgroup_root: &str,
) -> Result<NotifierArm, NotifierError> {
    let description = description(threshold);
    let (what, stats, cgroup) = if threshold.signal == Signal::AllocatableMemoryAvailable {
        (
            "the pods system container",
            summary
                .node
                .system_container(SYSTEM_CONTAINER_PODS)
                .and_then(|c| c.memory.as_ref()),
            pod_cgroup_root.trim_matches('/').to_string(),
        )
    } else {
        ("node", summary.node.memory.as_ref(), String::new())
    };
    let arm_at_bytes =
        stats
            .and_then(|m| arm_value(threshold, m))
            .ok_or_else(|| NotifierError::Incomplete {
                what,
                description: description.clone(),
            })?;
    Ok(NotifierArm {
        description,
        cgroup,
        arm_at_bytes,
        signal: threshold.signal,
    })
}

/// Arm every memory threshold in `thresholds`, in order.
pub fn arm_all(
    thresholds: &[Threshold],
    summary: &Summary,
    pod_cgroup_root: &str,
) -> Vec<Result<NotifierArm, NotifierError>> {
    thresholds
        .iter()
        .filter(|t| t.signal.is_memory())
        .map(|t| arm(t, summary, pod_cgroup_root))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::ThresholdValue;

    const MI: u64 = 1 << 20;
    const GI: u64 = 1 << 30;

    fn summary() -> Summary {
        serde_json::from_value(serde_json::json!({"node": {
            "memory": {"availableBytes": 6 * GI, "workingSetBytes": 2 * GI, "usageBytes": 3 * GI},
            "systemContainers": [{"name": "pods", "memory": {"availableBytes": 3 * GI, "workingSetBytes": GI, "usageBytes": GI + 512 * MI}}]
        }}))
        .unwrap()
    }

    fn threshold(signal: Signal, value: ThresholdValue, grace: i64) -> Threshold {
        Threshold {
            signal,
            value,
            grace_period_ns: grace,
            min_reclaim: None,
        }
    }

    #[test]
    fn arming_values_and_descriptions() {
        let hard = threshold(
            Signal::MemoryAvailable,
            ThresholdValue::Quantity(Quantity::parse("1Gi").unwrap()),
            0,
        );
        let a = arm(&hard, &summary(), "/kubepods").unwrap();
        assert_eq!(a.description, "hard memory eviction threshold");
        assert_eq!(a.cgroup, "");
        // capacity 8Gi - 1Gi + inactive 1Gi
        assert_eq!(a.arm_at_bytes, (8 * GI) as i64);
        let soft = threshold(
            Signal::AllocatableMemoryAvailable,
            ThresholdValue::Percentage(0.1),
            30_000_000_000,
        );
        let a = arm(&soft, &summary(), "/kubepods").unwrap();
        assert_eq!(a.description, "soft allocatable memory eviction threshold");
        assert_eq!(a.cgroup, "kubepods");
        // capacity 4Gi; 10% as the kubelet computes it; inactive 512Mi
        let t = (4.0 * GI as f64 * f64::from(0.1f32)) as i64;
        assert_eq!(a.arm_at_bytes, (4 * GI) as i64 - t + (512 * MI) as i64);
    }

    #[test]
    fn incomplete_summary_is_an_error() {
        let hard = threshold(
            Signal::AllocatableMemoryAvailable,
            ThresholdValue::Quantity(Quantity::parse("1Gi").unwrap()),
            0,
        );
        let err = arm(&hard, &Summary::default(), "kubepods").unwrap_err();
        assert!(err.to_string().starts_with("summary was incomplete"), "{err}");
        let all = arm_all(
            &[
                hard,
                threshold(Signal::NodeFsAvailable, ThresholdValue::Percentage(0.1), 0),
            ],
            &summary(),
            "kubepods",
        );
        assert_eq!(all.len(), 1);
    }
}
