//! Where the host's files are, and the one reader every collector goes through.
//!
//! [`HostRoot`] is `/` for the live host or a directory that holds a captured or synthetic
//! tree (`DIR/sys/fs/cgroup/...`, `DIR/proc/...`). Readers never build host paths themselves;
//! they ask the root, so the same code reads the live kernel, a capture from another machine
//! and the fixture trees used in tests.
//!
//! [`FileReader`] reads whole small files (cgroup and `/proc` files are a few KiB at most) into
//! one reused buffer with plain `open`/`read`/`close`, so a collection pass over thousands of
//! cgroups does not allocate per file. It can also record every file it read successfully
//! (path and exact bytes), which is how `headroom capture` writes exactly what headroom reads.

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// The base directory that stands for the host's `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRoot {
    base: PathBuf,
}

impl Default for HostRoot {
    fn default() -> Self {
        Self::live()
    }
}

impl HostRoot {
    /// The live host: paths are used as they are.
    pub fn live() -> Self {
        HostRoot {
            base: PathBuf::from("/"),
        }
    }

    /// A captured or synthetic tree rooted at `dir` (`dir/proc/meminfo`, `dir/sys/fs/cgroup`).
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        HostRoot { base: dir.into() }
    }

    /// True for the live host (`/`): only then do `statfs`/`statvfs` tell the truth about the
    /// host, because a captured tree has no real mounts.
    pub(crate) fn is_live(&self) -> bool {
        self.base == Path::new("/")
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The real path of the host path `host_path` (absolute or relative, e.g.
    /// `/proc/meminfo`).
    pub fn path(&self, host_path: impl AsRef<Path>) -> PathBuf {
        let host_path = host_path.as_ref();
        let relative = host_path.strip_prefix("/").unwrap_or(host_path);
        if relative.as_os_str().is_empty() {
            return self.base.clone();
        }
        self.base.join(relative)
    }

    /// The host path (absolute, e.g. `/sys/fs/cgroup/memory/kubepods`) of a real path under
    /// this root, or `None` when `real` is outside it.
    pub fn host_path(&self, real: &Path) -> Option<PathBuf> {
        let rel = real.strip_prefix(&self.base).ok()?;
        Some(Path::new("/").join(rel))
    }
}

/// One file read during a pass: its real path and the exact bytes read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Reads whole small files into a reused buffer; optionally records what it read.
#[derive(Debug, Default)]
pub struct FileReader {
    buf: Vec<u8>,
    recorded: Option<Vec<RecordedFile>>,
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not text (invalid UTF-8 at byte {at})")]
    NotText { path: PathBuf, at: usize },
}

impl ReadError {
    /// The OS error kind, for "not there" vs "not allowed" decisions.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            ReadError::Io { source, .. } => source.kind(),
            ReadError::NotText { .. } => io::ErrorKind::InvalidData,
        }
    }

    /// True when the file (or its cgroup) does not exist: a cgroup that vanished mid-scan or
    /// an interface file this kernel does not have.
    pub fn is_not_found(&self) -> bool {
        self.kind() == io::ErrorKind::NotFound
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. } | ReadError::NotText { path, .. } => path,
        }
    }
}

impl FileReader {
    pub fn new() -> Self {
        FileReader {
            buf: Vec::with_capacity(16 * 1024),
            recorded: None,
        }
    }

    /// A reader that keeps a copy of every file it reads successfully (for capture).
    pub fn recording() -> Self {
        FileReader {
            buf: Vec::with_capacity(16 * 1024),
            recorded: Some(Vec::new()),
        }
    }

    /// Files read so far by a recording reader (empty otherwise); drains the list.
    /// Does this reader record what it reads (a capture)?
    pub fn is_recording(&self) -> bool {
        self.recorded.is_some()
    }

    pub fn take_recorded(&mut self) -> Vec<RecordedFile> {
        self.recorded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Read the whole file at `path` (a real path) and return it as text.
    ///
    /// The returned slice borrows the reader's buffer and is valid until the next read.
    pub fn read(&mut self, path: &Path) -> Result<&str, ReadError> {
        read_into(path, &mut self.buf).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(recorded) = self.recorded.as_mut() {
            recorded.push(RecordedFile {
                path: path.to_path_buf(),
                bytes: self.buf.clone(),
            });
        }
        std::str::from_utf8(&self.buf).map_err(|e| ReadError::NotText {
            path: path.to_path_buf(),
            at: e.valid_up_to(),
        })
    }
}

/// `open`, `read` until end of file, `close`: the cheapest way to get a fresh value out of a
/// kernel pseudo-file (they have no meaningful size, so no `fstat` first).
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(buf.capacity().max(4096));
        }
        let n = match rustix::io::read(&fd, rustix::buffer::spare_capacity(buf)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_host_paths_under_the_base() {
        let live = HostRoot::live();
        assert!(live.is_live());
        assert_eq!(live.path("/proc/meminfo"), PathBuf::from("/proc/meminfo"));
        let dir = HostRoot::dir("/tmp/cap");
        assert!(!dir.is_live());
        assert_eq!(dir.path("/proc/meminfo"), PathBuf::from("/tmp/cap/proc/meminfo"));
        assert_eq!(dir.path("/"), PathBuf::from("/tmp/cap"));
        assert_eq!(
            dir.host_path(Path::new("/tmp/cap/sys/fs/cgroup")),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(dir.host_path(Path::new("/etc")), None);
    }

    #[test]
    fn reads_and_records_files() {
        let tmp = tempfile::tempdir().unwrap();
        let big = "x".repeat(20_000);
        std::fs::write(tmp.path().join("a"), "hello\n").unwrap();
        std::fs::write(tmp.path().join("big"), &big).unwrap();
        std::fs::write(tmp.path().join("bin"), [0xff, 0xfe]).unwrap();
        let mut r = FileReader::recording();
        assert_eq!(r.read(&tmp.path().join("a")).unwrap(), "hello\n");
        assert_eq!(r.read(&tmp.path().join("big")).unwrap(), big);
        let err = r.read(&tmp.path().join("missing")).unwrap_err();
        assert!(err.is_not_found());
        let err = r.read(&tmp.path().join("bin")).unwrap_err();
        assert!(err.to_string().contains("not text"), "{err}");
        let rec = r.take_recorded();
        assert_eq!(rec.len(), 3);
        assert_eq!(rec[0].bytes, b"hello\n");
    }
}
