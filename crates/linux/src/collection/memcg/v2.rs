//! cgroup v2 specifics: which files a v2 memory cgroup is read from (`memory.current`,
//! `memory.events`, `memory.pressure`, ...), and cAdvisor's v2 rules, including the root's
//! emulation (no `memory.current`: usage = `anon + file`, swap from meminfo).

use std::path::Path;

use super::{
    CgroupKind, CgroupVersion, MemcgError, MemcgReader, MemcgSample, MemoryBreakdown, MemoryEvents,
    parse_value, working_set,
};
use crate::collection::root::FileReader;

/// cAdvisor's figures for a v2 sample.
pub(super) fn figures(s: &MemcgSample) -> MemoryBreakdown {
    let stat = &s.stat;
    let g = |k: &str| stat.get(k).unwrap_or(0);
    let mut b = MemoryBreakdown {
        version: Some(CgroupVersion::V2),
        cache: g("file"),
        rss: g("anon"),
        shmem: g("shmem"),
        mapped_file: g("file_mapped"),
        dirty: g("file_dirty"),
        writeback: g("file_writeback"),
        active_file: g("active_file"),
        inactive_file: stat.get("inactive_file"),
        kernel: stat.get("kernel"),
        pgfault: g("pgfault"),
        pgmajfault: g("pgmajfault"),
        psi: s.psi.clone(),
        ..Default::default()
    };
    match s.usage {
        Some(v) => {
            b.usage = v;
            b.limit = s.limit.unwrap_or(u64::MAX);
            b.max_usage = s.max_usage.unwrap_or(0);
            // Usage and limit are read independently, as cAdvisor's stats and spec do: no
            // swap accounting => usage 0, limit 0.
            b.swap = s.swap_current.unwrap_or(0);
            b.swap_limit = Some(s.swap_limit.unwrap_or(0));
            b.events = s.events;
            b.oom_kill = s.events.map(|e| e.oom_kill);
        }
        None => {
            // The root (the reader refuses a non-root cgroup without memory.current).
            b.usage = g("anon").saturating_add(g("file"));
            b.limit = u64::MAX;
            b.swap = s.host_swap_used;
            // No memory.max at the root: cAdvisor's spec keeps 0 (the collector puts
            // SwapTotal here when meminfo has it).
            b.swap_limit = Some(0);
        }
    }
    b.working_set = working_set(b.usage, b.inactive_file);
    b
}

impl MemcgReader {
    pub(super) fn read_v2(
        &mut self,
        files: &mut FileReader,
        dir: &Path,
        kind: CgroupKind,
    ) -> Result<(), MemcgError> {
        let has_stat = self.load_stat(files, dir, "memory.stat")?;
        if !has_stat {
            if !kind.is_root {
                return Err(MemcgError::Gone(self.file(dir, "memory.stat").to_path_buf()));
            }
            // The library ignores a missing root memory.stat: every figure becomes 0.
            self.sample.stat.parse_into("");
        }
        let current = self.value(files, dir, "memory.current")?;
        match current {
            Some(v) => {
                self.sample.usage = Some(v);
                self.sample.limit = self.optional(files, dir, "memory.max");
                if self.lean {
                    return Ok(());
                }
                self.sample.max_usage = self.optional(files, dir, "memory.peak");
                self.sample.swap_current = self.value(files, dir, "memory.swap.current")?;
                self.sample.swap_limit = self.optional(files, dir, "memory.swap.max");
                self.sample.events = self.read_events(files, dir);
            }
            None if kind.is_root => {}
            None => return Err(MemcgError::Gone(self.file(dir, "memory.current").to_path_buf())),
        }
        if self.lean {
            return Ok(());
        }
        let path = self.file(dir, "memory.pressure");
        self.sample.psi = files
            .read(path)
            .ok()
            .and_then(|t| crate::collection::psi::parse(t).ok())
            .map(Box::new);
        Ok(())
    }

    pub(super) fn read_events(&mut self, files: &mut FileReader, dir: &Path) -> Option<MemoryEvents> {
        let path = self.file(dir, "memory.events");
        let text = files.read(path).ok()?;
        let mut e = MemoryEvents::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(' ') else {
                continue;
            };
            let Some(v) = parse_value(v) else { continue };
            match k {
                "low" => e.low = v,
                "high" => e.high = v,
                "max" => e.max = v,
                "oom" => e.oom = v,
                "oom_kill" => e.oom_kill = v,
                "oom_group_kill" => e.oom_group_kill = v,
                _ => {}
            }
        }
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::memcg::StatMap;
    use crate::collection::memcg::testing::{v2, write};
    use jiff::Timestamp;

    #[test]
    fn v2_non_root_and_root_emulation() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("cg");
        write(
            &d,
            &[
                (
                    "memory.stat",
                    "anon 100\nfile 400\nkernel 30\nshmem 5\nfile_mapped 6\nfile_dirty 7\n\
                     inactive_file 250\nactive_file 120\npgfault 44\npgmajfault 4\n",
                ),
                ("memory.current", "600\n"),
                ("memory.max", "1000\n"),
                ("memory.swap.current", "8\n"),
                ("memory.swap.max", "max\n"),
                ("memory.events", "low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\n"),
                (
                    "memory.pressure",
                    "some avg10=1.00 avg60=0.00 avg300=0.00 total=10\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n",
                ),
            ],
        );
        let b = MemcgReader::new()
            .read(&mut FileReader::new(), &d, v2(false))
            .unwrap();
        assert_eq!((b.usage, b.working_set, b.limit), (600, 350, 1000));
        assert_eq!((b.rss, b.cache, b.kernel), (100, 400, Some(30)));
        assert_eq!(b.events.unwrap().high, 2);
        assert_eq!(b.oom_kill, Some(1));
        assert_eq!(b.swap, 8);
        assert_eq!(
            b.to_summary_swap(Timestamp::UNIX_EPOCH).swap_available_bytes,
            None
        );
        let m = b.to_summary(Timestamp::UNIX_EPOCH, true);
        assert_eq!(m.available_bytes, Some(650));
        assert_eq!(m.psi.unwrap().some.total, 10);

