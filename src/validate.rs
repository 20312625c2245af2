//! Compiling JSON Schemas and validating arguments against them.

use crate::error::{CallError, ErrorCode};
use jsonschema::{Draft, PatternOptions, Validator};
use serde_json::{Value, json};

/// A compiled JSON Schema (2020-12, formats checked, linear-time regular expressions, no
/// remote `$ref`s).
pub type Schema = Validator;

/// Compiles a schema; the error is a message for the config author.
pub fn compile_schema(schema: &Value) -> Result<Schema, String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_pattern_options(PatternOptions::regex())
        .build(schema)
        .map_err(|e| format!("invalid JSON Schema: {e}"))
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
