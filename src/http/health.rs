//! `GET /health` and `GET /ready`.

use super::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// Liveness and a summary of the active config and the latest reload. Unauthenticated, so it
/// says only whether the last reload worked and when: its problems (which name files and may
/// describe their content) are in the log and behind the admin key (`GET /admin/reload`).
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    let reload = state.reload.status();
    let last_reload = json!({
        "ok": reload.ok,
        "at": humantime::format_rfc3339_seconds(reload.at).to_string(),
    });
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "tools_count": config.tools.len(),
        "config_version": config.version,
        "last_reload": last_reload,
    }))
}

/// 200 once a valid config is loaded (always true once the server runs).
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    HttpResponse::Ok().json(json!({ "status": "ready", "config_version": config.version }))
}
