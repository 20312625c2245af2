//! `tools/call` results: a shaped answer as MCP content (text and `structuredContent`, or one
//! image, audio or embedded-resource block for a binary answer), a failure as an `isError`
//! result or a JSON-RPC error.

use super::methods::{Reply, ServerMeta, complete};
use super::rpc::{INTERNAL_ERROR, INVALID_PARAMS, rpc_call_error, rpc_result};
use crate::error::{CallError, ErrorCode};
use crate::http::AppState;
use crate::shape::{Media, MediaKind, ResultJson, ToolResult, push_json_str};
use serde::Serialize;
use serde_json::{Value, json};

/// Whether the tool declares an `outputSchema` (then every `structuredContent` must match it).
pub(super) fn declares_output_schema(state: &AppState, name: &str) -> bool {
    state
        .gateway
        .config()
        .tool(name)
        .is_some_and(|tool| tool.mcp_descriptor.get("outputSchema").is_some())
}

/// The reply to a plain (not streamed, not task) `tools/call`: a success is written straight
/// to JSON text from the shaped result, with no reply tree built; anything else as
/// [`call_reply`] makes it.
pub(super) fn reply_to_call(
    id: Value,
    name: &str,
    outcome: Result<ToolResult, CallError>,
    output_schema: bool,
    modern: bool,
) -> Reply {
    match outcome {
        Ok(result) => match encode_success(&id, name, &result, modern) {
            Ok(bytes) => Reply::Encoded(bytes),
            Err(_) => Reply::Message(complete(modern, call_reply(id, name, Ok(result), false))),
        },
        Err(_) => Reply::Message(complete(
            modern,
            call_reply(id, name, outcome, output_schema),
        )),
    }
}

/// The JSON text of a successful `tools/call` response: what serde_json writes for
/// [`Response`] with a [`CallToolResult`], with the text block (usually JSON text itself, so
/// full of quotes) escaped by [`push_json_str`] rather than byte by byte.
fn encode_success(
    id: &Value,
    name: &str,
    result: &ToolResult,
    modern: bool,
) -> serde_json::Result<Vec<u8>> {
    if result.media.is_some() {
        return serde_json::to_vec(&Response {
            jsonrpc: "2.0",
            id,
            result: CallToolResult::new(name, result, modern),
        });
    }
    // Room for the escaped text as push_json_str writes it (six bytes per byte, per block),
    // so that the buffer is never moved.
    let text_room = result.text.len() + 6 * result.text.len().min(4096);
    let mut out = Vec::with_capacity(text_room + 256);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id)?;
    out.extend_from_slice(br#","result":{"content":[{"type":"text","text":"#);
    push_json_str(&mut out, &result.text);
    out.extend_from_slice(br#"}],"isError":false"#);
    if result.value.is_object() {
        out.extend_from_slice(br#","structuredContent":"#);
        match &result.value {
            ResultJson::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
            parsed => serde_json::to_writer(&mut out, parsed)?,
        }
    }
    if modern {
        out.extend_from_slice(br#","resultType":"complete","_meta":"#);
        serde_json::to_writer(&mut out, &ServerMeta)?;
    }
    out.extend_from_slice(b"}}");
    Ok(out)
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
        Ok(result) => rpc_result(
            id,
            serde_json::to_value(CallToolResult::new(name, &result, false)).unwrap_or_default(),
        ),
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

/// A JSON-RPC success response.
#[derive(Serialize)]
struct Response<'a, R> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: R,
}

/// A successful `CallToolResult`: the text block, and objects as `structuredContent`; a
/// binary answer is one image, audio or embedded-resource block instead. In the stateless
/// revision it also says `resultType` and who answered (what [`complete`] adds to a tree).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallToolResult<'a> {
    content: [Content<'a>; 1],
    is_error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<&'a ResultJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_type: Option<&'static str>,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<ServerMeta>,
}

impl<'a> CallToolResult<'a> {
    fn new(name: &str, result: &'a ToolResult, modern: bool) -> Self {
        let (content, structured_content) = match &result.media {
            Some(media) => (Content::Media(media_block(name, media)), None),
            None => (
                Content::Text {
                    kind: "text",
                    text: &result.text,
                },
                Some(&result.value).filter(|value| value.is_object()),
            ),
        };
        Self {
            content: [content],
            is_error: false,
            structured_content,
            result_type: modern.then_some("complete"),
            meta: modern.then_some(ServerMeta),
        }
    }
}

/// One content block.
#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text {
        #[serde(rename = "type")]
        kind: &'static str,
        text: &'a str,
    },
    Media(Value),
}

/// The content block of a binary answer: `image` or `audio` (base64 `data` and `mimeType`),
/// else an embedded `resource` with a `blob`, named `toolgate://tools/{tool}/result`.
fn media_block(name: &str, media: &Media) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    /// What serde_json writes for the derived types.
    fn derived(id: &Value, result: &ToolResult, modern: bool) -> Vec<u8> {
        serde_json::to_vec(&Response {
            jsonrpc: "2.0",
            id,
            result: CallToolResult::new("tool", result, modern),
        })
        .unwrap()
    }

    fn results(text: &str) -> Vec<ToolResult> {
        let raw = RawValue::from_string(r#"{"a":"x\"y","b":[1,2.50]}"#.to_owned()).unwrap();
        let values = [
            ResultJson::Raw(raw),
            ResultJson::Raw(RawValue::from_string("[1]".to_owned()).unwrap()),
            ResultJson::Parsed(json!({ "k": text, "n": 1 })),
            ResultJson::Parsed(json!(text)),
        ];
        let mut all: Vec<ToolResult> = values
            .into_iter()
            .map(|value| ToolResult {
                value,
                text: text.to_owned(),
                truncated: false,
                media: None,
            })
            .collect();
        all.push(ToolResult::binary(Media {
            kind: MediaKind::Image,
            mime_type: "image/png".into(),
            data: "iVBORw0KGgo=".into(),
            size: 8,
        }));
        all
    }

    fn assert_same(text: &str) {
        for id in [json!(1), json!("req-\"7\""), json!(u64::MAX)] {
            for result in results(text) {
                for modern in [false, true] {
                    let ours = encode_success(&id, "tool", &result, modern).unwrap();
                    assert_eq!(
                        String::from_utf8(ours).unwrap(),
                        String::from_utf8(derived(&id, &result, modern)).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn success_replies_are_what_serde_json_writes() {
        assert_same(r#"{"id":"CUST-00042","name":"Ada \"L\"","tags":["a\\b"],"n":null}"#);
        assert_same("");
        assert_same("plain text\nwith lines\tand \u{1} controls, é and 😀");
    }

    proptest! {
        #[test]
        fn any_text_replies_as_serde_json_writes(text in any::<String>()) {
            assert_same(&text);
        }
    }
}
