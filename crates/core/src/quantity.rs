//! Kubernetes resource quantities (`100Mi`, `1.5Gi`, `100m`, `1e3`), exact.
//!
//! A quantity is stored as a signed count of nano-units (`i128`), which holds every value
//! the kubelet can meet (up to about 1.7e29 units) without rounding. Parsing follows
//! apimachinery's `ParseQuantity`: values finer than a nano-unit round up (away from zero),
//! and the suffix family (binary, decimal, exponent) is remembered because it decides how the
//! quantity prints. Printing follows apimachinery's canonical form, which is what the kubelet
//! writes into eviction messages: `1.5Gi` prints as `1536Mi`, a computed byte count prints in
//! binary form when it is a multiple of 1024 (`104857600` -> `100Mi`) and as plain digits
//! otherwise (`104857601`), and a binary quantity below 1024 prints in decimal form (`1k`).
//!
//! Deliberate deviation: apimachinery falls back to arbitrary-precision decimals; headroom
//! rejects quantities whose magnitude exceeds about 1.7e29 (or that have more than 38
//! significant digits) with a clear error instead. No kubelet setting or kernel counter comes
//! near that bound.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// How a quantity prints, chosen by the suffix it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `Ki`, `Mi`, ... (powers of 1024). Also what the kubelet uses for byte counts it computes.
    BinarySI,
    /// `m`, (none), `k`, `M`, ... (powers of 1000).
    DecimalSI,
    /// `e3`, `E-6`, ... (powers of ten).
    DecimalExponent,
}

/// A Kubernetes quantity: exact value plus its print format.
///
/// Equality and ordering compare the value only (`1Gi == 1073741824`), as apimachinery's
/// `Cmp` does.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// Why a string is not a quantity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    #[error("unable to parse quantity's suffix")]
    Suffix,
    #[error("quantity is too large (more than about 1.7e29 units)")]
    TooLarge,
}

impl Quantity {
    /// Zero, in decimal form.
    pub const ZERO: Quantity = Quantity {
        nanos: 0,
        format: Format::DecimalSI,
    };

    /// An integer with the given print format (apimachinery's `NewQuantity`).
    pub fn new(value: i64, format: Format) -> Self {
        Quantity {
            nanos: i128::from(value) * NANOS_PER_UNIT,
            format,
        }
    }

    /// A byte count as the kubelet builds one (`resource.NewQuantity(v, BinarySI)`).
    pub fn bytes(value: i64) -> Self {
        Self::new(value, Format::BinarySI)
    }

    /// A plain count (inodes, processes) as the kubelet builds one (`DecimalSI`).
    pub fn count(value: i64) -> Self {
        Self::new(value, Format::DecimalSI)
    }

    /// A quantity from an exact nano-unit count (sums computed by headroom).
    pub fn from_nanos(nanos: i128, format: Format) -> Self {
        Quantity { nanos, format }
    }

    /// Exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The print format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whole units, rounded up toward positive infinity (apimachinery's `Value()`),
    /// saturating at the `i64` bounds.
    pub fn value(&self) -> i64 {
        let whole = self.nanos.div_euclid(NANOS_PER_UNIT);
        let ceil = if self.nanos.rem_euclid(NANOS_PER_UNIT) != 0 {
            whole + 1
        } else {
            whole
        };
        saturate_i64(ceil)
    }

    /// Thousandths of a unit, rounded up (apimachinery's `MilliValue()`), saturating.
    pub fn milli_value(&self) -> i64 {
        let per_milli = 1_000_000i128;
        let whole = self.nanos.div_euclid(per_milli);
        let ceil = if self.nanos.rem_euclid(per_milli) != 0 {
            whole + 1
        } else {
            whole
        };
        saturate_i64(ceil)
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.nanos.signum() as i32
    }

