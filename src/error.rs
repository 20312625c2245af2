//! The error codes every failure carries (CONTRACT §4) and the error type of a tool call.

use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The stable, user-facing error codes of CONTRACT §4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed JSON, wrong JSON-RPC, unknown method.
    InvalidRequest,
    /// No such tool, or not visible to this caller.
    ToolNotFound,
    /// Arguments fail the input schema, or a value cannot be rendered safely.
    InvalidParameters,
    /// Missing or bad credentials.
    Unauthorized,
    /// Credentials fine but not enough, or Origin/Host not allowed.
    Forbidden,
    /// Request body over `server.max_body_bytes`.
    PayloadTooLarge,
    /// Over the caller's tier or the tool's limit.
    RateLimitExceeded,
    /// The upstream answered 4xx/5xx, was unreachable, or answered too much.
    UpstreamError,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// Anything else; never leaks secrets or internals.
    InternalError,
}

impl ErrorCode {
    /// The code as written on the wire, e.g. `tool_not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::ToolNotFound => "tool_not_found",
            Self::InvalidParameters => "invalid_parameters",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::UpstreamError => "upstream_error",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::InternalError => "internal_error",
        }
    }

    /// The HTTP status the legacy protocol answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidRequest | Self::InvalidParameters => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::ToolNotFound => 404,
            Self::PayloadTooLarge => 413,
            Self::RateLimitExceeded => 429,
            Self::InternalError => 500,
            Self::UpstreamError => 502,
            Self::UpstreamTimeout => 504,
        }
    }
}

/// A failed call: a code, a message meant for the model or user, and optional details.
///
/// Messages and details never contain secrets: they are built from argument paths, upstream
/// names, statuses and short excerpts of upstream answers only.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct CallError {
    /// The CONTRACT §4 code.
    pub code: ErrorCode,
    /// A human- and model-readable explanation.
    pub message: String,
    /// Structured details (`errors`, `status`, `retry_after_ms`, ...), or `null`.
    pub details: Value,
    /// How long the caller should wait before retrying, when known.
    pub retry_after: Option<Duration>,
}

impl CallError {
    /// An error with a code and message and no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// `tool_not_found` for `name`.
    pub fn tool_not_found(name: &str) -> Self {
        Self::new(ErrorCode::ToolNotFound, format!("unknown tool '{name}'"))
    }

    /// `invalid_parameters` with one `{path, message}` entry in `details.errors`.
    pub fn invalid_parameter(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            ErrorCode::InvalidParameters,
            format!("invalid argument {path}: {message}"),
        )
        .with_details(json!({ "errors": [ { "path": path, "message": message } ] }))
    }

    /// The `{"code","message","details"}` object used by both protocols; a known wait is
    /// always in `details.retry_after_ms`.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code.as_str(), "message": self.message });
        if !self.details.is_null() {
            body["details"] = self.details.clone();
        }
        if let Some(wait) = self.retry_after {
            body["details"]["retry_after_ms"] = json!(wait.as_millis() as u64);
        }
        body
    }
}
