//! MCP over Streamable HTTP, both eras from the same endpoint (a "dual-era" server):
//!
//! - the handshake revisions 2025-03-26, 2025-06-18 and 2025-11-25: `initialize`, signed
//!   session ids that any replica accepts, `GET` for the server-to-client stream, `DELETE` to
//!   end a session, batches (2025-03-26 only);
//! - the stateless revision 2026-07-28: every request carries its version, capabilities and
//!   identity in `params._meta` and mirrors them in headers; `server/discover`; no sessions,
//!   no `GET`.
//!
//! The era is decided per request ([`modern::is_modern`]). `docs/protocol.md` describes the
//! wire behaviour in full.

pub(super) mod cancel;
mod complete;
mod methods;
mod modern;
mod prompts;
mod results;
mod rpc;
mod sse;
mod tasks;

use super::auth::authenticate;
use super::observe::request_id;
use super::{AppState, guard, http_error, legacy, parse_json, read_body, refuse_non_json};
use crate::error::{CallError, ErrorCode};
use crate::http::session::Level;
use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, CONTENT_LENGTH};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use methods::Reply;
use rpc::{INVALID_REQUEST, PARSE_ERROR, error_code, modern_status, rpc_error};
use serde_json::Value;

/// The handshake revisions this server speaks, newest first.
pub const LEGACY_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// The revision assumed when a handshake-era request names none (the transport spec's rule).
const DEFAULT_VERSION: &str = "2025-03-26";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

/// What a request knows about itself.
pub struct RequestContext {
    /// The caller.
    pub caller: crate::caller::Caller,
    /// The protocol revision in effect for this request.
    pub version: String,
    /// Whether it is served by the stateless revision.
    pub modern: bool,
    /// The session it belongs to (handshake era), if any.
    pub session: Option<String>,
    /// A session id to return (set by `initialize`).
    pub new_session: Option<String>,
    /// The request id, passed upstream.
    pub request_id: String,
    /// Whether the client takes `text/event-stream` answers.
    pub accepts_sse: bool,
    /// The lowest level of `notifications/message` the client wants, if it said.
    pub log_level: Option<Level>,
    /// Whether the request's client capabilities declare the tasks extension (2026-07-28).
    pub tasks_extension: bool,
}

impl RequestContext {
    /// Whose requests a `notifications/cancelled` of this request may cancel: the session's,
    /// or the caller's when there is no session.
    pub fn scope(&self) -> String {
        let (kind, name) = match &self.session {
            Some(session) => ("session:", session),
            None => ("caller:", &self.caller.id),
        };
        let mut scope = String::with_capacity(kind.len() + name.len());
        scope.push_str(kind);
        scope.push_str(name);
        scope
    }
}

fn accepts_sse(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

fn header_names_modern(req: &HttpRequest) -> bool {
    req.headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| modern::MODERN_VERSIONS.contains(&v.trim()))
}

/// The most messages a JSON-RPC batch (2025-03-26) may hold; each still counts against the
/// caller's rate limits.
pub const MAX_BATCH_MESSAGES: usize = 64;

/// `POST /mcp` (and `/`, `/v1`, `/v1/mcp`): one JSON-RPC message, a batch (2025-03-26 only),
/// or a legacy `list_tools` / `call_tool` request.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (config, caller) = match admit(&req, &state).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    if let Some(refusal) = refuse_non_json(&req) {
        return refusal;
    }
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
    if let Some(refusal) = scope_refusal(&config, &caller, &message) {
        return refusal;
    }
    let mut ctx = RequestContext {
        caller,
        version: DEFAULT_VERSION.to_owned(),
        modern: false,
        session: None,
        new_session: None,
        request_id: request_id(&req),
        accepts_sse: accepts_sse(&req),
        log_level: None,
        tasks_extension: false,
    };
    if modern::is_modern(&req, &message) {
        ctx.modern = true;
        return post_modern(&req, &state, ctx, message).await;
    }
    post_legacy(&req, &state, ctx, message).await
}

