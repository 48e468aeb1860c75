//! Builds the guest's initramfs: busybox, the guest library and `/init`, the scenario, the
//! binaries under test with the shared libraries `ldd` names (at the same paths), extra files,
//! and kernel modules with their dependencies from the kernel's own `modules.dep`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::VmError;
use crate::cpio::CpioWriter;
use crate::host::HostTools;

/// The guest's `/init` and the shell library every scenario gets (`. /vmtest/lib.sh` is done
/// for it).
pub const INIT_SH: &str = include_str!("../guest/init.sh");
pub const LIB_SH: &str = include_str!("../guest/lib.sh");

/// What goes into the image besides busybox, `/init` and the library.
pub struct Contents<'a> {
    pub scenario: &'a str,
    /// (name in `/vmtest/bin`, host path)
    pub binaries: &'a [(String, PathBuf)],
    /// (absolute guest path, contents, permission bits)
    pub files: &'a [(String, Vec<u8>, u32)],
    /// module names, e.g. `brd`, `ext4`
    pub modules: &'a [String],
}

/// Write the archive to `out`; `scratch` is a private temporary folder (stripped binaries).
pub fn build(tools: &HostTools, contents: &Contents, out: &Path, scratch: &Path) -> Result<(), VmError> {
    let file = File::create(out).map_err(|e| VmError::io(out, e))?;
    let mut image = Image {
        cpio: CpioWriter::new(BufWriter::new(file)),
        dirs: BTreeSet::new(),
        files: BTreeSet::new(),
        out: out.to_path_buf(),
    };
    for dir in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "run",
        "mnt",
        "vmtest/bin",
        "vmtest/modules",
    ] {
        image.dir(dir)?;
    }
    image.wrap(|c| c.char_device("dev/console", 5, 1))?;
    image.host_file("bin/busybox", &tools.busybox, 0o755)?;
    image.libraries_of(&tools.busybox)?;
    image.data("init", INIT_SH.as_bytes(), 0o755)?;
    image.data("vmtest/lib.sh", LIB_SH.as_bytes(), 0o644)?;
    image.data("vmtest/scenario.sh", contents.scenario.as_bytes(), 0o755)?;
    for (name, host) in contents.binaries {
        if name.contains('/') || name.is_empty() {
            return Err(VmError::Setup(format!(
                "binary name {name:?}: expected a plain file name (it goes to /vmtest/bin/<name>)"
            )));
        }
        let stripped = strip_debug(host, &scratch.join(name));
        image.host_file(&format!("vmtest/bin/{name}"), &stripped, 0o755)?;
        image.libraries_of(host)?;
    }
    for (path, data, perm) in contents.files {
        image.data(path, data, *perm)?;
    }
    let mut loaded = BTreeSet::new();
    for module in contents.modules {
        image.module(&tools.kernel.modules, module, &mut loaded)?;
    }
    image.cpio.finish().map_err(|e| VmError::io(out, e))?;
    Ok(())
}

struct Image {
    cpio: CpioWriter<BufWriter<File>>,
    dirs: BTreeSet<String>,
    /// Guest paths of files already written (a library two binaries share goes in once).
    files: BTreeSet<String>,
    out: PathBuf,
}

impl Image {
    fn wrap(
        &mut self,
        f: impl FnOnce(&mut CpioWriter<BufWriter<File>>) -> std::io::Result<()>,
    ) -> Result<(), VmError> {
        f(&mut self.cpio).map_err(|e| VmError::io(&self.out, e))
    }

