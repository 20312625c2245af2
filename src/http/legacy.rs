//! The legacy JSON protocol of the Junis guide: `{"method":"list_tools"|"call_tool","params":{}}`.

use super::{AppState, http_error};
use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use actix_web::HttpResponse;
use serde_json::{Value, json};

/// Answers one legacy request.
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    request: Value,
    request_id: &str,
) -> HttpResponse {
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let params = request.get("params").cloned().unwrap_or_else(|| json!({}));
    match method {
        "list_tools" => {
            let config = state.gateway.config();
            let tools: Vec<&Value> = state
                .gateway
                .visible_tools(&config, caller)
                .map(|t| &t.legacy_descriptor)
                .collect();
            HttpResponse::Ok().json(json!({ "tools": tools }))
        }
        "call_tool" => call_tool(state, caller, params, request_id).await,
        "" => http_error(&CallError::new(
            ErrorCode::InvalidRequest,
            "the request needs a method: list_tools or call_tool (or a JSON-RPC 2.0 message)",
        )),
        other => http_error(&CallError::new(
            ErrorCode::InvalidRequest,
            format!("unknown method '{other}': use list_tools or call_tool"),
        )),
    }
}

async fn call_tool(
    state: &AppState,
    caller: &Caller,
    mut params: Value,
    request_id: &str,
) -> HttpResponse {
    let Some(name) = params
        .get("tool_name")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return http_error(&CallError::new(
            ErrorCode::InvalidRequest,
            "call_tool needs params.tool_name",
        ));
    };
    let stream = params
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let arguments = params.get_mut("arguments").map(Value::take);
    match state
        .gateway
        .call_tool(caller, &name, arguments, request_id)
        .await
    {
        Ok(result) => {
            let mut body = json!({ "result": result.value });
            if result.truncated {
                body["truncated"] = json!(true);
            }
            if stream {
                // One JSON value a line; a tool that is not streamed answers in one line.
                let mut line = body.to_string();
                line.push('\n');
                HttpResponse::Ok()
                    .content_type("application/x-ndjson")
                    .body(line)
            } else {
                HttpResponse::Ok().json(body)
            }
        }
        Err(error) => http_error(&error),
    }
}
