//! KubeletConfiguration (YAML or JSON) and the kubelet's eviction flags, turned into the
//! effective eviction settings.
//!
//! Three steps, as in the kubelet:
//! 1. [`KubeletConfig::parse`] reads a config file, [`KubeletConfig::from_flags`] reads the
//!    command-line forms; [`KubeletConfig::overlay`] lets flags replace file fields (flags win).
//!    Nothing is defaulted yet, and every value remembers where it came from (file and line,
//!    or flag) so errors can point at it.
//! 2. [`KubeletConfig::eviction`] applies the kubelet's defaults (the Linux `evictionHard` list
//!    when the field is absent, `mergeDefaultEvictionSettings`, a 5m transition period for an
//!    absent or `0s` one, `enforceNodeAllocatable: [pods]`), validates what the kubelet
//!    validates at startup, and parses the thresholds ([`crate::threshold`]).
//! 3. The result, [`EvictionConfig`], is what the eviction manager runs with.
//!
//! Decoding follows the kubelet's: unknown fields are ignored, a repeated key keeps the last
//! value, field names are case-sensitive. Map values may be unquoted scalars
//! (`memory.available: 100Mi`, `memory.available: 0`); they are taken as their text.
//! Durations must be strings (`5m`), as the kubelet requires.

use std::fmt;

use crate::duration::{self, GoDuration, Nanos};
use crate::pod::ResourceList;
use crate::threshold::{Threshold, ThresholdField, parse_threshold_config};

mod error;
mod raw;
mod validate;

pub use error::ConfigError;
pub(crate) use raw::{RawList, RawMap, Scalar};
use validate::{reserved_resources, threshold_error};

/// The only `kind` a kubelet config file may declare.
pub const KIND: &str = "KubeletConfiguration";
/// The only `apiVersion` the kubelet accepts for it.
pub(crate) const API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";

/// Default `evictionPressureTransitionPeriod`.
pub(crate) const DEFAULT_PRESSURE_TRANSITION_PERIOD: Nanos = 5 * duration::MINUTE;

/// The kubelet's Linux default `evictionHard` (since about v1.30), in its documented order.
pub(crate) const DEFAULT_EVICTION_HARD: [(&str, &str); 5] = [
    ("memory.available", "100Mi"),
    ("nodefs.available", "10%"),
    ("nodefs.inodesFree", "5%"),
    ("imagefs.available", "15%"),
    ("imagefs.inodesFree", "5%"),
];

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A config file (`origin` as given to [`KubeletConfig::parse`]) and the 1-based line, when
    /// known.
    File { origin: String, line: Option<u64> },
    /// A command-line flag such as `--eviction-hard`.
    Flag { flag: String },
    /// A kubelet default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File {
                origin,
                line: Some(line),
            } => write!(f, "{origin}:{line}"),
            Source::File { origin, line: None } => f.write_str(origin),
            Source::Flag { flag } => write!(f, "flag {flag}"),
            Source::Default => f.write_str("kubelet default"),
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// One `key: value` of a map setting (`evictionHard`, `systemReserved`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct MapEntry {
    pub key: String,
    pub value: String,
    pub source: Source,
}

/// A map setting in file (or flag) order; a repeated key keeps its first position and its
/// last value, like a Go map that was assigned twice.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingMap {
    pub entries: Vec<MapEntry>,
    /// Where the field itself was set.
    pub source: Source,
}

impl SettingMap {
    fn new(source: Source) -> Self {
        SettingMap {
            entries: Vec::new(),
            source,
        }
    }

    /// Insert or overwrite `key`.
    pub fn insert(&mut self, key: String, value: String, source: Source) {
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => {
                e.value = value;
                e.source = source;
            }
            None => self.entries.push(MapEntry { key, value, source }),
        }
    }

    pub fn get(&self, key: &str) -> Option<&MapEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// `(key, value)` pairs in order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
}

