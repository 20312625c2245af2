//! `tools/call` results: a shaped answer as MCP content (text and `structuredContent`, or one
//! image, audio or embedded-resource block for a binary answer), a failure as an `isError`
//! result or a JSON-RPC error.

use super::rpc::{INTERNAL_ERROR, INVALID_PARAMS, rpc_call_error, rpc_result};
use crate::error::{CallError, ErrorCode};
use crate::http::AppState;
use crate::shape::{Media, MediaKind, ToolResult};
use serde_json::{Value, json};

/// Whether the tool declares an `outputSchema` (then every `structuredContent` must match it).
pub(super) fn declares_output_schema(state: &AppState, name: &str) -> bool {
    state
        .gateway
        .config()
        .tool(name)
        .is_some_and(|tool| tool.mcp_descriptor.get("outputSchema").is_some())
}

/// The JSON-RPC reply to a `tools/call`: a result, an `isError` result for problems the model
/// can act on, or a protocol error. For a tool with an output schema, an error result carries
/// no `structuredContent` (clients check it against the schema even on errors); its text
/// still names the code.
pub(super) fn call_reply(
    id: Value,
    name: &str,
    outcome: Result<ToolResult, CallError>,
    output_schema: bool,
) -> Value {
    match outcome {
        Ok(result) => rpc_result(id, tool_result(name, result)),
        Err(error) if error.code == ErrorCode::ToolNotFound => {
            rpc_call_error(id, INVALID_PARAMS, &error)
        }
        Err(error) if error.code == ErrorCode::InternalError => {
            rpc_call_error(id, INTERNAL_ERROR, &error)
        }
        Err(error) => {
            let mut result = tool_error(&error);
            if output_schema && let Some(fields) = result.as_object_mut() {
                fields.remove("structuredContent");
            }
            rpc_result(id, result)
        }
    }
}

/// A successful `CallToolResult`: the text block, and objects as `structuredContent`; a
/// binary answer is one image, audio or embedded-resource block instead.
fn tool_result(name: &str, result: ToolResult) -> Value {
    if let Some(media) = result.media {
        return json!({ "content": [ media_block(name, media) ], "isError": false });
    }
    // Built by moving the parts in: `json!` would copy the text and the structured value.
    let mut block = serde_json::Map::with_capacity(2);
    block.insert("type".into(), Value::String("text".into()));
    block.insert("text".into(), Value::String(result.text));
    let mut out = serde_json::Map::with_capacity(3);
    out.insert("content".into(), Value::Array(vec![Value::Object(block)]));
    out.insert("isError".into(), Value::Bool(false));
    if result.value.is_object() {
        out.insert("structuredContent".into(), result.value);
    }
    Value::Object(out)
}

/// The content block of a binary answer: `image` or `audio` (base64 `data` and `mimeType`),
/// else an embedded `resource` with a `blob`, named `toolgate://tools/{tool}/result`.
fn media_block(name: &str, media: Media) -> Value {
    match media.kind {
        MediaKind::Image | MediaKind::Audio => json!({
            "type": media.kind.as_str(),
            "data": media.data,
            "mimeType": media.mime_type,
        }),
        MediaKind::Blob => json!({
            "type": "resource",
            "resource": {
                "uri": format!("toolgate://tools/{name}/result"),
                "mimeType": media.mime_type,
                "blob": media.data,
            },
        }),
    }
}

/// A failed call the model can act on: `isError: true` with the code in `structuredContent`.
fn tool_error(error: &CallError) -> Value {
    let mut text = format!("{} ({})", error.message, error.code.as_str());
    if let Some(wait) = error.retry_after {
        text.push_str(&format!(": retry after {} ms", wait.as_millis()));
    }
    json!({
        "content": [ { "type": "text", "text": text } ],
        "structuredContent": { "error": error.body() },
        "isError": true,
    })
}
