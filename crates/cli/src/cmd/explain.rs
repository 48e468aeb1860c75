//! `headroom explain`: read an eviction back. Takes the message the kubelet wrote
//! (`status.message` of an evicted pod, or its Event), a pod's JSON, or an Event's JSON, and
//! says what its numbers mean: the signal, the threshold, the usage against the request, the
//! ranking rule that chose the pod, and what the message cannot tell (how much of the usage
//! was active page cache) with how to find out.

use std::path::Path;
use std::process::ExitCode;

use headroom_core::message::{
    Consumer, OFFENDING_CONTAINERS, OFFENDING_CONTAINERS_USAGE, ParsedMessage, STARVED_RESOURCE,
    parse_eviction_message,
};
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use serde::Serialize;
use serde_json::Value;

use super::bad_input;
use crate::status::text::wrap;
use crate::status::units::{grouped, human_bytes};

// The same two formats as `status`.
use super::status::Format;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
headroom explain \"The node was low on resource: memory. Threshold quantity: 100Mi, available: \
99Mi. Container app was using 1Gi, request is 256Mi, has larger consumption of memory. \"\n  \
kubectl get pod web-0 -o json | headroom explain -\n  \
headroom explain pod.json                 # a pod's JSON: its status.message, QoS, priority\n  \
headroom explain event.json               # the eviction Event, with the kubelet's annotations")]
pub struct Args {
    /// The eviction message, or a file with a pod's or an Event's JSON (or the message), or
    /// `-` for standard input.
    #[arg(value_name = "MESSAGE|FILE|-")]
    pub input: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What the explanation is built from.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Explained {
    /// `namespace/name` when a pod or Event named it.
    pod: Option<String>,
    message: String,
    parsed: ParsedMessage,
    /// The signals that reclaim this resource (the message names the resource, not the signal).
    signals: Vec<&'static str>,
    threshold_bytes: Option<i64>,
    available_bytes: Option<i64>,
    /// threshold - available: how far below the threshold the signal was.
    below_bytes: Option<i64>,
    /// Per named container (and the pod, for pod-level resources): usage - request.
    over_request: Vec<OverRequest>,
    /// From a pod's JSON.
    qos: Option<String>,
    priority: Option<i32>,
    /// The kubelet's Event annotations, when an Event was given.
    annotations: Vec<(String, String)>,
    /// How the kubelet chose this pod.
    ranking: String,
    /// What the message cannot tell, each with how to find out.
    unknown: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OverRequest {
    name: String,
    usage_bytes: Option<i64>,
    request_bytes: Option<i64>,
    over_bytes: Option<i64>,
}

/// The input as text: the argument itself when it is a message, else the file (or stdin).
fn input_text(input: &str) -> anyhow::Result<(String, Option<String>)> {
    if input.trim_start().starts_with("The node was low on resource") {
        return Ok((input.to_string(), None));
    }
    let path = Path::new(input);
    if input != "-" && !path.exists() {
        return Err(bad_input(format!(
            "{input:?}: neither an eviction message (\"The node was low on resource: ...\") nor \
             a file; pass the message in quotes, a file with a pod's or an Event's JSON, or - \
             for standard input"
        )));
    }
    let text = crate::cmd::read_text(path, "eviction message or pod JSON")?;
    Ok((text, Some(crate::cmd::shown_path(path))))
}

/// A pod, an Event or a list of either: the message, the pod's name, its facts, annotations.
fn from_json(value: &Value, origin: &str) -> anyhow::Result<Explained> {
    let item = match value.get("items").and_then(Value::as_array) {
        Some(items) => items.iter().find(|i| message_of(i).is_some()).ok_or_else(|| {
            bad_input(format!(
                "{origin}: none of the {} items has an eviction message (status.message of an \
                     evicted pod, or an Event's message)",
                items.len()
            ))
        })?,
        None => value,
    };
    let message = message_of(item).ok_or_else(|| {
        let reason = item
            .pointer("/status/reason")
            .and_then(Value::as_str)
            .map(|r| format!(" (status.reason is {r:?})"))
            .unwrap_or_default();
        bad_input(format!(
            "{origin}: no eviction message in it{reason}: expected an evicted pod's JSON \
             (status.reason \"Evicted\", status.message) or the eviction Event's JSON (message)"
        ))
    })?;
    let mut e = Explained {
        message: message.to_string(),
        ..Explained::default()
    };
    let is_event = item.get("kind").and_then(Value::as_str) == Some("Event");
    if is_event {
        let obj = item.get("involvedObject");
        let field = |k: &str| obj.and_then(|o| o.get(k)).and_then(Value::as_str);
        e.pod = match (field("namespace"), field("name")) {
            (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
            (None, Some(n)) => Some(n.to_string()),
            _ => None,
        };
        if let Some(Value::Object(a)) = item.pointer("/metadata/annotations") {
            for key in [STARVED_RESOURCE, OFFENDING_CONTAINERS, OFFENDING_CONTAINERS_USAGE] {
                if let Some(v) = a.get(key).and_then(Value::as_str) {
                    e.annotations.push((key.to_string(), v.to_string()));
                }
            }
        }
    } else if let Ok(pod) = serde_json::from_value::<Pod>(item.clone()) {
        e.pod = Some(pod.key());
        e.qos = Some(pod.qos_class().as_str().to_string());
        e.priority = Some(pod.priority());
    }
    Ok(e)
}

fn message_of(item: &Value) -> Option<&str> {
    let m = item
        .pointer("/status/message")
        .or_else(|| item.get("message"))
        .and_then(Value::as_str)?;
    m.contains("The node was low on resource").then_some(m)
}

fn bytes(q: &str) -> Option<i64> {
    Quantity::parse(q).ok().map(|q| q.value())
}

fn over(c: &Consumer) -> OverRequest {
    let usage = bytes(&c.usage);
    let request = bytes(&c.request);
    OverRequest {
        name: c.name.clone(),
        usage_bytes: usage,
        request_bytes: request,
        over_bytes: usage.zip(request).map(|(u, r)| u.saturating_sub(r)),
    }
}

fn explain(mut e: Explained) -> anyhow::Result<Explained> {
    // The message may be quoted with a trailing newline; the kubelet's ends with ". ".
    let text = e.message.trim().to_string();
    let start = text.find("The node was low on resource").unwrap_or(0);
    e.message = text[start..].to_string();
    e.parsed = parse_eviction_message(&e.message).map_err(bad_input)?;
    e.signals = match e.parsed.resource.as_str() {
        "memory" => vec!["memory.available", "allocatableMemory.available"],
        "ephemeral-storage" => vec!["nodefs.available", "imagefs.available", "containerfs.available"],
        "inodes" => vec![
            "nodefs.inodesFree",
            "imagefs.inodesFree",
            "containerfs.inodesFree",
        ],
        "pids" => vec!["pid.available"],
        _ => Vec::new(),
    };
    e.threshold_bytes = e.parsed.threshold.as_deref().and_then(bytes);
    e.available_bytes = e.parsed.available.as_deref().and_then(bytes);
    e.below_bytes = e
        .threshold_bytes
        .zip(e.available_bytes)
        .map(|(t, a)| t.saturating_sub(a));
    e.over_request = e
        .parsed
        .pod
        .iter()
        .chain(&e.parsed.containers)
        .map(over)
        .collect();
    let memory = e.parsed.resource == "memory";
    e.ranking = ranking(&e, memory);
    e.unknown = unknowns(&e, memory);
    Ok(e)
}

fn ranking(e: &Explained, memory: bool) -> String {
    let rule = if memory {
        "The kubelet ranks pods for memory: pods whose working set exceeds their memory request \
         first, then lower priority first, then larger working set over request first."
    } else {
        "The kubelet ranks pods for this resource: pods over their request first, then lower \
         priority first, then larger usage first."
    };
    let mut s = rule.to_string();
    if e.parsed.threshold.is_none() && e.parsed.containers.is_empty() && e.parsed.pod.is_none() {
        s.push_str(
            " The message has no usage part: the kubelet had no stats for this pod, and pods \
             without stats are ranked first of all.",
        );
    } else if e.parsed.containers.is_empty() && e.parsed.pod.is_none() {
        s.push_str(
            " No container is named as over its request: every pod was within its request, so \
             the pod went by priority, then by usage over request.",
        );
    } else {
        s.push_str(" This pod was over its request, which puts it in the first group.");
    }
    if let (Some(q), Some(p)) = (&e.qos, e.priority) {
        s.push_str(&format!(
            " It is {q} with priority {p} (QoS itself is not a ranking key; it follows from the \
             requests)."
        ));
    }
    s
}

fn unknowns(e: &Explained, memory: bool) -> Vec<String> {
    let mut out = Vec::new();
    if memory {
        let usage = e
            .over_request
            .first()
            .and_then(|o| o.usage_bytes)
            .map(|u| format!("the {} ", human_bytes(i128::from(u))))
            .unwrap_or_default();
        out.push(format!(
            "How much of {usage}working set was active page cache. The kubelet counts active \
             file pages as used although the kernel can reclaim them, so a pod that reads many \
             files can be evicted for cache. Find out on the node: `headroom status` (the \
             `active` column and the verdict), the pod cgroup's memory.stat active_file, or \
             container_memory_working_set_bytes against container_memory_cache in Prometheus."
        ));
        out.push(
            "Which threshold fired: memory.available (the whole node) or allocatableMemory.available \
             (the pods cgroup), hard or soft. Run `headroom check-config` on the kubelet's config \
             (kubectl get --raw /api/v1/nodes/NODE/proxy/configz)."
                .to_string(),
        );
    }
    out.push(
        "The other pods at that moment (why not them): the message names only this one. Replay \
         with `headroom simulate`, or see the order now with `headroom status`."
            .to_string(),
    );
    out
}

fn quantity_line(q: &str, b: Option<i64>) -> String {
    match b {
        Some(b) => format!("{q} ({} bytes)", grouped(i128::from(b))),
        None => q.to_string(),
    }
}

fn render_text(e: &Explained) -> String {
    let mut out = String::new();
    let memory = e.parsed.resource == "memory";
    let what = match e.parsed.resource.as_str() {
        "memory" => "memory pressure".to_string(),
        "ephemeral-storage" => "disk pressure (ephemeral storage)".to_string(),
        other => format!("low {other}"),
    };
    out.push_str(&match &e.pod {
        Some(p) => format!("headroom explain: {p} was evicted for {what}\n\n"),
        None => format!("headroom explain: an eviction for {what}\n\n"),
    });
    out.push_str("The message\n");
    wrap(&mut out, "  ", "  ", &e.message);
    out.push('\n');
    out.push_str("What it says\n");
    let signals = match e.signals.as_slice() {
        [] => "unknown".to_string(),
        [one] => one.to_string(),
        many => format!(
            "{} (the message names the resource, not which of these)",
            many.join(" or ")
        ),
    };
    wrap(&mut out, "  signal     ", "             ", &signals);
    match (&e.parsed.threshold, &e.parsed.available) {
        (Some(t), Some(a)) => {
            let below = e
                .below_bytes
                .map(|b| format!(": {} below it", human_bytes(i128::from(b))))
                .unwrap_or_default();
            wrap(
                &mut out,
                "  threshold  ",
                "             ",
                &format!(
                    "{}; available {}{below}. The kubelet compares available < threshold{}",
                    quantity_line(t, e.threshold_bytes),
                    quantity_line(a, e.available_bytes),
                    if memory {
                        "; available = capacity - working set, and working set = usage - \
                         inactive_file."
                    } else {
                        "."
                    }
                ),
            );
        }
        _ => wrap(
            &mut out,
            "  threshold  ",
            "             ",
            "not in the message (the threshold's signal had no observation at that sync)",
        ),
    }
    for (i, o) in e.over_request.iter().enumerate() {
        let is_pod = i == 0 && e.parsed.pod.is_some();
        let who = if is_pod {
            format!("pod {}", o.name)
        } else {
            format!("container {}", o.name)
        };
        let consumer = if is_pod {
            e.parsed.pod.as_ref()
        } else {
            e.parsed.containers.get(i - usize::from(e.parsed.pod.is_some()))
        };
        let (usage, request) = consumer
            .map(|c| (c.usage.as_str(), c.request.as_str()))
            .unwrap_or_default();
        let overs = o
            .over_bytes
            .map(|b| format!(": {} over its request", human_bytes(i128::from(b))))
            .unwrap_or_default();
        wrap(
            &mut out,
            "  usage      ",
            "             ",
            &format!(
                "{who} was using {usage} ({}), request {request}{overs}",
                if memory {
                    "working set"
                } else {
                    "its root filesystem and logs"
                }
            ),
        );
    }
    if e.over_request.is_empty() {
        wrap(
            &mut out,
            "  usage      ",
            "             ",
            "no container named (none was over its request, or there were no stats)",
        );
    }
    for (k, v) in &e.annotations {
        wrap(&mut out, "  annotation ", "             ", &format!("{k}={v}"));
    }
    wrap(&mut out, "  chosen by  ", "             ", &e.ranking);
    out.push('\n');
    out.push_str("What it cannot tell, and how to find out\n");
    for u in &e.unknown {
        wrap(&mut out, "  - ", "    ", u);
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (text, origin) = input_text(&args.input)?;
    let trimmed = text.trim_start();
    let explained = if trimmed.starts_with('{') {
        let origin = origin.unwrap_or_else(|| "input".to_string());
        let value: Value =
            serde_json::from_str(trimmed).map_err(|e| bad_input(format!("{origin}: not valid JSON: {e}")))?;
        explain(from_json(&value, &origin)?)?
    } else {
        explain(Explained {
            message: text,
            ..Explained::default()
        })
        .map_err(|e| match &origin {
            Some(o) => bad_input(format!("{o}: {e}")),
            None => e,
        })?
    };
    match args.format {
        Format::Text => crate::output::stdout(&render_text(&explained))?,
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&explained)?;
            s.push('\n');
            crate::output::stdout(&s)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
