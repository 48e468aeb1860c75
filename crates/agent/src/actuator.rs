//! What the agent does with a pod the eviction manager chose: nothing, kill its processes, or
//! ask the Kubernetes API to evict it.
//!
//! Safety rails that no flag turns off ([`check_target`]): the target must be a cgroup strictly
//! below the configured pod cgroup root, the pod must not be critical (static, mirror, or
//! priority >= 2000000000), and the target must not contain the agent itself (its own cgroup
//! from `/proc/self/cgroup`). The caller logs every action BEFORE calling [`kill_cgroup`] or
//! sending an eviction.

use headroom_core::pod::Pod;
use headroom_linux::control::{self, CgroupHost, ControlError, KillReport};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// `--action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Action {
    /// Decide, log and export; touch nothing.
    #[default]
    None,
    /// SIGTERM every process of the pod's cgroup, wait the decided grace, SIGKILL the rest.
    Kill,
    /// Create a policy/v1 Eviction through the Kubernetes API (feature `k8s`).
    Evict,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Kill => "kill",
            Action::Evict => "evict",
        }
    }
}

/// Why the agent refused to act on a chosen pod.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("pod {pod} is critical (static, mirror or priority >= 2000000000); the kubelet never evicts it")]
    Critical { pod: String },
    #[error("cgroup {cgroup} is not below the pod cgroup root {root}")]
    OutsidePodRoot { cgroup: String, root: String },
    #[error("cgroup {cgroup} contains the agent's own cgroup {own}")]
    ContainsAgent { cgroup: String, own: String },
    #[error("no cgroup was found for pod {pod} (uid {uid})")]
    NoCgroup { pod: String, uid: String },
}

/// Normalize a cgroup path relative to the hierarchy root: `/kubepods/pod1/` -> `kubepods/pod1`.
/// `..` and `.` components are rejected (return None): a target is never resolved upwards.
pub fn normalize_cgroup(rel: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::RootDir => {}
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Is `child` equal to or below `parent` (both normalized; "" is the root)?
fn is_within(child: &str, parent: &str) -> bool {
    parent.is_empty() || child == parent || child.starts_with(&format!("{parent}/"))
}

/// The safety rails. `target` and `pod_root` are cgroup paths relative to the memory hierarchy
/// root; `own` are the agent's own cgroups (same form).
pub fn check_target(pod: &Pod, target: &str, pod_root: &str, own: &[String]) -> Result<(), Refusal> {
    if pod.is_critical() {
        return Err(Refusal::Critical { pod: pod.key() });
    }
    let outside = || Refusal::OutsidePodRoot {
        cgroup: target.to_string(),
        root: pod_root.to_string(),
    };
    let t = normalize_cgroup(target).ok_or_else(outside)?;
    let r = normalize_cgroup(pod_root).ok_or_else(outside)?;
    // Strictly below: never the pod root itself, never anything outside it.
    if t == r || !is_within(&t, &r) || r.is_empty() {
        return Err(outside());
    }
    for o in own {
        let o_norm = normalize_cgroup(o).unwrap_or_default();
        if is_within(&o_norm, &t) {
            return Err(Refusal::ContainsAgent {
                cgroup: t,
                own: o.clone(),
            });
        }
    }
    Ok(())
}

/// The agent's own cgroups from `/proc/self/cgroup` text: the v1 `memory` controller's path
/// and the v2 (`0::`) path, whichever are present.
pub fn own_cgroups(proc_self_cgroup: &str) -> Vec<String> {
    proc_self_cgroup
        .lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let (id, controllers, path) = (it.next()?, it.next()?, it.next()?);
            let wanted =
                (id == "0" && controllers.is_empty()) || controllers.split(',').any(|c| c == "memory");
            wanted.then(|| path.to_string())
        })
        .collect()
}

