//! Things in a valid kubelet configuration that probably do not do what their author expects.
//!
//! Each [`Warning`] has a stable `code` (for scripts and tests) and a plain-language message
//! for the operator. The kubelet accepts every one of these configurations silently.

use crate::config::{DEFAULT_EVICTION_HARD, EvictionConfig, KubeletConfig, SettingMap};
use crate::duration::{format_duration, parse_duration};
use crate::signal::Signal;
use crate::threshold::{Threshold, ThresholdValue, format_threshold_value, parse_threshold_value};

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

fn warn(out: &mut Vec<Warning>, code: &'static str, message: String) {
    out.push(Warning { code, message });
}

/// The kubelet's eviction loop period (`evictionMonitoringPeriod`).
const MONITORING_PERIOD: &str = "10s";

/// All warnings for a configuration and the eviction settings derived from it.
pub fn lint(config: &KubeletConfig, eviction: &EvictionConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    dropped_defaults(config, &mut out);
    percentage_extremes(eviction, &mut out);
    suspicious_quantities(config, &mut out);
    unused_entries(config, eviction, &mut out);
    soft_thresholds(config, eviction, &mut out);
    max_pod_grace(eviction, &mut out);
    memory_semantics(eviction, &mut out);
    notification_latency(eviction, &mut out);
    misc(config, eviction, &mut out);
    out
}

fn dropped_defaults(config: &KubeletConfig, out: &mut Vec<Warning>) {
    let Some(hard) = &config.eviction_hard else { return };
    let merge = config
        .merge_default_eviction_settings
        .as_ref()
        .is_some_and(|s| s.value);
    if merge {
        return;
    }
    let missing: Vec<String> = DEFAULT_EVICTION_HARD
        .iter()
        .filter(|(k, _)| hard.get(k).is_none())
        .map(|(k, v)| format!("{k}<{v}"))
        .collect();
    if missing.is_empty() {
        return;
    }
    warn(
        out,
        "eviction-hard-drops-defaults",
        format!(
            "evictionHard is set, so the kubelet does not add its defaults for the signals it leaves out; \
             these are not monitored at all: {}. List them explicitly or set \
             mergeDefaultEvictionSettings: true (kubelet 1.33+).",
            missing.join(", ")
        ),
    );
}

fn percentage_extremes(eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    for t in user_thresholds(eviction) {
        match t.value {
            ThresholdValue::Percentage(1.0) => warn(
                out,
                "threshold-always-met",
                format!(
                    "{} < 100% (written as something other than exactly \"100%\") is a real threshold equal \
                     to the whole capacity: it is met whenever anything is used, so the node is under \
                     permanent pressure. Write exactly \"100%\" or \"0%\" to switch the signal off.",
                    t.signal
                ),
            ),
            ThresholdValue::Percentage(0.0) => warn(
                out,
                "threshold-never-met",
                format!(
                    "{} < 0% (written as something other than exactly \"0%\") can never be met (available is \
                     never below 0). If you meant to switch the signal off, write exactly \"0%\".",
                    t.signal
                ),
            ),
            _ => {}
        }
    }
}

