//! Reading the Summary's times. Nearly every time in a Summary is a whole second in UTC
//! (`2026-01-01T00:00:00Z`: cAdvisor's stats times, start times), and a replay of a day of a
//! 110-pod node reads millions of them: jiff's general RFC 3339 parser took about a tenth of
//! it. That one form is read here directly; anything else (fractions, offsets, lower case,
//! leap seconds, far years, errors) goes to jiff, so the result and the error are jiff's.

use jiff::Timestamp;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// `Option<Timestamp>` as jiff reads it, the whole-second UTC form read fast.
pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Ok(Option::<Time>::deserialize(d)?.map(|t| t.0))
}

struct Time(Timestamp);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        d.deserialize_str(TimeVisitor)
    }
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = Time;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // jiff's own words.
        f.write_str("a timestamp string")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Time, E> {
        if let Some(t) = whole_second_utc(v) {
            return Ok(Time(t));
        }
        jiff::fmt::temporal::DateTimeParser::new()
            .parse_timestamp(v)
            .map(Time)
            .map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
        self.visit_bytes(v.as_bytes())
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (years 1970-9998, seconds 0-59), or `None` for anything else.
fn whole_second_utc(b: &[u8]) -> Option<Timestamp> {
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
        b'Z',
    ] = *b
    else {
        return None;
    };
    let digit = |c: u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
    let two = |a: u8, b: u8| Some(digit(a)? * 10 + digit(b)?);
    let year = two(y0, y1)? * 100 + two(y2, y3)?;
    let (month, day) = (two(m0, m1)?, two(d0, d1)?);
    let (hour, minute, second) = (two(h0, h1)?, two(i0, i1)?, two(s0, s1)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9998).contains(&year) || !(1..=days_in_month).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Timestamp::from_second(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jiff(s: &str) -> Option<Timestamp> {
        s.parse().ok()
    }

    #[test]
    fn the_common_form_reads_as_jiff_reads_it_and_the_rest_goes_to_jiff() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-12-06T12:22:16Z",
            "9998-12-31T23:59:59Z",
        ] {
            assert_eq!(whole_second_utc(s.as_bytes()), jiff(s), "{s}");
            assert!(jiff(s).is_some());
        }
        for s in [
            "2026-12-06T12:22:16.5Z",
            "2026-12-06T12:22:16+01:00",
            "2026-12-06t12:22:16z",
            "2026-12-06T12:22:60Z",
            "1900-02-29T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-12-06T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-12-0xT12:22:16Z",
        ] {
            assert_eq!(whole_second_utc(s.as_bytes()), None, "{s}");
        }
        // Through serde: the same value or the same error as jiff's own Deserialize.
        for s in [
            "2026-12-06T12:22:16Z",
            "2026-12-06T12:22:16.123456789Z",
            "2026-12-06T12:22:16+01:00",
            "nope",
            "",
        ] {
            let json = serde_json::json!({ "t": s });
            #[derive(serde::Deserialize)]
            struct Fast {
                #[serde(default, deserialize_with = "option")]
                t: Option<Timestamp>,
            }
            #[derive(serde::Deserialize)]
            struct Jiff {
                #[serde(default)]
                t: Option<Timestamp>,
            }
            let fast = serde_json::from_value::<Fast>(json.clone())
                .map(|f| f.t)
                .map_err(|e| e.to_string());
            let jiff = serde_json::from_value::<Jiff>(json)
                .map(|f| f.t)
                .map_err(|e| e.to_string());
            assert_eq!(fast, jiff, "{s}");
        }
        #[derive(serde::Deserialize)]
        struct Fast {
            #[serde(default, deserialize_with = "option")]
            t: Option<Timestamp>,
        }
        let null: Fast = serde_json::from_str(r#"{"t": null}"#).unwrap();
        assert_eq!(null.t, None);
        let missing: Fast = serde_json::from_str("{}").unwrap();
        assert_eq!(missing.t, None);
    }

    proptest! {
        #[test]
        fn any_whole_second_reads_as_jiff_reads_it(
            (y, mo, d, h, mi, s) in (0i64..10000, 0i64..14, 0i64..33, 0i64..26, 0i64..62, 0i64..62),
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            if let Some(t) = whole_second_utc(text.as_bytes()) {
                prop_assert_eq!(Some(t), jiff(&text));
                prop_assert_eq!(t.to_string(), text);
            }
        }

        #[test]
        fn any_second_since_1970_reads_back(secs in 0i64..253_370_764_800) {
            let t = Timestamp::from_second(secs).unwrap();
            let text = t.to_string();
            prop_assert_eq!(whole_second_utc(text.as_bytes()), Some(t));
        }
    }
}
