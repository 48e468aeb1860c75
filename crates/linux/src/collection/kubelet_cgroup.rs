//! The kubelet's own cgroup, which the kubelet reports as `node.systemContainers[name="kubelet"]`.
//!
//! Without `--kubelet-cgroups` the kubelet looks up its own process's cgroup (`getContainer`
//! on its pid): on cgroup v2 the `0::` line of `/proc/<pid>/cgroup`; on v1 the `cpu` path,
//! which must equal the `memory` path ("cpu and memory cgroup hierarchy not unified"
//! otherwise, and then no `kubelet` entry is reported). headroom is not the kubelet, so it
//! finds the process by its name (`comm` = `kubelet`; the lowest pid if there are several).
//!
//! Only the matching process's `comm` and `cgroup` go through the [`FileReader`], so a capture
//! records two small files rather than every process's name.

use std::path::Path;

use crate::collection::root::{FileReader, HostRoot};

/// What the process scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeletCgroup {
    /// The kubelet's cgroup name, e.g. `/system.slice/kubelet.service`.
    Found { pid: u32, cgroup: String },
    /// A kubelet process whose cgroup the kubelet itself would not report, and why.
    Unusable { pid: u32, reason: String },
    /// No process named `kubelet`.
    NotRunning,
}

/// Scan `/proc` of `root` for the kubelet and read its cgroup.
pub fn find(root: &HostRoot, files: &mut FileReader, v2: bool) -> KubeletCgroup {
    let Some(pid) = kubelet_pid(&root.path("/proc")) else {
        return KubeletCgroup::NotRunning;
    };
    // Read again through the reader so a capture keeps them.
    let _ = files.read(&root.path(format!("/proc/{pid}/comm")));
    let text = match files.read(&root.path(format!("/proc/{pid}/cgroup"))) {
        Ok(t) => t,
        Err(e) => {
            return KubeletCgroup::Unusable {
                pid,
                reason: format!("unreadable ({e})"),
            };
        }
    };
    match cgroup_of(text, v2) {
        Ok(cgroup) => KubeletCgroup::Found { pid, cgroup },
        Err(reason) => KubeletCgroup::Unusable { pid, reason },
    }
}

/// The lowest pid whose `comm` is `kubelet`.
fn kubelet_pid(proc_dir: &Path) -> Option<u32> {
    let entries = std::fs::read_dir(proc_dir).ok()?;
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter().find(|pid| {
        std::fs::read_to_string(proc_dir.join(pid.to_string()).join("comm"))
            .is_ok_and(|comm| comm.trim_end_matches('\n') == "kubelet")
    })
}

/// The cgroup the kubelet reports for itself, from the text of `/proc/<pid>/cgroup`.
pub fn cgroup_of(proc_cgroup: &str, v2: bool) -> Result<String, String> {
    // Lines are `<id>:<controllers>:<path>`; the path may itself contain ':'.
    let path_of = |wanted: &str| {
        proc_cgroup.lines().find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let hit = if wanted.is_empty() {
                controllers.is_empty()
            } else {
                controllers.split(',').any(|c| c == wanted)
            };
            hit.then(|| path.to_string())
        })
    };
    if v2 {
        return path_of("").ok_or_else(|| "no `0::` line in /proc/<pid>/cgroup".to_string());
    }
    let cpu = path_of("cpu").ok_or("no cpu controller line in /proc/<pid>/cgroup")?;
    let memory = path_of("memory").ok_or("no memory controller line in /proc/<pid>/cgroup")?;
    if cpu != memory {
        return Err(format!(
            "cpu and memory cgroups differ ({cpu} vs {memory}); the kubelet reports no \
             kubelet system container then"
        ));
    }
    Ok(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_lines_for_both_versions() {
        let v2 = "0::/system.slice/kubelet.service\n";
        assert_eq!(cgroup_of(v2, true).unwrap(), "/system.slice/kubelet.service");
        let v1 = "12:memory:/system.slice/kubelet.service\n\
                  4:cpu,cpuacct:/system.slice/kubelet.service\n\
                  1:name=systemd:/system.slice/kubelet.service\n0::/\n";
        assert_eq!(cgroup_of(v1, false).unwrap(), "/system.slice/kubelet.service");
        assert_eq!(cgroup_of(v1, true).unwrap(), "/");
        let split = "12:memory:/a\n4:cpu,cpuacct:/b\n";
        assert!(cgroup_of(split, false).unwrap_err().contains("/b vs /a"));
        assert!(cgroup_of("", true).is_err());
        assert!(cgroup_of("junk\n", false).is_err());
    }

    #[test]
    fn finds_the_lowest_kubelet_pid_only() {
        let tmp = tempfile::tempdir().unwrap();
        let proc_dir = tmp.path().join("proc");
        for (pid, comm) in [
            ("900", "kubelet"),
            ("77", "bash"),
            ("450", "kubelet"),
            ("self", "x"),
        ] {
            std::fs::create_dir_all(proc_dir.join(pid)).unwrap();
            std::fs::write(proc_dir.join(pid).join("comm"), format!("{comm}\n")).unwrap();
        }
        std::fs::write(proc_dir.join("450/cgroup"), "0::/kubelet.slice\n").unwrap();
        let mut files = FileReader::recording();
        let found = find(&HostRoot::dir(tmp.path()), &mut files, true);
        assert_eq!(
            found,
            KubeletCgroup::Found {
                pid: 450,
                cgroup: "/kubelet.slice".into()
            }
        );
        assert_eq!(
            files.take_recorded().len(),
            2,
            "only the kubelet's comm and cgroup"
        );
        assert_eq!(
            find(&HostRoot::dir(tmp.path().join("nowhere")), &mut files, true),
            KubeletCgroup::NotRunning
        );
    }
}
