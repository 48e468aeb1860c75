//! What a power cut left in the recording's SQLite WAL, read on the host from a copy of the
//! guest's disk image (`e2fsck` replays the ext4 journal on the copy first, as the guest's
//! mount would; `debugfs` takes the file out): the frames that commit, the valid frames after
//! the last commit (a transaction in flight, which SQLite discards), and the frame slots past
//! those that do not check out (a torn write, or an older generation of the reused WAL:
//! SQLite stops at the first such frame and never reads them as data).
//!
//! The WAL format (sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, version,
//! page size, checkpoint sequence, two salts, a checksum of the first 24 bytes), then frames of
//! a 24-byte header (page number, database size after a commit or 0, the two salts, a running
//! checksum) and one page. A frame counts when its salts are the header's and its checksum,
//! chained from the frame before, matches.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

/// The WAL's frames, classified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wal {
    /// Frames up to and including the last commit frame.
    pub committed: usize,
    /// Valid frames after the last commit (a transaction that had not committed).
    pub in_flight: usize,
    /// Frame slots after the valid ones with the current salts but a bad checksum (torn).
    pub torn: usize,
    /// Frame slots after the valid ones from an older generation (other salts).
    pub stale: usize,
    /// Bytes past the last whole frame slot.
    pub partial_bytes: usize,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from `(s0, s1)`.
fn checksum(data: &[u8], big_endian: bool, (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    let word = |c: &[u8]| {
        let a: [u8; 4] = c.try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    for pair in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// Classify the frames of a WAL file's bytes.
pub fn inspect(bytes: &[u8]) -> Result<Wal, String> {
    if bytes.len() < 32 {
        return Err(format!("a WAL of {} bytes has no header", bytes.len()));
    }
    let magic = be32(bytes, 0);
    if magic & !1 != 0x377f_0682 {
        return Err(format!("not a WAL (magic {magic:#x})"));
    }
    let big_endian = magic & 1 == 1;
    let page = be32(bytes, 8) as usize;
    let salts = (be32(bytes, 16), be32(bytes, 20));
    let mut sum = checksum(&bytes[..24], big_endian, (0, 0));
    if sum != (be32(bytes, 24), be32(bytes, 28)) {
        return Err("the WAL header's checksum does not match".into());
    }
    let slot = 24 + page;
    let slots = (bytes.len() - 32) / slot;
    let mut wal = Wal {
        partial_bytes: (bytes.len() - 32) % slot,
        ..Wal::default()
    };
    let mut valid = 0;
    for i in 0..slots {
        let f = &bytes[32 + i * slot..32 + (i + 1) * slot];
        if (be32(f, 8), be32(f, 12)) != salts {
            break;
        }
        let next = checksum(&f[24..], big_endian, checksum(&f[..8], big_endian, sum));
        if next != (be32(f, 16), be32(f, 20)) {
            break;
        }
        sum = next;
        valid += 1;
        if be32(f, 4) != 0 {
            wal.committed = valid;
        }
    }
    wal.in_flight = valid - wal.committed;
    for i in valid..slots {
        let f = &bytes[32 + i * slot..32 + (i + 1) * slot];
        if (be32(f, 8), be32(f, 12)) == salts {
            wal.torn += 1;
        } else {
            wal.stale += 1;
        }
    }
    Ok(wal)
}

/// What e2fsck said of the disk after a cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fsck {
    /// 0 clean, 1 errors corrected (the journal is replayed either way).
    pub status: i32,
    /// What it corrected or noted: its output without the pass headings and the summary.
    pub notes: Vec<String>,
}

/// What the disk `image` holds after a power cut: `e2fsck -fy` on a copy, and the WAL at
/// `wal_path` inside it (`None` when there is none). An `Err` when the host lacks e2fsprogs or
/// e2fsck leaves errors uncorrected.
pub fn after_cut(image: &Path, wal_path: &str) -> Result<(Fsck, Option<Vec<u8>>), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let copy = dir.path().join("copy.img");
    std::fs::copy(image, &copy).map_err(|e| format!("copying {}: {e}", image.display()))?;
    let sbin = |tool: &str| {
        ["/usr/sbin", "/sbin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| tool.into())
    };
    let fsck = Command::new(sbin("e2fsck"))
        .arg("-fy")
        .arg(&copy)
        .output()
        .map_err(|e| format!("e2fsck: {e}"))?;
    let status = fsck.status.code().unwrap_or(-1);
    if status > 1 {
        return Err(format!(
            "e2fsck -fy on the disk after the power cut: status {status}\n{}",
            String::from_utf8_lossy(&fsck.stdout)
        ));
    }
    let text = String::from_utf8_lossy(&fsck.stdout);
    let notes = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("Pass ") && !l.starts_with("e2fsck "))
        .filter(|l| !l.contains("files (") && !l.contains("***** FILE SYSTEM WAS MODIFIED"))
        .map(str::to_string)
        .collect();
    let out = dir.path().join("wal");
    let dump = Command::new(sbin("debugfs"))
        .arg("-R")
        .arg(format!("dump {wal_path} {}", out.display()))
        .arg(&copy)
        .output()
        .map_err(|e| format!("debugfs: {e}"))?;
    if !dump.status.success() {
        return Err(format!("debugfs dump {wal_path}: {}", dump.status));
    }
    Ok((
        Fsck { status, notes },
        std::fs::read(&out).ok().filter(|b| !b.is_empty()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL with `frames` (page number, commit size) of 512-byte pages, checksummed.
    fn wal(frames: &[(u32, u32)], salts: (u32, u32)) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x377f_0682u32, 3_007_000, 512, 0, salts.0, salts.1] {
            b.extend(v.to_be_bytes());
        }
        let mut sum = checksum(&b, false, (0, 0));
        b.extend(sum.0.to_be_bytes());
        b.extend(sum.1.to_be_bytes());
        for (i, (pgno, commit)) in frames.iter().enumerate() {
            let mut f = Vec::new();
            for v in [*pgno, *commit, salts.0, salts.1] {
                f.extend(v.to_be_bytes());
            }
            let page = vec![i as u8; 512];
            sum = checksum(&page, false, checksum(&f[..8], false, sum));
            f.extend(sum.0.to_be_bytes());
            f.extend(sum.1.to_be_bytes());
            f.extend(page);
            b.extend(f);
        }
        b
    }

    #[test]
    fn frames_are_committed_in_flight_torn_or_stale() {
        let good = wal(&[(1, 0), (2, 5), (3, 0), (4, 7), (5, 0)], (9, 9));
        assert_eq!(
            inspect(&good).unwrap(),
            Wal {
                committed: 4,
                in_flight: 1,
                ..Wal::default()
            }
        );
        // A torn last frame: its page is half overwritten.
        let mut torn = good.clone();
        let last = torn.len() - 100;
        torn[last] ^= 0xff;
        let w = inspect(&torn).unwrap();
        assert_eq!((w.committed, w.in_flight, w.torn), (4, 0, 1));
        // The WAL restarted with new salts over an older, longer one: the old frames are stale.
        let mut reused = wal(&[(1, 1)], (10, 10));
        reused.extend_from_slice(&good[32 + 536..]);
        reused.extend_from_slice(&[0; 7]);
        let w = inspect(&reused).unwrap();
        assert_eq!(
            (w.committed, w.in_flight, w.torn, w.stale, w.partial_bytes),
            (1, 0, 0, 4, 7)
        );
        assert!(inspect(&good[..20]).is_err());
    }
}
