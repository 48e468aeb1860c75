//! The kubelet's eviction-related command-line flags, parsed the way pflag and the kubelet's
//! flag types parse them.
//!
//! * `--flag=value` and `--flag value`; boolean flags take no separate value (`--flag`,
//!   `--flag=false`). `_` in a flag name counts as `-`, as in the kubelet.
//! * `--eviction-hard`/`--eviction-soft`: `signal<value` pairs separated by commas.
//!   `--eviction-soft-grace-period`, `--eviction-minimum-reclaim`, `--system-reserved`,
//!   `--kube-reserved`: `key=value` pairs. Keys and values are trimmed; empty pairs are skipped.
//!   Repeating a map flag adds to (and overwrites keys of) the map it started.
//! * `--enforce-node-allocatable`: comma-separated list; an empty value means an empty list.
//! * Other flags are skipped and listed in [`KubeletConfig::ignored_flags`], except an unknown
//!   `--eviction-*` flag, which is an error (`unknown flag: --eviction-hrad`) as in the kubelet.

use crate::config::{ConfigError, KubeletConfig, Setting, SettingMap, Source};
use crate::duration::{self, go_quote};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    LangleMap,
    EqualsMap,
    Duration,
    Int32,
    Bool,
    StringList,
    Text,
    FeatureGates,
}

/// Every flag name [`kind_of`] knows, to suggest one for a misspelt flag.
const FLAGS: [&str; 19] = [
    "eviction-hard",
    "eviction-soft",
    "eviction-soft-grace-period",
    "eviction-minimum-reclaim",
    "system-reserved",
    "kube-reserved",
    "eviction-pressure-transition-period",
    "eviction-max-pod-grace-period",
    "kernel-memcg-notification",
    "local-storage-capacity-isolation",
    "cgroups-per-qos",
    "experimental-allocatable-ignore-eviction",
    "enforce-node-allocatable",
    "feature-gates",
    "cgroup-root",
    "cgroup-driver",
    "system-reserved-cgroup",
    "kube-reserved-cgroup",
    "config",
];

/// The feature gates headroom reads.
const GATES: [&str; 2] = ["KubeletSeparateDiskGC", "KubeletPSI"];

/// The known name `name` is most likely a typo of: at most two edits away (names of 8
/// characters or more), or equal but for case.
pub(crate) fn near_miss<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .copied()
        .filter(|k| *k != name)
        .filter(|k| {
            k.to_lowercase() == lower
                || (k.len() >= 8 && crate::config_file::edit_distance(&k.to_lowercase(), &lower) <= 2)
        })
        .min_by_key(|k| crate::config_file::edit_distance(&k.to_lowercase(), &lower))
}

/// A gate that is a near miss of one headroom reads is refused, as the kubelet refuses every
/// gate it does not know (`unrecognized feature gate: ...`). Other unknown gates cannot be
/// told from gates of another kubelet version and pass.
pub(crate) fn check_gate(gate: &str) -> Result<(), String> {
    match near_miss(gate, &GATES) {
        Some(meant) => Err(format!(
            "unrecognized feature gate: {gate} (did you mean {meant}? the kubelet refuses \
             feature gates it does not know)"
        )),
        None => Ok(()),
    }
}

fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "eviction-hard" | "eviction-soft" => Kind::LangleMap,
        "eviction-soft-grace-period" | "eviction-minimum-reclaim" | "system-reserved" | "kube-reserved" => {
            Kind::EqualsMap
        }
        "eviction-pressure-transition-period" => Kind::Duration,
        "eviction-max-pod-grace-period" => Kind::Int32,
        "kernel-memcg-notification"
        | "local-storage-capacity-isolation"
        | "cgroups-per-qos"
        | "experimental-allocatable-ignore-eviction" => Kind::Bool,
        "enforce-node-allocatable" => Kind::StringList,
        "feature-gates" => Kind::FeatureGates,
        "cgroup-root" | "cgroup-driver" | "system-reserved-cgroup" | "kube-reserved-cgroup" | "config" => {
            Kind::Text
        }
        _ => return None,
    })
}

impl KubeletConfig {
    /// Build from the kubelet's command-line flag forms (`--eviction-hard=memory.available<100Mi`,
    /// `--eviction-soft-grace-period memory.available=1m30s`, `--kernel-memcg-notification`, ...).
    /// Flags that do not affect eviction are skipped and listed in `ignored_flags`.
    pub fn from_flags(args: &[String]) -> Result<KubeletConfig, ConfigError> {
        parse(args)
    }
}

