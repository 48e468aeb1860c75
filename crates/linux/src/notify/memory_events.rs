//! cgroup v2 `memory.events`: inotify `IN_MODIFY` on the file, and which counters moved.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::inotify;

use super::{NotifyError, io_err};

/// Watches a cgroup v2 `memory.events` (or `memory.events.local`, `cgroup.events`) file with
/// inotify and reports which counters changed since the last look.
pub struct MemoryEventsWatch {
    pub(super) inotify: OwnedFd,
    pub(super) path: PathBuf,
    last: BTreeMap<String, u64>,
}

impl MemoryEventsWatch {
    pub fn watch(path: &Path) -> Result<MemoryEventsWatch, NotifyError> {
        let inotify = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
            .map_err(|e| io_err("create an inotify instance for", path, e.into()))?;
        inotify::add_watch(&inotify, path, inotify::WatchFlags::MODIFY)
            .map_err(|e| io_err("watch (inotify IN_MODIFY)", path, e.into()))?;
        let last = read_flat_keyed(path).unwrap_or_default();
        Ok(MemoryEventsWatch {
            inotify,
            path: path.to_path_buf(),
            last,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Consume pending inotify events; if there were any, re-read the file and return the
    /// counters whose value changed.
    pub(super) fn drain(&mut self) -> Option<Vec<(String, u64)>> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
        let mut reader = inotify::Reader::new(&self.inotify, &mut buf);
        let mut any = false;
        while reader.next().is_ok() {
            any = true;
        }
        if !any {
            return None;
        }
        let now = read_flat_keyed(&self.path).unwrap_or_default();
        let changed = now
            .iter()
            .filter(|(k, v)| self.last.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.last = now;
        Some(changed)
    }
}

/// Parse a flat-keyed cgroup file (`key value` per line); lines that are not that are skipped.
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let key = it.next()?;
            let value = it.next()?.parse().ok()?;
            Some((key.to_string(), value))
        })
        .collect()
}

fn read_flat_keyed(path: &Path) -> std::io::Result<BTreeMap<String, u64>> {
    let mut text = String::new();
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(parse_flat_keyed(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_files_parse_and_skip_junk() {
        let m = parse_flat_keyed("low 0\nhigh 12\nmax 3\njunk\noom x\noom_kill 1\n");
        assert_eq!(m.get("high"), Some(&12));
        assert_eq!(m.get("oom_kill"), Some(&1));
        assert!(!m.contains_key("oom"));
        assert!(!m.contains_key("junk"));
    }
}