        // Root: no memory.current => anon + file, unlimited, swap from meminfo, no events.
        let r = tmp.path().join("root");
        write(&r, &[("memory.stat", "anon 100\nfile 400\ninactive_file 250\n")]);
        let b = MemcgReader::new()
            .read(&mut FileReader::new(), &r, v2(true))
            .unwrap();
        assert_eq!((b.usage, b.working_set, b.limit), (500, 250, u64::MAX));
        assert_eq!((b.swap, b.max_usage, b.events), (4096, 0, None));
        // Missing non-root stat => gone; missing root stat => zeros.
        let e = tmp.path().join("empty");
        std::fs::create_dir_all(&e).unwrap();
        assert!(
            MemcgReader::new()
                .read(&mut FileReader::new(), &e, v2(false))
                .unwrap_err()
                .is_gone()
        );
        let b = MemcgReader::new()
            .read(&mut FileReader::new(), &e, v2(true))
            .unwrap();
        assert_eq!((b.usage, b.working_set), (0, 0));
    }

    #[test]
    fn a_lean_read_opens_three_files_and_keeps_every_decision_figure() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("cg");
        write(
            &d,
            &[
                (
                    "memory.stat",
                    "anon 100\nfile 400\ninactive_file 250\nkernel 30\n",
                ),
                ("memory.current", "600\n"),
                ("memory.max", "1000\n"),
                ("memory.peak", "700\n"),
                ("memory.swap.current", "8\n"),
                ("memory.swap.max", "max\n"),
                ("memory.events", "low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\n"),
                (
                    "memory.pressure",
                    "some avg10=1.00 avg60=0.00 avg300=0.00 total=10\n",
                ),
            ],
        );
        let full = MemcgReader::new()
            .read(&mut FileReader::new(), &d, v2(false))
            .unwrap();
        let mut reader = MemcgReader::new();
        reader.lean = true;
        let mut files = FileReader::recording();
        let lean = reader.read(&mut files, &d, v2(false)).unwrap();
        let read: Vec<String> = files
            .take_recorded()
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(read, ["memory.stat", "memory.current", "memory.max"]);
        // What the eviction signals and the memory ranking read is the full read's.
        assert_eq!(
            (
                lean.usage,
                lean.working_set,
                lean.limit,
                lean.inactive_file,
                lean.rss
            ),
            (
                full.usage,
                full.working_set,
                full.limit,
                full.inactive_file,
                full.rss
            )
        );
        let t = Timestamp::UNIX_EPOCH;
        let (fm, lm) = (full.to_summary(t, true), lean.to_summary(t, true));
        assert_eq!(
            (lm.available_bytes, lm.usage_bytes, lm.working_set_bytes),
            (fm.available_bytes, fm.usage_bytes, fm.working_set_bytes)
        );
        // Left out: the figures no signal reads.
        assert_eq!((lean.swap, lean.max_usage, lean.events), (0, 0, None));
        assert!(lean.psi.is_none());

        // The root: memory.stat only (no pressure).
        let r = tmp.path().join("root");
        write(
            &r,
            &[
                ("memory.stat", "anon 100\nfile 400\ninactive_file 250\n"),
                (
                    "memory.pressure",
                    "some avg10=1.00 avg60=0.00 avg300=0.00 total=10\n",
                ),
            ],
        );
        let root = reader.read(&mut files, &r, v2(true)).unwrap();
        assert_eq!(files.take_recorded().len(), 1);
        assert_eq!((root.usage, root.working_set), (500, 250));
    }

    #[test]
    fn v2_accounting_on_values() {
        let kind = |is_root| CgroupKind {
            version: CgroupVersion::V2,
            is_root,
            host_swap_used: 77,
        };
        let stat = StatMap::parse("anon 100\nfile 400\ninactive_file 250\nkernel 9\n");
        let root = MemcgSample {
            stat: stat.clone(),
            ..MemcgSample::empty(kind(true))
        };
        let b = MemoryBreakdown::from_sample(&root);
        assert_eq!((b.usage, b.working_set, b.swap), (500, 250, 77));
        assert!(!b.has_limit());
        assert_eq!(b.events, None);
        let events = MemoryEvents {
            oom_kill: 2,
            ..Default::default()
        };
        let pod = MemcgSample {
            stat,
            usage: Some(600),
            limit: Some(1000),
            swap_current: Some(8),
            events: Some(events),
            ..MemcgSample::empty(kind(false))
        };
        let b = MemoryBreakdown::from_sample(&pod);
        assert_eq!((b.usage, b.working_set, b.limit, b.swap), (600, 350, 1000, 8));
        assert_eq!((b.oom_kill, b.kernel), (Some(2), Some(9)));
        // memory.max missing: unlimited.
        let b = MemoryBreakdown::from_sample(&MemcgSample { limit: None, ..pod });
        assert_eq!(b.limit, u64::MAX);
    }
}
