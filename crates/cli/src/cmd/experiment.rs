//! `headroom experiment` (not written yet).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Experiment {
    /// Show page cache moving in and out of the kubelet's working set.
    PageCache,
}

pub fn run(_exp: Experiment) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`headroom experiment` is not implemented yet")
}
