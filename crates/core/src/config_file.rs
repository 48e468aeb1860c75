//! Decoding a KubeletConfiguration file (YAML, or JSON, which the YAML parser also reads) into
//! [`KubeletConfig`], keeping the line of every value for error messages.

use serde::Deserialize;
use serde_saphyr::{DuplicateKeyPolicy, Options, Spanned};

use crate::config::{
    API_VERSION, ConfigError, KIND, KubeletConfig, RawList, RawMap, Scalar, Setting, SettingMap, Source,
};
use crate::duration::{self, go_quote};

mod findings;

pub(crate) use findings::edit_distance;
use findings::{Doc, KNOWN_FIELDS, document, duplicate_keys, looks_like, misspelled_fields};

/// The fields headroom reads. Everything else in the file is ignored, as the kubelet's
/// lenient decoding ignores unknown fields.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    kind: Option<Spanned<Scalar>>,
    api_version: Option<Spanned<Scalar>>,
    eviction_hard: Option<Spanned<RawMap>>,
    eviction_soft: Option<Spanned<RawMap>>,
    eviction_soft_grace_period: Option<Spanned<RawMap>>,
    eviction_minimum_reclaim: Option<Spanned<RawMap>>,
    eviction_pressure_transition_period: Option<Spanned<Scalar>>,
    eviction_max_pod_grace_period: Option<Spanned<Scalar>>,
    merge_default_eviction_settings: Option<Spanned<Scalar>>,
    enforce_node_allocatable: Option<Spanned<RawList>>,
    system_reserved: Option<Spanned<RawMap>>,
    kube_reserved: Option<Spanned<RawMap>>,
    system_reserved_cgroup: Option<Spanned<Scalar>>,
    kube_reserved_cgroup: Option<Spanned<Scalar>>,
    kernel_memcg_notification: Option<Spanned<Scalar>>,
    local_storage_capacity_isolation: Option<Spanned<Scalar>>,
    cgroup_root: Option<Spanned<Scalar>>,
    #[serde(rename = "cgroupsPerQOS")]
    cgroups_per_qos: Option<Spanned<Scalar>>,
    cgroup_driver: Option<Spanned<Scalar>>,
    feature_gates: Option<Spanned<RawMap>>,
    /// `kubectl get --raw /api/v1/nodes/NODE/proxy/configz` (the running kubelet's config,
    /// flags included) wraps it in `{"kubeletconfig": {...}}`: read the inside as the config.
    /// Without this every field would be unknown and the file would silently mean defaults.
    kubeletconfig: Option<Box<RawConfig>>,
}

struct Ctx<'a> {
    origin: &'a str,
    /// False when the text had to be re-encoded (lines would be wrong).
    lines: bool,
}