/// Values the kubelet accepts but that almost certainly do not say what was meant: a memory
/// threshold in milli-bytes (`100m`), several `%` signs (`10%%`, read as `10%`), an exponent
/// (`1e3` is 1000 bytes, not a unit), or a byte-signal threshold below 1 MiB without a unit.
fn suspicious_quantities(config: &KubeletConfig, out: &mut Vec<Warning>) {
    let maps = [
        ("evictionHard", &config.eviction_hard),
        ("evictionSoft", &config.eviction_soft),
        ("evictionMinimumReclaim", &config.eviction_minimum_reclaim),
    ];
    for (field, map) in maps {
        let Some(map) = map else { continue };
        for e in &map.entries {
            let Ok(signal) = e.key.parse::<Signal>() else {
                continue;
            };
            let bytes = matches!(
                signal.resource(),
                crate::signal::Resource::Memory | crate::signal::Resource::EphemeralStorage
            );
            let v = e.value.trim();
            let why = if v.ends_with("%%") {
                Some(format!(
                    "{v:?} has more than one %: the kubelet strips them all and reads {:?}",
                    format!("{}%", v.trim_end_matches('%'))
                ))
            } else if v.ends_with('%') {
                None
            } else if bytes && v.ends_with(['m', 'u', 'n']) {
                Some(format!(
                    "{v:?} is in thousandths of a byte or less (m = milli, not Mi): the kubelet \
                     rounds it up to 1 byte; did you mean {:?}?",
                    format!("{}Mi", v.trim_end_matches(['m', 'u', 'n']))
                ))
            } else if v.contains(['e', 'E']) && !v.ends_with(['E', 'i']) {
                let value = crate::quantity::Quantity::parse(v).map(|q| q.value());
                Some(match value {
                    Ok(n) if bytes => format!("{v:?} is an exponent, {n} bytes, not a unit"),
                    Ok(n) => format!("{v:?} is an exponent, {n}, not a unit"),
                    Err(_) => format!("{v:?} is written with an exponent"),
                })
            } else if bytes && v.chars().all(|c| c.is_ascii_digit()) {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n < 1 << 20)
                    .map(|n| format!("{v:?} is {n} bytes (no unit); did you mean \"{v}Mi\"?"))
            } else {
                None
            };
            if let Some(why) = why {
                warn(
                    out,
                    "suspicious-quantity",
                    format!("{}: {field} {}: {why}.", e.source, e.key),
                );
            }
        }
    }
}

/// Thresholds as configured (without the allocatable copies the kubelet derives).
fn user_thresholds(eviction: &EvictionConfig) -> impl Iterator<Item = &Threshold> {
    let copies = if eviction.enforces_pods() && !eviction.allocatable_ignore_eviction {
        eviction
            .thresholds
            .iter()
            .filter(|t| t.signal == Signal::MemoryAvailable && t.is_hard())
            .count()
    } else {
        0
    };
    let n = eviction.thresholds.len().saturating_sub(copies);
    eviction.thresholds.iter().take(n)
}

fn keys(map: &Option<SettingMap>) -> Vec<String> {
    map.as_ref()
        .map(|m| m.entries.iter().map(|e| e.key.clone()).collect())
        .unwrap_or_default()
}

fn unused_entries(config: &KubeletConfig, eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    let has_threshold = |sig: &str| eviction.thresholds.iter().any(|t| t.signal.as_str() == sig);
    for key in keys(&config.eviction_minimum_reclaim) {
        if !has_threshold(&key) {
            warn(
                out,
                "min-reclaim-without-threshold",
                format!(
                    "evictionMinimumReclaim has {key}, but no hard or soft threshold uses that signal; it has no effect."
                ),
            );
        }
    }
    let soft_keys = keys(&config.eviction_soft);
    for key in keys(&config.eviction_soft_grace_period) {
        if !soft_keys.contains(&key) {
            warn(
                out,
                "grace-without-soft-threshold",
                format!(
                    "evictionSoftGracePeriod has {key}, but evictionSoft has no threshold for it; it has no effect."
                ),
            );
        }
    }
}

fn soft_thresholds(config: &KubeletConfig, eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    // Soft entries whose grace is 0s: hard in every respect.
    let soft_keys = keys(&config.eviction_soft);
    if let Some(grace) = &config.eviction_soft_grace_period {
        for entry in &grace.entries {
            if soft_keys.contains(&entry.key) && parse_duration(&entry.value) == Ok(0) {
                warn(
                    out,
                    "soft-grace-zero",
                    format!(
                        "evictionSoft {} has grace period {}, so the kubelet treats it as a hard threshold: \
                         pods are killed with a 1 s grace period and no soft grace at all.",
                        entry.key, entry.value
                    ),
                );
            }
        }
    }
    let hard = config.effective_eviction_hard();
    for t in eviction.thresholds.iter().filter(|t| !t.is_hard()) {
        if t.grace_period_ns > eviction.pressure_transition_period_ns {
            warn(
                out,
                "soft-grace-exceeds-transition-period",
                format!(
                    "evictionSoft {} waits {} before evicting, longer than evictionPressureTransitionPeriod ({}). \
                     The node reports {} (and rejects new pods) as soon as the threshold is crossed, for the \
                     whole grace period, and any single dip resets the grace clock.",
                    t.signal,
                    format_duration(t.grace_period_ns),
                    format_duration(eviction.pressure_transition_period_ns),
                    t.signal.condition()
                ),
            );
        }
        // A soft threshold at or below the hard one of the same signal never gets its turn.
        let hard_value = hard
            .get(t.signal.as_str())
            .and_then(|e| parse_threshold_value(t.signal, &e.value).ok().flatten());
        if let Some(h) = hard_value
            && let (ThresholdValue::Quantity(sq), ThresholdValue::Quantity(hq)) = (t.value, h)
            && sq <= hq
        {
            warn(
                out,
                "soft-below-hard",
                format!(
                    "evictionSoft {sig} < {} is not above evictionHard {sig} < {}: the hard threshold is crossed \
                     first (or together), so the soft one never gives pods a gentler eviction.",
                    format_threshold_value(&t.value),
                    format_threshold_value(&h),
                    sig = t.signal,
                ),
            );
        }
    }
}

