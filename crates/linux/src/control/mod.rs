//! Cgroup control: create memory cgroups, configure them, run processes inside them, kill
//! those processes and tear the cgroups down again. cgroup v1 and v2 sit behind one small
//! interface ([`CgroupHost`] + [`Cgroup`]).
//!
//! Used by the experiments (`headroom experiment`), the kernel tests and the agent's `kill`
//! action ([`kill_pod`]). Reading memory figures is not done here: see [`crate::collection::memcg`].
//!
//! Safety rules this module follows, because it runs as root next to real workloads:
//! * A [`Cgroup`] made by [`CgroupHost::create_unique`] / [`Cgroup::create_child`] is *owned*:
//!   it is killed and removed on [`Cgroup::teardown`] or on drop. A cgroup opened with
//!   [`Cgroup::open`] is *borrowed*: it is never removed, and only killed on request.
//! * Signals only go to the pids listed in the cgroup's own `cgroup.procs` (and those of its
//!   descendants), never to pid 0/1 or to this process itself.
//!
//! Fixture trees: a [`CgroupHost`] can point at any directory. When that directory is not on a
//! cgroup filesystem (a tempdir in a test) the kernel does not populate new cgroups, so tests
//! create the control files themselves; teardown then removes the fixture directory with its
//! files (on a real cgroupfs only `rmdir` is ever used).

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod kill;
mod prepared;
pub mod reclaim;

pub use kill::{FirstSigterm, KillReport, kill_pod, kill_pod_after, subtree_pids};
pub use prepared::{MAX_PREPARED_PROCESSES, PrepareError, PreparedProcesses};

/// statfs magic of a cgroup v1 hierarchy (`CGROUP_SUPER_MAGIC`).
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
/// statfs magic of a cgroup2 tree (`CGROUP2_SUPER_MAGIC`).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// `rmdir` of a cgroup whose last task just exited can briefly fail with EBUSY.
const RMDIR_RETRY_FOR: Duration = Duration::from_secs(2);

/// The cgroup interface version that carries the memory controller (shared with
/// [`crate::collection::memcg`], which reads the figures).
pub use crate::collection::memcg::CgroupVersion;

impl fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        })
    }
}

/// Everything that can go wrong while controlling cgroups, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "permission denied on {path}: controlling memory cgroups needs root \
         (run headroom with sudo or as root)"
    )]
    NotRoot { path: PathBuf },
    #[error(
        "no memory cgroup controller under {root}: found neither a cgroup v1 memory hierarchy \
         ({root}/memory/memory.usage_in_bytes) nor a cgroup2 tree listing `memory` in \
         {root}/cgroup.controllers"
    )]
    NoMemoryController { root: PathBuf },
    #[error("cgroup {path} does not exist (was it removed, or is the path wrong?)")]
    CgroupMissing { path: PathBuf },
    #[error("cgroup file {path} is missing: is the memory controller enabled for this cgroup?")]
    FileMissing { path: PathBuf },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what} is not available on {version}")]
    Unsupported {
        what: &'static str,
        version: CgroupVersion,
    },
    #[error(
        "processes {pids:?} were still in {path} after {waited_ms} ms of SIGKILL \
         (stuck in the kernel, e.g. in D state?)"
    )]
    StillPopulated {
        path: PathBuf,
        pids: Vec<i32>,
        waited_ms: u128,
    },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
}