impl Ctx<'_> {
    fn source<T>(&self, spanned: &Spanned<T>) -> Source {
        let line = spanned.referenced.line();
        Source::File {
            origin: self.origin.to_string(),
            line: (self.lines && line > 0).then_some(line),
        }
    }

    /// An error about one field's value: `value` is the value as written.
    fn error<T>(&self, at: &Spanned<T>, field: &str, value: String, msg: String) -> ConfigError {
        let source = self.source(at);
        ConfigError::new(format!("{source}: {field}: {msg}"))
            .at(&source)
            .with_field(field)
            .with_value(value)
            .with_problem(msg)
    }

    /// A `map[string]string` field. The kubelet decodes the file as JSON into Go strings, so an
    /// unquoted number or boolean (`cpu: 1`, `memory.available: 0`) stops it at startup with
    /// "json: cannot unmarshal number into Go struct field ... of type string"; null is "".
    fn map(&self, raw: Option<Spanned<RawMap>>, field: &str) -> Result<Option<SettingMap>, ConfigError> {
        let Some(raw) = raw else { return Ok(None) };
        let mut map = SettingMap {
            entries: Vec::new(),
            source: self.source(&raw),
        };
        for (key, value) in raw.value.0 {
            let source = self.source(&key);
            if !matches!(value, Scalar::Null | Scalar::Str(_)) {
                let problem = format!(
                    "expected a string, got {}; the kubelet refuses to start on this (json: \
                     cannot unmarshal into a string), quote the value: \"{}\"",
                    value.describe(),
                    value.text()
                );
                return Err(ConfigError::new(format!(
                    "{source}: {field} {}: {problem}",
                    go_quote(&key.value)
                ))
                .at(&source)
                .with_field(ConfigError::entry_path(field, &key.value))
                .with_value(value.text())
                .with_problem(problem));
            }
            map.insert(key.value, value.text(), source);
        }
        Ok(Some(map))
    }

    /// Scalars the kubelet declares as strings (names, paths).
    fn string(
        &self,
        raw: Option<Spanned<Scalar>>,
        field: &str,
    ) -> Result<Option<Setting<String>>, ConfigError> {
        let Some(raw) = raw else { return Ok(None) };
        match &raw.value {
            Scalar::Null => Ok(None),
            Scalar::Str(s) => Ok(Some(Setting {
                value: s.clone(),
                source: self.source(&raw),
            })),
            other => Err(self.error(
                &raw,
                field,
                other.text(),
                format!("expected a string, got {}; quote the value", other.describe()),
            )),
        }
    }

    /// One gate of `featureGates` (a `map[string]bool`: the kubelet refuses a quoted
    /// `"false"`). Other gates are checked for type only.
    fn feature_gate(
        &self,
        raw: Option<&Spanned<RawMap>>,
        gate: &str,
    ) -> Result<Option<Setting<bool>>, ConfigError> {
        let Some(raw) = raw else { return Ok(None) };
        let mut found = None;
        for (key, value) in &raw.value.0 {
            crate::config_flags::check_gate(&key.value).map_err(|why| {
                let source = self.source(key);
                ConfigError::new(format!("{source}: featureGates: {why}"))
                    .at(&source)
                    .with_field("featureGates")
                    .with_value(key.value.clone())
                    .with_problem(why.to_string())
            })?;
            match value {
                Scalar::Bool(b) if key.value == gate => {
                    found = Some(Setting {
                        value: *b,
                        source: self.source(key),
                    });
                }
                Scalar::Bool(_) => {}
                other => {
                    let source = self.source(key);
                    let problem = format!("expected true or false, got {}", other.describe());
                    return Err(ConfigError::new(format!(
                        "{source}: featureGates {}: {problem}",
                        go_quote(&key.value)
                    ))
                    .at(&source)
                    .with_field(ConfigError::entry_path("featureGates", &key.value))
                    .with_value(other.text())
                    .with_problem(problem));
                }
            }
        }
        Ok(found)
    }

    fn boolean(
        &self,
        raw: Option<Spanned<Scalar>>,
        field: &str,
    ) -> Result<Option<Setting<bool>>, ConfigError> {
        let Some(raw) = raw else { return Ok(None) };
        match &raw.value {
            Scalar::Null => Ok(None),
            Scalar::Bool(b) => Ok(Some(Setting {
                value: *b,
                source: self.source(&raw),
            })),
            other => Err(self.error(
                &raw,
                field,
                other.text(),
                format!("expected true or false, got {}", other.describe()),
            )),
        }
    }

    fn duration(
        &self,
        raw: Option<Spanned<Scalar>>,
        field: &str,
    ) -> Result<Option<Setting<i64>>, ConfigError> {
        let Some(raw) = raw else { return Ok(None) };
        match &raw.value {
            Scalar::Null => Ok(None),
            Scalar::Str(s) => {
                let ns = duration::parse_duration(s)
                    .map_err(|e| self.error(&raw, field, s.clone(), format!("{}: {e}", go_quote(s))))?;
                Ok(Some(Setting {
                    value: ns,
                    source: self.source(&raw),
                }))
            }
            other => Err(self.error(
                &raw,
                field,
                other.text(),
                format!(
                    "expected a duration string such as \"5m0s\", got {} (the kubelet rejects \
                     a bare number here; write e.g. \"300s\")",
                    other.describe()
                ),
            )),
        }
    }

    fn int32(&self, raw: Option<Spanned<Scalar>>, field: &str) -> Result<Option<Setting<i32>>, ConfigError> {
        let Some(raw) = raw else { return Ok(None) };
        match &raw.value {
            Scalar::Null => Ok(None),
            Scalar::Int(i) => match i32::try_from(*i) {
                Ok(v) => Ok(Some(Setting {
                    value: v,
                    source: self.source(&raw),
                })),
                Err(_) => Err(self.error(
                    &raw,
                    field,
                    i.to_string(),
                    format!("{i} does not fit in a 32-bit integer (seconds)"),
                )),
            },
            other => Err(self.error(
                &raw,
                field,
                other.text(),
                format!("expected a whole number of seconds, got {}", other.describe()),
            )),
        }
    }
}

