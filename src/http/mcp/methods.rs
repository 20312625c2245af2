//! The MCP methods of both eras: one JSON-RPC message in, at most one reply out.
//!
//! The handshake revisions (2025-03-26 … 2025-11-25) and the stateless 2026-07-28 revision
//! share the methods; they differ in which ones exist (`initialize`, `ping` and
//! `logging/setLevel` only before 2026-07-28; `server/discover` and `subscriptions/listen`
//! only from it) and in what a result carries (from 2026-07-28: `resultType`, the server's
//! identity in `_meta`, and caching hints on lists and reads).

use super::cancel::Ticket;
use super::modern::{SERVER_INFO_KEY, supported_versions};
use super::results::{call_reply, declares_output_schema, reply_to_call};
use super::rpc::{
    INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND,
    notification, rpc_call_error, rpc_error, rpc_result,
};
use super::sse::{CallStream, First};
use super::{LEGACY_VERSIONS, RequestContext};
use crate::error::ErrorCode;
use crate::gateway::Progress;
use crate::http::AppState;
use crate::http::session::Level;
use crate::shape::ToolResult;
use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::Stream;
use futures_util::future::{AbortRegistration, Abortable};
use serde_json::{Value, json};
use std::pin::Pin;
use tracing::Instrument;

/// How many progress notifications may wait for a slow client; more are skipped (the next
/// one carries the higher count).
const PROGRESS_BACKLOG: usize = 64;
/// Longest line quoted in a progress notification's `message`.
const PROGRESS_MESSAGE_CHARS: usize = 200;

/// An SSE response body.
pub type SseBody = Pin<Box<dyn Stream<Item = Result<web::Bytes, actix_web::Error>>>>;

/// What a message gets back.
pub enum Reply {
    /// One JSON-RPC response.
    Message(Value),
    /// One JSON-RPC success response, already written as JSON text (a `tools/call` result).
    Encoded(Vec<u8>),
    /// An SSE stream: notifications related to the request, then its response.
    Stream(SseBody),
    /// The request was cancelled: nothing is sent for it.
    Cancelled,
}

/// Handles one message; `None` for notifications and client responses (HTTP 202).
pub async fn handle(
    state: &web::Data<AppState>,
    ctx: &mut RequestContext,
    message: Value,
) -> Option<Reply> {
    let Value::Object(mut message) = message else {
        return Some(invalid(Value::Null, "a JSON-RPC message must be an object"));
    };
    let id = message.remove("id");
    // An id that is not a string or an integer is never echoed back.
    let reply_id = || {
        id.clone()
            .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
            .unwrap_or(Value::Null)
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(invalid(reply_id(), "jsonrpc must be \"2.0\""));
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
            Some(invalid(reply_id(), "a request needs a string method"))
        };
    };
    // `"params": null` is read as no params.
    let params = match message.remove("params") {
        None | Some(Value::Null) => json!({}),
        Some(params) => params,
    };
    let Some(id) = id else {
        notify(state, ctx, &method, &params);
        return None; // a notification: accepted, nothing to answer
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        return Some(invalid(Value::Null, "id must be a string or an integer"));
    }
    if !params.is_object() {
        return Some(Reply::Message(rpc_error(
            id,
            INVALID_PARAMS,
            "params must be an object",
            ErrorCode::InvalidRequest,
        )));
    }
    Some(traced_dispatch(state, ctx, id, &method, params).await)
}

/// [`dispatch`] inside the request's trace span (when traces are on), under the trace context
/// of `params._meta` when the client put one there: that context also reaches the upstream.
async fn traced_dispatch(
    state: &web::Data<AppState>,
    ctx: &mut RequestContext,
    id: Value,
    method: &str,
    params: Value,
) -> Reply {
    let meta_trace = crate::trace::TraceContext::from_meta(&params);
    if !crate::telemetry::enabled() {
        // The common case stays as cheap as without tracing: `dispatch` awaited inline.
        return match meta_trace {
            None => dispatch(state, ctx, id, method, params).await,
            context => {
                let dispatched = Box::pin(dispatch(state, ctx, id, method, params));
                crate::trace::scope(context, dispatched).await
            }
        };
    }
    let tool = (method == "tools/call")
        .then(|| params.get("name").and_then(Value::as_str))
        .flatten();
    let span = crate::telemetry::mcp_request(method, tool, &id, &ctx.version, &ctx.caller.id);
    if let Some(trace) = &meta_trace {
        crate::telemetry::set_remote_parent(&span, trace);
    }
    let dispatched = Box::pin(dispatch(state, ctx, id, method, params)).instrument(span.clone());
    let scoped = match meta_trace {
        None => dispatched.await,
        context => crate::trace::scope(context, dispatched).await,
    };
    match scoped {
        Reply::Message(message) => {
            if let Some(code) = message.pointer("/error/code").and_then(Value::as_i64) {
                let error_type = message
                    .pointer("/error/data/code")
                    .and_then(Value::as_str)
                    .unwrap_or("jsonrpc_error");
                crate::telemetry::record_rpc_error(&span, code, error_type);
            }
            Reply::Message(message)
        }
        Reply::Stream(body) => Reply::Stream(Box::pin(crate::telemetry::keep_open(span, body))),
        other @ (Reply::Encoded(_) | Reply::Cancelled) => other,
    }
}

