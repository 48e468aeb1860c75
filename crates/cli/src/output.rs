//! Writing the product to stdout and notes to stderr, and what a failed write means:
//! `headroom status | head -1`, a full disk under `> file`, a closed pipe.
//!
//! Every subcommand writes its output through [`stdout`] (or its own `io::Write` on a locked
//! stdout) and propagates the `io::Error`; nothing uses `print!`, which panics on a failed
//! write. `main` then decides: a reader that stopped reading ([`is_reader_gone`], `EPIPE`) is not
//! a failure, so the program exits 0 silently, like `yes | head -1` or ripgrep; any other write
//! error (ENOSPC, EIO, ...) is one line and exit 1 ("writing to stdout: No space left on device").
//!
//! Notes and progress on stderr go through [`note`], which drops its write error: when stderr
//! itself is gone there is nobody left to tell, and the product on stdout must still be written.

use std::io::{ErrorKind, Write};

/// The context every failed stdout write carries, so the operator's line names stdout.
pub const STDOUT_CONTEXT: &str = "writing to stdout";

/// Write the whole output to stdout and flush it.
pub fn stdout(text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context(STDOUT_CONTEXT)
}

/// A note for the operator on stderr (one line is added); a failed write is dropped.
pub fn note(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether an error returned by a subcommand is a closed pipe on its output.
pub fn is_reader_gone(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_error_is_recognised_through_context() {
        let io = std::io::Error::from(ErrorKind::BrokenPipe);
        let err = anyhow::Error::new(io).context(STDOUT_CONTEXT);
        assert!(is_reader_gone(&err));
        assert!(!is_reader_gone(&anyhow::anyhow!("other")));
    }

    #[test]
    fn other_write_errors_are_not_a_reader_that_went_away() {
        let io = std::io::Error::from(ErrorKind::StorageFull);
        let err = anyhow::Error::new(io).context(STDOUT_CONTEXT);
        assert!(!is_reader_gone(&err));
    }

    #[test]
    fn a_json_encoder_error_converted_to_io_keeps_its_kind() {
        // `experiment --format json` writes with serde_json, whose error does not expose the
        // io::Error as its source: converting it back keeps the kind is_reader_gone looks at.
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = serde_json::to_writer(Closed, &[1, 2, 3]).map_err(std::io::Error::from);
        let err = anyhow::Error::new(err.unwrap_err()).context(STDOUT_CONTEXT);
        assert!(is_reader_gone(&err));
    }
}
