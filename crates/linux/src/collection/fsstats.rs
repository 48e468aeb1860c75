//! Filesystem figures for the `nodefs` and `imagefs` signals (statvfs, as cAdvisor reports
//! them to the kubelet).
//!
//! capacity = `f_blocks * f_frsize`, available = `f_bavail * f_frsize` (what an unprivileged
//! writer can use), used = `(f_blocks - f_bfree) * f_frsize`, inodes = `f_files`,
//! inodesFree = `f_ffree`, inodesUsed = `f_files - f_ffree`.
//!
//! Paths: nodefs defaults to `/var/lib/kubelet`; imagefs to the container runtime's root, the
//! first that exists of `/var/lib/containerd`, `/var/lib/containers/storage` (CRI-O),
//! `/var/lib/docker`. A missing path leaves the signal unobserved (with a note). statvfs only
//! means something on the live host; a capture records the results in its metadata.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::collection::root::HostRoot;

/// Default nodefs path (the kubelet's root directory).
pub const DEFAULT_NODEFS: &str = "/var/lib/kubelet";
/// Runtime roots tried for imagefs, in order.
pub const RUNTIME_ROOTS: [&str; 3] = [
    "/var/lib/containerd",
    "/var/lib/containers/storage",
    "/var/lib/docker",
];

/// statvfs results for one path, in bytes and inodes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsFigures {
    /// The host path that was measured.
    pub path: PathBuf,
    pub capacity_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
    pub inodes_used: u64,
}

impl FsFigures {
    /// The kubelet's `FsStats` for this filesystem.
    pub fn to_summary(&self, time: jiff::Timestamp) -> headroom_core::summary::FsStats {
        headroom_core::summary::FsStats {
            time: Some(time),
            available_bytes: Some(self.available_bytes),
            capacity_bytes: Some(self.capacity_bytes),
            used_bytes: Some(self.used_bytes),
            inodes_free: Some(self.inodes_free),
            inodes: Some(self.inodes),
            inodes_used: Some(self.inodes_used),
        }
    }
}

/// statvfs of a host path on the live host.
pub fn statvfs(root: &HostRoot, host_path: &Path) -> std::io::Result<FsFigures> {
    let s = rustix::fs::statvfs(root.path(host_path))?;
    let frsize = s.f_frsize;
    Ok(FsFigures {
        path: host_path.to_path_buf(),
        capacity_bytes: s.f_blocks.saturating_mul(frsize),
        available_bytes: s.f_bavail.saturating_mul(frsize),
        used_bytes: s.f_blocks.saturating_sub(s.f_bfree).saturating_mul(frsize),
        inodes: s.f_files,
        inodes_free: s.f_ffree,
        inodes_used: s.f_files.saturating_sub(s.f_ffree),
    })
}

/// The imagefs path to use: the configured one, else the first runtime root that exists.
pub fn default_imagefs(root: &HostRoot) -> Option<PathBuf> {
    RUNTIME_ROOTS
        .iter()
        .map(PathBuf::from)
        .find(|p| root.path(p).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statvfs_of_a_real_dir_is_consistent() {
        let tmp = tempfile::tempdir().unwrap();
        let f = statvfs(&HostRoot::dir(tmp.path()), Path::new("/")).unwrap();
        assert!(f.capacity_bytes >= f.available_bytes);
        assert!(f.capacity_bytes >= f.used_bytes);
        assert_eq!(f.inodes, f.inodes_free + f.inodes_used);
        assert!(statvfs(&HostRoot::dir(tmp.path()), Path::new("/nope")).is_err());
    }

    #[test]
    fn imagefs_default_is_the_first_existing_runtime_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = HostRoot::dir(tmp.path());
        assert_eq!(default_imagefs(&root), None);
        std::fs::create_dir_all(tmp.path().join("var/lib/docker")).unwrap();
        std::fs::create_dir_all(tmp.path().join("var/lib/containers/storage")).unwrap();
        assert_eq!(
            default_imagefs(&root),
            Some(PathBuf::from("/var/lib/containers/storage"))
        );
    }
}