fn invalid(id: Value, message: &str) -> Reply {
    Reply::Message(rpc_error(
        id,
        INVALID_REQUEST,
        message,
        ErrorCode::InvalidRequest,
    ))
}

/// Acts on a client notification: `notifications/cancelled` aborts the request it names
/// (unknown or finished ids are ignored); the others need nothing.
fn notify(state: &AppState, ctx: &RequestContext, method: &str, params: &Value) {
    if method == "notifications/cancelled"
        && let Some(id) = params.get("requestId")
    {
        let found = state.in_flight.cancel(&ctx.scope(), id);
        tracing::debug!(request_id = %ctx.request_id, cancelled = %id, found, "notifications/cancelled");
    }
}

async fn dispatch(
    state: &web::Data<AppState>,
    ctx: &mut RequestContext,
    id: Value,
    method: &str,
    params: Value,
) -> Reply {
    let message = match (ctx.modern, method) {
        (_, "tools/list") => list_tools(state, ctx, id, &params),
        (_, "tools/call") => return call_tool(state, ctx, id, params).await,
        (_, "resources/list") => list_resources(state, ctx, id, &params),
        (_, "prompts/list") => super::prompts::list_prompts(state, ctx, id, &params),
        (_, "prompts/get") => super::prompts::get_prompt(state, ctx, id, &params),
        (_, "completion/complete") => super::complete::complete(state, ctx, id, &params).await,
        (_, "resources/templates/list") => list_resource_templates(state, ctx, id, &params),
        (_, "resources/read") => return read_resource(state, ctx, id, &params).await,
        (false, "initialize") => initialize(state, ctx, id, &params),
        (false, "ping") => rpc_result(id, json!({})),
        (false, "logging/setLevel") => set_level(state, ctx, id, &params),
        (false, "tasks/get" | "tasks/result" | "tasks/cancel") if super::tasks::enabled(ctx) => {
            super::tasks::answer(state, ctx, id, method, &params).await
        }
        (true, "tasks/get" | "tasks/update" | "tasks/cancel") => {
            super::tasks::answer_extension(state, ctx, id, method, &params).await
        }
        (true, "server/discover") => discover(state, id),
        (true, "subscriptions/listen") => return listen(state, ctx, id, &params),
        _ => rpc_error(
            id,
            METHOD_NOT_FOUND,
            &format!("method '{method}' is not supported by this server"),
            ErrorCode::InvalidRequest,
        ),
    };
    Reply::Message(complete(ctx.modern, message))
}

/// The server's identity.
#[derive(serde::Serialize)]
struct ServerInfo {
    name: &'static str,
    title: &'static str,
    version: &'static str,
}

const SERVER_INFO: ServerInfo = ServerInfo {
    name: "toolgate",
    title: "toolgate",
    version: env!("CARGO_PKG_VERSION"),
};

fn server_info() -> Value {
    serde_json::to_value(SERVER_INFO).unwrap_or_default()
}

/// A stateless-era result's `_meta`: who answered, written without building a tree.
pub(super) struct ServerMeta;

impl serde::Serialize for ServerMeta {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(SERVER_INFO_KEY, &SERVER_INFO)?;
        map.end()
    }
}

/// What this server offers (the same in both eras).
fn capabilities() -> Value {
    json!({
        "tools": { "listChanged": true },
        "prompts": { "listChanged": true },
        "completions": {},
        "resources": {},
        "logging": {},
    })
}

fn instructions(state: &AppState) -> String {
    format!(
        "Tools of this gateway call internal REST APIs (config version {}).",
        state.gateway.config().version
    )
}

