//! The results port's protocol (`@@vmtest ...` lines written by `guest/lib.sh` and
//! `guest/init.sh`) and what a run brought back.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// One case the guest reported with `vm_case` / `vm_check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub passed: bool,
    /// Why it failed (or a note); empty when the guest gave none.
    pub message: String,
}

/// `case NAME pass` / `case NAME FAIL: message`.
impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = if self.passed { "pass" } else { "FAIL" };
        write!(f, "case {} {status}", self.name)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// How the guest run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The scenario ran to its end; its exit status.
    Finished { scenario_exit: i32 },
    /// The guest never reached `/init` (no `boot` line): the VM cannot boot here.
    NoBoot,
    /// `/init` started but the guest stopped before reporting the end (crash, panic, OOM of
    /// init, power-off from the scenario).
    Stopped,
    /// The host's timeout ran out; qemu was killed.
    TimedOut(Duration),
    /// The host cut the guest's power ([`crate::Vm::run_until_power_cut`]): qemu was SIGKILLed
    /// while the guest ran.
    PowerCut,
}

/// Everything one boot brought back.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub ending: Ending,
    pub cases: Vec<Case>,
    /// Files sent with `vm_file NAME PATH`, by NAME.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The guest's console (kernel messages and everything the scenario printed).
    pub console: String,
    /// Kernel version the guest reported, seconds from kernel start to `/init`.
    pub kernel: String,
    pub boot_seconds: Option<f64>,
    /// Wall time of the whole run (image build excluded), as seen by the host.
    pub wall: Duration,
    /// Lines of the results port that were not understood (should be empty).
    pub garbled: Vec<String>,
}

impl Outcome {
    pub(crate) fn parse(
        port: &str,
        console: String,
        ending_if_unfinished: Ending,
        wall: Duration,
    ) -> Outcome {
        let mut out = Outcome {
            ending: ending_if_unfinished,
            cases: Vec::new(),
            files: BTreeMap::new(),
            console,
            kernel: String::new(),
            boot_seconds: None,
            wall,
            garbled: Vec::new(),
        };
        let mut booted = false;
        let mut finished = None;
        let mut file: Option<(String, String)> = None;
        for line in port.lines().map(|l| l.trim_end_matches('\r')) {
            if let Some((name, body)) = file.as_mut() {
                if line == format!("@@vmtest end-file {name}") {
                    let (name, body) = (name.clone(), std::mem::take(body));
                    match decode_base64(&body) {
                        Some(bytes) => {
                            out.files.insert(name, bytes);
                        }
                        None => out.garbled.push(format!("file {name}: bad base64")),
                    }
                    file = None;
                } else {
                    body.push_str(line.trim());
                }
                continue;
            }
            let Some(rest) = line.strip_prefix("@@vmtest ") else {
                if !line.trim().is_empty() {
                    out.garbled.push(line.to_string());
                }
                continue;
            };
            let mut words = rest.splitn(4, ' ');
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("boot"), uptime, kernel, _) => {
                    booted = true;
                    out.boot_seconds = uptime.and_then(|u| u.parse().ok());
                    out.kernel = kernel.unwrap_or("").to_string();
                }
                (Some("case"), Some(name), Some(status), message) => {
                    let message = match message {
                        None | Some("-") => String::new(),
                        Some(b64) => decode_base64(b64)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_else(|| b64.to_string()),
                    };
                    out.cases.push(Case {
                        name: name.to_string(),
                        passed: status == "pass",
                        message,
                    });
                }
                (Some("file"), Some(name), None, None) => file = Some((name.to_string(), String::new())),
                (Some("exit"), Some(code), _, _) => finished = code.parse().ok(),
                (Some("end" | "warn"), ..) => {}
                _ => out.garbled.push(line.to_string()),
            }
            if rest.starts_with("warn ") {
                out.garbled.push(line.to_string());
            }
        }
        if let Some(scenario_exit) = finished {
            out.ending = Ending::Finished { scenario_exit };
        } else if !booted && !matches!(out.ending, Ending::TimedOut(_) | Ending::PowerCut) {
            out.ending = Ending::NoBoot;
        }
        out
    }

    /// Did the guest reach `/init` (its boot line came back)? A guest that did not, whether qemu
    /// stopped or the timeout ran out, means the VM cannot boot here.
    pub fn booted(&self) -> bool {
        !self.kernel.is_empty() || self.boot_seconds.is_some()
    }

    /// The case named `name`, if the guest reported it.
    pub fn case(&self, name: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.name == name)
    }

    /// A file the guest sent, as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.files
            .get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Did the guest boot, run the scenario to the end with status 0 and report no failed case?
    pub fn all_passed(&self) -> bool {
        self.ending == (Ending::Finished { scenario_exit: 0 }) && self.cases.iter().all(|c| c.passed)
    }

    /// Panic (with the case's message and the guest's log) unless case `name` passed.
    pub fn assert_case(&self, name: &str) {
        match self.case(name) {
            Some(c) if c.passed => {}
            Some(c) => panic!("VM case {name} failed: {}\n{}", c.message, self.log_for_failure()),
            None => panic!(
                "VM case {name} was not reported by the guest\n{}",
                self.log_for_failure()
            ),
        }
    }

    /// Panic unless every reported case passed and the scenario ended with status 0.
    pub fn assert_all_passed(&self) {
        if !self.all_passed() {
            panic!("VM run failed\n{}", self.log_for_failure());
        }
    }

    /// A report for a failure: how the run ended, the cases, and the end of the console.
    pub fn log_for_failure(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "ending: {:?} (wall {:.1} s, kernel {}, /init at {:?} s)",
            self.ending,
            self.wall.as_secs_f64(),
            self.kernel,
            self.boot_seconds
        );
        for c in &self.cases {
            let _ = writeln!(s, "  {}", c.to_string().replace('\n', "\n      "));
        }
        for g in &self.garbled {
            let _ = writeln!(s, "  results port: {g}");
        }
        let lines: Vec<&str> = self.console.lines().collect();
        let from = lines.len().saturating_sub(200);
        let _ = writeln!(
            s,
            "--- guest console (last {} of {} lines) ---",
            lines.len() - from,
            lines.len()
        );
        for l in &lines[from..] {
            let _ = writeln!(s, "{}", l.trim_end_matches('\r'));
        }
        s
    }
}

