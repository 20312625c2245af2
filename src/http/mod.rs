//! The HTTP surface: MCP over Streamable HTTP and the legacy JSON protocol on the same
//! endpoints, plus health and readiness. A thin layer: every call goes to [`Gateway`].

mod admin;
mod auth;
mod conn;
mod console;
mod guard;
mod health;
mod legacy;
mod mcp;
mod observe;
mod session;

use crate::error::{CallError, ErrorCode};
use crate::gateway::Gateway;
use crate::reload::{ReloadState, Reloader};
use actix_service::{IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::Arc;

pub use session::Sessions;

/// State shared by all workers.
#[derive(Debug)]
pub struct AppState {
    /// The gateway core.
    pub gateway: Arc<Gateway>,
    /// Session ids issued and ended.
    pub sessions: Sessions,
    /// The latest (re)load outcome and tool-list change notices.
    pub reload: Arc<ReloadState>,
    /// Reloads the config file on `POST /admin/reload` (`None` when not started from a file).
    pub reloader: Option<Arc<Reloader>>,
    /// MCP requests in flight that `notifications/cancelled` may abort.
    in_flight: mcp::cancel::InFlight,
    /// Turns `true` once shutdown began: responses close their connections and the idle
    /// server-to-client streams end.
    draining: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State for a gateway whose config was just loaded.
    pub fn new(gateway: Arc<Gateway>, reload: Arc<ReloadState>) -> Self {
        Self {
            gateway,
            sessions: Sessions::default(),
            reload,
            reloader: None,
            in_flight: mcp::cancel::InFlight::default(),
            draining: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Whether shutdown began.
    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Watches for the start of shutdown (server-to-client streams end on it).
    pub fn drain_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.draining.subscribe()
    }

    /// Lets `POST /admin/reload` reload the config file through `reloader`.
    pub fn with_reloader(mut self, reloader: Arc<Reloader>) -> Self {
        self.reloader = Some(reloader);
        self
    }
}

/// Starts the HTTP server on an already bound listener (tests bind `127.0.0.1:0`).
pub fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    state.gateway.spawn_maintenance();
    let draining = state.clone();
    let data = web::Data::from(state);
    let addr = listener.local_addr()?;
    let listening = listener.try_clone()?;
    let mut builder = actix_server::Server::build()
        // Graceful shutdown (see `drain_on_signal`): finish calls in flight for up to 10 s.
        .shutdown_timeout(10)
        .disable_signals();
    if let Some(workers) = workers {
        builder = builder.workers(workers.max(1));
    }
    let server = builder
        .listen("toolgate", listener, move || {
            let data = data.clone();
            let app = App::new()
                .app_data(data)
                .wrap(actix_web::middleware::from_fn(observe::middleware))
                .configure(routes)
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let http = actix_http::HttpService::build()
                // A client must send each request head within 5 s of its first byte
                // (slow-loris protection; `conn::HeadDeadline` times the heads after the first).
                .client_request_timeout(conn::HEAD_TIMEOUT)
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .keep_alive(std::time::Duration::from_secs(75))
                // A client that closes its connection while its request is being served ends
                // the request: the handler (and the upstream call it awaits) is dropped at once
                // instead of running to completion for nobody.
                .h1_allow_half_closed(false)
                .local_addr(addr)
                .finish(actix_service::map_config(app, |()| {
                    actix_web::dev::AppConfig::default()
                }));
            actix_service::fn_service(|io: actix_web::rt::net::TcpStream| {
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, actix_http::error::DispatchError>((
                    conn::HeadDeadline::new(io),
                    actix_http::Protocol::Http1,
                    peer,
                )))
            })
            .and_then(http)
        })?
        .run();
    drain_on_signal(draining, server.handle(), listening);
    Ok(server)
}

/// How long calls in flight may take to finish after SIGTERM.
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// On SIGTERM or SIGINT: mark the state as draining (responses then close their keep-alive
/// connections, so no new call starts on them, and the idle server-to-client streams end, so
/// their clients reconnect to another replica), stop accepting connections, and let the calls
/// in flight finish (see [`wait_for_calls`]; up to the shutdown timeout) before the server
/// future completes.
fn drain_on_signal(
    state: Arc<AppState>,
    handle: actix_web::dev::ServerHandle,
    listening: TcpListener,
) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("cannot listen for SIGTERM/SIGINT");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        tracing::info!("shutting down: finishing calls in flight");
        state.draining.send_replace(true);
        // Stop accepting: pause the accept loop, then shut the listening socket's read side so
        // that new connections are refused at once instead of queueing.
        handle.pause().await;
        let _ = socket2::SockRef::from(&listening).shutdown(std::net::Shutdown::Read);
        // Wait for the calls in flight before stopping the workers: actix-server can end a
        // worker, and every connection on it, as soon as its accept loop is gone.
        wait_for_calls(&state, std::time::Instant::now() + SHUTDOWN_DEADLINE).await;
        handle.stop(true).await;
    });
}

