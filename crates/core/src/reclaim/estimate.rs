//! What counts as reclaimable: the clean file cache inside the kubelet's working set.
//!
//! The rule (docs/reclaim-first.md):
//! - The kubelet's working set is `usage - inactive_file`, so the only bytes whose reclaim
//!   lowers it (and so lifts `memory.available` / `allocatableMemory.available`) are **active**
//!   file pages. Dropping inactive file pages lowers usage and inactive_file alike: the working
//!   set does not move.
//! - Dirty and writeback pages cannot be dropped before they reach the disk (that takes I/O
//!   and time, and under a slow device may not finish before an OOM). They are subtracted from
//!   the active file pages as if they all sat on the active list, which can only under-count:
//!   the estimate errs toward evicting, as the kubelet would.
//! - Anonymous memory, shmem/tmpfs (on the anon LRU lists in v2, not in `active_file`), kernel
//!   memory and sockets are never counted: without swap, only the OOM killer or an eviction
//!   frees them.
//! - Refaults (`workingset_refault_file`, `workingset_activate_file`) do not change how much
//!   *can* be dropped: the kernel drops clean cache before it OOM-kills anyone, however hot.
//!   They say whether dropping it is worth it: see [`RefaultChurn`] and the ledger.
//! - PSI is not used: it measures time stalled, not bytes, and cannot tell cache from anon.

/// What `memory.stat` shows of one cgroup's file cache. Bytes, except the two refault counters,
/// which the kernel counts in pages since the cgroup was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheFigures {
    /// `active_file` (v2) / `total_active_file` (v1).
    pub active_file: u64,
    /// `inactive_file` (v2) / `total_inactive_file` (v1).
    pub inactive_file: u64,
    /// `file_dirty` (v2) / `total_dirty` (v1).
    pub dirty: u64,
    /// `file_writeback` (v2) / `total_writeback` (v1).
    pub writeback: u64,
    /// `workingset_refault_file` (v2; `workingset_refault` before 5.9): evicted file pages read
    /// back in.
    pub workingset_refault_file: u64,
    /// `workingset_activate_file`: refaulted pages the kernel put straight on the active list
    /// because they were evicted while still in use.
    pub workingset_activate_file: u64,
}

/// How much of the working set the kernel could drop now, and how much clean cache in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reclaimable {
    /// Working-set bytes that are clean file cache: `active_file - dirty - writeback`, >= 0.
    /// Dropping them raises the memory signal's `available` by as much.
    pub working_set_bytes: u64,
    /// Clean file cache on both lists: `active_file + inactive_file - dirty - writeback`, >= 0.
    /// The kernel reclaims the inactive list first, so a reclaim that should reach the active
    /// pages may have to drop this much.
    pub clean_file_bytes: u64,
    /// `inactive_file` as read (for sizing the ask).
    pub inactive_file: u64,
}

/// The reclaimable estimate for `f` (the rule is in the module documentation).
pub fn estimate(f: &CacheFigures) -> Reclaimable {
    let pinned = f.dirty.saturating_add(f.writeback);
    Reclaimable {
        working_set_bytes: f.active_file.saturating_sub(pinned),
        clean_file_bytes: f
            .active_file
            .saturating_add(f.inactive_file)
            .saturating_sub(pinned),
        inactive_file: f.inactive_file,
    }
}

/// What a past reclaim bought: bytes it dropped against file bytes read back in since.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefaultChurn {
    /// Bytes the last reclaim dropped.
    pub reclaimed_bytes: u64,
    /// File bytes re-faulted since (`workingset_refault_file` delta x page size).
    pub refaulted_bytes: u64,
    /// Of those, bytes the kernel re-activated at once (`workingset_activate_file` delta).
    pub activated_bytes: u64,
}

impl RefaultChurn {
    /// Half or more of what was dropped came back: the cache is the workload's real working set,
    /// and dropping it again would only trade an eviction for I/O. (Refaults of pages the
    /// kernel dropped by itself count too; they are evidence of the same heat.)
    pub fn is_hot(&self) -> bool {
        self.reclaimed_bytes > 0 && self.refaulted_bytes.saturating_mul(2) >= self.reclaimed_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;

    #[test]
    fn only_clean_active_file_lifts_the_working_set() {
        let f = CacheFigures {
            active_file: 449 * MI,
            inactive_file: 30 * MI,
            dirty: 4 * MI,
            writeback: MI,
            ..CacheFigures::default()
        };
        let r = estimate(&f);
        assert_eq!(r.working_set_bytes, 444 * MI);
        assert_eq!(r.clean_file_bytes, 474 * MI);
        assert_eq!(r.inactive_file, 30 * MI);
    }

    #[test]
    fn dirty_pages_beyond_the_active_list_leave_nothing() {
        let f = CacheFigures {
            active_file: 10 * MI,
            inactive_file: 5 * MI,
            dirty: 40 * MI,
            ..CacheFigures::default()
        };
        assert_eq!(
            estimate(&f),
            Reclaimable {
                working_set_bytes: 0,
                clean_file_bytes: 0,
                inactive_file: 5 * MI
            }
        );
    }

    #[test]
    fn churn_is_hot_from_half_refaulted() {
        let c = |reclaimed, refaulted| RefaultChurn {
            reclaimed_bytes: reclaimed,
            refaulted_bytes: refaulted,
            activated_bytes: 0,
        };
        assert!(c(100, 50).is_hot());
        assert!(c(100, 1000).is_hot());
        assert!(!c(100, 49).is_hot());
        assert!(!c(0, 10).is_hot(), "nothing reclaimed, nothing to judge");
    }
}
