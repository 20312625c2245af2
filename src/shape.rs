//! Shaping an upstream answer into the tool result: pick, output check, size cap.

mod body;
mod escape;
mod json;

pub use body::{Body, Media, MediaKind, read_body};
pub use escape::{escape_json_str, push_json_str};
pub use json::{ResultJson, compact_json};

use crate::error::{CallError, ErrorCode};
use crate::forward::UpstreamAnswer;
use crate::template::value_text;
use crate::validate::{Schema, schema_errors};
use serde_json::{Value, json};

/// The message of the error for an answer that does not match the tool's output schema.
const OUTPUT_MISMATCH: &str = "the upstream answer does not match the tool's output_schema";

/// Whether `error` is an answer's mismatch with its tool's output schema (counted apart).
pub fn is_output_mismatch(error: &CallError) -> bool {
    error.code == ErrorCode::UpstreamError && error.message == OUTPUT_MISMATCH
}

/// How a tool's upstream answer becomes its result (compiled `response:`).
#[derive(Debug, Default)]
pub struct ResponseShape {
    /// JSON Pointer into the upstream body.
    pub pick: Option<String>,
    /// Cut the result's text past this many bytes, with a marker.
    pub max_bytes: Option<usize>,
    /// The declared output schema, checked against every result.
    pub output_schema: Option<Schema>,
}

/// A shaped tool result.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolResult {
    /// The result as JSON (a string for text answers, the cut text when the result was cut
    /// and the tool declares no output schema, [`Media::value`] for a binary answer).
    pub value: ResultJson,
    /// The result as text for the model: the string itself, or compact JSON
    /// ([`Media::summary`] for a binary answer).
    pub text: String,
    /// Whether `text` was cut at `max_bytes`.
    pub truncated: bool,
    /// The answer's bytes when it was binary (an image, audio, or another non-text type).
    pub media: Option<Media>,
}

impl ToolResult {
    /// A result holding a binary answer.
    pub fn binary(media: Media) -> Self {
        Self {
            value: media.value().into(),
            text: media.summary(),
            truncated: false,
            media: Some(media),
        }
    }
}

impl ResponseShape {
    /// Applies `pick`, the output schema and `max_bytes` to an answer. A binary answer (see
    /// [`read_body`]) is kept whole: `max_bytes` caps its size before it is encoded, and a tool
    /// with a `pick` or an `output_schema` expects JSON, so a binary answer fails it.
    pub fn shape(&self, answer: &UpstreamAnswer) -> Result<ToolResult, CallError> {
        if let Some(result) = self.pass_through(answer) {
            return Ok(result);
        }
        let shaped = match read_body(answer, self.max_bytes) {
            Ok(Body::Json(value)) => self.shape_value(value),
            Ok(Body::Text(text)) => self.shape_value(Value::String(text)),
            Ok(Body::Binary(media)) => self.shape_binary(media),
            Err(error) => Err(error),
        };
        shaped.map_err(|error| add_status(error, answer.status))
    }

    /// A JSON object or array answer of a tool with no `pick` and no `output_schema`, kept as
    /// the upstream's compacted text: it is both the text block and the structured result, so
    /// it is never parsed into a tree. `None` when the answer needs the full path.
    fn pass_through(&self, answer: &UpstreamAnswer) -> Option<ToolResult> {
        if self.pick.is_some() || self.output_schema.is_some() || !answer.looks_like_json() {
            return None;
        }
        let raw = compact_json(&answer.body)?;
        let text = raw.get().to_owned();
        Some(self.cut(ResultJson::Raw(raw), text))
    }

    fn shape_binary(&self, media: Media) -> Result<ToolResult, CallError> {
        if self.pick.is_some() || self.output_schema.is_some() {
            let wants = if self.pick.is_some() {
                "pick"
            } else {
                "output_schema"
            };
            return Err(CallError::new(
                ErrorCode::UpstreamError,
                format!(
                    "the upstream answered {}, not the JSON the tool's {wants} needs",
                    media.summary()
                ),
            )
            .with_details(json!({ "content_type": media.mime_type })));
        }
        Ok(ToolResult::binary(media))
    }

    /// Shapes the lines of a line-stream answer: the JSON array of the kept lines, with
    /// `pick`, the output schema and `max_bytes` applied. `dropped` lines arrived after the
    /// kept ones but were not kept (over `max_response_bytes`); the result then says so.
    pub fn shape_lines(&self, kept: Vec<Value>, dropped: u64) -> Result<ToolResult, CallError> {
        let count = kept.len();
        let mut result = self.shape_value(Value::Array(kept))?;
        if dropped > 0 {
            result.truncated = true;
            result.text.push_str(&format!(
                "\n[truncated by toolgate: kept the first {count} lines of {}; the rest was over the upstream's max_response_bytes]",
                count as u64 + dropped
            ));
            if let ResultJson::Parsed(Value::String(text)) = &mut result.value {
                text.clone_from(&result.text);
            }
        }
        Ok(result)
    }

    /// Applies `pick`, the output schema and `max_bytes` to a JSON value.
    pub fn shape_value(&self, mut value: Value) -> Result<ToolResult, CallError> {
        if let Some(pointer) = &self.pick {
            value = value.pointer(pointer).cloned().ok_or_else(|| {
                CallError::new(
                    ErrorCode::UpstreamError,
                    format!("the upstream answer has nothing at '{pointer}'"),
                )
                .with_details(json!({ "pick": pointer }))
            })?;
        }
        if let Some(schema) = &self.output_schema {
            let errors = schema_errors(schema, &value);
            if !errors.is_empty() {
                return Err(CallError::new(ErrorCode::UpstreamError, OUTPUT_MISMATCH)
                    .with_details(json!({ "errors": errors })));
            }
        }
        let text = value_text(&value).into_owned();
        Ok(self.cut(value.into(), text))
    }

    fn cut(&self, value: ResultJson, mut text: String) -> ToolResult {
        let Some(max) = self.max_bytes.filter(|max| text.len() > *max) else {
            return ToolResult {
                value,
                text,
                truncated: false,
                media: None,
            };
        };
        let total = text.len();
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(&format!(
            "\n[truncated by toolgate: showing the first {end} of {total} bytes]"
        ));
        // A declared output schema promises the structured result whole: only the text is cut.
        let value = if self.output_schema.is_some() {
            value
        } else {
            Value::String(text.clone()).into()
        };
        ToolResult {
            value,
            text,
            truncated: true,
            media: None,
        }
    }
}

/// Adds the upstream's HTTP status to a shaping error's details (where a pick failed).
fn add_status(mut error: CallError, status: u16) -> CallError {
    if error.details.get("pick").is_some() {
        error.details["status"] = json!(status);
    }
    error
}
