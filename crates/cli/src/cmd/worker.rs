//! `headroom worker` (hidden): small jobs the experiments, tests and benchmarks start INSIDE
//! a cgroup, so the memory they touch is charged there. Not meant for humans, but the errors
//! are still plain.

use headroom_lab::{size, worker};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    job: Job,
}

#[derive(clap::Subcommand)]
enum Job {
    /// Write SIZE bytes (256M = 256 MiB) of non-zero data to a new file at PATH.
    WriteFile {
        path: PathBuf,
        size: String,
        /// Print a progress line to stderr every 64 MiB.
        #[arg(long)]
        progress: bool,
    },
    /// Read the file at PATH to the end (brings it into page cache, or marks it referenced).
    ReadFile { path: PathBuf },
    /// Allocate anonymous memory, touched page by page, at a steady rate; then hold it.
    Alloc {
        /// How much to allocate, MiB.
        #[arg(long)]
        mib: u64,
        /// Rate in MiB per second (default: as fast as possible).
        #[arg(long)]
        rate: Option<f64>,
        /// Seconds to hold the memory after allocating it (default: until killed).
        #[arg(long)]
        hold: Option<f64>,
        /// File rewritten after every 64 KiB step with the monotonic and wall time of the
        /// last progress and the bytes allocated so far.
        #[arg(long)]
        heartbeat: Option<PathBuf>,
    },
    /// Sleep SECS seconds (default: until killed).
    Sleep { secs: Option<f64> },
    /// The polling yardstick of the agent benchmarks: every --every-ms read the working set of
    /// CGROUP; above --working-set-above bytes, SIGKILL every process under VICTIMS.
    Yardstick {
        cgroup: PathBuf,
        victims: PathBuf,
        #[arg(long)]
        working_set_above: u64,
        #[arg(long, default_value_t = 10)]
        every_ms: u64,
    },
}

fn seconds(flag: &str, v: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(s) => Duration::try_from_secs_f64(s)
            .map(Some)
            .map_err(|_| super::bad_input(format!("{flag} {s}: expected a number of seconds >= 0"))),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.job {
        Job::WriteFile {
            path,
            size: text,
            progress,
        } => {
            let bytes = size::parse_size(&text).map_err(super::bad_input)?;
            worker::write_file(&path, bytes, progress)?;
        }
        Job::ReadFile { path } => {
            worker::read_file(&path)?;
        }
        Job::Alloc {
            mib,
            rate,
            hold,
            heartbeat,
        } => {
            let rate = match rate {
                None => None,
                Some(r) if r.is_finite() && r > 0.0 => Some((r * 1_048_576.0) as u64),
                Some(r) => {
                    return Err(super::bad_input(format!(
                        "--rate {r}: expected MiB per second above 0"
                    )));
                }
            };
            let bytes = mib
                .checked_mul(1 << 20)
                .ok_or_else(|| super::bad_input(format!("--mib {mib} is too large")))?;
            worker::alloc(&worker::AllocOptions {
                bytes,
                rate,
                hold: seconds("--hold", hold)?,
                heartbeat,
            })?;
        }
        Job::Sleep { secs } => worker::hold(seconds("sleep", secs)?),
        Job::Yardstick {
            cgroup,
            victims,
            working_set_above,
            every_ms,
        } => headroom_lab::yardstick::run(
            &cgroup,
            &victims,
            working_set_above,
            Duration::from_millis(every_ms.max(1)),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
