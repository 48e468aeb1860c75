//! The allocator's heartbeat file (`headroom worker alloc --heartbeat FILE`).
//!
//! One fixed-width line rewritten in place (`pwrite` at offset 0) after every step, so a
//! benchmark can read, at any moment, when the allocator last made progress and how much it
//! had allocated, e.g. to find when a threshold was crossed or how long the allocator was
//! stuck at a limit. Fields (all decimal, zero-padded to 20 digits):
//!
//! `headroom-alloc pid=.. start_mono_ns=.. mono_ns=.. wall_ns=.. allocated=.. target=.. done=0|1`
//!
//! `*_mono_ns` are `CLOCK_MONOTONIC` (comparable across processes on one host), `wall_ns` is
//! Unix time. A reader racing a write may see a torn line: [`Heartbeat::parse`] then fails and
//! the reader should simply read again.

use std::fs::File;
use std::os::unix::fs::FileExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Heartbeat {
    pub pid: u32,
    /// `CLOCK_MONOTONIC` when the allocator started allocating.
    pub start_mono_ns: u64,
    /// `CLOCK_MONOTONIC` of the last progress.
    pub mono_ns: u64,
    /// Unix time of the last progress.
    pub wall_ns: u64,
    /// Bytes allocated and touched so far.
    pub allocated: u64,
    /// Bytes the allocator was asked for.
    pub target: u64,
    /// Allocation finished (the allocator is now holding its memory).
    pub done: bool,
}

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64).saturating_mul(1_000_000_000) + t.tv_nsec as u64
}

/// Unix time in nanoseconds.
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Heartbeat {
    pub fn render(&self) -> String {
        format!(
            "headroom-alloc pid={:020} start_mono_ns={:020} mono_ns={:020} wall_ns={:020} allocated={:020} target={:020} done={}\n",
            self.pid,
            self.start_mono_ns,
            self.mono_ns,
            self.wall_ns,
            self.allocated,
            self.target,
            u8::from(self.done)
        )
    }

    pub fn parse(line: &str) -> Option<Heartbeat> {
        let mut fields = line.split_whitespace();
        if fields.next()? != "headroom-alloc" {
            return None;
        }
        let mut get = |name: &str| -> Option<u64> {
            let (k, v) = fields.next()?.split_once('=')?;
            if k != name {
                return None;
            }
            v.parse().ok()
        };
        let hb = Heartbeat {
            pid: u32::try_from(get("pid")?).ok()?,
            start_mono_ns: get("start_mono_ns")?,
            mono_ns: get("mono_ns")?,
            wall_ns: get("wall_ns")?,
            allocated: get("allocated")?,
            target: get("target")?,
            done: match get("done")? {
                0 => false,
                1 => true,
                _ => return None,
            },
        };
        Some(hb)
    }

    /// Read a heartbeat file; `None` when missing, empty or torn.
    pub fn read(path: &std::path::Path) -> Option<Heartbeat> {
        Heartbeat::parse(&std::fs::read_to_string(path).ok()?)
    }

    /// Overwrite the record in place (fixed width: no truncation needed).
    pub fn write_to(&self, file: &File) -> std::io::Result<()> {
        file.write_all_at(self.render().as_bytes(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fixed_width() {
        let hb = Heartbeat {
            pid: 42,
            start_mono_ns: 1,
            mono_ns: 123_456_789,
            wall_ns: 1_795_000_000_000_000_000,
            allocated: 64 << 20,
            target: 128 << 20,
            done: false,
        };
        let line = hb.render();
        assert_eq!(Heartbeat::parse(&line), Some(hb));
        let bigger = Heartbeat {
            allocated: u64::MAX,
            done: true,
            ..hb
        };
        assert_eq!(bigger.render().len(), line.len());
        assert_eq!(Heartbeat::parse(&line[..line.len() / 2]), None);
        assert_eq!(Heartbeat::parse("junk"), None);
    }

    #[test]
    fn clocks_move() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(b >= a && a > 0);
        assert!(wall_ns() > 1_600_000_000_000_000_000);
    }
}
