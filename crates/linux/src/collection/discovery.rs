//! Find the pod cgroup root and every pod and container cgroup under it, for both kubelet
//! cgroup drivers, on cgroup v1 and v2 alike (the directory shapes are the same).
//!
//! cgroupfs driver:
//! ```text
//! kubepods/pod<uid>/<container id>                      Guaranteed
//! kubepods/burstable/pod<uid>/<container id>            Burstable
//! kubepods/besteffort/pod<uid>/<container id>           BestEffort
//! ```
//! systemd driver (`-` in the uid becomes `_`):
//! ```text
//! kubepods.slice/kubepods-pod<uid>.slice/<runtime>-<id>.scope
//! kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
//! kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/crio-<id>.scope
//! ```
//! Container directories: the runtime prefix (`cri-containerd-`, `crio-`, `docker-`) and the
//! `.scope` suffix are stripped to get the container id; CRI-O's `crio-conmon-<id>` monitor
//! cgroups are skipped. The pod's sandbox ("pause") container is an ordinary container cgroup
//! here: cgroups alone cannot tell it apart (the kubelet uses runtime labels).
//! The QoS class comes from the path. A pod directory that vanishes between listing and
//! reading is reported as skipped, never an error for the scan.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::collection::root::HostRoot;

/// Pod QoS class, as the kubelet names it: the core's type, so a class read from a cgroup path
/// and one computed from a pod spec compare without going through strings.
pub use headroom_core::pod::QosClass as Qos;

/// Kept at this path for callers (`headroom_linux::discovery::Skip`); defined in [`super::skip`].
pub use crate::collection::skip::{Skip, SkipReason};

/// A container cgroup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DiscoveredContainer {
    /// Container id (runtime prefix and `.scope` stripped).
    pub id: String,
    /// cgroup name relative to the hierarchy root, e.g. `/kubepods/burstable/pod<uid>/<id>`.
    pub cgroup: String,
}

/// A pod cgroup and its containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DiscoveredPod {
    /// Pod UID with dashes (systemd's underscores turned back).
    pub uid: String,
    pub qos: Qos,
    /// cgroup name relative to the hierarchy root, e.g. `/kubepods/burstable/pod<uid>`.
    pub cgroup: String,
    pub containers: Vec<DiscoveredContainer>,
}

/// The pod cgroup root to use: `kubepods` if the hierarchy has it, else `kubepods.slice`.
/// Returns the cgroup name (`/kubepods`), or `None` when neither exists.
pub(crate) fn detect_pod_cgroup_root(root: &HostRoot, hierarchy_root: &Path) -> Option<String> {
    ["kubepods", "kubepods.slice"]
        .into_iter()
        .find(|name| root.path(hierarchy_root.join(name)).is_dir())
        .map(|name| format!("/{name}"))
}

/// Normalise a configured pod cgroup root (`kubepods`, `/kubepods.slice/`) to `/name`.
pub(crate) fn normalize_cgroup_name(name: &str) -> String {
    let trimmed = name.trim().trim_matches('/');
    format!("/{trimmed}")
}

/// QoS level directory name -> class (cgroupfs and systemd spellings).
fn qos_dir(name: &str) -> Option<Qos> {
    match name {
        "burstable" | "kubepods-burstable.slice" => Some(Qos::Burstable),
        "besteffort" | "kubepods-besteffort.slice" => Some(Qos::BestEffort),
        _ => None,
    }
}

/// Pod directory name -> UID: `pod<uid>` or `...-pod<uid_with_underscores>.slice`.
pub fn pod_uid(name: &str) -> Option<String> {
    let uid = if let Some(stem) = name.strip_suffix(".slice") {
        let at = stem.rfind("-pod")?;
        stem.get(at + 4..)?.replace('_', "-")
    } else {
        name.strip_prefix("pod")?.to_string()
    };
    (!uid.is_empty()).then_some(uid)
}

/// Container directory name -> container id, or `None` for cgroups that are not containers
/// (CRI-O's `crio-conmon-*`, systemd helper units).
pub fn container_id(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".scope").unwrap_or(name);
    if stem.starts_with("crio-conmon-") || name.ends_with(".slice") || name.ends_with(".service") {
        return None;
    }
    let id = ["cri-containerd-", "crio-", "docker-"]
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .unwrap_or(stem);
    (!id.is_empty()).then(|| id.to_string())
}

