//! One structured line per decision and per action, as text (`key=value`) or JSON.
//!
//! The JSON form is also what `/decision` serves. Lines go to stdout (the product); diagnostics
//! go to stderr through `tracing`.

use headroom_core::manager::{Decision, EvictionCause};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::threshold::threshold_quantity;
use serde_json::{Value, json};

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The JSON view of a decision: what was observed, which thresholds were met, what was chosen.
pub fn decision_json(d: &Decision, pods: &[Pod], trigger: &str, action: &str) -> Value {
    let observations: Vec<Value> = d
        .observations
        .iter()
        .map(|(signal, o)| {
            json!({
                "signal": signal.as_str(),
                "available": o.available.to_string(),
                "capacity": o.capacity.to_string(),
                "time": o.time.map(|t| t.to_string()),
            })
        })
        .collect();
    let met: Vec<Value> = d
        .thresholds_met
        .iter()
        .map(|m| {
            let obs = d.observations.get(m.threshold.signal);
            let quantity = obs.map(|o| threshold_quantity(&m.threshold.value, &o.capacity));
            json!({
                "signal": m.threshold.signal.as_str(),
                "type": if m.threshold.is_hard() { "hard" } else { "soft" },
                "threshold": quantity.map(|q| q.to_string()),
                "available": obs.map(|o| o.available.to_string()),
                "gracePeriodSatisfied": m.grace_satisfied,
                "firstObserved": m.first_observed.to_string(),
            })
        })
        .collect();
    let evictions: Vec<Value> = d
        .evictions
        .iter()
        .map(|e| {
            let pod = pods.get(e.index);
            let signal = match &e.cause {
                EvictionCause::Threshold { signal, .. } => Some(signal.as_str()),
                EvictionCause::LocalStorage(_) => None,
            };
            json!({
                "pod": pod.map(Pod::key),
                "uid": pod.map(|p| p.metadata.uid.clone()),
                "signal": signal,
                "gracePeriodSeconds": e.grace_period_seconds,
                "message": e.message,
            })
        })
        .collect();
    json!({
        "time": d.time.to_string(),
        "trigger": trigger,
        "action": action,
        "conditions": d.conditions.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "observations": observations,
        "thresholdsMet": met,
        "reclaiming": d.reclaiming.as_ref().map(|t| t.signal.as_str()),
        "ranking": d.ranking.iter().filter_map(|r| pods.get(r.index).map(Pod::key)).collect::<Vec<_>>(),
        "skippedCritical": d.skipped_critical.iter().filter_map(|i| pods.get(*i).map(Pod::key)).collect::<Vec<_>>(),
        "evictions": evictions,
        "noEvictionReason": d.no_eviction_reason,
    })
}

fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '=') {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// One line for a decision.
pub fn decision_line(d: &Decision, pods: &[Pod], trigger: &str, action: &str, format: LogFormat) -> String {
    if format == LogFormat::Json {
        let mut v = decision_json(d, pods, trigger, action);
        if let Some(o) = v.as_object_mut() {
            o.insert("event".into(), json!("decision"));
        }
        return v.to_string();
    }
    let mut out = format!("decision time={} trigger={trigger} action={action}", d.time);
    let conds: Vec<&str> = d.conditions.iter().map(|c| c.as_str()).collect();
    out.push_str(&format!(" conditions={}", quote(&conds.join(","))));
    for m in &d.thresholds_met {
        let obs = d.observations.get(m.threshold.signal);
        let q = obs.map(|o| threshold_quantity(&m.threshold.value, &o.capacity));
        out.push_str(&format!(
            " met=\"{}<{} ({}, available {}{})\"",
            m.threshold.signal,
            q.map_or_else(|| "?".into(), |q: Quantity| q.to_string()),
            if m.threshold.is_hard() { "hard" } else { "soft" },
            obs.map_or_else(|| "?".into(), |o| o.available.to_string()),
            if m.grace_satisfied { "" } else { ", grace pending" },
        ));
    }
    for e in &d.evictions {
        let pod = pods.get(e.index).map_or_else(|| "?".into(), Pod::key);
        out.push_str(&format!(
            " evict={} grace={}s message={}",
            quote(&pod),
            e.grace_period_seconds,
            quote(e.message.trim_end())
        ));
    }
    if d.evictions.is_empty() {
        if let Some(r) = &d.no_eviction_reason {
            out.push_str(&format!(" evict=none reason={}", quote(r)));
        } else {
            out.push_str(" evict=none");
        }
    }
    out
}

/// One line announcing an action, written before the action is taken.
pub fn action_line(fields: &[(&str, String)], format: LogFormat) -> String {
    match format {
        LogFormat::Json => {
            let mut m = serde_json::Map::new();
            m.insert("event".into(), json!("action"));
            for (k, v) in fields {
                m.insert((*k).to_string(), json!(v));
            }
            Value::Object(m).to_string()
        }
        LogFormat::Text => {
            let mut out = String::from("action");
            for (k, v) in fields {
                out.push_str(&format!(" {k}={}", quote(v)));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_quoted_only_when_needed() {
        assert_eq!(quote("default/web"), "default/web");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
        let line = action_line(
            &[
                ("action", "kill".into()),
                ("pod", "ns/p".into()),
                ("why", "low memory".into()),
            ],
            LogFormat::Text,
        );
        assert_eq!(line, "action action=kill pod=ns/p why=\"low memory\"");
        let json: Value =
            serde_json::from_str(&action_line(&[("pod", "ns/p".into())], LogFormat::Json)).unwrap();
        assert_eq!(json["event"], "action");
        assert_eq!(json["pod"], "ns/p");
    }
}
