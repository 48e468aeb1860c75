//! `headroom simulate` (not written yet).

use std::process::ExitCode;

#[derive(clap::Args, Default)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`headroom simulate` is not implemented yet")
}
