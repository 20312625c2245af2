//! An ordered JSON/YAML tree that can carry comments.
//!
//! `serde_json::Value` sorts object keys (the crate is built without `preserve_order`), but an
//! import must keep the spec's order: operations in the order the spec lists them, properties
//! in the order the author wrote them. The same tree is written back out as YAML, so map
//! entries can carry comments.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::fmt;

/// A JSON value whose maps keep their order and whose entries may carry comments.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number.
    Number(Number),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<Entry>),
}

/// One mapping entry, with comment lines written above it.
///
/// An entry with an empty key and a `Null` value is a comment alone (written where it stands).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Comment lines (without `# `), written above the key.
    pub comments: Vec<String>,
    /// The key.
    pub key: String,
    /// The value.
    pub value: Node,
}

impl Entry {
    /// An entry without comments.
    pub fn new(key: impl Into<String>, value: Node) -> Self {
        Self {
            comments: Vec::new(),
            key: key.into(),
            value,
        }
    }

    /// Comment lines alone, at this place in the mapping.
    pub fn comment_only(comments: Vec<String>) -> Self {
        Self {
            comments,
            key: String::new(),
            value: Node::Null,
        }
    }

    /// Whether this entry is only comments.
    pub fn is_comment_only(&self) -> bool {
        self.key.is_empty() && self.value == Node::Null
    }
}

impl Node {
    /// A string node.
    pub fn str(text: impl Into<String>) -> Self {
        Node::String(text.into())
    }

    /// An empty mapping.
    pub fn map() -> Self {
        Node::Map(Vec::new())
    }

    /// The member `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|e| e.key == key && !e.is_comment_only())
                .map(|e| &e.value),
            _ => None,
        }
    }

    /// The member `key` of a mapping, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Map(entries) => entries
                .iter_mut()
                .find(|e| e.key == key && !e.is_comment_only())
                .map(|e| &mut e.value),
            _ => None,
        }
    }

    /// The string value of member `key`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn entries(&self) -> &[Entry] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items, if this is a sequence.
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }

    /// Whether this is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self, Node::Map(_))
    }

    /// Sets `key` (replacing an existing value in place, else appending).
    pub fn set(&mut self, key: &str, value: Node) {
        if let Some(slot) = self.get_mut(key) {
            *slot = value;
        } else if let Node::Map(entries) = self {
            entries.push(Entry::new(key, value));
        }
    }

    /// Sets `key` as the first entry (replacing an existing value, which moves to the front).
    pub fn set_first(&mut self, key: &str, value: Node) {
        if let Node::Map(entries) = self {
            entries.retain(|e| e.key != key || e.is_comment_only());
            entries.insert(0, Entry::new(key, value));
        }
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        if let Node::Map(entries) = self {
            let at = entries
                .iter()
                .position(|e| e.key == key && !e.is_comment_only())?;
            return Some(entries.remove(at).value);
        }
        None
    }

    /// The tree as plain JSON (comments dropped; keys end up sorted).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Number(n) => serde_json::Value::Number(n.clone()),
            Node::String(s) => serde_json::Value::String(s.clone()),
            Node::Seq(items) => items.iter().map(Node::to_json).collect(),
            Node::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .filter(|e| !e.is_comment_only())
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// A key written as text: YAML allows numbers and booleans as keys (`200:`).
    fn key_text(self) -> Option<String> {
        match self {
            Node::String(s) => Some(s),
            Node::Number(n) => Some(n.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Null => Some("null".into()),
            Node::Seq(_) | Node::Map(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON or YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // NaN and infinities have no JSON form.
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<Entry> = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            let key = key
                .key_text()
                .ok_or_else(|| de::Error::custom("a mapping key must be a scalar"))?;
            // A repeated key: the last one wins, as in JSON.
            entries.retain(|e| e.key != key);
            entries.push(Entry::new(key, value));
        }
        Ok(Node::Map(entries))
    }
}
