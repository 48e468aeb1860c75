//! The guest's snapshots of kernel files ("==> path <==" sections, as busybox `head` prints
//! several files) and cAdvisor's cgroup v2 figures computed from them, for the VM tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

pub const CG: &str = "/sys/fs/cgroup";

/// One snapshot: absolute path -> file text.
pub struct Snap(pub BTreeMap<String, String>);

impl Snap {
    pub fn parse(text: &str) -> Snap {
        let mut files = BTreeMap::new();
        let mut current: Option<(String, String)> = None;
        for line in text.lines() {
            if let Some(path) = line.strip_prefix("==> ").and_then(|l| l.strip_suffix(" <==")) {
                if let Some((p, body)) = current.take() {
                    files.insert(p, body);
                }
                current = Some((path.to_string(), String::new()));
            } else if let Some((_, body)) = current.as_mut().filter(|_| !line.is_empty()) {
                body.push_str(line);
                body.push('\n');
            }
        }
        if let Some((p, body)) = current {
            files.insert(p, body);
        }
        Snap(files)
    }

    pub fn file(&self, path: &str) -> &str {
        self.0
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the guest's snapshot"))
    }

    /// A key of a flat-keyed file (`memory.stat`, `memory.events`, `/proc/meminfo` in kB).
    pub fn key(&self, path: &str, key: &str) -> u64 {
        let text = self.file(path);
        text.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next()?.trim_end_matches(':') == key).then(|| w.next()?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("{path}: no {key} in\n{text}"))
    }

    pub fn stat(&self, cgroup: &str, key: &str) -> u64 {
        self.key(&format!("{CG}{cgroup}/memory.stat"), key)
    }

    /// `memory.current` / `memory.max` (None = "max").
    pub fn number(&self, cgroup: &str, file: &str) -> Option<u64> {
        let t = self.file(&format!("{CG}{cgroup}/{file}")).trim();
        (t != "max").then(|| t.parse().unwrap())
    }

    /// (some, full) lines of a PSI file: (avg10, avg60, avg300, total).
    pub fn psi(&self, path: &str) -> [(f64, f64, f64, u64); 2] {
        let text = self.file(path);
        let line = |kind: &str| {
            let l = text
                .lines()
                .find(|l| l.starts_with(kind))
                .unwrap_or_else(|| panic!("{path}: no {kind} line"));
            let v = |k: &str| {
                l.split_whitespace()
                    .find_map(|t| t.strip_prefix(&format!("{k}=")))
                    .unwrap()
                    .to_string()
            };
            (
                v("avg10").parse().unwrap(),
                v("avg60").parse().unwrap(),
                v("avg300").parse().unwrap(),
                v("total").parse().unwrap(),
            )
        };
        [line("some"), line("full")]
    }

    /// cAdvisor's v2 figures of a non-root cgroup.
    pub fn cgroup(&self, cgroup: &str) -> Figures {
        let usage = self.number(cgroup, "memory.current").unwrap();
        let inactive = self.stat(cgroup, "inactive_file");
        Figures {
            usage,
            working_set: usage.saturating_sub(inactive),
            rss: self.stat(cgroup, "anon"),
            page_faults: self.stat(cgroup, "pgfault"),
            major_page_faults: self.stat(cgroup, "pgmajfault"),
            limit: self.number(cgroup, "memory.max"),
            psi: self.psi(&format!("{CG}{cgroup}/memory.pressure")),
        }
    }

    /// The node with the v2 root rule: no `memory.current` at the root, usage = anon + file;
    /// capacity = MemTotal.
    pub fn node(&self) -> Figures {
        let usage = self.stat("", "anon") + self.stat("", "file");
        let inactive = self.stat("", "inactive_file");
        Figures {
            usage,
            working_set: usage.saturating_sub(inactive),
            rss: self.stat("", "anon"),
            page_faults: self.stat("", "pgfault"),
            major_page_faults: self.stat("", "pgmajfault"),
            limit: Some(self.key("/proc/meminfo", "MemTotal") * 1024),
            psi: self.psi(&format!("{CG}/memory.pressure")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Figures {
    pub usage: u64,
    pub working_set: u64,
    pub rss: u64,
    pub page_faults: u64,
    pub major_page_faults: u64,
    pub limit: Option<u64>,
    pub psi: [(f64, f64, f64, u64); 2],
}

impl Figures {
    pub fn available(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.working_set))
    }
}

/// Collects every mismatch, so one failing run shows all of them.
#[derive(Default)]
pub struct Mismatches(pub Vec<String>);

impl Mismatches {
    /// `got` must lie between the two kernel reads taken before and after headroom's, widened by
    /// `slack` (what headroom itself adds while it runs).
    pub fn between(&mut self, what: &str, got: Option<u64>, a: u64, b: u64, slack: u64) {
        let (lo, hi) = (a.min(b).saturating_sub(slack), a.max(b).saturating_add(slack));
        match got {
            Some(v) if (lo..=hi).contains(&v) => {}
            Some(v) => self.0.push(format!(
                "{what}: headroom {v}, kernel read {a} then {b} (slack {slack})"
            )),
            None => self.0.push(format!(
                "{what}: missing in headroom's output (kernel {a} then {b})"
            )),
        }
    }

    pub fn between_f(&mut self, what: &str, got: Option<f64>, a: f64, b: f64) {
        let (lo, hi) = (a.min(b) - 0.005, a.max(b) + 0.005);
        match got {
            Some(v) if v >= lo && v <= hi => {}
            other => self
                .0
                .push(format!("{what}: headroom {other:?}, kernel read {a} then {b}")),
        }
    }

    pub fn equal<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0
                .push(format!("{what}: headroom {got:?}, expected {want:?}"));
        }
    }

    pub fn check(&mut self, what: &str, ok: bool) {
        if !ok {
            self.0.push(what.to_string());
        }
    }

    pub fn assert_none(&self, context: &str) {
        assert!(
            self.0.is_empty(),
            "{context}: {} mismatches\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}
