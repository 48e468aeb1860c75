//! Runs qemu on a built image and waits for it, killing it on timeout and on every exit path.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::results::{Ending, Outcome};
use crate::{Guest, Vm, VmError};

/// Kills qemu when dropped (a panic or an early return must not leave a guest running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn boot(vm: &Vm, guest: &Guest, image: &Path, work: &Path) -> Result<Outcome, VmError> {
    let console = work.join("console.log");
    let port = work.join("results.log");
    let qemu_err = work.join("qemu.stderr");
    let stderr = File::create(&qemu_err).map_err(|e| VmError::io(&qemu_err, e))?;
    let (accel, cpu) = if vm.accel == "kvm" {
        ("kvm", "host")
    } else {
        ("tcg", "max")
    };
    let append = format!("console=ttyS0 panic=-1 quiet {}", guest.kernel_args);
    let mut cmd = Command::new(&vm.tools.qemu);
    cmd.args(["-accel", accel, "-cpu", cpu])
        .args([
            "-m",
            &guest.memory_mib.to_string(),
            "-smp",
            &guest.cpus.to_string(),
        ])
        .args([
            "-nodefaults",
            "-display",
            "none",
            "-monitor",
            "none",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&vm.tools.kernel.image)
        .arg("-initrd")
        .arg(image)
        .args(["-append", append.trim()])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", port.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let start = Instant::now();
    let mut running = Running(cmd.spawn().map_err(|e| VmError::io(&vm.tools.qemu, e))?);
    let deadline = start + guest.timeout;
    let mut ending = Ending::Stopped;
    loop {
        match running.0.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                ending = Ending::TimedOut(guest.timeout);
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(VmError::io(&vm.tools.qemu, e)),
        }
    }
    drop(running); // kills qemu if it is still running (timeout)
    let wall = start.elapsed();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let mut console_text = read(&console);
    let qemu_text = read(&qemu_err);
    if !qemu_text.trim().is_empty() {
        console_text.push_str("\n--- qemu stderr ---\n");
        console_text.push_str(&qemu_text);
    }
    Ok(Outcome::parse(&read(&port), console_text, ending, wall))
}
