//! A `serde::Deserializer` over packed MessagePack, so a page is built straight into its types
//! instead of a JSON tree first (the tree cost the client as much as building the pages from
//! it). It reads the same items with the same limits as the tree reader (`Reader::item`) and
//! hands them to the visitor as `serde_json::Value`'s deserializer would: integers that are
//! not negative as `u64`, negative ones as `i64`, floats as `f64`, extension values as their
//! canonical text, enums as a text or a map of one entry. Wherever it could answer differently
//! from the tree — a repeated map key (the tree keeps the last), a key read as anything but
//! text, a raw JSON value — it fails, and `unpack_as` asks the tree path instead.

use super::{Item, PackedError, Reader, MAX_DEPTH};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;

/// `T` from packed MessagePack by the direct reader alone.
pub(super) fn from_packed<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PackedError> {
    let mut reader = Reader { bytes, at: 0 };
    let value = T::deserialize(Direct {
        reader: &mut reader,
        depth: 0,
    })
    .map_err(|Failed(e)| e)?;
    if reader.at != bytes.len() {
        return Err(reader.fail("bytes after the body's value"));
    }
    Ok(value)
}

/// Why the direct reader stopped (the tree path then gives the answer callers see).
#[derive(Debug)]
struct Failed(PackedError);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Failed {}

impl de::Error for Failed {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        Failed(PackedError::Shape(msg.to_string()))
    }
}

impl From<PackedError> for Failed {
    fn from(e: PackedError) -> Self {
        Failed(e)
    }
}

fn step_aside(what: &str) -> Failed {
    Failed(PackedError::Shape(format!("left to the tree path: {what}")))
}

/// Deserializer methods that read the next item and hand it on only when it is of the kinds
/// named.
macro_rules! only {
    ($($kinds:pat => $($method:ident),+;)+) => {
        $($(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failed> {
                let item = self.reader.item(self.depth)?;
                match item {
                    $kinds => self.visit(item, visitor),
                    _ => Err(step_aside(concat!("an item ", stringify!($method), " does not take"))),
                }
            }
        )+)+
    };
}

/// Key methods left to the tree path (`serde_json` parses the key's text as the value).
macro_rules! not_as_key {
    ($($method:ident)+) => {
        $(
            fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Failed> {
                Err(step_aside(concat!("a key read by ", stringify!($method))))
            }
        )+
    };
}

/// The next value of the body, nested `depth` deep.
struct Direct<'r, 'de> {
    reader: &'r mut Reader<'de>,
    depth: usize,
}

impl<'r, 'de> Direct<'r, 'de> {
    /// Hands an item already read to `visitor`; an array's or map's items follow in the body.
    fn visit<V: Visitor<'de>>(self, item: Item<'de>, visitor: V) -> Result<V::Value, Failed> {
        match item {
            Item::Null => visitor.visit_unit(),
            Item::Bool(b) => visitor.visit_bool(b),
            Item::U64(u) => visitor.visit_u64(u),
            Item::I64(i) => visitor.visit_i64(i),
            Item::F64(f) => visitor.visit_f64(f),
            Item::Str(s) => visitor.visit_borrowed_str(s),
            Item::Text(s) => visitor.visit_string(s),
            Item::Array(n) => {
                let mut items = Items {
                    reader: self.reader,
                    depth: self.depth + 1,
                    left: n,
                };
                let value = visitor.visit_seq(&mut items)?;
                // As `serde_json::from_value`: items the visitor did not take are an error.
                if items.left != 0 {
                    return Err(step_aside("array items left over"));
                }
                Ok(value)
            }
            Item::Map(n) => {
                let mut entries = Entries {
                    reader: self.reader,
                    depth: self.depth + 1,
                    left: n,
                    seen: Seen::Few(Vec::new()),
                };
                let value = visitor.visit_map(&mut entries)?;
                if entries.left != 0 {
                    return Err(step_aside("map entries left over"));
                }
                Ok(value)
            }
        }
    }

    /// The next marker byte, without taking it.
    fn peek(&self) -> Option<u8> {
        self.reader.bytes.get(self.reader.at).copied()
    }
}