/// How long no call may be in flight before the workers stop: a call sent on a kept-alive
/// connection just before the signal is still being read when it arrives, and must be counted
/// (and answered) before its connection goes.
const DRAIN_QUIET: std::time::Duration = std::time::Duration::from_millis(250);

/// Waits until no call has been in flight for [`DRAIN_QUIET`], or until `deadline`.
async fn wait_for_calls(state: &AppState, deadline: std::time::Instant) {
    let mut quiet_since = None;
    loop {
        let now = std::time::Instant::now();
        if now >= deadline {
            return;
        }
        if state.gateway.metrics().in_flight.get() > 0 {
            quiet_since = None;
        } else if now.duration_since(*quiet_since.get_or_insert(now)) >= DRAIN_QUIET {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every route of the gateway.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Each endpoint answers with and without a trailing slash (the Junis guide registers
    // `https://mcp.example.com/`-style URLs).
    for path in ["/", "/mcp", "/mcp/", "/v1", "/v1/", "/v1/mcp", "/v1/mcp/"] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(mcp::post))
                .route(web::get().to(mcp::get))
                .route(web::delete().to(mcp::delete)),
        );
    }
    for slash in ["", "/"] {
        cfg.route(&format!("/health{slash}"), web::get().to(health::health))
            .route(&format!("/ready{slash}"), web::get().to(health::ready))
            .route(&format!("/metrics{slash}"), web::get().to(observe::metrics));
    }
    cfg.route("/admin/config", web::get().to(admin::config))
        .route("/admin/tools", web::get().to(admin::tools))
        .service(
            web::resource("/admin/reload")
                .route(web::post().to(admin::reload))
                .route(web::get().to(admin::reload_status)),
        )
        .configure(console::routes)
        .route(auth::JWKS_PATH, web::get().to(auth::jwks))
        .route(auth::METADATA_PATH, web::get().to(auth::resource_metadata))
        .route(
            &format!("{}/{{resource:.*}}", auth::METADATA_PATH),
            web::get().to(auth::resource_metadata),
        );
}

/// A plain HTTP error in the legacy error shape (used before any protocol is chosen).
fn http_error(error: &CallError) -> HttpResponse {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if error.details.get("error").and_then(Value::as_str) == Some("insufficient_scope") {
        // RFC 6750 §3.1, as the MCP authorization spec asks: the scopes a new token needs.
        let scopes = error.details["required_scopes"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        response.insert_header((
            "WWW-Authenticate",
            format!("Bearer error=\"insufficient_scope\", scope=\"{scopes}\""),
        ));
    }
    if let Some(wait) = error.retry_after {
        response.insert_header((
            "Retry-After",
            wait.as_secs_f64().ceil().max(1.0).to_string(),
        ));
    }
    response.json(json!({ "error": error.body() }))
}

/// `None` when a POST body is declared JSON (`application/json` or `application/*+json`, any
/// parameters) or not declared at all (some clients omit the header); else the 415 answer.
/// Defence in depth beside the Origin check: `text/plain`, form and multipart bodies are what a
/// browser may send cross-site without a preflight.
fn refuse_non_json(req: &HttpRequest) -> Option<HttpResponse> {
    let declared = req.headers().get(actix_web::http::header::CONTENT_TYPE)?;
    let essence = declared
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if essence.is_some_and(is_json_mime) {
        return None;
    }
    let error = CallError::new(
        ErrorCode::InvalidRequest,
        "the body must be JSON: send Content-Type: application/json",
    );
    Some(HttpResponse::UnsupportedMediaType().json(json!({ "error": error.body() })))
}

/// Whether a MIME type (no parameters) is `application/json` or `application/*+json`, in any
/// case.
fn is_json_mime(mime: &str) -> bool {
    let mime = mime.as_bytes();
    let (prefix, suffix) = (b"application/", b"+json");
    mime.eq_ignore_ascii_case(b"application/json")
        || (mime.len() >= prefix.len() + suffix.len()
            && mime[..prefix.len()].eq_ignore_ascii_case(prefix)
            && mime[mime.len() - suffix.len()..].eq_ignore_ascii_case(suffix))
}

/// How long a client may take to send its whole body (a client dripping bytes is cut off).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads a request body up to `limit` bytes within [`BODY_TIMEOUT`]; more is
/// `payload_too_large`, slower is `invalid_request`.
async fn read_body(
    payload: web::Payload,
    declared: Option<u64>,
    limit: usize,
) -> Result<web::Bytes, CallError> {
    tokio::time::timeout(BODY_TIMEOUT, read_body_untimed(payload, declared, limit))
        .await
        .unwrap_or_else(|_| {
            Err(CallError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "the request body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            ))
        })
}

async fn read_body_untimed(
    mut payload: web::Payload,
    declared: Option<u64>,
    limit: usize,
) -> Result<web::Bytes, CallError> {
    let too_large = || {
        CallError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
    };
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            CallError::new(
                ErrorCode::InvalidRequest,
                "the request body could not be read",
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body, telling parse errors apart (both protocols answer them as JSON-RPC).
fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))
}