impl KubeletConfig {
    /// Parse a KubeletConfiguration document (YAML or JSON). `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<KubeletConfig, ConfigError> {
        parse(text, origin)
    }
}

fn parse(text: &str, origin: &str) -> Result<KubeletConfig, ConfigError> {
    if text.trim().is_empty() {
        return Err(ConfigError::new(format!(
            "{origin}: the file is empty (the kubelet refuses an empty config file)"
        ))
        .in_file(origin, None)
        .with_problem("the file is empty (the kubelet refuses an empty config file)"));
    }
    let (raw, lines) = match decode(text) {
        Ok(raw) => (raw, true),
        Err(yaml_err) => {
            // JSON that the YAML parser cannot read (tabs for indentation, for instance):
            // re-encode through serde_json. Line numbers are lost on that path.
            let reencoded = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| serde_json::to_string(&v).ok());
            match reencoded.map(|t| decode(&t)) {
                Some(Ok(raw)) => (raw, false),
                _ => return Err(yaml_error(origin, text, &yaml_err)),
            }
        }
    };
    let configz = raw.kubeletconfig.is_some();
    let raw = match raw.kubeletconfig {
        Some(inner) => *inner,
        None => raw,
    };
    let ctx = Ctx { origin, lines };
    let doc = document(text);
    check_type_meta(&ctx, &raw, doc.as_ref())?;
    let misspelled_fields = misspelled_fields(doc.clone(), origin, text, lines, configz);
    let has_field = doc
        .as_ref()
        .is_some_and(|d| d.keys().any(|k| KNOWN_FIELDS.contains(&k.as_str())));
    if raw.kind.is_none()
        && !configz
        && !has_field
        && misspelled_fields.is_empty()
        && let Some(doc) = doc.as_ref().filter(|d| !d.is_empty())
    {
        let problem = format!("not a KubeletConfiguration: {}", looks_like(doc));
        return Err(ConfigError::new(format!("{origin}: {problem}"))
            .in_file(origin, None)
            .with_problem(problem));
    }
    let missing_kind = raw.kind.is_none() && !configz && has_field;
    Ok(KubeletConfig {
        missing_kind,
        duplicate_keys: duplicate_keys(text, lines),
        misspelled_fields,
        eviction_hard: ctx.map(raw.eviction_hard, "evictionHard")?,
        eviction_soft: ctx.map(raw.eviction_soft, "evictionSoft")?,
        eviction_soft_grace_period: ctx.map(raw.eviction_soft_grace_period, "evictionSoftGracePeriod")?,
        eviction_minimum_reclaim: ctx.map(raw.eviction_minimum_reclaim, "evictionMinimumReclaim")?,
        eviction_pressure_transition_period: ctx.duration(
            raw.eviction_pressure_transition_period,
            "evictionPressureTransitionPeriod",
        )?,
        eviction_max_pod_grace_period: ctx
            .int32(raw.eviction_max_pod_grace_period, "evictionMaxPodGracePeriod")?,
        merge_default_eviction_settings: ctx.boolean(
            raw.merge_default_eviction_settings,
            "mergeDefaultEvictionSettings",
        )?,
        enforce_node_allocatable: match raw.enforce_node_allocatable {
            None => None,
            Some(list) => {
                let source = ctx.source(&list);
                let mut values = Vec::new();
                for item in &list.value.0 {
                    match item {
                        Scalar::Str(s) => values.push(s.clone()),
                        other => {
                            return Err(ctx.error(
                                &list,
                                "enforceNodeAllocatable",
                                other.text(),
                                format!("expected a list of strings, found {}", other.describe()),
                            ));
                        }
                    }
                }
                Some(Setting {
                    value: values,
                    source,
                })
            }
        },
        system_reserved: ctx.map(raw.system_reserved, "systemReserved")?,
        kube_reserved: ctx.map(raw.kube_reserved, "kubeReserved")?,
        system_reserved_cgroup: ctx.string(raw.system_reserved_cgroup, "systemReservedCgroup")?,
        kube_reserved_cgroup: ctx.string(raw.kube_reserved_cgroup, "kubeReservedCgroup")?,
        kernel_memcg_notification: ctx.boolean(raw.kernel_memcg_notification, "kernelMemcgNotification")?,
        local_storage_capacity_isolation: ctx.boolean(
            raw.local_storage_capacity_isolation,
            "localStorageCapacityIsolation",
        )?,
        cgroup_root: ctx.string(raw.cgroup_root, "cgroupRoot")?,
        cgroups_per_qos: ctx.boolean(raw.cgroups_per_qos, "cgroupsPerQOS")?,
        cgroup_driver: ctx.string(raw.cgroup_driver, "cgroupDriver")?,
        kubelet_separate_disk_gc: ctx.feature_gate(raw.feature_gates.as_ref(), "KubeletSeparateDiskGC")?,
        kubelet_psi: ctx.feature_gate(raw.feature_gates.as_ref(), "KubeletPSI")?,
        experimental_allocatable_ignore_eviction: None,
        config_file: None,
        ignored_flags: Vec::new(),
    })
}

