//! Authenticating HTTP requests, the 401 answer that points clients at the protected-resource
//! metadata, and that metadata (RFC 9728).

use super::AppState;
use crate::auth::AuthError;
use crate::caller::Caller;
use crate::config::RuntimeConfig;
use crate::error::{CallError, ErrorCode};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// Where the protected-resource metadata is served (also with the MCP path appended).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The caller of a request, or the 401/403 answer to send.
pub async fn authenticate(
    req: &HttpRequest,
    config: &RuntimeConfig,
) -> Result<Caller, HttpResponse> {
    let header = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    let authenticated = crate::telemetry::in_span!(
        crate::telemetry::phase("auth"),
        config.auth.authenticate(header)
    );
    match authenticated {
        Ok(caller) => Ok(caller),
        Err(error) => {
            tracing::info!(reason = %error, path = req.path(), "request refused: not authenticated");
            Err(refusal(req, config, &error))
        }
    }
}

fn refusal(req: &HttpRequest, config: &RuntimeConfig, error: &AuthError) -> HttpResponse {
    let mut challenge = String::from("Bearer realm=\"toolgate\"");
    if config.resource_metadata.is_some() {
        challenge.push_str(&format!(
            ", resource_metadata=\"{}{METADATA_PATH}/mcp\"",
            public_base(req, config)
        ));
    }
    let (status, code) = match error {
        AuthError::Missing => (
            actix_web::http::StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
        ),
        AuthError::Malformed | AuthError::Invalid(_) => {
            let description = error.to_string().replace('"', "'");
            challenge.push_str(&format!(
                ", error=\"invalid_token\", error_description=\"{description}\""
            ));
            (
                actix_web::http::StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
            )
        }
        AuthError::InsufficientScope(_) => {
            challenge.push_str(", error=\"insufficient_scope\"");
            (actix_web::http::StatusCode::FORBIDDEN, ErrorCode::Forbidden)
        }
    };
    let body = CallError::new(code, error.to_string()).body();
    HttpResponse::build(status)
        .insert_header(("WWW-Authenticate", challenge))
        .json(json!({ "error": body }))
}

/// `public_url` without a trailing slash, or the address the request came in on.
fn public_base(req: &HttpRequest, config: &RuntimeConfig) -> String {
    match &config.server.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// `GET /.well-known/oauth-protected-resource[/...]`: the RFC 9728 metadata, or 404 when JWT
/// auth is not configured.
pub async fn resource_metadata(state: web::Data<AppState>) -> HttpResponse {
    match &state.gateway.config().resource_metadata {
        Some(metadata) => HttpResponse::Ok().json(metadata),
        None => HttpResponse::NotFound().json(json!({
            "error": { "code": "invalid_request", "message": "this gateway does not accept OAuth tokens" }
        })),
    }
}

/// Where the public keys of the gateway's identity assertions are served.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// `GET /.well-known/jwks.json`: the keys that sign identity assertions, for upstreams to
/// verify them; 404 when no upstream uses assertions. No auth: these are public keys.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    match &state.gateway.config().jwks {
        Some(jwks) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "max-age=300"))
            .json(jwks),
        None => HttpResponse::NotFound().json(json!({
            "error": { "code": "invalid_request", "message": "no upstream uses identity assertions" }
        })),
    }
}
