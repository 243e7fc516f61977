//! A lenient JSON tree that borrows from the input: every value is accepted as it is, so the
//! reader can report a wrong type as a problem (and keep going) instead of stopping at the
//! first serde error, and unknown fields can be carried on verbatim. Strings without escapes
//! (large base64 attachments) are not copied.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::MAX_FIELDS;
use crate::model::message::{JsonType, Lang};

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its decimal text.
    Number(String),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object, fields in document order (duplicates kept, for the reader to refuse).
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// The JSON type, for messages.
    pub fn kind(&self) -> JsonType {
        match self {
            Json::Null => JsonType::Null,
            Json::Bool(_) => JsonType::Boolean,
            Json::Number(_) => JsonType::Number,
            Json::Str(_) => JsonType::String,
            Json::Array(_) => JsonType::Array,
            Json::Object(_) => JsonType::Object,
        }
    }

    /// Compact JSON text of the value.
    pub fn to_text(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Json::Number(n) => out.extend_from_slice(n.as_bytes()),
            Json::Str(s) => write_str(out, s),
            Json::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write(out);
                }
                out.push(b']');
            }
            Json::Object(fields) => {
                out.push(b'{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Writes `s` as a JSON string literal (serde_json's escaping). Most strings need no
/// escape at all and are copied as they stand; the rest go through serde_json.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Bytes JSON escapes inside a string: control characters, `"` and `\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether `bytes` hold a byte JSON escapes inside a string.
fn needs_escape(bytes: &[u8]) -> bool {
    // Whole blocks are looked at without stopping at the first hit, so the compiler compares
    // many bytes per step (attachments are long); the few bytes left over, which are most of
    // a short string, are looked up one by one.
    let mut blocks = bytes.chunks_exact(16);
    let in_blocks = blocks.by_ref().any(|block| {
        block.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    });
    in_blocks || blocks.remainder().iter().any(|&b| ESCAPED[usize::from(b)])
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_FIELDS));
        loop {
            let at = items.len();
            match seq.next_element() {
                Ok(Some(_)) if at == MAX_FIELDS => return Err(too_many(format!("[{at}]"))),
                Ok(Some(v)) => items.push(v),
                Ok(None) => break,
                Err(e) => return Err(within(&format!("[{at}]"), e)),
            }
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8).min(MAX_FIELDS));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if fields.len() == MAX_FIELDS {
                return Err(too_many(key.0.into_owned()));
            }
            match map.next_value() {
                Ok(v) => fields.push((key.0, v)),
                Err(e) => return Err(within(&key.0, e)),
            }
        }
        Ok(Json::Object(fields))
    }
}

/// Starts the message of a parse stopped at an object of more than [`MAX_FIELDS`] fields
/// (or an array of more items); the path of the first one past follows, up to a NUL.
pub const TOO_MANY: &str = "\u{0}too many:";

/// The error that stops parsing at `path`, the first field or item past [`MAX_FIELDS`]:
/// reading on would only build what is refused anyway.
fn too_many<E: de::Error>(path: String) -> E {
    E::custom(format!("{TOO_MANY}{path}\u{0}"))
}

/// `e` from inside the field or item `step`: its path gets `step` in front when it is a
/// [`too_many`] error; other errors pass as they are.
fn within<E: de::Error + fmt::Display>(step: &str, e: E) -> E {
    match e.to_string().strip_prefix(TOO_MANY) {
        Some(rest) if rest.starts_with('[') => E::custom(format!("{TOO_MANY}{step}{rest}")),
        Some(rest) => E::custom(format!("{TOO_MANY}{step}.{rest}")),
        None => e,
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Json::deserialize(d)? {
            Json::Str(s) => Ok(Key(s)),
            other => Err(de::Error::custom(format!(
                "object key is {}, expected a string",
                other.kind().render(Lang::En)
            ))),
        }
    }
}

impl Json<'_> {
    /// The path (`cl[0].x.y`, from `path`) of the first value nested deeper than `limit`
    /// levels of objects and arrays, if any. Linear in the value; recursion is bounded by
    /// serde_json's own nesting limit (128).
    pub fn too_deep(&self, path: &str, limit: usize) -> Option<String> {
        let nested = |v: &Json| matches!(v, Json::Array(_) | Json::Object(_));
        match self {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .filter(|(_, v)| nested(v))
                .find_map(|(i, v)| {
                    let p = format!("{path}[{i}]");
                    Self::deeper(p, v, limit)
                }),
            Json::Object(fields) => fields.iter().filter(|(_, v)| nested(v)).find_map(|(k, v)| {
                let p = if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                };
                Self::deeper(p, v, limit)
            }),
            _ => None,
        }
    }

    /// `path` itself when no more levels are allowed, else the first too deep below it.
    fn deeper(path: String, v: &Json, limit: usize) -> Option<String> {
        if limit == 0 {
            Some(path)
        } else {
            v.too_deep(&path, limit - 1)
        }
    }
}

/// Parses `bytes` as one JSON value.
pub fn parse(bytes: &[u8]) -> Result<Json<'_>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = br#"{"nr":"QUJD","xm":"a\"b","n":[1,-2,1.5,true,null]}"#;
        let Json::Object(fields) = parse(text).unwrap() else {
            panic!("not an object")
        };
        assert!(matches!(fields[0].1, Json::Str(Cow::Borrowed("QUJD"))));
        assert!(matches!(&fields[1].1, Json::Str(Cow::Owned(s)) if s == "a\"b"));
        assert_eq!(fields[2].1.to_text(), "[1,-2,1.5,true,null]");
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "",
            "陆佳怡",
            "JVBERi0x+/=",
            "a\"b",
            "a\\b",
            "tab\there",
            "\u{1}\u{1f}\u{7f}",
            "line\n",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        // Long strings are looked at in blocks: an escape anywhere in them is found.
        let long = "0123456789abcdef".repeat(3);
        for at in [0, 15, 16, 31, 40, 47] {
            for c in ['"', '\\', '\n', '\u{1f}'] {
                let mut s = long.clone();
                s.replace_range(at..=at, &c.to_string());
                let mut out = Vec::new();
                write_str(&mut out, &s);
                assert_eq!(out, serde_json::to_vec(&s).unwrap(), "{s:?}");
            }
        }
    }
}
