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

pub fn boot(
    vm: &Vm,
    guest: &Guest,
    image: &Path,
    work: &Path,
    mut cut: Option<&mut dyn FnMut(&str) -> bool>,
) -> Result<Outcome, VmError> {
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
    let mut cmd = with_parent_death_kill(&vm.tools.qemu);
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
        .args(guest.disks.iter().flat_map(|d| ["-drive".into(), drive(d)]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let start = Instant::now();
    let mut running = Running(cmd.spawn().map_err(|e| VmError::io(&vm.tools.qemu, e))?);
    let deadline = start + guest.timeout;
    let mut ending = Ending::Stopped;
    let mut seen = ConsoleSoFar::default();
    loop {
        match running.0.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                ending = Ending::TimedOut(guest.timeout);
                break;
            }
            Ok(None) => {
                if let Some(cut) = cut.as_mut()
                    && cut(seen.read(&console))
                {
                    // SIGKILL: the guest gets no chance to flush or unmount anything.
                    let _ = running.0.kill();
                    let _ = running.0.wait();
                    ending = Ending::PowerCut;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
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

/// `-drive` for a raw image on virtio-blk. `cache=writeback` (qemu's default, said out loud):
/// the guest sees a volatile write cache and its flushes reach the host file (fdatasync).
fn drive(image: &Path) -> String {
    // qemu's option parser splits on commas; a doubled comma is a literal one.
    let path = image.display().to_string().replace(',', ",,");
    format!("file={path},format=raw,if=virtio,cache=writeback")
}

/// The console file as far as qemu has written it, read a piece at a time.
#[derive(Default)]
struct ConsoleSoFar {
    bytes: Vec<u8>,
    text: String,
}

impl ConsoleSoFar {
    fn read(&mut self, path: &Path) -> &str {
        use std::io::{Read, Seek, SeekFrom};
        if let Ok(mut f) = File::open(path)
            && f.seek(SeekFrom::Start(self.bytes.len() as u64)).is_ok()
        {
            let before = self.bytes.len();
            let _ = f.read_to_end(&mut self.bytes);
            if self.bytes.len() != before {
                self.text = String::from_utf8_lossy(&self.bytes).into_owned();
            }
        }
        &self.text
    }
}

/// qemu under `setpriv --pdeathsig KILL` when util-linux's setpriv is there: if the test
/// process is killed (Ctrl-C, a CI timeout) the guest dies with it instead of running on; the
/// `Drop` guard covers every other way out. (Setting the signal in-process would need `unsafe`
/// `pre_exec`.)
fn with_parent_death_kill(qemu: &Path) -> Command {
    let setpriv = Path::new("/usr/bin/setpriv");
    if setpriv.is_file() {
        let mut cmd = Command::new(setpriv);
        cmd.args(["--pdeathsig", "KILL"]).arg(qemu);
        cmd
    } else {
        Command::new(qemu)
    }
}
