//! Constructed host trees for `status` and `top` tests: capture metadata, cgroup v2 memory
//! cgroups, and an 8 GiB cgroup v2 node with a kubepods cgroup holding one pod per QoS class
//! (cgroupfs or systemd driver names) and its pods file.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Capture metadata: fixes the sample time and the layout (statfs cannot be captured).
pub fn meta(
    dir: &Path,
    time: &str,
    cgroup_fs_type: u64,
    unified_fs_type: Option<u64>,
    v1_mount: Option<&str>,
) {
    let meta = serde_json::json!({
        "format": 1,
        "captured_at": time,
        "layout": {
            "cgroup_fs_type": cgroup_fs_type,
            "unified_fs_type": unified_fs_type,
            "v1_memory_mount": v1_mount,
        },
    });
    write(&dir.join("headroom-capture.json"), &meta.to_string());
}

pub const TMPFS_MAGIC: u64 = 0x0102_1994;
pub const CGROUP2_MAGIC: u64 = 0x6367_7270;

pub const MI: u64 = 1 << 20;
pub const GI: u64 = 1 << 30;

/// A v2 memory cgroup: `memory.current`, `memory.max`, `memory.stat`, `memory.events`.
pub struct Cg {
    pub anon: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    pub shmem: u64,
    pub kernel: u64,
    pub max: Option<u64>,
}

impl Cg {
    pub fn file(&self) -> u64 {
        self.active_file + self.inactive_file + self.shmem
    }
    pub fn current(&self) -> u64 {
        self.anon + self.file() + self.kernel
    }
    pub fn write_stat(&self, dir: &Path) {
        let stat = format!(
            "anon {}\nfile {}\nkernel {}\nkernel_stack 0\npagetables 0\nsock 0\nshmem {}\n\
             file_mapped 0\nfile_dirty 0\nfile_writeback 0\ninactive_anon 0\nactive_anon {}\n\
             inactive_file {}\nactive_file {}\nunevictable 0\npgfault 100\npgmajfault 1\n",
            self.anon,
            self.file(),
            self.kernel,
            self.shmem,
            self.anon + self.shmem,
            self.inactive_file,
            self.active_file
        );
        write(&dir.join("memory.stat"), &stat);
    }
    pub fn write(&self, dir: &Path) {
        self.write_stat(dir);
        write(&dir.join("memory.current"), &format!("{}\n", self.current()));
        let max = self.max.map(|m| m.to_string()).unwrap_or_else(|| "max".into());
        write(&dir.join("memory.max"), &format!("{max}\n"));
        write(
            &dir.join("memory.events"),
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        );
    }
}

pub const UID_G: &str = "11111111-aaaa-4aaa-8aaa-000000000001";
pub const UID_B: &str = "22222222-bbbb-4bbb-8bbb-000000000002";
pub const UID_BE: &str = "33333333-cccc-4ccc-8ccc-000000000003";