/// The eviction-related fields of a `KubeletConfiguration` (and flags) as written, before
/// defaults. `None` = not set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeletConfig {
    pub eviction_hard: Option<SettingMap>,
    pub eviction_soft: Option<SettingMap>,
    pub eviction_soft_grace_period: Option<SettingMap>,
    pub eviction_minimum_reclaim: Option<SettingMap>,
    pub eviction_pressure_transition_period: Option<Setting<Nanos>>,
    pub eviction_max_pod_grace_period: Option<Setting<i32>>,
    pub merge_default_eviction_settings: Option<Setting<bool>>,
    pub enforce_node_allocatable: Option<Setting<Vec<String>>>,
    pub system_reserved: Option<SettingMap>,
    pub kube_reserved: Option<SettingMap>,
    pub system_reserved_cgroup: Option<Setting<String>>,
    pub kube_reserved_cgroup: Option<Setting<String>>,
    pub kernel_memcg_notification: Option<Setting<bool>>,
    pub local_storage_capacity_isolation: Option<Setting<bool>>,
    pub cgroup_root: Option<Setting<String>>,
    pub cgroups_per_qos: Option<Setting<bool>>,
    pub cgroup_driver: Option<Setting<String>>,
    /// The `KubeletSeparateDiskGC` feature gate (`featureGates:` or `--feature-gates`).
    pub kubelet_separate_disk_gc: Option<Setting<bool>>,
    /// The `KubeletPSI` feature gate: whether the Summary carries `psi`. The other gates
    /// change neither eviction nor the Summary and are not kept.
    pub kubelet_psi: Option<Setting<bool>>,
    /// Deprecated flag `--experimental-allocatable-ignore-eviction` (no config-file field).
    pub experimental_allocatable_ignore_eviction: Option<Setting<bool>>,
    /// `--config` given among the flags (the file is not read here: this crate does no I/O).
    pub config_file: Option<String>,
    /// Flags that do not influence eviction and were skipped (`--node-ip=...`).
    pub ignored_flags: Vec<String>,
    /// Top-level keys of the file that look like a misspelt eviction field (`evictionhard`).
    /// The kubelet ignores unknown fields (lenient decoding), so these change nothing: the
    /// lint says so.
    pub misspelled_fields: Vec<MisspelledField>,
    /// The file has eviction fields but no `kind: KubeletConfiguration` (a snippet). The
    /// kubelet refuses such a file ("Object 'Kind' is missing"); headroom reads it and warns.
    /// Always false for flags and for `/configz` output (which carries no kind).
    pub missing_kind: bool,
    /// Keys written twice in one mapping: the kubelet keeps the last (its strict decoding
    /// fails and it falls back to lenient decoding with a warning), so the first does nothing.
    pub duplicate_keys: Vec<DuplicateKey>,
}

/// A key written twice in one mapping of the config file.
#[derive(Clone, Debug, PartialEq)]
pub struct DuplicateKey {
    pub key: String,
    /// Line of the first occurrence (when found), then of the second.
    pub first_line: Option<u64>,
    pub second_line: Option<u64>,
}

/// A file key that is not a KubeletConfiguration field but nearly one headroom reads.
#[derive(Clone, Debug, PartialEq)]
pub struct MisspelledField {
    pub key: String,
    /// The field it most likely meant (`evictionHard`).
    pub meant: &'static str,
    pub source: Source,
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
    /// `mergeDefaultEvictionSettings` (default false).
    pub merge_default_eviction_settings: bool,
    /// `--experimental-allocatable-ignore-eviction`: no allocatable thresholds and hard
    /// thresholds are not part of the node-allocatable reservation.
    pub allocatable_ignore_eviction: bool,
    /// Feature gate `KubeletSeparateDiskGC` (on by default since v1.31). Off, a node whose
    /// container filesystem is split from the image filesystem fails the first sync and leaves the
    /// manager without ranking functions (no threshold eviction) from then on.
    pub kubelet_separate_disk_gc: bool,
    /// Feature gate `KubeletPSI` (beta, on by default since v1.34): the Summary's memory
    /// objects carry `psi`. Eviction does not read it; the agent's `/stats/summary` does.
    pub kubelet_psi: bool,
    /// The pod cgroup root the `pods` system container stands for (`/kubepods`,
    /// `/kubepods.slice` with the systemd driver, `/` without cgroupsPerQOS).
    pub pod_cgroup_root: String,
    /// The thresholds the node-allocatable reservation subtracts: `evictionHard` alone
    /// (never soft ones, not even with grace `0s`), empty with
    /// `--experimental-allocatable-ignore-eviction`.
    pub reservation_thresholds: Vec<Threshold>,
}

impl Default for EvictionConfig {
    fn default() -> Self {
        EvictionConfig {
            thresholds: Vec::new(),
            pressure_transition_period_ns: DEFAULT_PRESSURE_TRANSITION_PERIOD,
            max_pod_grace_period_seconds: 0,
            kernel_memcg_notification: false,
            local_storage_capacity_isolation: true,
            enforce_node_allocatable: vec!["pods".to_string()],
            system_reserved: ResourceList::new(),
            kube_reserved: ResourceList::new(),
            merge_default_eviction_settings: false,
            allocatable_ignore_eviction: false,
            kubelet_separate_disk_gc: true,
            kubelet_psi: true,
            pod_cgroup_root: "/kubepods".to_string(),
            reservation_thresholds: Vec::new(),
        }
    }
}

