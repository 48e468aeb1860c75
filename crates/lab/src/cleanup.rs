//! Things every experiment needs to leave the machine as it found it: a temp file removed on
//! drop, a cancellation flag (Ctrl-C), waiting for a child while honouring that flag, and
//! choosing a disk-backed directory for the test file.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set by the CLI's SIGINT/SIGTERM handler; experiments stop at the next check and clean up.
pub type Cancel = Arc<AtomicBool>;

pub fn cancelled(cancel: &Cancel) -> bool {
    cancel.load(Ordering::Relaxed)
}

pub fn check_cancel(cancel: &Cancel) -> anyhow::Result<()> {
    if cancelled(cancel) {
        bail!("interrupted: stopped the experiment and cleaned up");
    }
    Ok(())
}

/// A file that is deleted when this guard is dropped (unless already gone).
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        TempFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A child process that is SIGKILLed and reaped when the guard is dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Wait for `child` to exit, calling `tick` every `every`; stop early (killing the child)
/// when `cancel` is set.
pub fn wait_child(
    child: &mut Child,
    cancel: &Cancel,
    every: Duration,
    mut tick: impl FnMut(),
) -> anyhow::Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().context("waiting for a worker process")? {
            // Ctrl-C on a terminal reaches the worker too: report the interruption, not a
            // failed worker.
            check_cancel(cancel)?;
            return Ok(status);
        }
        if cancelled(cancel) {
            let _ = child.kill();
            let _ = child.wait();
            check_cancel(cancel)?;
        }
        tick();
        std::thread::sleep(every);
    }
}

const TMPFS_MAGIC: i64 = 0x0102_1994;
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// What kind of filesystem holds a directory, for the tmpfs warning.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DirInfo {
    pub dir: PathBuf,
    /// tmpfs/ramfs: file pages are shmem, always part of the working set.
    pub memory_backed: bool,
    pub free_bytes: u64,
}

pub fn dir_info(dir: &Path) -> anyhow::Result<DirInfo> {
    let st = rustix::fs::statfs(dir).with_context(|| format!("cannot use directory {}", dir.display()))?;
    let vfs = rustix::fs::statvfs(dir).with_context(|| format!("cannot use directory {}", dir.display()))?;
    // f_type is i64 on x86_64 but narrower on some architectures.
    #[allow(clippy::unnecessary_cast)]
    let magic = st.f_type as i64;
    Ok(DirInfo {
        dir: dir.to_path_buf(),
        memory_backed: magic == TMPFS_MAGIC || magic == RAMFS_MAGIC,
        free_bytes: vfs.f_bavail.saturating_mul(vfs.f_frsize),
    })
}

/// The directory for the experiment file: `--dir` if given, else the first disk-backed of
/// /var/tmp and the current directory (tmpfs would make every page shmem, which the kernel
/// never treats as reclaimable file cache).
pub fn choose_dir(requested: Option<&Path>) -> anyhow::Result<DirInfo> {
    if let Some(dir) = requested {
        return dir_info(dir);
    }
    let mut candidates = vec![PathBuf::from("/var/tmp")];
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd);
    }
    let mut first = None;
    for c in candidates {
        if let Ok(info) = dir_info(&c) {
            if !info.memory_backed {
                return Ok(info);
            }
            first.get_or_insert(info);
        }
    }
    match first {
        Some(info) => Ok(info),
        None => bail!("no usable directory for the test file: pass one with --dir"),
    }
}

/// Fail early, with the numbers, when the file would not fit.
pub fn require_space(info: &DirInfo, size: u64) -> anyhow::Result<()> {
    // Keep 64 MiB spare so the experiment never fills the disk to the last block.
    let needed = size.saturating_add(64 << 20);
    if info.free_bytes < needed {
        bail!(
            "no space for the test file: {} has {:.0} MiB free, the experiment needs {:.0} MiB \
             (file + 64 MiB spare); pick another --dir or a smaller --size",
            info.dir.display(),
            crate::size::mib(info.free_bytes),
            crate::size::mib(needed)
        );
    }
    Ok(())
}

/// Plain "needs root" error before touching anything.
pub fn require_root() -> anyhow::Result<()> {
    if !headroom_linux::control::is_root() {
        bail!(
            "this experiment needs root: it creates a memory cgroup under /sys/fs/cgroup \
             (run it with sudo)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_check_names_dir_and_sizes() {
        let info = DirInfo {
            dir: PathBuf::from("/mnt/small"),
            memory_backed: false,
            free_bytes: 100 << 20,
        };
        assert!(require_space(&info, 30 << 20).is_ok());
        let err = require_space(&info, 256 << 20).unwrap_err().to_string();
        assert!(err.contains("no space for the test file"), "{err}");
        assert!(
            err.contains("/mnt/small") && err.contains("100 MiB free"),
            "{err}"
        );
    }

    #[test]
    fn dir_info_detects_dev_shm_as_memory_backed() {
        if let Ok(info) = dir_info(Path::new("/dev/shm")) {
            assert!(info.memory_backed);
        }
        assert!(dir_info(Path::new("/nonexistent/dir")).is_err());
    }

    #[test]
    fn temp_file_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, "x").unwrap();
        drop(TempFile::new(p.clone()));
        assert!(!p.exists());
    }
}