impl ControlError {
    /// The cgroup is no longer there: removed before it was opened, or while it was being
    /// read (its directory or `cgroup.procs` vanished). For a kill this is not a failure: the
    /// pod ended on its own between the decision and the action.
    pub fn cgroup_gone(&self) -> bool {
        match self {
            ControlError::CgroupMissing { .. } => true,
            ControlError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }

    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::PermissionDenied => ControlError::NotRoot {
                path: path.to_path_buf(),
            },
            _ => ControlError::Io {
                action,
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

pub type Result<T, E = ControlError> = std::result::Result<T, E>;

/// True when this process runs with effective uid 0. Experiments check this first so the
/// operator gets "needs root" instead of a permission error deep inside a step.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Where the memory controller lives: the version and the directory of its root cgroup
/// (`/sys/fs/cgroup/memory` for v1, `/sys/fs/cgroup` for v2, or a fixture directory).
#[derive(Debug, Clone)]
pub struct CgroupHost {
    version: CgroupVersion,
    mount: PathBuf,
    /// The mount is an ordinary directory (a test fixture), not a cgroup filesystem.
    fixture: bool,
}

impl CgroupHost {
    /// Detect the memory controller of this machine under `/sys/fs/cgroup`.
    pub fn detect() -> Result<Self> {
        Self::detect_at(Path::new("/sys/fs/cgroup"))
    }

    /// Detect the memory controller under a cgroup root directory (`/sys/fs/cgroup` or a
    /// fixture tree shaped like it). A v1 memory hierarchy at `<root>/memory` wins over a
    /// unified tree, as on a hybrid host the v2 tree cannot carry the memory controller.
    pub fn detect_at(cgroup_root: &Path) -> Result<Self> {
        let v1 = cgroup_root.join("memory");
        if v1.join("memory.usage_in_bytes").exists() || v1.join("memory.limit_in_bytes").exists() {
            return Ok(Self::at(CgroupVersion::V1, v1));
        }
        let controllers = cgroup_root.join("cgroup.controllers");
        if let Ok(text) = fs::read_to_string(&controllers)
            && text.split_whitespace().any(|c| c == "memory")
        {
            return Ok(Self::at(CgroupVersion::V2, cgroup_root.to_path_buf()));
        }
        Err(ControlError::NoMemoryController {
            root: cgroup_root.to_path_buf(),
        })
    }

    /// A host whose memory controller root is `mount` (no detection).
    pub fn at(version: CgroupVersion, mount: PathBuf) -> Self {
        let fixture = match rustix::fs::statfs(&mount) {
            Ok(st) => {
                // f_type is i64 on x86_64 but narrower on some architectures.
                #[allow(clippy::unnecessary_cast)]
                let magic = st.f_type as i64;
                magic != CGROUP_SUPER_MAGIC && magic != CGROUP2_SUPER_MAGIC
            }
            Err(_) => false,
        };
        CgroupHost {
            version,
            mount,
            fixture,
        }
    }

    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// Directory of the root cgroup of the memory controller.
    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// Create a uniquely named child of the root cgroup (`<prefix>-<pid>-<nanos>-<n>`), owned:
    /// torn down on drop.
    pub fn create_unique(&self, prefix: &str) -> Result<Cgroup> {
        self.root().create_unique_child(prefix)
    }

    /// The root cgroup, borrowed (never removed).
    pub fn root(&self) -> Cgroup {
        Cgroup {
            host: self.clone(),
            path: self.mount.clone(),
            owned: false,
            removed: false,
        }
    }
}

/// One cgroup directory of the memory controller.
///
/// Owned cgroups are killed and removed (with all their descendants) on
/// [`teardown`](Cgroup::teardown) or drop; borrowed ones are left alone.
#[derive(Debug)]
pub struct Cgroup {
    host: CgroupHost,
    path: PathBuf,
    owned: bool,
    removed: bool,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

impl Cgroup {
    /// Open an existing cgroup, borrowed: [`teardown`](Cgroup::teardown) and drop never
    /// remove it. `path` is absolute, or relative to the host's memory controller root.
    pub fn open(host: &CgroupHost, path: &Path) -> Result<Self> {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            host.mount.join(path)
        };
        if !path.is_dir() {
            return Err(ControlError::CgroupMissing { path });
        }
        Ok(Cgroup {
            host: host.clone(),
            path,
            owned: false,
            removed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn version(&self) -> CgroupVersion {
        self.host.version
    }

    pub fn host(&self) -> &CgroupHost {
        &self.host
    }

    /// Path of a control file of this cgroup (e.g. `memory.stat`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Create a child cgroup named `name`, owned by the returned value. On v2 the memory
    /// controller is first enabled for children (`+memory` in this cgroup's
    /// `cgroup.subtree_control`) when it is not yet.
    pub fn create_child(&self, name: &str) -> Result<Cgroup> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(ControlError::Io {
                action: "refusing to create cgroup",
                path: self.path.join(name),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a plain directory name"),
            });
        }
        if !self.path.is_dir() {
            return Err(ControlError::CgroupMissing {
                path: self.path.clone(),
            });
        }
        if self.host.version == CgroupVersion::V2 {
            self.enable_memory_for_children()?;
        }
        let path = self.path.join(name);
        fs::create_dir(&path).map_err(|e| ControlError::io("creating cgroup", &path, e))?;
        Ok(Cgroup {
            host: self.host.clone(),
            path,
            owned: true,
            removed: false,
        })
    }

    /// Create a uniquely named child (`<prefix>-<pid>-<nanos>-<n>`), owned.
    pub fn create_unique_child(&self, prefix: &str) -> Result<Cgroup> {
        self.create_child(&unique_name(prefix))
    }

    fn enable_memory_for_children(&self) -> Result<()> {
        let control = self.file("cgroup.subtree_control");
        let current = read_file(&control)?;
        if current.split_whitespace().any(|c| c == "memory") {
            return Ok(());
        }
        write_file(&control, "+memory")
    }

    /// Set the hard memory limit: v1 `memory.limit_in_bytes`, v2 `memory.max`.
    /// `None` removes the limit (`-1` / `max`).
    pub fn set_memory_limit(&self, bytes: Option<u64>) -> Result<()> {
        let (file, value) = match (self.host.version, bytes) {
            (CgroupVersion::V1, Some(b)) => ("memory.limit_in_bytes", b.to_string()),
            (CgroupVersion::V1, None) => ("memory.limit_in_bytes", "-1".to_string()),
            (CgroupVersion::V2, Some(b)) => ("memory.max", b.to_string()),
            (CgroupVersion::V2, None) => ("memory.max", "max".to_string()),
        };
        write_file(&self.file(file), &value)
    }

    /// v1 only: make tasks wait at the limit instead of being OOM-killed
    /// (`memory.oom_control`). Tests use it to make an evictor's job deterministic.
    pub fn set_oom_kill_disable(&self, disable: bool) -> Result<()> {
        match self.host.version {
            CgroupVersion::V1 => {
                write_file(&self.file("memory.oom_control"), if disable { "1" } else { "0" })
            }
            CgroupVersion::V2 => Err(ControlError::Unsupported {
                what: "oom_kill_disable (memory.oom_control)",
                version: CgroupVersion::V2,
            }),
        }
    }

    /// A [`Command`] that runs `program args..` INSIDE this cgroup from its first instruction:
    /// a shell moves itself into the cgroup, then `exec`s the program. This matters because
    /// the kernel charges page cache to the cgroup of the process that first touches a page;
    /// moving a process after it started does not move its charges.
    ///
    /// The cgroup.procs path travels in an environment variable, so no quoting is involved.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, program: S, args: &[S]) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(r#"echo $$ > "$HEADROOM_CGROUP_PROCS" && exec "$0" "$@""#)
            .arg(program.as_ref())
            .args(args.iter().map(AsRef::as_ref))
            .env("HEADROOM_CGROUP_PROCS", self.file("cgroup.procs"));
        cmd
    }

    /// Start `program args..` inside this cgroup (see [`Cgroup::command`]).
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(&self, program: S, args: &[S]) -> Result<std::process::Child> {
        let name = program.as_ref().to_string_lossy().into_owned();
        self.command(program, args)
            .spawn()
            .map_err(|source| ControlError::Spawn {
                program: name,
                source,
            })
    }

    /// Kill every process of the subtree, then remove every cgroup of it, deepest first
    /// (v1: `memory.force_empty` before `rmdir`, so no "dying" cgroup lingers holding page
    /// cache charges). A borrowed cgroup ([`Cgroup::open`]) is left in place.
    pub fn teardown(mut self) -> Result<()> {
        self.teardown_in_place()
    }

    fn teardown_in_place(&mut self) -> Result<()> {
        if !self.owned || self.removed {
            return Ok(());
        }
        if !self.path.exists() {
            self.removed = true;
            return Ok(());
        }
        let killed = self.kill_all();
        let mut first_error = killed.err();
        for dir in self.subtree_bottom_up()? {
            if let Err(e) = self.remove_one(&dir) {
                first_error.get_or_insert(e);
            }
        }
        self.removed = !self.path.exists();
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn remove_one(&self, dir: &Path) -> Result<()> {
        if self.host.fixture {
            // A fixture directory holds real files; it is ours (created below a tempdir).
            return fs::remove_dir_all(dir).map_err(|e| ControlError::io("removing", dir, e));
        }
        if self.host.version == CgroupVersion::V1 {
            // Best effort: reclaim the pages still charged (page cache of deleted or
            // still-existing files) so the cgroup does not linger as "dying".
            let _ = write_file(&dir.join("memory.force_empty"), "0");
        }
        let start = Instant::now();
        loop {
            match fs::remove_dir(dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e)
                    if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error())
                        && start.elapsed() < RMDIR_RETRY_FOR =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(ControlError::io("removing cgroup", dir, e)),
            }
        }
    }

    /// Stop owning this cgroup: it will not be removed on drop. Returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.owned = false;
        std::mem::take(&mut self.path)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if let Err(e) = self.teardown_in_place() {
            tracing::warn!(cgroup = %self.path.display(), "cgroup cleanup failed: {e}");
        }
    }
}

/// Is `path` on a cgroup filesystem (v1 or v2)? A plain directory's `cgroup.procs` is just a
/// file: whatever pids it names are not the cgroup's, so nothing may be signalled from it.
pub fn is_cgroupfs(path: &Path) -> bool {
    match rustix::fs::statfs(path) {
        Ok(st) => {
            // f_type is i64 on x86_64 but narrower on some architectures.
            #[allow(clippy::unnecessary_cast)]
            let magic = st.f_type as i64;
            magic == CGROUP_SUPER_MAGIC || magic == CGROUP2_SUPER_MAGIC
        }
        Err(_) => false,
    }
}

fn read_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => match path.parent() {
            Some(dir) if !dir.exists() => ControlError::CgroupMissing {
                path: dir.to_path_buf(),
            },
            _ => ControlError::FileMissing {
                path: path.to_path_buf(),
            },
        },
        _ => ControlError::io("reading", path, e),
    })
}

