//! One module per subcommand. Each exposes `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

pub mod agent;
pub mod capture;
pub mod check_config;
pub mod cluster;
pub mod experiment;
pub mod explain;
pub mod incidents;
mod incidents_plot;
pub mod record;
pub mod replay;
pub mod simulate;
pub mod status;
pub mod summary;
pub mod top;
pub mod worker;

use headroom_core::text::NotText;
use std::process::ExitCode;

/// Marks an error caused by the user's input (a file, a flag value): exit status 2.
/// Wrap with `anyhow::Error::new(BadInput(..))` or `bad_input(msg)`.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit status 2 for bad input, 1 for everything else.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|e| e.downcast_ref::<BadInput>().is_some()) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Build a bad-input error with a message that names the file, the field and the value.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// Read a user-given text file (`what` names it: "kubelet config", "Summary", ...). Every
/// subcommand words the failures the same way: a directory, a missing or unreadable file, or a
/// binary file is bad input naming the file. A UTF-8 byte-order mark is skipped (editors on
/// Windows write one); UTF-16 (what Windows PowerShell's `>` writes) is named as such.
///
/// `-` is standard input, for `kubectl get --raw ... | headroom status --summary -`.
pub fn read_text(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    let bytes = read_bytes(path, what)?;
    headroom_core::text::decode(&bytes)
        .map(str::to_string)
        .map_err(|e| bad_input(format!("{what} {}: {e}", shown_path(path))))
}

/// [`read_text`] for a JSON input (Summary, pods file): a blank file is bad input too, said in
/// those words rather than the parser's "EOF while parsing".
pub fn read_json(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    let bytes = read_bytes(path, what)?;
    headroom_core::text::decode_non_empty(&bytes)
        .map(str::to_string)
        .map_err(|e| {
            let hint = if e == NotText::Empty {
                "; expected JSON"
            } else {
                ""
            };
            bad_input(format!("{what} {}: {e}{hint}", shown_path(path)))
        })
}

/// The bytes of a user-given file, or of standard input for `-`.
fn read_bytes(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let read = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    read.map_err(|e| bad_input(format!("cannot read {what} {}: {e}", shown_path(path))))
}

/// A path as messages and headers show it; `-` is standard input.
pub fn shown_path(path: &std::path::Path) -> String {
    if path.as_os_str() == "-" {
        "(standard input)".to_string()
    } else {
        path.display().to_string()
    }
}
