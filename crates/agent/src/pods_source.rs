//! Where the agent's list of active pods comes from.
//!
//! The kubelet ranks the pods its pod manager knows, with their spec (requests, priority,
//! grace period). The agent has three ways to know them:
//!
//! * `--pods FILE` (`kubectl get pods -o json` for this node): names, requests, priorities.
//!   Re-read whenever its modification time, size, inode or change time changes (a same-size
//!   rewrite that keeps the old mtime, as `cp -p` and `rsync -t` do, still changes the ctime);
//!   a file that fails to parse is logged and the last good list kept. Files above
//!   [`crate::pods_list::MAX_PODS_FILE_BYTES`] are refused. Pods are streamed straight into the typed model the
//!   agent needs ([`crate::pods_list::lean`]): no JSON tree, and of the annotations only the kubelet's
//!   `kubernetes.io/config.*` ones (what tells a static or mirror pod), so a 550-pod file fits
//!   the DaemonSet's memory limit. Pods it does not name are never candidates (a stale
//!   file must not make the agent act on a pod whose priority it cannot see); they are logged.
//! * The Kubernetes API (`--pods-from api`, feature `k8s`): the pods bound to this node, listed
//!   in the background every sync period; an API error is logged and the last good list kept
//!   (see [`crate::pods_api`]).
//! * Nothing: pods are synthesized from the cgroup tree (one per `pod<uid>` directory). They
//!   have no requests and priority 0, so ranking degenerates to "usage above request (= all
//!   usage) first, then largest usage": the biggest pod by working set goes first, and no pod
//!   is recognised as critical. Use a pod source for anything but experiments.

use crate::pods_api::ApiPods;
use crate::pods_list::{Refresh, read_pods};
use headroom_core::pod::{ObjectMeta, Pod, PodStatus};
use headroom_core::summary::PodStats;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What says a file changed: (mtime s, mtime ns, size, inode, ctime s, ctime ns). The ctime
/// is set by the kernel on every write and rename and cannot be set back by `touch -d`.
type Stamp = (i64, i64, u64, u64, i64, i64);

fn stamp(m: &std::fs::Metadata) -> Stamp {
    (
        m.mtime(),
        m.mtime_nsec(),
        m.len(),
        m.ino(),
        m.ctime(),
        m.ctime_nsec(),
    )
}

/// A pods file the agent re-reads when it changes.
pub struct PodsFile {
    path: PathBuf,
    stamp: Option<Stamp>,
    pods: Vec<Pod>,
}

impl PodsFile {
    /// Load the file; the first load must succeed (a typo in `--pods` should stop the agent).
    pub fn load(path: &Path) -> Result<PodsFile, String> {
        let mut file = PodsFile {
            path: path.to_path_buf(),
            stamp: None,
            pods: Vec::new(),
        };
        match file.refresh() {
            Refresh::KeptLastGood { error, .. } => Err(error),
            _ => Ok(file),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn pods(&self) -> &[Pod] {
        &self.pods
    }

    /// Re-read the file if its mtime, size, inode or ctime changed.
    pub(crate) fn refresh(&mut self) -> Refresh {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(m) => stamp(&m),
            Err(e) => {
                return Refresh::KeptLastGood {
                    error: format!("cannot read pods file {}: {e}", self.path.display()),
                    pods: self.pods.len(),
                };
            }
        };
        if self.stamp == Some(stamp) {
            return Refresh::Unchanged;
        }
        match read_pods(&self.path) {
            Ok(pods) => {
                self.stamp = Some(stamp);
                self.pods = pods;
                Refresh::Reloaded {
                    pods: self.pods.len(),
                }
            }
            Err(error) => {
                // Remember the stamp so a broken file is reported once, not every pass.
                self.stamp = Some(stamp);
                Refresh::KeptLastGood {
                    error,
                    pods: self.pods.len(),
                }
            }
        }
    }
}

/// The pod source the runner ranks from (`None` in the runner = synthesize from cgroups).
pub(crate) enum PodSource {
    File(PodsFile),
    Api(ApiPods),
}

impl PodSource {
    /// Pick up changes: re-read the file if it changed, or take the API's latest answer.
    /// Never blocks on the network.
    pub(crate) fn refresh(&mut self) -> Refresh {
        match self {
            PodSource::File(f) => f.refresh(),
            PodSource::Api(a) => a.refresh(),
        }
    }

    pub(crate) fn pods(&self) -> &[Pod] {
        match self {
            PodSource::File(f) => f.pods(),
            PodSource::Api(a) => a.pods(),
        }
    }

