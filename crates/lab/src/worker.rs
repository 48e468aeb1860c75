//! The jobs of the hidden `headroom worker` subcommand. Experiments, tests and benchmarks
//! start these INSIDE a cgroup (see `headroom_linux::control::Cgroup::command`) so that the
//! page cache and anonymous memory they touch are charged to that cgroup.

use crate::heartbeat::{Heartbeat, monotonic_ns, wall_ns};
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const PAGE: usize = 4096;
/// The allocator's pacing step: 16 pages, so a rate is followed within ~0.3 ms at 200 MiB/s.
const ALLOC_STEP: usize = 64 * 1024;
/// Anonymous memory is reserved in blocks of this size and touched page by page.
const ALLOC_BLOCK: usize = 1 << 20;

/// How to run `headroom worker ...`: the program and the arguments before the job name.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub prefix: Vec<OsString>,
}

impl WorkerCommand {
    /// This very executable (`headroom`), subcommand `worker`.
    pub fn current_exe() -> io::Result<Self> {
        Ok(WorkerCommand {
            program: std::env::current_exe()?,
            prefix: vec!["worker".into()],
        })
    }

    /// Full argument list for one job (`write-file PATH SIZE`, ...).
    pub fn args<I, S>(&self, job: I) -> Vec<OsString>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut v = self.prefix.clone();
        v.extend(job.into_iter().map(Into::into));
        v
    }
}

/// Write `size` bytes (non-zero data, 1 MiB at a time) to a new file at `path`. Prints a
/// progress line to stderr every 64 MiB when `progress` is set.
pub fn write_file(path: &Path, size: u64, progress: bool) -> io::Result<()> {
    let mut file = File::create(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))?;
    let chunk = vec![0x5a_u8; MIB as usize];
    let mut written = 0u64;
    while written < size {
        let n = (size - written).min(MIB) as usize;
        if let Err(e) = file.write_all(&chunk[..n]) {
            let msg = if e.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error()) {
                format!(
                    "no space left for {}: the disk filled up after {:.1} of {:.1} MiB",
                    path.display(),
                    crate::size::mib(written),
                    crate::size::mib(size)
                )
            } else {
                format!("writing {}: {e}", path.display())
            };
            return Err(io::Error::new(e.kind(), msg));
        }
        written += n as u64;
        if progress && (written.is_multiple_of(64 * MIB) || written == size) {
            // Progress only: a closed stderr must not stop the writer.
            let _ = writeln!(
                io::stderr(),
                "worker: wrote {} of {} MiB",
                written / MIB,
                size.div_ceil(MIB)
            );
        }
    }
    file.flush()
}

/// Read the whole file, discarding the data; returns the number of bytes read.
pub fn read_file(path: &Path) -> io::Result<u64> {
    let mut file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    let mut buf = vec![0u8; MIB as usize];
    let mut total = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading {}: {e}", path.display()),
                ));
            }
        }
    }
}

/// What `worker alloc` does.
#[derive(Debug, Clone)]
pub struct AllocOptions {
    /// Bytes of anonymous memory to allocate and touch.
    pub bytes: u64,
    /// Bytes per second; `None` = as fast as possible.
    pub rate: Option<u64>,
    /// How long to hold the memory afterwards; `None` = until killed.
    pub hold: Option<Duration>,
    /// Heartbeat file, rewritten after every step (see [`crate::heartbeat`]).
    pub heartbeat: Option<PathBuf>,
}

/// Allocate anonymous memory, touching it page by page at the requested rate, then hold it.
pub fn alloc(opts: &AllocOptions) -> io::Result<()> {
    let heartbeat = match &opts.heartbeat {
        Some(p) => Some(
            OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(p)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot open heartbeat file {}: {e}", p.display()),
                    )
                })?,
        ),
        None => None,
    };
    let start = Instant::now();
    let mut beat = Heartbeat {
        pid: std::process::id(),
        start_mono_ns: monotonic_ns(),
        mono_ns: 0,
        wall_ns: 0,
        allocated: 0,
        target: opts.bytes,
        done: false,
    };
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let page = [0xa5_u8; PAGE];
    while beat.allocated < opts.bytes {
        if let Some(rate) = opts.rate {
            // Step i may start once i*STEP bytes are "due" at this rate.
            let due = Duration::from_secs_f64(beat.allocated as f64 / rate as f64);
            let now = start.elapsed();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let step = (opts.bytes - beat.allocated).min(ALLOC_STEP as u64) as usize;
        let mut left = step;
        while left > 0 {
            let need_block = blocks.last().is_none_or(|b| b.len() == b.capacity());
            if need_block {
                blocks.push(Vec::with_capacity(ALLOC_BLOCK));
            }
            let Some(block) = blocks.last_mut() else {
                break;
            };
            let n = left.min(PAGE).min(block.capacity() - block.len());
            // Writing the bytes is what faults the page in and charges it.
            block.extend_from_slice(&page[..n]);
            left -= n;
        }
        beat.allocated += step as u64;
        if let Some(f) = &heartbeat {
            beat.mono_ns = monotonic_ns();
            beat.wall_ns = wall_ns();
            beat.write_to(f)?;
        }
    }
    beat.done = true;
    if let Some(f) = &heartbeat {
        beat.mono_ns = monotonic_ns();
        beat.wall_ns = wall_ns();
        beat.write_to(f)?;
    }
    hold(opts.hold);
    // Keep the memory alive until here.
    drop(blocks);
    Ok(())
}

/// Sleep for `duration`, or forever.
pub fn hold(duration: Option<Duration>) {
    match duration {
        Some(d) => std::thread::sleep(d),
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_file(&path, 3 * MIB + 5, false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * MIB + 5);
        assert_eq!(read_file(&path).unwrap(), 3 * MIB + 5);
        let err = read_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"));
    }

    #[test]
    fn alloc_follows_rate_and_writes_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let hb = dir.path().join("hb");
        let started = Instant::now();
        alloc(&AllocOptions {
            bytes: 8 * MIB,
            rate: Some(80 * MIB),
            hold: Some(Duration::ZERO),
            heartbeat: Some(hb.clone()),
        })
        .unwrap();
        // 8 MiB at 80 MiB/s: the last step is due after ~100 ms.
        assert!(started.elapsed() >= Duration::from_millis(95));
        let beat = Heartbeat::read(&hb).unwrap();
        assert_eq!(beat.allocated, 8 * MIB);
        assert!(beat.done);
        assert_eq!(beat.pid, std::process::id());
        assert!(beat.mono_ns - beat.start_mono_ns >= 95_000_000);
    }
}
