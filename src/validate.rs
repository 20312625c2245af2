//! Compiling JSON Schemas and validating arguments against them.

use crate::error::{CallError, ErrorCode};
use jsonschema::{Draft, PatternOptions, Validator};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A compiled JSON Schema (2020-12, formats checked, linear-time regular expressions, no
/// remote `$ref`s), shared by every tool with the same schema.
pub type Schema = Arc<Validator>;

/// Compiles a schema; the error is a message for the config author.
pub fn compile_schema(schema: &Value) -> Result<Schema, String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_pattern_options(PatternOptions::regex())
        .build(schema)
        .map(Arc::new)
        .map_err(|e| format!("invalid JSON Schema: {e}"))
}

/// Compiles each distinct schema once. Generated configs (an OpenAPI import of thousands of
/// operations) repeat the same argument schemas many times; a compiled validator with its
/// regular expressions costs far more time and memory than the lookup.
#[derive(Debug, Default)]
pub struct SchemaCache {
    compiled: HashMap<String, Result<Schema, String>>,
    /// Whether the validator checks a `format` name, by name.
    known_formats: HashMap<String, bool>,
}

impl SchemaCache {
    /// Every `format` keyword of `schema` whose name the validator does not check (such a
    /// value passes whatever it holds), as `(JSON Pointer of the keyword, name)`.
    pub fn unknown_formats(&mut self, schema: &Value) -> Vec<(String, String)> {
        let mut found = Vec::new();
        format_keywords(schema, String::new(), &mut found);
        found.retain(|(_, name)| {
            !*self.known_formats.entry(name.clone()).or_insert_with(|| {
                jsonschema::options()
                    .with_draft(Draft::Draft202012)
                    .should_validate_formats(true)
                    .should_ignore_unknown_formats(false)
                    .build(&json!({ "format": name }))
                    .is_ok()
            })
        });
        found
    }

    /// The compiled schema, from the cache when an equal schema was compiled before.
    pub fn compile(&mut self, schema: &Value) -> Result<Schema, String> {
        // serde_json's maps are sorted (no `preserve_order`), so equal schemas have equal
        // texts; were they not, an equal schema would only be compiled again.
        let key = schema.to_string();
        self.compiled
            .entry(key)
            .or_insert_with(|| compile_schema(schema))
            .clone()
    }
}

/// Keywords whose value is one subschema.
const SUBSCHEMA: [&str; 11] = [
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
];
/// Keywords whose value is an array of subschemas.
const SUBSCHEMA_LISTS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to subschemas.
const SUBSCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Collects the `format` keywords (with a string value) of a schema and its subschemas;
/// a property that happens to be named `format` is not one.
fn format_keywords(schema: &Value, at: String, found: &mut Vec<(String, String)>) {
    let Value::Object(map) = schema else {
        return;
    };
    let escape = |key: &str| key.replace('~', "~0").replace('/', "~1");
    for (key, value) in map {
        let here = format!("{at}/{}", escape(key));
        if key == "format" {
            if let Value::String(name) = value {
                found.push((here, name.clone()));
            }
        } else if SUBSCHEMA.contains(&key.as_str()) {
            format_keywords(value, here, found);
        } else if SUBSCHEMA_LISTS.contains(&key.as_str()) {
            for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                format_keywords(item, format!("{here}/{index}"), found);
            }
        } else if SUBSCHEMA_MAPS.contains(&key.as_str()) {
            for (name, item) in value.as_object().into_iter().flatten() {
                format_keywords(item, format!("{here}/{}", escape(name)), found);
            }
        }
    }
}

/// The longest echo of an invalid value in an error message, in characters.
pub const EXCERPT_CHARS: usize = 120;
/// The longest message of one schema error, in characters (lists of unexpected property
/// names grow with the input).
const MESSAGE_CHARS: usize = 400;
/// The most schema errors reported for one value; the rest are counted.
const MAX_ERRORS: usize = 20;

/// Every way `value` fails `schema`, as `[{path, message}]` (path is a JSON Pointer, `/` for
/// the root), bounded: a long invalid value is echoed as a short excerpt with its length, a
/// long message is cut, and past [`MAX_ERRORS`] errors one more entry says how many were left
/// out. The answer stays small whatever the input's size.
pub fn schema_errors(schema: &Schema, value: &Value) -> Vec<Value> {
    let mut errors = Vec::new();
    let mut left_out = 0usize;
    for error in schema.iter_errors(value) {
        if errors.len() == MAX_ERRORS {
            left_out += 1;
            continue;
        }
        let path = error.instance_path().to_string();
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        let message = match excerpt(error.instance()) {
            None => error.to_string(),
            Some(short) => error.masked_with(short).to_string(),
        };
        errors.push(json!({ "path": cut(path), "message": cut(message) }));
    }
    if left_out > 0 {
        errors.push(json!({ "path": "/", "message": format!("and {left_out} more errors") }));
    }
    errors
}

/// A short stand-in for a value whose JSON text is longer than [`EXCERPT_CHARS`]: its first
/// characters and its full length; `None` when the value is short enough to quote whole.
fn excerpt(value: &Value) -> Option<String> {
    let text = value.to_string();
    let chars = text.chars().count();
    (chars > EXCERPT_CHARS).then(|| {
        let start: String = text.chars().take(EXCERPT_CHARS).collect();
        format!("{start}… ({chars} characters in all)")
    })
}

/// `text` cut to [`MESSAGE_CHARS`] characters, saying so.
fn cut(text: String) -> String {
    let chars = text.chars().count();
    if chars <= MESSAGE_CHARS {
        return text;
    }
    let start: String = text.chars().take(MESSAGE_CHARS).collect();
    format!("{start}… (cut; {chars} characters in all)")
}

/// Validates tool arguments; failures are `invalid_parameters` with `details.errors`.
pub fn validate_arguments(schema: &Schema, args: &Value) -> Result<(), CallError> {
    if schema.is_valid(args) {
        return Ok(());
    }
    let errors = schema_errors(schema, args);
    let summary = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap_or("/"),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(CallError::new(
        ErrorCode::InvalidParameters,
        format!("invalid arguments: {summary}"),
    )
    .with_details(json!({ "errors": errors })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unknown_formats_in_subschemas_only() {
        let schema = json!({
            "type": "object",
            "properties": {
                "format": { "type": "string", "format": "emial" },
                "when": { "type": "string", "format": "date-time" },
                "list": { "type": "array", "items": { "format": "colour" } },
                "either": { "anyOf": [ { "format": "uuid" }, { "format": "phone" } ] },
            },
        });
        let mut found = SchemaCache::default().unknown_formats(&schema);
        found.sort();
        assert_eq!(
            found,
            [
                (
                    "/properties/either/anyOf/1/format".to_owned(),
                    "phone".to_owned()
                ),
                ("/properties/format/format".to_owned(), "emial".to_owned()),
                (
                    "/properties/list/items/format".to_owned(),
                    "colour".to_owned()
                ),
            ]
        );
    }
}