impl EvictionConfig {
    /// Whether `enforceNodeAllocatable` contains `pods` (the pods cgroup is limited to
    /// allocatable and allocatable memory thresholds exist).
    pub(crate) fn enforces_pods(&self) -> bool {
        self.enforce_node_allocatable.iter().any(|e| e == "pods")
    }
}

// `KubeletConfig::parse` is in `config_file` and `KubeletConfig::from_flags` in `config_flags`:
// they depend on this module, not the other way round.
impl KubeletConfig {
    /// This config with every field set in `flags` replaced by the flag's value, as the kubelet
    /// lets command-line flags override its config file.
    pub fn overlay(mut self, flags: &KubeletConfig) -> KubeletConfig {
        fn take<T: Clone>(base: &mut Option<T>, over: &Option<T>) {
            if over.is_some() {
                base.clone_from(over);
            }
        }
        take(&mut self.eviction_hard, &flags.eviction_hard);
        take(&mut self.eviction_soft, &flags.eviction_soft);
        take(
            &mut self.eviction_soft_grace_period,
            &flags.eviction_soft_grace_period,
        );
        take(
            &mut self.eviction_minimum_reclaim,
            &flags.eviction_minimum_reclaim,
        );
        take(
            &mut self.eviction_pressure_transition_period,
            &flags.eviction_pressure_transition_period,
        );
        take(
            &mut self.eviction_max_pod_grace_period,
            &flags.eviction_max_pod_grace_period,
        );
        take(
            &mut self.merge_default_eviction_settings,
            &flags.merge_default_eviction_settings,
        );
        take(
            &mut self.enforce_node_allocatable,
            &flags.enforce_node_allocatable,
        );
        take(&mut self.system_reserved, &flags.system_reserved);
        take(&mut self.kube_reserved, &flags.kube_reserved);
        take(&mut self.system_reserved_cgroup, &flags.system_reserved_cgroup);
        take(&mut self.kube_reserved_cgroup, &flags.kube_reserved_cgroup);
        take(
            &mut self.kernel_memcg_notification,
            &flags.kernel_memcg_notification,
        );
        take(
            &mut self.local_storage_capacity_isolation,
            &flags.local_storage_capacity_isolation,
        );
        take(&mut self.cgroup_root, &flags.cgroup_root);
        take(&mut self.cgroups_per_qos, &flags.cgroups_per_qos);
        take(&mut self.cgroup_driver, &flags.cgroup_driver);
        take(
            &mut self.kubelet_separate_disk_gc,
            &flags.kubelet_separate_disk_gc,
        );
        take(&mut self.kubelet_psi, &flags.kubelet_psi);
        take(
            &mut self.experimental_allocatable_ignore_eviction,
            &flags.experimental_allocatable_ignore_eviction,
        );
        take(&mut self.config_file, &flags.config_file);
        self.ignored_flags.extend(flags.ignored_flags.iter().cloned());
        self
    }

    /// The `evictionHard` map the kubelet ends up with: the Linux defaults when the field is
    /// absent; the user's map with missing default keys added when
    /// `mergeDefaultEvictionSettings` is true; otherwise exactly the user's map.
    pub(crate) fn effective_eviction_hard(&self) -> SettingMap {
        let merge = self
            .merge_default_eviction_settings
            .as_ref()
            .is_some_and(|s| s.value);
        let mut map = match &self.eviction_hard {
            None => SettingMap::new(Source::Default),
            Some(user) if !merge => return user.clone(),
            Some(user) => user.clone(),
        };
        for (key, value) in DEFAULT_EVICTION_HARD {
            if map.get(key).is_none() {
                map.insert(key.to_string(), value.to_string(), Source::Default);
            }
        }
        map
    }

