//! The test bed itself, on the real VM: a guest boots with cgroup v2 and its memory
//! controller, passing and failing cases come back as such, files come back byte-exact, a
//! shipped dynamic binary runs with its libraries, the RAM disk gives real page cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_vmtest::{Guest, boot_or_skip};

const SCENARIO: &str = r#"
vm_check cgroup2-memory grep -qw memory /sys/fs/cgroup/cgroup.subtree_control
vm_check shipped-binary-runs /vmtest/bin/hostls /vmtest
vm_case deliberate-failure fail "expected failure
second line"
printf 'a\000b\377end' > /tmp/bytes
vm_file bytes /tmp/bytes
vm_ramdisk /mnt/disk 64 && vm_case ramdisk pass || vm_case ramdisk fail "vm_ramdisk failed"
mkdir /sys/fs/cgroup/t
vm_in_cgroup /sys/fs/cgroup/t dd if=/dev/zero of=/mnt/disk/f bs=1M count=16 2>/dev/null
sync
cat /sys/fs/cgroup/t/memory.stat > /tmp/stat
vm_file t-memory.stat /tmp/stat
echo "$GREETING" > /tmp/greeting
vm_file greeting /tmp/greeting
exit 7
"#;

#[test]
fn a_guest_boots_runs_its_cases_and_sends_files_back() {
    let guest = Guest::new(SCENARIO)
        .binary("hostls", "/bin/ls")
        .env("GREETING", "it's here");
    let Some(out) = boot_or_skip("a_guest_boots_runs_its_cases_and_sends_files_back", &guest) else {
        return;
    };
    let report = out.log_for_failure();
    assert_eq!(
        out.ending,
        headroom_vmtest::Ending::Finished { scenario_exit: 7 },
        "{report}"
    );
    assert!(out.kernel.contains("amd64"), "{report}");
    out.assert_case("cgroup2-memory");
    out.assert_case("shipped-binary-runs");
    out.assert_case("ramdisk");
    let failed = out.case("deliberate-failure").unwrap();
    assert!(!failed.passed);
    assert_eq!(failed.message, "expected failure\nsecond line");
    assert!(!out.all_passed());
    assert_eq!(out.files["bytes"], b"a\0b\xffend");
    assert_eq!(out.text("greeting").unwrap(), "it's here\n");
    // 16 MiB written on the ext4 RAM disk by a process in cgroup t: charged there as file
    // pages, on the inactive list (written once).
    let stat = out.text("t-memory.stat").unwrap();
    let field = |k: &str| -> u64 {
        stat.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or_else(|| panic!("no {k} in memory.stat:\n{stat}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(field("file") >= 16 << 20, "{stat}");
    assert!(field("inactive_file") >= 15 << 20, "{stat}");
    assert_eq!(field("shmem"), 0, "{stat}");
    assert!(out.garbled.is_empty(), "{:?}", out.garbled);
}

#[test]
fn a_guest_that_never_ends_is_killed_at_the_timeout() {
    let guest =
        Guest::new("vm_case started pass\nsleep 100000\n").timeout(std::time::Duration::from_secs(45));
    let Some(out) = boot_or_skip("a_guest_that_never_ends_is_killed_at_the_timeout", &guest) else {
        return;
    };
    // Either it timed out after starting the scenario, or (on a very slow machine) before the
    // boot line: both must end in a TimedOut outcome, never a hang.
    assert!(
        matches!(out.ending, headroom_vmtest::Ending::TimedOut(_)),
        "{}",
        out.log_for_failure()
    );
}
