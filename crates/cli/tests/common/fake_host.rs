//! A fake v1 host tree (no root needed): the real sample v1 root plus a hand-made pods cgroup
//! under pressure (allocatable available 62 MiB < 100Mi), a Guaranteed `prod/db` and a
//! BestEffort `jobs/batch`; the pods file and kubelet config that go with it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../linux/tests/fixtures/samples");
pub const MIB: u64 = 1 << 20;

pub fn copy(name: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(Path::new(SAMPLES).join(name), to).unwrap();
}

/// A v1 memory cgroup directory with usage, limit and a minimal memory.stat.
pub fn memcg(dir: &Path, usage: u64, inactive_file: u64, limit: u64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("memory.usage_in_bytes"), format!("{usage}\n")).unwrap();
    std::fs::write(dir.join("memory.limit_in_bytes"), format!("{limit}\n")).unwrap();
    std::fs::write(dir.join("memory.max_usage_in_bytes"), format!("{usage}\n")).unwrap();
    std::fs::write(dir.join("memory.failcnt"), "0\n").unwrap();
    std::fs::write(
        dir.join("memory.stat"),
        format!(
            "cache {inactive_file}\nrss {a}\ninactive_file {inactive_file}\nactive_file 0\n\
             total_cache {inactive_file}\ntotal_rss {a}\ntotal_inactive_file {inactive_file}\n\
             total_active_file 0\ntotal_inactive_anon 0\ntotal_active_anon {a}\n",
            a = usage - inactive_file
        ),
    )
    .unwrap();
    std::fs::write(dir.join("cgroup.procs"), "").unwrap();
}

pub fn host(dir: &Path) {
    copy("sync-meminfo.txt", &dir.join("proc/meminfo"));
    copy("mountinfo.txt", &dir.join("proc/self/mountinfo"));
    let mem = dir.join("sys/fs/cgroup/memory");
    for f in [
        "memory.stat",
        "memory.usage_in_bytes",
        "memory.limit_in_bytes",
        "memory.use_hierarchy",
        "memory.max_usage_in_bytes",
        "memory.failcnt",
    ] {
        copy(&format!("sync-v1-root-{f}"), &mem.join(f));
    }
    // Pods cgroup: 512 MiB limit, 450 MiB working set -> allocatable available 62 MiB < 100Mi.
    memcg(&mem.join("kubepods"), 460 * MIB, 10 * MIB, 512 * MIB);
    memcg(&mem.join("kubepods/podg-1"), 100 * MIB, 0, 128 * MIB);
    memcg(&mem.join("kubepods/podg-1/ctr"), 100 * MIB, 0, 128 * MIB);
    memcg(
        &mem.join("kubepods/besteffort"),
        350 * MIB,
        10 * MIB,
        u64::MAX >> 1,
    );
    memcg(
        &mem.join("kubepods/besteffort/podbe-1"),
        350 * MIB,
        10 * MIB,
        u64::MAX >> 1,
    );
    memcg(
        &mem.join("kubepods/besteffort/podbe-1/ctr"),
        350 * MIB,
        10 * MIB,
        u64::MAX >> 1,
    );
}

pub fn pods(dir: &Path, be_priority: i64) -> std::path::PathBuf {
    let p = dir.join("pods.json");
    std::fs::write(
        &p,
        serde_json::json!({"kind": "PodList", "items": [
            {"metadata": {"name": "db", "namespace": "prod", "uid": "g-1"},
             "spec": {"containers": [{"name": "db", "resources": {
                 "requests": {"memory": "128Mi", "cpu": "1"}, "limits": {"memory": "128Mi", "cpu": "1"}}}]}},
            {"metadata": {"name": "batch", "namespace": "jobs", "uid": "be-1"},
             "spec": {"priority": be_priority, "containers": [{"name": "b"}]}},
        ]})
        .to_string(),
    )
    .unwrap();
    p
}

pub fn config(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("kubelet.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         evictionHard:\n  allocatableMemory.available: \"100Mi\"\n",
    )
    .unwrap();
    p
}