fn parse(args: &[String]) -> Result<KubeletConfig, ConfigError> {
    let mut cfg = KubeletConfig::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(body) = arg.strip_prefix("--") else {
            cfg.ignored_flags.push(arg.clone());
            continue;
        };
        let (raw_name, inline_value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let name = raw_name.replace('_', "-");
        let flag = format!("--{name}");
        let Some(kind) = kind_of(&name) else {
            // The kubelet refuses every flag it does not know; headroom cannot know them all and
            // skips the rest of a pasted command line, but a misspelt eviction flag must not
            // silently fall back to the defaults.
            if let Some(meant) = near_miss(&name, &FLAGS) {
                let problem =
                    format!("unknown flag (did you mean --{meant}? the kubelet refuses unknown flags)");
                return Err(ConfigError::new(format!(
                    "unknown flag: {flag} (did you mean --{meant}? the kubelet refuses unknown \
                     flags)"
                ))
                .with_flag(&flag)
                .with_problem(problem));
            }
            if name.starts_with("eviction-") {
                return Err(ConfigError::new(format!("unknown flag: {flag}"))
                    .with_flag(&flag)
                    .with_problem("unknown flag"));
            }
            // Not an eviction flag. Its value, when given as a separate word, is skipped too.
            let mut ignored = arg.clone();
            if inline_value.is_none() && args.get(i).is_some_and(|next| !next.starts_with('-')) {
                ignored = format!("{arg} {}", args[i]);
                i += 1;
            }
            cfg.ignored_flags.push(ignored);
            continue;
        };
        let value = match (inline_value, kind) {
            (Some(v), _) => v,
            (None, Kind::Bool) => "true".to_string(),
            (None, _) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => {
                    return Err(ConfigError::new(format!("flag needs an argument: {flag}"))
                        .with_flag(&flag)
                        .with_problem("flag needs an argument"));
                }
            },
        };
        apply(&mut cfg, &name, &flag, kind, &value)?;
    }
    Ok(cfg)
}

fn invalid(flag: &str, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(format!(
        "invalid argument {} for {} flag: {why}",
        go_quote(value),
        go_quote(flag)
    ))
    .with_flag(flag)
    .with_value(value)
    .with_problem(why.to_string())
}

