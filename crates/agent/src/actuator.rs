//! What the agent does with a pod the eviction manager chose: nothing, kill its processes, or
//! ask the Kubernetes API to evict it.
//!
//! Safety rails that no flag turns off ([`check_target`], then [`check_on_disk`] just before a
//! signal): the target must be a cgroup strictly below the configured pod cgroup root, the pod
//! must not be critical (static, mirror, or priority >= 2000000000), the target must not
//! contain the agent itself (its own cgroup from `/proc/self/cgroup` when that path means
//! something, and in every case its own pid among the target's processes), and the target
//! directory must be on a cgroup filesystem. The caller logs every action BEFORE calling
//! [`kill_cgroup`] or sending an eviction.
//!
//! Paths: one model for rails and kills. A pod cgroup is named by its path relative to the
//! memory hierarchy root (`/kubepods/besteffort/pod<uid>`, what the rails compare) and reached
//! through its real path under `--root` (what is read and signalled): [`PodTarget`].

use headroom_core::pod::Pod;
use headroom_linux::control::{self, CgroupHost, ControlError, KillReport};
use headroom_linux::root::HostRoot;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// A pod cgroup in both forms the actuator needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PodTarget {
    /// Relative to the memory hierarchy root, e.g. `/kubepods/besteffort/pod<uid>`: what the
    /// rails compare with the pod cgroup root and the agent's own cgroup.
    pub cgroup: String,
    /// Where it is on this machine (under `--root`): what is read and signalled.
    pub real: PathBuf,
}

impl PodTarget {
    /// `host_path` is the collector's host path of the cgroup (`/sys/fs/cgroup/memory/...`,
    /// without the `--root` prefix); `memory_root` the host path of the hierarchy root.
    pub(crate) fn new(root: &HostRoot, memory_root: &Path, host_path: &Path) -> PodTarget {
        let rel = host_path
            .strip_prefix(memory_root)
            .unwrap_or(host_path)
            .to_string_lossy()
            .into_owned();
        PodTarget {
            cgroup: format!("/{}", rel.trim_start_matches('/')),
            real: root.path(host_path),
        }
    }
}

/// What the agent knows about itself for the own-cgroup rail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Own {
    /// Its memory cgroup relative to the hierarchy root, when `/proc/self/cgroup` says it.
    /// `None` inside a cgroup namespace (the path is relative to the namespace's root, often
    /// just `/`, and says nothing about the host tree) or when the line is missing.
    pub cgroup: Option<String>,
    /// Its pid as this process sees it (the same namespace `cgroup.procs` is read in).
    pub pid: i32,
}

impl Own {
    /// Read `/proc/self/cgroup` and the cgroup namespace of this process.
    pub(crate) fn detect(v2: bool) -> Own {
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let ns = std::fs::read_link("/proc/self/ns/cgroup")
            .map(|l| l.to_string_lossy().into_owned())
            .ok();
        Own {
            cgroup: own_cgroup(&text, v2, in_initial_cgroup_namespace(ns.as_deref())),
            pid: rustix::process::getpid().as_raw_nonzero().get(),
        }
    }
}

/// The inode number of the initial cgroup namespace (`PROC_CGROUP_INIT_INO`).
const CGROUP_INIT_NS_INO: u64 = 0xEFFF_FFFB;

/// Is `/proc/self/ns/cgroup` (its link text, `cgroup:[4026531835]`) the initial namespace?
/// A kernel without cgroup namespaces has no link: that is the initial one too.
pub(crate) fn in_initial_cgroup_namespace(link: Option<&str>) -> bool {
    let Some(link) = link else { return true };
    link.strip_prefix("cgroup:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse::<u64>().ok())
        .is_none_or(|ino| ino == CGROUP_INIT_NS_INO)
}
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
pub(crate) enum Refusal {
    #[error("pod {pod} is critical (static, mirror or priority >= 2000000000); the kubelet never evicts it")]
    Critical { pod: String },
    #[error("cgroup {cgroup} is not below the pod cgroup root {root}")]
    OutsidePodRoot { cgroup: String, root: String },
    #[error("cgroup {cgroup} contains the agent's own cgroup {own}")]
    ContainsAgent { cgroup: String, own: String },
    #[error("cgroup {cgroup} contains the agent's own process (pid {pid})")]
    ContainsAgentPid { cgroup: String, pid: i32 },
    #[error(
        "cannot list the processes of {cgroup} ({why}), and the agent's own cgroup is unknown \
         (cgroup namespace): refusing rather than risk signalling the agent's own pod"
    )]
    OwnUnknownAndUnreadable { cgroup: String, why: String },
    #[error(
        "{path} is not on a cgroup filesystem: its cgroup.procs is not the kernel's list of \
         processes (check --root and --pod-cgroup-root)"
    )]
    NotCgroupfs { path: PathBuf },
    #[error("no cgroup was found for pod {pod} (uid {uid})")]
    NoCgroup { pod: String, uid: String },
}

