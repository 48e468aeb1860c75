//! Which cgroup layout the host uses (unified v2, hybrid, legacy v1) and where the memory
//! hierarchy is.
//!
//! Rule for the live host (cAdvisor's): `statfs("/sys/fs/cgroup")` says cgroup2 => unified;
//! otherwise `statfs("/sys/fs/cgroup/unified")` says cgroup2 => hybrid; otherwise legacy.
//! Hybrid is treated exactly as v1 for memory: numbers come from the v1 `memory` hierarchy and
//! no cgroup PSI is collected, even though the v2 tree may have `memory.pressure`.
//! The v1 memory hierarchy is the `cgroup` mount whose super options name `memory`, found in
//! `/proc/self/mountinfo` (default `/sys/fs/cgroup/memory`).
//!
//! A captured tree has no real mounts, so `statfs` on it means nothing. For a tree (root other
//! than `/`) the evidence is, in order:
//! 1. the statfs magics recorded by `headroom capture` in `headroom-capture.json`;
//! 2. the tree's `proc/self/mountinfo`: fstype of the mount at `/sys/fs/cgroup` is `cgroup2`
//!    => unified; else a `cgroup2` mount at `/sys/fs/cgroup/unified` => hybrid; else legacy;
//! 3. the tree's shape: `sys/fs/cgroup/cgroup.controllers` exists => unified; else
//!    `sys/fs/cgroup/unified` exists => hybrid; else legacy.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::collection::root::{FileReader, HostRoot};

/// `CGROUP2_SUPER_MAGIC`.
pub const CGROUP2_MAGIC: u64 = 0x6367_7270;
/// `TMPFS_MAGIC`.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// `CGROUP_SUPER_MAGIC` (a v1 hierarchy).
pub const CGROUP_MAGIC: u64 = 0x0027_e0eb;

/// The cgroup mount mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// cgroup v2 only (`/sys/fs/cgroup` is cgroup2).
    Unified,
    /// v1 controllers plus a v2 tree at `/sys/fs/cgroup/unified`; memory is read from v1.
    Hybrid,
    /// cgroup v1 only.
    Legacy,
}

impl CgroupMode {
    /// True when memory is read through the cgroup v2 interface files.
    pub fn is_v2(self) -> bool {
        self == CgroupMode::Unified
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::Unified => "unified",
            CgroupMode::Hybrid => "hybrid",
            CgroupMode::Legacy => "legacy",
        }
    }
}

/// How the mode was decided (shown by `status`, recorded by `capture`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    /// `statfs` on the live host.
    Statfs,
    /// Magics recorded in a capture's `headroom-capture.json`.
    CaptureMetadata,
    /// The tree's `proc/self/mountinfo`.
    Mountinfo,
    /// Which files the tree has.
    TreeShape,
}

/// The statfs magics behind a layout decision (what `capture` records).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutEvidence {
    /// `f_type` of `/sys/fs/cgroup`, when known.
    pub cgroup_fs_type: Option<u64>,
    /// `f_type` of `/sys/fs/cgroup/unified`, when it exists.
    pub unified_fs_type: Option<u64>,
    /// Mount point of the v1 `memory` hierarchy from mountinfo, when there is one.
    pub v1_memory_mount: Option<PathBuf>,
}

/// The detected layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub mode: CgroupMode,
    /// Host path of the memory hierarchy's root cgroup: `/sys/fs/cgroup` (unified) or the v1
    /// memory mount (usually `/sys/fs/cgroup/memory`).
    pub memory_root: PathBuf,
    pub source: EvidenceSource,
    pub evidence: LayoutEvidence,
    /// Host paths of the hierarchy roots cAdvisor watches, where a cgroup's creation time is
    /// looked up ([`crate::collection::creation`]): unified, the one tree; v1, the mount of every
    /// controller in [`crate::collection::creation::CADVISOR_V1_CONTROLLERS`] this process joined (each
    /// mount once, in mountinfo order), or the memory hierarchy alone when mountinfo names none.
    #[serde(default)]
    pub hierarchies: Vec<PathBuf>,
}

impl Layout {
    /// Decide the mode from statfs magics (cAdvisor's rule).
    pub fn mode_from_magics(cgroup: Option<u64>, unified: Option<u64>) -> CgroupMode {
        if cgroup == Some(CGROUP2_MAGIC) {
            CgroupMode::Unified
        } else if unified == Some(CGROUP2_MAGIC) {
            CgroupMode::Hybrid
        } else {
            CgroupMode::Legacy
        }
    }