    /// Where the pods come from, for log lines.
    pub(crate) fn describe(&self) -> String {
        match self {
            PodSource::File(f) => format!("pods file {}", f.path().display()),
            PodSource::Api(a) => a.describe(),
        }
    }
}

/// Stand-in pods for the pods the cgroup tree shows (no spec known): uid, the name and
/// namespace the collector put in the pod reference, QoS when it is known.
pub(crate) fn synthesize(stats: &[PodStats], qos_of: impl Fn(&str) -> Option<String>) -> Vec<Pod> {
    stats
        .iter()
        .filter(|s| !s.pod_ref.uid.is_empty())
        .map(|s| Pod {
            metadata: ObjectMeta {
                name: if s.pod_ref.name.is_empty() {
                    format!("pod{}", s.pod_ref.uid)
                } else {
                    s.pod_ref.name.clone()
                },
                namespace: s.pod_ref.namespace.clone(),
                uid: s.pod_ref.uid.clone(),
                ..ObjectMeta::default()
            },
            spec: Default::default(),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                qos_class: qos_of(&s.pod_ref.uid),
                ..PodStatus::default()
            }),
        })
        .collect()
}

/// Copy names from the pod source into the Summary's pod references (the collector only knows
/// uids) and into its container stats (the collector names them by runtime container id; the
/// pod's container statuses say which spec container each id runs), and list the uids the
/// source does not name (for the log).
///
/// A container the statuses do not mention keeps its id: the pod sandbox, or a container
/// restarted since the source's last update. The kubelet leaves the sandbox out and names the
/// restarted one; keeping both is the safer mistake (its usage stays visible).
///
/// The pod's `startTime` becomes the source's `status.startTime` when it has one (the
/// kubelet's cAdvisor stats provider prints exactly that); otherwise it stays the pod
/// cgroup's creation time, close to the sandbox creation time the CRI stats provider prints.
pub(crate) fn name_pod_stats(stats: &mut [PodStats], pods: &[Pod]) -> Vec<String> {
    let mut unknown = Vec::new();
    for s in stats.iter_mut() {
        match pods.iter().find(|p| p.metadata.uid == s.pod_ref.uid) {
            Some(p) => {
                s.pod_ref.name = p.metadata.name.clone();
                s.pod_ref.namespace = p.metadata.namespace.clone();
                if let Some(started) = p.status.as_ref().and_then(|st| st.start_time) {
                    // Printed in whole seconds, as `metav1.Time` is.
                    s.start_time = Some(headroom_linux::creation::whole_seconds(started));
                }
                name_containers(s, p);
            }
            None => unknown.push(s.pod_ref.uid.clone()),
        }
    }
    unknown
}

