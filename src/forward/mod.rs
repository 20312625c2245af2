//! Sending a rendered request upstream with one shared, pooled client (hyper), guarded by the
//! upstream's circuit breaker and concurrency limit, retried (idempotent methods only) on
//! connection failures and 502/503/504.

mod body;
pub mod client;
mod connect;
mod dispatch;
pub mod dns;
mod pool;

pub use body::{AnswerBody, BodyBroken, Coding, coding as body_coding};
pub use client::{Answered, UpstreamClient};
pub use dispatch::Dispatch;

use crate::error::{CallError, ErrorCode};
use crate::metrics::Metrics;
use crate::render::RenderedRequest;
use crate::upstream::Upstream;
use bytes::{Bytes, BytesMut};
use client::RequestBody;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many characters of an upstream error body are quoted in the error message.
const SHORT_EXCERPT_CHARS: usize = 200;
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
    /// Every header of the answer (a long-running operation reads `Location` from it).
    pub headers: HeaderMap,
}

impl UpstreamAnswer {
    /// Whether the body should be read as JSON (by content type, or by its first byte when the
    /// upstream sent no content type).
    pub fn looks_like_json(&self) -> bool {
        match &self.content_type {
            Some(_) => self.labelled_json(),
            None => matches!(
                self.body.iter().find(|b| !b.is_ascii_whitespace()),
                Some(b'{' | b'[')
            ),
        }
    }

    /// Whether the `Content-Type` says JSON (`application/json` or a `+json` type).
    pub fn labelled_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|ct| {
            let ct = ct.as_bytes();
            let prefix = b"application/json";
            ct.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
                || ct.windows(5).any(|w| w.eq_ignore_ascii_case(b"+json"))
        })
    }
}

