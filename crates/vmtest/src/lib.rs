//! The cgroup v2 test bed: boots Debian's kernel (cgroup v2 with the memory controller) under
//! qemu with a small busybox initramfs, runs one scenario script as the guest's job, and brings
//! its results back to the host: pass/fail per case, files, the guest's console log.
//!
//! ```no_run
//! use headroom_vmtest::{Guest, boot_or_skip};
//! let guest = Guest::new("vm_check hello echo hi\nvm_file out /proc/meminfo\n")
//!     .binary("headroom", "target/debug/headroom");
//! if let Some(outcome) = boot_or_skip("my_test", &guest) {
//!     outcome.assert_case("hello");
//!     let meminfo = outcome.text("out").unwrap();
//! }
//! ```
//!
//! Every run builds its own image in a private temporary folder, and always kills qemu and
//! removes that folder, on success, failure, timeout or panic. Software emulation (TCG) is the
//! default because KVM guests hang after the decompressor on the project's machines;
//! `HEADROOM_VM_ACCEL=kvm` tries KVM. Emulated time is several times slower than real time
//! and the machine is shared: timeouts are generous (`HEADROOM_VM_TIMEOUT_SECS`, default 1200)
//! and tests must never assert on durations.

mod cpio;
pub mod disk;
pub mod host;
mod initramfs;
mod qemu;
mod results;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use host::{HostTools, Kernel};
pub use initramfs::{INIT_SH, LIB_SH};
pub use results::{Case, Ending, Outcome, decode_base64};

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The host cannot run the VM (tools missing and not installable, not root ...).
    #[error("the cgroup v2 test VM is unavailable: {0}")]
    Unavailable(String),
    /// The scenario or its inputs are wrong (a binary that does not exist, an unknown module).
    #[error("test VM setup: {0}")]
    Setup(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl VmError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> VmError {
        VmError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One guest run: the scenario script and what the image carries.
#[derive(Clone, Debug)]
pub struct Guest {
    scenario: String,
    binaries: Vec<(String, PathBuf)>,
    files: Vec<(String, Vec<u8>, u32)>,
    env: Vec<(String, String)>,
    modules: Vec<String>,
    memory_mib: u32,
    cpus: u32,
    timeout: Duration,
    kernel_args: String,
    disks: Vec<PathBuf>,
}

/// Default guest timeout (wall seconds); `HEADROOM_VM_TIMEOUT_SECS` overrides it.
pub const DEFAULT_TIMEOUT_SECS: u64 = 1200;

impl Guest {
    /// A guest that runs `scenario` (busybox sh, with `/vmtest/lib.sh` loaded) as its job.
    /// It carries the modules `brd`, `ext4` and `crc32c_generic` (ext4 asks the crypto API for
    /// crc32c when it mounts) for `vm_ramdisk`, 2 GiB of memory, 2 CPUs.
    pub fn new(scenario: impl Into<String>) -> Guest {
        let timeout = std::env::var("HEADROOM_VM_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        Guest {
            scenario: scenario.into(),
            binaries: Vec::new(),
            files: Vec::new(),
            env: Vec::new(),
            modules: vec!["brd".into(), "ext4".into(), "crc32c_generic".into()],
            memory_mib: 2048,
            cpus: 2,
            timeout: Duration::from_secs(timeout),
            kernel_args: String::new(),
            disks: Vec::new(),
        }
    }

    /// Ship the host binary at `host_path` as `/vmtest/bin/<name>` (on the guest's PATH), with
    /// the shared libraries `ldd` names and without its debug sections.
    pub fn binary(mut self, name: &str, host_path: impl AsRef<Path>) -> Guest {
        self.binaries
            .push((name.to_string(), host_path.as_ref().to_path_buf()));
        self
    }

    /// Put `contents` at the absolute guest path `guest_path` (mode 0644; 0755 if it starts
    /// with `#!`).
    pub fn file(mut self, guest_path: &str, contents: impl Into<Vec<u8>>) -> Guest {
        let contents = contents.into();
        let perm = if contents.starts_with(b"#!") { 0o755 } else { 0o644 };
        self.files.push((guest_path.to_string(), contents, perm));
        self
    }

    /// Export `key=value` to the scenario.
    pub fn env(mut self, key: &str, value: &str) -> Guest {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Also ship kernel module `name` (and its dependencies); load it with `vm_insmod`.
    pub fn module(mut self, name: &str) -> Guest {
        self.modules.push(name.to_string());
        self
    }

    pub fn memory_mib(mut self, mib: u32) -> Guest {
        self.memory_mib = mib;
        self
    }

    pub fn cpus(mut self, cpus: u32) -> Guest {
        self.cpus = cpus;
        self
    }

    /// Wall-clock limit for the whole run; qemu is killed after it.
    pub fn timeout(mut self, timeout: Duration) -> Guest {
        self.timeout = timeout;
        self
    }

    /// Extra kernel command-line words (after `console=ttyS0 panic=-1 quiet`).
    pub fn kernel_args(mut self, args: &str) -> Guest {
        self.kernel_args = args.to_string();
        self
    }

    /// Attach the raw disk image at `host_path` as a virtio-blk disk (the first is `/dev/vda`,
    /// then `/dev/vdb` ...; mount an ext4 one with `vm_disk`). The image outlives the run: what
    /// the guest wrote is there for the next boot (see [`disk::ext4_image`]). Writes go through
    /// the host's page cache (qemu `cache=writeback`), and the guest's flushes are honoured.
    pub fn disk(mut self, host_path: impl AsRef<Path>) -> Guest {
        self.disks.push(host_path.as_ref().to_path_buf());
        self
    }

    fn env_sh(&self) -> String {
        self.env
            .iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
            .collect()
    }
}

/// The host side: tools found (or installed) once, then any number of runs.
#[derive(Clone, Debug)]
pub struct Vm {
    pub tools: HostTools,
    /// `tcg` (default) or `kvm` (`HEADROOM_VM_ACCEL`).
    pub accel: String,
}

impl Vm {
    /// Find qemu, the kernel and busybox; install them with apt-get if missing and root.
    pub fn find_or_install() -> Result<Vm, VmError> {
        Ok(Vm {
            tools: host::find_or_install()?,
            accel: std::env::var("HEADROOM_VM_ACCEL").unwrap_or_else(|_| "tcg".into()),
        })
    }

    /// Build the image, boot, wait for the guest to power off (or the timeout), and return what
    /// came back. A guest that fails is still an `Ok` outcome: look at `ending` and `cases`.
    pub fn run(&self, guest: &Guest) -> Result<Outcome, VmError> {
        self.run_inner(guest, None)
    }

    /// [`Vm::run`], but `cut` is shown the guest's console so far about ten times a second
    /// while the guest runs; when it returns true, qemu is SIGKILLed on the spot: the guest's
    /// power cut (its RAM, page cache and unwritten I/O are gone; what its disks had accepted
    /// stays). The outcome's `ending` is then [`Ending::PowerCut`].
    pub fn run_until_power_cut(
        &self,
        guest: &Guest,
        mut cut: impl FnMut(&str) -> bool,
    ) -> Result<Outcome, VmError> {
        self.run_inner(guest, Some(&mut cut))
    }

    fn run_inner(
        &self,
        guest: &Guest,
        cut: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Outcome, VmError> {
        for path in &guest.disks {
            if !path.is_file() {
                return Err(VmError::Setup(format!(
                    "disk {}: no such image file (make one with headroom_vmtest::disk::ext4_image)",
                    path.display()
                )));
            }
        }
        for (name, path) in &guest.binaries {
            if !path.is_file() {
                return Err(VmError::Setup(format!(
                    "binary {name}: {} does not exist (build it first)",
                    path.display()
                )));
            }
        }
        let work = tempfile::Builder::new()
            .prefix("headroom-vmtest-")
            .tempdir()
            .map_err(|e| VmError::io(&std::env::temp_dir(), e))?;
        let image = work.path().join("initramfs.cpio");
        let mut files = guest.files.clone();
        files.push(("/vmtest/env.sh".into(), guest.env_sh().into_bytes(), 0o644));
        let mut modules = guest.modules.clone();
        if !guest.disks.is_empty() {
            // The PCI transport and the block driver: Debian builds both as modules.
            modules.extend(["virtio_pci".to_string(), "virtio_blk".to_string()]);
        }
        initramfs::build(
            &self.tools,
            &initramfs::Contents {
                scenario: &guest.scenario,
                binaries: &guest.binaries,
                files: &files,
                modules: &modules,
            },
            &image,
            work.path(),
        )?;
        qemu::boot(self, guest, &image, work.path(), cut)
        // `work` is dropped here: the image and logs are removed whatever happened.
    }
}

/// Whether a missing VM must fail the test (CI) instead of skipping it.
pub fn vm_required() -> bool {
    std::env::var("HEADROOM_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1")
}

/// The VM's host side, or `None` (after one line on stderr) when it cannot run here; a panic
/// instead under `HEADROOM_REQUIRE_KERNEL_TESTS=1`. For tests that call [`Vm::run`] themselves.
pub fn vm_or_skip(test: &str) -> Option<Vm> {
    match Vm::find_or_install() {
        Ok(vm) => Some(vm),
        Err(e) => skip_or_fail(test, &e.to_string()),
    }
}

/// Find the tools and boot `guest`; `None` (after one line on stderr) when the VM cannot run or
/// boot here (the guest never reached `/init`, also when the timeout ran out first), a panic instead under `HEADROOM_REQUIRE_KERNEL_TESTS=1`. Setup errors (a missing
/// binary, an unknown module) always panic: they are bugs of the test.
pub fn boot_or_skip(test: &str, guest: &Guest) -> Option<Outcome> {
    let vm = vm_or_skip(test)?;
    match vm.run(guest) {
        Ok(outcome) if !outcome.booted() => skip_or_fail(
            test,
            &format!("the test VM did not boot\n{}", outcome.log_for_failure()),
        ),
        Ok(outcome) => {
            report_boot(test, &outcome);
            Some(outcome)
        }
        Err(e @ VmError::Unavailable(_)) => skip_or_fail(test, &e.to_string()),
        Err(e) => panic!("{test}: {e}"),
    }
}

/// One uncaptured line per boot (CI logs show what the VM cost): kernel, guest seconds to
/// `/init`, wall seconds of the whole run, how it ended.
fn report_boot(test: &str, out: &Outcome) {
    let _ = writeln!(
        std::io::stderr(),
        "vm ({test}): kernel {}, /init at {} s of guest time, run {:.1} s wall, {:?}",
        out.kernel,
        out.boot_seconds.map_or("?".into(), |s| format!("{s:.1}")),
        out.wall.as_secs_f64(),
        out.ending
    );
}

fn skip_or_fail<T>(test: &str, why: &str) -> Option<T> {
    if vm_required() {
        panic!("{test}: HEADROOM_REQUIRE_KERNEL_TESTS=1 but {why}");
    }
    // The real stderr: the test harness captures eprintln! of passing tests.
    let first = why.lines().next().unwrap_or(why);
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: {first} (set HEADROOM_REQUIRE_KERNEL_TESTS=1 to make this a failure)"
    );
    None
}

/// The headroom binary to ship: `HEADROOM_VM_BINARY` if set (e.g. a release build), else
/// `default` (usually `env!("CARGO_BIN_EXE_headroom")`, the debug build cargo test made).
pub fn headroom_binary(default: &str) -> PathBuf {
    std::env::var_os("HEADROOM_VM_BINARY").map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// One boot shared by many `#[test]`s of a test binary (boot cost): the first test to ask
/// boots the guest, the others wait for it and read their own case from the same outcome.
///
/// ```no_run
/// use headroom_vmtest::{Guest, SharedRun};
/// static RUN: SharedRun = SharedRun::new();
/// fn guest() -> Guest { Guest::new("vm_check one true\nvm_check two true\n") }
/// #[test]
/// fn one() {
///     if let Some(out) = RUN.get("one", guest) { out.assert_case("one") }
/// }
/// ```
pub struct SharedRun {
    cell: std::sync::OnceLock<Result<Outcome, String>>,
}

impl SharedRun {
    pub const fn new() -> SharedRun {
        SharedRun {
            cell: std::sync::OnceLock::new(),
        }
    }

    /// The shared outcome; `None` (one skip line) or a panic under
    /// `HEADROOM_REQUIRE_KERNEL_TESTS=1` when the VM cannot run or boot here.
    pub fn get(&self, test: &str, guest: impl FnOnce() -> Guest) -> Option<&Outcome> {
        let result = self.cell.get_or_init(|| {
            let guest = guest();
            let vm = Vm::find_or_install().map_err(|e| e.to_string())?;
            match vm.run(&guest) {
                Ok(out) if !out.booted() => {
                    Err(format!("the test VM did not boot\n{}", out.log_for_failure()))
                }
                Ok(out) => {
                    report_boot(test, &out);
                    Ok(out)
                }
                Err(e @ VmError::Unavailable(_)) => Err(e.to_string()),
                Err(e) => Ok(setup_failure(&e)),
            }
        });
        match result {
            Ok(out) => Some(out),
            Err(why) => skip_or_fail(test, why),
        }
    }
}

impl Default for SharedRun {
    fn default() -> Self {
        SharedRun::new()
    }
}

/// A setup error (bug of the test) as an outcome every test of the shared run fails on.
fn setup_failure(e: &VmError) -> Outcome {
    Outcome {
        ending: Ending::Stopped,
        cases: Vec::new(),
        files: Default::default(),
        console: format!("(no boot) {e}"),
        kernel: String::new(),
        boot_seconds: None,
        wall: Duration::ZERO,
        garbled: Vec::new(),
    }
}
