//! Sizes and rates as an operator types them on the command line: `256M`, `64Mi`, `1G`,
//! `4096`, `100M/s`, `60%`. Suffixes are binary (as `dd` and `free -h` use them): `M` and
//! `Mi` both mean MiB, so `--size 256M` writes exactly 256 MiB.

/// Parse a byte size: a whole number with an optional K/M/G/T suffix (optionally followed by
/// `i` and/or `B`), binary multiples.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!(
            "`{text}` is negative: a size is a whole number of bytes (e.g. 256M)"
        ));
    }
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    if let Some(fraction) = suffix.strip_prefix(['.', ',']) {
        // `3.5M`: say the whole-number form instead of "unknown unit `.5M`".
        let unit_at = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        let smaller = match fraction[unit_at..]
            .trim_end_matches(['B', 'b'])
            .trim_end_matches('i')
        {
            "M" | "m" => " in K (3.5M = 3584K)",
            "G" | "g" => " in M (1.5G = 1536M)",
            "T" | "t" => " in G",
            _ => "",
        };
        return Err(format!(
            "`{text}` has a fraction: sizes are whole numbers; write it in a smaller unit{smaller}"
        ));
    }
    if num.is_empty() {
        return Err(format!(
            "`{text}` is not a size: expected a whole number with an optional K, M, G or T suffix (e.g. 256M)"
        ));
    }
    let value: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is too large for a size"))?;
    let unit = suffix.trim_end_matches(['B', 'b']).trim_end_matches('i');
    let shift = match unit {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        "T" | "t" => 40,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{suffix}`: use K, M, G or T (binary: M = MiB)"
            ));
        }
    };
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large for a size"))
}

/// Parse a rate such as `100M/s` (or `100M`): bytes per second.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let size = t.strip_suffix("/s").unwrap_or(t);
    let bytes = parse_size(size).map_err(|e| format!("rate {e}"))?;
    if bytes == 0 {
        return Err(format!("rate `{text}` must be above zero"));
    }
    Ok(bytes)
}

/// Parse a percentage `60%` (or `60`) into a fraction in (0, 1].
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let n = t.strip_suffix('%').unwrap_or(t).trim();
    let v: f64 = n
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage (e.g. 60%)"))?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(format!("percentage `{text}` must be above 0% and at most 100%"));
    }
    Ok(v / 100.0)
}

/// Bytes as MiB with one decimal, the unit the experiments report in.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Signed difference in MiB, for deltas.
pub fn mib_delta(after: u64, before: u64) -> f64 {
    (after as f64 - before as f64) / 1_048_576.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_and_fractional_sizes_say_so() {
        let e = parse_size("-1M").unwrap_err();
        assert!(e.contains("`-1M` is negative"), "{e}");
        let e = parse_size("3.5M").unwrap_err();
        assert!(e.contains("`3.5M` has a fraction") && e.contains("3584K"), "{e}");
        let e = parse_size("1.5G").unwrap_err();
        assert!(e.contains("1536M"), "{e}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("256M").unwrap(), 256 << 20);
        assert_eq!(parse_size("64Mi").unwrap(), 64 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("2k").unwrap(), 2048);
        assert!(parse_size("").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("12Q").unwrap_err().contains("unknown unit"));
        assert!(parse_size("-5M").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn rates_and_percentages() {
        assert_eq!(parse_rate("100M/s").unwrap(), 100 << 20);
        assert_eq!(parse_rate("1G").unwrap(), 1 << 30);
        assert!(parse_rate("0/s").is_err());
        assert!((parse_percent("60%").unwrap() - 0.6).abs() < 1e-9);
        assert!(parse_percent("0%").is_err());
        assert!(parse_percent("120%").is_err());
        assert!(parse_percent("abc").is_err());
    }
}
