//! Disk images for the guest ([`crate::Guest::disk`]): a raw file the host formats, which keeps
//! what the guest wrote from one boot to the next (the power-cut tests boot twice on one disk).

use std::path::Path;
use std::process::Command;

use crate::VmError;

/// Create (or replace) a raw image of `mib` MiB at `path`, formatted ext4 with its journal by
/// the host's `mkfs.ext4` (Debian package e2fsprogs). In the guest: `vm_disk /mnt/disk`.
pub fn ext4_image(path: &Path, mib: u64) -> Result<(), VmError> {
    let file = std::fs::File::create(path).map_err(|e| VmError::io(path, e))?;
    file.set_len(mib << 20).map_err(|e| VmError::io(path, e))?;
    drop(file);
    // Root's tools are in sbin, which a test's PATH may lack.
    let mkfs = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("mkfs.ext4");
    let out = Command::new(mkfs)
        .args(["-q", "-F", "-L", "vmtest"])
        .arg(path)
        .output()
        .map_err(|e| VmError::Unavailable(format!("cannot run mkfs.ext4 (Debian package e2fsprogs): {e}")))?;
    if !out.status.success() {
        return Err(VmError::Setup(format!(
            "mkfs.ext4 {}: {}: {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
