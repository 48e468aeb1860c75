//! What to do when stdout (or stderr) cannot be written: `headroom status | head -1`, a full disk
//! under `> file`, a closed pipe.
//!
//! `println!` panics when the write fails, and the subcommands use it freely. Rather than
//! threading `io::Result` through every printer, the binary catches that one panic: the panic
//! hook stays quiet for it (no "panicked at", no backtrace), the stack unwinds normally (so the
//! experiments' Drop guards still remove their cgroups and kill their workers), and `main` turns
//! it into an exit status. A reader that stopped reading is not a failure: exit 0, silently, like
//! `yes | head -1` from the operator's point of view. Any other write error is one line, exit 1.

use std::any::Any;
use std::io::ErrorKind;

/// The prefix of std's panic message when `print!`/`println!`/`eprint!`/`eprintln!` fail.
const PRINT_PANIC_PREFIX: &str = "failed printing to std";

/// How writing the output failed.
#[derive(Debug, PartialEq, Eq)]
pub enum OutputFailure {
    /// The reader went away (EPIPE): stop quietly.
    ReaderGone,
    /// Anything else (ENOSPC, EIO, ...), as one line for the operator, e.g.
    /// "cannot write to stdout: No space left on device (os error 28)".
    Other(String),
}

/// Classify a panic message; `None` when the panic is not an output failure (a real bug).
pub fn classify_message(message: &str) -> Option<OutputFailure> {
    if !message.starts_with(PRINT_PANIC_PREFIX) {
        return None;
    }
    // std formats the io::Error with its Display, which for EPIPE reads "Broken pipe (os error 32)".
    if message.contains("Broken pipe") {
        Some(OutputFailure::ReaderGone)
    } else {
        let detail = message.trim_start_matches("failed printing to ");
        Some(OutputFailure::Other(format!("cannot write to {detail}")))
    }
}

/// Classify the payload `catch_unwind` returned.
pub fn classify_payload(payload: &(dyn Any + Send)) -> Option<OutputFailure> {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    classify_message(message)
}

/// Whether an error returned by a subcommand is a closed pipe on its output (subcommands that
/// write through `io::Write` and propagate the error, e.g. `simulate`).
pub fn is_reader_gone(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
    })
}

/// Install a panic hook that is silent for output failures and defers to the default hook
/// (message and, with RUST_BACKTRACE, a backtrace) for everything else.
pub fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let is_output_failure = info
            .payload_as_str()
            .is_some_and(|message| classify_message(message).is_some());
        if !is_output_failure {
            default_hook(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_a_reader_that_went_away() {
        assert_eq!(
            classify_message("failed printing to stdout: Broken pipe (os error 32)"),
            Some(OutputFailure::ReaderGone)
        );
        assert_eq!(
            classify_message("failed printing to stderr: Broken pipe (os error 32)"),
            Some(OutputFailure::ReaderGone)
        );
    }

    #[test]
    fn other_write_errors_keep_their_message() {
        let msg = "failed printing to stdout: No space left on device (os error 28)";
        assert_eq!(
            classify_message(msg),
            Some(OutputFailure::Other(
                "cannot write to stdout: No space left on device (os error 28)".to_string()
            ))
        );
    }

    #[test]
    fn other_panics_are_not_output_failures() {
        assert_eq!(classify_message("index out of bounds"), None);
        let payload: Box<dyn Any + Send> = Box::new(42_u32);
        assert_eq!(classify_payload(payload.as_ref()), None);
        let payload: Box<dyn Any + Send> = Box::new(String::from(
            "failed printing to stdout: Broken pipe (os error 32)",
        ));
        assert_eq!(
            classify_payload(payload.as_ref()),
            Some(OutputFailure::ReaderGone)
        );
    }

    #[test]
    fn a_broken_pipe_error_is_recognised_through_context() {
        let io = std::io::Error::from(ErrorKind::BrokenPipe);
        let err = anyhow::Error::new(io).context("writing to stdout");
        assert!(is_reader_gone(&err));
        assert!(!is_reader_gone(&anyhow::anyhow!("other")));
    }
}
