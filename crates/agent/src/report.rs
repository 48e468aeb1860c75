//! One structured line per decision and per action, as text (`key=value`) or JSON.
//!
//! The JSON form is also what `/decision` serves. Lines go to stdout (the product); diagnostics
//! go to stderr through `tracing`.

use headroom_core::config::EvictionConfig;
use headroom_core::manager::{Decision, ManagerState};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::threshold::threshold_quantity;
use headroom_core::view::{SyncStep, to_sorted_json};
use serde_json::{Value, json};

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The sync step of a pass (docs/sync-step.md): what `/decision` serves and what a JSON
/// decision line carries. `memcgNotifiers` is the core's arming when kernelMemcgNotification is
/// on, as in `simulate`.
pub fn sync_step(d: &Decision, pods: &[Pod], config: &EvictionConfig, state: &ManagerState) -> SyncStep {
    SyncStep::new(
        d,
        pods,
        config.kernel_memcg_notification.then(|| state.notifiers()),
    )
}

/// The agent's sync step: the shared model plus what started the pass and the action mode.
#[derive(serde::Serialize)]
struct AgentStep<'a> {
    /// `decision` on log lines (which also carry `action` lines); absent at `/decision`.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'static str>,
    /// `start`, `period`, `notification` or `cleanup`.
    trigger: &'a str,
    /// `--action`: `none`, `kill` or `evict`.
    action: &'a str,
    #[serde(flatten)]
    step: &'a SyncStep,
}

/// The JSON `/decision` serves: the sync step with `trigger` and `action`.
pub fn decision_json(step: &SyncStep, trigger: &str, action: &str) -> Value {
    to_sorted_json(&AgentStep {
        event: None,
        trigger,
        action,
        step,
    })
}

fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '=') {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// One line for a decision: the sync step with `event: decision` in JSON; in text, `key=value`
/// pairs whose `met=` names each threshold by the bytes it stands for at this sync.
pub fn decision_line(
    d: &Decision,
    step: &SyncStep,
    trigger: &str,
    action: &str,
    format: LogFormat,
) -> String {
    if format == LogFormat::Json {
        return to_sorted_json(&AgentStep {
            event: Some("decision"),
            trigger,
            action,
            step,
        })
        .to_string();
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
    for e in &step.evictions {
        out.push_str(&format!(
            " evict={} grace={}s message={}",
            quote(&e.pod),
            e.grace_period_seconds,
            quote(e.message.trim_end())
        ));
    }
    if step.evictions.is_empty() {
        if let Some(r) = &step.reason {
            out.push_str(&format!(" evict=none reason={}", quote(r)));
        } else {
            out.push_str(" evict=none");
        }
    }
    push_policy(&mut out, step);
    out
}

/// ` policy=...` and, under reclaim-first, what it did (`reclaim=hold because=reclaimed
/// asked=... reclaimed=... seconds=... kubelet_would_evict=...`).
fn push_policy(out: &mut String, step: &SyncStep) {
    let Some(policy) = step.policy else {
        return;
    };
    out.push_str(&format!(" policy={policy}"));
    let Some(r) = &step.reclaim else {
        return;
    };
    out.push_str(&format!(" reclaim={}", r.plan));
    if let Some(b) = r.because {
        out.push_str(&format!(" because={b}"));
    }
    let bytes = [
        ("shortfall", r.shortfall_bytes),
        ("reclaimable", r.reclaimable_bytes),
        ("asked", r.asked_bytes),
        ("reclaimed", r.reclaimed_bytes),
    ];
    for (k, v) in bytes {
        if let Some(v) = v {
            out.push_str(&format!(" {k}={v}"));
        }
    }
    if let Some(s) = r.seconds {
        out.push_str(&format!(" seconds={s:.3}"));
    }
    if !r.kubelet_would_evict.is_empty() {
        out.push_str(&format!(
            " kubelet_would_evict={}",
            quote(&r.kubelet_would_evict.join(","))
        ));
    }
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