/// A reply as the stateless revision wants it: every result says `resultType: "complete"`
/// and who answered (`_meta.io.modelcontextprotocol/serverInfo`).
pub fn complete(modern: bool, mut reply: Value) -> Value {
    if modern && let Some(result) = reply.get_mut("result").and_then(Value::as_object_mut) {
        result.insert("resultType".into(), json!("complete"));
        let meta = result.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(SERVER_INFO_KEY.into(), server_info());
        }
    }
    reply
}

/// Adds the stateless revision's caching hints to a cacheable result. Lists are `public`
/// on an open gateway (everyone sees the same) and `private` behind authentication (the
/// tool list depends on the caller); resource contents are always `private`. Nothing is
/// cached for long (`ttlMs: 0`): a reload may change any of it at any time.
pub(super) fn cache_hints(
    ctx: &RequestContext,
    state: &AppState,
    reply: &mut Value,
    per_caller: bool,
) {
    if !ctx.modern {
        return;
    }
    let open = state.gateway.config().auth.is_open();
    if let Some(result) = reply.get_mut("result").and_then(Value::as_object_mut) {
        result.insert("ttlMs".into(), json!(0));
        let scope = if open && !per_caller {
            "public"
        } else {
            "private"
        };
        result.insert("cacheScope".into(), json!(scope));
    }
}

fn initialize(state: &AppState, ctx: &mut RequestContext, id: Value, params: &Value) -> Value {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let version = if LEGACY_VERSIONS.contains(&requested) {
        requested
    } else {
        LEGACY_VERSIONS[0]
    };
    let config = state.gateway.config();
    ctx.version = version.to_owned();
    ctx.new_session = Some(state.sessions.issue(
        &config.server.session_secret,
        version,
        &ctx.caller.id,
    ));
    let mut capabilities = capabilities();
    if version == super::tasks::TASKS_VERSION {
        capabilities["tasks"] = super::tasks::capability();
    }
    rpc_result(
        id,
        json!({
            "protocolVersion": version,
            "capabilities": capabilities,
            "serverInfo": server_info(),
            "instructions": instructions(state),
        }),
    )
}

/// `server/discover` (2026-07-28): the versions, capabilities and identity of the server.
fn discover(state: &AppState, id: Value) -> Value {
    let mut capabilities = capabilities();
    capabilities["extensions"] = super::tasks::extension_capability();
    rpc_result(
        id,
        json!({
            "supportedVersions": supported_versions(),
            "capabilities": capabilities,
            "instructions": instructions(state),
            "ttlMs": 0,
            "cacheScope": "public",
        }),
    )
}

