//! What the demo APIs share: the JSON error type, the HTTP server with its bearer-token check,
//! request helpers, dates and a deterministic random generator.

pub(crate) mod oauth;
pub(crate) mod params;
pub(crate) mod rng;
pub(crate) mod time;

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServerHandle, Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use serde_json::json;

use oauth::Guard;

/// An error answered as `{"error":{"code","message","field"?}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<Cow<'static, str>>,
}

impl ApiError {
    /// 400 `validation_error` blaming `field`.
    pub(crate) fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "validation_error",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// 400 `validation_error` about the request as a whole.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::other(StatusCode::BAD_REQUEST, "validation_error", message)
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::other(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal_error`.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::other(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    /// Any other status and code.
    pub(crate) fn other(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, blaming `field`.
    pub(crate) fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
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
        if let (Some(field), Some(obj)) = (&self.field, error.as_object_mut()) {
            obj.insert("field".into(), field.as_ref().into());
        }
        HttpResponse::build(self.status).json(json!({ "error": error }))
    }
}

/// `GET /health`.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Any path that no route matches.
pub(crate) async fn route_not_found(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no route for {} {}", req.method(), req.path())).error_response()
}

/// A known path with a method it does not serve.
pub(crate) async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    ApiError::other(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.path()),
    )
    .error_response()
}

/// A resource at `path` answering 405 for methods it has no route for.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path.to_owned()).default_service(web::to(method_not_allowed))
}

/// Registers the JSON error handlers for bad query strings and paths on `cfg`.
pub(crate) fn error_handlers(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default().error_handler(|err, _| {
            ApiError::bad_request(format!("bad query string: {err}")).into()
        }),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::bad_request(format!("bad path: {err}")).into()),
    );
}

/// Whether the request may pass: `/health` and the token endpoint always, everything else
/// with a token `guard` accepts.
fn authorized(req: &actix_web::dev::ServiceRequest, guard: &Guard) -> bool {
    if guard.open() || req.path() == "/health" || req.path() == oauth::TOKEN_PATH {
        return true;
    }
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| guard.accepts(given.trim()))
}

/// Compares two byte strings without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The 401 answer, with a `WWW-Authenticate` challenge naming `realm`.
fn unauthorized(realm: &str) -> HttpResponse {
    let mut res = ApiError::other(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or invalid bearer token",
    )
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&format!("Bearer realm=\"{realm}\"")) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    res
}

/// Binds one demo API on `addr`, spawns it in the current tokio runtime and returns its address
/// and handle. `configure` registers the routes and app data; every request except `/health`
/// and the token endpoint needs `Authorization: Bearer <token>` with a token `guard` accepts,
/// unless the guard is open.
pub(crate) fn start_server<F>(
    addr: &str,
    guard: Guard,
    realm: &'static str,
    configure: F,
) -> std::io::Result<(SocketAddr, ServerHandle)>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let server = HttpServer::new(move || {
        let guard = guard.clone();
        App::new()
            .configure(error_handlers)
            .configure(configure.clone())
            .default_service(web::to(route_not_found))
            .wrap_fn(move |req, srv| {
                let outcome = if authorized(&req, &guard) {
                    Ok(srv.call(req))
                } else {
                    Err(req.into_parts().0)
                };
                async move {
                    match outcome {
                        Ok(fut) => fut.await.map(|res| res.map_body(|_, body| body.boxed())),
                        Err(req) => {
                            let res: HttpResponse<BoxBody> = unauthorized(realm);
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
        .ok_or_else(|| std::io::Error::other(format!("{realm} bound no address")))?;
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((bound, handle))
}
