//! W3C Trace Context (`traceparent`, `tracestate`): accepted from the client (HTTP headers, or
//! an MCP request's `params._meta`) and passed on to the upstream, so that an upstream's traces
//! join the client's trace. The HTTP layer scopes each request's context with [`scope`]; the
//! upstream request gets it from [`inject`]: the gateway's own upstream span when traces are
//! exported (see [`crate::telemetry`]), else the client's context as it came. Malformed values
//! are dropped, never forwarded.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::future::Future;

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The trace context of one request.
#[derive(Clone, Debug)]
pub struct TraceContext {
    traceparent: HeaderValue,
    tracestate: Option<HeaderValue>,
}

tokio::task_local! {
    static CURRENT: Option<TraceContext>;
}

impl TraceContext {
    /// The context in `traceparent` / `tracestate` values, when `traceparent` is well formed
    /// (`version-traceid-parentid-flags`, lower-case hex, ids not all zero).
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let parts: Vec<&str> = traceparent.trim().split('-').collect();
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let [version, trace_id, parent_id, flags, ..] = parts.as_slice() else {
            return None;
        };
        let valid = hex(version, 2)
            && *version != "ff"
            && (parts.len() == 4 || *version != "00")
            && hex(trace_id, 32)
            && trace_id.bytes().any(|b| b != b'0')
            && hex(parent_id, 16)
            && parent_id.bytes().any(|b| b != b'0')
            && hex(flags, 2);
        if !valid {
            return None;
        }
        let tracestate = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 512)
            .and_then(|s| HeaderValue::from_str(s).ok());
        Some(Self {
            traceparent: HeaderValue::from_str(&parts[..4].join("-")).ok()?,
            tracestate,
        })
    }

    /// The context in an MCP request's `params._meta` (`traceparent`, `tracestate`), if valid.
    pub fn from_meta(params: &serde_json::Value) -> Option<Self> {
        let meta = params.get("_meta")?;
        let text = |name: &str| meta.get(name).and_then(serde_json::Value::as_str);
        Self::parse(text("traceparent")?, text("tracestate"))
    }

    /// The `traceparent` value.
    pub fn traceparent(&self) -> &str {
        self.traceparent.to_str().unwrap_or_default()
    }

    /// The `tracestate` value, if any.
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_ref().and_then(|v| v.to_str().ok())
    }

    /// The context of a request's headers, if it carries a valid one.
    pub fn from_headers(headers: &actix_web::http::header::HeaderMap) -> Option<Self> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self::parse(text("traceparent")?, text("tracestate"))
    }
}

/// Runs `future` with `context` as the current trace context.
pub async fn scope<F: Future>(context: Option<TraceContext>, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// Adds the trace context to an upstream request's headers: the current exported span's
/// when traces are on, else the client's (if any).
pub fn inject(headers: &mut HeaderMap) {
    if crate::telemetry::inject_current(headers) {
        return;
    }
    let _ = CURRENT.try_with(|current| {
        if let Some(context) = current {
            headers.insert(TRACEPARENT, context.traceparent.clone());
            match &context.tracestate {
                Some(state) => headers.insert(TRACESTATE, state.clone()),
                None => headers.remove(TRACESTATE),
            };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_traceparents_are_kept() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(TraceContext::parse(good, Some("congo=t61rcWkgMzE")).is_some());
        for bad in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            assert!(TraceContext::parse(bad, None).is_none(), "{bad}");
        }
    }
}
