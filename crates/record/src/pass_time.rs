//! The pass's own time, stored once. The agent stamps every stats object of a pass with the
//! pass time (full precision); stored as is, hundreds of changing 30-character strings would
//! be most of a pass's delta. Stored readings say [`MARK`] instead and get the time back when
//! read.

use serde_json::Value;

mod unmarked;
pub use unmarked::from_marked;

/// What a stored string equal to the pass time becomes.
pub const MARK: &str = "@pass";

/// Replace every string equal to `time` with [`MARK`].
pub fn mark(v: &mut Value, time: &str) {
    swap(v, time, MARK);
}

/// Put `time` back where [`mark`] left [`MARK`].
pub fn unmark(v: &mut Value, time: &str) {
    swap(v, MARK, time);
}

fn swap(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(items) => items.iter_mut().for_each(|i| swap(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|i| swap(i, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_pass_time_round_trips() {
        let t = "2026-01-01T00:00:00.123456789Z";
        let original = json!({"time": t, "pods": [{"time": t, "startTime": "2025-01-01T00:00:00Z"}]});
        let mut v = original.clone();
        mark(&mut v, t);
        assert_eq!(
            v,
            json!({"time": MARK, "pods": [{"time": MARK, "startTime": "2025-01-01T00:00:00Z"}]})
        );
        unmark(&mut v, t);
        assert_eq!(v, original);
    }
}