    fn build(mode: CgroupMode, source: EvidenceSource, evidence: LayoutEvidence) -> Layout {
        let memory_root = match mode {
            CgroupMode::Unified => PathBuf::from("/sys/fs/cgroup"),
            _ => evidence
                .v1_memory_mount
                .clone()
                .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup/memory")),
        };
        Layout {
            hierarchies: vec![memory_root.clone()],
            mode,
            memory_root,
            source,
            evidence,
        }
    }
}

/// Statfs magic of a live path, or `None` when it cannot be statted.
pub fn statfs_magic(path: &Path) -> Option<u64> {
    // f_type is signed on some targets; the magics are all below 2^31.
    rustix::fs::statfs(path).ok().map(|s| s.f_type as u64)
}

/// Detect the layout of `root`.
///
/// `recorded` is the evidence a capture stored (see [`crate::collection::capture::CaptureMeta`]); pass
/// `None` for the live host or a tree without metadata.
pub fn detect(root: &HostRoot, reader: &mut FileReader, recorded: Option<&LayoutEvidence>) -> Layout {
    let mount = reader
        .read(&root.path("/proc/self/mountinfo"))
        .ok()
        .map(parse_mountinfo);
    // cAdvisor considers only the v1 controllers this process is a member of: a `memory`
    // hierarchy mounted (say, bind-mounted into a container) but absent from /proc/self/cgroup
    // is not ours to read. Without the file (older captures), every mount counts.
    let joined = reader
        .read(&root.path("/proc/self/cgroup"))
        .ok()
        .map(v1_controllers)
        .filter(|c| !c.is_empty());
    let memory_joined = joined.as_ref().is_none_or(|c| c.iter().any(|c| c == "memory"));
    let v1_memory_mount = mount
        .as_ref()
        .filter(|_| memory_joined)
        .and_then(|m| m.iter().find(|e| e.is_v1_memory()))
        .map(|e| PathBuf::from(&e.mount_point));
    let v1_hierarchies = mount
        .as_ref()
        .map(|m| v1_hierarchies(m, joined.as_deref()))
        .unwrap_or_default();
    let mut layout = detect_mode(root, mount, recorded, v1_memory_mount);
    if !layout.mode.is_v2() && !v1_hierarchies.is_empty() {
        layout.hierarchies = v1_hierarchies;
    }
    layout
}

/// The mount points of the v1 hierarchies that carry a controller cAdvisor watches and this
/// process joined (all of them when `joined` is unknown): the first mount of each controller,
/// each mount point once, in mountinfo order.
fn v1_hierarchies(mounts: &[MountEntry], joined: Option<&[String]>) -> Vec<PathBuf> {
    let mut taken: Vec<&str> = Vec::new();
    let mut out: Vec<PathBuf> = Vec::new();
    for m in mounts.iter().filter(|m| m.fs_type == "cgroup") {
        for c in m.super_options.split(',') {
            let watched = crate::collection::creation::CADVISOR_V1_CONTROLLERS.contains(&c);
            let is_joined = joined.is_none_or(|j| j.iter().any(|x| x == c));
            if !watched || !is_joined || taken.contains(&c) {
                continue;
            }
            taken.push(c);
            let point = PathBuf::from(&m.mount_point);
            if !out.contains(&point) {
                out.push(point);
            }
        }
    }
    out
}

