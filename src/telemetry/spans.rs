//! The spans of a request and their attributes. Every helper is a no-op (and returns
//! [`Span::none`]) until [`super::layer`] is installed.

use crate::trace::TraceContext;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `tracing` target of toolgate's trace spans: only these are exported, and the log
/// output never shows them.
pub const TARGET: &str = "toolgate::otel";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether traces are being exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(super) fn set_enabled() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Awaits `$future` inside `$span`; when the span is none (traces off) awaits it as it is.
///
/// A macro, not a function: off, the caller's future holds `$future` inline, exactly as
/// without tracing (no wrapper to move it into, no bigger state machine to copy); on, the
/// future is boxed and instrumented, so that branch adds only a pointer and a span.
macro_rules! in_span {
    ($span:expr, $future:expr) => {{
        let span: ::tracing::Span = $span;
        if span.is_none() {
            $future.await
        } else {
            ::tracing::Instrument::instrument(::std::boxed::Box::pin($future), span).await
        }
    }};
}
pub(crate) use in_span;

/// The current span when traces are on (a call records its outcome on it), else none.
pub fn current() -> Span {
    if enabled() {
        Span::current()
    } else {
        Span::none()
    }
}

/// The server span of one HTTP request: `"{method} {route}"`.
pub fn http_request(method: &str, route: &str, path: &str) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(target: TARGET, "http", otel.name = %format!("{method} {route}"), otel.kind = "server");
    span.set_attribute("http.request.method", method.to_owned());
    span.set_attribute("http.route", route.to_owned());
    span.set_attribute("url.path", path.to_owned());
    span
}

/// Records the status of the response on an HTTP server span (5xx marks it failed).
pub fn record_http_status(span: &Span, status: u16) {
    if span.is_none() {
        return;
    }
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.set_attribute("error.type", status.to_string());
        span.set_status(Status::error(""));
    }
}

/// The span of one MCP request: `"{method} {tool}"` for `tools/call`, else `"{method}"`.
pub fn mcp_request(
    method: &str,
    tool: Option<&str>,
    request_id: &serde_json::Value,
    version: &str,
    caller: &str,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let name = match tool {
        Some(tool) => format!("{method} {tool}"),
        None => method.to_owned(),
    };
    let span = tracing::info_span!(target: TARGET, "mcp", otel.name = %name, otel.kind = "server");
    span.set_attribute("mcp.method.name", method.to_owned());
    span.set_attribute("mcp.protocol.version", version.to_owned());
    span.set_attribute("jsonrpc.request.id", request_id.to_string());
    span.set_attribute("toolgate.caller", caller.to_owned());
    if let Some(tool) = tool {
        span.set_attribute("gen_ai.tool.name", tool.to_owned());
        span.set_attribute("gen_ai.operation.name", "execute_tool");
    }
    span
}

/// The span of one request of the legacy JSON protocol: `"call_tool {tool}"` or `"list_tools"`.
pub fn legacy_request(method: &str, tool: Option<&str>, caller: &str) -> Span {
    if !enabled() {
        return Span::none();
    }
    let name = match tool {
        Some(tool) => format!("{method} {tool}"),
        None => method.to_owned(),
    };
    let span =
        tracing::info_span!(target: TARGET, "legacy", otel.name = %name, otel.kind = "server");
    span.set_attribute("toolgate.protocol", "legacy");
    span.set_attribute("toolgate.method", method.to_owned());
    span.set_attribute("toolgate.caller", caller.to_owned());
    if let Some(tool) = tool {
        span.set_attribute("gen_ai.tool.name", tool.to_owned());
        span.set_attribute("gen_ai.operation.name", "execute_tool");
    }
    span
}

/// A step of a call: `auth`, `rate_limit`, `validate`, `render` or `shape`.
pub fn phase(name: &'static str) -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(target: TARGET, "phase", otel.name = name)
}

/// Records how a tool call ended: `toolgate.outcome`, and for a failure `error.type` (the
/// error code) and an error status.
pub fn record_outcome(span: &Span, outcome: &str) {
    if span.is_none() {
        return;
    }
    span.set_attribute("toolgate.outcome", outcome.to_owned());
    if outcome != "ok" {
        span.set_attribute("error.type", outcome.to_owned());
        span.set_status(Status::error(outcome.to_owned()));
    }
}

/// Records a JSON-RPC error answer on an MCP request span.
pub fn record_rpc_error(span: &Span, code: i64, error_type: &str) {
    if span.is_none() {
        return;
    }
    span.set_attribute("rpc.jsonrpc.error_code", code);
    span.set_attribute("error.type", error_type.to_owned());
    span.set_status(Status::error(error_type.to_owned()));
}

/// The client span of one attempt of an upstream request: `"{method}"`, with the target
/// (the query is left out: it may carry secrets).
pub fn upstream_call(method: &str, url: &url::Url, upstream: &str, attempt: u32) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span =
        tracing::info_span!(target: TARGET, "upstream", otel.name = %method, otel.kind = "client");
    span.set_attribute("http.request.method", method.to_owned());
    if let Some(host) = url.host_str() {
        span.set_attribute("server.address", host.to_owned());
    }
    if let Some(port) = url.port_or_known_default() {
        span.set_attribute("server.port", i64::from(port));
    }
    let mut target = url.clone();
    target.set_query(None);
    target.set_fragment(None);
    span.set_attribute("url.full", target.to_string());
    span.set_attribute("toolgate.upstream", upstream.to_owned());
    if attempt > 0 {
        span.set_attribute("http.request.resend_count", i64::from(attempt));
    }
    span
}

/// Records the upstream's status on the current upstream span (4xx and 5xx mark it failed,
/// as the HTTP conventions say for client spans).
pub fn record_upstream_status(status: u16) {
    if !enabled() {
        return;
    }
    let span = Span::current();
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 400 {
        span.set_attribute("error.type", status.to_string());
        span.set_status(Status::error(""));
    }
}

/// Records an upstream request that got no answer (`timeout`, `connect`, …).
pub fn record_upstream_failure(span: &Span, kind: &str) {
    if span.is_none() {
        return;
    }
    span.set_attribute("error.type", kind.to_owned());
    span.set_status(Status::error(kind.to_owned()));
}

/// Makes `context` (from a client's `traceparent`) the parent of `span`.
pub fn set_remote_parent(span: &Span, context: &TraceContext) {
    if span.is_none() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Carrier(context));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Writes the current span's context as `traceparent` / `tracestate` into `headers`; false
/// when there is no exported span to write (traces off, or outside one).
pub fn inject_current(headers: &mut HeaderMap) -> bool {
    if !enabled() {
        return false;
    }
    let context = Span::current().context();
    if !context.span().span_context().is_valid() {
        return false;
    }
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    true
}

/// `body` that keeps `span` open until the last item is sent (a streamed answer ends its
/// request's span when it ends, not when its first byte goes out).
pub fn keep_open<S: futures_util::Stream>(
    span: Span,
    body: S,
) -> impl futures_util::Stream<Item = S::Item> {
    futures_util::StreamExt::inspect(body, move |_| {
        let _ = &span;
    })
}

struct Carrier<'a>(&'a TraceContext);

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.0.traceparent()),
            "tracestate" => self.0.tracestate(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
