//! Kernel-file text -> every pure parser headroom-linux reads the host with: single values
//! (`max`, v1's unlimited `9223372036854771712`, `-1`), flat-keyed files (`memory.stat`,
//! `memory.events`), `/proc/meminfo`, PSI, mountinfo, `/proc/<pid>/cgroup`, `/proc/stat`,
//! `/proc/loadavg` and cgroup directory names. The whole input is given to each parser.
//!
//! Properties: a value parses the same with surrounding whitespace and re-parses from its
//! printed form; a parsed `memory.stat` prints and re-parses to the same map, and every
//! non-blank line is either an entry or counted as malformed (meminfo likewise); a breakdown
//! built from the parsed figures keeps working set <= usage and available + working set = limit
//! under a real limit; a parsed PSI file prints and re-parses to the same figures.
#![no_main]

use headroom_linux::memcg::{MemoryBreakdown, StatMap, parse_value, working_set};
use headroom_linux::meminfo::Meminfo;
use headroom_linux::{boottime, discovery, kubelet_cgroup, layout, notify, pids, psi};
use libfuzzer_sys::fuzz_target;

fn check_value(line: &str) {
    let v = parse_value(line);
    assert_eq!(
        v,
        parse_value(&format!(" {line}\n")),
        "whitespace changed {line:?}"
    );
    if let Some(v) = v {
        assert_eq!(parse_value(&v.to_string()), Some(v), "{line:?} -> {v}");
    }
}

fn check_stat(text: &str) -> StatMap {
    let stat = StatMap::parse(text);
    let non_blank = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(stat.len() + stat.malformed_lines(), non_blank, "lines lost");
    let printed: String = stat.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
    let again = StatMap::parse(&printed);
    assert_eq!(
        again.malformed_lines(),
        0,
        "printed stat is malformed: {printed:?}"
    );
    assert!(stat.iter().eq(again.iter()), "stat round trip: {printed:?}");
    stat
}

/// A breakdown from the first two lines (usage, limit) and the parsed `memory.stat`.
fn check_breakdown(text: &str, stat: &StatMap) {
    let mut lines = text.lines();
    let (Some(usage), Some(limit)) = (
        lines.next().and_then(parse_value),
        lines.next().and_then(parse_value),
    ) else {
        return;
    };
    let inactive = stat.get("total_inactive_file").or(stat.get("inactive_file"));
    let b = MemoryBreakdown {
        usage,
        limit,
        inactive_file: inactive,
        working_set: working_set(usage, inactive),
        swap: stat.get("swap").unwrap_or(0),
        swap_limit: stat.get("swap_limit"),
        ..MemoryBreakdown::default()
    };
    assert!(b.working_set <= b.usage);
    let now = jiff::Timestamp::UNIX_EPOCH;
    let m = b.to_summary(now, true);
    match m.available_bytes {
        Some(a) if b.working_set <= limit => assert_eq!(a + b.working_set, limit),
        Some(a) => assert_eq!(a, 0),
        None => assert!(!b.has_limit(), "a real limit {limit} has no availableBytes"),
    }
    let _ = b.to_summary_swap(now);
}

fn check_meminfo(text: &str) {
    let m = Meminfo::parse(text);
    let non_blank = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(
        m.fields.len() + m.malformed_lines,
        non_blank,
        "meminfo lines lost"
    );
    let _ = (m.mem_total(), m.swap_used());
    if let Some(f) = m.free() {
        assert!(f.swap_used <= f.swap_total);
        assert!(f.used <= f.total);
    }
}

fn check_psi(text: &str) {
    let Ok(p) = psi::parse(text) else { return };
    let _ = p.to_summary();
    let line = |name: &str, l: &psi::PsiLine| {
        format!(
            "{name} avg10={} avg60={} avg300={} total={}\n",
            l.avg10, l.avg60, l.avg300, l.total
        )
    };
    let printed = line("some", &p.some) + &line("full", &p.full);
    let again = psi::parse(&printed).expect("a printed PSI file parses");
    let bits = |p: &psi::Psi| {
        [p.some, p.full].map(|l| (l.avg10.to_bits(), l.avg60.to_bits(), l.avg300.to_bits(), l.total))
    };
    assert_eq!(bits(&p), bits(&again), "PSI round trip: {printed:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    check_value(text);
    let stat = check_stat(text);
    check_breakdown(text, &stat);
    let _ = notify::parse_flat_keyed(text);
    check_meminfo(text);
    check_psi(text);

    let mounts = layout::parse_mountinfo(text);
    assert!(mounts.len() <= text.lines().count());
    let _ = mounts.iter().map(|m| m.is_v1_memory()).count();
    for c in layout::v1_controllers(text) {
        assert!(
            !c.is_empty() && !c.contains(',') && !c.starts_with("name="),
            "controller {c:?}"
        );
    }
    let _ = kubelet_cgroup::cgroup_of(text, true);
    let _ = kubelet_cgroup::cgroup_of(text, false);
    let _ = boottime::parse_btime(text);
    let _ = pids::parse_loadavg_total(text);
    for name in text.lines().take(64) {
        if let Some(uid) = discovery::pod_uid(name) {
            assert!(!uid.is_empty());
        }
        let _ = discovery::container_id(name);
        assert!(discovery::normalize_cgroup_name(name).starts_with('/'));
    }
});