/// The HTTP 403 `insufficient_scope` answer (MCP authorization spec) when the message, or
/// one of a batch, calls a tool the caller may see but whose required scopes its token lacks.
fn scope_refusal(
    config: &crate::config::RuntimeConfig,
    caller: &crate::caller::Caller,
    message: &Value,
) -> Option<HttpResponse> {
    let items = match message {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items.iter().find_map(|item| {
        if item.get("method").and_then(Value::as_str) != Some("tools/call") {
            return None;
        }
        let name = item.get("params")?.get("name")?.as_str()?;
        let tool = config.tool(name)?;
        match caller.access(name, &tool.required_scopes) {
            crate::caller::Access::MissingScopes(missing) => Some(http_error(
                &crate::gateway::insufficient_scope(tool, &missing),
            )),
            _ => None,
        }
    })
}

/// A handshake-era POST.
async fn post_legacy(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    mut ctx: RequestContext,
    message: Value,
) -> HttpResponse {
    let config = state.gateway.config();
    let header_version = req
        .headers()
        .get(VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or("").trim().to_owned());
    if let Some(version) = &header_version
        && !LEGACY_VERSIONS.contains(&version.as_str())
    {
        // The same answer the stateless revision gives, naming every version served: a
        // client can tell a supported one from it, whichever era it speaks.
        return HttpResponse::BadRequest().json(modern::unsupported(version).reply(Value::Null));
    }
    let mut session_version = None;
    if let Some(id) = req.headers().get(SESSION_HEADER) {
        let id = id.to_str().unwrap_or("");
        match state
            .sessions
            .verify(&config.server.session_secret, id, &ctx.caller.id)
        {
            Some(version) => {
                session_version = Some(version);
                ctx.log_level = state.sessions.level(id);
                ctx.session = Some(id.to_owned());
            }
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
    ctx.version = header_version
        .or(session_version)
        .unwrap_or_else(|| DEFAULT_VERSION.to_owned());

    let reply = match message {
        Value::Array(batch) if batch.is_empty() || batch.len() > MAX_BATCH_MESSAGES => {
            // JSON-RPC 2.0: an empty batch is one Invalid Request; an oversized one is refused
            // whole, before any of its messages runs.
            let message = if batch.is_empty() {
                "an empty JSON-RPC batch is an invalid request".to_owned()
            } else {
                format!(
                    "a JSON-RPC batch may hold at most {MAX_BATCH_MESSAGES} messages (this one has {}); nothing was executed",
                    batch.len()
                )
            };
            return HttpResponse::BadRequest().json(rpc_error(
                Value::Null,
                INVALID_REQUEST,
                &message,
                ErrorCode::InvalidRequest,
            ));
        }
        Value::Array(batch) if ctx.version == "2025-03-26" => {
            // Every reply of a batch goes in one JSON array: no event streams here.
            ctx.accepts_sse = false;
            let mut replies = Vec::new();
            for item in batch {
                match methods::handle(state, &mut ctx, item).await {
                    Some(Reply::Message(reply)) => replies.push(reply),
                    Some(Reply::Encoded(bytes)) => {
                        replies.push(serde_json::from_slice(&bytes).unwrap_or_default())
                    }
                    Some(Reply::Stream(_) | Reply::Cancelled) | None => {}
                }
            }
            (!replies.is_empty()).then_some(Reply::Message(Value::Array(replies)))
        }
        Value::Array(_) => {
            return HttpResponse::BadRequest().json(rpc_error(
                Value::Null,
                INVALID_REQUEST,
                "JSON-RPC batches are only accepted with protocol revision 2025-03-26; send one message per request",
                ErrorCode::InvalidRequest,
            ));
        }
        single => methods::handle(state, &mut ctx, single).await,
    };
    let status = |reply: &Value| {
        if error_code(reply) == Some(INVALID_REQUEST) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    };
    let mut response = match &reply {
        Some(Reply::Message(message)) => HttpResponse::build(status(message)),
        _ => HttpResponse::Ok(),
    };
    if let Some(id) = &ctx.new_session {
        response.insert_header((SESSION_HEADER, id.as_str()));
    }
    respond(response, reply)
}

/// A stateless-era POST: one request or notification, checked against its envelope.
async fn post_modern(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    mut ctx: RequestContext,
    message: Value,
) -> HttpResponse {
    let status_of = |reply: &Value| {
        error_code(reply)
            .map(modern_status)
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK)
    };
    let refuse = |reply: Value| HttpResponse::build(status_of(&reply)).json(reply);
    let Value::Object(object) = &message else {
        return refuse(rpc_error(
            Value::Null,
            INVALID_REQUEST,
            "the body must be a single JSON-RPC request or notification",
            ErrorCode::InvalidRequest,
        ));
    };
    let id = object.get("id").cloned();
    let method = object.get("method").and_then(Value::as_str);
    let params = object.get("params").unwrap_or(&Value::Null);
    match (&id, method) {
        // A notification: accepted when it names a version served (or none).
        (None, Some(_)) => {
            if let Some(version) = req.headers().get(VERSION_HEADER)
                && let version = version.to_str().unwrap_or("").trim()
                && !modern::MODERN_VERSIONS.contains(&version)
                && !LEGACY_VERSIONS.contains(&version)
            {
                return refuse(modern::unsupported(version).reply(Value::Null));
            }
            methods::handle(state, &mut ctx, message).await;
            return HttpResponse::Accepted().finish();
        }
        (Some(id), Some(method))
            if object.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
                && (id.is_string() || id.is_i64() || id.is_u64()) =>
        {
            let envelope = match modern::check(req, method, params) {
                Ok(envelope) => envelope,
                Err(refusal) => return refuse(refusal.reply(id.clone())),
            };
            ctx.version = envelope.version;
            ctx.log_level = envelope.log_level;
            ctx.tasks_extension = tasks::declared(params);
            if method == "tools/call"
                && let Some(name) = params.get("name").and_then(Value::as_str)
            {
                let config = state.gateway.config();
                if let Some(tool) = config.tool(name).filter(|_| ctx.caller.may_use(name))
                    && let Err(refusal) = modern::check_param_headers(
                        req,
                        tool.input_schema(),
                        params.get("arguments"),
                    )
                {
                    return refuse(refusal.reply(id.clone()));
                }
            }
        }
        // A posted response, a malformed envelope: refused below by the common checks, with
        // the status of their error code.
        _ => {}
    }
    let reply = methods::handle(state, &mut ctx, message).await;
    let response = match &reply {
        Some(Reply::Message(message)) => HttpResponse::build(status_of(message)),
        _ => HttpResponse::Ok(),
    };
    match reply {
        // Clients must not post responses in this revision.
        None if id.is_some() => refuse(rpc_error(
            Value::Null,
            INVALID_REQUEST,
            "the body must be a single JSON-RPC request or notification",
            ErrorCode::InvalidRequest,
        )),
        reply => respond(response, reply),
    }
}

/// Turns a reply into the HTTP answer: JSON, an event stream, 202 (nothing to answer) or
/// 204 (a cancelled request: nothing is sent for it).
fn respond(mut response: HttpResponseBuilder, reply: Option<Reply>) -> HttpResponse {
    match reply {
        None => HttpResponse::Accepted().finish(),
        Some(Reply::Message(message)) => response.json(message),
        Some(Reply::Encoded(bytes)) => response
            .insert_header(actix_web::http::header::ContentType::json())
            .body(bytes),
        Some(Reply::Stream(body)) => response
            .content_type("text/event-stream")
            .insert_header(("Cache-Control", "no-cache, no-transform"))
            .insert_header(("X-Accel-Buffering", "no"))
            .streaming(body),
        Some(Reply::Cancelled) => HttpResponse::NoContent().finish(),
    }
}

/// The checks every MCP request passes first: Origin and Host (403), then the caller's
/// credentials (401). Gives the config snapshot the request is served with, and the caller.
async fn admit(
    req: &HttpRequest,
    state: &AppState,
) -> Result<
    (
        std::sync::Arc<crate::config::RuntimeConfig>,
        crate::caller::Caller,
    ),
    HttpResponse,
> {
    let config = state.gateway.config();
    if let Err(refusal) = guard::check(req, &config.server) {
        return Err(http_error(&CallError::new(
            refusal.code(),
            refusal.message(),
        )));
    }
    let caller = authenticate(req, &config).await?;
    Ok((config, caller))
}

/// `GET /mcp`: the server-to-client SSE stream of the handshake revisions. It carries
/// `notifications/tools/list_changed` after a reload changes the tool list, and a keep-alive
/// comment every 25 seconds, until shutdown begins (the stream then ends, so that the client
/// reconnects to another replica). Clients that do not accept `text/event-stream`, and requests of
/// the stateless revision (which has no GET; it uses `subscriptions/listen`), get 405.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (config, caller) = match admit(&req, &state).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    if header_names_modern(&req) {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST"))
            .json(serde_json::json!({ "error": { "code": "invalid_request", "message": "protocol revision 2026-07-28 has no GET stream: POST subscriptions/listen instead" } }));
    }
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
    if !accepts_sse(&req) {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST, DELETE"))
            .json(serde_json::json!({ "error": { "code": "invalid_request", "message": "GET opens the server-to-client stream and needs Accept: text/event-stream" } }));
    }
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(sse::notifications(
            state.reload.subscribe(),
            state.drain_watch(),
        ))
}

/// `DELETE /mcp`: ends the session named by `Mcp-Session-Id` (handshake revisions; the
/// stateless revision has no sessions: 405).
pub async fn delete(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (config, caller) = match admit(&req, &state).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    if header_names_modern(&req) {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST"))
            .json(serde_json::json!({ "error": { "code": "invalid_request", "message": "protocol revision 2026-07-28 has no sessions to end" } }));
    }
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