fn max_pod_grace(eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    let has_soft = eviction.thresholds.iter().any(|t| !t.is_hard());
    if !has_soft {
        return;
    }
    let m = eviction.max_pod_grace_period_seconds;
    if m == 0 {
        warn(
            out,
            "max-pod-grace-zero",
            "evictionMaxPodGracePeriod is 0 (the default): this does not mean \"kill now\". A soft eviction \
             then gives each pod its full terminationGracePeriodSeconds (30 s unless the pod says otherwise)."
                .to_string(),
        );
    } else if m < 0 {
        warn(
            out,
            "max-pod-grace-negative",
            format!(
                "evictionMaxPodGracePeriod is {m}: despite the flag's help text, a negative value does not defer \
                 to the pod; soft evictions kill pods with a 1 s grace period."
            ),
        );
    }
}

fn memory_semantics(eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    let memory_pct = user_thresholds(eviction)
        .any(|t| t.signal == Signal::MemoryAvailable && matches!(t.value, ThresholdValue::Percentage(_)));
    if memory_pct {
        warn(
            out,
            "memory-percentage-of-memtotal",
            "A percentage on memory.available is a percentage of the machine's total memory (MemTotal), not of \
             node allocatable. (A percentage on allocatableMemory.available is of the pods cgroup limit.)"
                .to_string(),
        );
    }
    let reserved =
        eviction.system_reserved.contains_key("memory") || eviction.kube_reserved.contains_key("memory");
    let memory_threshold = eviction
        .thresholds
        .iter()
        .any(|t| t.signal == Signal::MemoryAvailable);
    if reserved && memory_threshold {
        warn(
            out,
            "reserved-does-not-move-memory-available",
            "systemReserved/kubeReserved memory lowers node allocatable and the pods cgroup limit, but not \
             memory.available: that signal looks at the whole machine, so reserved-but-unused memory still \
             counts as available and memory.available does not fire earlier."
                .to_string(),
        );
    }
}

fn notification_latency(eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    let memory_threshold = eviction.thresholds.iter().any(|t| t.signal.is_memory());
    if memory_threshold && !eviction.kernel_memcg_notification {
        warn(
            out,
            "memory-polling-latency",
            format!(
                "kernelMemcgNotification is off: the kubelet only looks at memory every {MONITORING_PERIOD}, and \
                 a fast allocation can reach the kernel OOM killer first. (On cgroup v2 the kubelet's memcg \
                 notifier does not work anyway; headroom's agent reacts to kernel notifications instead.)"
            ),
        );
    }
}

