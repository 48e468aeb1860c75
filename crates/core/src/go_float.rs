//! Go's `strconv.ParseFloat(s, 32)`, which the kubelet uses for eviction percentages.
//!
//! Accepted syntax (Go's float literal syntax): optional sign; decimal digits with at most one
//! `.` and an optional `e`/`E` exponent; hexadecimal `0x` mantissas with a mandatory `p`
//! exponent; `_` between digits (also in decimal numbers: Go's `underscoreOK` allows
//! `1_000.5`); `inf`, `infinity` (optionally signed) and `nan`, case-insensitively. The result
//! is the correctly rounded 32-bit float. Magnitudes beyond the f32 range are a range error
//! (`value out of range`), like Go; underflow quietly gives 0 or a subnormal.
//!
//! Known difference: Go stops accumulating a decimal exponent once it reaches 10000, so an
//! input with more than ~10000 mantissa digits and a compensating exponent can round
//! differently. No configuration file contains such a value.

use crate::duration::go_quote;

/// Why a string is not a float. `Display` is Go's error text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FloatError {
    #[error("strconv.ParseFloat: parsing {}: invalid syntax", go_quote(.0))]
    Syntax(String),
    #[error("strconv.ParseFloat: parsing {}: value out of range", go_quote(.0))]
    Range(String),
}

/// Parse like Go's `strconv.ParseFloat(s, 32)` and return the float32 value.
pub(crate) fn parse_float32(s: &str) -> Result<f32, FloatError> {
    if let Some((value, consumed)) = special(s) {
        if consumed == s.len() {
            return Ok(value);
        }
        return Err(FloatError::Syntax(s.to_string()));
    }
    let parsed = read_float(s.as_bytes()).ok_or_else(|| FloatError::Syntax(s.to_string()))?;
    if parsed.consumed != s.len() {
        return Err(FloatError::Syntax(s.to_string()));
    }
    let value = if parsed.hex {
        hex_to_f32(&parsed)
    } else {
        // The accepted decimal syntax (without underscores) is a subset of what Rust's
        // correctly rounded parser reads.
        let cleaned: String = s.chars().filter(|&c| c != '_').collect();
        cleaned
            .parse::<f32>()
            .map_err(|_| FloatError::Syntax(s.to_string()))?
    };
    if value.is_infinite() {
        return Err(FloatError::Range(s.to_string()));
    }
    Ok(value)
}

/// Go's `special`: `[+-]inf`, `[+-]infinity`, `nan`; returns the value and bytes consumed.
fn special(s: &str) -> Option<(f32, usize)> {
    let b = s.as_bytes();
    let first = *b.first()?;
    let (sign, rest, sign_len) = match first {
        b'+' => (1.0f32, &b[1..], 1),
        b'-' => (-1.0f32, &b[1..], 1),
        _ => (1.0f32, b, 0),
    };
    let starts_i = rest.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'i'));
    if starts_i {
        let n = common_prefix_ignore_case(rest, b"infinity");
        let n = if n > 3 && n < 8 { 3 } else { n };
        if n == 3 || n == 8 {
            return Some((sign * f32::INFINITY, sign_len + n));
        }
        return None;
    }
    if sign_len == 0 && common_prefix_ignore_case(rest, b"nan") == 3 {
        return Some((f32::NAN, 3));
    }
    None
}

fn common_prefix_ignore_case(s: &[u8], prefix: &[u8]) -> usize {
    s.iter()
        .zip(prefix)
        .take_while(|(a, b)| a.to_ascii_lowercase() == **b)
        .count()
}

/// What Go's `readFloat` extracts: for hex numbers a mantissa (at most 16 hex digits, with
/// `truncated` set when non-zero digits were dropped) and a binary exponent.
struct ReadFloat {
    consumed: usize,
    hex: bool,
    negative: bool,
    mantissa: u64,
    exponent: i64,
    truncated: bool,
}

