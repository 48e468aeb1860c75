//! The pass's own time, stored once. The agent stamps every stats object of a pass with the
//! pass time: the Summary's stats times are that time in whole seconds (as cAdvisor's are),
//! other objects carry it to the nanosecond. Stored as is, hundreds of changing 20- and
//! 30-character strings would be most of a pass's delta, and every pod would look changed at
//! every pass. Stored readings say [`MARK`] (the exact time) and, from schema 3 on,
//! [`MARK_SECOND`] (the time in whole seconds) instead, and get the time back when read.

use headroom_core::Timestamp;
use serde_json::Value;

mod retime;
mod unmarked;
pub use retime::Retime;
pub use unmarked::from_marked;

/// What a stored string equal to the pass time becomes.
pub const MARK: &str = "@pass";
/// What a stored string equal to the pass time in whole seconds becomes (schema 3 on).
pub const MARK_SECOND: &str = "@pass-s";

/// The texts a pass's marks stand for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassTexts {
    pub time: Timestamp,
    /// The pass time, as the recorder prints a `Timestamp`.
    pub exact: String,
    /// The pass time in whole seconds and its text (`None`: a schema 2 recording, where
    /// nothing was marked so).
    pub second: Option<(Timestamp, String)>,
}

impl PassTexts {
    /// The texts of a pass at `time`; `seconds`: the whole-second mark is in use.
    pub fn new(time: Timestamp, seconds: bool) -> PassTexts {
        let second = seconds.then(|| {
            // As the collector stamps the Summary's stats objects.
            let s = headroom_linux::collection::creation::whole_seconds(time);
            (s, s.to_string())
        });
        PassTexts {
            time,
            exact: time.to_string(),
            second,
        }
    }

    /// What a stored string stands for: the pass time for a mark, else itself.
    pub fn read<'a>(&'a self, stored: &'a str) -> &'a str {
        match (stored, &self.second) {
            (MARK, _) => &self.exact,
            (MARK_SECOND, Some((_, text))) => text,
            _ => stored,
        }
    }

    /// The mark a string to be stored becomes, if any.
    fn mark(&self, s: &str) -> Option<&'static str> {
        if s == self.exact {
            Some(MARK)
        } else if self.second.as_ref().is_some_and(|(_, text)| s == text) {
            Some(MARK_SECOND)
        } else {
            None
        }
    }
}

/// Replace every string equal to the pass time (exact, or in whole seconds) with its mark.
pub fn mark(v: &mut Value, texts: &PassTexts) {
    match v {
        Value::String(s) => {
            if let Some(m) = texts.mark(s) {
                *s = m.to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mark(i, texts)),
        Value::Object(map) => map.values_mut().for_each(|i| mark(i, texts)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_pass_time_round_trips() {
        let t = "2026-01-01T00:00:00.123456789Z";
        let texts = PassTexts::new(t.parse().unwrap(), true);
        let s = "2026-01-01T00:00:00Z";
        let original = json!({"time": t, "pods": [{"time": s, "startTime": "2025-01-01T00:00:00Z"}]});
        let mut v = original.clone();
        mark(&mut v, &texts);
        assert_eq!(
            v,
            json!({"time": MARK, "pods": [{"time": MARK_SECOND, "startTime": "2025-01-01T00:00:00Z"}]})
        );
        assert_eq!(from_marked::<Value>(&v, &texts).unwrap(), original);
        // Schema 2: the whole second is neither marked nor read as a mark.
        let texts = PassTexts::new(t.parse().unwrap(), false);
        let mut v = original.clone();
        mark(&mut v, &texts);
        assert_eq!(v["pods"][0]["time"], json!(s));
        let m = json!([MARK_SECOND]);
        assert_eq!(from_marked::<Value>(&m, &texts).unwrap(), json!([MARK_SECOND]));
    }
}
