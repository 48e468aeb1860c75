//! A pass as the binary difference from the pass before it (schema 2), so that a day of
//! 10-second passes over a hundred pods fits in tens of MiB and decodes in a second or two.
//!
//! Between two passes of a chain the readings almost always have the same shape (the same
//! cgroups, the same `memory.stat` keys): only some integers move. So a delta only applies to
//! a base of the same shape, and it lists, for the leaves (numbers, strings, ...) in
//! depth-first order, which ones changed and how:
//!
//! ```text
//! varint leaves      the base's leaf count (a delta for another base is refused, not guessed)
//! varint changes     how many leaves changed
//! varint skip * n    unchanged leaves before each changed one
//! varint code * n    per change: low 2 bits 0 = integer step, 1 = integer step in 4 KiB pages,
//!                    2 = replaced (the new leaf as JSON, length first, in the tail)
//! tail               the replaced leaves' JSON
//! ```
//!
//! Integers move by zigzag-varint steps (a counter moves by little; a size moves by whole
//! pages, so a step of 64 pages is one byte, not three); skips and codes are kept apart so
//! zlib finds the skips' regular pattern. A shape change (a pod came or went, a key appeared)
//! has no delta: [`diff`] says `None` and the caller stores the value whole.

use serde_json::{Number, Value};

/// Why a delta does not apply to its base (a damaged recording, never a valid one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delta does not fit its base: {0}")]
pub struct DeltaError(pub String);

const PAGE: i128 = 4096;
const STEP: u128 = 0;
const PAGE_STEP: u128 = 1;
const REPLACED: u128 = 2;

/// The delta turning `base` into `next`, or `None` when their shapes differ.
pub fn diff(base: &Value, next: &Value) -> Option<Vec<u8>> {
    let mut d = Differ::default();
    d.walk(base, next)?;
    let mut out = Vec::with_capacity(16 + d.skips.len() + d.codes.len() + d.tail.len());
    put(&mut out, d.leaves as u128);
    put(&mut out, d.changes as u128);
    out.extend_from_slice(&d.skips);
    out.extend_from_slice(&d.codes);
    out.extend_from_slice(&d.tail);
    Some(out)
}

#[derive(Default)]
struct Differ {
    leaves: u64,
    changes: u64,
    /// Leaves since the last change.
    unchanged: u64,
    skips: Vec<u8>,
    codes: Vec<u8>,
    tail: Vec<u8>,
}

impl Differ {
    fn walk(&mut self, base: &Value, next: &Value) -> Option<()> {
        match (base, next) {
            (Value::Object(b), Value::Object(n)) => {
                if b.len() != n.len() {
                    return None;
                }
                for ((bk, bv), (nk, nv)) in b.iter().zip(n) {
                    if bk != nk {
                        return None;
                    }
                    self.walk(bv, nv)?;
                }
                Some(())
            }
            (Value::Array(b), Value::Array(n)) => {
                if b.len() != n.len() {
                    return None;
                }
                b.iter().zip(n).try_for_each(|(bv, nv)| self.walk(bv, nv))
            }
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => None,
            (b, n) => {
                self.leaf(b, n);
                Some(())
            }
        }
    }