    /// Sum, keeping `self`'s format (apimachinery's `Add`). `None` on overflow.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        Some(Quantity {
            nanos: self.nanos.checked_add(other.nanos)?,
            format: self.format,
        })
    }

    /// Difference, keeping `self`'s format. `None` on overflow.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        Some(Quantity {
            nanos: self.nanos.checked_sub(other.nanos)?,
            format: self.format,
        })
    }

    /// Parse a quantity string exactly as apimachinery's `ParseQuantity` accepts it.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        let parts = split_number_and_suffix(s)?;
        let suffix = Suffix::interpret(parts.suffix)?;
        let (nanos, format) = parts.number.scale(suffix)?;
        // apimachinery: a binary quantity strictly between 0 and 1 is shown in decimal form.
        let format = if format == Format::BinarySI && nanos.abs() < NANOS_PER_UNIT && nanos != 0 {
            Format::DecimalSI
        } else {
            format
        };
        Ok(Quantity { nanos, format })
    }

    /// The canonical string, as `Quantity.String()` prints it.
    pub fn to_canonical_string(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let as_binary = self.format == Format::BinarySI
            && self.nanos.abs() >= 1024 * NANOS_PER_UNIT
            && self.nanos % NANOS_PER_UNIT == 0;
        if as_binary {
            let (mantissa, times) = remove_factors(self.nanos / NANOS_PER_UNIT, 1024);
            const BINARY: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            if let Some(suffix) = BINARY.get(times as usize) {
                return format!("{mantissa}{suffix}");
            }
        }
        let (mut mantissa, times) = remove_factors(self.nanos, 10);
        let mut exponent = times as i32 - 9;
        match exponent.rem_euclid(3) {
            1 => {
                mantissa *= 10;
                exponent -= 1;
            }
            2 => {
                mantissa *= 100;
                exponent -= 2;
            }
            _ => {}
        }
        let decimal_suffix = match exponent {
            -9 => Some("n"),
            -6 => Some("u"),
            -3 => Some("m"),
            0 => Some(""),
            3 => Some("k"),
            6 => Some("M"),
            9 => Some("G"),
            12 => Some("T"),
            15 => Some("P"),
            18 => Some("E"),
            _ => None,
        };
        match (self.format, decimal_suffix) {
            (Format::DecimalExponent, _) | (_, None) => {
                if exponent == 0 {
                    format!("{mantissa}")
                } else {
                    format!("{mantissa}e{exponent}")
                }
            }
            (_, Some(suffix)) => format!("{mantissa}{suffix}"),
        }
    }
}

fn saturate_i64(v: i128) -> i64 {
    if v > i128::from(i64::MAX) {
        i64::MAX
    } else if v < i128::from(i64::MIN) {
        i64::MIN
    } else {
        v as i64
    }
}

/// Divide out `base` while the magnitude is at least `base` and divisible by it.
fn remove_factors(value: i128, base: i128) -> (i128, u32) {
    let negative = value < 0;
    let mut v = value.abs();
    let mut times = 0;
    while v >= base && v % base == 0 {
        v /= base;
        times += 1;
    }
    (if negative { -v } else { v }, times)
}

struct NumberParts<'a> {
    number: Number,
    suffix: &'a str,
}

/// A decimal number as written: `negative`, the digits without the point, and how many of
/// them were after the point.
struct Number {
    negative: bool,
    digits: i128,
    fraction_digits: i32,
}

fn split_number_and_suffix(s: &str) -> Result<NumberParts<'_>, QuantityError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if let Some(&c) = bytes.first()
        && (c == b'+' || c == b'-')
    {
        negative = c == b'-';
        i = 1;
    }
    let mut digits: i128 = 0;
    let mut seen_digit = false;
    let mut fraction_digits = 0i32;
    let mut in_fraction = false;
    // Significant digits beyond what i128 holds are an error; zeros are free.
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            seen_digit = true;
            let d = i128::from(c - b'0');
            if in_fraction && d == 0 {
                // Defer trailing fractional zeros: they only matter if a non-zero digit follows.
                let mut j = i;
                while j < bytes.len() && bytes[j] == b'0' {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    let zeros = (j - i) as u32;
                    digits = digits
                        .checked_mul(10i128.checked_pow(zeros).ok_or(QuantityError::TooLarge)?)
                        .ok_or(QuantityError::TooLarge)?;
                    fraction_digits += zeros as i32;
                }
                i = j;
                continue;
            }
            digits = digits
                .checked_mul(10)
                .and_then(|v| v.checked_add(d))
                .ok_or(QuantityError::TooLarge)?;
            if in_fraction {
                fraction_digits += 1;
            }
        } else if c == b'.' && !in_fraction {
            in_fraction = true;
        } else {
            break;
        }
        i += 1;
    }
    if !seen_digit {
        return Err(QuantityError::Format);
    }
    Ok(NumberParts {
        number: Number {
            negative,
            digits,
            fraction_digits,
        },
        suffix: &s[i..],
    })
}

