//! The containerfs thresholds the first sync derives from the nodefs or imagefs ones (§4.7).

use crate::rank::FsTopology;
use crate::signal::Signal;
use crate::threshold::Threshold;

use super::TrackedThreshold;

/// Derive containerfs thresholds for the detected topology (§4.7, upstream
/// `UpdateContainerFsThresholds`): copy nodefs.* (single fs, or split image/container fs) or
/// imagefs.* (dedicated image fs), hard and soft, bytes and inodes. A user's own containerfs
/// threshold is overwritten in place (same id); otherwise the copy is appended with an id after
/// the configured ones. A missing source yields no threshold (upstream writes an inert
/// placeholder with no operator, which can never be met).
///
/// A container fs apart from an image fs that is the root fs matches neither of upstream's
/// cases: the list is kept exactly as configured, user containerfs thresholds included.
pub fn derive_containerfs(config: &[Threshold], topology: FsTopology) -> Vec<TrackedThreshold> {
    let mut out: Vec<Option<TrackedThreshold>> = config
        .iter()
        .enumerate()
        .map(|(id, t)| {
            Some(TrackedThreshold {
                id,
                threshold: t.clone(),
            })
        })
        .collect();
    if topology.split_container_fs && !topology.dedicated_image_fs {
        return out.into_iter().flatten().collect();
    }
    let from_imagefs = topology.dedicated_image_fs && !topology.split_container_fs;
    let (bytes_src, inodes_src) = if from_imagefs {
        (Signal::ImageFsAvailable, Signal::ImageFsInodesFree)
    } else {
        (Signal::NodeFsAvailable, Signal::NodeFsInodesFree)
    };
    let wanted = [
        (bytes_src, Signal::ContainerFsAvailable, true),
        (bytes_src, Signal::ContainerFsAvailable, false),
        (inodes_src, Signal::ContainerFsInodesFree, true),
        (inodes_src, Signal::ContainerFsInodesFree, false),
    ];
    // Upstream remembers the last matching entry of each kind (a later one overwrites).
    let last = |signal: Signal, hard: bool| {
        config
            .iter()
            .rposition(|t| t.signal == signal && t.is_hard() == hard)
    };
    for (k, (src, dst, hard)) in wanted.into_iter().enumerate() {
        let derived = last(src, hard).map(|i| Threshold {
            signal: dst,
            ..config[i].clone()
        });
        match (last(dst, hard), derived) {
            (Some(user), derived) => {
                out[user] = derived.map(|threshold| TrackedThreshold { id: user, threshold });
            }
            (None, Some(threshold)) => out.push(Some(TrackedThreshold {
                id: config.len() + k,
                threshold,
            })),
            (None, None) => {}
        }
    }
    out.into_iter().flatten().collect()
}

/// The configured thresholds, tracked by their position.
pub(super) fn configured(thresholds: &[Threshold]) -> Vec<TrackedThreshold> {
    thresholds
        .iter()
        .enumerate()
        .map(|(id, t)| TrackedThreshold {
            id,
            threshold: t.clone(),
        })
        .collect()
}