/// Normalize a cgroup path relative to the hierarchy root: `/kubepods/pod1/` -> `kubepods/pod1`.
/// `..` and `.` components are rejected (return None): a target is never resolved upwards.
pub(crate) fn normalize_cgroup(rel: &str) -> Option<String> {
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

/// Could any kill pass the rails? Checked at start with `--action kill`: a pod cgroup root
/// that is `/`, climbs with `..`, or is not there (wrong `--root` or `--pod-cgroup-root`)
/// would refuse every kill, and an agent that can never act must not look like one that can.
pub(crate) fn preflight(pod_root: &str, real_pod_root: &Path) -> Result<(), String> {
    match normalize_cgroup(pod_root) {
        None => Err(format!(
            "the pod cgroup root {pod_root:?} contains `..` or `.`; give a plain path like /kubepods"
        )),
        Some(r) if r.is_empty() => Err(format!(
            "the pod cgroup root {pod_root:?} is the hierarchy root: every cgroup would count as \
             a pod; give the kubelet's, like /kubepods or /kubepods.slice"
        )),
        Some(_) if !real_pod_root.is_dir() => Err(format!(
            "the pod cgroup root {pod_root} is not at {} (check --root and --pod-cgroup-root): \
             every kill would be refused",
            real_pod_root.display()
        )),
        Some(_) => Ok(()),
    }
}

/// Is `child` equal to or below `parent` (both normalized; "" is the root)?
fn is_within(child: &str, parent: &str) -> bool {
    parent.is_empty() || child == parent || child.starts_with(&format!("{parent}/"))
}

/// The safety rails on paths. `target` and `pod_root` are cgroup paths relative to the memory
/// hierarchy root; `own` is the agent's own cgroup (same form) when known.
pub(crate) fn check_target(
    pod: &Pod,
    target: &str,
    pod_root: &str,
    own: Option<&str>,
) -> Result<(), Refusal> {
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
    if let Some(o) = own {
        let o_norm = normalize_cgroup(o).unwrap_or_default();
        if is_within(&o_norm, &t) {
            return Err(Refusal::ContainsAgent {
                cgroup: t,
                own: o.to_string(),
            });
        }
    }
    Ok(())
}

/// The rails that need the target on disk, checked just before the first signal: the target
/// is on a cgroup filesystem (a plain directory's `cgroup.procs` could name any process), and
/// none of its processes is the agent. The pid check is what protects the agent inside a
/// cgroup namespace, where its own cgroup path is unknown; a target whose processes cannot be
/// listed is then refused. Returns the processes listed (None: unreadable, and the agent's
/// own cgroup is known), for the kill's first SIGTERM ([`control::FirstSigterm`]).
pub(crate) fn check_on_disk(target: &PodTarget, own: &Own) -> Result<Option<Vec<i32>>, Refusal> {
    if !control::is_cgroupfs(&target.real) {
        return Err(Refusal::NotCgroupfs {
            path: target.real.clone(),
        });
    }
    match control::subtree_pids(&target.real) {
        Ok(pids) if pids.contains(&own.pid) => Err(Refusal::ContainsAgentPid {
            cgroup: target.cgroup.clone(),
            pid: own.pid,
        }),
        Ok(pids) => Ok(Some(pids)),
        Err(e) if own.cgroup.is_none() => Err(Refusal::OwnUnknownAndUnreadable {
            cgroup: target.cgroup.clone(),
            why: e.to_string(),
        }),
        // The kill reports it (a vanished cgroup is "gone", not a failure).
        Err(_) => Ok(None),
    }
}

/// The agent's own memory cgroup from `/proc/self/cgroup` text: the v1 `memory` controller's
/// line, or the v2 (`0::`) line on a unified host. Inside a cgroup namespace the path is
/// relative to the namespace root (a container on v2 reads `/`), so it is unknown (`None`).
pub(crate) fn own_cgroup(proc_self_cgroup: &str, v2: bool, initial_namespace: bool) -> Option<String> {
    if !initial_namespace {
        return None;
    }
    proc_self_cgroup.lines().find_map(|line| {
        let mut it = line.splitn(3, ':');
        let (id, controllers, path) = (it.next()?, it.next()?, it.next()?);
        let wanted = if v2 {
            id == "0" && controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == "memory")
        };
        wanted.then(|| path.to_string())
    })
}

