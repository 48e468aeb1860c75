//! The metadata file at the top of a capture (`headroom-capture.json`): what a capture knows
//! besides the files. Its own module so both sides depend on it one way: [`super::capture`]
//! writes it after a pass, [`super::collect`] reads it when the root is a captured tree (the
//! collector used to import it from `capture`, which imports the collector: a circle).

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::collection::fsstats::FsFigures;
use crate::collection::layout::LayoutEvidence;
use crate::collection::root::HostRoot;

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

/// The metadata of a captured tree, if it has any; `Err(detail)` if the file is there but is
/// not valid metadata. A live root has none by definition.
pub(crate) fn read(root: &HostRoot) -> Result<Option<CaptureMeta>, (PathBuf, String)> {
    if root.is_live() {
        return Ok(None);
    }
    let path = root.path(META_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<CaptureMeta>(&text)
            .map(Some)
            .map_err(|e| (path, e.to_string())),
        Err(_) => Ok(None),
    }
}
