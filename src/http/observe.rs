//! Per-request observability: a request id (accepted from `X-Request-Id` or made up, returned
//! in the response and passed upstream) and the request counter by endpoint and status.

use super::AppState;
use crate::metrics::RequestLabels;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the request being served.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The request id of `req` (set by [`middleware`]).
pub fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(new_id, |id| id.0.clone())
}

/// A client's id when it is short visible ASCII, else a fresh random one.
fn accepted_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_id, str::to_owned)
}

/// 32 random hex digits (written out by hand: `format!` costs more than the random number).
fn new_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = rand::random::<u128>();
    let mut digits = [0u8; 32];
    for (at, digit) in digits.iter_mut().enumerate() {
        *digit = HEX[((bits >> ((31 - at) * 4)) & 0xf) as usize];
    }
    std::str::from_utf8(&digits).unwrap_or_default().to_owned()
}

/// Assigns the request id, returns it in the response, and counts the request.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = accepted_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let trace = crate::trace::TraceContext::from_headers(req.headers());
    let span = request_span(&req, trace.as_ref());
    let mut response =
        crate::telemetry::in_span!(span.clone(), crate::trace::scope(trace, next.call(req)))?;
    crate::telemetry::record_http_status(&span, response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    if let Some(state) = state {
        if state.is_draining() {
            response
                .response_mut()
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
        let endpoint = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "(unmatched)".to_owned());
        state
            .gateway
            .metrics()
            .requests
            .get_or_create(&RequestLabels {
                endpoint,
                status: response.status().as_u16(),
            })
            .inc();
    }
    Ok(response)
}

/// Endpoints that are polled, not used: no trace spans for them.
const UNTRACED: [&str; 3] = ["/health", "/ready", "/metrics"];

/// The HTTP server span of a request (none when traces are off, and for probes), a child of
/// the client's trace context when it sent one.
fn request_span(req: &ServiceRequest, trace: Option<&crate::trace::TraceContext>) -> tracing::Span {
    if !crate::telemetry::enabled() {
        return tracing::Span::none();
    }
    let path = req.path();
    if UNTRACED.contains(&path.trim_end_matches('/')) {
        return tracing::Span::none();
    }
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let span = crate::telemetry::http_request(req.method().as_str(), &route, path);
    if let Some(trace) = trace {
        crate::telemetry::set_remote_parent(&span, trace);
    }
    span
}

/// `GET /metrics`: Prometheus text (behind the admin key when `admin.protect_metrics` is on).
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if config.protect_metrics
        && let Err(refusal) = super::admin::authorize(&req, &config)
    {
        return refusal;
    }
    let metrics = state.gateway.metrics();
    let reload = &state.reload;
    let ok = reload.reloads_ok.load(std::sync::atomic::Ordering::Relaxed);
    let failed = reload
        .reloads_failed
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut text = metrics.render();
    // Reload counters and the tool count live with the reload state and the config; they are
    // appended before the OpenMetrics end marker.
    let extra = format!(
        "# HELP toolgate_config_reloads Config reloads by result.\n# TYPE toolgate_config_reloads counter\n\
         toolgate_config_reloads_total{{result=\"ok\"}} {ok}\ntoolgate_config_reloads_total{{result=\"failed\"}} {failed}\n\
         # HELP toolgate_tools Tools in the serving config.\n# TYPE toolgate_tools gauge\ntoolgate_tools {}\n",
        config.tools.len()
    );
    match text.rfind("# EOF") {
        Some(at) => text.insert_str(at, &extra),
        None => text.push_str(&extra),
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_ids_are_32_lower_case_hex_digits_and_differ() {
        let (a, b) = (super::new_id(), super::new_id());
        for id in [&a, &b] {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
        }
        assert_ne!(a, b);
    }
}
