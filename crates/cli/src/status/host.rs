//! Reading the host (live or `--root`) through headroom-linux's Collector, and turning its
//! snapshot into the [`HostView`] the report uses.

use std::path::Path;

use headroom_core::summary::Summary;

use super::input::HostView;

/// One collection pass: the kubelet Summary plus what the kernel files add.
pub fn collect(
    _root: Option<&Path>,
    _pod_cgroup_root: Option<String>,
) -> anyhow::Result<(Summary, HostView)> {
    anyhow::bail!("reading the host is not wired yet (waiting for headroom_linux::collect)")
}
