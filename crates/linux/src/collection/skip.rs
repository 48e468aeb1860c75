//! What a collection pass could not use, and why: a typed reason per case, so callers (status,
//! the agent's `/healthz`) decide on the variant instead of matching the text by prefix.
//!
//! The sentences ([`fmt::Display`]) are what operators have always seen; the codes
//! ([`SkipReason::code`]) are stable identifiers for JSON and scripts. Each variant keeps the
//! underlying error as text: the errors themselves (I/O, parse) are neither `Clone` nor
//! comparable, and a skip is a report, not something to recover from.

use std::fmt;
use std::path::PathBuf;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// Something the scan could not use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// Host path of the cgroup or file.
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// Why a cgroup or file was left out of a pass. `detail` fields hold the underlying error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Neither `kubepods` nor `kubepods.slice` (nor the configured name) exists.
    NoPodCgroupRoot,
    /// The pod cgroup root exists but could not be listed.
    PodCgroupRootUnreadable { detail: String },
    /// A QoS level (`burstable`, `besteffort`) could not be listed.
    QosCgroupUnreadable { detail: String },
    /// A pod directory went away (or became unreadable) between two listings.
    PodVanishedWhileListing { detail: String },
    /// A cgroup went away during the scan. `None`: its memory files were gone as a whole
    /// (which also looks like a cgroup without a memory controller).
    CgroupVanished { detail: Option<String> },
    /// A cgroup's memory files could not be read or parsed.
    CgroupUnreadable { detail: String },
    /// Some `memory.stat` lines were not `key value`; the rest of the file was used.
    MemoryStatMalformed { lines: usize },
    /// The root memory cgroup could not be read: no node figures from it.
    RootCgroupUnreadable { detail: String },
    /// `/proc/meminfo` could not be read.
    MeminfoUnreadable { detail: String },
    /// Some `/proc/meminfo` lines could not be parsed.
    MeminfoMalformed { lines: usize },
    /// `/proc/pressure/memory` exists but is not PSI.
    PsiMalformed { detail: String },
    /// A kubelet runs but its cgroup is one the kubelet itself would not report.
    KubeletCgroupLeftOut { detail: String },
    /// No container runtime root for `signal` (`nodefs`/`imagefs`).
    NoRuntimeRoot { signal: &'static str },
    /// `statvfs` of the filesystem behind `signal` failed.
    StatvfsFailed { signal: &'static str, detail: String },
    /// A captured tree, and the capture recorded no figures for this filesystem.
    FilesystemNotRecorded { signal: &'static str },
}

impl SkipReason {
    /// Stable kebab-case identifier (JSON `code`); never reworded, unlike the sentence.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NoPodCgroupRoot => "no-pod-cgroup-root",
            SkipReason::PodCgroupRootUnreadable { .. } => "pod-cgroup-root-unreadable",
            SkipReason::QosCgroupUnreadable { .. } => "qos-cgroup-unreadable",
            SkipReason::PodVanishedWhileListing { .. } => "pod-vanished-while-listing",
            SkipReason::CgroupVanished { .. } => "cgroup-vanished",
            SkipReason::CgroupUnreadable { .. } => "cgroup-unreadable",
            SkipReason::MemoryStatMalformed { .. } => "memory-stat-malformed",
            SkipReason::RootCgroupUnreadable { .. } => "root-cgroup-unreadable",
            SkipReason::MeminfoUnreadable { .. } => "meminfo-unreadable",
            SkipReason::MeminfoMalformed { .. } => "meminfo-malformed",
            SkipReason::PsiMalformed { .. } => "psi-malformed",
            SkipReason::KubeletCgroupLeftOut { .. } => "kubelet-cgroup-left-out",
            SkipReason::NoRuntimeRoot { .. } => "no-runtime-root",
            SkipReason::StatvfsFailed { .. } => "statvfs-failed",
            SkipReason::FilesystemNotRecorded { .. } => "filesystem-not-recorded",
        }
    }

    /// Every code, in declaration order (for docs and tests that list them).
    pub const CODES: [&'static str; 15] = [
        "no-pod-cgroup-root",
        "pod-cgroup-root-unreadable",
        "qos-cgroup-unreadable",
        "pod-vanished-while-listing",
        "cgroup-vanished",
        "cgroup-unreadable",
        "memory-stat-malformed",
        "root-cgroup-unreadable",
        "meminfo-unreadable",
        "meminfo-malformed",
        "psi-malformed",
        "kubelet-cgroup-left-out",
        "no-runtime-root",
        "statvfs-failed",
        "filesystem-not-recorded",
    ];
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NoPodCgroupRoot => f.write_str(
                "no pod cgroup root (neither kubepods nor kubepods.slice): no pods and no \
                 allocatableMemory.available",
            ),
            SkipReason::PodCgroupRootUnreadable { detail } => {
                write!(f, "pod cgroup root unreadable: {detail}")
            }
            SkipReason::QosCgroupUnreadable { detail } => {
                write!(f, "QoS cgroup unreadable: {detail}")
            }
            SkipReason::PodVanishedWhileListing { detail } => {
                write!(f, "pod cgroup vanished or unreadable while listing: {detail}")
            }
            SkipReason::CgroupVanished { detail: None } => {
                f.write_str("cgroup vanished during the scan (or has no memory controller)")
            }
            SkipReason::CgroupVanished { detail: Some(detail) } => {
                write!(f, "cgroup vanished during the scan: {detail}")
            }
            SkipReason::CgroupUnreadable { detail } => f.write_str(detail),
            SkipReason::MemoryStatMalformed { lines } => {
                write!(f, "{lines} malformed lines ignored, the rest kept")
            }
            SkipReason::RootCgroupUnreadable { detail } => {
                write!(f, "root memory cgroup unreadable: {detail}")
            }
            SkipReason::MeminfoUnreadable { detail } => {
                write!(f, "unreadable ({detail}): no machine capacity, no node memory")
            }
            SkipReason::MeminfoMalformed { lines } => write!(f, "{lines} malformed lines ignored"),
            SkipReason::PsiMalformed { detail } => write!(f, "not PSI: {detail}"),
            SkipReason::KubeletCgroupLeftOut { detail } => {
                write!(f, "kubelet system container left out: {detail}")
            }
            SkipReason::NoRuntimeRoot { signal } => write!(
                f,
                "{signal}: no container runtime root found; {signal} signals unobserved \
                 (pass --{signal} PATH)"
            ),
            SkipReason::StatvfsFailed { signal, detail } => {
                write!(f, "{signal}: statvfs failed ({detail}); signal unobserved")
            }
            SkipReason::FilesystemNotRecorded { signal } => write!(
                f,
                "{signal}: a captured tree has no real filesystems and the capture recorded \
                 none for this path; signal unobserved"
            ),
        }
    }
}

