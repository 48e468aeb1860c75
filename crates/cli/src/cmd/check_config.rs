//! `headroom check-config`: the eviction thresholds a kubelet would actually run with, or the
//! error it would refuse to start with.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use headroom_core::allocatable::{NodeAllocatable, node_allocatable_memory};
use headroom_core::config::{ConfigError, EvictionConfig, KubeletConfig};
use headroom_core::duration::format_duration;
use headroom_core::lint::{Warning, lint};
use headroom_core::quantity::Quantity;
use headroom_core::signal::Signal;
use headroom_core::threshold::{Threshold, format_threshold_value, threshold_quantity};
use serde_json::{Value, json};

use super::bad_input;

#[derive(clap::Args, Default)]
#[command(after_help = "\
Examples:
  headroom check-config /var/lib/kubelet/config.yaml
  headroom check-config /var/lib/kubelet/config.yaml --capacity 16Gi
  headroom check-config -- --eviction-hard='memory.available<500Mi' --system-reserved=memory=1Gi
  headroom check-config config.yaml --format json -- --eviction-soft='memory.available<1Gi' \\
      --eviction-soft-grace-period=memory.available=1m30s

Quote flags that hold `<`: unquoted, the shell reads it as a redirection.

Exit status: 0 when the kubelet would accept the configuration (warnings included),
2 when it would refuse to start (the error says which file, line, field and value; with
--format json it is also printed on stdout as {\"error\": {message, file, line, flag, field,
value, problem}}).")]
pub struct Args {
    /// KubeletConfiguration file (YAML or JSON), e.g. /var/lib/kubelet/config.yaml, or the
    /// running kubelet's `/configz` output. Without it, the kubelet defaults (plus any flags
    /// after `--`) are checked.
    #[arg(value_name = "KUBELET_CONFIG")]
    pub config: Option<PathBuf>,

    /// Node memory capacity (MemTotal), e.g. 16Gi or 17179869184. Adds node-allocatable figures
    /// and each memory threshold in bytes. Default: none (percentages stay percentages).
    // A negative value reaches our own check ("must be positive") instead of clap's "unexpected
    // argument '-1'".
    #[arg(long, value_name = "QUANTITY", allow_hyphen_values = true)]
    pub capacity: Option<String>,

    /// Output format [default: text on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Kubelet command-line flags (after `--`), e.g. --eviction-hard='memory.available<500Mi'.
    /// They override the file, as they do for the kubelet.
    #[arg(last = true, value_name = "KUBELET_FLAGS")]
    pub flags: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Asked for JSON by name: a refused config is also a JSON document on stdout, so a script
    // gets the field and the value without parsing the sentence on stderr.
    let json_refusal = args.format == Some(Format::Json);
    let refused = |prefix: &str, e: ConfigError| -> anyhow::Error {
        if json_refusal && let Err(write) = print_refusal(&e) {
            return write;
        }
        bad_input(format!("{prefix}{e}"))
    };
    let flags = KubeletConfig::from_flags(&args.flags).map_err(|e| refused("kubelet flags: ", e))?;
    let file = args
        .config
        .clone()
        .or_else(|| flags.config_file.as_ref().map(PathBuf::from));
    let base = match &file {
        Some(path) => {
            let text = crate::cmd::read_text(path, "kubelet config")?;
            KubeletConfig::parse(&text, &path.display().to_string()).map_err(|e| refused("", e))?
        }
        None => KubeletConfig::default(),
    };
    let config = base.overlay(&flags);
    let eviction = config.eviction().map_err(|e| refused("", e))?;

    let capacity = match &args.capacity {
        Some(text) => {
            let q = Quantity::parse(text.trim())
                .map_err(|e| bad_input(format!("--capacity {text:?} is not a quantity such as 16Gi: {e}")))?;
            if q.signum() <= 0 {
                return Err(bad_input(format!("--capacity {text:?} must be positive")));
            }
            Some(q)
        }
        None => None,
    };
    let allocatable = match capacity {
        Some(cap) => Some(node_allocatable_memory(cap, &eviction).map_err(|e| {
            bad_input(format!(
                "the kubelet would refuse to start with --capacity {cap}: {e}"
            ))
        })?),
        None => None,
    };
    let warnings = lint(&config, &eviction);

    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    });
    let output = match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&to_json(&eviction, allocatable.as_ref(), &warnings))
                .context("encoding the report as JSON")?;
            text.push('\n');
            text
        }
        Format::Text => to_text(
            file.as_ref(),
            &args.flags,
            &eviction,
            allocatable.as_ref(),
            &warnings,
        ),
    };
    crate::output::stdout(&output)?;
    Ok(ExitCode::SUCCESS)
}

/// `{"error": {message, file, line, flag, field, value, problem}}` on stdout: the config the
/// kubelet would refuse, its facts apart (unknown ones null).
fn print_refusal(e: &ConfigError) -> anyhow::Result<()> {
    let mut text =
        serde_json::to_string_pretty(&json!({ "error": e })).context("encoding the error as JSON")?;
    text.push('\n');
    crate::output::stdout(&text)
}

/// The bytes a memory threshold stands for: memory.available is measured against capacity,
/// allocatableMemory.available against the pods cgroup limit.
fn threshold_bytes(t: &Threshold, a: &NodeAllocatable) -> Option<Quantity> {
    match t.signal {
        Signal::MemoryAvailable => Some(threshold_quantity(&t.value, &a.capacity)),
        Signal::AllocatableMemoryAvailable => Some(threshold_quantity(&t.value, &a.pods_cgroup_limit)),
        _ => None,
    }
}