/// Write a value to an existing control file (never creates one: a missing file means the
/// controller is not there, which must be reported, not papered over).
fn write_file(path: &Path, value: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => match path.parent() {
                Some(dir) if !dir.exists() => ControlError::CgroupMissing {
                    path: dir.to_path_buf(),
                },
                _ => ControlError::FileMissing {
                    path: path.to_path_buf(),
                },
            },
            _ => ControlError::io("opening for write", path, e),
        })?;
    file.write_all(value.as_bytes())
        .map_err(|e| ControlError::io("writing to", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_cgroup_is_gone_not_failed() {
        let gone = ControlError::CgroupMissing {
            path: "/sys/fs/cgroup/memory/kubepods/podx".into(),
        };
        assert!(gone.cgroup_gone());
        let vanished = ControlError::io(
            "reading",
            Path::new("/sys/fs/cgroup/memory/kubepods/podx/cgroup.procs"),
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(vanished.cgroup_gone());
        let denied = ControlError::io(
            "writing",
            Path::new("/sys/fs/cgroup/memory/kubepods/podx/cgroup.kill"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(!denied.cgroup_gone());

        // Through the real entry point: a pod cgroup that is not there any more.
        let tmp = tempfile::tempdir().unwrap();
        let host = CgroupHost::at(CgroupVersion::V1, tmp.path().to_path_buf());
        let err = kill_pod(&host, &tmp.path().join("kubepods/podx"), Duration::ZERO).unwrap_err();
        assert!(err.cgroup_gone(), "{err}");
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("t"), unique_name("t"));
    }
}
