//! Render and Call from the console: `POST /admin/api/tools/{name}/render|call` with
//! `{"arguments": {...}, "caller": "<api key id>"}`. The admin key must come as
//! `Authorization: Bearer` (see the module docs of [`super`] for why). The answer is
//! `{"ok": true, ...}` or `{"ok": false, "error": {...}}`, with the time taken.

use super::super::observe::request_id;
use super::super::{AppState, guard, http_error, read_body};
use super::{KeyFrom, check_key, secured};
use crate::caller::Caller;
use crate::config::RuntimeConfig;
use crate::error::{CallError, ErrorCode};
use crate::gateway::{find_tool, render_call};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// What the console sends.
#[derive(serde::Deserialize)]
struct Action {
    #[serde(default)]
    arguments: Option<Value>,
    /// Act as this API key's caller; absent: the console caller, which may use every tool.
    #[serde(default)]
    caller: Option<String>,
}

/// Checks origin and key, reads the body, and picks the caller.
async fn admit(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<(Arc<RuntimeConfig>, Caller, Option<Value>), HttpResponse> {
    let config = state.gateway.config();
    if let Err(refusal) = guard::check(req, &config.server) {
        return Err(http_error(&CallError::new(
            ErrorCode::Forbidden,
            refusal.message(),
        )));
    }
    check_key(req, &config, KeyFrom::Bearer).map_err(|refusal| refusal.json())?;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = read_body(payload, declared, config.server.max_body_bytes)
        .await
        .map_err(|e| http_error(&e))?;
    let action: Action = serde_json::from_slice(&body).map_err(|e| {
        http_error(&CallError::new(
            ErrorCode::InvalidRequest,
            format!("the body must be {{\"arguments\": {{...}}, \"caller\": \"...\"}}: {e}"),
        ))
    })?;
    let caller = match action.caller.as_deref().filter(|c| !c.is_empty()) {
        None => Caller {
            id: "console".into(),
            ..Caller::anonymous(&config.auth.default_tier)
        },
        Some(id) => match config.auth.api_keys.iter().find(|k| k.id == id) {
            Some(key) => key.caller(),
            None => {
                return Err(http_error(&CallError::new(
                    ErrorCode::InvalidRequest,
                    format!("no API key has the id '{id}'"),
                )));
            }
        },
    };
    Ok((config, caller, action.arguments))
}

fn answer(body: Value) -> HttpResponse {
    secured(HttpResponse::Ok()).json(body)
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0
}

/// `POST /admin/api/tools/{name}/render`: the exact request, secrets as `***`; nothing is sent.
pub(super) async fn render(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (config, caller, arguments) = match admit(&req, &state, payload).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    let started = Instant::now();
    let rendered =
        find_tool(&config, &caller, &name).and_then(|tool| render_call(tool, &caller, arguments));
    match rendered {
        Ok(request) => answer(json!({
            "ok": true, "request": request.describe(), "elapsed_ms": elapsed_ms(started),
        })),
        Err(error) => answer(json!({
            "ok": false, "error": error.body(), "elapsed_ms": elapsed_ms(started),
        })),
    }
}

/// `POST /admin/api/tools/{name}/call`: one real call; the shaped result or the error.
pub(super) async fn call(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let (_, caller, arguments) = match admit(&req, &state, payload).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    let started = Instant::now();
    let outcome = state
        .gateway
        .call_tool(&caller, &name, arguments, &request_id(&req))
        .await;
    match outcome {
        Ok(result) => answer(json!({
            "ok": true,
            "result": result.value,
            "text": result.text,
            "truncated": result.truncated,
            "elapsed_ms": elapsed_ms(started),
        })),
        Err(error) => answer(json!({
            "ok": false, "error": error.body(), "elapsed_ms": elapsed_ms(started),
        })),
    }
}
