//! Pressure stall information: `/proc/pressure/memory` and cgroup v2 `memory.pressure`.
//!
//! Format: a `some` and a `full` line, each `avg10=<f> avg60=<f> avg300=<f> total=<us>`.
//! Parsing follows the stats library cAdvisor links: unknown keys are ignored, a missing file
//! means "no PSI" (not an error). Own parser rather than procfs-core's: procfs-core's PSI parser
//! slices the line at a fixed offset and panics on a truncated `some` line, and headroom must
//! not panic on junk files.

use headroom_core::summary::{PsiData, PsiStats};
use serde::{Deserialize, Serialize};

/// One PSI line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Cumulative stall time, microseconds.
    pub total: u64,
}

/// Both PSI lines of one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    pub some: PsiLine,
    pub full: PsiLine,
}

/// Why a PSI file is not PSI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsiError {
    #[error("line {line}: token {token:?} is not key=value")]
    NotKeyValue { line: usize, token: String },
    #[error("line {line}: {key}={value:?} is not a number")]
    BadNumber { line: usize, key: String, value: String },
    #[error("no `some` line")]
    NoSome,
}

/// Parse the text of a PSI file. A missing `full` line (CPU PSI on old kernels) stays zero.
pub fn parse(text: &str) -> Result<Psi, PsiError> {
    let mut psi = Psi::default();
    let mut saw_some = false;
    for (i, line) in text.lines().enumerate() {
        let mut tokens = line.split_whitespace();
        let target = match tokens.next() {
            Some("some") => {
                saw_some = true;
                &mut psi.some
            }
            Some("full") => &mut psi.full,
            _ => continue,
        };
        for token in tokens {
            let Some((key, value)) = token.split_once('=') else {
                return Err(PsiError::NotKeyValue {
                    line: i + 1,
                    token: token.to_string(),
                });
            };
            let bad = || PsiError::BadNumber {
                line: i + 1,
                key: key.to_string(),
                value: value.to_string(),
            };
            match key {
                "avg10" => target.avg10 = value.parse().map_err(|_| bad())?,
                "avg60" => target.avg60 = value.parse().map_err(|_| bad())?,
                "avg300" => target.avg300 = value.parse().map_err(|_| bad())?,
                "total" => target.total = value.parse().map_err(|_| bad())?,
                _ => {}
            }
        }
    }
    if !saw_some {
        return Err(PsiError::NoSome);
    }
    Ok(psi)
}

impl Psi {
    /// The kubelet's `psi` object (`KubeletPSI`).
    pub fn to_summary(&self) -> PsiStats {
        let conv = |l: &PsiLine| PsiData {
            total: l.total,
            avg10: l.avg10,
            avg60: l.avg60,
            avg300: l.avg300,
        };
        PsiStats {
            full: conv(&self.full),
            some: conv(&self.some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sample() {
        let text = include_str!("../../tests/fixtures/samples/proc-pressure-memory.txt");
        let psi = parse(text).unwrap();
        assert_eq!((psi.some.total, psi.full.avg10), (0, 0.0));
        let text = "some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\n\
                    full avg10=0.50 avg60=0.10 avg300=0.00 total=678 extra=1\n";
        let psi = parse(text).unwrap();
        assert_eq!(psi.some.total, 12345);
        assert_eq!(psi.some.avg10, 1.5);
        assert_eq!(psi.full.total, 678);
        assert_eq!(psi.to_summary().full.total, 678);
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        assert!(parse("some").is_ok());
        assert_eq!(parse(""), Err(PsiError::NoSome));
        assert!(matches!(parse("some avg10=x"), Err(PsiError::BadNumber { .. })));
        assert!(matches!(parse("some avg10"), Err(PsiError::NotKeyValue { .. })));
    }
}