    /// Apply the kubelet's defaults and parse every threshold (including allocatable copies).
    pub fn eviction(&self) -> Result<EvictionConfig, ConfigError> {
        let defaults = EvictionConfig::default();
        let enforce = self
            .enforce_node_allocatable
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_else(|| defaults.enforce_node_allocatable.clone());
        let cgroups_per_qos = self.cgroups_per_qos.as_ref().is_none_or(|s| s.value);
        self.validate_enforcement(&enforce, cgroups_per_qos)?;

        let ignore_eviction = self
            .experimental_allocatable_ignore_eviction
            .as_ref()
            .is_some_and(|s| s.value);
        let parser_enforce: &[String] = if ignore_eviction { &[] } else { &enforce };

        let hard = self.effective_eviction_hard();
        let empty = SettingMap::new(Source::Default);
        let soft = self.eviction_soft.as_ref().unwrap_or(&empty);
        let grace = self.eviction_soft_grace_period.as_ref().unwrap_or(&empty);
        let reclaim = self.eviction_minimum_reclaim.as_ref().unwrap_or(&empty);
        let thresholds = parse_threshold_config(
            parser_enforce,
            &hard.pairs(),
            &soft.pairs(),
            &grace.pairs(),
            &reclaim.pairs(),
        )
        .map_err(|e| {
            let map = match e.field {
                ThresholdField::EvictionHard => &hard,
                ThresholdField::EvictionSoft => soft,
                ThresholdField::EvictionSoftGracePeriod => grace,
                ThresholdField::EvictionMinimumReclaim => reclaim,
            };
            threshold_error(map, &e)
        })?;

        // The kubelet parses evictionHard a second time, alone, for the allocatable reservation.
        let reservation_thresholds = if ignore_eviction {
            Vec::new()
        } else {
            parse_threshold_config(&[], &hard.pairs(), &[], &[], &[])
                .map_err(|e| threshold_error(&hard, &e))?
        };

        let pressure_transition_period_ns = match &self.eviction_pressure_transition_period {
            // The kubelet's defaulting replaces an unset or zero period with 5m.
            None => DEFAULT_PRESSURE_TRANSITION_PERIOD,
            Some(s) if s.value == 0 => DEFAULT_PRESSURE_TRANSITION_PERIOD,
            Some(s) => s.value,
        };

        Ok(EvictionConfig {
            thresholds,
            pressure_transition_period_ns,
            max_pod_grace_period_seconds: self
                .eviction_max_pod_grace_period
                .as_ref()
                .map_or(0, |s| i64::from(s.value)),
            kernel_memcg_notification: self.kernel_memcg_notification.as_ref().is_some_and(|s| s.value),
            local_storage_capacity_isolation: self
                .local_storage_capacity_isolation
                .as_ref()
                .is_none_or(|s| s.value),
            enforce_node_allocatable: enforce,
            system_reserved: reserved_resources(self.system_reserved.as_ref(), "systemReserved")?,
            kube_reserved: reserved_resources(self.kube_reserved.as_ref(), "kubeReserved")?,
            merge_default_eviction_settings: self
                .merge_default_eviction_settings
                .as_ref()
                .is_some_and(|s| s.value),
            allocatable_ignore_eviction: ignore_eviction,
            kubelet_separate_disk_gc: self.kubelet_separate_disk_gc.as_ref().is_none_or(|s| s.value),
            kubelet_psi: self.kubelet_psi.as_ref().is_none_or(|s| s.value),
            pod_cgroup_root: self.pod_cgroup_root(),
            reservation_thresholds,
        })
    }

    /// The pod cgroup root the kubelet derives from `cgroupRoot`, `cgroupsPerQOS` and
    /// `cgroupDriver`: `/kubepods` (cgroupfs) or `/kubepods.slice` (systemd) by default.
    pub fn pod_cgroup_root(&self) -> String {
        let root = self.cgroup_root.as_ref().map_or("/", |s| s.value.as_str());
        let per_qos = self.cgroups_per_qos.as_ref().is_none_or(|s| s.value);
        let systemd = self.cgroup_driver.as_ref().is_some_and(|s| s.value == "systemd");
        let mut parts: Vec<String> = root
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if per_qos {
            parts.push("kubepods".to_string());
        }
        if parts.is_empty() {
            return "/".to_string();
        }
        if !systemd {
            return format!("/{}", parts.join("/"));
        }
        // systemd nests slices and repeats the ancestry in each name: /a.slice/a-b.slice.
        let mut path = String::new();
        let mut prefix = String::new();
        for part in parts {
            let part = part.strip_suffix(".slice").unwrap_or(&part).to_string();
            prefix = if prefix.is_empty() {
                part
            } else {
                format!("{prefix}-{part}")
            };
            path.push('/');
            path.push_str(&prefix);
            path.push_str(".slice");
        }
        path
    }
}

/// A duration for display, the way the kubelet prints it (`5m0s`).
pub(crate) fn display_duration(ns: Nanos) -> String {
    GoDuration(ns).to_string()
}

#[cfg(test)]
mod tests;
