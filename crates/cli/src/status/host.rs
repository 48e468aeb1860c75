//! Reading the host (live or `--root`) through headroom-linux's Collector, and turning its
//! snapshot into the [`HostView`] the report uses. No cgroup parsing here: the Collector
//! does all of it.

use headroom_core::summary::Summary;
use headroom_linux::collect::{Collector, NodeSnapshot};
use headroom_linux::collection::skip::SkipReason;
use headroom_linux::layout::{CgroupMode, Layout};
use headroom_linux::memcg::MemoryBreakdown;

use super::input::{FreeFigures, HostView, MemorySplit, PodCgroupView, PodsCgroup};
use crate::cmd::summary::{SourceArgs, collect_error};

/// One collection pass: the kubelet Summary plus what the kernel files add.
pub fn collect(source: &SourceArgs) -> anyhow::Result<(Summary, HostView)> {
    // `_opened` keeps an unpacked `--root FILE.tar.gz` alive for the pass.
    let (_opened, opts) = source.open()?;
    let configured_root = opts.pod_cgroup_root.clone();
    let mut collector = Collector::new(opts).map_err(collect_error)?;
    let snap = collector.collect().map_err(collect_error)?;
    let view = host_view(&snap, configured_root.as_deref());
    Ok((snap.summary, view))
}

fn layout_text(layout: &Layout) -> String {
    match layout.mode {
        CgroupMode::Unified => "cgroup v2 (unified)".to_string(),
        CgroupMode::Hybrid => "cgroup v1 memory controller (hybrid layout)".to_string(),
        CgroupMode::Legacy => "cgroup v1 (legacy layout)".to_string(),
    }
}

fn split(b: &MemoryBreakdown) -> MemorySplit {
    MemorySplit {
        usage: b.usage,
        working_set: b.working_set,
        anon: Some(b.rss),
        cache: Some(b.cache),
        active_file: Some(b.active_file),
        inactive_file: b.inactive_file,
        shmem: Some(b.shmem),
        kernel: b.kernel,
        dirty: Some(b.dirty),
        writeback: Some(b.writeback),
        limit: b.has_limit().then_some(b.limit),
    }
}

/// Build the view from one snapshot. `configured_root` is `--pod-cgroup-root`, if given.
pub fn host_view(snap: &NodeSnapshot, configured_root: Option<&str>) -> HostView {
    let memory_root = &snap.layout.memory_root;
    // Where the Collector looks for the pods cgroup (its documented rule), as host paths.
    let searched = match configured_root {
        Some(name) => vec![memory_root.join(name.trim_matches('/'))],
        None => vec![memory_root.join("kubepods"), memory_root.join("kubepods.slice")],
    };
    HostView {
        layout: layout_text(&snap.layout),
        node: snap.node.as_ref().map(split).unwrap_or_default(),
        free: snap.free.as_ref().map(|f| FreeFigures {
            total: f.total,
            used: f.used,
            free: f.free,
            shared: f.shared,
            buff_cache: f.buff_cache,
            available: f.available,
        }),
        pods_cgroup: snap.pods_cgroup.as_ref().map(|p| PodsCgroup {
            path: p.cgroup.clone(),
            memory: split(&p.memory),
        }),
        pods_cgroup_searched: searched.iter().map(|p| p.display().to_string()).collect(),
        pods_cgroup_configured: configured_root.is_some(),
        pods: snap
            .pods
            .iter()
            .map(|p| PodCgroupView {
                uid: p.uid.clone(),
                qos: Some(p.qos.as_str().to_string()),
                memory: split(&p.memory),
            })
            .collect(),
        skipped: snap
            .skipped
            .iter()
            // The missing pods cgroup is said in the verdict, with where it was looked for.
            .filter(|s| !(snap.pods_cgroup.is_none() && s.reason == SkipReason::NoPodCgroupRoot))
            .cloned()
            .collect(),
    }
}