fn detect_mode(
    root: &HostRoot,
    mount: Option<Vec<MountEntry>>,
    recorded: Option<&LayoutEvidence>,
    v1_memory_mount: Option<PathBuf>,
) -> Layout {
    if root.is_live() {
        let evidence = LayoutEvidence {
            cgroup_fs_type: statfs_magic(Path::new("/sys/fs/cgroup")),
            unified_fs_type: statfs_magic(Path::new("/sys/fs/cgroup/unified")),
            v1_memory_mount,
        };
        let mode = Layout::mode_from_magics(evidence.cgroup_fs_type, evidence.unified_fs_type);
        return Layout::build(mode, EvidenceSource::Statfs, evidence);
    }
    if let Some(rec) = recorded
        && rec.cgroup_fs_type.is_some()
    {
        let mut evidence = rec.clone();
        if evidence.v1_memory_mount.is_none() {
            evidence.v1_memory_mount = v1_memory_mount;
        }
        let mode = Layout::mode_from_magics(evidence.cgroup_fs_type, evidence.unified_fs_type);
        return Layout::build(mode, EvidenceSource::CaptureMetadata, evidence);
    }
    if let Some(entries) = mount {
        let fs_at = |point: &str| {
            entries
                .iter()
                .rev() // the last mount on a point hides earlier ones
                .find(|e| e.mount_point == point)
                .map(|e| e.fs_type.as_str())
        };
        let cgroup_fs_type = match fs_at("/sys/fs/cgroup") {
            Some("cgroup2") => Some(CGROUP2_MAGIC),
            Some("tmpfs") => Some(TMPFS_MAGIC),
            Some("cgroup") => Some(CGROUP_MAGIC),
            _ => None,
        };
        let unified_fs_type = (fs_at("/sys/fs/cgroup/unified") == Some("cgroup2")).then_some(CGROUP2_MAGIC);
        if cgroup_fs_type.is_some() || unified_fs_type.is_some() || v1_memory_mount.is_some() {
            let evidence = LayoutEvidence {
                cgroup_fs_type,
                unified_fs_type,
                v1_memory_mount,
            };
            let mode = Layout::mode_from_magics(cgroup_fs_type, unified_fs_type);
            return Layout::build(mode, EvidenceSource::Mountinfo, evidence);
        }
    }
    let mode = if root.path("/sys/fs/cgroup/cgroup.controllers").exists() {
        CgroupMode::Unified
    } else if root.path("/sys/fs/cgroup/unified").is_dir() {
        CgroupMode::Hybrid
    } else {
        CgroupMode::Legacy
    };
    Layout::build(mode, EvidenceSource::TreeShape, LayoutEvidence::default())
}

/// The v1 controllers named in `/proc/self/cgroup` (`4:memory:/path`, `1:cpu,cpuacct:/`);
/// `name=` hierarchies and the v2 line `0::/path` name none. Malformed lines are skipped.
pub fn v1_controllers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let id = parts.next()?;
            let controllers = parts.next()?;
            parts.next()?;
            (id != "0").then_some(controllers)
        })
        .flat_map(|c| c.split(','))
        .filter(|c| !c.is_empty() && !c.starts_with("name="))
        .map(str::to_string)
        .collect()
}

/// One line of `/proc/self/mountinfo` (the parts layout detection needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: String,
    pub fs_type: String,
    pub super_options: String,
}

impl MountEntry {
    /// A v1 hierarchy that carries the memory controller.
    pub fn is_v1_memory(&self) -> bool {
        self.fs_type == "cgroup" && self.super_options.split(',').any(|o| o == "memory")
    }
}

/// Parse mountinfo; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let mount_point = unescape_octal(fields.nth(4)?);
            // Optional fields end at a lone "-"; then fstype, source, super options.
            let mut rest = fields.skip_while(|f| *f != "-").skip(1);
            let fs_type = rest.next()?.to_string();
            let _source = rest.next();
            let super_options = rest.next().unwrap_or("").to_string();
            Some(MountEntry {
                mount_point,
                fs_type,
                super_options,
            })
        })
        .collect()
}

