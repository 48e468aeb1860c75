//! Test/bench helper: uniquely named cgroup v1 memory cgroups that are ALWAYS removed (Drop),
//! together with the processes the test started in them. Touches nothing it did not create.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

// Skip lines go to the real stderr: the test harness captures eprintln! of passing tests,
// which would hide them.
use std::io::Write as _;

use std::path::{Path, PathBuf};
use std::process::Child;

/// The v1 memory hierarchy on the test machines.
pub const V1_MEMORY: &str = "/sys/fs/cgroup/memory";

/// Why the kernel tests cannot run here, or `None` when they can.
pub fn missing_prerequisite() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root".into());
    }
    if !Path::new(V1_MEMORY).join("memory.stat").exists() {
        return Some(format!("no cgroup v1 memory controller at {V1_MEMORY}"));
    }
    None
}

/// Skip (returns true) or fail, as HEADROOM_REQUIRE_KERNEL_TESTS says.
pub fn skip_unless_kernel(test: &str) -> bool {
    let Some(why) = missing_prerequisite() else {
        return false;
    };
    if std::env::var("HEADROOM_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
        panic!("{test}: HEADROOM_REQUIRE_KERNEL_TESTS=1 but {why}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: {why} (set HEADROOM_REQUIRE_KERNEL_TESTS=1 to make this a failure)"
    );
    true
}

/// A test parent `/sys/fs/cgroup/memory/headroom-<tag>-<pid>-<nanos>` and everything under it.
pub struct TestCgroups {
    /// Cgroup name of the parent, e.g. `/headroom-test-12-345`.
    pub name: String,
    pub base: PathBuf,
    dirs: Vec<PathBuf>,
    children: Vec<Child>,
}

impl TestCgroups {
    pub fn new(tag: &str) -> TestCgroups {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("/headroom-{tag}-{}-{nanos}", std::process::id());
        let base = Path::new(V1_MEMORY).join(name.trim_start_matches('/'));
        std::fs::create_dir(&base).unwrap();
        TestCgroups {
            name,
            base: base.clone(),
            dirs: vec![base],
            children: Vec::new(),
        }
    }

    /// Create `rel` (and its parents) under the test parent; returns its real path.
    pub fn mkdir(&mut self, rel: &str) -> PathBuf {
        let mut path = self.base.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            path.push(part);
            if !path.exists() {
                std::fs::create_dir(&path).unwrap();
                self.dirs.push(path.clone());
            }
        }
        path
    }

    /// Keep a process to kill on drop.
    pub fn adopt(&mut self, child: Child) -> &mut Child {
        self.children.push(child);
        self.children.last_mut().unwrap()
    }
}

impl Drop for TestCgroups {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Bottom-up: deepest (last created) first.
        for dir in self.dirs.iter().rev() {
            let _ = std::fs::write(dir.join("memory.force_empty"), "0");
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

/// A shell command line that moves itself into cgroup `cg` and then execs `cmd`, so every
/// page it touches is charged there from the first touch.
pub fn in_cgroup(cg: &Path, cmd: &str) -> String {
    format!("echo $$ > '{}/cgroup.procs' && exec {cmd}", cg.display())
}