/// The meaning of a suffix: `value * 2^binary_exp * 10^decimal_exp`.
struct Suffix {
    binary_exp: u32,
    decimal_exp: i32,
    format: Format,
}

impl Suffix {
    fn interpret(s: &str) -> Result<Suffix, QuantityError> {
        let binary = |k: u32| {
            Ok(Suffix {
                binary_exp: 10 * k,
                decimal_exp: 0,
                format: Format::BinarySI,
            })
        };
        let decimal = |e: i32| {
            Ok(Suffix {
                binary_exp: 0,
                decimal_exp: e,
                format: Format::DecimalSI,
            })
        };
        match s {
            "Ki" => binary(1),
            "Mi" => binary(2),
            "Gi" => binary(3),
            "Ti" => binary(4),
            "Pi" => binary(5),
            "Ei" => binary(6),
            "n" => decimal(-9),
            "u" => decimal(-6),
            "m" => decimal(-3),
            "" => decimal(0),
            "k" => decimal(3),
            "M" => decimal(6),
            "G" => decimal(9),
            "T" => decimal(12),
            "P" => decimal(15),
            "E" => decimal(18),
            _ => {
                let rest = s.strip_prefix(['e', 'E']).ok_or(QuantityError::Suffix)?;
                let (sign, digits) = match rest.as_bytes().first() {
                    Some(b'+') => (1, &rest[1..]),
                    Some(b'-') => (-1, &rest[1..]),
                    _ => (1, rest),
                };
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(QuantityError::Suffix);
                }
                // Go parses the exponent as a 32-bit integer; anything larger is out of our range.
                let e: i32 = digits.parse().map_err(|_| QuantityError::TooLarge)?;
                Ok(Suffix {
                    binary_exp: 0,
                    decimal_exp: sign * e,
                    format: Format::DecimalExponent,
                })
            }
        }
    }
}