/// Every PID in `cgroup` and its descendants (v1 and v2 both list them in `cgroup.procs`).
fn cgroup_pids(cgroup: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    let mut stack = vec![cgroup.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            stack.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    pids
}

/// Terminate every process of the pod cgroup at `cgroup` (absolute host path) the way the
/// kubelet stops a pod: SIGTERM, up to `grace`, then SIGKILL (`cgroup.kill` on v2). The
/// cgroup itself stays (the container runtime owns it). Delegates to
/// [`headroom_linux::control::kill_pod`].
pub fn kill_cgroup(cgroup: &Path, grace: Duration) -> Result<KillReport, ControlError> {
    let host = CgroupHost::detect()?;
    control::kill_pod(&host, cgroup, grace)
}

/// Has the pod's cgroup released its resources (gone, or no processes left)? The kubelet's
/// `podResourcesAreReclaimed` analogue for the agent's cleanup wait.
pub fn cgroup_released(cgroup: &Path) -> bool {
    !cgroup.exists() || cgroup_pids(cgroup).is_empty()
}

/// The host path of a cgroup relative to the memory hierarchy root.
pub fn cgroup_path(memory_root: &Path, rel: &str) -> PathBuf {
    memory_root.join(rel.trim_start_matches('/'))
}

/// The policy/v1 Eviction the agent would create for `pod`: the API path and the JSON body.
/// Plain data (no client) so it is tested without a cluster or the `k8s` feature.
pub fn eviction_request(namespace: &str, name: &str, grace_seconds: i64) -> (String, serde_json::Value) {
    let path = format!("/api/v1/namespaces/{namespace}/pods/{name}/eviction");
    let body = serde_json::json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": namespace},
        "deleteOptions": {"gracePeriodSeconds": grace_seconds},
    });
    (path, body)
}

/// Sending evictions through the Kubernetes API (feature `k8s`). Not run against a real
/// cluster: tested only against a local HTTP server.
#[cfg(feature = "k8s")]
pub mod kube_api {
    use super::eviction_request;

    /// POST the eviction with a kube client (in-cluster or kubeconfig credentials).
    pub async fn evict(
        client: &kube::Client,
        namespace: &str,
        name: &str,
        grace_seconds: i64,
    ) -> anyhow::Result<()> {
        let (path, body) = eviction_request(namespace, name, grace_seconds);
        let req = axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body)?)?;
        client.request_text(req).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(priority: Option<i32>) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = "web".into();
        p.metadata.namespace = "default".into();
        p.spec.priority = priority;
        p
    }

    #[test]
    fn rails_refuse_critical_outside_and_own_cgroups() {
        let own = vec!["/system.slice/headroom.service".to_string()];
        assert_eq!(
            check_target(&pod(None), "/kubepods/besteffort/podabc", "/kubepods", &own),
            Ok(())
        );
        assert!(matches!(
            check_target(&pod(Some(2_000_000_000)), "/kubepods/podabc", "kubepods", &own),
            Err(Refusal::Critical { .. })
        ));
        for bad in [
            "/kubepods",
            "/",
            "/system.slice",
            "/kubepods-x/pod1",
            "/kubepods/../x",
        ] {
            assert!(
                matches!(
                    check_target(&pod(None), bad, "/kubepods", &own),
                    Err(Refusal::OutsidePodRoot { .. })
                ),
                "{bad}"
            );
        }
        let own_in_pod = vec!["/kubepods/burstable/podme/ctr".to_string()];
        assert!(matches!(
            check_target(&pod(None), "/kubepods/burstable/podme", "/kubepods", &own_in_pod),
            Err(Refusal::ContainsAgent { .. })
        ));
        // An empty pod root would make "everything" a pod: refused.
        assert!(check_target(&pod(None), "/x", "", &[]).is_err());
    }

    #[test]
    fn own_cgroups_from_proc_self_cgroup() {
        let text = "12:memory:/sandbox\n11:cpu,cpuacct:/sandbox\n0::/sandbox/unified\n1:name=systemd:/x\n";
        assert_eq!(own_cgroups(text), vec!["/sandbox", "/sandbox/unified"]);
    }

    #[test]
    fn eviction_request_has_policy_v1_shape() {
        let (path, body) = eviction_request("team-a", "web-1", 1);
        assert_eq!(path, "/api/v1/namespaces/team-a/pods/web-1/eviction");
        assert_eq!(body["apiVersion"], "policy/v1");
        assert_eq!(body["kind"], "Eviction");
        assert_eq!(body["metadata"]["name"], "web-1");
        assert_eq!(body["deleteOptions"]["gracePeriodSeconds"], 1);
    }

    #[test]
    fn an_empty_or_missing_cgroup_counts_as_released() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ctr")).unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "").unwrap();
        std::fs::write(dir.path().join("ctr/cgroup.procs"), "").unwrap();
        assert!(cgroup_released(dir.path()));
        assert!(cgroup_released(&dir.path().join("gone")));
        std::fs::write(dir.path().join("ctr/cgroup.procs"), "4242\n").unwrap();
        assert!(!cgroup_released(dir.path()));
    }
}
