//! Pods the agent already acted on, kept out of the ranking until their cgroup is gone or
//! replaced.
//!
//! The kubelet marks an evicted pod Failed: it leaves the active pods at once, so the next
//! sync ranks the others. The agent has no pod status to write, so without this memory a pod
//! it killed stays "active" for as long as its cgroup exists, and a dead pod keeps ranking
//! first: an empty BestEffort cgroup, or (cgroup v2) a killed pod whose page cache stays
//! charged to its now-empty cgroup. The loop then re-chooses it hundreds of times a second
//! and never reaches the next pod.
//!
//! An entry is dropped when the pod's cgroup directory is gone or is a different directory
//! (another inode: the runtime removed it and made a new one with the same path).

use headroom_core::pod::Pod;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
struct ActedPod {
    /// namespace/name, for the log.
    key: String,
    /// Real path of the pod cgroup.
    cgroup: PathBuf,
    /// Inode of that directory when the pod was acted on.
    inode: Option<u64>,
}

/// The pods acted on (by uid).
#[derive(Debug, Default)]
pub(crate) struct Acted {
    pods: BTreeMap<String, ActedPod>,
}

fn inode(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.ino())
}

impl Acted {
    pub(crate) fn new() -> Acted {
        Acted::default()
    }

    /// Remember that `pod`, whose cgroup is at `cgroup` (real path), was acted on.
    pub(crate) fn remember(&mut self, pod: &Pod, cgroup: &Path) {
        self.pods.insert(
            pod.metadata.uid.clone(),
            ActedPod {
                key: pod.key(),
                cgroup: cgroup.to_path_buf(),
                inode: inode(cgroup),
            },
        );
    }

    /// Forget pods whose cgroup is gone or replaced; returns their keys (for the log).
    pub(crate) fn prune(&mut self) -> Vec<String> {
        let mut gone = Vec::new();
        self.pods.retain(|_, p| {
            let same = p.inode.is_some() && inode(&p.cgroup) == p.inode;
            if !same {
                gone.push(p.key.clone());
            }
            same
        });
        gone
    }

    /// `pods` without the ones acted on (the kubelet's active pods exclude Failed pods).
    pub(crate) fn leave_out(&self, pods: Vec<Pod>) -> Vec<Pod> {
        if self.pods.is_empty() {
            return pods;
        }
        pods.into_iter()
            .filter(|p| !self.pods.contains_key(&p.metadata.uid))
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = uid.into();
        p.metadata.namespace = "ns".into();
        p.metadata.uid = uid.into();
        p
    }

    #[test]
    fn an_acted_on_pod_leaves_the_ranking_until_its_cgroup_is_gone_or_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("podempty");
        std::fs::create_dir(&cg).unwrap();
        let mut acted = Acted::new();
        acted.remember(&pod("empty"), &cg);
        let left = acted.leave_out(vec![pod("empty"), pod("guar")]);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].metadata.uid, "guar");
        assert!(acted.prune().is_empty(), "same cgroup: still remembered");

        // Replaced: removed and created again under the same path (a new inode).
        let keep = dir.path().join("keep-inode-busy");
        std::fs::rename(&cg, &keep).unwrap();
        std::fs::create_dir(&cg).unwrap();
        assert_eq!(acted.prune(), vec!["ns/empty".to_string()]);
        assert_eq!(acted.leave_out(vec![pod("empty")]).len(), 1);

        // Gone.
        acted.remember(&pod("empty"), &cg);
        std::fs::remove_dir(&cg).unwrap();
        assert_eq!(acted.prune().len(), 1);
        assert!(acted.is_empty());
    }
}
