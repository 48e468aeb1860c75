//! Deserializing a marked tree as if it were unmarked: a [`serde::Deserializer`] over a
//! `&Value` that reads a mark ([`super::MARK`], [`super::MARK_SECOND`]) as the pass time. Replay decodes every pass; putting the
//! time back into the tree and marking it again after were two walks of the whole tree and an
//! allocation per stats object, a fifth of a replay.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Value};

use super::PassTexts;

/// `T` from `v`, every mark read as the pass time it stands for.
pub fn from_marked<'a, T: serde::Deserialize<'a>>(v: &'a Value, texts: &'a PassTexts) -> Result<T, Error> {
    T::deserialize(Unmarked { v, texts })
}

struct Unmarked<'a> {
    v: &'a Value,
    texts: &'a PassTexts,
}

impl<'de> Deserializer<'de> for Unmarked<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.v {
            Value::String(s) => visitor.visit_borrowed_str(self.texts.read(s)),
            Value::Array(items) => visitor.visit_seq(Seq {
                items: items.iter(),
                texts: self.texts,
            }),
            Value::Object(map) => visitor.visit_map(Map {
                entries: map.iter(),
                value: None,
                texts: self.texts,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.v {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.v {
            Value::String(s) => {
                let text = de::value::BorrowedStrDeserializer::<Error>::new(self.texts.read(s));
                text.deserialize_enum(name, variants, visitor)
            }
            other => other.deserialize_enum(name, variants, visitor),
        }
    }

    /// A value nobody reads (a field a struct does not have, `pods` of node-level readings):
    /// the tree is already parsed, so there is nothing to check in it, and walking it would cost
    /// as much as reading it.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Value>,
    texts: &'a PassTexts,
}

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.items
            .next()
            .map(|v| seed.deserialize(Unmarked { v, texts: self.texts }))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
    texts: &'a PassTexts,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key = de::value::BorrowedStrDeserializer::<Error>::new(key.as_str());
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a map value asked for before its key"))?;
        seed.deserialize(Unmarked { v, texts: self.texts })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use headroom_core::summary::Summary;
    use serde_json::json;

    #[test]
    fn reads_as_the_unmarked_tree_would() {
        let t = "2026-01-01T00:00:00.123456789Z";
        let texts = PassTexts::new(t.parse().unwrap(), true);
        let original = json!({
            "node": {"nodeName": "n", "startTime": "2025-01-01T00:00:00Z",
                     "memory": {"time": "2026-01-01T00:00:00Z", "workingSetBytes": 5, "availableBytes": null}},
            "pods": [{"podRef": {"name": "a", "namespace": "b", "uid": "c"}, "startTime": t,
                      "memory": {"time": t, "workingSetBytes": 7}, "containers": []}]
        });
        let mut marked = original.clone();
        crate::pass_time::mark(&mut marked, &texts);
        assert_eq!(
            marked["node"]["memory"]["time"],
            json!(crate::pass_time::MARK_SECOND)
        );
        let direct: Summary = serde_json::from_value(original).unwrap();
        let through: Summary = from_marked(&marked, &texts).unwrap();
        assert_eq!(direct, through);
        // Errors still say what is wrong.
        let bad = json!({"node": {"nodeName": 3}});
        assert!(from_marked::<Summary>(&bad, &texts).is_err());
    }
}