fn to_json(e: &EvictionConfig, a: Option<&NodeAllocatable>, warnings: &[Warning]) -> Value {
    let thresholds: Vec<Value> = e
        .thresholds
        .iter()
        .map(|t| {
            let mut v = json!({
                "signal": t.signal.as_str(),
                "value": format_threshold_value(&t.value),
                "gracePeriod": format_duration(t.grace_period_ns),
                "minReclaim": t.min_reclaim.as_ref().map(format_threshold_value),
                "hard": t.is_hard(),
            });
            if let (Some(a), Value::Object(map)) = (a, &mut v) {
                map.insert(
                    "thresholdBytes".into(),
                    json!(threshold_bytes(t, a).map(|q| q.value())),
                );
            }
            v
        })
        .collect();
    json!({
        "thresholds": thresholds,
        "pressureTransitionPeriod": format_duration(e.pressure_transition_period_ns),
        "maxPodGracePeriodSeconds": e.max_pod_grace_period_seconds,
        "kernelMemcgNotification": e.kernel_memcg_notification,
        "localStorageCapacityIsolation": e.local_storage_capacity_isolation,
        "enforceNodeAllocatable": e.enforce_node_allocatable,
        "podCgroupRoot": e.pod_cgroup_root,
        "nodeAllocatable": a.map(|a| json!({
            "capacity": a.capacity.to_string(),
            "systemReserved": a.system_reserved.to_string(),
            "kubeReserved": a.kube_reserved.to_string(),
            "hardEviction": a.hard_eviction.to_string(),
            "reservation": a.reservation.to_string(),
            "allocatable": a.allocatable.to_string(),
            "podsCgroupLimit": a.pods_cgroup_limit.to_string(),
        })),
        "warnings": warnings,
    })
}

fn to_text(
    file: Option<&PathBuf>,
    flags: &[String],
    e: &EvictionConfig,
    a: Option<&NodeAllocatable>,
    warnings: &[Warning],
) -> String {
    let mut out = String::new();
    let from = match (file, flags.is_empty()) {
        (Some(f), true) => f.display().to_string(),
        (Some(f), false) => format!("{} + command-line flags", f.display()),
        (None, false) => "command-line flags + kubelet defaults".to_string(),
        (None, true) => "kubelet defaults".to_string(),
    };
    out.push_str(&format!("Effective eviction thresholds ({from}):\n\n"));
    if e.thresholds.is_empty() {
        out.push_str("  (none: the kubelet will never evict pods for node pressure)\n");
    } else {
        let mut rows = vec![[
            "SIGNAL".to_string(),
            "BELOW".to_string(),
            "BYTES".to_string(),
            "GRACE".to_string(),
            "MIN RECLAIM".to_string(),
            "KIND".to_string(),
        ]];
        for t in &e.thresholds {
            let bytes = a
                .and_then(|a| threshold_bytes(t, a))
                .map_or_else(|| "-".to_string(), |q| q.to_string());
            rows.push([
                t.signal.as_str().to_string(),
                format_threshold_value(&t.value),
                bytes,
                format_duration(t.grace_period_ns),
                t.min_reclaim
                    .as_ref()
                    .map_or_else(|| "-".to_string(), format_threshold_value),
                if t.is_hard() { "hard" } else { "soft" }.to_string(),
            ]);
        }
        if a.is_none() {
            for row in &mut rows {
                row[2].clear();
            }
        }
        let widths: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .filter(|(_, w)| **w > 0)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
        }
    }
    out.push('\n');
    let enforce = if e.enforce_node_allocatable.is_empty() {
        "(none)".to_string()
    } else {
        e.enforce_node_allocatable.join(",")
    };
    for (k, v) in [
        (
            "pressure transition period",
            format_duration(e.pressure_transition_period_ns),
        ),
        (
            "max pod grace (soft)",
            format!("{} s", e.max_pod_grace_period_seconds),
        ),
        (
            "kernel memcg notification",
            if e.kernel_memcg_notification {
                "on"
            } else {
                "off (10 s polling)"
            }
            .to_string(),
        ),
        ("enforce node allocatable", enforce),
        ("pod cgroup root", e.pod_cgroup_root.clone()),
    ] {
        out.push_str(&format!("  {k:<28}{v}\n"));
    }
    if let Some(a) = a {
        out.push_str(&format!(
            "\nNode allocatable memory (capacity {}):\n\n",
            a.capacity
        ));
        for (k, v) in [
            ("capacity", a.capacity),
            ("- system reserved", a.system_reserved),
            ("- kube reserved", a.kube_reserved),
            ("- hard eviction threshold", a.hard_eviction),
            ("= allocatable", a.allocatable),
            ("pods cgroup limit", a.pods_cgroup_limit),
        ] {
            out.push_str(&format!(
                "  {k:<28}{:>12}  ({} bytes)\n",
                v.to_string(),
                v.value()
            ));
        }
    }
    if !warnings.is_empty() {
        out.push_str(&format!("\nWarnings ({}):\n", warnings.len()));
        for w in warnings {
            out.push('\n');
            out.push_str(&wrap(&format!("[{}] {}", w.code, w.message), "  ", "    "));
        }
    }
    out
}

/// Word-wrap to 100 columns, as every text output does.
fn wrap(text: &str, first_indent: &str, indent: &str) -> String {
    let mut out = String::new();
    crate::status::text::wrap(&mut out, first_indent, indent, text);
    out
}
