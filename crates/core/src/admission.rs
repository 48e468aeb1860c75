//! Admission while under pressure (§14): which new pods the kubelet refuses to start.

use crate::pod::{Pod, QosClass};
use crate::signal::NodeCondition;

/// Reason the kubelet gives a rejected pod.
pub(crate) const REASON_EVICTED: &str = "Evicted";

/// The admission verdict for one pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmitResult {
    pub admit: bool,
    /// `Evicted` when rejected, empty when admitted.
    pub reason: String,
    /// `The node had condition: [MemoryPressure]. ` when rejected, empty when admitted.
    pub message: String,
}

impl AdmitResult {
    fn admitted() -> Self {
        AdmitResult {
            admit: true,
            reason: String::new(),
            message: String::new(),
        }
    }
}

/// The kubelet's eviction admit handler, given the currently reported node conditions.
///
/// * no pressure condition: admit;
/// * critical pods (static, mirror, priority >= 2000000000): admit;
/// * only MemoryPressure: admit unless BestEffort, and BestEffort pods that tolerate the
///   `node.kubernetes.io/memory-pressure:NoSchedule` taint;
/// * any DiskPressure or PIDPressure: reject every other pod, whatever its QoS.
pub fn admit(pod: &Pod, conditions: &[NodeCondition]) -> AdmitResult {
    if conditions.is_empty() || pod.is_critical() {
        return AdmitResult::admitted();
    }
    if conditions == [NodeCondition::MemoryPressure]
        && (pod.qos_class() != QosClass::BestEffort || pod.tolerates_memory_pressure())
    {
        return AdmitResult::admitted();
    }
    // Go prints a []NodeConditionType with %v: `[MemoryPressure DiskPressure]`.
    let names: Vec<&str> = conditions.iter().map(|c| c.as_str()).collect();
    AdmitResult {
        admit: false,
        reason: REASON_EVICTED.to_string(),
        message: format!("The node had condition: [{}]. ", names.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NodeCondition::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    fn best_effort() -> Pod {
        pod(
            serde_json::json!({"metadata": {"name": "be", "uid": "1"}, "spec": {"containers": [{"name": "c"}]}}),
        )
    }

    fn burstable() -> Pod {
        pod(serde_json::json!({"metadata": {"name": "b", "uid": "2"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "1Mi"}}}]}}))
    }

    #[test]
    fn memory_pressure_rejects_only_best_effort() {
        assert!(admit(&best_effort(), &[]).admit);
        let r = admit(&best_effort(), &[MemoryPressure]);
        assert!(!r.admit);
        assert_eq!(r.reason, "Evicted");
        assert_eq!(r.message, "The node had condition: [MemoryPressure]. ");
        assert!(admit(&burstable(), &[MemoryPressure]).admit);
    }

    #[test]
    fn disk_or_pid_pressure_rejects_everyone_but_critical() {
        let r = admit(&burstable(), &[MemoryPressure, DiskPressure]);
        assert!(!r.admit);
        assert_eq!(
            r.message,
            "The node had condition: [MemoryPressure DiskPressure]. "
        );
        assert!(!admit(&burstable(), &[PIDPressure]).admit);
        let mut critical = burstable();
        critical.spec.priority = Some(2_000_000_000);
        assert!(admit(&critical, &[DiskPressure, PIDPressure]).admit);
        let mut stat = best_effort();
        stat.metadata
            .annotations
            .insert("kubernetes.io/config.source".into(), "file".into());
        assert!(admit(&stat, &[DiskPressure]).admit);
        let mut api = best_effort();
        api.metadata
            .annotations
            .insert("kubernetes.io/config.source".into(), "api".into());
        assert!(!admit(&api, &[MemoryPressure]).admit);
    }

    #[test]
    fn tolerations_of_the_memory_pressure_taint() {
        let with = |tol: serde_json::Value| {
            let mut p = best_effort();
            p.spec.tolerations = vec![serde_json::from_value(tol).unwrap()];
            admit(&p, &[MemoryPressure]).admit
        };
        assert!(with(serde_json::json!({"operator": "Exists"})));
        assert!(with(
            serde_json::json!({"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"})
        ));
        assert!(with(
            serde_json::json!({"key": "node.kubernetes.io/memory-pressure"})
        ));
        assert!(!with(
            serde_json::json!({"key": "node.kubernetes.io/memory-pressure", "value": "x"})
        ));
        assert!(!with(
            serde_json::json!({"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoExecute"})
        ));
        assert!(!with(serde_json::json!({"key": "other", "operator": "Exists"})));
        // Tolerating does not help under DiskPressure.
        let mut p = best_effort();
        p.spec.tolerations = vec![serde_json::from_value(serde_json::json!({"operator": "Exists"})).unwrap()];
        assert!(!admit(&p, &[MemoryPressure, DiskPressure]).admit);
    }

    #[test]
    fn qos_from_status_wins() {
        let mut p = best_effort();
        p.status = serde_json::from_value(serde_json::json!({"qosClass": "Burstable"})).unwrap();
        assert!(admit(&p, &[MemoryPressure]).admit);
    }
}