fn lower(c: u8) -> u8 {
    c | (b'x' - b'X')
}

/// Go's `readFloat` syntax scan.
fn read_float(s: &[u8]) -> Option<ReadFloat> {
    let mut i = 0;
    let mut negative = false;
    match s.first() {
        Some(b'+') => i += 1,
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        None => return None,
        _ => {}
    }
    let mut base: u64 = 10;
    let mut max_mant_digits = 19;
    let mut exp_char = b'e';
    let mut hex = false;
    if i + 2 < s.len() && s[i] == b'0' && lower(s[i + 1]) == b'x' {
        base = 16;
        max_mant_digits = 16;
        i += 2;
        exp_char = b'p';
        hex = true;
    }
    let mut underscores = false;
    let mut saw_dot = false;
    let mut saw_digits = false;
    let mut nd: i64 = 0;
    let mut nd_mant: i64 = 0;
    let mut dp: i64 = 0;
    let mut mantissa: u64 = 0;
    let mut truncated = false;
    while i < s.len() {
        let c = s[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if saw_dot {
                break;
            }
            saw_dot = true;
            dp = nd;
        } else if c.is_ascii_digit() {
            saw_digits = true;
            if c == b'0' && nd == 0 {
                dp -= 1;
            } else {
                nd += 1;
                if nd_mant < max_mant_digits {
                    mantissa = mantissa * base + u64::from(c - b'0');
                    nd_mant += 1;
                } else if c != b'0' {
                    truncated = true;
                }
            }
        } else if base == 16 && (b'a'..=b'f').contains(&lower(c)) {
            saw_digits = true;
            nd += 1;
            if nd_mant < max_mant_digits {
                mantissa = mantissa * 16 + u64::from(lower(c) - b'a' + 10);
                nd_mant += 1;
            } else {
                truncated = true;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !saw_digits {
        return None;
    }
    if !saw_dot {
        dp = nd;
    }
    if base == 16 {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < s.len() && lower(s[i]) == exp_char {
        i += 1;
        let mut esign = 1;
        match s.get(i) {
            Some(b'+') => i += 1,
            Some(b'-') => {
                i += 1;
                esign = -1;
            }
            Some(_) => {}
            None => return None,
        }
        if !s.get(i).is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut e: i64 = 0;
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
    } else if base == 16 {
        // A hexadecimal mantissa requires a `p` exponent.
        return None;
    }
    let exponent = if mantissa != 0 { dp - nd_mant } else { 0 };
    if underscores && !underscore_ok(&s[..i]) {
        return None;
    }
    Some(ReadFloat {
        consumed: i,
        hex,
        negative,
        mantissa,
        exponent,
        truncated,
    })
}

/// Go's `underscoreOK`: every `_` sits between digits (or right after a base prefix).
fn underscore_ok(s: &[u8]) -> bool {
    let mut s = s;
    if let Some(b'+' | b'-') = s.first() {
        s = &s[1..];
    }
    #[derive(PartialEq)]
    enum Saw {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let mut saw = Saw::Start;
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(lower(s[1]), b'b' | b'o' | b'x') {
        i = 2;
        saw = Saw::Digit;
        hex = lower(s[1]) == b'x';
    }
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lower(c))) {
            saw = Saw::Digit;
            continue;
        }
        if c == b'_' {
            if saw != Saw::Digit {
                return false;
            }
            saw = Saw::Underscore;
            continue;
        }
        if saw == Saw::Underscore {
            return false;
        }
        saw = Saw::Other;
    }
    saw != Saw::Underscore
}

/// Round `mantissa * 2^exponent` to the nearest float32 (ties to even), the way Go's
/// `atofHex` does; infinity when it does not fit.
fn hex_to_f32(p: &ReadFloat) -> f32 {
    const MANT_BITS: i64 = 23;
    const BIAS: i64 = -127;
    const MAX_EXP: i64 = (1 << 8) + BIAS - 2; // 127
    const MIN_EXP: i64 = BIAS + 1; // -126
    let mut mantissa = p.mantissa;
    let mut exp = p.exponent + MANT_BITS;
    // Normalise to a leading one followed by 23 bits plus two rounding bits.
    while mantissa != 0 && mantissa >> (MANT_BITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if p.truncated {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANT_BITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    // Too small: denormalise, keeping a sticky bit.
    while mantissa > 1 && exp < MIN_EXP - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANT_BITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANT_BITS == 0 {
        exp = BIAS;
    }
    let sign = if p.negative { -1.0f32 } else { 1.0 };
    if exp > MAX_EXP {
        return sign * f32::INFINITY;
    }
    let bits = (mantissa & ((1 << MANT_BITS) - 1)) as u32 | (((exp - BIAS) & 0xff) as u32) << MANT_BITS;
    sign * f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> f32 {
        parse_float32(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn decimal_forms() {
        assert_eq!(ok("10"), 10.0);
        assert_eq!(ok("+10"), 10.0);
        assert_eq!(ok("-15"), -15.0);
        assert_eq!(ok("0.1"), 0.1f32);
        assert_eq!(ok(".5"), 0.5);
        assert_eq!(ok("5."), 5.0);
        assert_eq!(ok("1e1"), 10.0);
        assert_eq!(ok("1E+1"), 10.0);
        assert_eq!(ok("1000e-2"), 10.0);
        assert_eq!(ok("1_0"), 10.0);
        assert_eq!(ok("1_23.50_0_0e+1_2"), 1.235e14f32);
        assert_eq!(ok("1e-50"), 0.0);
        assert_eq!(ok("000000000000000000000000000000000000000010"), 10.0);
    }

    #[test]
    fn special_values() {
        assert_eq!(ok("inf"), f32::INFINITY);
        assert_eq!(ok("-Infinity"), f32::NEG_INFINITY);
        assert_eq!(ok("+INF"), f32::INFINITY);
        assert!(ok("NaN").is_nan());
        for bad in ["+nan", "-nan", "infin", "info", "nana", "in"] {
            assert!(parse_float32(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_forms() {
        assert_eq!(ok("0x1p0"), 1.0);
        assert_eq!(ok("0x1.8p1"), 3.0);
        assert_eq!(ok("0X_1p-2"), 0.25);
        assert_eq!(ok("0xAp0"), 10.0);
        assert_eq!(ok("0x1p-149"), f32::from_bits(1));
        assert_eq!(ok("0x1p-150"), 0.0, "ties to even");
        assert_eq!(ok("0x1.000001p0"), 1.0, "rounds to 24 bits");
        assert_eq!(ok("0x1.000003p0"), 1.0000002, "rounds up");
        assert_eq!(ok("0x1.fffffep127"), f32::MAX);
        assert!(matches!(parse_float32("0x1p128"), Err(FloatError::Range(_))));
        assert!(parse_float32("0x1").is_err(), "hex needs a p exponent");
    }

    #[test]
    fn errors_use_go_wording() {
        assert_eq!(
            parse_float32("abc").unwrap_err().to_string(),
            r#"strconv.ParseFloat: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            parse_float32("1e39").unwrap_err().to_string(),
            r#"strconv.ParseFloat: parsing "1e39": value out of range"#
        );
        for bad in [
            "", "+", ".", "e5", "1e", "1e+", "1.2.3", "1__0", "_1", "1_", "1_.5", "1._5", "0x", "1 ", " 1",
            "0x1p", "1e5.5", "--1",
        ] {
            assert!(parse_float32(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_rust_on_plain_decimals(v in proptest::num::f32::NORMAL) {
            let text = format!("{v:e}");
            proptest::prop_assert_eq!(parse_float32(&text), Ok(v));
        }

        #[test]
        fn never_panics(s in "[-+0-9a-fA-FxXpPeE._inftyINFTY]{0,24}") {
            let _ = parse_float32(&s);
        }
    }
}
