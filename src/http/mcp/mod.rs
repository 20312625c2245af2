//! MCP over Streamable HTTP (revisions 2025-03-26, 2025-06-18, 2025-11-25): the POST endpoint
//! (JSON-RPC), GET (no server-initiated stream: 405) and DELETE (end a session).

mod methods;
mod rpc;
mod sse;

use super::auth::authenticate;
use super::observe::request_id;
use super::{AppState, guard, http_error, legacy, parse_json, read_body};
use crate::error::{CallError, ErrorCode};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, HttpResponse, web};
use rpc::{INVALID_REQUEST, PARSE_ERROR, rpc_error};
use serde_json::Value;

/// Protocol revisions this server speaks, newest first.
pub const SUPPORTED_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// The revision assumed when a request names none (the transport spec's rule).
const DEFAULT_VERSION: &str = "2025-03-26";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

/// What a request knows about its session.
pub struct RequestContext {
    /// The caller.
    pub caller: crate::caller::Caller,
    /// The protocol revision in effect for this request.
    pub version: String,
    /// A session id to return (set by `initialize`).
    pub new_session: Option<String>,
    /// The request id, passed upstream.
    pub request_id: String,
}

/// `POST /mcp` (and `/`, `/v1`, `/v1/mcp`): one JSON-RPC message, a batch (2025-03-26 only),
/// or a legacy `list_tools` / `call_tool` request.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = guard::check(&req, &config.server) {
        return http_error(&CallError::new(ErrorCode::Forbidden, refusal.message()));
    }
    let caller = match authenticate(&req, &config).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = match read_body(payload, declared, config.server.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return http_error(&error),
    };
    let message = match parse_json(&body) {
        Ok(message) => message,
        Err(msg) => {
            return HttpResponse::BadRequest().json(rpc_error(
                Value::Null,
                PARSE_ERROR,
                &msg,
                ErrorCode::InvalidRequest,
            ));
        }
    };
    if message.is_object() && message.get("jsonrpc").is_none() {
        return legacy::handle(&state, &caller, message, &request_id(&req)).await;
    }

    let header_version = req
        .headers()
        .get(VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    if let Some(version) = &header_version
        && !SUPPORTED_VERSIONS.contains(&version.as_str())
    {
        let msg = format!(
            "unsupported MCP-Protocol-Version '{version}'; supported: {}",
            SUPPORTED_VERSIONS.join(", ")
        );
        return HttpResponse::BadRequest().json(rpc_error(
            Value::Null,
            INVALID_REQUEST,
            &msg,
            ErrorCode::InvalidRequest,
        ));
    }
    let mut session_version = None;
    if let Some(id) = req.headers().get(SESSION_HEADER) {
        let id = id.to_str().unwrap_or("");
        match state
            .sessions
            .verify(&config.server.session_secret, id, &caller.id)
        {
            Some(version) => session_version = Some(version),
            None => {
                return HttpResponse::NotFound().json(rpc_error(
                    Value::Null,
                    INVALID_REQUEST,
                    "unknown or ended session: initialize a new one",
                    ErrorCode::InvalidRequest,
                ));
            }
        }
    }
    let version = header_version
        .or(session_version)
        .unwrap_or_else(|| DEFAULT_VERSION.to_owned());
    let mut ctx = RequestContext {
        caller,
        version,
        new_session: None,
        request_id: request_id(&req),
    };

    let reply = match message {
        Value::Array(batch) if ctx.version == "2025-03-26" && !batch.is_empty() => {
            let mut replies = Vec::new();
            for item in batch {
                if let Some(reply) = methods::handle(&state, &mut ctx, item).await {
                    replies.push(reply);
                }
            }
            (!replies.is_empty()).then_some(Value::Array(replies))
        }
        Value::Array(_) => {
            return HttpResponse::BadRequest().json(rpc_error(
                Value::Null,
                INVALID_REQUEST,
                "JSON-RPC batches are only accepted with protocol revision 2025-03-26; send one message per request",
                ErrorCode::InvalidRequest,
            ));
        }
        single => methods::handle(&state, &mut ctx, single).await,
    };
    match reply {
        None => HttpResponse::Accepted().finish(),
        Some(reply) => {
            let status = if reply
                .get("error")
                .and_then(|e| e.get("code"))
                .and_then(Value::as_i64)
                == Some(INVALID_REQUEST)
            {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            let mut response = HttpResponse::build(status);
            if let Some(id) = ctx.new_session {
                response.insert_header((SESSION_HEADER, id));
            }
            response.json(reply)
        }
    }
}

/// `GET /mcp`: the server-to-client SSE stream. It carries
/// `notifications/tools/list_changed` after a reload changes the tool list, and a keep-alive
/// comment every 25 seconds. Clients that do not accept `text/event-stream` get 405.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = guard::check(&req, &config.server) {
        return http_error(&CallError::new(ErrorCode::Forbidden, refusal.message()));
    }
    let caller = match authenticate(&req, &config).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    if let Some(id) = req.headers().get(SESSION_HEADER) {
        let id = id.to_str().unwrap_or("");
        if state
            .sessions
            .verify(&config.server.session_secret, id, &caller.id)
            .is_none()
        {
            return HttpResponse::NotFound().json(serde_json::json!({ "error": { "code": "invalid_request", "message": "unknown or ended session" } }));
        }
    }
    let accepts_sse = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !accepts_sse {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST, DELETE"))
            .json(serde_json::json!({ "error": { "code": "invalid_request", "message": "GET opens the server-to-client stream and needs Accept: text/event-stream" } }));
    }
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(sse::notifications(state.reload.subscribe()))
}

/// `DELETE /mcp`: ends the session named by `Mcp-Session-Id`.
pub async fn delete(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = guard::check(&req, &config.server) {
        return http_error(&CallError::new(ErrorCode::Forbidden, refusal.message()));
    }
    let caller = match authenticate(&req, &config).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    let Some(id) = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return http_error(&CallError::new(
            ErrorCode::InvalidRequest,
            "DELETE needs an Mcp-Session-Id header",
        ));
    };
    if state
        .sessions
        .verify(&config.server.session_secret, id, &caller.id)
        .is_none()
    {
        return HttpResponse::NotFound().json(serde_json::json!({ "error": { "code": "invalid_request", "message": "unknown or ended session" } }));
    }
    state.sessions.end(id);
    HttpResponse::NoContent().finish()
}
