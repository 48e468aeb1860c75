//! Capture exactly the files headroom reads, so a pass on another machine
//! (`headroom summary --root DIR`) gives the same result.
//!
//! A capture runs one collection pass with a recording [`crate::collection::root::FileReader`] and writes
//! every file the pass read, byte for byte, at the same relative path under the output
//! (`DIR/proc/meminfo`, `DIR/sys/fs/cgroup/memory/kubepods/.../memory.stat`). What cannot be
//! captured as a file goes into `DIR/headroom-capture.json` ([`CaptureMeta`]): the statfs magics
//! that decided the cgroup layout, the statvfs results for nodefs/imagefs, the cgroups'
//! creation times (read from modification times, which copies do not keep) and the capture
//! time (which becomes the sample time when the capture is read back).
//! Output is a directory or, for a name ending in `.tar.gz`/`.tgz`, a gzip'd tar
//! (tar + flate2); [`unpack`] turns such an archive back into a directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::collection::collect::{CollectError, CollectOptions, Collector, NodeSnapshot};
use crate::collection::fsstats::FsFigures;
use crate::collection::layout::LayoutEvidence;
use crate::collection::root::RecordedFile;

/// Name of the metadata file at the top of a capture.
pub const META_FILE: &str = "headroom-capture.json";

/// Current metadata format.
pub const META_FORMAT: u32 = 1;

/// What a capture knows besides the files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureMeta {
    pub format: u32,
    /// When the capture's pass ran (becomes the sample time when read back).
    pub captured_at: Timestamp,
    /// statfs magics and the v1 memory mount (statfs cannot be captured as a file).
    pub layout: LayoutEvidence,
    #[serde(default)]
    pub nodefs: Option<FsFigures>,
    #[serde(default)]
    pub imagefs: Option<FsFigures>,
    /// Host paths of the files in the capture.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Creation times of the cgroups the pass reported, by cgroup name (`/kubepods/pod1`):
    /// they come from modification times, which copied files do not keep.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cgroup_created: BTreeMap<String, Timestamp>,
}

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CaptureError + '_ {
    move |source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a capture wrote.
#[derive(Debug)]
pub struct CaptureReport {
    pub output: PathBuf,
    pub files: usize,
    pub bytes: usize,
    /// The pass that was captured.
    pub snapshot: NodeSnapshot,
}

/// True when `path` names a gzip'd tar.
pub fn is_archive(path: &Path) -> bool {
    let s = path.to_string_lossy();
    s.ends_with(".tar.gz") || s.ends_with(".tgz")
}

/// Run one recorded pass over `opts.root` and write it to `output` (directory or `.tar.gz`).
pub fn capture(opts: CollectOptions, output: &Path) -> Result<CaptureReport, CaptureError> {
    let root = opts.root.clone();
    let mut collector = Collector::new(opts)?;
    collector.start_recording();
    let snapshot = collector.collect()?;
    let recorded = collector.take_recorded();
    let cgroup_created = collector.take_recorded_creation();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::with_capacity(recorded.len());
    for RecordedFile { path, bytes } in recorded {
        let Some(host) = root.host_path(&path) else {
            continue;
        };
        // A file read twice in a pass keeps its first content.
        if !files.iter().any(|(p, _)| *p == host) {
            files.push((host, bytes));
        }
    }
    let mut layout = snapshot.layout.evidence.clone();
    if layout.cgroup_fs_type.is_none() {
        // The source was itself a tree without magics (decided from its shape, whose marker
        // files a pass does not read): record magics that reproduce the decided mode.
        use crate::collection::layout::{CGROUP2_MAGIC, CgroupMode, TMPFS_MAGIC};
        let (cgroup, unified) = match snapshot.layout.mode {
            CgroupMode::Unified => (CGROUP2_MAGIC, None),
            CgroupMode::Hybrid => (TMPFS_MAGIC, Some(CGROUP2_MAGIC)),
            CgroupMode::Legacy => (TMPFS_MAGIC, None),
        };
        layout.cgroup_fs_type = Some(cgroup);
        layout.unified_fs_type = unified;
    }
    let meta = CaptureMeta {
        format: META_FORMAT,
        captured_at: snapshot.time,
        layout,
        nodefs: snapshot.nodefs.clone(),
        imagefs: snapshot.imagefs.clone(),
        files: files.iter().map(|(p, _)| p.clone()).collect(),
        cgroup_created,
    };
    let meta_json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    if is_archive(output) {
        write_archive(output, &files, &meta_json, snapshot.time)?;
    } else {
        write_dir(output, &files, &meta_json)?;
    }
    Ok(CaptureReport {
        output: output.to_path_buf(),
        files: files.len(),
        bytes,
        snapshot,
    })
}

fn relative(host: &Path) -> &Path {
    host.strip_prefix("/").unwrap_or(host)
}

fn write_dir(out: &Path, files: &[(PathBuf, Vec<u8>)], meta: &[u8]) -> Result<(), CaptureError> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    for (host, bytes) in files {
        let dest = out.join(relative(host));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        std::fs::write(&dest, bytes).map_err(io_err(&dest))?;
    }
    let meta_path = out.join(META_FILE);
    std::fs::write(&meta_path, meta).map_err(io_err(&meta_path))
}

fn write_archive(
    out: &Path,
    files: &[(PathBuf, Vec<u8>)],
    meta: &[u8],
    time: Timestamp,
) -> Result<(), CaptureError> {
    let file = std::fs::File::create(out).map_err(io_err(out))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mtime = u64::try_from(time.as_second()).unwrap_or(0);
    let mut add = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, bytes)
    };
    for (host, bytes) in files {
        add(relative(host), bytes).map_err(io_err(out))?;
    }
    add(Path::new(META_FILE), meta).map_err(io_err(out))?;
    let gz = tar.into_inner().map_err(io_err(out))?;
    let mut file = gz.finish().map_err(io_err(out))?;
    file.flush().map_err(io_err(out))
}

/// Unpack a capture archive into `dest` (entries escaping `dest` are refused by `tar`).
pub fn unpack(archive: &Path, dest: &Path) -> Result<(), CaptureError> {
    let file = std::fs::File::open(archive).map_err(io_err(archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.unpack(dest).map_err(io_err(archive))
}

/// A `--root` argument made usable: a directory as is, or a capture archive unpacked into a
/// temporary directory that lives as long as this value.
#[derive(Debug)]
pub struct OpenedRoot {
    pub root: crate::collection::root::HostRoot,
    _unpacked: Option<tempfile::TempDir>,
}

/// Open `--root`: `None` = the live host; a directory; or a `.tar.gz`/`.tgz` capture.
pub fn open_root(arg: Option<&Path>) -> Result<OpenedRoot, CaptureError> {
    let Some(path) = arg else {
        return Ok(OpenedRoot {
            root: crate::collection::root::HostRoot::live(),
            _unpacked: None,
        });
    };
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if meta.is_dir() {
        return Ok(OpenedRoot {
            root: crate::collection::root::HostRoot::dir(path),
            _unpacked: None,
        });
    }
    let tmp = tempfile::Builder::new()
        .prefix("headroom-root-")
        .tempdir()
        .map_err(io_err(path))?;
    unpack(path, tmp.path())?;
    Ok(OpenedRoot {
        root: crate::collection::root::HostRoot::dir(tmp.path()),
        _unpacked: Some(tmp),
    })
}