fn name_containers(stats: &mut PodStats, pod: &Pod) {
    let Some(status) = &pod.status else { return };
    let statuses = status
        .container_statuses
        .iter()
        .chain(&status.init_container_statuses);
    for c in &mut stats.containers {
        if let Some(named) = statuses
            .clone()
            .find(|st| st.runtime_id() == Some(c.name.as_str()))
        {
            c.name = named.name.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::summary::{ContainerStats, PodReference};

    const LIST: &str = r#"{"kind":"PodList","items":[
      {"metadata":{"name":"a","namespace":"ns","uid":"u-a"},"spec":{"priority":10}},
      {"metadata":{"name":"done","namespace":"ns","uid":"u-d"},"status":{"phase":"Succeeded"}}
    ]}"#;

    #[test]
    fn pods_file_reloads_on_change_and_keeps_the_last_good_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        std::fs::write(&path, LIST).unwrap();
        let mut f = PodsFile::load(&path).unwrap();
        assert_eq!(f.pods().len(), 1, "terminal pods are not active");
        assert_eq!(f.refresh(), Refresh::Unchanged);

        std::fs::write(&path, "{\"items\": [trunc").unwrap();
        match f.refresh() {
            Refresh::KeptLastGood { error, pods } => {
                assert!(error.contains("pods.json"), "{error}");
                assert_eq!(pods, 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.pods()[0].metadata.name, "a");
        // Reported once, not on every pass.
        assert_eq!(f.refresh(), Refresh::Unchanged);

        std::fs::write(&path, "[]").unwrap();
        assert_eq!(f.refresh(), Refresh::Reloaded { pods: 0 });
    }

    #[test]
    fn a_bad_first_load_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        std::fs::write(&path, "42").unwrap();
        let err = PodsFile::load(&path).err().unwrap();
        assert!(err.contains("pods.json") && err.contains("scalar"), "{err}");
        assert!(PodsFile::load(&dir.path().join("missing.json")).is_err());
    }

    #[test]
    fn re_reads_that_are_empty_utf16_or_lack_uids_keep_the_last_good_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        std::fs::write(&path, LIST).unwrap();
        let mut f = PodsFile::load(&path).unwrap();

        let bad: [(&[u8], &str); 4] = [
            // Truncated to nothing by a writer that has not finished (`>` opened the file).
            (b"", "the file is empty"),
            (b"\xff\xfe[\x00]\x00", "UTF-16"),
            (br#"[{"metadata":{"name":"a","namespace":"ns"}}]"#, "metadata.uid"),
            (
                br#"[{"metadata":{"name":"a","namespace":"ns","uid":"u"}},
                    {"metadata":{"name":"b","namespace":"ns","uid":"u"}}]"#,
                "appears twice",
            ),
        ];
        for (i, (content, words)) in bad.into_iter().enumerate() {
            // Each bad version differs in size or content, so the stamp changes.
            std::fs::write(&path, [content, &b" ".repeat(i)[..]].concat()).unwrap();
            match f.refresh() {
                Refresh::KeptLastGood { error, pods } => {
                    assert!(error.contains("pods.json"), "{error}");
                    assert!(error.contains(words), "{words:?} not in: {error}");
                    assert_eq!(pods, 1);
                }
                other => panic!("case {i}: {other:?}"),
            }
            assert_eq!(f.pods()[0].metadata.uid, "u-a");
        }

        // A byte-order mark in front of a good list is fine.
        std::fs::write(&path, [&b"\xef\xbb\xbf"[..], LIST.as_bytes()].concat()).unwrap();
        assert_eq!(f.refresh(), Refresh::Reloaded { pods: 1 });
    }

    #[test]
    fn synthesized_pods_carry_uid_and_qos_and_names_flow_into_stats() {
        let mut stats = vec![
            PodStats {
                pod_ref: PodReference {
                    uid: "u-a".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            PodStats {
                pod_ref: PodReference {
                    uid: "u-x".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        let pods = synthesize(&stats, |uid| (uid == "u-a").then(|| "BestEffort".to_string()));
        assert_eq!(pods.len(), 2);
        assert_eq!(pods[0].metadata.name, "podu-a");
        assert_eq!(
            pods[0].status.as_ref().unwrap().qos_class.as_deref(),
            Some("BestEffort")
        );
        let named = read_pods_from_str(LIST);
        let unknown = name_pod_stats(&mut stats, &named);
        assert_eq!(stats[0].pod_ref.name, "a");
        assert_eq!(unknown, vec!["u-x".to_string()]);
    }

    #[test]
    fn container_stats_named_by_runtime_id_take_the_spec_names() {
        let container = |name: &str| ContainerStats {
            name: name.into(),
            ..Default::default()
        };
        let mut stats = vec![PodStats {
            pod_ref: PodReference {
                uid: "u-w".into(),
                ..Default::default()
            },
            containers: vec![container("aa11"), container("bb22"), container("cc33")],
            ..Default::default()
        }];
        let pods = read_pods_from_str(
            r#"{"items":[{"metadata":{"name":"web","namespace":"shop","uid":"u-w"},
              "status":{"containerStatuses":[
                {"name":"app","containerID":"containerd://aa11"},
                {"name":"starting"}],
               "initContainerStatuses":[{"name":"proxy","containerID":"cri-o://cc33"}]}}]}"#,
        );
        assert!(name_pod_stats(&mut stats, &pods).is_empty());
        let names: Vec<_> = stats[0].containers.iter().map(|c| c.name.as_str()).collect();
        // bb22 is not in the pod's statuses (the sandbox, or a status not yet updated): kept
        // under its id.
        assert_eq!(names, ["app", "bb22", "proxy"]);
        assert_eq!(stats[0].pod_ref.namespace, "shop");
    }

    #[test]
    fn pod_start_time_is_the_sources_status_start_time_when_known() {
        let created: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let pod_stats = |uid: &str| PodStats {
            pod_ref: PodReference {
                uid: uid.into(),
                ..Default::default()
            },
            start_time: Some(created),
            ..Default::default()
        };
        let mut stats = vec![pod_stats("u-s"), pod_stats("u-n"), pod_stats("u-x")];
        let pods = read_pods_from_str(
            r#"{"items":[
              {"metadata":{"name":"s","namespace":"ns","uid":"u-s"},
               "status":{"phase":"Running","startTime":"2026-03-01T10:00:02.75Z"}},
              {"metadata":{"name":"n","namespace":"ns","uid":"u-n"},
               "status":{"phase":"Pending","startTime":null}}]}"#,
        );
        name_pod_stats(&mut stats, &pods);
        let starts: Vec<_> = stats
            .iter()
            .map(|s| s.start_time.map(|t| t.to_string()))
            .collect();
        assert_eq!(
            starts,
            [
                // From the source, whole seconds.
                Some("2026-03-01T10:00:02Z".to_string()),
                // The source has none, or does not know the pod: the cgroup's creation time.
                Some("2026-03-01T10:00:00Z".to_string()),
                Some("2026-03-01T10:00:00Z".to_string()),
            ]
        );
    }

    #[test]
    fn a_same_size_rewrite_that_keeps_the_old_mtime_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        std::fs::write(&path, LIST).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let mut f = PodsFile::load(&path).unwrap();
        // Same size, other priority, the old mtime put back (`cp -p`, `rsync -t`).
        let changed = LIST.replace("\"priority\":10", "\"priority\":99");
        assert_eq!(changed.len(), LIST.len());
        std::fs::write(&path, &changed).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(f.refresh(), Refresh::Reloaded { pods: 1 });
        assert_eq!(f.pods()[0].spec.priority, Some(99));
    }

    fn read_pods_from_str(s: &str) -> Vec<Pod> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.json");
        std::fs::write(&p, s).unwrap();
        read_pods(&p).unwrap()
    }
}