fn apply(
    cfg: &mut KubeletConfig,
    name: &str,
    flag: &str,
    kind: Kind,
    value: &str,
) -> Result<(), ConfigError> {
    let source = Source::Flag {
        flag: flag.to_string(),
    };
    match kind {
        Kind::LangleMap | Kind::EqualsMap => {
            let slot = match name {
                "eviction-hard" => &mut cfg.eviction_hard,
                "eviction-soft" => &mut cfg.eviction_soft,
                "eviction-soft-grace-period" => &mut cfg.eviction_soft_grace_period,
                "eviction-minimum-reclaim" => &mut cfg.eviction_minimum_reclaim,
                "system-reserved" => &mut cfg.system_reserved,
                _ => &mut cfg.kube_reserved,
            };
            let map = slot.get_or_insert_with(|| SettingMap {
                entries: Vec::new(),
                source: source.clone(),
            });
            let sep = if kind == Kind::LangleMap { '<' } else { '=' };
            for pair in value.split(',') {
                // pflag's `=` maps trim each pair first; the `<` maps only skip empty ones.
                let pair = if kind == Kind::EqualsMap {
                    pair.trim()
                } else {
                    pair
                };
                if pair.is_empty() {
                    continue;
                }
                let Some((k, v)) = pair.split_once(sep) else {
                    return Err(invalid(
                        flag,
                        value,
                        format!("malformed pair, expect string{sep}string"),
                    ));
                };
                map.insert(k.trim().to_string(), v.trim().to_string(), source.clone());
            }
        }
        Kind::Duration => {
            let ns = duration::parse_duration(value).map_err(|e| invalid(flag, value, e))?;
            cfg.eviction_pressure_transition_period = Some(Setting { value: ns, source });
        }
        Kind::Int32 => {
            let v = parse_go_int32(value).map_err(|why| invalid(flag, value, why))?;
            cfg.eviction_max_pod_grace_period = Some(Setting { value: v, source });
        }
        Kind::Bool => {
            let b = parse_go_bool(value).ok_or_else(|| {
                invalid(
                    flag,
                    value,
                    format!("strconv.ParseBool: parsing {}: invalid syntax", go_quote(value)),
                )
            })?;
            let setting = Some(Setting { value: b, source });
            match name {
                "kernel-memcg-notification" => cfg.kernel_memcg_notification = setting,
                "local-storage-capacity-isolation" => cfg.local_storage_capacity_isolation = setting,
                "cgroups-per-qos" => cfg.cgroups_per_qos = setting,
                _ => cfg.experimental_allocatable_ignore_eviction = setting,
            }
        }
        Kind::StringList => {
            let items: Vec<String> = if value.is_empty() {
                Vec::new()
            } else {
                value.split(',').map(str::to_string).collect()
            };
            // The first use replaces the default list; later uses append.
            match &mut cfg.enforce_node_allocatable {
                Some(existing) => existing.value.extend(items),
                None => cfg.enforce_node_allocatable = Some(Setting { value: items, source }),
            }
        }
        Kind::FeatureGates => {
            // component-base's featuregate.Set: `Gate=bool` pairs, trimmed; only
            // KubeletSeparateDiskGC (eviction) and KubeletPSI (the Summary) are kept
            // (unknown gates are not checked here).
            for pair in value.split(',') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let Some((gate, v)) = pair.split_once('=') else {
                    return Err(invalid(flag, value, format!("missing bool value for {pair}")));
                };
                let (gate, v) = (gate.trim(), v.trim());
                check_gate(gate).map_err(|why| invalid(flag, value, why))?;
                let b = parse_go_bool(v).ok_or_else(|| {
                    invalid(
                        flag,
                        value,
                        format!(
                            "invalid value of {gate}={v}, err: strconv.ParseBool: parsing {}: invalid syntax",
                            go_quote(v)
                        ),
                    )
                })?;
                let setting = Some(Setting {
                    value: b,
                    source: source.clone(),
                });
                match gate {
                    "KubeletSeparateDiskGC" => cfg.kubelet_separate_disk_gc = setting,
                    "KubeletPSI" => cfg.kubelet_psi = setting,
                    _ => {}
                }
            }
        }
        Kind::Text => {
            let setting = Some(Setting {
                value: value.to_string(),
                source,
            });
            match name {
                "cgroup-root" => cfg.cgroup_root = setting,
                "cgroup-driver" => cfg.cgroup_driver = setting,
                "system-reserved-cgroup" => cfg.system_reserved_cgroup = setting,
                "kube-reserved-cgroup" => cfg.kube_reserved_cgroup = setting,
                _ => cfg.config_file = Some(value.to_string()),
            }
        }
    }
    Ok(())
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 32)` (pflag's int32): sign, `0x`/`0o`/`0b`/leading-`0`
/// prefixes, `_` between digits.
fn parse_go_int32(s: &str) -> Result<i32, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || format!("strconv.ParseInt: parsing {}: value out of range", go_quote(s));
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest, true)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest, true)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.is_empty() {
        return Err(syntax());
    }
    // Underscores only between digits (or right after a base prefix).
    if digits.contains('_') {
        let bytes = digits.as_bytes();
        let bad_start = bytes[0] == b'_' && !prefixed;
        let doubled = digits.contains("__");
        if bad_start || doubled || digits.ends_with('_') {
            return Err(syntax());
        }
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_digit(radix)) {
        return Err(syntax());
    }
    let magnitude = u64::from_str_radix(&clean, radix).map_err(|_| range())?;
    let value = if negative {
        -(i128::from(magnitude))
    } else {
        i128::from(magnitude)
    };
    i32::try_from(value).map_err(|_| range())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int32() {
        assert_eq!(parse_go_int32("30"), Ok(30));
        assert_eq!(parse_go_int32("-1"), Ok(-1));
        assert_eq!(parse_go_int32("+0x1e"), Ok(30));
        assert_eq!(parse_go_int32("036"), Ok(30));
        assert_eq!(parse_go_int32("0b11110"), Ok(30));
        assert_eq!(parse_go_int32("3_0"), Ok(30));
        assert_eq!(parse_go_int32("-2147483648"), Ok(i32::MIN));
        assert_eq!(
            parse_go_int32("2147483648"),
            Err(r#"strconv.ParseInt: parsing "2147483648": value out of range"#.to_string())
        );
        for bad in ["", "-", "abc", "1.5", "_1", "1_", "1__0", "0x", "09", "1e3", " 1"] {
            assert!(parse_go_int32(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn misspelt_flags_and_gates_are_refused_with_a_suggestion() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let err = parse(&args(&["--evictoin-hard=memory.available<1Gi"])).unwrap_err();
        assert!(err.message().contains("unknown flag: --evictoin-hard"), "{err}");
        assert!(err.message().contains("did you mean --eviction-hard?"), "{err}");
        let err = parse(&args(&["--kernel-memcg-notificaton"])).unwrap_err();
        assert!(
            err.message()
                .contains("did you mean --kernel-memcg-notification?"),
            "{err}"
        );
        let err = parse(&args(&["--feature-gates=KubeletSeperateDiskGC=true"])).unwrap_err();
        assert!(
            err.message()
                .contains("unrecognized feature gate: KubeletSeperateDiskGC"),
            "{err}"
        );
        assert!(
            err.message().contains("did you mean KubeletSeparateDiskGC?"),
            "{err}"
        );
        // Flags far from any eviction flag are skipped and listed, as before.
        let cfg = parse(&args(&[
            "--node-ip=10.0.0.1",
            "--feature-gates=SomeOtherGate=true",
        ]))
        .unwrap();
        assert_eq!(cfg.ignored_flags, ["--node-ip=10.0.0.1"]);
    }

    #[test]
    fn go_bool() {
        assert_eq!(parse_go_bool("T"), Some(true));
        assert_eq!(parse_go_bool("False"), Some(false));
        assert_eq!(parse_go_bool("yes"), None);
    }
}
