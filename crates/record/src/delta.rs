//! A pass as the difference from the pass before it, so that a day of 10-second passes over a
//! hundred pods fits in tens of MiB: between two passes most figures of most cgroups do not
//! change, and those that do are a few numbers each.
//!
//! A delta is one of:
//! * `{}`: no change (what a pass identical to its base stores);
//! * `{"=": value}`: replace with `value`;
//! * `{"~": {"key": delta, ...}}`: an object with the same keys, only the listed keys changed;
//! * `{"[": {"index": delta, ...}}`: an array of the same length, only the listed items changed;
//! * `{"+": n}`: an integer that moved by `n` (counters and sizes move by little between passes,
//!   and a small difference compresses far better than the new 9-digit value).
//!
//! An object whose keys changed, or an array whose length changed, is replaced whole: pods come
//! and go rarely, and a replacement is always correct.

use serde_json::{Map, Value};

/// The delta turning `base` into `next`; `None` when they are equal.
pub fn diff(base: &Value, next: &Value) -> Option<Value> {
    if base == next {
        return None;
    }
    match (base, next) {
        (Value::Object(b), Value::Object(n)) if b.len() == n.len() && b.keys().all(|k| n.contains_key(k)) => {
            let mut changed = Map::new();
            for (k, nv) in n {
                if let Some(d) = b.get(k).and_then(|bv| diff(bv, nv)) {
                    changed.insert(k.clone(), d);
                }
            }
            Some(tagged("~", Value::Object(changed)))
        }
        (Value::Array(b), Value::Array(n)) if b.len() == n.len() => {
            let mut changed = Map::new();
            for (i, (bv, nv)) in b.iter().zip(n).enumerate() {
                if let Some(d) = diff(bv, nv) {
                    changed.insert(i.to_string(), d);
                }
            }
            Some(tagged("[", Value::Object(changed)))
        }
        (Value::Number(b), Value::Number(n)) => match (b.as_i64(), n.as_i64()) {
            (Some(b), Some(n)) if n.checked_sub(b).is_some() => Some(tagged("+", Value::from(n - b))),
            _ => Some(tagged("=", next.clone())),
        },
        _ => Some(tagged("=", next.clone())),
    }
}

fn tagged(tag: &str, v: Value) -> Value {
    let mut m = Map::with_capacity(1);
    m.insert(tag.to_string(), v);
    Value::Object(m)
}

/// Why a delta does not apply to its base (a damaged recording, never a valid one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delta does not fit its base at {path}: {what}")]
pub struct DeltaError {
    pub path: String,
    pub what: String,
}

/// Apply `delta` (from [`diff`]) to `base`, in place.
pub fn apply(base: &mut Value, delta: &Value) -> Result<(), DeltaError> {
    apply_at(base, delta, &mut String::from("$"))
}

fn apply_at(base: &mut Value, delta: &Value, path: &mut String) -> Result<(), DeltaError> {
    let err = |path: &str, what: &str| DeltaError {
        path: path.to_string(),
        what: what.to_string(),
    };
    if delta.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(());
    }
    let Some((tag, inner)) = delta
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next())
    else {
        return Err(err(path, "not a delta"));
    };
    match (tag.as_str(), inner) {
        ("=", v) => {
            *base = v.clone();
            Ok(())
        }
        ("+", Value::Number(step)) => {
            let sum = base
                .as_i64()
                .zip(step.as_i64())
                .and_then(|(b, s)| b.checked_add(s));
            let Some(sum) = sum else {
                return Err(err(path, "an integer step on a base that is not an integer"));
            };
            *base = Value::from(sum);
            Ok(())
        }
        ("~", Value::Object(changes)) => {
            let Value::Object(b) = base else {
                return Err(err(path, "base is not an object"));
            };
            for (k, d) in changes {
                let Some(slot) = b.get_mut(k) else {
                    return Err(err(path, &format!("no key {k:?} in the base")));
                };
                let len = path.len();
                path.push('.');
                path.push_str(k);
                apply_at(slot, d, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        ("[", Value::Object(changes)) => {
            let Value::Array(b) = base else {
                return Err(err(path, "base is not an array"));
            };
            for (k, d) in changes {
                let slot = k.parse::<usize>().ok().and_then(|i| b.get_mut(i));
                let Some(slot) = slot else {
                    return Err(err(path, &format!("no item {k} in the base")));
                };
                let len = path.len();
                path.push('[');
                path.push_str(k);
                path.push(']');
                apply_at(slot, d, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Err(err(path, &format!("unknown delta tag {tag:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(a: Value, b: Value) -> Option<Value> {
        let d = diff(&a, &b);
        let mut x = a.clone();
        if let Some(d) = &d {
            apply(&mut x, d).unwrap();
        }
        assert_eq!(x, b);
        d
    }

    #[test]
    fn only_changed_figures_are_kept() {
        let a = json!({"node": {"usage": 5, "ws": 3, "name": "n"}, "pods": [{"ws": 1}, {"ws": 2}]});
        let b = json!({"node": {"usage": 6, "ws": 3, "name": "n"}, "pods": [{"ws": 1}, {"ws": 9}]});
        let d = round_trip(a, b).unwrap();
        assert_eq!(
            d,
            json!({"~": {"node": {"~": {"usage": {"+": 1}}}, "pods": {"[": {"1": {"~": {"ws": {"+": 7}}}}}}})
        );
        // Integers move by differences, both ways; u64 beyond i64 and floats are replaced.
        round_trip(json!({"a": 9_000_000_000u64}), json!({"a": 8_999_999_000u64}));
        assert_eq!(diff(&json!(u64::MAX), &json!(1)), Some(json!({"=": 1})));
        assert_eq!(diff(&json!(1.5), &json!(2.5)), Some(json!({"=": 2.5})));
    }

    #[test]
    fn an_unchanged_pass_is_an_empty_delta() {
        let mut v = json!({"a": [1, {"b": 2}]});
        apply(&mut v, &json!({})).unwrap();
        assert_eq!(v, json!({"a": [1, {"b": 2}]}));
    }

    #[test]
    fn shape_changes_replace_whole() {
        round_trip(json!({"pods": [1, 2]}), json!({"pods": [1, 2, 3]}));
        round_trip(json!({"a": 1}), json!({"b": 1}));
        round_trip(json!({"a": 1}), json!([1]));
        assert_eq!(round_trip(json!({"a": [1]}), json!({"a": [1]})), None);
    }

    #[test]
    fn a_delta_for_another_base_is_an_error_not_a_guess() {
        let d = diff(&json!({"a": {"b": 1}}), &json!({"a": {"b": 2}})).unwrap();
        let mut other = json!({"x": 1});
        let e = apply(&mut other, &d).unwrap_err();
        assert!(e.to_string().contains("no key \"a\""), "{e}");
        let e = apply(&mut json!(1), &json!({"?": 1})).unwrap_err();
        assert!(e.to_string().contains("unknown delta tag"), "{e}");
    }
}
