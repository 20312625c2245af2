//! Sending a rendered request upstream with one shared, pooled reqwest client, guarded by the
//! upstream's circuit breaker and concurrency limit, retried (idempotent methods only) on
//! connection failures and 502/503/504.

pub mod dns;

use crate::error::{CallError, ErrorCode};
use crate::metrics::Metrics;
use crate::render::RenderedRequest;
use crate::upstream::Upstream;
use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// `Retry-After` in whole seconds, if the upstream sent one.
    pub retry_after: Option<Duration>,
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

/// Why one exchange failed, before it becomes a [`CallError`].
#[derive(Debug)]
enum Failure {
    /// No connection could be made.
    Connect,
    /// The request or the answer broke off.
    Broken,
    /// No answer within the time left.
    Timeout,
    /// The answer was larger than `max_response_bytes`.
    TooLarge,
    /// A non-2xx answer.
    Status(UpstreamAnswer),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Self::Connect => true,
            Self::Status(answer) => crate::resilience::retryable_status(answer.status),
            _ => false,
        }
    }

    /// Whether it says the upstream is unwell (for the circuit breaker); a 4xx does not.
    fn counts_against_upstream(&self) -> bool {
        match self {
            Self::Status(answer) => answer.status >= 500,
            Self::TooLarge => false,
            _ => true,
        }
    }

    fn metric_status(&self) -> String {
        match self {
            Self::Status(answer) => answer.status.to_string(),
            Self::Timeout => "timeout".into(),
            _ => "error".into(),
        }
    }

    fn into_error(self, upstream: &Upstream, timeout: Duration) -> CallError {
        let name = &upstream.name;
        match self {
            Self::Connect => CallError::new(
                ErrorCode::UpstreamError,
                format!("could not connect to upstream '{name}'"),
            )
            .with_details(json!({ "upstream": name })),
            Self::Broken => CallError::new(
                ErrorCode::UpstreamError,
                format!("upstream '{name}' broke off the exchange"),
            )
            .with_details(json!({ "upstream": name })),
            Self::Timeout => CallError::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "upstream '{name}' did not answer within {} ms",
                    timeout.as_millis()
                ),
            )
            .with_details(json!({ "upstream": name, "timeout_ms": timeout.as_millis() as u64 })),
            Self::TooLarge => CallError::new(
                ErrorCode::UpstreamError,
                format!(
                    "upstream '{name}' answered more than {} bytes",
                    upstream.max_response_bytes
                ),
            )
            .with_details(
                json!({ "upstream": name, "max_response_bytes": upstream.max_response_bytes }),
            ),
            Self::Status(answer) => {
                let mut error = CallError::new(
                    ErrorCode::UpstreamError,
                    format!("upstream '{name}' answered HTTP {}", answer.status),
                )
                .with_details(json!({
                    "upstream": name,
                    "status": answer.status,
                    "excerpt": excerpt(&answer.body),
                }));
                if answer.status == 429 || answer.status == 503 {
                    error.retry_after = answer.retry_after;
                }
                error
            }
        }
    }
}

/// The shared HTTP client for all upstreams.
#[derive(Clone, Debug)]
pub struct Forwarder {
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

impl Forwarder {
    /// Builds the client: connection pool, rustls, no proxy from the environment, no redirects,
    /// no automatic decompression (so a compressed answer cannot expand past the size cap), and
    /// hostnames resolving to link-local addresses refused unless `allow_link_local`.
    pub fn new(metrics: Arc<Metrics>, allow_link_local: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder();
        if !allow_link_local {
            builder = builder.dns_resolver(Arc::new(dns::GuardedResolver));
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("toolgate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, metrics })
    }

    /// Sends the request and reads the answer, mapping every failure to a CONTRACT §4 code:
    /// `upstream_timeout` past the timeout, `upstream_error` for connection failures, 4xx/5xx
    /// answers, answers over `max_response_bytes`, an open circuit or a full queue.
    pub async fn send(&self, request: RenderedRequest) -> Result<UpstreamAnswer, CallError> {
        let upstream = request.upstream.clone();
        if let Err(wait) = upstream.breaker.admit() {
            let mut error = CallError::new(
                ErrorCode::UpstreamError,
                format!(
                    "upstream '{}' is failing; calls are paused for a moment",
                    upstream.name
                ),
            )
            .with_details(json!({ "upstream": upstream.name, "circuit": "open" }));
            error.retry_after = Some(wait);
            return Err(error);
        }
        let _slot = match &upstream.concurrency {
            Some(limit) => Some(limit.acquire().await.ok_or_else(|| {
                CallError::new(
                    ErrorCode::UpstreamError,
                    format!(
                        "upstream '{}' is busy: {} calls in flight, none finished within {} ms",
                        upstream.name,
                        limit.limit,
                        limit.queue_timeout.as_millis()
                    ),
                )
                .with_details(json!({ "upstream": upstream.name, "max_concurrency": limit.limit }))
            })?),
            None => None,
        };
        let started = Instant::now();
        let deadline = started + request.timeout;
        let retry = &upstream.retry;
        let mut attempt = 0;
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let result = match tokio::time::timeout(left, self.exchange(&request)).await {
                Ok(result) => result,
                Err(_) => Err(Failure::Timeout),
            };
            let again = match &result {
                Err(failure) => {
                    failure.retryable()
                        && attempt < retry.retries
                        && retry.applies_to(&request.method)
                }
                Ok(_) => false,
            };
            let delay = retry.delay(attempt);
            if !again || Instant::now() + delay >= deadline {
                break result;
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        };
        let status = match &result {
            Ok(answer) => answer.status.to_string(),
            Err(failure) => failure.metric_status(),
        };
        self.metrics
            .record_upstream(&upstream.name, &status, started.elapsed());
        upstream
            .breaker
            .record(!matches!(&result, Err(failure) if failure.counts_against_upstream()));
        result.map_err(|failure| failure.into_error(&upstream, request.timeout))
    }

    async fn exchange(&self, request: &RenderedRequest) -> Result<UpstreamAnswer, Failure> {
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone())
            .headers(request.headers.clone());
        if let Some(body) = &request.body {
            builder = builder.body(serde_json::to_vec(body).unwrap_or_default());
        }
        let mut response = builder.send().await.map_err(|e| {
            if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Broken
            }
        })?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE);
        let retry_after = header(RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let limit = request.upstream.max_response_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(Failure::TooLarge);
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| Failure::Broken)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let answer = UpstreamAnswer {
            status,
            content_type,
            body: body.freeze(),
            retry_after,
        };
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(Failure::Status(answer))
        }
    }
}

/// The start of a body as text, cut on a character boundary.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    text.trim_end_matches('\u{fffd}').to_owned()
}
