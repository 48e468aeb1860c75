//! Timelines for `headroom simulate`: a sequence of kubelet Summaries replayed through the
//! eviction manager.
//!
//! ```yaml
//! config: {...}          # optional KubeletConfiguration (when --config is not given)
//! pods: [...]            # v1.Pod objects or a v1 PodList: the active pods at the start
//! steps:
//!   - time: 2026-01-01T00:00:00Z   # the manager's clock for this sync (RFC 3339)
//!     summary: {...}               # GET /stats/summary
//!     pods: [...]                  # optional: replaces the active pods from this step on
//!     admit: [...]                 # optional: pods run through admission after the sync
//! ```
//!
//! JSON or YAML. Every error names the field path (`steps[3].summary.node.memory.availableBytes`)
//! and the offending value, so a 3 a.m. reader can go straight to it.

use jiff::Timestamp;
use serde_json::Value;

use crate::pod::Pod;
use crate::summary::Summary;

/// A parsed timeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// The inline KubeletConfiguration, re-encoded as JSON text for `KubeletConfig::parse`.
    pub config: Option<String>,
    /// Active pods at the start.
    pub pods: Vec<Pod>,
    pub steps: Vec<Step>,
    /// What is valid but probably not meant (steps whose Summary has no node
    /// `memory.availableBytes`, so memory.available is unobserved there).
    pub warnings: Vec<String>,
}

/// One sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    pub time: Timestamp,
    pub summary: Summary,
    /// Replaces the active pod list from this step on.
    pub pods: Option<Vec<Pod>>,
    /// Pods to run through admission after this step's sync.
    pub admit: Vec<Pod>,
}

/// Why a timeline cannot be used: where (field path) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {path}: {message}")]
pub struct TimelineError {
    /// The file name as given.
    pub origin: String,
    /// Field path such as `steps[3].summary.node`; `(document)` for the whole file.
    pub path: String,
    pub message: String,
}

struct Ctx<'a> {
    origin: &'a str,
}

impl Ctx<'_> {
    fn err(&self, path: impl Into<String>, message: impl Into<String>) -> TimelineError {
        TimelineError {
            origin: self.origin.to_string(),
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A short rendering of a JSON value for error messages.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Look up a dotted serde path inside `v` for the offending value.
fn value_at<'v>(mut v: &'v Value, path: &serde_path_to_error::Path) -> Option<&'v Value> {
    use serde_path_to_error::Segment;
    for seg in path.iter() {
        v = match seg {
            Segment::Seq { index } => v.get(*index)?,
            Segment::Map { key } => v.get(key.as_str())?,
            Segment::Enum { .. } | Segment::Unknown => return Some(v),
        };
    }
    Some(v)
}

/// Deserialize `v` as `T`, turning a serde error into `base.inner.path: message (value: ...)`.
fn typed<T: serde::de::DeserializeOwned>(ctx: &Ctx<'_>, base: &str, v: &Value) -> Result<T, TimelineError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{inner}")
        };
        let shown = value_at(v, e.path())
            .filter(|x| !x.is_object() && !x.is_array())
            .map(|x| format!(" (value: {})", show(x)))
            .unwrap_or_default();
        ctx.err(path, format!("{}{shown}", e.inner()))
    })
}

