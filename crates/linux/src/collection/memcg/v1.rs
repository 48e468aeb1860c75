//! cgroup v1 specifics: which files a v1 memory cgroup is read from, and cAdvisor's v1 rules
//! (`total_*` keys under `use_hierarchy`, local page faults, the memsw "swap limit").

use std::path::Path;

use super::{CgroupVersion, MemcgError, MemcgReader, MemcgSample, MemoryBreakdown, parse_value, working_set};
use crate::collection::root::FileReader;

/// cAdvisor's figures for a v1 sample.
pub(super) fn figures(s: &MemcgSample) -> MemoryBreakdown {
    let hierarchy = s.use_hierarchy.unwrap_or(1) == 1;
    let stat = &s.stat;
    let pick = |key: &str| {
        if hierarchy {
            stat.get(&format!("total_{key}"))
        } else {
            stat.get(key)
        }
        .unwrap_or(0)
    };
    let usage = s.usage.unwrap_or(0);
    let inactive_file = stat.get("total_inactive_file");
    MemoryBreakdown {
        version: Some(CgroupVersion::V1),
        usage,
        max_usage: s.max_usage.unwrap_or(0),
        failcnt: s.failcnt.unwrap_or(0),
        limit: s.limit.unwrap_or(0),
        kernel: s.kmem_usage,
        oom_kill: s.oom_control_kills,
        cache: pick("cache"),
        rss: pick("rss"),
        swap: pick("swap"),
        mapped_file: pick("mapped_file"),
        shmem: pick("shmem"),
        dirty: pick("dirty"),
        writeback: pick("writeback"),
        active_file: stat.get("total_active_file").unwrap_or(0),
        inactive_file,
        pgfault: stat.get("pgfault").unwrap_or(0),
        pgmajfault: stat.get("pgmajfault").unwrap_or(0),
        // Kept as cAdvisor's spec has it (memory+swap, missing => 0), see the field docs.
        swap_limit: Some(s.swap_limit.unwrap_or(0)),
        working_set: working_set(usage, inactive_file),
        ..Default::default()
    }
}

impl MemcgReader {
    pub(super) fn read_v1(&mut self, files: &mut FileReader, dir: &Path) -> Result<(), MemcgError> {
        if !self.load_stat(files, dir, "memory.stat")? {
            return Err(MemcgError::Gone(self.file(dir, "memory.stat").to_path_buf()));
        }
        let usage = self.required(files, dir, "memory.usage_in_bytes")?;
        let max_usage = self.required(files, dir, "memory.max_usage_in_bytes")?;
        let failcnt = self.required(files, dir, "memory.failcnt")?;
        let limit = self.required(files, dir, "memory.limit_in_bytes")?;
        let use_hierarchy = self.optional(files, dir, "memory.use_hierarchy");
        let kmem_usage = self.optional(files, dir, "memory.kmem.usage_in_bytes");
        let swap_limit = self.optional(files, dir, "memory.memsw.limit_in_bytes");
        let oom_control_kills = self.oom_kill_v1(files, dir);
        let s = &mut self.sample;
        s.usage = Some(usage);
        s.max_usage = Some(max_usage);
        s.failcnt = Some(failcnt);
        s.limit = Some(limit);
        s.use_hierarchy = use_hierarchy;
        s.kmem_usage = kmem_usage;
        s.swap_limit = swap_limit;
        s.oom_control_kills = oom_control_kills;
        Ok(())
    }

