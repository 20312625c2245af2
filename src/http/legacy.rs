//! The legacy JSON protocol of the Junis guide: `{"method":"list_tools"|"call_tool","params":{}}`.

use super::{AppState, http_error};
use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use crate::gateway::{OpenCall, Opened};
use crate::operation::run::OpenOperation;
use crate::shape::{ResultJson, ToolResult};
use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
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
    let span = if crate::telemetry::enabled() {
        let tool = params.get("tool_name").and_then(Value::as_str);
        crate::telemetry::legacy_request(method, tool, &caller.id)
    } else {
        tracing::Span::none()
    };
    // A call's outcome is recorded on the span by the gateway (see `gateway::open_call`).
    crate::telemetry::in_span!(span, answer(state, caller, method, params, request_id))
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    method: &str,
    params: Value,
    request_id: &str,
) -> HttpResponse {
    match method {
        "list_tools" => {
            let config = state.gateway.config();
            #[derive(serde::Serialize)]
            struct Listing<'a> {
                tools: Vec<crate::tool::LegacyDescriptor<'a>>,
            }
            let tools = state
                .gateway
                .visible_tools(&config, caller)
                .map(|t| t.legacy_descriptor())
                .collect();
            HttpResponse::Ok().json(Listing { tools })
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
    if stream {
        return match state
            .gateway
            .open_call(caller, &name, arguments, request_id)
            .await
        {
            Ok(Opened::Done(result)) => {
                // A whole answer: one line.
                HttpResponse::Ok()
                    .content_type("application/x-ndjson")
                    .body(ndjson_line(&ResultBody::of(&result)))
            }
            Ok(Opened::Lines(call)) => HttpResponse::Ok()
                .content_type("application/x-ndjson")
                .insert_header(("X-Accel-Buffering", "no"))
                .streaming(relay(call)),
            Ok(Opened::Operation(call)) => HttpResponse::Ok()
                .content_type("application/x-ndjson")
                .insert_header(("X-Accel-Buffering", "no"))
                .streaming(job_lines(call)),
            Err(error) => http_error(&error),
        };
    }
    match state
        .gateway
        .call_tool(caller, &name, arguments, request_id)
        .await
    {
        Ok(result) => HttpResponse::Ok()
            .insert_header(ContentType::json())
            .body(serde_json::to_vec(&ResultBody::of(&result)).unwrap_or_default()),
        Err(error) => http_error(&error),
    }
}

/// A legacy `call_tool` answer: `{"result": …}`, with `"truncated": true` when it was cut.
#[derive(serde::Serialize)]
struct ResultBody<'a> {
    result: &'a ResultJson,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

impl<'a> ResultBody<'a> {
    /// The answer of a shaped result (written from it, with no tree built).
    fn of(result: &'a ToolResult) -> Self {
        Self {
            result: &result.value,
            truncated: result.truncated,
        }
    }
}

/// The lines of a streamed answer as NDJSON, relayed as the upstream produces them: an NDJSON
/// line as it is, a text line as a JSON string. Nothing is gathered, so memory stays bounded
/// whatever the size of the answer; a client that goes away drops the upstream exchange. A
/// failure after the first line ends the stream with one `{"error":{...}}` line.
fn relay(call: Box<OpenCall>) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(call), |call| async move {
        let mut call = call?;
        match call.next_lines().await {
            Ok(Some(lines)) => {
                let ndjson = call.ndjson();
                let size = lines.iter().map(|l| l.len() + 3).sum();
                let mut out = BytesMut::with_capacity(size);
                for line in &lines {
                    if ndjson {
                        out.extend_from_slice(line);
                    } else {
                        let text = Value::String(String::from_utf8_lossy(line).into_owned());
                        out.extend_from_slice(text.to_string().as_bytes());
                    }
                    out.extend_from_slice(b"\n");
                }
                Some((Ok(out.freeze()), Some(call)))
            }
            Ok(None) => None,
            Err(error) => {
                let mut line = json!({ "error": error.body() }).to_string();
                line.push('\n');
                Some((Ok(Bytes::from(line)), None))
            }
        }
    })
}

/// How many progress lines may wait for a slow client; more are skipped.
const JOB_BACKLOG: usize = 16;

/// A long-running operation as NDJSON: a `{"progress":{"percent":P,"polls":N}}` line each
/// time its status moves, then the `{"result":...}` (or `{"error":{...}}`) line. The job is
/// followed while the body is read: a client that goes away drops it, which sends the
/// operation's cancel request upstream.
fn job_lines(call: Box<OpenOperation>) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<Bytes>(JOB_BACKLOG);
    let work = async move {
        let progress_tx = lines_tx.clone();
        let mut progress = move |job: crate::operation::JobProgress| {
            let line = json!({ "progress": { "percent": job.percent, "polls": job.polls } });
            let _ = progress_tx.try_send(ndjson_line(&line));
        };
        let last = match call.run(&mut progress).await {
            Ok(result) => ndjson_line(&ResultBody::of(&result)),
            Err(error) => ndjson_line(&json!({ "error": error.body() })),
        };
        let _ = lines_tx.send(last).await;
    };
    let received = futures_util::stream::poll_fn(move |cx| lines.poll_recv(cx).map(|l| l.map(Ok)));
    // The work yields nothing itself: every line goes through the channel, in order.
    let driven = futures_util::StreamExt::filter_map(futures_util::stream::once(work), |()| {
        std::future::ready(None::<Result<Bytes, actix_web::Error>>)
    });
    futures_util::stream::select(received, driven)
}

fn ndjson_line(value: &impl serde::Serialize) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}
