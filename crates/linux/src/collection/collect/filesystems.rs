//! The nodefs and imagefs figures of a pass: statvfs on the live host, the figures a capture
//! recorded on a captured tree, and a skip reason for each signal left unobserved.

use std::path::PathBuf;

use super::Collector;
use crate::collection::fsstats::{self, FsFigures};
use crate::collection::skip::{Skip, SkipReason};

impl Collector {
    /// The figures behind the `nodefs.*` and `imagefs.*` signals.
    pub(super) fn filesystems(&self, skipped: &mut Vec<Skip>) -> (Option<FsFigures>, Option<FsFigures>) {
        let root = &self.opts.root;
        let nodefs_path = self
            .opts
            .nodefs
            .clone()
            .unwrap_or_else(|| PathBuf::from(fsstats::DEFAULT_NODEFS));
        let imagefs_path = self.opts.imagefs.clone().or_else(|| match &self.meta {
            Some(m) => m.imagefs.as_ref().map(|f| f.path.clone()),
            None => fsstats::default_imagefs(root),
        });
        let mut one = |signal: &'static str, path: Option<PathBuf>| -> Option<FsFigures> {
            let Some(path) = path else {
                skipped.push(Skip {
                    path: PathBuf::from(fsstats::RUNTIME_ROOTS.join(", ")),
                    reason: SkipReason::NoRuntimeRoot { signal },
                });
                return None;
            };
            if root.is_live() {
                match fsstats::statvfs(root, &path) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        skipped.push(Skip {
                            path: path.clone(),
                            reason: SkipReason::StatvfsFailed {
                                signal,
                                detail: e.to_string(),
                            },
                        });
                        None
                    }
                }
            } else {
                let recorded = self.meta.as_ref().and_then(|m| {
                    [&m.nodefs, &m.imagefs]
                        .into_iter()
                        .flatten()
                        .find(|f| f.path == path)
                        .cloned()
                });
                if recorded.is_none() {
                    skipped.push(Skip {
                        path: path.clone(),
                        reason: SkipReason::FilesystemNotRecorded { signal },
                    });
                }
                recorded
            }
        };
        let nodefs = one("nodefs", Some(nodefs_path));
        let imagefs = one("imagefs", imagefs_path);
        (nodefs, imagefs)
    }
}
