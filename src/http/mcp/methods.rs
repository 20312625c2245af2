//! The MCP methods: one JSON-RPC message in, at most one reply out.

use super::rpc::{
    INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND,
    rpc_call_error, rpc_error, rpc_result,
};
use super::{RequestContext, SUPPORTED_VERSIONS};
use crate::error::{CallError, ErrorCode};
use crate::http::AppState;
use crate::shape::ToolResult;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Handles one message; `None` for notifications and client responses (HTTP 202).
pub async fn handle(state: &AppState, ctx: &mut RequestContext, message: Value) -> Option<Value> {
    let Value::Object(mut message) = message else {
        return Some(invalid(Value::Null, "a JSON-RPC message must be an object"));
    };
    let id = message.remove("id");
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(invalid(
            id.unwrap_or(Value::Null),
            "jsonrpc must be \"2.0\"",
        ));
    }
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        // A response to a server request, or garbage.
        return if id.is_some() && (message.contains_key("result") || message.contains_key("error"))
        {
            None
        } else {
            Some(invalid(
                id.unwrap_or(Value::Null),
                "a request needs a string method",
            ))
        };
    };
    let Some(id) = id else {
        return None; // a notification: accepted, nothing to answer
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        return Some(invalid(Value::Null, "id must be a string or an integer"));
    }
    let params = message.remove("params").unwrap_or_else(|| json!({}));
    if !params.is_object() {
        return Some(rpc_error(
            id,
            INVALID_PARAMS,
            "params must be an object",
            ErrorCode::InvalidRequest,
        ));
    }
    Some(dispatch(state, ctx, id, &method, params).await)
}

fn invalid(id: Value, message: &str) -> Value {
    rpc_error(id, INVALID_REQUEST, message, ErrorCode::InvalidRequest)
}

async fn dispatch(
    state: &AppState,
    ctx: &mut RequestContext,
    id: Value,
    method: &str,
    params: Value,
) -> Value {
    match method {
        "initialize" => initialize(state, ctx, id, &params),
        "ping" => rpc_result(id, json!({})),
        "tools/list" => list_tools(state, ctx, id, &params),
        "tools/call" => call_tool(state, ctx, id, params).await,
        "resources/list" => list_resources(state, id, &params),
        "resources/templates/list" => rpc_result(id, json!({ "resourceTemplates": [] })),
        "resources/read" => read_resource(state, ctx, id, &params).await,
        _ => rpc_error(
            id,
            METHOD_NOT_FOUND,
            &format!("method '{method}' is not supported by this server"),
            ErrorCode::InvalidRequest,
        ),
    }
}

fn initialize(state: &AppState, ctx: &mut RequestContext, id: Value, params: &Value) -> Value {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let version = if SUPPORTED_VERSIONS.contains(&requested) {
        requested
    } else {
        SUPPORTED_VERSIONS[0]
    };
    let config = state.gateway.config();
    ctx.version = version.to_owned();
    ctx.new_session = Some(state.sessions.issue(
        &config.server.session_secret,
        version,
        &ctx.caller.id,
    ));
    rpc_result(
        id,
        json!({
            "protocolVersion": version,
            "capabilities": { "tools": { "listChanged": true }, "resources": {} },
            "serverInfo": {
                "name": "toolgate",
                "title": "toolgate",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "instructions": format!("Tools of this gateway call internal REST APIs (config version {}).", config.version),
        }),
    )
}

/// An opaque cursor: the offset of the next page.
fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(params: &Value) -> Result<usize, ()> {
    match params.get("cursor") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(cursor)) => URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .ok_or(()),
        Some(_) => Err(()),
    }
}

/// One page of `items` starting at the request's cursor, as `{key: [...], nextCursor?}`.
fn page(id: Value, params: &Value, key: &str, items: Vec<Value>, page_size: usize) -> Value {
    let Ok(offset) = decode_cursor(params) else {
        return rpc_error(
            id,
            INVALID_PARAMS,
            "invalid cursor",
            ErrorCode::InvalidRequest,
        );
    };
    let total = items.len();
    let end = offset.saturating_add(page_size).min(total);
    let slice: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .collect();
    let mut result = json!({ key: slice });
    if end < total {
        result["nextCursor"] = json!(encode_cursor(end));
    }
    rpc_result(id, result)
}

fn list_tools(state: &AppState, ctx: &RequestContext, id: Value, params: &Value) -> Value {
    let config = state.gateway.config();
    let tools = state
        .gateway
        .visible_tools(&config, &ctx.caller)
        .map(|t| t.mcp_descriptor.clone())
        .collect();
    page(id, params, "tools", tools, config.server.page_size)
}

fn list_resources(state: &AppState, id: Value, params: &Value) -> Value {
    let config = state.gateway.config();
    let resources = config
        .resources
        .iter()
        .map(|r| r.descriptor.clone())
        .collect();
    page(id, params, "resources", resources, config.server.page_size)
}

async fn call_tool(state: &AppState, ctx: &RequestContext, id: Value, mut params: Value) -> Value {
    let Some(name) = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return rpc_error(
            id,
            INVALID_PARAMS,
            "tools/call needs a string 'name'",
            ErrorCode::InvalidRequest,
        );
    };
    let arguments = params.get_mut("arguments").map(Value::take);
    match state
        .gateway
        .call_tool(&ctx.caller, &name, arguments, &ctx.request_id)
        .await
    {
        Ok(result) => rpc_result(id, tool_result(result)),
        Err(error) if error.code == ErrorCode::ToolNotFound => {
            rpc_call_error(id, INVALID_PARAMS, &error)
        }
        Err(error) if error.code == ErrorCode::InternalError => {
            rpc_call_error(id, INTERNAL_ERROR, &error)
        }
        Err(error) => rpc_result(id, tool_error(&error)),
    }
}

/// A successful `CallToolResult`: the text block, and objects as `structuredContent`.
fn tool_result(result: ToolResult) -> Value {
    let mut out =
        json!({ "content": [ { "type": "text", "text": result.text } ], "isError": false });
    if result.value.is_object() {
        out["structuredContent"] = result.value;
    }
    out
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

async fn read_resource(state: &AppState, ctx: &RequestContext, id: Value, params: &Value) -> Value {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return rpc_error(
            id,
            INVALID_PARAMS,
            "resources/read needs a string 'uri'",
            ErrorCode::InvalidRequest,
        );
    };
    if state.gateway.config().resource(uri).is_none() {
        let mut reply = rpc_error(
            id,
            RESOURCE_NOT_FOUND,
            "Resource not found",
            ErrorCode::InvalidParameters,
        );
        reply["error"]["data"]["uri"] = json!(uri);
        return reply;
    }
    match state.gateway.read_resource(&ctx.caller, uri).await {
        Ok((mime_type, content)) => rpc_result(
            id,
            json!({ "contents": [ { "uri": uri, "mimeType": mime_type, "text": content.text } ] }),
        ),
        Err(error) => rpc_call_error(id, INTERNAL_ERROR, &error),
    }
}