fn decode(text: &str) -> Result<RawConfig, serde_saphyr::Error> {
    let mut options = Options::default();
    // The kubelet's lenient decoding keeps the last of repeated keys.
    options.duplicate_keys = DuplicateKeyPolicy::LastWins;
    options.with_snippet = false;
    // A document that is only comments (or `---`) decodes as null: no fields set.
    let raw: Option<RawConfig> = serde_saphyr::from_str_with_options(text, options)?;
    Ok(raw.unwrap_or_default())
}

fn yaml_error(origin: &str, text: &str, err: &serde_saphyr::Error) -> ConfigError {
    let message = err.to_string();
    let message = message.trim();
    let line = err.location().map(|l| l.line()).filter(|&l| l > 0);
    if message.contains("expected mapping")
        && let Some(line) = line
        && let Some(wrong) = not_a_map(text, line)
    {
        return ConfigError::new(format!("{origin}:{line}: {wrong}"))
            .in_file(origin, Some(line))
            .with_problem(wrong);
    }
    match line {
        Some(line) => {
            // Quote the offending line: the parser's wording alone rarely names the field.
            let quoted = usize::try_from(line - 1)
                .ok()
                .and_then(|i| text.lines().nth(i))
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let short: String = l.chars().take(80).collect();
                    format!(" (line {line}: {})", go_quote(&short))
                })
                .unwrap_or_default();
            let problem = format!("not a valid KubeletConfiguration: {message}{quoted}");
            ConfigError::new(format!("{origin}:{line}: {problem}"))
                .in_file(origin, Some(line))
                .with_problem(problem)
        }
        None => {
            let problem = format!("not a valid KubeletConfiguration: {message}");
            ConfigError::new(format!("{origin}: {problem}"))
                .in_file(origin, None)
                .with_problem(problem)
        }
    }
}

/// For a map field given something else (`evictionHard: true`, or a list under it): which
/// field, what it got, and what it expects. `line` is 1-based, where the parser stopped.
fn not_a_map(text: &str, line: u64) -> Option<String> {
    let all: Vec<&str> = text.lines().collect();
    let at = usize::try_from(line).ok()?.checked_sub(1)?;
    let here = all.get(at)?;
    let indent = |l: &str| l.len() - l.trim_start().len();
    // The field: on this line (`evictionHard: true`), or the nearest line above with a smaller
    // indent (`evictionHard:` above `  - memory.available`).
    let (field_line, got) = match here.trim_start().split_once(':') {
        Some((_, value)) if !here.trim_start().starts_with('-') && !value.trim().is_empty() => {
            (*here, format!("{:?}", value.trim()))
        }
        _ => {
            let field = all[..at]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && indent(l) < indent(here))?;
            let got = if here.trim_start().starts_with('-') {
                "a list".to_string()
            } else {
                format!("{:?}", here.trim())
            };
            (*field, got)
        }
    };
    let field = field_line
        .trim_start()
        .split_once(':')?
        .0
        .trim()
        .trim_matches('"');
    if !KNOWN_FIELDS.contains(&field) {
        return None;
    }
    let example = match field {
        "featureGates" => "`KubeletPSI: true`",
        "systemReserved" | "kubeReserved" => "`memory: 1Gi`",
        "evictionSoftGracePeriod" => "`memory.available: 1m30s`",
        _ => "`memory.available: 100Mi`",
    };
    Some(format!(
        "{field}: expected a map (one `key: value` per line, e.g. {example}), got {got}"
    ))
}

