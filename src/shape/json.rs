//! A result's JSON: parsed into a [`Value`], or kept as the upstream's own text (checked and
//! compacted) when nothing needs it parsed, so a plain JSON answer is never built into a tree
//! and serialised back.

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// The JSON of a tool result.
#[derive(Clone, Debug)]
pub enum ResultJson {
    /// A value that was parsed (picked, checked against a schema, cut, or built here).
    Parsed(Value),
    /// The upstream's JSON text, valid and without insignificant whitespace.
    Raw(Box<RawValue>),
}

impl ResultJson {
    /// Whether the JSON is an object (what MCP's `structuredContent` must be).
    pub fn is_object(&self) -> bool {
        match self {
            Self::Parsed(value) => value.is_object(),
            Self::Raw(raw) => raw.get().starts_with('{'),
        }
    }

    /// The JSON as a [`Value`] (parsed now when it was kept as text; [`compact_json`] keeps
    /// only text that parses, so nothing is lost).
    pub fn into_value(self) -> Value {
        match self {
            Self::Parsed(value) => value,
            Self::Raw(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        }
    }
}

impl From<Value> for ResultJson {
    fn from(value: Value) -> Self {
        Self::Parsed(value)
    }
}

impl PartialEq for ResultJson {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Raw(a), Self::Raw(b)) => a.get() == b.get(),
            _ => self.clone().into_value() == other.clone().into_value(),
        }
    }
}

impl Serialize for ResultJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Parsed(value) => value.serialize(serializer),
            Self::Raw(raw) => raw.serialize(serializer),
        }
    }
}

/// `bytes` as compact JSON text when they are one valid JSON object or array (the usual
/// answer of a JSON API), else `None` (the caller then parses them, and reports what is wrong).
/// Checked once by serde_json's parser without building anything; only whitespace outside
/// strings is removed, so every string, number and key stays byte for byte what was sent.
pub fn compact_json(bytes: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.trim_matches(is_json_whitespace);
    if !(text.starts_with('{') || text.starts_with('[')) {
        return None;
    }
    RawValue::from_string(strip_whitespace(text)?).ok()
}

/// Nesting deeper than this takes the parsing path (serde_json refuses 128 levels, and a raw
/// value must stay something a `Value` can be made of).
const MAX_DEPTH: usize = 100;
/// Numbers with more digits than this, or with an exponent, take the parsing path too: only
/// those can be out of a `Value`'s range (which the parser reports).
const MAX_DIGITS: usize = 300;

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Removes the whitespace outside strings (what is left is checked by the caller); `None`
/// when arrays and objects nest deeper than [`MAX_DEPTH`] or a number may be out of range
/// (see [`MAX_DIGITS`]). Strings are skipped whole with `memchr`, so they cost little.
fn strip_whitespace(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut kept, mut at, mut depth, mut digits) = (0, 0, 0usize, 0usize);
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if digits > MAX_DIGITS {
                    return None;
                }
            }
            b'e' | b'E' if digits > 0 => return None,
            b'.' if digits > 0 => {}
            _ => digits = 0,
        }
        match byte {
            b'"' => {
                at = string_end(bytes, at + 1);
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b' ' | b'\t' | b'\n' | b'\r' => {
                // Whitespace is ASCII, so both ends are character boundaries.
                out.push_str(&text[kept..at]);
                kept = at + 1;
            }
            _ => {}
        }
        at += 1;
    }
    out.push_str(&text[kept..]);
    Some(out)
}

/// Where the string whose contents start at `at` ends (past its closing quote), or the end of
/// the text when it is not closed.
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        if bytes[at + offset] == b'"' {
            return at + offset + 1;
        }
        at += offset + 2; // a backslash and the character it escapes
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_goes_but_strings_stay_as_sent() {
        let body = b" {\n  \"name\": \"Ada  L\\\"ovelace\\\\\",\t\"n\": [1, 2.50, -0] }\r\n";
        assert_eq!(
            compact_json(body).as_deref().map(RawValue::get),
            Some(r#"{"name":"Ada  L\"ovelace\\","n":[1,2.50,-0]}"#)
        );
    }

    #[test]
    fn only_valid_objects_and_arrays_pass() {
        for body in [
            &b"\"text\""[..],
            b"42",
            b"null",
            b"{\"a\":1} x",
            b"{\"a\":}",
            b"[1,]",
            b"{\"a\":\"\xff\"}",
            b"",
            b"{\"a\":\"x\\",
            b"[\"",
        ] {
            assert!(compact_json(body).is_none(), "{body:?}");
        }
        assert_eq!(
            compact_json(b"[]").as_deref().map(RawValue::get),
            Some("[]")
        );
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(compact_json(deep.as_bytes()).is_none());
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(compact_json(fine.as_bytes()).is_some());
        // Numbers that may not fit a `Value` are left to the parser, which says so.
        assert!(compact_json(b"[1e400]").is_none());
        assert!(compact_json(format!("[{}]", "9".repeat(MAX_DIGITS + 1)).as_bytes()).is_none());
        assert!(compact_json(b"[true, false, -0.5, \"1e400\"]").is_some());
    }

    #[test]
    fn raw_and_parsed_serialise_alike() {
        let raw = ResultJson::Raw(RawValue::from_string(r#"{"a":[1,"x"]}"#.into()).unwrap());
        let parsed = ResultJson::Parsed(serde_json::json!({ "a": [1, "x"] }));
        assert_eq!(
            serde_json::to_string(&raw).unwrap(),
            serde_json::to_string(&parsed).unwrap()
        );
        assert_eq!(raw, parsed);
        assert!(raw.is_object());
        assert_eq!(serde_json::to_value(&raw).unwrap(), parsed.into_value());
    }
}
