//! Sending a rendered request upstream with one shared, pooled reqwest client.

use crate::error::{CallError, ErrorCode};
use crate::render::RenderedRequest;
use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;
use std::time::Duration;

/// How many bytes of an upstream error body are quoted in `details.excerpt`.
const EXCERPT_BYTES: usize = 512;

/// An upstream answer read in full (within `max_response_bytes`).
#[derive(Debug)]
pub struct UpstreamAnswer {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl UpstreamAnswer {
    /// Whether the body should be read as JSON (by content type, or by its first byte when the
    /// upstream sent no content type).
    pub fn looks_like_json(&self) -> bool {
        match &self.content_type {
            Some(ct) => {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json") || ct.contains("+json")
            }
            None => matches!(
                self.body.iter().find(|b| !b.is_ascii_whitespace()),
                Some(b'{' | b'[')
            ),
        }
    }
}

/// The shared HTTP client for all upstreams.
#[derive(Clone, Debug)]
pub struct Forwarder {
    client: reqwest::Client,
}

impl Forwarder {
    /// Builds the client: connection pool, rustls, no proxy from the environment, no redirects,
    /// no automatic decompression (so a compressed answer cannot expand past the size cap).
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("toolgate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }

    /// Sends the request and reads the answer, mapping every failure to a CONTRACT §4 code:
    /// `upstream_timeout` past the timeout, `upstream_error` for connection failures, 4xx/5xx
    /// answers and answers over `max_response_bytes`.
    pub async fn send(&self, request: RenderedRequest) -> Result<UpstreamAnswer, CallError> {
        let timeout = request.timeout;
        let upstream = request.upstream.name.clone();
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(CallError::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "upstream '{upstream}' did not answer within {} ms",
                    timeout.as_millis()
                ),
            )
            .with_details(
                json!({ "upstream": upstream, "timeout_ms": timeout.as_millis() as u64 }),
            )),
        }
    }

    async fn exchange(&self, request: RenderedRequest) -> Result<UpstreamAnswer, CallError> {
        let upstream = &request.upstream;
        let headers = request.headers.clone();
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone())
            .headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(serde_json::to_vec(body).unwrap_or_default());
        }
        let mut response = builder.send().await.map_err(|e| {
            let what = if e.is_connect() {
                "could not connect to"
            } else {
                "failed to get an answer from"
            };
            CallError::new(
                ErrorCode::UpstreamError,
                format!("{what} upstream '{}'", upstream.name),
            )
            .with_details(json!({ "upstream": upstream.name }))
        })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let limit = upstream.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large(&upstream.name, limit));
        }
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(too_large(&upstream.name, limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    return Err(CallError::new(
                        ErrorCode::UpstreamError,
                        format!("upstream '{}' broke off its answer", upstream.name),
                    )
                    .with_details(json!({ "upstream": upstream.name, "status": status })));
                }
            }
        }
        let answer = UpstreamAnswer {
            status,
            content_type,
            body: body.freeze(),
        };
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        let mut error = CallError::new(
            ErrorCode::UpstreamError,
            format!("upstream '{}' answered HTTP {status}", upstream.name),
        )
        .with_details(json!({
            "upstream": upstream.name,
            "status": status,
            "excerpt": excerpt(&answer.body),
        }));
        if status == 429 {
            error.retry_after = retry_after;
        }
        Err(error)
    }
}

fn too_large(upstream: &str, limit: u64) -> CallError {
    CallError::new(
        ErrorCode::UpstreamError,
        format!("upstream '{upstream}' answered more than {limit} bytes"),
    )
    .with_details(json!({ "upstream": upstream, "max_response_bytes": limit }))
}

/// The start of a body as text, cut on a character boundary.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    text.trim_end_matches('\u{fffd}').to_owned()
}
