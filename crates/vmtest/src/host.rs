//! What the host needs to boot the test VM (qemu, a Debian kernel with its modules, a busybox),
//! found where Debian installs them, and installed with apt-get when missing and we are root.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::VmError;

/// The Debian packages the test bed uses (`--no-install-recommends` keeps the install small).
pub const PACKAGES: [&str; 3] = ["qemu-system-x86", "linux-image-amd64", "busybox-static"];

/// A kernel image and the module tree built with it.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// e.g. `6.1.0-57-amd64`
    pub version: String,
    /// `/boot/vmlinuz-<version>`
    pub image: PathBuf,
    /// `/lib/modules/<version>`
    pub modules: PathBuf,
}

/// Everything found on the host.
#[derive(Clone, Debug)]
pub struct HostTools {
    pub qemu: PathBuf,
    pub kernel: Kernel,
    pub busybox: PathBuf,
}

/// Find the tools; when one is missing and we are root, install the packages once (a lock
/// file keeps test binaries that run at the same time from racing apt-get), then look again.
pub fn find_or_install() -> Result<HostTools, VmError> {
    match find() {
        Ok(tools) => Ok(tools),
        Err(missing) => {
            if !rustix::process::geteuid().is_root() {
                return Err(VmError::Unavailable(format!(
                    "{missing}, and not root to install it (as root: apt-get install {})",
                    PACKAGES.join(" ")
                )));
            }
            install()?;
            find().map_err(|still| {
                VmError::Unavailable(format!("{still} (after apt-get install {})", PACKAGES.join(" ")))
            })
        }
    }
}

/// Find the tools without installing anything; the error says what is missing.
pub fn find() -> Result<HostTools, String> {
    let qemu = which("qemu-system-x86_64")
        .ok_or("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")?;
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or("busybox is not installed (Debian package busybox-static)")?;
    let kernel = newest_kernel(Path::new("/boot"), Path::new("/lib/modules"))
        .ok_or("no /boot/vmlinuz-*-amd64 with its /lib/modules/<version>/modules.dep (Debian package linux-image-amd64)")?;
    Ok(HostTools {
        qemu,
        kernel,
        busybox,
    })
}

fn install() -> Result<(), VmError> {
    let lock_path = std::env::temp_dir().join("headroom-vmtest-apt.lock");
    let lock = std::fs::File::create(&lock_path).map_err(|e| VmError::io(&lock_path, e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| VmError::io(&lock_path, e.into()))?;
    // Another test binary may have installed everything while we waited for the lock.
    if find().is_ok() {
        return Ok(());
    }
    let run = |args: &[&str]| -> Result<(), VmError> {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| VmError::Unavailable(format!("cannot run apt-get: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(VmError::Unavailable(format!(
                "apt-get {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    };
    run(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(PACKAGES);
    run(&args)
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The newest `vmlinuz-<version>` under `boot` whose module tree exists under `modules`.
pub fn newest_kernel(boot: &Path, modules: &Path) -> Option<Kernel> {
    let mut found: Vec<Kernel> = std::fs::read_dir(boot)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.strip_prefix("vmlinuz-")?.to_string();
            let tree = modules.join(&version);
            tree.join("modules.dep").is_file().then(|| Kernel {
                image: e.path(),
                modules: tree,
                version,
            })
        })
        .collect();
    found.sort_by_key(|k| version_key(&k.version));
    found.pop()
}

/// `6.1.0-57-amd64` -> [6, 1, 0, 57]: numeric parts compare as numbers.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn picks_the_newest_kernel_that_has_its_modules() {
        let dir = tempfile::tempdir().unwrap();
        let boot = dir.path().join("boot");
        let mods = dir.path().join("modules");
        std::fs::create_dir_all(&boot).unwrap();
        for v in ["6.1.0-9-amd64", "6.1.0-57-amd64", "6.1.0-60-amd64"] {
            std::fs::write(boot.join(format!("vmlinuz-{v}")), "").unwrap();
        }
        for v in ["6.1.0-9-amd64", "6.1.0-57-amd64"] {
            std::fs::create_dir_all(mods.join(v)).unwrap();
            std::fs::write(mods.join(v).join("modules.dep"), "").unwrap();
        }
        let k = newest_kernel(&boot, &mods).unwrap();
        assert_eq!(k.version, "6.1.0-57-amd64"); // 60 has no modules; 57 > 9 numerically
        assert!(newest_kernel(&mods, &mods).is_none());
    }
}
