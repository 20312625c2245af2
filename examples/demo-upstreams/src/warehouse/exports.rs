//! Asynchronous CSV exports, the way warehouses run them: `POST /exports` answers `202
//! Accepted` with `Location: /exports/{id}`; `GET /exports/{id}` tells the job's `state`
//! (`running`, `succeeded`, `cancelled`) and `percent`, and once it succeeded its
//! `result_url`; `GET /exports/{id}/result` is the CSV; `DELETE /exports/{id}` cancels a
//! running job. The query runs when the job is accepted (so a bad query is a 400 at once);
//! the job then takes [`EXPORT_TIME`] to "write its file", in four steps of 25 %.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::query::{self, DEFAULT_EXPORT_ROWS, MAX_EXPORT_ROWS};
use super::{AppState, MAX_BODY_BYTES};
use crate::common::ApiError;
use crate::common::params::{body_int, body_str, only_members, read_object};

type Reply = Result<HttpResponse, ApiError>;

/// How long an export job runs.
pub(crate) const EXPORT_TIME: Duration = Duration::from_millis(1200);

/// The most export jobs kept; the oldest are forgotten beyond it.
const MAX_JOBS: usize = 1000;

struct Job {
    csv: String,
    started: Instant,
    cancelled: bool,
}

/// The export jobs.
#[derive(Default)]
pub(crate) struct Exports {
    jobs: Mutex<(u64, HashMap<u64, Job>)>,
}

impl Exports {
    fn status(&self, id: u64) -> Option<Value> {
        let jobs = self.jobs.lock().ok()?;
        let job = jobs.1.get(&id)?;
        let elapsed = job.started.elapsed();
        Some(if job.cancelled {
            json!({ "export_id": id, "state": "cancelled", "percent": 0 })
        } else if elapsed < EXPORT_TIME {
            let quarters = elapsed.as_millis() * 4 / EXPORT_TIME.as_millis();
            json!({ "export_id": id, "state": "running", "percent": quarters * 25 })
        } else {
            json!({ "export_id": id, "state": "succeeded", "percent": 100,
                    "bytes": job.csv.len(), "result_url": format!("/exports/{id}/result") })
        })
    }
}

fn job_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("export {raw:?} not found")))
}

/// `POST /exports`: `{"sql", "max_rows"?}` → 202 with the job.
pub(crate) async fn start(state: web::Data<AppState>, payload: web::Payload) -> Reply {
    let body = read_object(payload, MAX_BODY_BYTES).await?;
    only_members(&body, &["sql", "max_rows"])?;
    let sql = body_str(&body, "sql")?.to_owned();
    let max_rows = body_int(&body, "max_rows", DEFAULT_EXPORT_ROWS, 1, MAX_EXPORT_ROWS)?;
    query::check_read_only(&sql)?;
    let timeout = state.max_query_time;
    let csv = state
        .pool
        .run(move |conn| query::run_csv(conn, &sql, max_rows, timeout))
        .await?;
    let id = {
        let mut jobs = state
            .exports
            .jobs
            .lock()
            .map_err(|_| ApiError::internal("export store unavailable"))?;
        jobs.0 += 1;
        let id = jobs.0;
        if jobs.1.len() >= MAX_JOBS {
            let oldest = id.saturating_sub(MAX_JOBS as u64 / 2);
            jobs.1.retain(|k, _| *k > oldest);
        }
        jobs.1.insert(
            id,
            Job {
                csv,
                started: Instant::now(),
                cancelled: false,
            },
        );
        id
    };
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/exports/{id}")))
        .json(json!({ "export_id": id, "state": "running", "percent": 0 })))
}

/// `GET /exports/{id}`: the job's state.
pub(crate) async fn status(state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let id = job_id(&id)?;
    let status = state
        .exports
        .status(id)
        .ok_or_else(|| ApiError::not_found(format!("export {id} not found")))?;
    Ok(HttpResponse::Ok().json(status))
}

/// `GET /exports/{id}/result`: the CSV of a job that succeeded; 409 before.
pub(crate) async fn result(state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let id = job_id(&id)?;
    let status = state
        .exports
        .status(id)
        .ok_or_else(|| ApiError::not_found(format!("export {id} not found")))?;
    if status["state"] != "succeeded" {
        return Err(ApiError::other(
            StatusCode::CONFLICT,
            "not_ready",
            format!("export {id} is {}", status["state"]),
        ));
    }
    let csv = state
        .exports
        .jobs
        .lock()
        .ok()
        .and_then(|jobs| jobs.1.get(&id).map(|job| job.csv.clone()))
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(csv))
}

/// `DELETE /exports/{id}`: cancels a running job (204); a finished one is 409.
pub(crate) async fn cancel(state: web::Data<AppState>, id: web::Path<String>) -> Reply {
    let id = job_id(&id)?;
    let mut jobs = state
        .exports
        .jobs
        .lock()
        .map_err(|_| ApiError::internal("export store unavailable"))?;
    let job = jobs
        .1
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("export {id} not found")))?;
    if !job.cancelled && job.started.elapsed() >= EXPORT_TIME {
        return Err(ApiError::other(
            StatusCode::CONFLICT,
            "conflict",
            format!("export {id} already succeeded"),
        ));
    }
    job.cancelled = true;
    Ok(HttpResponse::NoContent().finish())
}