/// Terminate every process of the pod cgroup `target` the way the kubelet stops a pod:
/// SIGTERM, up to `grace`, then SIGKILL (`cgroup.kill` on v2). `host` is the memory
/// controller under `--root`. The cgroup itself stays (the container runtime owns it).
/// `first`: the SIGTERM already sent to the processes the rails listed (the grace runs from
/// it). Delegates to [`headroom_linux::control::kill_pod`] / [`control::kill_pod_after`].
pub(crate) fn kill_cgroup(
    host: &CgroupHost,
    target: &PodTarget,
    grace: Duration,
    first: Option<control::FirstSigterm>,
) -> Result<KillReport, ControlError> {
    match first {
        Some(f) => control::kill_pod_after(host, &target.real, grace, f),
        None => control::kill_pod(host, &target.real, grace),
    }
}

/// A kill that found no process to signal: the pod had already stopped (an empty cgroup
/// holding only page cache). Counted apart from a kill that stopped something.
pub(crate) fn signalled_nothing(r: &KillReport) -> bool {
    r.sigterm.is_empty() && r.sigkill.is_empty() && !r.used_cgroup_kill
}

/// Has the pod's cgroup (real path) released its resources (gone, or no processes left)? The
/// kubelet's `podResourcesAreReclaimed` analogue for the agent's cleanup wait.
pub(crate) fn cgroup_released(cgroup: &Path) -> bool {
    !cgroup.exists() || control::subtree_pids(cgroup).map_or(true, |p| p.is_empty())
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
        let own = Some("/system.slice/headroom.service");
        assert_eq!(
            check_target(&pod(None), "/kubepods/besteffort/podabc", "/kubepods", own),
            Ok(())
        );
        assert!(matches!(
            check_target(&pod(Some(2_000_000_000)), "/kubepods/podabc", "kubepods", own),
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
                    check_target(&pod(None), bad, "/kubepods", own),
                    Err(Refusal::OutsidePodRoot { .. })
                ),
                "{bad}"
            );
        }
        let own_in_pod = Some("/kubepods/burstable/podme/ctr");
        assert!(matches!(
            check_target(&pod(None), "/kubepods/burstable/podme", "/kubepods", own_in_pod),
            Err(Refusal::ContainsAgent { .. })
        ));
        // An empty pod root would make "everything" a pod: refused.
        assert!(check_target(&pod(None), "/x", "", None).is_err());
    }

    #[test]
    fn own_cgroup_is_the_memory_hierarchys_line_and_unknown_in_a_cgroup_namespace() {
        let text = "12:memory:/sandbox\n11:cpu,cpuacct:/sandbox\n0::/sandbox/unified\n1:name=systemd:/x\n";
        assert_eq!(own_cgroup(text, false, true).as_deref(), Some("/sandbox"));
        assert_eq!(own_cgroup(text, true, true).as_deref(), Some("/sandbox/unified"));
        // Inside a cgroup namespace `/` (or any path) is relative to the namespace root.
        assert_eq!(own_cgroup("0::/\n", true, false), None);
        assert!(in_initial_cgroup_namespace(Some("cgroup:[4026531835]")));
        assert!(!in_initial_cgroup_namespace(Some("cgroup:[4026532410]")));
        assert!(in_initial_cgroup_namespace(None));
    }

    #[test]
    fn a_target_on_a_plain_directory_is_never_signalled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "1\n").unwrap();
        let target = PodTarget {
            cgroup: "/kubepods/podx".into(),
            real: dir.path().to_path_buf(),
        };
        let own = Own {
            cgroup: None,
            pid: 4242,
        };
        assert!(matches!(
            check_on_disk(&target, &own),
            Err(Refusal::NotCgroupfs { .. })
        ));
    }

    #[test]
    fn kill_refuses_to_start_when_its_rails_could_never_pass() {
        let dir = tempfile::tempdir().unwrap();
        assert!(preflight("/", dir.path()).unwrap_err().contains("hierarchy root"));
        assert!(
            preflight("/kubepods/../x", dir.path())
                .unwrap_err()
                .contains("..")
        );
        let missing = dir.path().join("kubepods");
        assert!(
            preflight("/kubepods", &missing)
                .unwrap_err()
                .contains("is not at")
        );
        std::fs::create_dir(&missing).unwrap();
        assert_eq!(preflight("/kubepods", &missing), Ok(()));
    }

    #[test]
    fn a_target_is_one_path_model_under_root() {
        let root = HostRoot::dir("/host");
        let t = PodTarget::new(
            &root,
            Path::new("/sys/fs/cgroup/memory"),
            Path::new("/sys/fs/cgroup/memory/kubepods/besteffort/podx"),
        );
        assert_eq!(t.cgroup, "/kubepods/besteffort/podx");
        assert_eq!(
            t.real,
            Path::new("/host/sys/fs/cgroup/memory/kubepods/besteffort/podx")
        );
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
