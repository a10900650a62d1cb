//! JSON text straight to its packed fragment, without a `serde_json::Value` between.
//!
//! The server keeps each change as the JSON text `serde_json` wrote and packs it for a replica
//! that reads the packed form. A first sync packs every change of an office once; reading each
//! into a tree first allocated every string and map node only to drop them again.

use super::write_text;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The packed fragment of a JSON text: byte for byte what `pack` writes for the tree
/// `serde_json::from_str` reads from it (object keys in sorted order, a repeated key's last
/// value), or the error that reading would give.
pub fn pack_json(json: &str) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(json.len());
    let mut de = serde_json::Deserializer::from_str(json);
    Packer { out: &mut out }.deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// Writes one JSON value into `out`.
struct Packer<'o> {
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Packer<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

// Writing into a Vec cannot fail.
impl<'de> Visitor<'de> for Packer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        rmp::encode::write_nil(self.out).expect("vec");
        Ok(())
    }

    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        rmp::encode::write_bool(self.out, b).expect("vec");
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        rmp::encode::write_uint(self.out, n).expect("vec");
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        // As `pack` writes a `Number`: unsigned whenever it fits.
        if n >= 0 {
            rmp::encode::write_uint(self.out, n as u64).expect("vec");
        } else {
            rmp::encode::write_sint(self.out, n).expect("vec");
        }
        Ok(())
    }

    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        rmp::encode::write_f64(self.out, n).expect("vec");
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        write_text(self.out, s);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // The header holds the length, which JSON tells only at the end.
        let mut items = Vec::new();
        let mut len = 0u32;
        while seq.next_element_seed(Packer { out: &mut items })?.is_some() {
            len += 1;
        }
        rmp::encode::write_array_len(self.out, len).expect("vec");
        self.out.extend_from_slice(&items);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Each value is packed into one scratch buffer; the keys are sorted afterwards, as a
        // `serde_json::Map` holds them.
        let mut values = Vec::new();
        let mut entries: Vec<(Cow<'de, str>, std::ops::Range<usize>)> = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let start = values.len();
            map.next_value_seed(Packer { out: &mut values })?;
            entries.push((key, start..values.len()));
        }
        // Stable: of a repeated key, the last value is the one a map keeps.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let kept: Vec<_> = entries
            .iter()
            .enumerate()
            .filter(|(i, (key, _))| entries.get(i + 1).is_none_or(|next| next.0 != *key))
            .map(|(_, entry)| entry)
            .collect();
        rmp::encode::write_map_len(self.out, kept.len() as u32).expect("vec");
        for (key, range) in kept {
            rmp::encode::write_str(self.out, key).expect("vec");
            self.out.extend_from_slice(&values[range.clone()]);
        }
        Ok(())
    }
}

/// An object's key, borrowed from the text unless it had escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_string()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}
