//! HTTP handlers of the demo workflow engine. Every input is checked; nothing here panics on input.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::templates::{self, TEMPLATES};
use super::{AppState, MAX_BODY_BYTES};
use crate::common::ApiError;
use crate::common::params::{Query, body_str, enum_param, int_param, only_members, read_object};

type Reply = Result<HttpResponse, ApiError>;

/// Run states a list may be filtered by.
const RUN_STATES: [&str; 4] = ["running", "succeeded", "failed", "cancelled"];

/// `GET /templates`.
pub(crate) async fn list_templates() -> HttpResponse {
    let templates: Vec<Value> = TEMPLATES.iter().map(templates::Template::to_json).collect();
    HttpResponse::Ok().json(json!({ "templates": templates }))
}

/// `GET /templates/{id}`; 404 when unknown.
pub(crate) async fn get_template(id: web::Path<String>) -> Reply {
    templates::find(&id)
        .map(|t| HttpResponse::Ok().json(t.to_json()))
        .ok_or_else(|| unknown_template(&id, StatusCode::NOT_FOUND))
}

/// The error for an unknown template id, listing the known ones.
fn unknown_template(id: &str, status: StatusCode) -> ApiError {
    let known: Vec<&str> = TEMPLATES.iter().map(|t| t.id).collect();
    let message = format!("no template {id:?}; templates: {}", known.join(", "));
    if status == StatusCode::NOT_FOUND {
        ApiError::not_found(message)
    } else {
        ApiError::invalid("template_id", message)
    }
}

/// `POST /runs`: `{"template_id", "parameters"}` → 202 with the new run.
pub(crate) async fn start_run(state: web::Data<AppState>, payload: web::Payload) -> Reply {
    let body = read_object(payload, MAX_BODY_BYTES).await?;
    only_members(&body, &["template_id", "parameters"])?;
    let template_id = body_str(&body, "template_id")?;
    let template = templates::find(template_id)
        .ok_or_else(|| unknown_template(template_id, StatusCode::BAD_REQUEST))?;
    let given = body.get("parameters").cloned().unwrap_or_else(|| json!({}));
    let parameters = super::params::validate(template.params, &given)?;
    (template.cross_check)(&parameters)?;
    let run = state.store.start(template, parameters, state.step_time)?;
    let location = format!(
        "/runs/{}",
        run.get("run_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    );
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", location))
        .json(run))
}

/// `GET /runs?state=&limit=`: the newest runs first.
pub(crate) async fn list_runs(state: web::Data<AppState>, query: Query) -> Reply {
    let filter = enum_param(&query, "state", &RUN_STATES)?;
    let limit = int_param(&query, "limit", 20, 1, 100)?;
    let runs = state
        .store
        .list(filter, usize::try_from(limit).unwrap_or(20));
    Ok(HttpResponse::Ok().json(json!({ "runs": runs })))
}

/// `GET /runs/{id}`: state, current step, progress, result; 404 when unknown.
pub(crate) async fn get_run(state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    Ok(HttpResponse::Ok().json(state.store.status(&id)?))
}

/// `POST /runs/{id}/cancel`: idempotent; 409 once the run finished; 404 when unknown.
pub(crate) async fn cancel_run(state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    Ok(HttpResponse::Ok().json(state.store.cancel(&id)?))
}
