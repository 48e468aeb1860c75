//! A minimal writer for the "newc" cpio format, the one the kernel unpacks as an initramfs.
//! Uncompressed on purpose: under software emulation the kernel's decompressor is slow, a
//! plain archive unpacks faster than a gzip one is inflated.

use std::io::{self, Write};

/// Writes entries one after the other; `finish` adds the trailer.
pub struct CpioWriter<W: Write> {
    out: W,
    next_ino: u32,
    written: u64,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

impl<W: Write> CpioWriter<W> {
    pub fn new(out: W) -> CpioWriter<W> {
        CpioWriter {
            out,
            next_ino: 1,
            written: 0,
        }
    }

    /// A directory (`name` without a leading slash, e.g. `lib/x86_64-linux-gnu`).
    pub fn dir(&mut self, name: &str) -> io::Result<()> {
        self.entry(name, S_IFDIR | 0o755, 2, (0, 0), &[])
    }

    /// A regular file with permission bits `perm` (e.g. 0o755).
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.entry(name, S_IFREG | (perm & 0o7777), 1, (0, 0), data)
    }

    /// A character device node (e.g. `dev/console`, 5:1), needed before devtmpfs is mounted.
    pub fn char_device(&mut self, name: &str, major: u32, minor: u32) -> io::Result<()> {
        self.entry(name, S_IFCHR | 0o600, 1, (major, minor), &[])
    }

    /// Writes the trailer and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) -> io::Result<()> {
        let name = name.trim_start_matches('/');
        let size = u32::try_from(data.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name}: {} bytes is too large for a newc cpio entry", data.len()),
            )
        })?;
        let ino = self.next_ino;
        self.next_ino += 1;
        let header = format!(
            "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
             {maj:08x}{min:08x}{rmaj:08x}{rmin:08x}{namesize:08x}{check:08x}",
            uid = 0,
            gid = 0,
            mtime = 0,
            maj = 0,
            min = 0,
            rmaj = rdev.0,
            rmin = rdev.1,
            namesize = name.len() + 1,
            check = 0,
        );
        self.put(header.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()?;
        self.put(data)?;
        self.pad()
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// newc aligns every header and every file's data to 4 bytes.
    fn pad(&mut self) -> io::Result<()> {
        let rest = (4 - (self.written % 4) as usize) % 4;
        self.put(&[0u8; 3][..rest])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_are_aligned_and_end_with_the_trailer() {
        let mut w = CpioWriter::new(Vec::new());
        w.dir("bin").unwrap();
        w.file("bin/x", 0o755, b"hello").unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        assert!(bytes.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("bin/x\0"));
        assert!(text.contains("hello"));
        assert!(text.contains("TRAILER!!!\0"));
        // Second header starts on a 4-byte boundary right after "bin\0" + padding.
        let second = text
            .find("070701")
            .map(|_| text[6..].find("070701").unwrap() + 6)
            .unwrap();
        assert_eq!(second % 4, 0);
    }

    #[test]
    fn round_trips_through_the_cpio_tool_when_present() {
        let Ok(status) = std::process::Command::new("cpio").arg("--version").output() else {
            return; // no cpio(1) here: the alignment test above still ran
        };
        if !status.status.success() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.cpio");
        let mut w = CpioWriter::new(std::fs::File::create(&archive).unwrap());
        w.dir("d").unwrap();
        w.file("d/f", 0o644, b"abc").unwrap();
        w.finish().unwrap();
        let out = std::process::Command::new("cpio")
            .args(["-i", "-d", "--quiet", "-F"])
            .arg(&archive)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(dir.path().join("d/f")).unwrap(), b"abc");
    }
}
