//! A memory cgroup directory with fuzzed file contents -> `MemcgReader::read` as v1, v2 and v2
//! root -> the kubelet's `MemoryStats`/`SwapStats`. The parsers are fuzzed directly by
//! `cgroup_files`; this target covers the rules that combine the files (required vs optional
//! files, `max` and v1's unlimited limit, hierarchy keys, root emulation) through real files in
//! a private directory under /dev/shm (tmpfs), rewritten for every input.
//!
//! Input: file contents separated by NUL bytes, in the order of `FILES`; a missing part leaves
//! that file out. Properties: the working set never exceeds usage; `availableBytes` is present
//! exactly under a real limit and then `available + workingSet` rebuilds the limit (0 when the
//! working set is above it); `swapAvailableBytes` never exceeds the swap limit.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use headroom_linux::memcg::{CgroupKind, CgroupVersion, MemcgReader};
use headroom_linux::root::FileReader;
use libfuzzer_sys::fuzz_target;

/// v1 and v2 names share a slot: each version reads only its own.
const FILES: [&[&str]; 9] = [
    &["memory.stat"],
    &["memory.usage_in_bytes", "memory.current"],
    &["memory.limit_in_bytes", "memory.max"],
    &["memory.max_usage_in_bytes", "memory.peak"],
    &["memory.failcnt", "memory.swap.current"],
    &["memory.use_hierarchy", "memory.swap.max"],
    &["memory.memsw.limit_in_bytes", "memory.events"],
    &["memory.oom_control", "memory.pressure"],
    &["memory.kmem.usage_in_bytes"],
];

fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        };
        let d = PathBuf::from(base).join(format!("headroom-fuzz-memcg-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the fuzz cgroup directory");
        d
    })
}

fn check(reader: &mut MemcgReader, files: &mut FileReader, kind: CgroupKind) {
    let Ok(b) = reader.read(files, dir(), kind) else {
        return;
    };
    assert!(
        b.working_set <= b.usage,
        "{kind:?}: working set above usage: {b:?}"
    );
    let now = jiff::Timestamp::UNIX_EPOCH;
    let m = b.to_summary(now, true);
    match m.available_bytes {
        Some(a) if b.working_set <= b.limit => assert_eq!(a + b.working_set, b.limit, "{b:?}"),
        Some(a) => assert_eq!(a, 0, "{b:?}"),
        None => assert!(
            !b.has_limit(),
            "{kind:?}: real limit without availableBytes: {b:?}"
        ),
    }
    let s = b.to_summary_swap(now);
    if let (Some(a), Some(l)) = (s.swap_available_bytes, b.swap_limit) {
        assert!(a <= l, "{b:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    for names in FILES {
        let part = parts.next();
        for name in names {
            let path = dir().join(name);
            match part {
                Some(bytes) => std::fs::write(&path, bytes).expect("write a fuzz cgroup file"),
                None => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("remove {}: {e}", path.display()),
                },
            }
        }
    }
    let mut reader = MemcgReader::new();
    let mut files = FileReader::new();
    for (version, is_root) in [
        (CgroupVersion::V1, false),
        (CgroupVersion::V1, true),
        (CgroupVersion::V2, false),
        (CgroupVersion::V2, true),
    ] {
        let kind = CgroupKind {
            version,
            is_root,
            host_swap_used: u64::MAX,
        };
        check(&mut reader, &mut files, kind);
    }
});
