//! OpenTelemetry traces from client to upstream, exported over OTLP/HTTP (protobuf).
//!
//! Off by default: nothing is built, and every span helper returns [`tracing::Span::none`]
//! after one relaxed atomic load. When on (a `telemetry:` endpoint or the standard `OTEL_*`
//! variables, see [`TelemetrySettings::resolve`]), a request gives this tree:
//!
//! - `POST /mcp`: the HTTP server span, a child of the client's `traceparent`;
//!   - `auth`: authenticating the caller;
//!   - `tools/call <tool>` (or `initialize`, `tools/list`, …; `call_tool <tool>` on the legacy
//!     protocol): one span per JSON-RPC request, a child of `params._meta.traceparent` when
//!     the client sent one there;
//!     - `rate_limit`, `validate`, `render`, `GET` (the upstream call, one per attempt, whose
//!       context reaches the upstream as `traceparent`), `shape`.
//!
//! Attributes follow the OpenTelemetry HTTP and MCP semantic conventions (`http.*`, `url.*`,
//! `server.*`, `mcp.method.name`, `gen_ai.tool.name`, `jsonrpc.request.id`, `error.type`),
//! plus `toolgate.caller` (the caller's id, never its key) and `toolgate.outcome`.

mod export;
mod log;
mod spans;

pub use export::{TelemetryConfig, TelemetryError, TelemetrySettings, layer, tracer_provider};
pub use log::LogFormat;
pub(crate) use spans::in_span;
pub use spans::{
    TARGET, current, enabled, http_request, inject_current, keep_open, legacy_request, mcp_request,
    phase, record_http_status, record_outcome, record_rpc_error, record_upstream_failure,
    record_upstream_status, set_remote_parent, upstream_call,
};
