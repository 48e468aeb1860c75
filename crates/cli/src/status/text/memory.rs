//! The "Node memory" section (the kubelet's figures beside `free`'s) and, in the verbose view,
//! "The kubelet's arithmetic" (working set and memory.available worked out in bytes).

use std::fmt::Write as _;

use super::{Style, h, opt, wrap};
use crate::status::report::{SignalArithmetic, StatusReport};
use crate::status::units::{grouped, human_bytes};

pub(super) fn node_memory(out: &mut String, r: &StatusReport, style: Style) {
    let m = &r.node_memory;
    let _ = writeln!(out, "{}", style.bold("Node memory"));
    let Some(split) = &m.split else {
        // --summary: only what the Summary carries.
        let _ = writeln!(
            out,
            "  {:<30}{:>11}",
            "capacity (MemTotal)",
            opt(m.capacity_bytes)
        );
        let _ = writeln!(out, "  {:<30}{:>11}", "usage", opt(m.usage_bytes));
        let _ = writeln!(
            out,
            "  {:<30}{:>11}",
            "working set (kubelet used)",
            opt(m.working_set_bytes)
        );
        match (m.working_set_bytes, m.rss_bytes) {
            (Some(ws), Some(rss)) => {
                let _ = writeln!(
                    out,
                    "  {:<30}{:>11}  estimate: working set - rssBytes",
                    "  active page cache",
                    h(ws.saturating_sub(rss))
                );
                let _ = writeln!(out, "  {:<30}{:>11}", "  anon (rssBytes)", h(rss.min(ws)));
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  {:<30}{:>11}",
                    "anon / page cache / kernel", "unknown (no rssBytes in the Summary)"
                );
            }
        }
        let _ = writeln!(
            out,
            "  {:<30}{:>11}",
            "inactive_file (usage - ws)",
            opt(m.inactive_file_bytes)
        );
        out.push('\n');
        return;
    };
    let free = m.free.as_ref();
    let f = |v: Option<u64>| v.map(h).unwrap_or_default();
    let _ = writeln!(out, "  {:<28}{:>11}  {:<18}{:>11}", "", "kubelet", "", "free");
    let row = |out: &mut String, label: &str, k: String, knote: &str, fr: String, fnote: &str| {
        let line = format!("  {label:<28}{k:>11}  {knote:<18}{fr:>11}  {fnote}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row(
        out,
        "total",
        opt(m.capacity_bytes),
        "MemTotal",
        f(free.map(|x| x.total_bytes)),
        "total",
    );
    row(
        out,
        "used",
        opt(m.working_set_bytes),
        "working set",
        f(free.map(|x| x.used_bytes)),
        "used = total - available",
    );
    row(
        out,
        "buff/cache",
        opt(split.cache_bytes),
        "page cache",
        f(free.map(|x| x.buff_cache_bytes)),
        "incl. reclaimable slab",
    );
    row(
        out,
        "  active_file",
        opt(split.active_file_bytes),
        "counted as used",
        String::new(),
        "",
    );
    row(
        out,
        "  inactive_file",
        opt(split.inactive_file_bytes),
        "ignored",
        String::new(),
        "",
    );
    let available = r.kubelet.memory_available.as_ref().map(|a| a.available_bytes);
    row(
        out,
        "available",
        available
            .map(|a| human_bytes(i128::from(a)))
            .unwrap_or_else(|| "?".into()),
        "memory.available",
        f(free.map(|x| x.available_bytes)),
        "available (MemAvailable)",
    );
    let mut parts = vec![format!("usage {}", opt(m.usage_bytes))];
    if let Some(a) = split.anon_bytes {
        parts.push(format!("anon {}", h(a)));
    }
    if let Some(c) = split.cache_bytes {
        parts.push(format!("page cache {}", h(c)));
    }
    if let Some(s) = split.shmem_bytes {
        parts.push(format!("shmem {} (inside page cache)", h(s)));
    }
    if let Some(k) = split.kernel_bytes {
        // The root cgroup's usage is synthesised from page cache + anon (v1) or anon + file
        // (v2): kernel memory is charged elsewhere and is not part of it.
        parts.push(format!("kernel {} (not in the node's usage)", h(k)));
    }
    wrap(out, "  ", "    ", &format!("split: {}", parts.join(", ")));
    out.push('\n');
}

fn arithmetic_lines(out: &mut String, a: &SignalArithmetic) {
    let cg = a
        .cgroup
        .as_deref()
        .map(|c| format!(" (cgroup {c})"))
        .unwrap_or_default();
    let _ = writeln!(out, "  {}{cg}", a.signal);
    match (a.usage_bytes, a.inactive_file_bytes) {
        (Some(u), Some(i)) => {
            let clamped = u.saturating_sub(i) != a.working_set_bytes;
            let _ = writeln!(
                out,
                "    working set = usage {} - inactive_file {} = {} ({}){}",
                grouped(i128::from(u)),
                grouped(i128::from(i)),
                grouped(i128::from(a.working_set_bytes)),
                h(a.working_set_bytes),
                if clamped { " [kubelet sample]" } else { "" }
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "    working set = {} ({})",
                grouped(i128::from(a.working_set_bytes)),
                h(a.working_set_bytes)
            );
        }
    }
    let _ = writeln!(
        out,
        "    available   = capacity {} - working set {} = {} ({})",
        grouped(i128::from(a.capacity_bytes)),
        grouped(i128::from(a.working_set_bytes)),
        grouped(i128::from(a.available_bytes)),
        human_bytes(i128::from(a.available_bytes))
    );
}

pub(super) fn arithmetic(out: &mut String, r: &StatusReport, style: Style) {
    let _ = writeln!(out, "{}", style.bold("The kubelet's arithmetic"));
    match &r.kubelet.memory_available {
        Some(a) => arithmetic_lines(out, a),
        None => {
            let _ = writeln!(
                out,
                "  memory.available: not observed (the Summary has no node memory)"
            );
        }
    }
    match &r.kubelet.allocatable_memory_available {
        Some(a) => arithmetic_lines(out, a),
        None => {
            let why = r
                .thresholds
                .iter()
                .find(|t| t.signal == headroom_core::signal::Signal::AllocatableMemoryAvailable)
                .and_then(|t| t.unobserved_reason.clone())
                .unwrap_or_else(|| {
                    if r.pods_cgroup.found {
                        "the pods cgroup has no memory limit".to_string()
                    } else if r.pods_cgroup.searched.is_empty() {
                        "no pods cgroup".to_string()
                    } else {
                        format!(
                            "no pods cgroup found (looked for {})",
                            r.pods_cgroup.searched.join(", ")
                        )
                    }
                });
            wrap(
                out,
                "  ",
                "    ",
                &format!("allocatableMemory.available: not observed: {why}"),
            );
        }
    }
    out.push('\n');
}