impl<'r, 'de> de::Deserializer<'de> for Direct<'r, 'de> {
    type Error = Failed;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failed> {
        let item = self.reader.item(self.depth)?;
        self.visit(item, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failed> {
        if self.depth <= MAX_DEPTH && self.peek() == Some(0xc0) {
            self.reader.at += 1;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failed> {
        // `serde_json::value::RawValue` asks by this name; only the tree path knows it.
        if name.starts_with("$serde_json") {
            return Err(step_aside("a raw JSON value"));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failed> {
        match self.reader.item(self.depth)? {
            Item::Str(s) => visitor.visit_enum(s.into_deserializer()),
            Item::Text(s) => visitor.visit_enum(s.into_deserializer()),
            // `{"variant": content}`: the key is read as any map key is.
            Item::Map(1) => {
                let mut entries = Entries {
                    reader: self.reader,
                    depth: self.depth + 1,
                    left: 1,
                    seen: Seen::Few(Vec::new()),
                };
                let key = entries.key()?;
                visitor.visit_enum(Variant {
                    key,
                    content: Direct {
                        reader: entries.reader,
                        depth: entries.depth,
                    },
                })
            }
            _ => Err(step_aside(
                "an enum that is neither text nor a map of one entry",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failed> {
        // Read (and so checked) all the same: the tree path refuses a garbled ignored field.
        self.deserialize_any(visitor)
    }

    // What `serde_json::Value` hands each request: only these kinds of item; any other is its
    // error, and the visitor must not get the chance to accept it (a variant's name as a
    // number, say), so the tree path answers.
    only! {
        Item::Bool(_) => deserialize_bool;
        Item::U64(_) | Item::I64(_) | Item::F64(_) =>
            deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64, deserialize_i128,
            deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64, deserialize_u128,
            deserialize_f32, deserialize_f64;
        Item::Str(_) | Item::Text(_) =>
            deserialize_char, deserialize_str, deserialize_string, deserialize_identifier;
        Item::Str(_) | Item::Text(_) | Item::Array(_) => deserialize_bytes, deserialize_byte_buf;
        Item::Null => deserialize_unit;
        Item::Array(_) => deserialize_seq;
        Item::Map(_) => deserialize_map;
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failed> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Failed> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Failed> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failed> {
        let item = self.reader.item(self.depth)?;
        match item {
            Item::Array(_) | Item::Map(_) => self.visit(item, visitor),
            _ => Err(step_aside("a struct that is neither an array nor a map")),
        }
    }
}

/// The items of an array.
struct Items<'r, 'de> {
    reader: &'r mut Reader<'de>,
    depth: usize,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for &mut Items<'_, 'de> {
    type Error = Failed;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Failed> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(Direct {
            reader: self.reader,
            depth: self.depth,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The keys a map has shown so far: a short list, a set once the map is long (a hostile map of
/// many keys must not cost the square of its length).
enum Seen<'de> {
    Few(Vec<Cow<'de, str>>),
    Many(HashSet<Cow<'de, str>>),
}

impl<'de> Seen<'de> {
    /// Records `key`; false when the map had it already.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        match self {
            Seen::Few(keys) if keys.len() < 16 => {
                if keys.contains(&key) {
                    return false;
                }
                keys.push(key);
                true
            }
            Seen::Few(keys) => {
                let mut set: HashSet<_> = keys.drain(..).collect();
                let new = set.insert(key);
                *self = Seen::Many(set);
                new
            }
            Seen::Many(set) => set.insert(key),
        }
    }
}

/// The entries of a map.
struct Entries<'r, 'de> {
    reader: &'r mut Reader<'de>,
    depth: usize,
    left: usize,
    seen: Seen<'de>,
}

impl<'de> Entries<'_, 'de> {
    /// The next key: text (an extension value reads as its text, as in the tree), not one
    /// the map had already.
    fn key(&mut self) -> Result<Cow<'de, str>, Failed> {
        self.left -= 1;
        let key = match self.reader.item(self.depth)? {
            Item::Str(s) => Cow::Borrowed(s),
            Item::Text(s) => Cow::Owned(s),
            _ => return Err(self.reader.fail("a map key that is not text").into()),
        };
        if !self.seen.insert(key.clone()) {
            return Err(step_aside("a repeated map key"));
        }
        Ok(key)
    }
}

impl<'de> de::MapAccess<'de> for &mut Entries<'_, 'de> {
    type Error = Failed;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Failed> {
        if self.left == 0 {
            return Ok(None);
        }
        let key = self.key()?;
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Failed> {
        seed.deserialize(Direct {
            reader: self.reader,
            depth: self.depth,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A map key. Read as text only: `serde_json` also reads keys as numbers or booleans, and a
/// visitor that wants those fails here and is left to the tree path.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = Failed;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failed> {
        match self.0 {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failed> {
        visitor.visit_unit()
    }

    // `serde_json` reads a key as a number, a boolean, an option, a newtype or an enum in its
    // own way: those are left to the tree path.
    fn deserialize_option<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Failed> {
        Err(step_aside("a key read as an option"))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> Result<V::Value, Failed> {
        Err(step_aside("a key read as a newtype"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Failed> {
        Err(step_aside("a key read as an enum"))
    }

    not_as_key! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier
    }
}

/// An enum written as `{"variant": content}`.
struct Variant<'r, 'de> {
    key: Cow<'de, str>,
    content: Direct<'r, 'de>,
}

impl<'r, 'de> de::EnumAccess<'de> for Variant<'r, 'de> {
    type Error = Failed;
    type Variant = Direct<'r, 'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Direct<'r, 'de>), Failed> {
        Ok((seed.deserialize(Key(self.key))?, self.content))
    }
}

impl<'de> de::VariantAccess<'de> for Direct<'_, 'de> {
    type Error = Failed;

    fn unit_variant(self) -> Result<(), Failed> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Failed> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Failed> {
        Err(step_aside("a tuple variant"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Failed> {
        Err(step_aside("a struct variant"))
    }
}
