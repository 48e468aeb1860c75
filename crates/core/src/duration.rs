//! Go `time.Duration`: parsing exactly like `time.ParseDuration` and printing exactly like
//! `Duration.String()`.
//!
//! The kubelet reads every eviction duration (`evictionSoftGracePeriod` values,
//! `evictionPressureTransitionPeriod`, the `--eviction-*` flags) with Go's parser, so the
//! accepted syntax and the error wording here follow it: `1h30m`, `1.5h`, `300ms`, `-5s`,
//! units `ns us µs μs ms s m h`, a bare `0` is fine but any other bare number is
//! `time: missing unit in duration "30"`.

use std::fmt;

/// Nanoseconds, like Go's `time.Duration` (an `int64`).
pub type Nanos = i64;

pub const NANOSECOND: Nanos = 1;
pub const MICROSECOND: Nanos = 1_000;
pub const MILLISECOND: Nanos = 1_000_000;
pub const SECOND: Nanos = 1_000_000_000;
pub const MINUTE: Nanos = 60 * SECOND;
pub const HOUR: Nanos = 60 * MINUTE;

/// Why a string is not a Go duration. `Display` is Go's own error text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// `time: invalid duration "<input>"` (syntax error or overflow).
    #[error("time: invalid duration {}", go_quote(.0))]
    Invalid(String),
    /// `time: missing unit in duration "<input>"`.
    #[error("time: missing unit in duration {}", go_quote(.0))]
    MissingUnit(String),
    /// `time: unknown unit "<unit>" in duration "<input>"`.
    #[error("time: unknown unit {} in duration {}", go_quote(.unit), go_quote(.input))]
    UnknownUnit { unit: String, input: String },
}

const LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parse a Go duration string into nanoseconds (`time.ParseDuration`).
pub fn parse_duration(input: &str) -> Result<Nanos, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut s = input.as_bytes();
    let mut negative = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        negative = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        // The next character must be [0-9.].
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (whole, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let had_int = before != s.len();
        let mut fraction = 0u64;
        let mut scale = 1.0f64;
        let mut had_fraction = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let (f, sc, rest) = leading_fraction(s);
            fraction = f;
            scale = sc;
            s = rest;
            had_fraction = before != s.len();
        }
        if !had_int && !had_fraction {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        // Units end at an ASCII byte, so this slice is on a char boundary.
        let unit = String::from_utf8_lossy(&s[..unit_len]).into_owned();
        s = &s[unit_len..];
        let per_unit = unit_nanos(&unit).ok_or_else(|| DurationError::UnknownUnit {
            unit,
            input: input.to_string(),
        })?;
        if whole > LIMIT / per_unit {
            return Err(invalid());
        }
        let mut value = whole * per_unit;
        if fraction > 0 {
            // Go computes the fractional part in float64 and truncates; so do we.
            value += (fraction as f64 * (per_unit as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        // total <= 2^63 here, so the negation fits (i64::MIN at most).
        return Ok((total as i128).wrapping_neg() as i64);
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Leading decimal digits as an integer; `None` on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Leading fraction digits: value, power-of-ten scale, rest. Digits past what fits are
/// consumed and ignored, as Go does.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > (LIMIT - 1) / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > LIMIT {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

/// A duration printed like Go's `Duration.String()`: `0s`, `300ms`, `1.5µs`, `1m30s`,
/// `5m0s`, `1h0m0s`, `-2s`.
pub fn format_duration(d: Nanos) -> String {
    GoDuration(d).to_string()
}

/// Display adapter printing nanoseconds the way Go prints a `time.Duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoDuration(pub Nanos);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.0 < 0;
        let mut u = self.0.unsigned_abs();
        let mut out = String::new();
        if u < SECOND as u64 {
            let (prec, unit) = match u {
                0 => return f.write_str("0s"),
                u if u < MICROSECOND as u64 => (0, "ns"),
                u if u < MILLISECOND as u64 => (3, "\u{00b5}s"),
                _ => (6, "ms"),
            };
            let (frac, whole) = fraction_digits(u, prec);
            out.push_str(&whole.to_string());
            out.push_str(&frac);
            out.push_str(unit);
        } else {
            let (frac, whole_seconds) = fraction_digits(u, 9);
            u = whole_seconds;
            let seconds = u % 60;
            u /= 60;
            if u > 0 {
                let minutes = u % 60;
                u /= 60;
                if u > 0 {
                    out.push_str(&format!("{u}h"));
                }
                out.push_str(&format!("{minutes}m"));
            }
            out.push_str(&format!("{seconds}{frac}s"));
        }
        if negative {
            f.write_str("-")?;
        }
        f.write_str(&out)
    }
}

/// Go's `fmtFrac`: the `prec` low decimal digits of `v` as `.ddd` without trailing zeros
/// (empty when they are all zero), and `v / 10^prec`.
fn fraction_digits(v: u64, prec: u32) -> (String, u64) {
    let divisor = 10u64.pow(prec);
    let low = v % divisor;
    if low == 0 {
        return (String::new(), v / divisor);
    }
    let digits = format!("{low:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / divisor)
}

/// Go's `strconv.Quote` for the strings that appear in error messages: double quotes,
/// backslash escapes for quotes, backslashes and control characters; printable Unicode as is.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let v = c as u32;
                if v <= 0xffff {
                    out.push_str(&format!("\\u{v:04x}"));
                } else {
                    out.push_str(&format!("\\U{v:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Nanos {
        parse_duration(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_go_duration_syntax() {
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("-0"), 0);
        assert_eq!(ok("+0"), 0);
        assert_eq!(ok("0s"), 0);
        assert_eq!(ok("30s"), 30 * SECOND);
        assert_eq!(ok("300ms"), 300 * MILLISECOND);
        assert_eq!(ok("1m30s"), 90 * SECOND);
        assert_eq!(ok("1h30m"), 90 * MINUTE);
        assert_eq!(ok("1.5h"), 90 * MINUTE);
        assert_eq!(ok(".5s"), 500 * MILLISECOND);
        assert_eq!(ok("1.s"), SECOND);
        assert_eq!(ok("-30s"), -30 * SECOND);
        assert_eq!(ok("+5m"), 5 * MINUTE);
        assert_eq!(ok("1us"), MICROSECOND);
        assert_eq!(ok("1\u{00b5}s"), MICROSECOND);
        assert_eq!(ok("1\u{03bc}s"), MICROSECOND);
        assert_eq!(ok("2ns"), 2);
        assert_eq!(
            ok("1h1m1s1ms1us1ns"),
            HOUR + MINUTE + SECOND + MILLISECOND + MICROSECOND + 1
        );
        assert_eq!(ok("9223372036854775807ns"), i64::MAX);
        assert_eq!(ok("-9223372036854775808ns"), i64::MIN);
        assert_eq!(ok("0.3333333333333333333h"), 1_200_000_000_000);
        assert_eq!(ok("1.0000000000000000000000001s"), SECOND);
    }

    #[test]
    fn errors_use_go_wording() {
        let err = |s: &str| parse_duration(s).unwrap_err().to_string();
        assert_eq!(err("30"), r#"time: missing unit in duration "30""#);
        assert_eq!(err("1h30"), r#"time: missing unit in duration "1h30""#);
        assert_eq!(err(""), r#"time: invalid duration """#);
        assert_eq!(err("-"), r#"time: invalid duration "-""#);
        assert_eq!(err("s"), r#"time: invalid duration "s""#);
        assert_eq!(err("."), r#"time: invalid duration ".""#);
        assert_eq!(err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(err("1x"), r#"time: unknown unit "x" in duration "1x""#);
        assert_eq!(err("1 s"), r#"time: unknown unit " s" in duration "1 s""#);
        assert_eq!(
            err("9223372036854775808ns"),
            r#"time: invalid duration "9223372036854775808ns""#
        );
        assert_eq!(err("3000000h"), r#"time: invalid duration "3000000h""#);
        assert_eq!(err("1e3s"), r#"time: unknown unit "e" in duration "1e3s""#);
        assert_eq!(err("--1s"), r#"time: invalid duration "--1s""#);
    }

    #[test]
    fn prints_like_go() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(1), "1ns");
        assert_eq!(format_duration(1_100), "1.1\u{00b5}s");
        assert_eq!(format_duration(300 * MILLISECOND), "300ms");
        assert_eq!(format_duration(1_500 * MICROSECOND), "1.5ms");
        assert_eq!(format_duration(SECOND), "1s");
        assert_eq!(format_duration(90 * SECOND), "1m30s");
        assert_eq!(format_duration(5 * MINUTE), "5m0s");
        assert_eq!(format_duration(HOUR), "1h0m0s");
        assert_eq!(format_duration(HOUR + 1500 * MILLISECOND), "1h0m1.5s");
        assert_eq!(format_duration(-2 * SECOND), "-2s");
        assert_eq!(format_duration(i64::MIN), "-2562047h47m16.854775808s");
        assert_eq!(format_duration(i64::MAX), "2562047h47m16.854775807s");
    }

    proptest::proptest! {
        #[test]
        fn printed_durations_parse_back(d in proptest::num::i64::ANY) {
            proptest::prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,24}") {
            let _ = parse_duration(&s);
        }
    }
}