/// `logging/setLevel` (before 2026-07-28): remembered for the session; a request without a
/// session is answered but nothing is remembered.
fn set_level(state: &AppState, ctx: &RequestContext, id: Value, params: &Value) -> Value {
    let Some(level) = params
        .get("level")
        .and_then(Value::as_str)
        .and_then(Level::parse)
    else {
        return rpc_error(
            id,
            INVALID_PARAMS,
            "level must be one of debug, info, notice, warning, error, critical, alert, emergency",
            ErrorCode::InvalidRequest,
        );
    };
    if let Some(session) = &ctx.session {
        state.sessions.set_level(session, level);
    }
    rpc_result(id, json!({}))
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
/// Only the page's items are copied, however many there are in all.
pub(super) fn page(
    id: Value,
    params: &Value,
    key: &str,
    items: Vec<&Value>,
    page_size: usize,
) -> Value {
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
        .cloned()
        .collect();
    let mut result = serde_json::Map::new();
    result.insert(key.to_owned(), Value::Array(slice));
    if end < total {
        result.insert("nextCursor".into(), Value::String(encode_cursor(end)));
    }
    rpc_result(id, Value::Object(result))
}

fn list_tools(state: &AppState, ctx: &RequestContext, id: Value, params: &Value) -> Value {
    let config = state.gateway.config();
    let tools = state
        .gateway
        .visible_tools(&config, &ctx.caller)
        .map(|t| &t.mcp_descriptor)
        .collect();
    let mut reply = page(id, params, "tools", tools, config.server.page_size);
    cache_hints(ctx, state, &mut reply, false);
    reply
}

fn list_resources(state: &AppState, ctx: &RequestContext, id: Value, params: &Value) -> Value {
    let config = state.gateway.config();
    let resources = config.resources.iter().map(|r| &r.descriptor).collect();
    let mut reply = page(id, params, "resources", resources, config.server.page_size);
    cache_hints(ctx, state, &mut reply, false);
    reply
}

fn list_resource_templates(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    params: &Value,
) -> Value {
    let config = state.gateway.config();
    let templates = config
        .resource_templates
        .iter()
        .map(|t| &t.descriptor)
        .collect();
    let mut reply = page(
        id,
        params,
        "resourceTemplates",
        templates,
        config.server.page_size,
    );
    cache_hints(ctx, state, &mut reply, false);
    reply
}

/// `subscriptions/listen` (2026-07-28): an SSE stream of the change notifications the client
/// opted in to: `toolsListChanged` and `promptsListChanged` (both lists change on reload).
fn listen(state: &AppState, ctx: &RequestContext, id: Value, params: &Value) -> Reply {
    if !ctx.accepts_sse {
        return Reply::Message(rpc_error(
            id,
            INVALID_REQUEST,
            "subscriptions/listen answers with an event stream: send Accept: text/event-stream",
            ErrorCode::InvalidRequest,
        ));
    }
    // Task status notifications are not offered (`taskIds` is never acknowledged), but the
    // extension says a client asking for them without declaring it gets -32021.
    if params.pointer("/notifications/taskIds").is_some() && !ctx.tasks_extension {
        return Reply::Message(super::tasks::missing_extension(id));
    }
    let wanted = |key: &str| {
        params
            .pointer(&format!("/notifications/{key}"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    Reply::Stream(Box::pin(super::sse::listen(
        id,
        wanted("toolsListChanged"),
        wanted("promptsListChanged"),
        state.reload.subscribe(),
        state.drain_watch(),
    )))
}

/// The progress token of a request, if it asked for progress.
fn progress_token(params: &Value) -> Option<Value> {
    // `get` twice, not `pointer`, which allocates for every token of its path.
    params
        .get("_meta")?
        .get("progressToken")
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
        .cloned()
}

/// `notifications/progress` for one line of a streamed answer (`progress` counts the lines,
/// `message` quotes the line, cut to 200 characters) or for a long-running job's status
/// (`progress` the job's percentage out of `total: 100`, or the polls so far when the job
/// reports none).
fn progress_notification(token: &Value, progress: Progress<'_>) -> Value {
    let params = match progress {
        Progress::Line { lines, line } => {
            let text = String::from_utf8_lossy(line);
            let mut message: String = text.chars().take(PROGRESS_MESSAGE_CHARS).collect();
            if message.len() < text.len() {
                message.push('…');
            }
            json!({ "progressToken": token, "progress": lines, "message": message })
        }
        Progress::Job(job) => match job.percent {
            Some(percent) => json!({
                "progressToken": token,
                "progress": percent,
                "total": 100,
                "message": format!("job {percent}% done ({} status requests)", job.polls),
            }),
            None => json!({
                "progressToken": token,
                "progress": job.polls,
                "message": format!("job running ({} status requests)", job.polls),
            }),
        },
    };
    notification("notifications/progress", params)
}

async fn call_tool(
    state: &web::Data<AppState>,
    ctx: &RequestContext,
    id: Value,
    mut params: Value,
) -> Reply {
    let Some(name) = params
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Reply::Message(rpc_error(
            id,
            INVALID_PARAMS,
            "tools/call needs a string 'name'",
            ErrorCode::InvalidRequest,
        ));
    };
    let arguments = params.get_mut("arguments").map(Value::take);
    if super::tasks::wanted(state, ctx, &name, &params) {
        return Reply::Message(super::tasks::create(state, ctx, id, &name, arguments).await);
    }
    let (registration, ticket) = state.in_flight.register(&ctx.scope(), &id);
    match progress_token(&params).filter(|_| ctx.accepts_sse) {
        Some(token) => {
            let (events_tx, events) = tokio::sync::mpsc::channel(PROGRESS_BACKLOG);
            let call = StreamedCall {
                state: state.clone(),
                caller: ctx.caller.clone(),
                request_id: ctx.request_id.clone(),
                modern: ctx.modern,
                log_level: ctx.log_level,
                id,
                name,
                arguments,
                token,
                registration,
                ticket,
            };
            let mut stream = CallStream::new(call.run(events_tx), events);
            match stream.first().await {
                First::Done(Some(message)) => Reply::Message(message),
                First::Done(None) => Reply::Cancelled,
                First::Event(first) => Reply::Stream(Box::pin(stream.into_body(first))),
            }
        }
        None => {
            let call = state
                .gateway
                .call_tool(&ctx.caller, &name, arguments, &ctx.request_id);
            let outcome = Abortable::new(call, registration).await;
            drop(ticket);
            match outcome {
                Ok(outcome) => {
                    let schema = outcome.is_err() && declares_output_schema(state, &name);
                    reply_to_call(id, &name, outcome, schema, ctx.modern)
                }
                Err(_) => Reply::Cancelled,
            }
        }
    }
}

/// A `tools/call` whose progress is streamed. Everything it needs is owned: it runs in the
/// response body, after the handler has returned.
struct StreamedCall {
    state: web::Data<AppState>,
    caller: crate::caller::Caller,
    request_id: String,
    modern: bool,
    log_level: Option<Level>,
    id: Value,
    name: String,
    arguments: Option<Value>,
    token: Value,
    registration: AbortRegistration,
    /// Keeps the request cancellable until it ends.
    ticket: Ticket,
}

impl StreamedCall {
    /// Runs the call, sending its notifications on `events`; the final message, or `None`
    /// when it was cancelled.
    async fn run(self, events: tokio::sync::mpsc::Sender<Value>) -> Option<Value> {
        let Self {
            state,
            caller,
            request_id,
            modern,
            log_level,
            id,
            name,
            arguments,
            token,
            registration,
            ticket: _ticket,
        } = self;
        let outcome = {
            let mut progress = |p: Progress<'_>| {
                // A slow client misses some notifications rather than holding up the upstream
                // read; the next one carries the higher count.
                let _ = events.try_send(progress_notification(&token, p));
            };
            let call = state.gateway.call_tool_with_progress(
                &caller,
                &name,
                arguments,
                &request_id,
                &mut progress,
            );
            Abortable::new(call, registration).await.ok()?
        };
        if let Ok(result) = &outcome
            && result.truncated
            && log_level.is_some_and(|level| level <= Level::Warning)
        {
            let log = notification(
                "notifications/message",
                json!({
                    "level": Level::Warning.as_str(),
                    "logger": "toolgate",
                    "data": format!("the result of '{name}' was cut to fit the configured size limits"),
                }),
            );
            let _ = events.send(log).await;
        }
        let schema = declares_output_schema(&state, &name);
        Some(complete(modern, call_reply(id, &name, outcome, schema)))
    }
}

async fn read_resource(
    state: &web::Data<AppState>,
    ctx: &RequestContext,
    id: Value,
    params: &Value,
) -> Reply {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return Reply::Message(complete(
            ctx.modern,
            rpc_error(
                id,
                INVALID_PARAMS,
                "resources/read needs a string 'uri'",
                ErrorCode::InvalidRequest,
            ),
        ));
    };
    if !state.gateway.resource_exists(uri) {
        // -32002 until 2025-11-25; the stateless revision uses -32602.
        let code = if ctx.modern {
            INVALID_PARAMS
        } else {
            RESOURCE_NOT_FOUND
        };
        let mut reply = rpc_error(id, code, "Resource not found", ErrorCode::InvalidParameters);
        reply["error"]["data"]["uri"] = json!(uri);
        return Reply::Message(reply);
    }
    let (registration, ticket) = state.in_flight.register(&ctx.scope(), &id);
    let read = state.gateway.read_resource(&ctx.caller, uri);
    let outcome = Abortable::new(read, registration).await;
    drop(ticket);
    let mut reply = match outcome {
        Err(_) => return Reply::Cancelled,
        Ok(Ok((
            _,
            ToolResult {
                media: Some(media), ..
            },
        ))) => rpc_result(
            id,
            json!({ "contents": [ { "uri": uri, "mimeType": media.mime_type, "blob": media.data } ] }),
        ),
        Ok(Ok((mime_type, content))) => rpc_result(
            id,
            json!({ "contents": [ { "uri": uri, "mimeType": mime_type, "text": content.text } ] }),
        ),
        Ok(Err(error)) if error.code == ErrorCode::InvalidParameters => {
            rpc_call_error(id, INVALID_PARAMS, &error)
        }
        Ok(Err(error)) => rpc_call_error(id, INTERNAL_ERROR, &error),
    };
    cache_hints(ctx, state, &mut reply, true);
    Reply::Message(complete(ctx.modern, reply))
}