/// Subdirectory names of a real directory, sorted; `Err` with a reason when unreadable.
fn subdirs(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        // cgroupfs reports DT_DIR; a vanished entry or odd type is simply not a child cgroup.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Walk the pod cgroup root `pods_cgroup` (a cgroup name like `/kubepods`) of the hierarchy
/// whose root cgroup is at host path `hierarchy_root`. `with_containers`: list each pod's
/// container cgroups too (false: a pod-level pass, one directory listing less per pod; a pod
/// that vanished shows when its files are read).
pub(crate) fn discover(
    root: &HostRoot,
    hierarchy_root: &Path,
    pods_cgroup: &str,
    with_containers: bool,
    skipped: &mut Vec<Skip>,
) -> Vec<DiscoveredPod> {
    let pods_cgroup = normalize_cgroup_name(pods_cgroup);
    let real = |cgroup: &str| root.path(hierarchy_root.join(cgroup.trim_start_matches('/')));
    let host = |cgroup: &str| hierarchy_root.join(cgroup.trim_start_matches('/'));
    let mut pods = Vec::new();
    let top = match subdirs(&real(&pods_cgroup)) {
        Ok(t) => t,
        Err(reason) => {
            skipped.push(Skip {
                path: host(&pods_cgroup),
                reason: SkipReason::PodCgroupRootUnreadable { detail: reason },
            });
            return pods;
        }
    };
    let mut pod_dirs: Vec<(String, Qos)> = Vec::new();
    for name in top {
        if let Some(qos) = qos_dir(&name) {
            let level = format!("{pods_cgroup}/{name}");
            match subdirs(&real(&level)) {
                Ok(children) => pod_dirs.extend(children.into_iter().map(|c| (format!("{level}/{c}"), qos))),
                Err(reason) => skipped.push(Skip {
                    path: host(&level),
                    reason: SkipReason::QosCgroupUnreadable { detail: reason },
                }),
            }
        } else {
            pod_dirs.push((format!("{pods_cgroup}/{name}"), Qos::Guaranteed));
        }
    }
    for (cgroup, qos) in pod_dirs {
        let name = cgroup.rsplit('/').next().unwrap_or("");
        let Some(uid) = pod_uid(name) else { continue };
        let listed = if with_containers {
            subdirs(&real(&cgroup))
        } else {
            Ok(Vec::new())
        };
        let containers = match listed {
            Ok(children) => children
                .into_iter()
                .filter_map(|c| {
                    container_id(&c).map(|id| DiscoveredContainer {
                        id,
                        cgroup: format!("{cgroup}/{c}"),
                    })
                })
                .collect(),
            Err(reason) => {
                skipped.push(Skip {
                    path: host(&cgroup),
                    reason: SkipReason::PodVanishedWhileListing { detail: reason },
                });
                continue;
            }
        };
        pods.push(DiscoveredPod {
            uid,
            qos,
            cgroup,
            containers,
        });
    }
    pods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(pod_uid("pod1234-ab"), Some("1234-ab".into()));
        assert_eq!(
            pod_uid("kubepods-burstable-pod12_34_ab.slice"),
            Some("12-34-ab".into())
        );
        assert_eq!(pod_uid("kubepods-pod12_34.slice"), Some("12-34".into()));
        assert_eq!(pod_uid("kubepods-burstable.slice"), None);
        assert_eq!(pod_uid("burstable"), None);
        assert_eq!(pod_uid("pod"), None);
        assert_eq!(container_id("cri-containerd-abc.scope"), Some("abc".into()));
        assert_eq!(container_id("crio-abc.scope"), Some("abc".into()));
        assert_eq!(container_id("docker-abc.scope"), Some("abc".into()));
        assert_eq!(container_id("crio-conmon-abc.scope"), None);
        assert_eq!(container_id("abc123"), Some("abc123".into()));
        assert_eq!(normalize_cgroup_name("kubepods.slice/"), "/kubepods.slice");
    }

    fn mk(base: &Path, rel: &str) {
        std::fs::create_dir_all(base.join(rel)).unwrap();
    }

    #[test]
    fn both_drivers_all_qos_classes() {
        let tmp = tempfile::tempdir().unwrap();
        let h = "sys/fs/cgroup";
        for p in [
            "kubepods/podg1/c1",
            "kubepods/burstable/podb1/c2",
            "kubepods/burstable/podb1/c3",
            "kubepods/besteffort/pode1/c4",
            "kubepods/besteffort/notapod",
        ] {
            mk(tmp.path(), &format!("{h}/{p}"));
        }
        std::fs::write(tmp.path().join(h).join("kubepods/memory.stat"), "").unwrap();
        let root = HostRoot::dir(tmp.path());
        let hr = Path::new("/sys/fs/cgroup");
        assert_eq!(detect_pod_cgroup_root(&root, hr).as_deref(), Some("/kubepods"));
        let mut skipped = vec![];
        let pods = discover(&root, hr, "/kubepods", true, &mut skipped);
        assert!(skipped.is_empty());
        let summary: Vec<_> = pods
            .iter()
            .map(|p| (p.uid.as_str(), p.qos, p.containers.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("e1", Qos::BestEffort, 1),
                ("b1", Qos::Burstable, 2),
                ("g1", Qos::Guaranteed, 1)
            ]
        );
        assert_eq!(pods[1].containers[0].cgroup, "/kubepods/burstable/podb1/c2");
        // A pod-level walk: the same pods, no container listing.
        let bare = discover(&root, hr, "/kubepods", false, &mut skipped);
        let bare: Vec<_> = bare
            .iter()
            .map(|p| (p.uid.as_str(), p.qos, p.containers.len()))
            .collect();
        assert_eq!(
            bare,
            [
                ("e1", Qos::BestEffort, 0),
                ("b1", Qos::Burstable, 0),
                ("g1", Qos::Guaranteed, 0)
            ]
        );

        let tmp = tempfile::tempdir().unwrap();
        for p in [
            "kubepods.slice/kubepods-podaa_bb.slice/cri-containerd-111.scope",
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podcc_dd.slice/crio-222.scope",
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podcc_dd.slice/crio-conmon-222.scope",
            "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podee.slice/docker-333.scope",
        ] {
            mk(tmp.path(), &format!("{h}/{p}"));
        }
        let root = HostRoot::dir(tmp.path());
        assert_eq!(
            detect_pod_cgroup_root(&root, hr).as_deref(),
            Some("/kubepods.slice")
        );
        let pods = discover(&root, hr, "kubepods.slice", true, &mut skipped);
        let summary: Vec<_> = pods
            .iter()
            .map(|p| {
                (
                    p.uid.as_str(),
                    p.qos,
                    p.containers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("ee", Qos::BestEffort, vec!["333"]),
                ("cc-dd", Qos::Burstable, vec!["222"]),
                ("aa-bb", Qos::Guaranteed, vec!["111"]),
            ]
        );
        let pods = discover(&root, hr, "/nothere", true, &mut skipped);
        assert!(pods.is_empty());
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0]
                .reason
                .to_string()
                .contains("pod cgroup root unreadable")
        );
    }
}
