//! `headroom simulate`: replay a timeline of kubelet Summaries through the eviction manager.
//!
//! Each step is one `synchronize` at the step's time. The simulator never edits the pod list
//! itself (an evicted pod stays active until a step's `pods` replaces the list), exactly like
//! feeding the kubelet's own loop with recorded inputs.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use headroom_core::admission::{AdmitResult, admit};
use headroom_core::config::{EvictionConfig, KubeletConfig, display_duration};
use headroom_core::manager::{Decision, EvictionCause, ManagerState, SyncInputs, synchronize};
use headroom_core::notifier::{NotifierArm, NotifierError};
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use headroom_core::threshold::{Threshold, ThresholdValue, format_threshold_value};
use headroom_core::timeline::Timeline;
use serde_json::{Value, json};

use super::bad_input;
use crate::status::text::wrap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per step, one per line (default when stdout is not a terminal).
    Json,
    /// A readable timeline for humans (default on a terminal).
    Text,
}

#[derive(clap::Args, Debug, Default)]
#[command(
    after_long_help = "Replay a timeline of kubelet Summaries through headroom's re-implementation of the \
kubelet eviction manager and print, for every step, the node conditions, the thresholds met, the pod \
ranking and the pod the kubelet would evict (with its exact message).\n\n\
The timeline (JSON or YAML) has `pods` (the active pods at the start), `steps` (each with `time` and a \
`summary`, optionally `pods` to replace the active list and `admit` to test admission) and optionally \
`config` (a KubeletConfiguration, used when --config is not given). Without any configuration the \
kubelet defaults apply. See examples/ for runnable timelines.\n\n\
Examples: (paths relative to the repository's top directory)\n  \
headroom simulate --config examples/soft-then-hard/kubelet-config.yaml \\\n      \
--timeline examples/soft-then-hard/timeline.yaml --format text\n  \
headroom simulate --timeline examples/min-reclaim/timeline.yaml \\\n      \
--config examples/min-reclaim/kubelet-config.yaml | jq -c .evicted\n  \
headroom simulate --timeline examples/allocatable/timeline.yaml    # kubelet defaults"
)]
pub struct Args {
    /// The timeline file (JSON or YAML).
    #[arg(long, value_name = "FILE")]
    pub timeline: std::path::PathBuf,
    /// KubeletConfiguration file (YAML or JSON); overrides the timeline's `config` [default: the
    /// timeline's `config`, else the kubelet defaults].
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Output format [default: json when stdout is not a terminal, else text].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The pod cgroup root that allocatable memcg notifiers watch [default: derived from the
    /// configuration's cgroupRoot/cgroupsPerQOS/cgroupDriver, e.g. /kubepods].
    #[arg(long, value_name = "CGROUP")]
    pub pod_cgroup_root: Option<String>,
    /// Simulate a node whose images live on a dedicated filesystem (imagefs != nodefs).
    #[arg(long)]
    pub dedicated_image_fs: bool,
    /// With --dedicated-image-fs: container writable layers on their own filesystem too.
    #[arg(long, requires = "dedicated_image_fs")]
    pub split_container_fs: bool,
}

fn load_config(args: &Args, timeline: &Timeline) -> anyhow::Result<EvictionConfig> {
    let kubelet = if let Some(path) = &args.config {
        let origin = path.display().to_string();
        KubeletConfig::parse(&crate::cmd::read_text(path, "kubelet config")?, &origin)
            .map_err(|e| bad_input(e.to_string()))?
    } else if let Some(text) = &timeline.config {
        let origin = format!("{} (config)", args.timeline.display());
        KubeletConfig::parse(text, &origin).map_err(|e| bad_input(e.to_string()))?
    } else {
        KubeletConfig::default()
    };
    kubelet.eviction().map_err(|e| bad_input(e.to_string()))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let origin = args.timeline.display().to_string();
    let timeline = Timeline::parse(&crate::cmd::read_text(&args.timeline, "timeline")?, &origin)
        .map_err(|e| bad_input(e.to_string()))?;
    let config = load_config(&args, &timeline)?;
    if timeline.steps.is_empty() {
        // Valid (zero JSON lines), but almost always a timeline cut short: say so once.
        eprintln!("headroom simulate: {origin}: `steps` is empty; nothing to simulate");
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    });
    let topology = FsTopology {
        dedicated_image_fs: args.dedicated_image_fs,
        split_container_fs: args.split_container_fs,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let pod_cgroup_root = args
        .pod_cgroup_root
        .clone()
        .unwrap_or_else(|| config.pod_cgroup_root.clone());
    let mut state = ManagerState::new();
    let mut pods: &[Pod] = &timeline.pods;
    for step in &timeline.steps {
        if let Some(p) = &step.pods {
            pods = p;
        }
        let decision = synchronize(
            &mut state,
            &config,
            SyncInputs {
                summary: &step.summary,
                active_pods: pods,
                now: step.time,
                fs_topology: topology,
                pod_cgroup_root: &pod_cgroup_root,
            },
        );
        let admissions: Vec<(&Pod, AdmitResult)> = step
            .admit
            .iter()
            .map(|p| (p, admit(p, state.node_conditions())))
            .collect();
        match format {
            Format::Json => {
                let line = step_json(&config, &decision, state.notifiers(), pods, &admissions);
                writeln!(out, "{line}")
            }
            Format::Text => write_text(&mut out, &decision, pods, &admissions),
        }
        .context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// Threshold value as the kubelet config writes it: `100Mi` or `10%` (the shortest text that
/// parses back to the same f32, so `30%` does not print as `30.000002%`).
fn value_text(v: &ThresholdValue) -> String {
    format_threshold_value(v)
}

fn threshold_json(t: &Threshold) -> Value {
    let mut v = json!({
        "signal": t.signal.as_str(),
        "value": value_text(&t.value),
        "gracePeriod": display_duration(t.grace_period_ns),
        "hard": t.is_hard(),
    });
    if let Some(mr) = &t.min_reclaim {
        v["minReclaim"] = json!(value_text(mr));
    }
    v
}

pub(crate) fn step_json(
    config: &EvictionConfig,
    d: &Decision,
    armed: &[Result<NotifierArm, NotifierError>],
    pods: &[Pod],
    admissions: &[(&Pod, AdmitResult)],
) -> Value {
    let observations: serde_json::Map<String, Value> = d
        .observations
        .iter()
        .map(|(s, o)| {
            (
                s.as_str().to_string(),
                json!({"available": o.available.to_string(), "capacity": o.capacity.to_string()}),
            )
        })
        .collect();
    let thresholds_met: Vec<Value> = d
        .thresholds_met
        .iter()
        .map(|m| {
            let mut v = threshold_json(&m.threshold);
            v["firstObserved"] = json!(m.first_observed.to_string());
            v["graceSatisfied"] = json!(m.grace_satisfied);
            v["heldByMinReclaim"] = json!(m.held_by_min_reclaim);
            v
        })
        .collect();
    let evictions: Vec<Value> = d
        .evictions
        .iter()
        .map(|e| {
            let pod = &pods[e.index];
            let (signal, resource, limit) = match &e.cause {
                EvictionCause::Threshold { signal, resource } => {
                    (json!(signal.as_str()), json!(resource.as_str()), Value::Null)
                }
                EvictionCause::LocalStorage(limit) => (
                    json!(limit.signal_name()),
                    json!("ephemeral-storage"),
                    json!("local-storage-limit"),
                ),
            };
            let mut v = json!({
                "pod": pod.key(),
                "uid": pod.metadata.uid,
                "signal": signal,
                "resource": resource,
                "gracePeriodSeconds": e.grace_period_seconds,
                "message": e.message,
                "annotations": e.annotations,
            });
            if !limit.is_null() {
                v["cause"] = limit;
            }
            v
        })
        .collect();
    let ranking: Vec<Value> = d.ranking.iter().map(|r| json!(pods[r.index].key())).collect();
    let admission: Vec<Value> = admissions
        .iter()
        .map(|(p, r)| json!({"pod": p.key(), "admit": r.admit, "reason": r.reason, "message": r.message}))
        .collect();
    let mut v = json!({
        "time": d.time.to_string(),
        "conditions": d.conditions.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "observations": observations,
        "thresholdsMet": thresholds_met,
        "reclaiming": d.reclaiming.as_ref().map(threshold_json),
        "evicted": evictions.first().cloned().unwrap_or(Value::Null),
        "evictions": evictions,
        "ranking": ranking,
        "skippedCritical": d.skipped_critical.iter().map(|&i| pods[i].key()).collect::<Vec<_>>(),
        "reason": d.no_eviction_reason,
        "admission": admission,
    });
    if let Some(error) = &d.error {
        v["syncError"] = json!(error);
    }
    if d.node_reclaim_assumed_nothing {
        v["nodeReclaim"] =
            json!("the kubelet would first garbage-collect images/containers; assumed to free nothing");
    }
    // Always present so a consumer can tell "none armed" from a missing field: empty when
    // kernelMemcgNotification is off, as the kubelet then creates no notifier.
    v["memcgNotifiers"] = json!([]);
    if config.kernel_memcg_notification {
        let notifiers: Vec<Value> = armed
            .iter()
            .map(|n| match n {
                Ok(a) => {
                    json!({"description": a.description, "cgroup": a.cgroup, "armAtBytes": a.arm_at_bytes})
                }
                Err(e) => json!({"error": e.to_string()}),
            })
            .collect();
        v["memcgNotifiers"] = json!(notifiers);
        v["memcgNotifiersRefreshed"] = json!(d.notifiers_refreshed);
    }
    v
}

/// One step as readable text: a line with the time and the conditions, then one item per fact,
/// wrapped at 100 columns with continuation lines indented under their item (the kubelet's
/// messages run to 200 characters; the JSON output keeps each on one line).
pub(crate) fn write_text(
    out: &mut impl Write,
    d: &Decision,
    pods: &[Pod],
    admissions: &[(&Pod, AdmitResult)],
) -> std::io::Result<()> {
    let conditions = if d.conditions.is_empty() {
        "no pressure".to_string()
    } else {
        d.conditions
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("{}  {conditions}\n", d.time);
    let mut item = |line: String| wrap(&mut text, "  ", "    ", &line);
    if let Some(error) = &d.error {
        item(format!(
            "sync failed (the kubelet retries at the next sync): {error}"
        ));
    }
    for (signal, o) in d.observations.iter().filter(|(s, _)| s.is_memory()) {
        item(format!("{signal}: {} available of {}", o.available, o.capacity));
    }
    for m in &d.thresholds_met {
        let t = &m.threshold;
        let state = if m.held_by_min_reclaim {
            "held until minimum reclaim is recovered".to_string()
        } else if t.is_hard() {
            "hard: acts now".to_string()
        } else if m.grace_satisfied {
            format!("grace {} elapsed", display_duration(t.grace_period_ns))
        } else {
            format!(
                "met since {}, grace {} not yet elapsed",
                m.first_observed,
                display_duration(t.grace_period_ns)
            )
        };
        item(format!("met: {} < {} ({state})", t.signal, value_text(&t.value)));
    }
    for e in &d.evictions {
        item(format!(
            "EVICT {} (grace {}s): {}",
            pods[e.index].key(),
            e.grace_period_seconds,
            e.message.trim_end()
        ));
    }
    if !d.ranking.is_empty() {
        let names: Vec<String> = d.ranking.iter().take(5).map(|r| pods[r.index].key()).collect();
        let more = d.ranking.len().saturating_sub(5);
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        item(format!("ranking: {}{tail}", names.join(", ")));
    }
    for &i in &d.skipped_critical {
        item(format!("skipped critical pod {}", pods[i].key()));
    }
    if let Some(reason) = &d.no_eviction_reason
        && !d.thresholds_met.is_empty()
    {
        item(format!("no eviction: {reason}"));
    }
    for (p, r) in admissions {
        if r.admit {
            item(format!("admit {}: admitted", p.key()));
        } else {
            item(format!(
                "admit {}: rejected ({}): {}",
                p.key(),
                r.reason,
                r.message.trim_end()
            ));
        }
    }
    for n in &d.notifiers {
        match n {
            Ok(a) => item(format!(
                "memcg notifier: {} on /{} at usage {} bytes",
                a.description, a.cgroup, a.arm_at_bytes
            )),
            Err(e) => item(format!("memcg notifier: {e}")),
        }
    }
    out.write_all(text.as_bytes())
}
