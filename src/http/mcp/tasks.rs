//! MCP tasks for tools with `operation:`, in both forms:
//! - revision 2025-11-25: a `tools/call` carrying `params.task` answers at once with a
//!   `CreateTaskResult`; `tasks/get` reads the job's status with one poll, `tasks/result`
//!   waits for its result, `tasks/cancel` sends its cancel request;
//! - revision 2026-07-28, the `io.modelcontextprotocol/tasks` extension: a `tools/call` of an
//!   operation tool whose client capabilities declare the extension answers at once with
//!   `resultType: "task"`; `tasks/get` inlines the result (or JSON-RPC error) once the job is
//!   over, `tasks/cancel` and `tasks/update` are empty acknowledgements.
//!
//! Task ids are signed and carry the job (see `operation::task`), so any replica answers for
//! any task and nothing is stored. `tasks/list` is not offered (it would need shared state).

use super::RequestContext;
use super::methods::complete;
use super::modern::CLIENT_CAPABILITIES_KEY;
use super::results::{call_reply, declares_output_schema};
use super::rpc::{
    INVALID_PARAMS, MISSING_CLIENT_CAPABILITY, rpc_call_error, rpc_error, rpc_result,
};
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::operation::task::TaskTicket;
use crate::operation::tasks::{TaskStatus, unknown_task};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// The revision whose tasks this module speaks.
pub const TASKS_VERSION: &str = "2025-11-25";

/// The `_meta` key tying a message to its task.
const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// Whether requests of this context may use tasks.
pub fn enabled(ctx: &RequestContext) -> bool {
    !ctx.modern && ctx.version == TASKS_VERSION
}

/// The `tasks` server capability of revision 2025-11-25.
pub fn capability() -> Value {
    json!({ "cancel": {}, "requests": { "tools": { "call": {} } } })
}

/// The 2026-07-28 tasks extension's identifier.
pub const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// The `extensions` server capability of `server/discover` (2026-07-28).
pub fn extension_capability() -> Value {
    json!({ EXTENSION: {} })
}

/// Whether a 2026-07-28 request's client capabilities declare the tasks extension.
pub fn declared(params: &Value) -> bool {
    params
        .get("_meta")
        .and_then(|meta| meta.get(CLIENT_CAPABILITIES_KEY))
        .and_then(|capabilities| capabilities.get("extensions"))
        .and_then(|extensions| extensions.get(EXTENSION))
        .is_some_and(Value::is_object)
}

/// The -32021 error of a request that needs the extension from a client that did not
/// declare it (`tasks/*`, or task ids in `subscriptions/listen`).
pub fn missing_extension(id: Value) -> Value {
    let mut reply = rpc_error(
        id,
        MISSING_CLIENT_CAPABILITY,
        "Missing required client capability",
        ErrorCode::InvalidRequest,
    );
    reply["error"]["data"]["requiredCapabilities"] =
        json!({ "extensions": extension_capability() });
    reply
}

/// Whether this `tools/call` runs as a task: on 2025-11-25 when the client asks for one
/// (`params.task`); on 2026-07-28 (where the server decides and `params.task` means nothing)
/// when the client declared the extension and the tool has an `operation:`.
pub fn wanted(state: &AppState, ctx: &RequestContext, name: &str, params: &Value) -> bool {
    if ctx.modern {
        ctx.tasks_extension
            && (state.gateway.config().tool(name)).is_some_and(|t| t.operation.is_some())
    } else {
        enabled(ctx) && params.get("task").is_some_and(Value::is_object)
    }
}

/// A `tools/call` that runs as a task (see [`wanted`]): starts the job and answers at once
/// with the task (`CreateTaskResult`, nested in 2025-11-25, flat with `resultType: "task"`
/// in 2026-07-28).
pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    name: &str,
    arguments: Option<Value>,
) -> Value {
    let secret = state.gateway.config().server.session_secret.clone();
    match state
        .gateway
        .start_task(&secret, &ctx.caller, name, arguments, &ctx.request_id)
        .await
    {
        Ok(task) => {
            let status = TaskStatus::Working(None);
            let body = task_json(&task.id, &task.ticket, &status, task.poll_interval, ctx);
            if !ctx.modern {
                return rpc_result(id, json!({ "task": body }));
            }
            let mut reply = complete(true, rpc_result(id, body));
            reply["result"]["resultType"] = json!("task");
            reply
        }
        // Failures before the job started are the call's own: its usual reply.
        Err(error) => {
            let schema = declares_output_schema(state, name);
            complete(ctx.modern, call_reply(id, name, Err(error), schema))
        }
    }
}

/// `tasks/get`, `tasks/result` or `tasks/cancel`.
pub async fn answer(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    method: &str,
    params: &Value,
) -> Value {
    let task_id = params.get("taskId").and_then(Value::as_str).unwrap_or("");
    let Some(ticket) = ticket_of(state, ctx, task_id) else {
        return rpc_call_error(id, INVALID_PARAMS, &unknown_task());
    };
    let gateway = &state.gateway;
    match method {
        "tasks/get" => match gateway.task_status(&ctx.caller, &ticket).await {
            Ok(status) => rpc_result(id, ticket_json(state, ctx, task_id, &ticket, &status)),
            Err(error) => rpc_call_error(id, INVALID_PARAMS, &error),
        },
        "tasks/result" => {
            let outcome = gateway.task_result(&ctx.caller, &ticket).await;
            let schema = declares_output_schema(state, &ticket.tool);
            let mut reply = call_reply(id, &ticket.tool, outcome, schema);
            if let Some(result) = reply.get_mut("result").and_then(Value::as_object_mut) {
                let meta = result.entry("_meta").or_insert_with(|| json!({}));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert(RELATED_TASK.into(), json!({ "taskId": task_id }));
                }
            }
            reply
        }
        _ => match gateway.cancel_task(&ctx.caller, &ticket).await {
            Ok(()) => {
                let status = TaskStatus::Cancelled("the task was cancelled by request".into());
                rpc_result(id, ticket_json(state, ctx, task_id, &ticket, &status))
            }
            Err(error) => rpc_call_error(id, INVALID_PARAMS, &error),
        },
    }
}

