//! What the kubelet validates at startup besides the thresholds themselves
//! (`enforceNodeAllocatable`, `systemReserved`/`kubeReserved`), and pointing a threshold error
//! at the file line or flag that caused it.

use super::{ConfigError, KubeletConfig, SettingMap, Source};
use crate::duration::go_quote;
use crate::pod::ResourceList;
use crate::quantity::Quantity;
use crate::threshold::{ThresholdError, ThresholdField};

impl KubeletConfig {
    /// The kubelet's startup validation of `enforceNodeAllocatable`.
    pub(super) fn validate_enforcement(
        &self,
        enforce: &[String],
        cgroups_per_qos: bool,
    ) -> Result<(), ConfigError> {
        let source = self
            .enforce_node_allocatable
            .as_ref()
            .map_or(Source::Default, |s| s.source.clone());
        let fail = |msg: String| {
            Err(ConfigError::new(format!(
                "{source}: enforceNodeAllocatable {:?}: invalid configuration: {msg}",
                enforce
            ))
            .at(&source)
            .with_field("enforceNodeAllocatable")
            .with_value(enforce.join(","))
            .with_problem(format!("invalid configuration: {msg}")))
        };
        let has = |k: &str| enforce.iter().any(|e| e == k);
        for (a, b) in [
            ("system-reserved", "system-reserved-compressible"),
            ("kube-reserved", "kube-reserved-compressible"),
        ] {
            if has(a) && has(b) {
                return fail(format!(
                    "both {} and {} cannot be specified together in enforceNodeAllocatable (--enforce-node-allocatable)",
                    go_quote(a),
                    go_quote(b)
                ));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for value in enforce {
            if seen.contains(&value.as_str()) {
                return fail(format!(
                    "duplicated enforcements {} in enforceNodeAllocatable (--enforce-node-allocatable)",
                    go_quote(value)
                ));
            }
            seen.push(value);
            match value.as_str() {
                "pods" => {}
                "system-reserved" | "system-reserved-compressible" => {
                    if self
                        .system_reserved_cgroup
                        .as_ref()
                        .is_none_or(|s| s.value.is_empty())
                    {
                        return fail(
                            "systemReservedCgroup (--system-reserved-cgroup) must be specified when \
                             \"system-reserved\" or \"system-reserved-compressible\" included in \
                             enforceNodeAllocatable (--enforce-node-allocatable)"
                                .to_string(),
                        );
                    }
                }
                "kube-reserved" | "kube-reserved-compressible" => {
                    if self
                        .kube_reserved_cgroup
                        .as_ref()
                        .is_none_or(|s| s.value.is_empty())
                    {
                        return fail(
                            "kubeReservedCgroup (--kube-reserved-cgroup) must be specified when \
                             \"kube-reserved\" or \"kube-reserved-compressible\" included in \
                             enforceNodeAllocatable (--enforce-node-allocatable)"
                                .to_string(),
                        );
                    }
                }
                "none" => {
                    if enforce.len() > 1 {
                        return fail(
                            "enforceNodeAllocatable (--enforce-node-allocatable) may not contain additional \
                             enforcements when \"none\" is specified"
                                .to_string(),
                        );
                    }
                    continue;
                }
                other => {
                    return fail(format!(
                        "option {} specified for enforceNodeAllocatable (--enforce-node-allocatable). Valid \
                         options are \"pods\", \"system-reserved\", \"system-reserved-compressible\", \
                         \"kube-reserved\", \"kube-reserved-compressible\" or \"none\"",
                        go_quote(other)
                    ));
                }
            }
            if !cgroups_per_qos {
                return fail(format!(
                    "cgroupsPerQOS (--cgroups-per-qos) must be set to true when {} contained in \
                     enforceNodeAllocatable (--enforce-node-allocatable)",
                    go_quote(value)
                ));
            }
        }
        Ok(())
    }
}

/// Point a threshold error at the entry that caused it.
pub(super) fn threshold_error(map: &SettingMap, e: &ThresholdError) -> ConfigError {
    let source = map
        .get(&e.key)
        .map_or_else(|| map.source.clone(), |entry| entry.source.clone());
    let location = match &source {
        Source::Flag { flag } => format!("{flag} {}", flag_pair(e.field, &e.key, &e.value)),
        Source::Default => format!(
            "kubelet default {}: {}",
            e.field.config_name(),
            go_quote(&e.value)
        ),
        file => format!(
            "{file}: {} {}: {}",
            e.field.config_name(),
            go_quote(&e.key),
            go_quote(&e.value)
        ),
    };
    ConfigError::new(format!("{location}: {}", e.message))
        .at(&source)
        .with_field(ConfigError::entry_path(e.field.config_name(), &e.key))
        .with_value(e.value.clone())
        .with_problem(e.message.clone())
}

fn flag_pair(field: ThresholdField, key: &str, value: &str) -> String {
    let sep = match field {
        ThresholdField::EvictionHard | ThresholdField::EvictionSoft => '<',
        _ => '=',
    };
    go_quote(&format!("{key}{sep}{value}"))
}

/// The kubelet's `parseResourceList` for `systemReserved`/`kubeReserved`: only cpu, memory,
/// ephemeral-storage and pid; quantities must parse and not be negative.
pub(super) fn reserved_resources(map: Option<&SettingMap>, field: &str) -> Result<ResourceList, ConfigError> {
    let mut out = ResourceList::new();
    let Some(map) = map else {
        return Ok(out);
    };
    for entry in &map.entries {
        let fail = |msg: String| {
            ConfigError::new(format!(
                "{}: {field} {}: {msg}",
                entry.source,
                go_quote(&entry.key)
            ))
            .at(&entry.source)
            .with_field(ConfigError::entry_path(field, &entry.key))
            .with_value(entry.value.clone())
            .with_problem(msg)
        };
        match entry.key.as_str() {
            "cpu" | "memory" | "ephemeral-storage" | "pid" => {}
            other => return Err(fail(format!("cannot reserve {} resource", go_quote(other)))),
        }
        let q = Quantity::parse(&entry.value).map_err(|e| {
            fail(format!(
                "failed to parse quantity {} for {} resource: {e}",
                go_quote(&entry.value),
                go_quote(&entry.key)
            ))
        })?;
        if q.signum() < 0 {
            return Err(fail(format!(
                "resource quantity for {} cannot be negative: {}",
                go_quote(&entry.key),
                entry.value
            )));
        }
        out.insert(entry.key.clone(), q);
    }
    Ok(out)
}
