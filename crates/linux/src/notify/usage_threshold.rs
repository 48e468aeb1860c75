//! cgroup v1 usage thresholds: an eventfd registered through `cgroup.event_control`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::event::EventfdFlags;

use super::{NotifyError, io_err};

/// A cgroup v1 memory usage threshold: an eventfd the kernel signals whenever
/// `memory.usage_in_bytes` of `cgroup` crosses `bytes`, upwards or downwards.
///
/// Thresholds are checked by the kernel on the charge path every 128 page events per CPU, so a
/// crossing is noticed within ~0.5 MiB per CPU of allocation. A threshold on a parent fires for
/// charges in its children.
pub struct UsageThreshold {
    pub(super) eventfd: OwnedFd,
    pub(super) cgroup: PathBuf,
    pub(super) bytes: u64,
    /// `memory.usage_in_bytes` read right after the registration (None if that read failed).
    usage_after_arm: Option<u64>,
}

impl UsageThreshold {
    /// Register a threshold at `bytes` on the v1 memory cgroup directory `cgroup`.
    pub fn arm(cgroup: &Path, bytes: u64) -> Result<UsageThreshold, NotifyError> {
        let usage_path = cgroup.join("memory.usage_in_bytes");
        let control_path = cgroup.join("cgroup.event_control");
        let eventfd = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| io_err("create an eventfd for", cgroup, e.into()))?;
        // The kernel keeps its own reference to the watched file; both of these may be closed
        // right after the registration (the kubelet does the same).
        let usage = File::open(&usage_path).map_err(|e| io_err("open", &usage_path, e))?;
        let mut control = OpenOptions::new()
            .write(true)
            .open(&control_path)
            .map_err(|e| io_err("open for writing", &control_path, e))?;
        let line = format!("{} {} {}", eventfd.as_raw_fd(), usage.as_raw_fd(), bytes);
        control
            .write_all(line.as_bytes())
            .map_err(|e| io_err("register a usage threshold through", &control_path, e))?;
        // The kernel counts a threshold at or below the usage it sees at registration as
        // already crossed: it will only ever signal the downward crossing. A caller that
        // computed `bytes` from an earlier read can therefore arm silently *behind* a crossing
        // that happened in between; this read, taken after the registration, tells it so.
        let usage_after_arm = crate::memcg::reread_u64(&usage);
        Ok(UsageThreshold {
            eventfd,
            cgroup: cgroup.to_path_buf(),
            bytes,
            usage_after_arm,
        })
    }

    /// The usage read right after registering, when it was already at or beyond `bytes`: the
    /// kernel will not signal this (upward) crossing, so the caller must act on it itself.
    pub fn crossed_before_armed(&self) -> Option<u64> {
        self.usage_after_arm.filter(|u| *u >= self.bytes)
    }

    pub fn cgroup(&self) -> &Path {
        &self.cgroup
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Read and reset the eventfd counter (0 if nothing happened).
    pub(super) fn drain(&self) -> u64 {
        let mut buf = [0u8; 8];
        match rustix::io::read(&self.eventfd, &mut buf) {
            Ok(8) => u64::from_ne_bytes(buf),
            _ => 0,
        }
    }
}
