//! KubeletConfiguration (YAML or JSON) and the kubelet's eviction flags, turned into the
//! effective eviction settings.
//!
//! INTERFACE STUB: the shapes below are the contract other modules build against; the
//! parsing behind them is being written.

use crate::pod::ResourceList;
use crate::threshold::Threshold;

/// Why a configuration could not be used. Messages name the file/flag, the field and the value,
/// and reuse the kubelet's own wording where it has one.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The eviction-related fields of a `KubeletConfiguration` as written (before defaults).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeletConfig {}

impl KubeletConfig {
    /// Parse a KubeletConfiguration document (YAML or JSON). `origin` names the file in errors.
    pub fn parse(_text: &str, origin: &str) -> Result<KubeletConfig, ConfigError> {
        Err(ConfigError(format!(
            "{origin}: KubeletConfiguration parsing is not written yet"
        )))
    }

    /// Build from the kubelet's command-line flag forms (`--eviction-hard=memory.available<100Mi`, ...).
    pub fn from_flags(_args: &[String]) -> Result<KubeletConfig, ConfigError> {
        Err(ConfigError("eviction flag parsing is not written yet".into()))
    }

    /// Apply the kubelet's defaults and parse every threshold (including allocatable copies).
    pub fn eviction(&self) -> Result<EvictionConfig, ConfigError> {
        Ok(EvictionConfig::default())
    }
}

/// The effective eviction settings the manager runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct EvictionConfig {
    /// Parsed thresholds in kubelet order: hard, soft, then allocatable copies.
    pub thresholds: Vec<Threshold>,
    /// `evictionPressureTransitionPeriod` in nanoseconds (default 5m).
    pub pressure_transition_period_ns: i64,
    /// `evictionMaxPodGracePeriod` in seconds (default 0).
    pub max_pod_grace_period_seconds: i64,
    /// `kernelMemcgNotification` (default false).
    pub kernel_memcg_notification: bool,
    /// `localStorageCapacityIsolation` (default true).
    pub local_storage_capacity_isolation: bool,
    /// `enforceNodeAllocatable` (default `["pods"]`).
    pub enforce_node_allocatable: Vec<String>,
    pub system_reserved: ResourceList,
    pub kube_reserved: ResourceList,
}

impl Default for EvictionConfig {
    fn default() -> Self {
        EvictionConfig {
            thresholds: Vec::new(),
            pressure_transition_period_ns: 5 * 60 * 1_000_000_000,
            max_pod_grace_period_seconds: 0,
            kernel_memcg_notification: false,
            local_storage_capacity_isolation: true,
            enforce_node_allocatable: vec!["pods".to_string()],
            system_reserved: ResourceList::new(),
            kube_reserved: ResourceList::new(),
        }
    }
}