impl Number {
    /// Exact nano-units of `self * suffix`, rounded up in magnitude below a nano-unit.
    fn scale(&self, suffix: Suffix) -> Result<(i128, Format), QuantityError> {
        let mut magnitude = self
            .digits
            .checked_mul(
                1i128
                    .checked_shl(suffix.binary_exp)
                    .ok_or(QuantityError::TooLarge)?,
            )
            .ok_or(QuantityError::TooLarge)?;
        let power = i64::from(suffix.decimal_exp) - i64::from(self.fraction_digits) + 9;
        if power >= 0 {
            if magnitude != 0 {
                let factor = u32::try_from(power)
                    .ok()
                    .and_then(|p| 10i128.checked_pow(p))
                    .ok_or(QuantityError::TooLarge)?;
                magnitude = magnitude.checked_mul(factor).ok_or(QuantityError::TooLarge)?;
            }
        } else {
            let divisor = u32::try_from(-power).ok().and_then(|p| 10i128.checked_pow(p));
            magnitude = match divisor {
                Some(d) => {
                    let q = magnitude / d;
                    if magnitude % d != 0 { q + 1 } else { q }
                }
                // Smaller than any nano-unit but not zero: rounds up to one nano-unit.
                None => i128::from(magnitude != 0),
            };
        }
        let nanos = if self.negative { -magnitude } else { magnitude };
        Ok((nanos, suffix.format))
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl std::hash::Hash for Quantity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_canonical_string())
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    /// Accepts a string (`"100Mi"`) or a bare number (`128974848`, `0.5`), as apimachinery's
    /// `UnmarshalJSON` does.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as \"100Mi\" or 1024")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v.trim()).map_err(|e| E::custom(format!("invalid quantity {v:?}: {e}")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity::new(v, Format::DecimalSI))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(|e| E::custom(format!("invalid quantity {v}: {e}")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(|e| E::custom(format!("invalid quantity {v}: {e}")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_binary_decimal_and_exponent_suffixes() {
        assert_eq!(q("100Mi").value(), 104_857_600);
        assert_eq!(q("1.5Gi").value(), 1_610_612_736);
        assert_eq!(q("1G").value(), 1_000_000_000);
        assert_eq!(q("1e3").value(), 1000);
        assert_eq!(q("1E3").value(), 1000);
        assert_eq!(q("1E").value(), 1_000_000_000_000_000_000);
        assert_eq!(q("100m").nanos(), 100_000_000);
        assert_eq!(q("100m").value(), 1, "fractions round up to whole units");
        assert_eq!(q(".5").nanos(), 500_000_000);
        assert_eq!(q("1.").value(), 1);
        assert_eq!(q("+2Ki").value(), 2048);
        assert_eq!(q("-150Mi").value(), -157_286_400);
        assert_eq!(q("0.1n").nanos(), 1, "below a nano-unit rounds up");
        assert_eq!(q("1.000000000000000000000000000000").value(), 1);
    }

    #[test]
    fn rejects_malformed_quantities() {
        for bad in [
            "", "Mi", "1.5.5", "1Gi ", " 1Gi", "1e", "1ee3", "1KiB", "abc", "1.5.", "--1", "1e3.5", "1i",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Quantity::parse("1e99999999999"), Err(QuantityError::TooLarge));
        assert_eq!(Quantity::parse("1e40"), Err(QuantityError::TooLarge));
    }

    #[test]
    fn prints_canonically_like_apimachinery() {
        assert_eq!(q("1.5Gi").to_string(), "1536Mi");
        assert_eq!(q("1500Mi").to_string(), "1500Mi");
        assert_eq!(q("2048Mi").to_string(), "2Gi");
        assert_eq!(Quantity::bytes(104_857_601).to_string(), "104857601");
        assert_eq!(Quantity::bytes(104_857_600).to_string(), "100Mi");
        assert_eq!(
            Quantity::bytes(1000).to_string(),
            "1k",
            "binary below 1024 prints decimal"
        );
        assert_eq!(Quantity::bytes(0).to_string(), "0");
        assert_eq!(q("100m").to_string(), "100m");
        assert_eq!(q("1000m").to_string(), "1");
        assert_eq!(q("1G").to_string(), "1G");
        assert_eq!(q("1500k").to_string(), "1500k");
        assert_eq!(q("1e3").to_string(), "1e3");
        assert_eq!(q("1.5e3").to_string(), "1500");
        assert_eq!(q("-1.5Gi").to_string(), "-1536Mi");
        assert_eq!(q("0.5Ki").to_string(), "512");
    }

    #[test]
    fn compares_by_value_only() {
        assert_eq!(q("1Gi"), q("1073741824"));
        assert!(q("1Gi") > q("1G"));
        assert_eq!(q("1k"), q("1e3"));
    }

    #[test]
    fn serde_accepts_strings_and_numbers() {
        let v: Quantity = serde_json::from_str("\"100Mi\"").unwrap();
        assert_eq!(v.value(), 104_857_600);
        let v: Quantity = serde_json::from_str("128974848").unwrap();
        assert_eq!(v.value(), 128_974_848);
        let v: Quantity = serde_json::from_str("0.5").unwrap();
        assert_eq!(v.milli_value(), 500);
        assert!(serde_json::from_str::<Quantity>("\"lots\"").is_err());
        assert_eq!(serde_json::to_string(&q("1.5Gi")).unwrap(), "\"1536Mi\"");
    }

    proptest::proptest! {
        #[test]
        fn canonical_string_round_trips(v in proptest::num::i64::ANY, binary in proptest::bool::ANY) {
            let original = if binary { Quantity::bytes(v) } else { Quantity::count(v) };
            let printed = original.to_string();
            let reparsed = Quantity::parse(&printed).unwrap();
            proptest::prop_assert_eq!(reparsed, original);
            // A byte count printed as plain digits re-parses as DecimalSI and may then print
            // with a decimal suffix (apimachinery does the same: 1911498514120099000 bytes
            // print as "1911498514120099000", which parses and prints as "1911498514120099k").
            // The printed form of the re-parsed value is stable from there on.
            let again = reparsed.to_string();
            proptest::prop_assert_eq!(Quantity::parse(&again).unwrap().to_string(), again);
            if !binary {
                proptest::prop_assert_eq!(reparsed.to_string(), printed);
            }
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,24}") {
            let _ = Quantity::parse(&s);
        }

        #[test]
        fn value_is_ceiling(n in -1_000_000_000_000i64..1_000_000_000_000, frac in 0u32..1000) {
            let text = format!("{n}.{frac:03}");
            let parsed = Quantity::parse(&text).unwrap();
            let exact = n as f64 + if n < 0 || text.starts_with('-') { -(frac as f64) / 1000.0 } else { frac as f64 / 1000.0 };
            proptest::prop_assert_eq!(parsed.value() as f64, exact.ceil());
        }
    }
}
