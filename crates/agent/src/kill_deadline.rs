//! The SIGKILL deadline of a kill, recorded next to the pod so it survives an agent restart.
//!
//! A kill sends SIGTERM and waits the grace period before SIGKILL. If the agent restarts in
//! between (a crash, an upgrade, a liveness probe), the new agent chooses the same pod and,
//! without a record, would start a whole new grace period: a pod that ignores SIGTERM can then
//! outlive an agent that restarts often. The deadline is written as an extended attribute on
//! the pod's cgroup directory (`trusted.headroom.sigkill_at`, Unix seconds) right after the
//! first SIGTERM (the signal does not wait for bookkeeping: an agent restarted in between
//! gives the full grace again); a later kill of the same cgroup waits only what is left. The record lives and dies
//! with the cgroup, so a new pod never inherits it. Where the filesystem has no extended
//! attributes the kill behaves as before (full grace).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The attribute name (`trusted.*`: root only, supported by cgroupfs v1 and v2).
pub(crate) const XATTR: &str = "trusted.headroom.sigkill_at";
/// A deadline this far in the past belongs to an old kill (the runtime restarted the pod's
/// containers in the same pod cgroup since): a new kill records a new one.
const STALE_AFTER: Duration = Duration::from_secs(300);

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The deadline recorded on `cgroup`, if any.
pub fn recorded(cgroup: &Path) -> Option<u64> {
    let mut buf = [0u8; 32];
    let n = rustix::fs::getxattr(cgroup, XATTR, &mut buf[..]).ok()?;
    std::str::from_utf8(buf.get(..n)?).ok()?.trim().parse().ok()
}

/// The grace to wait now for a kill of `cgroup` decided with `grace`: what is left of an
/// earlier kill's deadline (zero when it passed), or `grace` after recording a new deadline.
/// Never longer than `grace`.
pub fn remaining(cgroup: &Path, grace: Duration, now: SystemTime) -> Duration {
    let now_s = unix_secs(now);
    if let Some(deadline) = recorded(cgroup)
        && deadline.saturating_add(STALE_AFTER.as_secs()) >= now_s
    {
        return Duration::from_secs(deadline.saturating_sub(now_s)).min(grace);
    }
    if !grace.is_zero() {
        let deadline = now_s.saturating_add(grace.as_secs());
        // Best effort: without extended attributes a restart restarts the grace, as before.
        let _ = rustix::fs::setxattr(
            cgroup,
            XATTR,
            deadline.to_string().as_bytes(),
            rustix::fs::XattrFlags::empty(),
        );
    }
    grace
}