/// Mountinfo escapes space, tab, newline and backslash as `\ooo`. Three octal digits above
/// `\377` are not a byte, so the kernel never writes them: they are kept as they are.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'\\')
            .then(|| b.get(i + 1..i + 4))
            .flatten()
            .filter(|digits| digits.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|digits| {
                let v = digits.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                u8::try_from(v).ok()
            });
        if let Some(v) = escaped {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_MOUNTINFO: &str = include_str!("../../tests/fixtures/samples/mountinfo.txt");

    #[test]
    fn sample_mountinfo_is_hybrid_with_v1_memory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc/self")).unwrap();
        std::fs::write(tmp.path().join("proc/self/mountinfo"), SAMPLE_MOUNTINFO).unwrap();
        let layout = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(layout.mode, CgroupMode::Hybrid);
        assert_eq!(layout.source, EvidenceSource::Mountinfo);
        assert_eq!(layout.memory_root, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(layout.evidence.cgroup_fs_type, Some(TMPFS_MAGIC));
        // cAdvisor's controllers, one path per mount: not freezer, not name=systemd, not the
        // v2 tree.
        let names: Vec<_> = layout
            .hierarchies
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            names,
            ["cpu", "cpuacct", "cpuset", "memory", "devices", "blkio", "pids"]
                .map(|c| format!("/sys/fs/cgroup/{c}"))
        );
    }

    #[test]
    fn hierarchies_follow_joined_controllers_and_comounts() {
        let mounts = parse_mountinfo(
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
             35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
             36 31 0:33 / /mnt/memory-again rw - cgroup cgroup rw,memory\n\
             37 31 0:34 / /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb\n",
        );
        assert_eq!(
            v1_hierarchies(&mounts, None),
            [
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"),
                PathBuf::from("/sys/fs/cgroup/memory"),
                PathBuf::from("/sys/fs/cgroup/hugetlb")
            ]
        );
        let joined = ["memory".to_string(), "cpu".to_string()];
        assert_eq!(
            v1_hierarchies(&mounts, Some(&joined)),
            [
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"),
                PathBuf::from("/sys/fs/cgroup/memory")
            ]
        );
        // Unified: the one tree.
        let l = Layout::build(
            CgroupMode::Unified,
            EvidenceSource::TreeShape,
            LayoutEvidence::default(),
        );
        assert_eq!(l.hierarchies, [PathBuf::from("/sys/fs/cgroup")]);
    }

    #[test]
    fn unified_and_legacy_mountinfo() {
        let unified = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc/self")).unwrap();
        std::fs::write(tmp.path().join("proc/self/mountinfo"), unified).unwrap();
        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(l.mode, CgroupMode::Unified);
        assert_eq!(l.memory_root, PathBuf::from("/sys/fs/cgroup"));

        let legacy = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                      35 31 0:32 / /sys/fs/cgroup/cpu,memory rw shared:9 - cgroup cgroup rw,cpu,memory\n\
                      junk\n";
        std::fs::write(tmp.path().join("proc/self/mountinfo"), legacy).unwrap();
        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(l.mode, CgroupMode::Legacy);
        assert_eq!(l.memory_root, PathBuf::from("/sys/fs/cgroup/cpu,memory"));
    }

    #[test]
    fn mount_point_escapes_decode_and_out_of_range_ones_stay_literal() {
        let line = |mp: &str| format!("36 25 0:33 / {mp} rw - cgroup cgroup rw,memory\n");
        let parsed = parse_mountinfo(&line("/mnt/with\\040space\\134"));
        assert_eq!(parsed[0].mount_point, "/mnt/with space\\");
        // Found by the cgroup_files fuzz target: `\603` overflowed a byte (a panic in debug
        // builds). Above `\377` is no byte; a truncated escape is no escape either.
        let parsed = parse_mountinfo(&line("/x\\603\\400\\777\\37"));
        assert_eq!(parsed[0].mount_point, "/x\\603\\400\\777\\37");
        assert_eq!(parsed[0].fs_type, "cgroup");
    }

    #[test]
    fn only_joined_v1_controllers_count() {
        assert_eq!(
            v1_controllers("12:cpu,cpuacct:/\n4:memory:/x\n1:name=systemd:/\n0::/\njunk\n"),
            ["cpu", "cpuacct", "memory"]
        );
        let legacy = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                      35 31 0:32 / /mnt/mem rw - cgroup cgroup rw,memory\n";
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc/self")).unwrap();
        std::fs::write(tmp.path().join("proc/self/mountinfo"), legacy).unwrap();
        let cgroup = tmp.path().join("proc/self/cgroup");
        std::fs::write(&cgroup, "3:memory:/\n0::/\n").unwrap();
        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(l.memory_root, PathBuf::from("/mnt/mem"));
        // Mounted but not a controller this process belongs to: not cAdvisor's memory root.
        std::fs::write(&cgroup, "2:cpu:/\n0::/\n").unwrap();
        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(l.memory_root, PathBuf::from("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn recorded_magics_win_and_tree_shape_is_the_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let rec = LayoutEvidence {
            cgroup_fs_type: Some(CGROUP2_MAGIC),
            ..Default::default()
        };
        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), Some(&rec));
        assert_eq!(l.mode, CgroupMode::Unified);
        assert_eq!(l.source, EvidenceSource::CaptureMetadata);

        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(
            (l.mode, l.source),
            (CgroupMode::Legacy, EvidenceSource::TreeShape)
        );
        std::fs::create_dir_all(tmp.path().join("sys/fs/cgroup")).unwrap();
        std::fs::write(tmp.path().join("sys/fs/cgroup/cgroup.controllers"), "memory\n").unwrap();
        let l = detect(&HostRoot::dir(tmp.path()), &mut FileReader::new(), None);
        assert_eq!(l.mode, CgroupMode::Unified);
    }

    #[test]
    fn mount_points_are_unescaped() {
        let e = parse_mountinfo("1 2 0:1 / /a\\040b rw - tmpfs t rw\n");
        assert_eq!(e[0].mount_point, "/a b");
    }
}
