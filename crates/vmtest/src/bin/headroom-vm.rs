//! Run one scenario in the cgroup v2 test VM by hand and see everything it brought back.
//!
//!     cargo run -p headroom-vmtest --bin headroom-vm -- SCENARIO.sh \
//!         [--binary NAME=PATH]... [--env KEY=VALUE]... [--out DIR] [--timeout SECS] \
//!         [--memory MIB] [--disk IMAGE]... [--kernel-args WORDS]
//!
//! `--kernel-args` adds words to the guest kernel's command line, e.g. `no_timer_check` (on a
//! loaded host, TCG can miss the kernel's IO-APIC timer check and panic the boot; the VM tests
//! pass it too).
//!
//! Prints the guest's console, then each case; files the guest sent with `vm_file` are
//! written to DIR (default: not kept). Exit status 0 when every case passed and the scenario
//! exited 0, 1 otherwise, 2 for bad arguments. `--disk` attaches a raw image as virtio-blk
//! (`/dev/vda` first; `vm_disk /mnt/disk` mounts an ext4 one; `mkfs.ext4 IMAGE` makes one).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use headroom_vmtest::{Guest, Vm};

const USAGE: &str = "usage: headroom-vm SCENARIO.sh [--binary NAME=PATH]... [--env KEY=VALUE]... \
                     [--out DIR] [--timeout SECS] [--memory MIB] [--disk IMAGE]... \
                     [--kernel-args WORDS]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("headroom-vm: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut args = std::env::args().skip(1);
    let mut scenario = None;
    let mut binaries = Vec::new();
    let mut env = Vec::new();
    let mut out_dir: Option<PathBuf> = None;
    let mut timeout = None;
    let mut memory = None;
    let mut disks = Vec::new();
    let mut kernel_args: Option<String> = None;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--binary" => {
                let v = value("--binary")?;
                let (name, path) = v
                    .split_once('=')
                    .ok_or(format!("--binary {v}: expected NAME=PATH"))?;
                binaries.push((name.to_string(), PathBuf::from(path)));
            }
            "--env" => {
                let v = value("--env")?;
                let (k, val) = v
                    .split_once('=')
                    .ok_or(format!("--env {v}: expected KEY=VALUE"))?;
                env.push((k.to_string(), val.to_string()));
            }
            "--out" => out_dir = Some(PathBuf::from(value("--out")?)),
            "--timeout" => {
                let v = value("--timeout")?;
                timeout = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("--timeout {v}: expected whole seconds"))?,
                );
            }
            "--memory" => {
                let v = value("--memory")?;
                memory = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("--memory {v}: expected MiB"))?,
                );
            }
            "--disk" => disks.push(PathBuf::from(value("--disk")?)),
            "--kernel-args" => kernel_args = Some(value("--kernel-args")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other if scenario.is_none() && !other.starts_with('-') => scenario = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let scenario = scenario.ok_or("no scenario script given")?;
    let text = std::fs::read_to_string(&scenario).map_err(|e| format!("{}: {e}", scenario.display()))?;
    let mut guest = Guest::new(text);
    for (name, path) in &binaries {
        guest = guest.binary(name, path);
    }
    for (k, v) in &env {
        guest = guest.env(k, v);
    }
    if let Some(t) = timeout {
        guest = guest.timeout(Duration::from_secs(t));
    }
    if let Some(m) = memory {
        guest = guest.memory_mib(m);
    }
    for d in &disks {
        guest = guest.disk(d);
    }
    if let Some(a) = &kernel_args {
        guest = guest.kernel_args(a);
    }
    let vm = Vm::find_or_install().map_err(|e| e.to_string())?;
    let outcome = vm.run(&guest).map_err(|e| e.to_string())?;
    println!("{}", outcome.console.trim_end());
    println!(
        "--- {:?}, wall {:.1} s, /init at {:?} s of guest time",
        outcome.ending,
        outcome.wall.as_secs_f64(),
        outcome.boot_seconds
    );
    for case in &outcome.cases {
        println!("{case}");
    }
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, bytes) in &outcome.files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("file {}", path.display());
        }
    }
    Ok(if outcome.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