fn check_quantities_non_negative(ctx: &Ctx<'_>, path: &str, pod_value: &Value) -> Result<(), TimelineError> {
    let spec = match pod_value.get("spec") {
        Some(s) => s,
        None => return Ok(()),
    };
    for list in ["containers", "initContainers"] {
        let Some(Value::Array(cs)) = spec.get(list) else {
            continue;
        };
        for (i, c) in cs.iter().enumerate() {
            for kind in ["requests", "limits"] {
                let Some(Value::Object(m)) = c.get("resources").and_then(|r| r.get(kind)) else {
                    continue;
                };
                for (name, q) in m {
                    let negative = match q {
                        Value::String(s) => s.trim_start().starts_with('-'),
                        Value::Number(n) => n.as_f64().is_some_and(|f| f < 0.0),
                        _ => false,
                    };
                    if negative {
                        return Err(ctx.err(
                            format!("{path}.spec.{list}[{i}].resources.{kind}.{name}"),
                            format!("negative quantity {} (requests and limits must be >= 0)", show(q)),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Pods from a list, a PodList (`items`) or a single Pod.
fn pods(ctx: &Ctx<'_>, path: &str, v: &Value) -> Result<Vec<Pod>, TimelineError> {
    let (items, item_path): (Vec<&Value>, String) = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => (a.iter().collect(), path.to_string()),
        Value::Object(m) => match m.get("items") {
            Some(Value::Array(a)) => (a.iter().collect(), format!("{path}.items")),
            Some(Value::Null) => return Ok(Vec::new()),
            Some(other) => {
                return Err(ctx.err(
                    format!("{path}.items"),
                    format!("expected a list of pods, found {}", kind(other)),
                ));
            }
            None => (vec![v], String::new()),
        },
        other => {
            return Err(ctx.err(
                path,
                format!("expected a list of pods or a PodList, found {}", kind(other)),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let p = if item_path.is_empty() {
            path.to_string()
        } else {
            format!("{item_path}[{i}]")
        };
        check_quantities_non_negative(ctx, &p, item)?;
        let pod: Pod = typed(ctx, &p, item)?;
        if pod.metadata.uid.is_empty() {
            return Err(ctx.err(
                format!("{p}.metadata.uid"),
                format!(
                    "pod {:?} has no uid; the kubelet matches pods to their stats by uid (use `kubectl get pod -o json`)",
                    pod.key()
                ),
            ));
        }
        if !seen.insert(pod.metadata.uid.clone()) {
            return Err(ctx.err(
                format!("{p}.metadata.uid"),
                format!("uid {:?} appears twice in this pod list", pod.metadata.uid),
            ));
        }
        out.push(pod);
    }
    Ok(out)
}

fn parse_document(origin: &str, text: &str) -> Result<Value, TimelineError> {
    let ctx = Ctx { origin };
    let looks_json = text.trim_start().starts_with('{') || text.trim_start().starts_with('[');
    if looks_json {
        serde_json::from_str(text).map_err(|e| {
            let what = if e.is_eof() {
                "the JSON ends early (truncated file?)".to_string()
            } else {
                e.to_string()
            };
            ctx.err(
                "(document)",
                format!(
                    "not valid JSON at line {} column {}: {what}",
                    e.line(),
                    e.column()
                ),
            )
        })
    } else {
        // No source snippet: an error is one line naming the file, the line and the column.
        let mut options = serde_saphyr::Options::default();
        options.with_snippet = false;
        // Only `true`/`false` are booleans: YAML 1.1's `n`, `no`, `off` would turn a node
        // named `n` (or a pod named `off`) into `false`.
        options.strict_booleans = true;
        serde_saphyr::from_str_with_options::<Value>(text, options)
            .map_err(|e| ctx.err("(document)", format!("not valid YAML: {}", e.to_string().trim())))
    }
}

impl Timeline {
    /// Parse a timeline document (JSON or YAML). `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Timeline, TimelineError> {
        let ctx = Ctx { origin };
        let doc = parse_document(origin, text)?;
        let Value::Object(root) = &doc else {
            return Err(ctx.err(
                "(document)",
                format!(
                    "expected an object with `steps` (and optionally `config`, `pods`), found {}",
                    kind(&doc)
                ),
            ));
        };
        for key in root.keys() {
            if !matches!(key.as_str(), "config" | "pods" | "steps") {
                return Err(ctx.err(
                    key.clone(),
                    "unknown key; a timeline has `config`, `pods` and `steps`",
                ));
            }
        }
        let config = match root.get("config") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.to_string()),
            Some(other) => {
                return Err(ctx.err(
                    "config",
                    format!("expected a KubeletConfiguration object, found {}", kind(other)),
                ));
            }
        };
        let start_pods = match root.get("pods") {
            Some(v) => pods(&ctx, "pods", v)?,
            None => Vec::new(),
        };
        let steps_value = root.get("steps").ok_or_else(|| {
            ctx.err(
                "steps",
                "missing: a timeline needs a list of steps, each with `time` and `summary`",
            )
        })?;
        let Value::Array(step_values) = steps_value else {
            return Err(ctx.err(
                "steps",
                format!("expected a list of steps, found {}", kind(steps_value)),
            ));
        };
        let mut steps = Vec::with_capacity(step_values.len());
        let mut previous: Option<Timestamp> = None;
        let mut no_available: Vec<String> = Vec::new();
        for (i, sv) in step_values.iter().enumerate() {
            let base = format!("steps[{i}]");
            let Value::Object(step) = sv else {
                return Err(ctx.err(
                    base,
                    format!("expected an object with `time` and `summary`, found {}", kind(sv)),
                ));
            };
            for key in step.keys() {
                if !matches!(key.as_str(), "time" | "summary" | "pods" | "admit") {
                    return Err(ctx.err(
                        format!("{base}.{key}"),
                        "unknown key; a step has `time`, `summary`, `pods` and `admit`",
                    ));
                }
            }
            let time = match step.get("time") {
                None | Some(Value::Null) => {
                    return Err(ctx.err(
                        format!("{base}.time"),
                        "missing: each step needs an RFC 3339 time such as 2026-01-01T00:00:00Z",
                    ));
                }
                Some(Value::String(s)) => s.parse::<Timestamp>().map_err(|e| {
                    ctx.err(
                        format!("{base}.time"),
                        format!("{s:?} is not an RFC 3339 time with a zone offset: {e}"),
                    )
                })?,
                Some(other) => {
                    return Err(ctx.err(
                        format!("{base}.time"),
                        format!("expected an RFC 3339 string, found {}", show(other)),
                    ));
                }
            };
            if let Some(p) = previous
                && time < p
            {
                return Err(ctx.err(
                    format!("{base}.time"),
                    format!("{time} is before the previous step's time {p}; steps must be in time order"),
                ));
            }
            if previous == Some(time) {
                return Err(ctx.err(
                    format!("{base}.time"),
                    format!(
                        "{time} is the previous step's time too; each step is one sync at its own \
                         time (the kubelet's are 10 s apart)"
                    ),
                ));
            }
            previous = Some(time);
            let summary_value = step.get("summary").ok_or_else(|| {
                ctx.err(
                    format!("{base}.summary"),
                    "missing: each step needs a kubelet Summary (GET /stats/summary)",
                )
            })?;
            match summary_value {
                Value::Object(m) if !m.contains_key("node") || m.get("node") == Some(&Value::Null) => {
                    return Err(ctx.err(
                        format!("{base}.summary.node"),
                        "missing: a kubelet Summary has a `node` object with the node's stats",
                    ));
                }
                Value::Object(_) => {}
                other => {
                    return Err(ctx.err(
                        format!("{base}.summary"),
                        format!("expected a Summary object, found {}", kind(other)),
                    ));
                }
            }
            let summary: Summary = typed(&ctx, &format!("{base}.summary"), summary_value)?;
            if summary
                .node
                .memory
                .as_ref()
                .and_then(|m| m.available_bytes)
                .is_none()
            {
                no_available.push(base.clone());
            }
            let step_pods = match step.get("pods") {
                Some(v) => Some(pods(&ctx, &format!("{base}.pods"), v)?),
                None => None,
            };
            let admit = match step.get("admit") {
                Some(v) => pods(&ctx, &format!("{base}.admit"), v)?,
                None => Vec::new(),
            };
            steps.push(Step {
                time,
                summary,
                pods: step_pods,
                admit,
            });
        }
        let mut warnings = Vec::new();
        if !no_available.is_empty() {
            let shown: Vec<&str> = no_available.iter().take(3).map(String::as_str).collect();
            let more = match no_available.len().saturating_sub(3) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            warnings.push(format!(
                "{origin}: {}{more}: summary.node.memory has no availableBytes: memory.available \
                 is unobserved at {}, so no memory.available threshold can be met there",
                shown.join(", "),
                if no_available.len() == 1 {
                    "that step"
                } else {
                    "those steps"
                }
            ));
        }
        Ok(Timeline {
            config,
            pods: start_pods,
            steps,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Timeline::parse(text, "t.yaml").unwrap_err().to_string()
    }

    #[test]
    fn broken_yaml_is_one_line() {
        let e = err("pods: []\nsteps:\n  - time: \"2026-01-01T00:00:00Z\n");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.starts_with("t.yaml: (document): not valid YAML: ") && e.contains("line 3"),
            "{e}"
        );
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings_and_equal_times_are_refused() {
        let t = Timeline::parse(
            "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary:\n      node: {nodeName: n, memory: {availableBytes: 1, workingSetBytes: 1}}\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(t.steps[0].summary.node.node_name, "n");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        let e = err(
            "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {}}\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {}}\n",
        );
        assert!(e.starts_with("t.yaml: steps[1].time:"), "{e}");
        assert!(e.contains("is the previous step's time too"), "{e}");
    }

    #[test]
    fn steps_without_available_bytes_are_reported() {
        let t = Timeline::parse(
            "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {memory: {workingSetBytes: 5}}}\n  - time: 2026-01-01T00:00:10Z\n    summary: {node: {memory: {availableBytes: 1, workingSetBytes: 1}}}\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(t.warnings.len(), 1);
        assert!(
            t.warnings[0].starts_with("t.yaml: steps[0]: summary.node.memory has no availableBytes"),
            "{:?}",
            t.warnings
        );
    }

    #[test]
    fn parses_yaml_and_json() {
        let yaml = "pods:\n  - metadata: {name: a, namespace: d, uid: u1}\nsteps:\n  - time: 2026-01-01T00:00:00Z\n    summary:\n      node:\n        memory: {availableBytes: 10, workingSetBytes: 5}\n    admit:\n      kind: PodList\n      items:\n        - metadata: {name: b, uid: u2}\n";
        let t = Timeline::parse(yaml, "t.yaml").unwrap();
        assert_eq!(t.pods.len(), 1);
        assert_eq!(t.steps[0].admit[0].metadata.name, "b");
        assert_eq!(
            t.steps[0].summary.node.memory.as_ref().unwrap().available_bytes,
            Some(10)
        );
        let json = r#"{"config": {"evictionHard": {"memory.available": "1Gi"}}, "steps": [{"time": "2026-01-01T00:00:00Z", "summary": {"node": {}}, "pods": []}]}"#;
        let t = Timeline::parse(json, "t.json").unwrap();
        assert!(t.config.unwrap().contains("evictionHard"));
        assert_eq!(t.steps[0].pods, Some(vec![]));
    }

    #[test]
    fn errors_name_the_field_and_the_value() {
        let e = err(
            "steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {memory: {availableBytes: -5}}}\n",
        );
        assert!(
            e.starts_with("t.yaml: steps[0].summary.node.memory.availableBytes: "),
            "{e}"
        );
        assert!(e.contains("-5"), "{e}");
        let e = err("steps:\n  - summary: {node: {}}\n");
        assert!(e.starts_with("t.yaml: steps[0].time: missing"), "{e}");
        let e = err("steps:\n  - time: yesterday\n    summary: {node: {}}\n");
        assert!(e.contains("steps[0].time: \"yesterday\""), "{e}");
        let e = err("steps:\n  - time: 2026-01-01T00:00:00Z\n    summary: {pods: []}\n");
        assert!(e.starts_with("t.yaml: steps[0].summary.node: missing"), "{e}");
        let e = err("pods: [{metadata: {name: a}}]\nsteps: []\n");
        assert!(e.starts_with("t.yaml: pods[0].metadata.uid:"), "{e}");
        let e = err(
            "pods: [{metadata: {name: a, uid: u}, spec: {containers: [{name: c, resources: {requests: {memory: -1Gi}}}]}}]\nsteps: []\n",
        );
        assert!(
            e.starts_with("t.yaml: pods[0].spec.containers[0].resources.requests.memory: negative quantity"),
            "{e}"
        );
        let e = err("pods: [{metadata: {name: a, uid: u}, spec: {priority: high}}]\nsteps: []\n");
        assert!(e.starts_with("t.yaml: pods[0].spec.priority:"), "{e}");
        let e = Timeline::parse(r#"{"steps": [{"time": "2026-01-01T00:00:00Z", "summ"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = err(
            "steps:\n  - time: 2026-01-01T00:00:10Z\n    summary: {node: {}}\n  - time: 2026-01-01T00:00:00Z\n    summary: {node: {}}\n",
        );
        assert!(e.starts_with("t.yaml: steps[1].time:"), "{e}");
        assert!(err("nope: 1\nsteps: []\n").starts_with("t.yaml: nope: unknown key"));
        assert!(err("- 1\n").contains("(document)"));
    }
}