/// Why one exchange failed, before it becomes a [`CallError`].
#[derive(Debug)]
enum Failure {
    /// No connection could be made.
    Connect,
    /// The TLS handshake failed, for this reason.
    Tls(String),
    /// The request or the answer broke off.
    Broken,
    /// The connection closed before any byte of an answer: typically a pooled keep-alive
    /// connection the upstream closed as the request went out. Sent again like `Connect`
    /// (idempotent methods only), since the upstream never answered it.
    ClosedBeforeAnswer,
    /// No answer within the time left.
    Timeout,
    /// The answer was larger than `max_response_bytes`.
    TooLarge,
    /// A non-2xx answer.
    Status(UpstreamAnswer),
    /// The answer's `Content-Encoding` (what is left after gzip and deflate are decoded).
    Encoded(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Self::Connect | Self::ClosedBeforeAnswer => true,
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
            Self::Tls(reason) => CallError::new(
                ErrorCode::UpstreamError,
                format!("TLS handshake with upstream '{name}' failed: {reason}"),
            )
            .with_details(json!({ "upstream": name, "tls": reason })),
            Self::Broken | Self::ClosedBeforeAnswer => CallError::new(
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
            Self::Encoded(encoding) => CallError::new(
                ErrorCode::UpstreamError,
                format!(
                    "upstream '{name}' answered with Content-Encoding '{encoding}', which toolgate does not decode (gzip and deflate are decoded)"
                ),
            )
            .with_details(json!({ "upstream": name, "content_encoding": encoding })),
            Self::Status(answer) => {
                // The upstream's own words (e.g. which parameter it refused) help the model
                // correct its call, so a short form goes into the message too.
                let said = excerpt(&answer.body);
                let short: String = said.chars().take(SHORT_EXCERPT_CHARS).collect();
                let message = if short.trim().is_empty() {
                    format!("upstream '{name}' answered HTTP {}", answer.status)
                } else {
                    format!(
                        "upstream '{name}' answered HTTP {}: {}",
                        answer.status,
                        short.trim()
                    )
                };
                let mut error =
                    CallError::new(ErrorCode::UpstreamError, message).with_details(json!({
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
    client: UpstreamClient,
    metrics: Arc<Metrics>,
}

impl Forwarder {
    /// Builds the shared client (see [`UpstreamClient::build`]): connection pool, rustls, no
    /// proxy from the environment, no redirects, gzip and deflate answers decoded as they are
    /// read (the size cap counts decoded bytes, so a compressed answer cannot expand past it),
    /// and hostnames resolving to link-local addresses refused unless `allow_link_local`.
    pub fn new(metrics: Arc<Metrics>, allow_link_local: bool) -> Result<Self, client::ClientError> {
        let client = UpstreamClient::build(
            &client::TlsSettings::default(),
            &client::ProxySetting::Direct,
            allow_link_local,
        )?;
        Ok(Self { client, metrics })
    }

    /// The client calls to `upstream` use: its own when it has TLS settings, else the shared
    /// one. Its token endpoint is reached with the same client.
    pub fn client_for<'a>(&'a self, upstream: &'a Upstream) -> &'a UpstreamClient {
        upstream.client.as_ref().unwrap_or(&self.client)
    }

    /// Sends the request with the upstream's breaker, concurrency limit and retries (idempotent
    /// methods only), mapping every failure to a CONTRACT §4 code: `upstream_timeout` past the
    /// timeout, `upstream_error` for connection and TLS failures, 4xx/5xx answers, answers over
    /// `max_response_bytes`, an open circuit or a full queue. With `streams` set (to whether
    /// the tool streams), a successful answer that is a line stream (an NDJSON content type,
    /// or any non-JSON answer of a streaming tool) is handed over as a [`LineStream`] as soon
    /// as its head arrives; retries happen before the head only, and the timeout covers the
    /// whole stream. With `None`, every answer is read whole.
    pub async fn exchange_with_retries(
        &self,
        request: RenderedRequest,
        streams: Option<bool>,
    ) -> Result<Answer, CallError> {
        let upstream = request.upstream.clone();
        if let (Some(check), Some(host)) = (&upstream.target_check, request.url.host_str()) {
            let port = request.url.port_or_known_default().unwrap_or(80);
            if let Err(why) = check.check(host, port).await {
                tracing::warn!(upstream = %upstream.name, %host, "refused: the upstream host resolves to {why}");
                return Err(CallError::new(
                    ErrorCode::UpstreamError,
                    format!(
                        "upstream '{}' resolves to {why}, which is refused",
                        upstream.name
                    ),
                )
                .with_details(json!({ "upstream": upstream.name })));
            }
        }
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
        // From here on the call is accounted for whatever happens, including the caller
        // dropping it (a cancelled request): see `Settle`.
        let mut settle = Settle {
            upstream: upstream.clone(),
            metrics: self.metrics.clone(),
            started: Instant::now(),
            done: false,
            _slot: None,
        };
        if let Some(limit) = &upstream.concurrency {
            match limit.acquire().await {
                Some(slot) => settle._slot = Some(slot),
                None => {
                    // Nothing was sent: the breaker learnt nothing either way.
                    settle.done = true;
                    upstream.breaker.release();
                    return Err(CallError::new(
                        ErrorCode::UpstreamError,
                        format!(
                            "upstream '{}' is busy: {} calls in flight, none finished within {} ms",
                            upstream.name,
                            limit.limit,
                            limit.queue_timeout.as_millis()
                        ),
                    )
                    .with_details(
                        json!({ "upstream": upstream.name, "max_concurrency": limit.limit }),
                    ));
                }
            }
        }
        settle.started = Instant::now();
        let deadline = settle.started + request.timeout;
        let retry = &upstream.retry;
        let mut attempt = 0;
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let span = crate::telemetry::upstream_call(
                request.method.as_str(),
                &request.url,
                &upstream.name,
                attempt,
            );
            let result = match crate::telemetry::in_span!(
                span.clone(),
                tokio::time::timeout(left, self.exchange(&request, streams))
            ) {
                Ok(result) => result,
                Err(_) => Err(Failure::Timeout),
            };
            if let Err(failure) = &result {
                crate::telemetry::record_upstream_failure(&span, &failure.metric_status());
            }
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
        match result {
            Ok(Exchanged::Whole(answer)) => {
                settle.finish(&answer.status.to_string(), true);
                Ok(Answer::Whole(answer))
            }
            Ok(Exchanged::Lines {
                body,
                status,
                ndjson,
            }) => Ok(Answer::Lines(LineStream {
                status,
                ndjson,
                body,
                buf: BytesMut::new(),
                scanned: 0,
                ended: false,
                deadline,
                timeout: request.timeout,
                settle,
            })),
            Err(failure) => {
                settle.finish(&failure.metric_status(), !failure.counts_against_upstream());
                Err(failure.into_error(&upstream, request.timeout))
            }
        }
    }

    async fn exchange(
        &self,
        request: &RenderedRequest,
        streams: Option<bool>,
    ) -> Result<Exchanged, Failure> {
        let answered = self
            .client_for(&request.upstream)
            .send(http_request(request).map_err(|_| Failure::Broken)?)
            .await
            .map_err(|e| {
                if let Some(reason) = client::tls_failure(&e) {
                    Failure::Tls(reason)
                } else if matches!(e, client::SendError::Connect(_)) {
                    Failure::Connect
                } else if closed_before_answer(&e) {
                    Failure::ClosedBeforeAnswer
                } else {
                    Failure::Broken
                }
            })?;
        let (parts, incoming) = answered.response.into_parts();
        let status = parts.status.as_u16();
        crate::telemetry::record_upstream_status(status);
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        // gzip and deflate are decoded; any other coding would be handed on as mojibake.
        let coding = body::coding(&parts.headers).map_err(Failure::Encoded)?;
        let content_type = header(CONTENT_TYPE);
        let retry_after = header(RETRY_AFTER).and_then(|v| parse_retry_after(&v));
        let mut body = AnswerBody::new(incoming, coding, answered.lease);
        let success = (200..300).contains(&status);
        if let Some(tool_streams) = streams
            && success
            && let Some(ndjson) = line_stream_kind(content_type.as_deref(), tool_streams)
        {
            // Handed over before the body: its size is bounded per line, not in total.
            return Ok(Exchanged::Lines {
                body,
                status,
                ndjson,
            });
        }
        let limit = request.upstream.max_response_bytes;
        // A coded answer's length is the compressed one: only the decoded bytes count.
        let declared = (coding == Coding::Identity)
            .then(|| header(CONTENT_LENGTH)?.trim().parse::<u64>().ok())
            .flatten();
        if declared.is_some_and(|len| len > limit) {
            return Err(Failure::TooLarge);
        }
        let body = read_whole(&mut body, limit, declared.unwrap_or(0)).await?;
        let mut headers = parts.headers;
        if coding != Coding::Identity {
            // What the caller sees is the decoded answer.
            headers.remove(http::header::CONTENT_ENCODING);
            headers.remove(CONTENT_LENGTH);
        }
        let answer = UpstreamAnswer {
            status,
            content_type,
            body,
            retry_after,
            headers,
        };
        if success {
            Ok(Exchanged::Whole(answer))
        } else {
            Err(Failure::Status(answer))
        }
    }
}

/// The hyper request of a rendered one, with the trace context of the current span.
fn http_request(
    request: &RenderedRequest,
) -> Result<http::Request<RequestBody>, http::uri::InvalidUri> {
    let uri = http::Uri::try_from(request.url.as_str())?;
    let body = match &request.body {
        Some(body) => Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
        None => Bytes::new(),
    };
    let mut http = http::Request::new(RequestBody::new(body));
    *http.method_mut() = request.method.clone();
    *http.uri_mut() = uri;
    *http.headers_mut() = request.headers.clone();
    crate::trace::inject(http.headers_mut());
    Ok(http)
}

/// The whole body, at most `limit` bytes (decoded); `expected` is the declared length.
async fn read_whole(body: &mut AnswerBody, limit: u64, expected: u64) -> Result<Bytes, Failure> {
    let Some(first) = body.chunk().await.map_err(|_| Failure::Broken)? else {
        return Ok(Bytes::new());
    };
    if first.len() as u64 > limit {
        return Err(Failure::TooLarge);
    }
    let Some(second) = body.chunk().await.map_err(|_| Failure::Broken)? else {
        // The usual small answer: one chunk, kept without a copy.
        return Ok(first);
    };
    let mut whole = BytesMut::with_capacity(expected.min(limit) as usize);
    whole.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if (whole.len() + chunk.len()) as u64 > limit {
            return Err(Failure::TooLarge);
        }
        whole.extend_from_slice(&chunk);
        next = body.chunk().await.map_err(|_| Failure::Broken)?;
    }
    Ok(whole.freeze())
}

/// Whether `error` says the connection closed before the answer's head was complete
/// (hyper's "connection closed before message completed").
fn closed_before_answer(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        current = error.source();
    }
    false
}

/// A successful upstream answer.
#[derive(Debug)]
pub enum Answer {
    /// Read in full, within `max_response_bytes`.
    Whole(UpstreamAnswer),
    /// A line stream, read as the upstream produces it.
    Lines(LineStream),
}

/// What one exchange produced before retries are considered.
enum Exchanged {
    Whole(UpstreamAnswer),
    Lines {
        body: AnswerBody,
        status: u16,
        ndjson: bool,
    },
}

/// Whether an answer with this content type is read as a stream of lines, and if so whether
/// each line is JSON (`Some(true)`: NDJSON / JSON Lines) or text (`Some(false)`). NDJSON is
/// always streamed; other non-JSON answers only for tools with `response.stream: true`.
pub fn line_stream_kind(content_type: Option<&str>, tool_streams: bool) -> Option<bool> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some(
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonl"
            | "application/jsonlines"
            | "application/x-jsonlines",
        ) => Some(true),
        Some(ct) if ct == "application/json" || ct.ends_with("+json") => None,
        _ if tool_streams => Some(false),
        _ => None,
    }
}

/// Accounts for one admitted upstream call exactly once: its latency and status in the
/// metrics, its outcome in the circuit breaker, and its concurrency slot. A call dropped
/// before it finished (the client cancelled or went away) is counted as `cancelled` and
/// gives a breaker probe back.
#[derive(Debug)]
struct Settle {
    upstream: Arc<Upstream>,
    metrics: Arc<Metrics>,
    started: Instant,
    done: bool,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Settle {
    fn finish(&mut self, status: &str, healthy: bool) {
        if self.done {
            return;
        }
        self.done = true;
        self.metrics
            .record_upstream(&self.upstream.name, status, self.started.elapsed());
        self.upstream.breaker.record(healthy);
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        if !self.done {
            self.metrics
                .record_upstream(&self.upstream.name, "cancelled", self.started.elapsed());
            self.upstream.breaker.release();
        }
    }
}

/// An upstream answer read line by line as it arrives (NDJSON, JSON Lines, or text lines of a
/// streaming tool). Memory stays bounded: only the current partial line is buffered, and a
/// line longer than `max_response_bytes` is an `upstream_error`. The call's timeout covers
/// the whole stream. Dropping it closes the upstream connection.
#[derive(Debug)]
pub struct LineStream {
    /// The upstream's HTTP status (2xx).
    pub status: u16,
    /// Whether the lines are JSON (an NDJSON content type) rather than text.
    pub ndjson: bool,
    body: AnswerBody,
    buf: BytesMut,
    /// How much of `buf` is known to hold no newline.
    scanned: usize,
    ended: bool,
    deadline: Instant,
    timeout: Duration,
    settle: Settle,
}

impl LineStream {
    /// The longest line accepted: the upstream's `max_response_bytes`.
    pub fn max_line_bytes(&self) -> u64 {
        self.settle.upstream.max_response_bytes
    }

    /// The complete, non-blank lines that have arrived (without their line ending), waiting
    /// for the upstream when none is there yet; `None` once the answer has ended.
    pub async fn next_lines(&mut self) -> Result<Option<Vec<Bytes>>, CallError> {
        loop {
            if let Some(at) = self.buf[self.scanned..].iter().rposition(|&b| b == b'\n') {
                let chunk = self.buf.split_to(self.scanned + at + 1).freeze();
                self.scanned = 0;
                let lines = split_lines(&chunk);
                if !lines.is_empty() {
                    return Ok(Some(lines));
                }
                continue;
            }
            self.scanned = self.buf.len();
            if self.buf.len() as u64 > self.settle.upstream.max_response_bytes {
                return Err(self.fail_line_too_long());
            }
            if self.ended {
                if self.buf.is_empty() {
                    let status = self.status.to_string();
                    self.settle.finish(&status, true);
                    return Ok(None);
                }
                let rest = self.buf.split().freeze();
                self.scanned = 0;
                let lines = split_lines(&rest);
                if !lines.is_empty() {
                    return Ok(Some(lines));
                }
                continue;
            }
            let chunk = match tokio::time::timeout_at(self.deadline.into(), self.body.chunk()).await
            {
                Err(_) => return Err(self.fail(Failure::Timeout)),
                Ok(Err(_)) => return Err(self.fail(Failure::Broken)),
                Ok(Ok(None)) => {
                    self.ended = true;
                    continue;
                }
                Ok(Ok(Some(chunk))) => chunk,
            };
            if self.buf.is_empty() {
                // The common case: whole lines straight from the chunk, no copy.
                if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
                    let lines = split_lines(&chunk.slice(..=at));
                    self.buf.extend_from_slice(&chunk[at + 1..]);
                    if !lines.is_empty() {
                        return Ok(Some(lines));
                    }
                    continue;
                }
            }
            self.buf.extend_from_slice(&chunk);
        }
    }

    fn fail(&mut self, failure: Failure) -> CallError {
        self.ended = true;
        self.buf.clear();
        self.settle
            .finish(&failure.metric_status(), !failure.counts_against_upstream());
        failure.into_error(&self.settle.upstream, self.timeout)
    }

    fn fail_line_too_long(&mut self) -> CallError {
        self.ended = true;
        self.buf.clear();
        self.settle.finish("error", true);
        let upstream = &self.settle.upstream;
        CallError::new(
            ErrorCode::UpstreamError,
            format!(
                "upstream '{}' sent a line longer than {} bytes",
                upstream.name, upstream.max_response_bytes
            ),
        )
        .with_details(json!({
            "upstream": upstream.name,
            "max_response_bytes": upstream.max_response_bytes,
        }))
    }
}

/// The non-blank lines of `chunk` (which ends with a newline or is the last line), without
/// `\n` / `\r\n`, as slices of it.
fn split_lines(chunk: &Bytes) -> Vec<Bytes> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chunk.len() {
        let end = chunk[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(chunk.len(), |at| start + at);
        let mut line_end = end;
        if line_end > start && chunk[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        if chunk[start..line_end]
            .iter()
            .any(|b| !b.is_ascii_whitespace())
        {
            lines.push(chunk.slice(start..line_end));
        }
        start = end + 1;
    }
    lines
}

/// The longest wait passed on from an upstream's `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` as delay-seconds or an HTTP-date, capped at a day.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds.min(MAX_RETRY_AFTER.as_secs())),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The start of a body as text, cut on a character boundary.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    text.trim_end_matches('\u{fffd}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_without_endings_and_blank_lines_are_skipped() {
        let chunk = Bytes::from_static(b"{\"a\":1}\r\n\n  \n{\"b\":2}\nlast");
        assert_eq!(
            split_lines(&chunk),
            vec![
                Bytes::from_static(b"{\"a\":1}"),
                Bytes::from_static(b"{\"b\":2}"),
                Bytes::from_static(b"last"),
            ]
        );
        assert!(split_lines(&Bytes::from_static(b"\n\r\n")).is_empty());
    }

    #[test]
    fn line_streams_are_recognised_by_content_type() {
        for ct in [
            "application/x-ndjson",
            "application/x-ndjson; charset=utf-8",
            "Application/JSONL",
            "application/jsonlines",
        ] {
            assert_eq!(line_stream_kind(Some(ct), false), Some(true), "{ct}");
        }
        for ct in ["application/json", "application/problem+json"] {
            assert_eq!(line_stream_kind(Some(ct), true), None, "{ct}");
        }
        assert_eq!(line_stream_kind(Some("text/plain"), false), None);
        assert_eq!(line_stream_kind(Some("text/plain"), true), Some(false));
        assert_eq!(line_stream_kind(None, true), Some(false));
        assert_eq!(line_stream_kind(None, false), None);
    }
}