    pub(super) fn oom_kill_v1(&mut self, files: &mut FileReader, dir: &Path) -> Option<u64> {
        let path = self.file(dir, "memory.oom_control");
        let text = files.read(path).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(parse_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::memcg::testing::write;
    use crate::collection::memcg::{CgroupKind, StatMap};
    use jiff::Timestamp;

    #[test]
    fn v1_uses_total_keys_local_faults_and_clamps() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("cg");
        write(
            &d,
            &[
                (
                    "memory.stat",
                    "cache 1\nrss 2\npgfault 10\npgmajfault 1\ntotal_cache 100\ntotal_rss 50\n\
                     total_mapped_file 7\ntotal_shmem 3\ntotal_active_file 20\n\
                     total_inactive_file 900\ntotal_pgfault 99999\n",
                ),
                ("memory.usage_in_bytes", "500\n"),
                ("memory.max_usage_in_bytes", "600\n"),
                ("memory.failcnt", "2\n"),
                ("memory.limit_in_bytes", "9223372036854771712\n"),
                ("memory.use_hierarchy", "1\n"),
                ("memory.kmem.usage_in_bytes", "11\n"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
                ),
            ],
        );
        let kind = CgroupKind {
            version: CgroupVersion::V1,
            is_root: false,
            host_swap_used: 0,
        };
        let b = MemcgReader::new().read(&mut FileReader::new(), &d, kind).unwrap();
        assert_eq!((b.usage, b.cache, b.rss, b.mapped_file), (500, 100, 50, 7));
        assert_eq!(b.working_set, 0, "clamped, not wrapped");
        assert_eq!((b.pgfault, b.pgmajfault), (10, 1));
        assert_eq!(b.kernel, Some(11));
        assert_eq!(b.oom_kill, Some(3));
        assert!(!b.has_limit());
        let t = Timestamp::UNIX_EPOCH;
        let m = b.to_summary(t, false);
        assert_eq!(m.available_bytes, None);
        assert_eq!(m.usage_bytes, Some(500));

        // use_hierarchy 0 switches cache/rss to local keys but not the working set.
        std::fs::write(d.join("memory.use_hierarchy"), "0\n").unwrap();
        std::fs::write(d.join("memory.usage_in_bytes"), "1000\n").unwrap();
        std::fs::write(d.join("memory.limit_in_bytes"), "2000\n").unwrap();
        let b = MemcgReader::new().read(&mut FileReader::new(), &d, kind).unwrap();
        assert_eq!((b.cache, b.rss, b.working_set), (1, 2, 100));
        assert_eq!(b.available(), Some(1900));
        // No memsw file (swap accounting off): cAdvisor's limit is 0, so is the availability.
        assert_eq!(
            b.to_summary_swap(Timestamp::UNIX_EPOCH).swap_available_bytes,
            Some(0)
        );
        // v1 swap "limit" is the memsw (memory+swap) limit, as cAdvisor's spec reports it.
        std::fs::write(
            d.join("memory.memsw.limit_in_bytes"),
            "5000
",
        )
        .unwrap();
        std::fs::write(
            d.join("memory.stat"),
            "swap 300
total_inactive_file 900
",
        )
        .unwrap();
        let b = MemcgReader::new().read(&mut FileReader::new(), &d, kind).unwrap();
        let swap = b.to_summary_swap(Timestamp::UNIX_EPOCH);
        assert_eq!(
            (swap.swap_usage_bytes, swap.swap_available_bytes),
            (Some(300), Some(4700))
        );

        // Junk in a required file is an error naming the file and value.
        std::fs::write(d.join("memory.usage_in_bytes"), "lots\n").unwrap();
        let err = MemcgReader::new()
            .read(&mut FileReader::new(), &d, kind)
            .unwrap_err();
        assert!(err.to_string().contains("memory.usage_in_bytes"), "{err}");
        assert!(err.to_string().contains("lots"), "{err}");
        assert!(!err.is_gone());
        // A vanished cgroup is "gone".
        let err = MemcgReader::new()
            .read(&mut FileReader::new(), &tmp.path().join("nope"), kind)
            .unwrap_err();
        assert!(err.is_gone());
    }

    fn v1_sample(stat: &str, usage: u64, use_hierarchy: Option<u64>) -> MemcgSample {
        MemcgSample {
            stat: StatMap::parse(stat),
            usage: Some(usage),
            limit: Some(2000),
            max_usage: Some(usage),
            failcnt: Some(0),
            use_hierarchy,
            ..MemcgSample::empty(CgroupKind {
                version: CgroupVersion::V1,
                is_root: false,
                host_swap_used: 0,
            })
        }
    }

    #[test]
    fn v1_accounting_on_values() {
        let stat = "cache 1\nrss 2\nswap 3\ntotal_cache 100\ntotal_rss 50\ntotal_swap 30\n\
                    total_active_file 20\ntotal_inactive_file 300\npgfault 10\ntotal_pgfault 99\n";
        let b = MemoryBreakdown::from_sample(&v1_sample(stat, 1000, None));
        // use_hierarchy missing counts as 1: total_* keys.
        assert_eq!((b.cache, b.rss, b.swap), (100, 50, 30));
        assert_eq!(
            (b.working_set, b.active_file, b.inactive_file),
            (700, 20, Some(300))
        );
        assert_eq!(b.pgfault, 10, "local faults, cAdvisor's quirk");
        assert_eq!(b.available(), Some(1300));
        assert_eq!(b.swap_limit, Some(0), "no memsw file: cAdvisor's 0");
        let b = MemoryBreakdown::from_sample(&v1_sample(stat, 1000, Some(0)));
        assert_eq!((b.cache, b.rss, b.swap, b.working_set), (1, 2, 3, 700));
        // No inactive_file key: the working set is the usage; more inactive than usage: 0.
        assert_eq!(
            MemoryBreakdown::from_sample(&v1_sample("", 1000, None)).working_set,
            1000
        );
        assert_eq!(
            MemoryBreakdown::from_sample(&v1_sample("total_inactive_file 5000\n", 1000, None)).working_set,
            0
        );
    }
}
