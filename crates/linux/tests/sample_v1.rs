//! The real cgroup v1 root captured on this machine kind (`tests/fixtures/samples/sync-*`,
//! copied from /work/shared/samples) must give EXACTLY the figures of
//! `computed-cadvisor-figures.txt` (cAdvisor/kubelet arithmetic done by an independent script).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::sample_host;

use std::path::Path;

use headroom_linux::collect::{CollectOptions, Collector};
use headroom_linux::layout::CgroupMode;
use headroom_linux::root::HostRoot;

/// Build a host tree from the sample files.
fn sample_tree(dir: &Path) {
    sample_host::v1_sample_host(dir, sample_host::RootFiles::All);
}

/// `label  value  (MiB)` lines of computed-cadvisor-figures.txt.
fn figure(label_start: &str) -> u64 {
    let text = std::fs::read_to_string(sample_host::sample_path("computed-cadvisor-figures.txt")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(label_start))
        .unwrap_or_else(|| panic!("no figure {label_start:?}"));
    // The value is the last integer before the trailing "(   x MiB)".
    let head = &line[..line.rfind('(').unwrap()];
    head.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn sample_root_reproduces_cadvisor_figures_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    sample_tree(tmp.path());
    let mut c = Collector::new(CollectOptions {
        root: HostRoot::dir(tmp.path()),
        node_name: Some("vm".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.layout().mode, CgroupMode::Hybrid);
    let snap = c.collect().unwrap();
    let node = snap.node.as_ref().unwrap();
    assert_eq!(node.usage, figure("usage (memory.usage_in_bytes)"));
    assert_eq!(node.max_usage, figure("max_usage"));
    assert_eq!(node.failcnt, figure("failcnt"));
    assert_eq!(node.cache, figure("cache (total_cache)"));
    assert_eq!(node.rss, figure("rss (total_rss)"));
    assert_eq!(node.swap, figure("swap (total_swap)"));
    assert_eq!(node.mapped_file, figure("mapped_file"));
    assert_eq!(node.active_file, figure("total_active_file"));
    assert_eq!(node.inactive_file, Some(figure("total_inactive_file")));
    assert_eq!(node.working_set, figure("working_set"));
    assert_eq!(node.pgfault, figure("pgfault (non-total key"));
    assert_eq!(node.pgmajfault, figure("pgmajfault (non-total key"));
    assert_eq!(node.limit, figure("machine memory capacity"));
    assert_eq!(node.kernel, Some(61_026_304));
    let free = snap.free.unwrap();
    assert_eq!(free.used, figure("free used (procps-ng 4.x)"));
    assert_eq!(free.used_procps3, figure("free used (procps 3.3.x)"));
    assert_eq!(free.buff_cache, figure("free buff/cache"));
    let mi = snap.meminfo.as_ref().unwrap();
    let g = |k| mi.get(k).unwrap();
    assert_eq!(
        g("Cached") + g("Buffers") + g("SwapCached") + g("AnonPages"),
        figure("kernel cross-check: (Cached")
    );

    // The kubelet's Summary.
    let m = snap.summary.node.memory.as_ref().unwrap();
    assert_eq!(m.available_bytes, Some(figure("node availableBytes")));
    assert_eq!(m.working_set_bytes, Some(288_473_088));
    assert_eq!(m.usage_bytes, Some(752_611_328));
    assert_eq!(m.rss_bytes, Some(22_843_392));
    assert_eq!(m.page_faults, Some(58_599));
    assert_eq!(m.major_page_faults, Some(0));
    assert_eq!(
        m.psi,
        Some(headroom_core::summary::PsiStats::default()),
        "hybrid: cAdvisor collects no PSI, the kubelet (KubeletPSI) prints zeros"
    );
    assert_eq!(
        m.available_bytes.unwrap() + m.working_set_bytes.unwrap(),
        25_276_502_016
    );
    let swap = snap.summary.node.swap.as_ref().unwrap();
    assert_eq!(
        (swap.swap_usage_bytes, swap.swap_available_bytes),
        (Some(0), Some(0))
    );
    assert_eq!(snap.summary.node.node_name, "vm");
    assert!(snap.pods.is_empty());
    assert!(
        snap.skipped
            .iter()
            .any(|s| s.reason.to_string().contains("no pod cgroup root")),
        "{:?}",
        snap.skipped
    );
    // The JSON the kubelet would print for node.memory, key for key.
    let json = serde_json::to_value(m).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"time": json["time"], "availableBytes": 24988028928u64,
            "usageBytes": 752611328u64, "workingSetBytes": 288473088u64, "rssBytes": 22843392u64,
            "pageFaults": 58599u64, "majorPageFaults": 0u64,
            "psi": {"full": {"total": 0, "avg10": 0.0, "avg60": 0.0, "avg300": 0.0},
                    "some": {"total": 0, "avg10": 0.0, "avg60": 0.0, "avg300": 0.0}}})
    );
}

#[test]
fn capture_round_trip_of_the_sample_gives_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    sample_tree(tmp.path());
    let opts = CollectOptions {
        root: HostRoot::dir(tmp.path()),
        ..Default::default()
    };
    let out_dir = tmp.path().join("out");
    let report = headroom_linux::capture::capture(opts.clone(), &out_dir).unwrap();
    assert!(out_dir.join("headroom-capture.json").exists());
    assert!(out_dir.join("sys/fs/cgroup/memory/memory.stat").exists());
    assert!(out_dir.join("proc/meminfo").exists());
    let again = Collector::new(CollectOptions {
        root: HostRoot::dir(&out_dir),
        ..Default::default()
    })
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(again.summary, report.snapshot.summary);
    assert_eq!(again.layout.mode, CgroupMode::Hybrid);

    let archive = tmp.path().join("cap.tar.gz");
    headroom_linux::capture::capture(opts, &archive).unwrap();
    let opened = headroom_linux::capture::open_root(Some(&archive)).unwrap();
    let from_archive = Collector::new(CollectOptions {
        root: opened.root.clone(),
        ..Default::default()
    })
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(
        from_archive.summary.node.memory,
        report.snapshot.summary.node.memory
    );
}
