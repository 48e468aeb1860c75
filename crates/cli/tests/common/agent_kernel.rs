//! The agent's kernel tests' shared parts: the v1 cgroup host behind the shared gate, the test
//! parent cgroup, the kubelet config and pods file the agent reads, polling, and the processes
//! a test started, killed on drop. Included with `#[path = "common/agent_kernel.rs"]`
//! next to `mod cgroups` (the gate, `crates/linux/tests/common/cgroups.rs`).
#![allow(dead_code, clippy::unwrap_used)]

use headroom_linux::control::{Cgroup, CgroupHost};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// The v1 cgroup host, or `None` when the test skips (see `cgroups::skip_unless_kernel`).
pub fn kernel_host(test: &str) -> Option<CgroupHost> {
    if crate::cgroups::skip_unless_kernel(test) {
        return None;
    }
    Some(CgroupHost::detect().expect("cgroup host"))
}

/// Processes the test started; killed by pid on drop (before the cgroups are torn down).
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The test parent cgroup that plays the pods cgroup (`kubepods`): `<prefix>-<unique>` with a
/// 512 MiB limit, and its name (for `--pod-cgroup-root /<name>`). Removed on drop.
pub fn pods_parent(host: &CgroupHost, prefix: &str) -> (Cgroup, String) {
    let parent = host.create_unique(prefix).unwrap();
    parent.set_memory_limit(Some(512 << 20)).unwrap();
    let name = parent.path().file_name().unwrap().to_string_lossy().into_owned();
    (parent, name)
}

/// Poll `f` every 20 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while !f() {
        if t0.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// A kubelet configuration whose only threshold is `allocatableMemory.available<threshold`
/// (hard): the one signal a test parent cgroup can drive.
pub fn kubelet_config(path: &Path, threshold: &str) {
    std::fs::write(
        path,
        format!(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
             evictionHard:\n  allocatableMemory.available: \"{threshold}\"\n"
        ),
    )
    .unwrap();
}

/// One pod of a pods file: one container `main` with `resources`, and a priority if given.
pub fn pod_json(namespace: &str, name: &str, uid: &str, priority: Option<i64>, resources: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "main", "resources": resources}]});
    if let Some(p) = priority {
        spec["priority"] = p.into();
    }
    json!({"metadata": {"name": name, "namespace": namespace, "uid": uid}, "spec": spec})
}

/// Requests equal to limits, memory and cpu: a Guaranteed pod of 128 MiB.
pub fn guaranteed() -> Value {
    json!({"requests": {"memory": "128Mi", "cpu": "100m"}, "limits": {"memory": "128Mi", "cpu": "100m"}})
}

/// Write `items` as a `PodList` (what `kubectl get pods -o json` prints) to `path`.
pub fn write_pods(path: &Path, items: Vec<Value>) {
    std::fs::write(path, json!({"kind": "PodList", "items": items}).to_string()).unwrap();
}

/// A pod cgroup `pod<uid>` under `under` (the test parent or a QoS cgroup) and its one
/// container cgroup `ctr`. Bound as `let (pod, ctr) = ...`, the container is removed first.
pub fn pod_cgroup(under: &Cgroup, uid: &str, ctr: &str) -> (Cgroup, Cgroup) {
    let pod = under.create_child(&format!("pod{uid}")).unwrap();
    let ctr = pod.create_child(ctr).unwrap();
    (pod, ctr)
}
