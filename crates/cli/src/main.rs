//! `headroom`: the command-line front end. Each subcommand lives in `cmd/<name>.rs` and owns
//! its arguments; this file only dispatches and turns errors into exit codes.

mod cmd;
mod status;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "headroom",
    version,
    about = "Why the kubelet evicts pods for memory while `free` shows gigabytes of buff/cache.",
    long_about = "headroom reads the same kernel files as the kubelet (cgroup v1/v2, /proc), \
makes the same eviction decisions as the kubelet's eviction manager, and explains them.\n\n\
Without a subcommand it runs `headroom status` on this machine."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Why is (or isn't) this node under MemoryPressure? The default command.
    Status(cmd::status::Args),
    /// Print this node's kubelet-compatible Summary JSON (GET /stats/summary).
    Summary(cmd::summary::Args),
    /// Save exactly the kernel files headroom reads, for `headroom status --root`.
    Capture(cmd::capture::Args),
    /// Replay a timeline of Summaries through the kubelet's eviction manager.
    Simulate(cmd::simulate::Args),
    /// Print the effective eviction thresholds of a KubeletConfiguration, or its error.
    CheckConfig(cmd::check_config::Args),
    /// Run an experiment on the real kernel in a temporary cgroup (needs root).
    #[command(subcommand)]
    Experiment(cmd::experiment::Experiment),
    /// Run the node agent: kubelet-grade eviction woken by kernel notifications.
    Agent(cmd::agent::Args),
    /// Small jobs run inside experiment cgroups (file writer/reader, paced allocator).
    #[command(hide = true)]
    Worker(cmd::worker::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cmd::status::run(cmd::status::Args::default()),
        Some(Command::Status(args)) => cmd::status::run(args),
        Some(Command::Summary(args)) => cmd::summary::run(args),
        Some(Command::Capture(args)) => cmd::capture::run(args),
        Some(Command::Simulate(args)) => cmd::simulate::run(args),
        Some(Command::CheckConfig(args)) => cmd::check_config::run(args),
        Some(Command::Experiment(exp)) => cmd::experiment::run(exp),
        Some(Command::Agent(args)) => cmd::agent::run(args),
        Some(Command::Worker(args)) => cmd::worker::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("headroom: error: {err:#}");
            cmd::exit_code_for(&err)
        }
    }
}
