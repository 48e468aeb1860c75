//! `/proc/meminfo`: machine capacity (cAdvisor: `MemTotal` x 1024), swap, and the figures
//! `free` (procps-ng) prints, so `status` can show them next to the kubelet's.
//!
//! Own tolerant parser rather than procfs-core's `Meminfo`: that one fails as a whole when any
//! of ~20 fields is missing and slices the field name at a byte offset (a panic on a non-ASCII
//! junk line). Here every well-formed `Name: value [kB]` line is kept, the rest is counted.

use serde::{Deserialize, Serialize};

/// Parsed `/proc/meminfo`: values in bytes (kB lines x 1024), `HugePages_*` as counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meminfo {
    /// `(name, value)` in file order.
    pub fields: Vec<(String, u64)>,
    /// Lines that were not `Name: number [kB]`.
    pub malformed_lines: usize,
}

impl Meminfo {
    pub fn parse(text: &str) -> Meminfo {
        let mut m = Meminfo::default();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed = line.split_once(':').and_then(|(name, rest)| {
                let mut parts = rest.split_whitespace();
                let value: u64 = parts.next()?.parse().ok()?;
                let value = match parts.next() {
                    None => value,
                    Some("kB") => value.checked_mul(1024)?,
                    Some(_) => return None,
                };
                Some((name.trim().to_string(), value))
            });
            match parsed {
                Some(kv) => m.fields.push(kv),
                None => m.malformed_lines += 1,
            }
        }
        m
    }

    /// A field by its exact name (`MemTotal`, `Active(file)`), in bytes.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// Machine memory capacity as cAdvisor computes it (`MemTotal` x 1024).
    pub fn mem_total(&self) -> Option<u64> {
        self.get("MemTotal")
    }

    /// `SwapTotal` x 1024 (cAdvisor's machine swap capacity).
    pub(crate) fn swap_total(&self) -> Option<u64> {
        self.get("SwapTotal")
    }

    /// Swap in use: `SwapTotal - SwapFree`.
    pub(crate) fn swap_used(&self) -> Option<u64> {
        Some(self.swap_total()?.saturating_sub(self.get("SwapFree")?))
    }

    /// `free`'s figures (procps-ng 4.x), when `MemTotal` is present.
    pub fn free(&self) -> Option<FreeFigures> {
        let g = |k| self.get(k).unwrap_or(0);
        let total = self.mem_total()?;
        let free = g("MemFree");
        let buffers = g("Buffers");
        // Saturating: a junk file can hold sizes no machine has (u64::MAX bytes).
        let cache = g("Cached").saturating_add(g("SReclaimable"));
        let mut available = g("MemAvailable");
        // procps' container guard: a 0 or impossible MemAvailable falls back to MemFree.
        if available == 0 || available > total {
            available = free;
        }
        let fallback = total.saturating_sub(free);
        let used = total.checked_sub(available).unwrap_or(fallback);
        let used_procps3 = total
            .checked_sub(free)
            .and_then(|v| v.checked_sub(buffers))
            .and_then(|v| v.checked_sub(cache))
            .unwrap_or(fallback);
        let swap_total = g("SwapTotal");
        Some(FreeFigures {
            total,
            used,
            used_procps3,
            free,
            shared: g("Shmem"),
            buffers,
            cache,
            buff_cache: buffers.saturating_add(cache),
            available,
            swap_total,
            swap_used: swap_total.saturating_sub(g("SwapFree")),
            swap_free: g("SwapFree"),
        })
    }
}

/// What `free -b` prints (procps-ng 4.x formulas), in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeFigures {
    pub total: u64,
    /// procps-ng 4.x: `MemTotal - MemAvailable`.
    pub used: u64,
    /// procps-ng 3.3.10-3.3.17: `MemTotal - MemFree - Buffers - Cached - SReclaimable`.
    pub used_procps3: u64,
    pub free: u64,
    /// `Shmem`.
    pub shared: u64,
    pub buffers: u64,
    /// `Cached + SReclaimable`.
    pub cache: u64,
    /// `Buffers + Cached + SReclaimable`.
    pub buff_cache: u64,
    /// `MemAvailable` (or `MemFree` when that is 0 or above `MemTotal`).
    pub available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub swap_free: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_free_figures_match_procps() {
        let m = Meminfo::parse(include_str!("../../tests/fixtures/samples/sync-meminfo.txt"));
        assert_eq!(m.malformed_lines, 0);
        assert_eq!(m.mem_total(), Some(25_276_502_016));
        assert_eq!(m.get("HugePages_Total"), Some(0));
        let f = m.free().unwrap();
        // computed-cadvisor-figures.txt
        assert_eq!(f.used, 348_917_760);
        assert_eq!(f.used_procps3, 96_788_480);
        assert_eq!(f.buff_cache, 795_914_240);
        assert_eq!(f.shared, 9_084_928);
        assert_eq!(f.swap_used, 0);
    }

    #[test]
    fn impossible_sizes_saturate_instead_of_overflowing() {
        // A value without `kB` is taken as bytes, so a junk file can hold u64::MAX.
        let m = Meminfo::parse(
            "MemTotal: 1\nBuffers: 18446744073709551615\nCached: 18446744073709551615\nSReclaimable: 2\n",
        );
        let f = m.free().unwrap();
        assert_eq!(f.cache, u64::MAX);
        assert_eq!(f.buff_cache, u64::MAX);
        assert!(f.used_procps3 <= f.total);
    }

    #[test]
    fn junk_lines_are_counted_and_the_rest_kept() {
        let m = Meminfo::parse("MemTotal: 10 kB\nä\nMemFree: x kB\nCached: 5 MB\nMemAvailable: 4 kB\n");
        assert_eq!(m.malformed_lines, 3);
        assert_eq!(m.mem_total(), Some(10240));
        let f = m.free().unwrap();
        assert_eq!(f.available, 4096);
        assert_eq!(f.used, 10240 - 4096);
        assert!(Meminfo::parse("").free().is_none());
    }
}
