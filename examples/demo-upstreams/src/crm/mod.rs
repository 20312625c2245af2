//! The demo CRM: server setup, authentication and the error type.

mod data;
mod handlers;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServerHandle, Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use serde_json::json;

use crate::CrmOptions;
use data::Store;

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Shared, mutable CRM state.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<Mutex<Store>>,
}

impl AppState {
    /// Locks the store; a poisoned lock is recovered, since every update is a single push.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An error answered as `{"error":{"code","message","field"?}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
}

impl ApiError {
    /// 400 `validation_error` blaming `field`.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "validation_error",
            message: message.into(),
            field: Some(field),
        }
    }

    /// 400 `validation_error` about the request as a whole.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "validation_error",
            message: message.into(),
            field: None,
        }
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
        }
    }

    /// Any other status and code.
    pub(crate) fn other(status: StatusCode, code: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            field: None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(field), Some(obj)) = (self.field, error.as_object_mut()) {
            obj.insert("field".into(), field.into());
        }
        let mut builder = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"demo-crm\""));
        }
        builder.json(json!({ "error": error }))
    }
}

/// Whether the request may pass: `/health` always, everything else with the right token.
fn authorized(req: &actix_web::dev::ServiceRequest, token: Option<&str>) -> bool {
    let Some(token) = token else { return true };
    if req.path() == "/health" {
        return true;
    }
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

/// Compares two byte strings without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Registers every route and error handler on `cfg`.
fn routes(cfg: &mut web::ServiceConfig) {
    let json_resource = |path: &str| {
        web::resource(path.to_owned()).default_service(web::to(handlers::method_not_allowed))
    };
    cfg.app_data(
        web::QueryConfig::default().error_handler(|err, _| {
            ApiError::bad_request(format!("bad query string: {err}")).into()
        }),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::bad_request(format!("bad path: {err}")).into()),
    )
    .service(json_resource("/health").route(web::get().to(handlers::health)))
    .service(json_resource("/customers").route(web::get().to(handlers::search_customers)))
    .service(json_resource("/customers/{id}").route(web::get().to(handlers::get_customer)))
    .service(
        json_resource("/customers/{id}/interactions")
            .route(web::get().to(handlers::list_interactions)),
    )
    .service(
        json_resource("/customers/{id}/notes")
            .route(web::get().to(handlers::list_notes))
            .route(web::post().to(handlers::create_note)),
    )
    .service(json_resource("/segments").route(web::get().to(handlers::segments)))
    .service(json_resource("/pricing/discount").route(web::post().to(handlers::discount)))
    .service(json_resource("/reports/slow").route(web::get().to(handlers::slow_report)));
}

/// Binds the CRM on `addr`, spawns it and returns its address and handle.
pub(crate) fn start(
    addr: &str,
    options: CrmOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let state = AppState {
        store: Arc::new(Mutex::new(Store::generate())),
    };
    let token: Option<Arc<str>> = options.token.map(Arc::from);
    let server = HttpServer::new(move || {
        let token = token.clone();
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(routes)
            .default_service(web::to(handlers::route_not_found))
            .wrap_fn(move |req, srv| {
                let outcome = if authorized(&req, token.as_deref()) {
                    Ok(srv.call(req))
                } else {
                    Err(req.into_parts().0)
                };
                async move {
                    match outcome {
                        Ok(fut) => fut.await.map(|res| res.map_body(|_, body| body.boxed())),
                        Err(req) => {
                            let error = ApiError::other(
                                StatusCode::UNAUTHORIZED,
                                "unauthorized",
                                "missing or invalid bearer token",
                            );
                            let res: HttpResponse<BoxBody> = error.error_response();
                            Ok(ServiceResponse::new(req, res))
                        }
                    }
                }
            })
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(addr)?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the CRM bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((bound, handle))
}
