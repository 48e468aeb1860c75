//! `headroom capture`: save exactly the kernel files headroom reads (plus a small metadata file
//! for what cannot be a file: statfs magics, filesystem sizes, the time), so that
//! `headroom summary --root OUT` / `headroom status --root OUT` on another machine give the same
//! result as on this node.

use std::path::PathBuf;
use std::process::ExitCode;

use headroom_linux::capture::{self, CaptureError};

use super::bad_input;
use super::summary::{SourceArgs, collect_error};

#[derive(clap::Args, Default)]
#[command(after_help = "Examples:\n  headroom capture --output node1.tar.gz\n  \
headroom capture --output /tmp/node1      # a new or empty directory\n  \
headroom summary --root node1.tar.gz")]
pub struct Args {
    /// Where to write: a new or empty directory, or a FILE.tar.gz / FILE.tgz archive.
    #[arg(long, short, value_name = "DIR|FILE.tar.gz")]
    pub output: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let out = &args.output;
    // The folder to write into must exist: capture creates the archive or the directory
    // itself, never its parents.
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(bad_input(format!(
            "--output {}: the folder {} does not exist; create it first (mkdir -p {}) or \
             choose another place",
            out.display(),
            parent.display(),
            parent.display()
        )));
    }
    if capture::is_archive(out) {
        if out.exists() {
            return Err(bad_input(format!(
                "--output {}: file exists; refusing to overwrite it",
                out.display()
            )));
        }
    } else if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(bad_input(format!(
                "--output {}: exists and is not an empty directory; choose a new directory \
                 (or a name ending in .tar.gz)",
                out.display()
            )));
        }
    }
    let (_opened, opts) = args.source.open()?;
    let report = capture::capture(opts, out).map_err(|e| match e {
        CaptureError::Collect(c) => collect_error(c),
        other => anyhow::Error::new(other),
    })?;
    for skip in &report.snapshot.skipped {
        crate::output::note(format_args!(
            "headroom: note: {}: {}",
            skip.path.display(),
            skip.reason
        ));
    }
    let snap = &report.snapshot;
    crate::output::stdout(&format!(
        "wrote {} files ({} bytes) to {}: {} layout, {} pods{}",
        report.files,
        report.bytes,
        report.output.display(),
        snap.layout.mode.as_str(),
        snap.pods.len(),
        match &snap.pods_cgroup {
            Some(p) => format!(" under {}", p.cgroup),
            None => String::new(),
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}