/// `tasks/get`, `tasks/update` or `tasks/cancel` of the 2026-07-28 extension, for clients
/// that declare it. `tasks/result` is not part of it (-32601, like any unknown method).
pub async fn answer_extension(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    method: &str,
    params: &Value,
) -> Value {
    if !ctx.tasks_extension {
        return missing_extension(id);
    }
    let task_id = params.get("taskId").and_then(Value::as_str).unwrap_or("");
    let Some(ticket) = ticket_of(state, ctx, task_id) else {
        return rpc_call_error(id, INVALID_PARAMS, &unknown_task());
    };
    let gateway = &state.gateway;
    let status = match gateway.task_status(&ctx.caller, &ticket).await {
        Ok(status) => status,
        Err(error) => return rpc_call_error(id, INVALID_PARAMS, &error),
    };
    match method {
        "tasks/get" => rpc_result(id, detailed(state, ctx, task_id, &ticket, &status).await),
        // Cancelling a task that is already over is acknowledged: it keeps its ending.
        "tasks/cancel" if !status.is_terminal() => {
            match gateway.cancel_task(&ctx.caller, &ticket).await {
                Ok(()) => rpc_result(id, json!({})),
                Err(error) => rpc_call_error(id, INVALID_PARAMS, &error),
            }
        }
        // No task here ever asks for input: there is nothing to update.
        _ => rpc_result(id, json!({})),
    }
}

/// The extension's `DetailedTask`: once the job is over, the call's result inlined under
/// `result` (status `completed`, also for an `isError` result) or its JSON-RPC error under
/// `error` (status `failed`), fetched as `tasks/result` would.
async fn detailed(
    state: &AppState,
    ctx: &RequestContext,
    task_id: &str,
    ticket: &TaskTicket,
    status: &TaskStatus,
) -> Value {
    let mut task = ticket_json(state, ctx, task_id, ticket, status);
    if matches!(status, TaskStatus::Completed | TaskStatus::Failed(_)) {
        let outcome = state.gateway.task_result(&ctx.caller, ticket).await;
        let schema = declares_output_schema(state, &ticket.tool);
        let mut reply = call_reply(Value::Null, &ticket.tool, outcome, schema);
        if let Some(result) = reply.get_mut("result") {
            task["status"] = json!("completed");
            task["result"] = result.take();
        } else if let Some(error) = reply.get_mut("error") {
            task["status"] = json!("failed");
            task["error"] = error.take();
        }
    }
    task
}

/// The ticket of task `task_id`, if the id is valid for the caller and has not expired.
fn ticket_of(state: &AppState, ctx: &RequestContext, task_id: &str) -> Option<TaskTicket> {
    let config = state.gateway.config();
    let secret = &config.server.session_secret;
    state.gateway.task_ticket(secret, &ctx.caller, task_id)
}

/// The `Task` object of a ticket in `status`, with its operation's poll interval.
fn ticket_json(
    state: &AppState,
    ctx: &RequestContext,
    task_id: &str,
    ticket: &TaskTicket,
    status: &TaskStatus,
) -> Value {
    task_json(task_id, ticket, status, poll_interval(state, ticket), ctx)
}

/// The operation's `interval`, suggested as the wait between two `tasks/get`.
fn poll_interval(state: &AppState, ticket: &TaskTicket) -> Duration {
    state
        .gateway
        .config()
        .tool(&ticket.tool)
        .and_then(|tool| tool.operation.as_ref().map(|op| op.interval))
        .unwrap_or(Duration::from_secs(1))
}

/// A `Task` object (its durations are `ttl`/`pollInterval` before 2026-07-28,
/// `ttlMs`/`pollIntervalMs` from then on).
fn task_json(
    id: &str,
    ticket: &TaskTicket,
    status: &TaskStatus,
    poll: Duration,
    ctx: &RequestContext,
) -> Value {
    let (ttl, poll_key) = if ctx.modern {
        ("ttlMs", "pollIntervalMs")
    } else {
        ("ttl", "pollInterval")
    };
    let (name, message) = match status {
        TaskStatus::Working(Some(percent)) => ("working", Some(format!("{percent}% done"))),
        TaskStatus::Working(None) => ("working", None),
        TaskStatus::Completed => ("completed", None),
        TaskStatus::Failed(why) => ("failed", Some(why.clone())),
        TaskStatus::Cancelled(why) => ("cancelled", Some(why.clone())),
    };
    let mut task = json!({
        "taskId": id,
        "status": name,
        "createdAt": humantime::format_rfc3339_millis(ticket.started()).to_string(),
        "lastUpdatedAt": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        ttl: ticket.expires_ms.saturating_sub(ticket.started_ms),
        poll_key: poll.as_millis() as u64,
    });
    if let Some(message) = message {
        task["statusMessage"] = json!(message);
    }
    task
}
