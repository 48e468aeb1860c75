//! Kernel OOM kills on this node, from `/proc/vmstat`'s `oom_kill` (the kernel's count since
//! boot, Linux 4.13+), for `headroom_kernel_oom_kills_total`: every one is a kill the
//! kubelet-style eviction did not prevent (or a container over its own limit).

use headroom_linux::root::HostRoot;

/// The `oom_kill` figure of a `/proc/vmstat` text.
pub(crate) fn parse_vmstat(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
}

/// New kills since the last read.
#[derive(Debug, Default)]
pub(crate) struct OomKills {
    last: Option<u64>,
}

impl OomKills {
    /// Kills counted since the previous call; the first call counts the kernel's whole
    /// since-boot total (a counter may start above zero). `None`: unreadable (old kernel or
    /// no /proc under --root), nothing counted.
    pub(crate) fn observe(&mut self, vmstat: Option<u64>) -> Option<u64> {
        let now = vmstat?;
        let new = now.saturating_sub(self.last.unwrap_or(0));
        self.last = Some(now);
        Some(new)
    }

    /// Read `/proc/vmstat` under `root`.
    pub(crate) fn read(root: &HostRoot) -> Option<u64> {
        std::fs::read_to_string(root.path("/proc/vmstat"))
            .ok()
            .as_deref()
            .and_then(parse_vmstat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_since_boot_total_then_only_new_kills() {
        assert_eq!(parse_vmstat("pgfault 12\noom_kill 3\nthp 0\n"), Some(3));
        assert_eq!(parse_vmstat("pgfault 12\n"), None);
        let mut k = OomKills::default();
        assert_eq!(k.observe(Some(3)), Some(3));
        assert_eq!(k.observe(Some(3)), Some(0));
        assert_eq!(k.observe(Some(5)), Some(2));
        assert_eq!(k.observe(None), None);
        assert_eq!(k.observe(Some(5)), Some(0));
    }
}