fn misc(config: &KubeletConfig, eviction: &EvictionConfig, out: &mut Vec<Warning>) {
    if eviction.pressure_transition_period_ns < 0 {
        warn(
            out,
            "transition-period-negative",
            format!(
                "evictionPressureTransitionPeriod is {}: a node condition is reported only while less than this \
                 has passed since it was last observed, so pressure conditions are never reported.",
                format_duration(eviction.pressure_transition_period_ns)
            ),
        );
    }
    let containerfs: Vec<String> = [&config.eviction_hard, &config.eviction_soft]
        .into_iter()
        .flat_map(keys)
        .filter(|k| k.starts_with("containerfs."))
        .collect();
    if !containerfs.is_empty() {
        warn(
            out,
            "containerfs-overwritten",
            format!(
                "{} configured directly: the kubelet replaces containerfs thresholds at its first sync with \
                 copies of the nodefs (or imagefs) ones, so these values are not used.",
                containerfs.join(", ")
            ),
        );
    }
    if eviction.allocatable_ignore_eviction {
        warn(
            out,
            "allocatable-ignores-eviction",
            "--experimental-allocatable-ignore-eviction is set: no allocatableMemory.available thresholds, and \
             hard thresholds are not subtracted from node allocatable."
                .to_string(),
        );
    }
    if !eviction.enforces_pods()
        && eviction
            .thresholds
            .iter()
            .any(|t| t.signal == Signal::MemoryAvailable)
    {
        warn(
            out,
            "no-allocatable-threshold",
            "enforceNodeAllocatable does not contain \"pods\": the pods cgroup is not limited and no \
             allocatableMemory.available threshold is derived; only whole-machine memory is watched."
                .to_string(),
        );
    }
    if config.missing_kind {
        warn(
            out,
            "missing-kind",
            format!(
                "the file has no `kind: KubeletConfiguration` (and `apiVersion: \
                 {}`): headroom reads it, but the kubelet refuses to start on a config file \
                 without them (\"Object 'Kind' is missing\").",
                crate::config::API_VERSION
            ),
        );
    }
    for d in &config.duplicate_keys {
        let at = |l: Option<u64>| l.map_or_else(|| "?".to_string(), |l| l.to_string());
        warn(
            out,
            "duplicate-key",
            format!(
                "{:?} is written twice in one mapping (lines {} and {}): the kubelet keeps the \
                 last one (its strict decoding fails and it falls back to lenient decoding), so \
                 the first does nothing. Remove one.",
                d.key,
                at(d.first_line),
                at(d.second_line)
            ),
        );
    }
    for field in &config.misspelled_fields {
        warn(
            out,
            "misspelled-field",
            format!(
                "{}: {:?} is not a KubeletConfiguration field; did you mean {}? The kubelet \
                 ignores unknown fields (field names are case-sensitive), so this setting has no \
                 effect.",
                field.source, field.key, field.meant
            ),
        );
    }
    if !config.ignored_flags.is_empty() {
        warn(
            out,
            "flags-ignored",
            format!(
                "These flags do not affect eviction and were ignored: {}",
                config.ignored_flags.join(" ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(yaml: &str) -> Vec<&'static str> {
        let cfg = KubeletConfig::parse(yaml, "t.yaml").unwrap();
        let ev = cfg.eviction().unwrap();
        lint(&cfg, &ev).into_iter().map(|w| w.code).collect()
    }

    #[test]
    fn defaults_only_warn_about_polling() {
        assert_eq!(codes("kind: KubeletConfiguration\n"), ["memory-polling-latency"]);
        assert_eq!(
            codes("kind: KubeletConfiguration\nkernelMemcgNotification: true\n"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn a_file_without_kind_or_with_a_key_twice_is_warned_about() {
        assert_eq!(codes("kernelMemcgNotification: true\n"), ["missing-kind"]);
        let text = "kind: KubeletConfiguration\nkernelMemcgNotification: true\nevictionHard:\n  \
                    memory.available: 1Gi\n  nodefs.available: \"10%\"\n  memory.available: 2Gi\n\
                    kernelMemcgNotification: false\n";
        let cfg = KubeletConfig::parse(text, "t.yaml").unwrap();
        let ev = cfg.eviction().unwrap();
        let dup = lint(&cfg, &ev)
            .into_iter()
            .find(|w| w.code == "duplicate-key")
            .expect("duplicate-key");
        assert!(
            dup.message
                .contains("\"memory.available\" is written twice in one mapping (lines 4 and 6)"),
            "{}",
            dup.message
        );
    }

    #[test]
    fn partial_hard_lists_dropped_defaults() {
        let cfg = KubeletConfig::parse(
            "evictionHard: {memory.available: 1Gi, nodefs.available: 5%}\n",
            "t",
        )
        .unwrap();
        let w = lint(&cfg, &cfg.eviction().unwrap());
        let dropped = w
            .iter()
            .find(|w| w.code == "eviction-hard-drops-defaults")
            .unwrap();
        assert!(
            dropped
                .message
                .contains("nodefs.inodesFree<5%, imagefs.available<15%, imagefs.inodesFree<5%")
        );
        assert!(!dropped.message.contains("memory.available<"));
        assert!(
            !codes("evictionHard: {memory.available: 1Gi}\nmergeDefaultEvictionSettings: true\n")
                .contains(&"eviction-hard-drops-defaults")
        );
    }

    #[test]
    fn suspicious_quantities_are_named() {
        let text = "evictionHard: {memory.available: \"100m\", nodefs.available: \"10%%\", \
                    imagefs.available: \"1e3\", pid.available: \"1e3\"}\n\
                    evictionMinimumReclaim: {memory.available: \"500\"}\n";
        let config = KubeletConfig::parse(text, "kc.yaml").unwrap();
        let eviction = config.eviction().unwrap();
        let found: Vec<String> = lint(&config, &eviction)
            .into_iter()
            .filter(|w| w.code == "suspicious-quantity")
            .map(|w| w.message)
            .collect();
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].contains("memory.available: \"100m\" is in thousandths of a byte"));
        assert!(found[0].contains("did you mean \"100Mi\""));
        assert!(found[1].contains("reads \"10%\""));
        assert!(found[2].contains("\"1e3\" is an exponent, 1000 bytes, not a unit"));
        assert!(found[3].contains("\"1e3\" is an exponent, 1000, not a unit"));
        assert!(found[4].contains("\"500\" is 500 bytes"));
        // Ordinary values say nothing.
        let config = KubeletConfig::parse(
            "evictionHard: {memory.available: 100Mi, nodefs.available: \"10%\", pid.available: \"1000\"}\n",
            "kc.yaml",
        )
        .unwrap();
        let eviction = config.eviction().unwrap();
        assert!(
            !lint(&config, &eviction)
                .iter()
                .any(|w| w.code == "suspicious-quantity")
        );
    }

    #[test]
    fn percentage_extremes() {
        let c = codes("evictionHard: {memory.available: \"100.0%\", nodefs.available: \"0.0%\"}\n");
        assert!(c.contains(&"threshold-always-met"));
        assert!(c.contains(&"threshold-never-met"));
        assert!(c.contains(&"memory-percentage-of-memtotal"));
    }

    #[test]
    fn unused_and_soft_findings() {
        let c = codes(
            "evictionHard: {memory.available: 1Gi}\n\
             evictionSoft: {memory.available: 512Mi, nodefs.available: 10Gi}\n\
             evictionSoftGracePeriod: {memory.available: 10m, nodefs.available: 0s, pid.available: 1m}\n\
             evictionMinimumReclaim: {imagefs.available: 1Gi}\n\
             evictionMaxPodGracePeriod: -1\n",
        );
        for code in [
            "min-reclaim-without-threshold",
            "grace-without-soft-threshold",
            "soft-grace-exceeds-transition-period",
            "soft-below-hard",
            "soft-grace-zero",
            "max-pod-grace-negative",
        ] {
            assert!(c.contains(&code), "{code} missing from {c:?}");
        }
        let c =
            codes("evictionSoft: {memory.available: 2Gi}\nevictionSoftGracePeriod: {memory.available: 1m}\n");
        assert!(c.contains(&"max-pod-grace-zero"));
        assert!(!c.contains(&"soft-below-hard"));
        assert!(!c.contains(&"soft-grace-zero"));
    }

    #[test]
    fn memory_and_misc_findings() {
        let c = codes(
            "systemReserved: {memory: 1Gi}\nenforceNodeAllocatable: []\nevictionHard: {containerfs.available: 1Gi, memory.available: 1Gi}\nevictionPressureTransitionPeriod: -1m\n",
        );
        for code in [
            "reserved-does-not-move-memory-available",
            "no-allocatable-threshold",
            "containerfs-overwritten",
            "transition-period-negative",
        ] {
            assert!(c.contains(&code), "{code} missing from {c:?}");
        }
    }
}