/// JSON: `{"code": "...", "reason": "<sentence>"}`: the code to match on, the sentence to show.
impl Serialize for SkipReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SkipReason", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("reason", &self.to_string())?;
        st.end()
    }
}

/// JSON: `{"path": "...", "code": "...", "reason": "<sentence>"}`.
impl Serialize for Skip {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Skip", 3)?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("code", self.reason.code())?;
        st.serialize_field("reason", &self.reason.to_string())?;
        st.end()
    }
}

impl fmt::Display for Skip {
    /// `path: reason`, the line `status`, `summary` and `capture` print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_reason() -> Vec<SkipReason> {
        let d = || "boom".to_string();
        vec![
            SkipReason::NoPodCgroupRoot,
            SkipReason::PodCgroupRootUnreadable { detail: d() },
            SkipReason::QosCgroupUnreadable { detail: d() },
            SkipReason::PodVanishedWhileListing { detail: d() },
            SkipReason::CgroupVanished { detail: None },
            SkipReason::CgroupUnreadable { detail: d() },
            SkipReason::MemoryStatMalformed { lines: 2 },
            SkipReason::RootCgroupUnreadable { detail: d() },
            SkipReason::MeminfoUnreadable { detail: d() },
            SkipReason::MeminfoMalformed { lines: 2 },
            SkipReason::PsiMalformed { detail: d() },
            SkipReason::KubeletCgroupLeftOut { detail: d() },
            SkipReason::NoRuntimeRoot { signal: "imagefs" },
            SkipReason::StatvfsFailed {
                signal: "nodefs",
                detail: d(),
            },
            SkipReason::FilesystemNotRecorded { signal: "nodefs" },
        ]
    }

    #[test]
    fn codes_are_unique_and_listed_in_order() {
        let codes: Vec<&str> = every_reason().iter().map(SkipReason::code).collect();
        assert_eq!(codes, SkipReason::CODES);
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'))
        );
    }

    #[test]
    fn sentences_keep_their_wording() {
        let r = SkipReason::NoPodCgroupRoot.to_string();
        assert!(
            r.starts_with("no pod cgroup root (neither kubepods nor kubepods.slice)"),
            "{r}"
        );
        let r = SkipReason::CgroupVanished {
            detail: Some("x".into()),
        };
        assert_eq!(r.to_string(), "cgroup vanished during the scan: x");
        let r = SkipReason::NoRuntimeRoot { signal: "imagefs" }.to_string();
        assert_eq!(
            r,
            "imagefs: no container runtime root found; imagefs signals unobserved \
             (pass --imagefs PATH)"
        );
    }

    #[test]
    fn json_has_path_code_and_sentence() {
        let skip = Skip {
            path: PathBuf::from("/proc/meminfo"),
            reason: SkipReason::MeminfoMalformed { lines: 3 },
        };
        assert_eq!(
            serde_json::to_value(&skip).unwrap(),
            serde_json::json!({
                "path": "/proc/meminfo",
                "code": "meminfo-malformed",
                "reason": "3 malformed lines ignored",
            })
        );
        assert_eq!(skip.to_string(), "/proc/meminfo: 3 malformed lines ignored");
    }
}
