//! "Did you mean ...?" for misspelt keys, connectors, metrics and time zones,
//! and the list of keys each config table accepts.
//!
//! The key lists come from the serde structs themselves (see [`fields_of`]), so
//! a field added to a struct is accepted and suggested without a second list to
//! keep in sync.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use tally_model::schema::edit_distance;

/// The candidate closest to `name`, if any is close enough to be a likely typo.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or nothing, ready to append to a message.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(name, candidates)
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default()
}

/// Names as a readable list: `a`, `b`, `c`.
pub fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

/// The field names a `#[derive(Deserialize)]` struct accepts, read from the
/// derive itself: it asks the deserializer for a struct with these fields.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut found: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldCatcher { found: &mut found });
    found
}

/// A deserializer that only records the field list it is asked for, then fails.
struct FieldCatcher<'a> {
    found: &'a mut &'static [&'static str],
}

impl<'de> Deserializer<'de> for FieldCatcher<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("field catcher"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.found = fields;
        Err(de::Error::custom("field catcher"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        alpha: u32,
        #[serde(rename = "beta_key")]
        beta: String,
    }

    #[test]
    fn fields_come_from_the_derive() {
        assert_eq!(fields_of::<Probe>(), &["alpha", "beta_key"]);
    }

    #[test]
    fn suggestions_need_to_be_close() {
        assert_eq!(
            nearest("chanel_id", ["channel_id", "max_videos"]),
            Some("channel_id")
        );
        assert_eq!(nearest("youtub", ["youtube", "mastodon"]), Some("youtube"));
        assert_eq!(nearest("zzzzzz", ["youtube", "mastodon"]), None);
        assert_eq!(did_you_mean("Kind", ["kind"]), "; did you mean `kind`?");
    }
}