/// `kind` and `apiVersion` are optional here (handy for snippets), but when present they must
/// be the kubelet's.
fn check_type_meta(ctx: &Ctx<'_>, raw: &RawConfig, doc: Option<&Doc>) -> Result<(), ConfigError> {
    if let Some(kind) = &raw.kind
        && kind.value != Scalar::Str(KIND.to_string())
        && kind.value != Scalar::Null
    {
        let hint = doc.map(|d| format!(": {}", looks_like(d))).unwrap_or_default();
        return Err(ctx.error(
            kind,
            "kind",
            kind.value.text(),
            format!(
                "{} is not a kubelet configuration; expected kind: {KIND}{hint}",
                go_quote(&kind.value.text())
            ),
        ));
    }
    if let Some(version) = &raw.api_version
        && version.value != Scalar::Str(API_VERSION.to_string())
        && version.value != Scalar::Null
    {
        return Err(ctx.error(
            version,
            "apiVersion",
            version.value.text(),
            format!(
                "{} is not supported; the kubelet reads apiVersion: {API_VERSION}",
                go_quote(&version.value.text())
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod configz_tests {
    use super::*;

    #[test]
    fn configz_output_is_read_as_the_config_it_wraps() {
        let text = "{\"kubeletconfig\":{\"evictionHard\":{\"memory.available\":\"500Mi\"},\n\"evictionPressureTransitionPeriod\":\"30s\",\"cgroupDriver\":\"systemd\"}}";
        let config = parse(text, "configz.json").unwrap();
        let hard = config.eviction_hard.clone().unwrap();
        assert_eq!(hard.entries.len(), 1);
        assert_eq!(
            (hard.entries[0].key.as_str(), hard.entries[0].value.as_str()),
            ("memory.available", "500Mi")
        );
        assert_eq!(
            config.eviction().unwrap().pressure_transition_period_ns,
            30_000_000_000
        );
        assert_eq!(config.cgroup_driver.unwrap().value, "systemd");
        // Errors inside still point at the file's own lines.
        let bad = "{\"kubeletconfig\": {\n\"evictionHard\": {\"memory.avail\": \"1Gi\"}}}";
        let err = parse(bad, "configz.json").unwrap().eviction();
        let err = err.unwrap_err().to_string();
        assert!(err.starts_with("configz.json:2:"), "{err}");
    }

    #[test]
    fn near_misses_of_eviction_fields_are_reported_with_their_line() {
        let text = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
                    evictionhard:\n  memory.available: 1Gi\neviction-soft: {}\n\
                    evictionMinimumReclam: {}\nmaxPods: 110\nsystemCgroups: /system\n\
                    kubeletCgroups: /kubelet\nreservedMemory: []\nkubeReserved: {memory: 1Gi}\n\
                    imageGCHighThresholdPercent: 85\nenforceNodeAllocatable: [pods]\n";
        let config = parse(text, "kc.yaml").unwrap();
        let found: Vec<(&str, &str, String)> = config
            .misspelled_fields
            .iter()
            .map(|m| (m.key.as_str(), m.meant, m.source.to_string()))
            .collect();
        assert_eq!(
            found,
            [
                ("eviction-soft", "evictionSoft", "kc.yaml:5".to_string()),
                (
                    "evictionMinimumReclam",
                    "evictionMinimumReclaim",
                    "kc.yaml:6".to_string()
                ),
                ("evictionhard", "evictionHard", "kc.yaml:3".to_string()),
            ]
        );
        // Ignored, as by the kubelet: the misspelt field sets nothing.
        assert!(config.eviction_hard.is_none());
        let json = "{\"kubeletconfig\": {\"EvictionHard\": {}, \"maxPods\": 110}}";
        let config = parse(json, "configz.json").unwrap();
        assert_eq!(config.misspelled_fields.len(), 1);
        assert_eq!(config.misspelled_fields[0].meant, "evictionHard");
    }
}