    /// `a/b/c` and its parents, each once.
    fn dir(&mut self, path: &str) -> Result<(), VmError> {
        let mut sofar = String::new();
        for part in path.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
            if !sofar.is_empty() {
                sofar.push('/');
            }
            sofar.push_str(part);
            if self.dirs.insert(sofar.clone()) {
                let d = sofar.clone();
                self.wrap(|c| c.dir(&d))?;
            }
        }
        Ok(())
    }

    fn data(&mut self, path: &str, data: &[u8], perm: u32) -> Result<(), VmError> {
        let path = path.trim_start_matches('/').to_string();
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent)?;
        }
        self.wrap(|c| c.file(&path, perm, data))
    }

    fn host_file(&mut self, path: &str, host: &Path, perm: u32) -> Result<(), VmError> {
        let data = std::fs::read(host).map_err(|e| VmError::io(host, e))?;
        self.data(path, &data, perm)
    }

    /// The shared libraries and loader `ldd` lists for `binary`, at the same paths (a static
    /// binary has none).
    fn libraries_of(&mut self, binary: &Path) -> Result<(), VmError> {
        for lib in ldd(binary)? {
            let guest = lib.to_string_lossy().into_owned();
            if self.files.insert(guest.clone()) {
                self.host_file(&guest, &lib, 0o755)?;
            }
        }
        Ok(())
    }

    /// `name`.ko and what it depends on, as `/vmtest/modules/<name>.ko` plus
    /// `/vmtest/modules/<name>.deps` (the modules to load first, in order).
    fn module(&mut self, tree: &Path, name: &str, done: &mut BTreeSet<String>) -> Result<(), VmError> {
        if done.contains(name) {
            return Ok(());
        }
        let dep_file = tree.join("modules.dep");
        let text = std::fs::read_to_string(&dep_file).map_err(|e| VmError::io(&dep_file, e))?;
        let (file, deps) = find_module(&text, name)
            .ok_or_else(|| VmError::Setup(format!("module {name}: not in {}", dep_file.display())))?;
        // modules.dep lists the dependencies so that the last one loads first.
        let order: Vec<String> = deps.iter().rev().map(|d| module_name(d)).collect();
        for (dep_name, dep_file) in order.iter().zip(deps.iter().rev()) {
            if done.insert(dep_name.clone()) {
                self.module_file(tree, dep_file, dep_name)?;
            }
        }
        self.module_file(tree, &file, name)?;
        self.data(
            &format!("vmtest/modules/{name}.deps"),
            format!("{}\n", order.join(" ")).as_bytes(),
            0o644,
        )?;
        done.insert(name.to_string());
        Ok(())
    }

    fn module_file(&mut self, tree: &Path, rel: &str, name: &str) -> Result<(), VmError> {
        let host = tree.join(rel);
        let data = if rel.ends_with(".xz") {
            let out = Command::new("xz")
                .arg("-dc")
                .arg(&host)
                .output()
                .map_err(|e| VmError::io(&host, e))?;
            if !out.status.success() {
                return Err(VmError::Setup(format!(
                    "xz -dc {}: {}",
                    host.display(),
                    out.status
                )));
            }
            out.stdout
        } else {
            std::fs::read(&host).map_err(|e| VmError::io(&host, e))?
        };
        self.data(&format!("vmtest/modules/{name}.ko"), &data, 0o644)
    }
}

/// The line of `modules.dep` for module `name`: (its file, its dependencies' files).
fn find_module(modules_dep: &str, name: &str) -> Option<(String, Vec<String>)> {
    modules_dep.lines().find_map(|line| {
        let (file, deps) = line.split_once(':')?;
        (module_name(file) == name).then(|| {
            (
                file.trim().to_string(),
                deps.split_whitespace().map(str::to_string).collect(),
            )
        })
    })
}

/// `kernel/fs/jbd2/jbd2.ko.xz` -> `jbd2`
fn module_name(file: &str) -> String {
    let base = file.trim().rsplit('/').next().unwrap_or(file);
    base.split(".ko").next().unwrap_or(base).to_string()
}

/// Shared libraries of a binary, as `ldd` names them; none for a static binary.
fn ldd(binary: &Path) -> Result<Vec<PathBuf>, VmError> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| VmError::io(binary, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || text.contains("not a dynamic executable")
        || text.contains("statically linked")
    {
        return Ok(Vec::new());
    }
    parse_ldd(&text)
        .map_err(|missing| VmError::Setup(format!("{}: ldd says {missing} is not found", binary.display())))
}

fn parse_ldd(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some((name, rest)) = line.split_once("=>") {
            let rest = rest.trim();
            if rest.starts_with("not found") {
                return Err(name.trim().to_string());
            }
            if let Some(path) = rest.split_whitespace().next().filter(|p| p.starts_with('/')) {
                libs.push(PathBuf::from(path));
            }
        } else if let Some(path) = line.split_whitespace().next().filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(path)); // the loader, e.g. /lib64/ld-linux-x86-64.so.2
        }
    }
    Ok(libs)
}

/// A copy of `binary` without debug sections (a debug build is ~100 MiB, mostly DWARF, which
/// the guest would unpack for nothing); the binary itself when objcopy is missing or fails.
fn strip_debug(binary: &Path, out: &Path) -> PathBuf {
    let ok = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(binary)
        .arg(out)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        out.to_path_buf()
    } else {
        binary.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ldd_output_gives_libraries_and_the_loader() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x1)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x3)\n";
        let libs = parse_ldd(text).unwrap();
        assert_eq!(
            libs,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert_eq!(parse_ldd("\tlibfoo.so => not found\n").unwrap_err(), "libfoo.so");
    }

    #[test]
    fn modules_dep_lines_give_the_file_and_its_dependencies() {
        let dep = "kernel/fs/mbcache.ko:\n\
                   kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n\
                   kernel/drivers/block/brd.ko.xz:\n";
        let (file, deps) = find_module(dep, "ext4").unwrap();
        assert_eq!(file, "kernel/fs/ext4/ext4.ko");
        assert_eq!(deps.len(), 3);
        assert_eq!(
            find_module(dep, "brd").unwrap().0,
            "kernel/drivers/block/brd.ko.xz"
        );
        assert!(find_module(dep, "ext").is_none());
        assert_eq!(module_name("kernel/fs/jbd2/jbd2.ko.xz"), "jbd2");
    }
}
