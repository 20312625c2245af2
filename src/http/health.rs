//! `GET /health` and `GET /ready`.

use super::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// Liveness and a summary of the active config and the latest reload.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    let reload = state.reload.status();
    let last_reload = json!({
        "ok": reload.ok,
        "at": humantime::format_rfc3339_seconds(reload.at).to_string(),
        "error": reload.error,
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
