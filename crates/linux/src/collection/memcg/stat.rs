//! A flat-keyed cgroup file (`memory.stat`) kept whole, in file order, in one reused arena.

use serde::{Deserialize, Serialize};

use super::parse_value;

/// A flat-keyed file (`memory.stat`, `memory.events`) kept whole, in file order.
///
/// Keys live in one reused string arena so re-reading thousands of cgroups does not allocate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatMap {
    keys: String,
    entries: Vec<(u32, u32, u64)>,
    malformed: usize,
}

impl StatMap {
    /// Replace the contents with the parse of `text`.
    pub fn parse_into(&mut self, text: &str) {
        self.keys.clear();
        self.entries.clear();
        self.malformed = 0;
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(' ') else {
                self.malformed += 1;
                continue;
            };
            let (Some(value), false) = (parse_value(value), key.is_empty()) else {
                self.malformed += 1;
                continue;
            };
            let start = self.keys.len();
            self.keys.push_str(key);
            let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(self.keys.len())) else {
                self.malformed += 1;
                continue;
            };
            self.entries.push((s, e, value));
        }
    }

    pub fn parse(text: &str) -> StatMap {
        let mut m = StatMap::default();
        m.parse_into(text);
        m
    }

    /// The value of `key`, if the file had it.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// All `(key, value)` pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.entries
            .iter()
            .map(|&(s, e, v)| (self.keys.get(s as usize..e as usize).unwrap_or(""), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines that were not `key value` with a number.
    pub fn malformed_lines(&self) -> usize {
        self.malformed
    }
}

impl Serialize for StatMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for StatMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(String, u64)> = std::collections::BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .collect();
        let mut text = String::new();
        for (k, v) in pairs {
            text.push_str(&k);
            text.push(' ');
            text.push_str(&v.to_string());
            text.push('\n');
        }
        Ok(StatMap::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_map_keeps_unknown_keys_and_counts_junk() {
        let m = StatMap::parse("cache 5\nnew_key 7\nbroken\nneg -3\nbig max\nx y\n\n");
        assert_eq!(m.get("cache"), Some(5));
        assert_eq!(m.get("new_key"), Some(7));
        assert_eq!(m.get("neg"), Some(0));
        assert_eq!(m.get("big"), Some(u64::MAX));
        assert_eq!(m.get("missing"), None);
        assert_eq!(m.malformed_lines(), 2);
        assert_eq!(m.len(), 4);
        let json = serde_json::to_string(&m).unwrap();
        let back: StatMap = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("new_key"), Some(7));
    }
}