    fn leaf(&mut self, base: &Value, next: &Value) {
        self.leaves += 1;
        if base == next {
            self.unchanged += 1;
            return;
        }
        put(&mut self.skips, u128::from(self.unchanged));
        self.unchanged = 0;
        self.changes += 1;
        let step = match (base, next) {
            (Value::Number(b), Value::Number(n)) => integer(b).zip(integer(n)).map(|(b, n)| n - b),
            _ => None,
        };
        match step {
            Some(s) if s % PAGE == 0 => put(&mut self.codes, zigzag(s / PAGE) << 2 | PAGE_STEP),
            Some(s) => put(&mut self.codes, zigzag(s) << 2 | STEP),
            None => {
                let json = next.to_string();
                put(&mut self.codes, (json.len() as u128) << 2 | REPLACED);
                self.tail.extend_from_slice(json.as_bytes());
            }
        }
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// The JSON number of an integer (non-negative ones as serde_json itself stores them).
fn number(i: i128) -> Option<Value> {
    if i >= 0 {
        u64::try_from(i).ok().map(Value::from)
    } else {
        i64::try_from(i).ok().map(Value::from)
    }
}

fn zigzag(i: i128) -> u128 {
    ((i << 1) ^ (i >> 127)) as u128
}

fn unzigzag(u: u128) -> i128 {
    ((u >> 1) as i128) ^ -((u & 1) as i128)
}

fn put(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A reader over a delta's bytes.
struct Bytes<'a> {
    b: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn varint(&mut self) -> Result<u128, DeltaError> {
        let mut v: u128 = 0;
        for shift in (0..126).step_by(7) {
            let Some(&byte) = self.b.get(self.at) else {
                return Err(DeltaError(format!("cut short at byte {}", self.at)));
            };
            self.at += 1;
            v |= u128::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DeltaError(format!("a number too long at byte {}", self.at)))
    }

    fn count(&mut self, what: &str) -> Result<u64, DeltaError> {
        let v = self.varint()?;
        u64::try_from(v).map_err(|_| DeltaError(format!("{what} {v} is out of range")))
    }
}

/// Where a tree's subtrees lie among its leaves: for every container (object or array), in
/// depth-first order, how many leaves and how many containers it holds. With it, [`apply_indexed`]
/// steps over a subtree without a change in one step instead of walking it: a pass of a busy
/// node changes a few hundred of its thousands of leaves. Applying a delta never changes a
/// tree's shape (a replaced leaf stays a leaf), so the index of a chain's key pass serves all
/// its deltas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// Per container: (leaves under it, containers under it, itself not counted).
    spans: Vec<(u64, usize)>,
    leaves: u64,
}

impl Index {
    pub fn of(v: &Value) -> Index {
        let mut spans = Vec::new();
        let leaves = span(v, &mut spans);
        Index { spans, leaves }
    }

    /// The tree's leaf count.
    pub fn leaves(&self) -> u64 {
        self.leaves
    }
}

fn span(v: &Value, spans: &mut Vec<(u64, usize)>) -> u64 {
    let at = spans.len();
    let leaves = match v {
        Value::Object(m) => {
            spans.push((0, 0));
            m.values().map(|c| span(c, spans)).sum()
        }
        Value::Array(a) => {
            spans.push((0, 0));
            a.iter().map(|c| span(c, spans)).sum()
        }
        _ => return 1,
    };
    spans[at] = (leaves, spans.len() - at - 1);
    leaves
}

/// How many leaves `v` has, in the order [`diff`] and [`apply`] count them.
pub fn leaf_count(v: &Value) -> u64 {
    match v {
        Value::Object(m) => m.values().map(leaf_count).sum(),
        Value::Array(a) => a.iter().map(leaf_count).sum(),
        _ => 1,
    }
}

/// Apply `delta` (from [`diff`]) to `base`, in place.
pub fn apply(base: &mut Value, delta: &[u8]) -> Result<(), DeltaError> {
    let index = Index::of(base);
    apply_indexed(base, &index, delta).map(drop)
}

/// Apply `delta` to `base`, whose [`Index`] is `index`, in place; returns the positions (in
/// leaf order, ascending) of the leaves it changed, so a reader can tell which parts of the
/// tree moved.
pub fn apply_indexed(base: &mut Value, index: &Index, delta: &[u8]) -> Result<Vec<u64>, DeltaError> {
    let mut r = Bytes { b: delta, at: 0 };
    let leaves = r.count("leaf count")?;
    let changes = r.count("change count")?;
    if changes > leaves {
        return Err(DeltaError(format!("{changes} changes for {leaves} leaves")));
    }
    if leaves != index.leaves {
        return Err(DeltaError(format!(
            "written for a base of {leaves} leaves, this one has {}",
            index.leaves
        )));
    }
    // Positions first, then the codes (they are stored in two runs).
    let mut at = Vec::with_capacity(changes as usize);
    let mut pos: u64 = 0;
    for i in 0..changes {
        let skip = r.count("skip")?;
        pos = pos
            .checked_add(skip)
            .filter(|p| *p < leaves)
            .ok_or_else(|| DeltaError(format!("change {i} lands past the last leaf")))?;
        at.push(pos);
        pos += 1;
    }
    let mut codes = Vec::with_capacity(at.len());
    for _ in 0..changes {
        codes.push(r.varint()?);
    }
    let mut ap = Applier {
        at: &at,
        codes: &codes,
        spans: &index.spans,
        container: 0,
        next: 0,
        leaf: 0,
        tail: Bytes { b: delta, at: r.at },
    };
    ap.walk(base)?;
    if ap.leaf != leaves || ap.next != at.len() {
        return Err(DeltaError(format!(
            "the base's index does not fit it ({} of {leaves} leaves, {} of {} changes)",
            ap.leaf,
            ap.next,
            at.len()
        )));
    }
    if ap.tail.at != delta.len() {
        return Err(DeltaError(format!(
            "{} bytes left over",
            delta.len() - ap.tail.at
        )));
    }
    Ok(at)
}

struct Applier<'a> {
    at: &'a [u64],
    codes: &'a [u128],
    spans: &'a [(u64, usize)],
    /// The next container in the index.
    container: usize,
    /// The next change to apply.
    next: usize,
    /// Leaves seen so far.
    leaf: u64,
    tail: Bytes<'a>,
}