/// Standard base64 (RFC 4648 with padding), as busybox `base64` writes it; `None` if malformed.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_decodes_like_busybox_encodes() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8gd29y\nbGQ=\n").unwrap(), b"hello world");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("a*b").is_none());
    }

    #[test]
    fn the_port_gives_cases_files_and_the_exit_status() {
        let port = "@@vmtest boot 1.25 6.1.0-57-amd64\r\n\
                    @@vmtest case a pass -\r\n\
                    @@vmtest case b fail Ym9vbQ==\n\
                    @@vmtest file out.json\n\
                    eyJ4Ijox\n\
                    fQ==\n\
                    @@vmtest end-file out.json\n\
                    @@vmtest exit 3\n@@vmtest end\n";
        let o = Outcome::parse(port, String::new(), Ending::Stopped, Duration::ZERO);
        assert_eq!(o.ending, Ending::Finished { scenario_exit: 3 });
        assert_eq!(o.kernel, "6.1.0-57-amd64");
        assert_eq!(o.boot_seconds, Some(1.25));
        assert!(o.case("a").unwrap().passed);
        assert_eq!(o.case("b").unwrap().message, "boom");
        assert_eq!(o.text("out.json").unwrap(), "{\"x\":1}");
        assert!(o.garbled.is_empty(), "{:?}", o.garbled);
        assert!(!o.all_passed());
    }

    #[test]
    fn no_boot_line_means_the_vm_did_not_boot_and_a_timeout_stays_a_timeout() {
        let o = Outcome::parse("", String::new(), Ending::Stopped, Duration::ZERO);
        assert_eq!(o.ending, Ending::NoBoot);
        let t = Ending::TimedOut(Duration::from_secs(5));
        let o = Outcome::parse("", String::new(), t.clone(), Duration::ZERO);
        assert_eq!(o.ending, t);
        assert!(!o.booted());
        let o = Outcome::parse(
            "@@vmtest boot 1 k\n",
            String::new(),
            Ending::Stopped,
            Duration::ZERO,
        );
        assert_eq!(o.ending, Ending::Stopped);
        assert!(o.booted());
    }
}
