//! Human-readable numbers for the text report: binary units (KiB, MiB, GiB, TiB) with one
//! decimal, exact byte counts with thousands separators, percentages.

/// `717.8 MiB`, `23.3 GiB`, `512 B`. Negative values keep their sign (`-20.0 MiB`).
pub fn human_bytes(bytes: i128) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let sign = if bytes < 0 { "-" } else { "" };
    let magnitude = bytes.unsigned_abs();
    if magnitude < 1024 {
        return format!("{sign}{magnitude} B");
    }
    let mut value = magnitude as f64 / 1024.0;
    let mut unit = 0;
    // Switch unit at 1023.95 so that rounding never prints `1024.0 MiB`.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    // Round half away from zero (2.25 -> 2.3), as people do; `{:.1}` alone rounds ties
    // to even.
    format!("{sign}{:.1} {}", round1(value), UNITS[unit])
}

/// `752,611,328`: exact counts, grouped so a tired eye can compare them.
pub fn grouped(value: i128) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `part / whole` in percent with one decimal; `None` when `whole` is zero.
pub fn percent(part: i128, whole: i128) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    Some(round1(part as f64 * 100.0 / whole as f64))
}

/// Round to one decimal so JSON and text agree and snapshots do not carry float noise.
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(2304), "2.3 KiB");
        assert_eq!(human_bytes(752_611_328), "717.7 MiB");
        assert_eq!(human_bytes(25_276_502_016), "23.5 GiB");
        assert_eq!(human_bytes(-20 * 1024 * 1024), "-20.0 MiB");
        assert_eq!(human_bytes(1024 * 1024 * 1024 - 1), "1.0 GiB");
    }

    #[test]
    fn grouping_and_percent() {
        assert_eq!(grouped(752_611_328), "752,611,328");
        assert_eq!(grouped(-1000), "-1,000");
        assert_eq!(grouped(999), "999");
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(1, 0), None);
    }
}