impl Applier<'_> {
    fn walk(&mut self, v: &mut Value) -> Result<(), DeltaError> {
        if let Value::Object(_) | Value::Array(_) = v {
            let Some(&(leaves, inner)) = self.spans.get(self.container) else {
                return Err(DeltaError(
                    "the base's index does not fit it (too few containers)".into(),
                ));
            };
            self.container += 1;
            // No change under this container: step over it.
            if self.at.get(self.next).is_none_or(|&p| p >= self.leaf + leaves) {
                self.leaf += leaves;
                self.container += inner;
                return Ok(());
            }
        }
        match v {
            Value::Object(m) => m.values_mut().try_for_each(|v| self.walk(v)),
            Value::Array(a) => a.iter_mut().try_for_each(|v| self.walk(v)),
            leaf => {
                let here = self.leaf;
                self.leaf += 1;
                if self.at.get(self.next) != Some(&here) {
                    return Ok(());
                }
                let code = self.codes[self.next];
                self.next += 1;
                self.change(leaf, code)
                    .map_err(|what| DeltaError(format!("leaf {here}: {what}")))
            }
        }
    }

    fn change(&mut self, leaf: &mut Value, code: u128) -> Result<(), String> {
        let arg = code >> 2;
        match code & 3 {
            STEP | PAGE_STEP => {
                let step = unzigzag(arg)
                    .checked_mul(if code & 3 == PAGE_STEP { PAGE } else { 1 })
                    .ok_or("a step out of range")?;
                let base = match leaf {
                    Value::Number(n) => integer(n),
                    _ => None,
                };
                let base = base.ok_or("an integer step on a base that is not an integer")?;
                *leaf = base
                    .checked_add(step)
                    .and_then(number)
                    .ok_or("the stepped integer is out of range")?;
                Ok(())
            }
            REPLACED => {
                let len = usize::try_from(arg).map_err(|_| "a length out of range")?;
                let end = self.tail.at.checked_add(len).filter(|e| *e <= self.tail.b.len());
                let end = end.ok_or("the replaced value is cut short")?;
                let value: Value = serde_json::from_slice(&self.tail.b[self.tail.at..end])
                    .map_err(|e| format!("the replaced value is not JSON: {e}"))?;
                // [`diff`] only replaces leaves with leaves: anything else would change the
                // tree's shape under its index.
                if let Value::Object(_) | Value::Array(_) = value {
                    return Err("the replaced value is not a leaf".into());
                }
                *leaf = value;
                self.tail.at = end;
                Ok(())
            }
            other => Err(format!("unknown change code {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(a: Value, b: Value) -> Vec<u8> {
        let d = diff(&a, &b).unwrap();
        let mut x = a.clone();
        apply(&mut x, &d).unwrap();
        assert_eq!(x, b);
        d
    }

    #[test]
    fn only_changed_leaves_are_kept_and_pages_are_small() {
        let a = json!({"node": {"usage": 5, "ws": 3, "name": "n"}, "pods": [{"ws": 1}, {"ws": 2}]});
        let b =
            json!({"node": {"usage": 6, "ws": 3, "name": "m"}, "pods": [{"ws": 1}, {"ws": 2 + 64 * 4096}]});
        let d = round_trip(a.clone(), b);
        // Leaves in key order: name usage ws pods[0].ws pods[1].ws. 5 leaves, 3 changes,
        // skips 0 0 2; codes: "m" replaced (3 bytes), +1, +64 pages (513, two bytes); tail.
        assert_eq!(
            d,
            vec![5, 3, 0, 0, 2, 3 << 2 | 2, 2 << 2, 0x81, 0x04, b'"', b'm', b'"']
        );
        assert_eq!(diff(&a, &a), Some(vec![5, 0]));
        // Integers move both ways; beyond i64, floats, types that change.
        round_trip(json!({"a": 9_000_000_000u64}), json!({"a": 8_999_999_000u64}));
        round_trip(json!([u64::MAX, 1, -5]), json!([1, u64::MAX, i64::MIN]));
        round_trip(json!([1.5, null, true]), json!([2.5, 3, "x"]));
    }

    #[test]
    fn shape_changes_have_no_delta() {
        assert_eq!(diff(&json!({"pods": [1, 2]}), &json!({"pods": [1, 2, 3]})), None);
        assert_eq!(diff(&json!({"a": 1}), &json!({"b": 1})), None);
        assert_eq!(diff(&json!({"a": 1}), &json!({"a": [1]})), None);
    }

    #[test]
    fn a_delta_for_another_base_or_damaged_is_an_error_not_a_guess() {
        let d = diff(&json!({"a": [1, 2]}), &json!({"a": [1, 3]})).unwrap();
        let e = apply(&mut json!({"x": 1}), &d).unwrap_err();
        assert!(e.to_string().contains("base of 2 leaves, this one has 1"), "{e}");
        let e = apply(&mut json!([1, 2]), &[2, 1, 5, 2]).unwrap_err();
        assert!(e.to_string().contains("past the last leaf"), "{e}");
        let e = apply(&mut json!({"x": [1, 2, 3]}), &d).unwrap_err();
        assert!(e.to_string().contains("base of 2 leaves"), "{e}");
        let e = apply(&mut json!(["s"]), &diff(&json!([1]), &json!([2])).unwrap()).unwrap_err();
        assert!(e.to_string().contains("not an integer"), "{e}");
        for cut in 0..d.len() {
            assert!(
                apply(&mut json!({"a": [1, 2]}), &d[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert!(apply(&mut json!({"a": [1, 2]}), &[d.as_slice(), &[0]].concat()).is_err());
    }

    #[test]
    fn a_replaced_value_that_is_not_a_leaf_is_refused() {
        // Code 2 (replaced), length 3: `[1]` would turn a leaf into an array.
        let mut d = vec![1, 1, 0, 3 << 2 | 2];
        d.extend_from_slice(b"[1]");
        let e = apply(&mut json!({"a": 1}), &d).unwrap_err();
        assert!(e.to_string().contains("not a leaf"), "{e}");
    }

    #[test]
    fn an_index_for_another_tree_is_an_error_not_a_guess() {
        let a = json!({"a": [1, 2], "b": 3});
        let d = diff(&a, &json!({"a": [1, 5], "b": 3})).unwrap();
        // Same leaf count, other containers.
        let other = Index::of(&json!([[1], [2], 3]));
        assert!(apply_indexed(&mut a.clone(), &other, &d).is_err());
    }

    /// A tree of objects and arrays with integer, string, float and null leaves.
    fn tree() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            (0u64..1 << 20).prop_map(|p| Value::from(p * 4096)),
            "[a-c]{0,3}".prop_map(Value::from),
            Just(Value::Null),
            (-1e6f64..1e6).prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-f]{1,2}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `v` with each leaf whose bit in `moves` is set changed (same shape), and the positions
    /// of the leaves that really changed.
    fn moved(v: &Value, moves: &[u8], at: &mut u64, changed: &mut Vec<u64>) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, c)| (k.clone(), moved(c, moves, at, changed)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|c| moved(c, moves, at, changed)).collect()),
            leaf => {
                let here = *at;
                *at += 1;
                let m = moves
                    .get(here as usize % moves.len().max(1))
                    .copied()
                    .unwrap_or(0);
                let next = match (m % 4, leaf) {
                    (0, _) => leaf.clone(),
                    (1, Value::Number(n)) if n.is_i64() => {
                        Value::from(n.as_i64().unwrap().saturating_add(i64::from(m) * 4096))
                    }
                    (1, _) => Value::from(i64::from(m)),
                    (2, _) => Value::from(format!("s{m}")),
                    _ => Value::Null,
                };
                if next != *leaf {
                    changed.push(here);
                }
                next
            }
        }
    }

    proptest::proptest! {
        /// The indexed apply gives the next tree and names exactly the leaves that moved,
        /// pass after pass with one index (a delta never changes the shape).
        #[test]
        fn indexed_apply_rebuilds_and_names_the_changed_leaves(
            base in tree(),
            steps in proptest::collection::vec(proptest::collection::vec(0u8..=255, 1..16), 1..5),
        ) {
            let index = Index::of(&base);
            proptest::prop_assert_eq!(index.leaves(), leaf_count(&base));
            let mut decoded = base.clone();
            let mut prev = base;
            for moves in steps {
                let mut changed = Vec::new();
                let next = moved(&prev, &moves, &mut 0, &mut changed);
                let d = diff(&prev, &next).unwrap();
                let at = apply_indexed(&mut decoded, &index, &d).unwrap();
                proptest::prop_assert_eq!(&decoded, &next);
                proptest::prop_assert_eq!(at, changed);
                prev = next;
            }
        }

        /// A damaged delta (a valid one cut short or with bytes changed, or bytes at random) is
        /// an error or names leaves of the tree, in order: never a panic, never a leaf past
        /// the end (the walk marks pods moved by these positions).
        #[test]
        fn a_damaged_delta_is_an_error_or_in_bounds_never_a_panic(
            base in tree(),
            moves in proptest::collection::vec(0u8..=255, 1..16),
            damage in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..4),
            cut in proptest::option::of(proptest::prelude::any::<usize>()),
            random in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let index = Index::of(&base);
            let next = moved(&base, &moves, &mut 0, &mut Vec::new());
            let mut d = diff(&base, &next).unwrap();
            for (at, byte) in damage {
                if !d.is_empty() {
                    let i = at % d.len();
                    d[i] = byte;
                }
            }
            if let Some(cut) = cut {
                d.truncate(cut % (d.len() + 1));
            }
            for delta in [d, random] {
                let mut tree = base.clone();
                if let Ok(at) = apply_indexed(&mut tree, &index, &delta) {
                    proptest::prop_assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
                    proptest::prop_assert!(at.iter().all(|&p| p < index.leaves()), "{at:?}");
                }
            }
        }
    }
}
