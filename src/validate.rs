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

/// Every way `value` fails `schema`, as `[{path, message}]` (path is a JSON Pointer, `/` for
/// the root).
pub fn schema_errors(schema: &Schema, value: &Value) -> Vec<Value> {
    schema
        .iter_errors(value)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            json!({ "path": path, "message": error.to_string() })
        })
        .collect()
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