/// An 8 GiB cgroup v2 node with `kubepods` (limit 7 GiB) holding one pod per QoS class.
/// `systemd` selects the systemd cgroup driver's names.
pub fn v2_tree(dir: &Path, systemd: bool) {
    let cg = dir.join("sys/fs/cgroup");
    write(
        &cg.join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    );
    write(&dir.join("proc/sys/kernel/hostname"), "node-v2\n");
    write(
        &dir.join("proc/meminfo"),
        "MemTotal:        8388608 kB\nMemFree:         2097152 kB\nMemAvailable:    3355443 kB\n\
         Buffers:           10240 kB\nCached:          2621440 kB\nSwapCached:            0 kB\n\
         Active:          4718592 kB\nInactive:         921600 kB\nActive(anon):    3145728 kB\n\
         Inactive(anon):        0 kB\nActive(file):    1572864 kB\nInactive(file):   921600 kB\n\
         Unevictable:           0 kB\nMlocked:               0 kB\nSwapTotal:             0 kB\n\
         SwapFree:              0 kB\nDirty:               100 kB\nWriteback:             0 kB\n\
         AnonPages:       3145728 kB\nMapped:           204800 kB\nShmem:            102400 kB\n\
         KReclaimable:     204800 kB\nSlab:             307200 kB\nSReclaimable:     204800 kB\n\
         SUnreclaim:       102400 kB\n",
    );
    write(&dir.join("proc/sys/kernel/pid_max"), "4194304\n");
    write(&dir.join("proc/sys/kernel/threads-max"), "63000\n");
    write(&dir.join("proc/loadavg"), "0.50 0.40 0.30 3/412 12345\n");
    write(
        &dir.join("proc/pressure/memory"),
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500\n",
    );
    // The root: no memory.current; usage = anon + file.
    Cg {
        anon: 3 * GI,
        active_file: 1536 * MI,
        inactive_file: 900 * MI,
        shmem: 100 * MI,
        kernel: 300 * MI,
        max: None,
    }
    .write_stat(&cg);

    let (kubepods, burstable, besteffort) = if systemd {
        (
            "kubepods.slice",
            "kubepods.slice/kubepods-burstable.slice",
            "kubepods.slice/kubepods-besteffort.slice",
        )
    } else {
        ("kubepods", "kubepods/burstable", "kubepods/besteffort")
    };
    Cg {
        anon: 3 * GI,
        active_file: GI,
        inactive_file: 400 * MI,
        shmem: 0,
        kernel: 100 * MI,
        max: Some(7 * GI),
    }
    .write(&cg.join(kubepods));
    Cg {
        anon: 0,
        active_file: 0,
        inactive_file: 0,
        shmem: 0,
        kernel: 0,
        max: None,
    }
    .write(&cg.join(burstable));
    Cg {
        anon: 0,
        active_file: 0,
        inactive_file: 0,
        shmem: 0,
        kernel: 0,
        max: None,
    }
    .write(&cg.join(besteffort));

    let pod_dir = |parent: &str, qos: &str, uid: &str| -> PathBuf {
        if systemd {
            let prefix = if qos.is_empty() {
                "kubepods".to_string()
            } else {
                format!("kubepods-{qos}")
            };
            cg.join(parent)
                .join(format!("{prefix}-pod{}.slice", uid.replace('-', "_")))
        } else {
            cg.join(parent).join(format!("pod{uid}"))
        }
    };
    let container = |n: u32| -> String {
        let id = format!("{n:0>64}");
        if systemd {
            format!("cri-containerd-{id}.scope")
        } else {
            id
        }
    };
    let pods = [
        (kubepods, "", UID_G, GI, 150 * MI, 50 * MI, Some(2 * GI), 1),
        (
            burstable,
            "burstable",
            UID_B,
            1200 * MI,
            800 * MI,
            100 * MI,
            None,
            2,
        ),
        (
            besteffort,
            "besteffort",
            UID_BE,
            800 * MI,
            50 * MI,
            250 * MI,
            None,
            3,
        ),
    ];
    for (parent, qos, uid, anon, active, inactive, max, n) in pods {
        let dir = pod_dir(parent, qos, uid);
        let pod = Cg {
            anon,
            active_file: active,
            inactive_file: inactive,
            shmem: 0,
            kernel: 20 * MI,
            max,
        };
        pod.write(&dir);
        Cg {
            kernel: 18 * MI,
            ..pod
        }
        .write(&dir.join(container(n)));
    }
    meta(dir, "2026-11-28T03:00:00Z", CGROUP2_MAGIC, None, None);
}

pub fn pods_file(dir: &Path) -> PathBuf {
    let pod = |name: &str, uid: &str, req: Option<&str>, lim: Option<&str>, prio: i32| {
        let mut res = serde_json::json!({});
        if let Some(r) = req {
            res["requests"] = serde_json::json!({"memory": r, "cpu": "250m"});
        }
        if let Some(l) = lim {
            res["limits"] = serde_json::json!({"memory": l, "cpu": "250m"});
        }
        serde_json::json!({
            "metadata": {"name": name, "namespace": "shop", "uid": uid},
            "spec": {"priority": prio, "containers": [{"name": "main", "resources": res}]},
        })
    };
    let list = serde_json::json!({"kind": "PodList", "items": [
        pod("checkout-0", UID_G, Some("2Gi"), Some("2Gi"), 1000),
        pod("search-0", UID_B, Some("1Gi"), None, 1000),
        pod("thumbnailer-0", UID_BE, None, None, 0),
    ]});
    let path = dir.join("pods.json");
    write(&path, &list.to_string());
    path
}
