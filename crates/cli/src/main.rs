//! `headroom`: the command-line front end. Each subcommand lives in `cmd/<name>.rs` and owns
//! its arguments; this file only dispatches and turns errors into exit codes.

#[cfg(feature = "k8s")]
mod cluster;
mod cmd;
mod output;
mod reclaim;
mod status;
mod top;

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
    /// The live view: memory.available against the thresholds, the page cache split, the pods
    /// in eviction order, a short history. Works in 80x24; --once prints one frame.
    Top(cmd::top::Args),
    /// Replay a timeline of Summaries through the kubelet's eviction manager.
    Simulate(cmd::simulate::Args),
    /// Print the effective eviction thresholds of a KubeletConfiguration, or its error.
    CheckConfig(cmd::check_config::Args),
    /// Explain an eviction: its message, or an evicted pod's or its Event's JSON.
    Explain(cmd::explain::Args),
    /// Run an experiment on the real kernel in a temporary cgroup (needs root).
    #[command(subcommand)]
    Experiment(cmd::experiment::Experiment),
    // No doc comment here: it would replace the long help written on `cmd::agent::Args`.
    Agent(cmd::agent::Args),
    /// Every node of a cluster at a glance, through the API server: who is close to eviction.
    Cluster(cmd::cluster::Args),
    // No doc comment: it would replace the long help written on `cmd::record::Args`.
    Record(cmd::record::Args),
    /// Evictions, OOM kills and MemoryPressure episodes in a recording.
    Incidents(cmd::incidents::Args),
    /// The eviction manager over a recording, under its own or another configuration.
    Replay(cmd::replay::Args),
    /// Small jobs run inside experiment cgroups (file writer/reader, paced allocator).
    #[command(hide = true)]
    Worker(cmd::worker::Args),
}

fn main() -> ExitCode {
    // Installed as `kubectl-headroom`, the binary is the `kubectl headroom` plugin.
    let cli = Cli::parse_from(cmd::cluster::plugin_args(std::env::args_os().collect()));
    match dispatch(cli) {
        Ok(code) => code,
        // The reader stopped reading (`| head -1`): not a failure, and nothing to say.
        Err(err) if output::is_reader_gone(&err) => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&error_line(&err));
            cmd::exit_code_for(&err)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => cmd::status::run(cmd::status::Args::default()),
        Some(Command::Status(args)) => cmd::status::run(args),
        Some(Command::Explain(args)) => cmd::explain::run(args),
        Some(Command::Summary(args)) => cmd::summary::run(args),
        Some(Command::Capture(args)) => cmd::capture::run(args),
        Some(Command::Simulate(args)) => cmd::simulate::run(args),
        Some(Command::CheckConfig(args)) => cmd::check_config::run(args),
        Some(Command::Experiment(exp)) => cmd::experiment::run(exp),
        Some(Command::Agent(args)) => cmd::agent::run(args),
        Some(Command::Cluster(args)) => cmd::cluster::run(args),
        Some(Command::Worker(args)) => cmd::worker::run(args),
        Some(Command::Record(args)) => cmd::record::run(args),
        Some(Command::Incidents(args)) => cmd::incidents::run(args),
        Some(Command::Replay(args)) => cmd::replay::run(args),
        Some(Command::Top(args)) => cmd::top::run(args),
    }
}

/// One line on stderr; if stderr itself is gone there is nobody left to tell.
fn report_error(message: &str) {
    output::note(format_args!("headroom: error: {message}"));
}

/// The error and its causes on one line, like anyhow's `{:#}`, but without repeating a cause
/// whose text is already in the line (errors that print their source *and* return it from
/// `source()` would otherwise read "Permission denied (os error 13): Permission denied (os
/// error 13)").
fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct PrintsItsSource(std::io::Error);

    impl std::fmt::Display for PrintsItsSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "/root/x.tar.gz: {}", self.0)
        }
    }

    impl std::error::Error for PrintsItsSource {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let expected = format!("/root/x.tar.gz: {io}");
        let err = anyhow::Error::new(PrintsItsSource(io));
        assert_eq!(error_line(&err), expected);
    }

    #[test]
    fn context_and_distinct_causes_are_joined_like_anyhow() {
        let err = anyhow::anyhow!("disk on fire").context("writing /tmp/out");
        assert_eq!(error_line(&err), "writing /tmp/out: disk on fire");
    }
}
