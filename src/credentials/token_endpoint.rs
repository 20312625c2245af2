//! One OAuth 2.0 token request (RFC 6749 §3.2): a form POST with the gateway's client
//! credentials, its answer checked and turned into a token, every failure into an
//! `upstream_error` that names the token endpoint and never the secret.

use crate::error::{CallError, ErrorCode};
use crate::metrics::Metrics;
use base64::Engine;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// Lifetime assumed when the token endpoint gives no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The largest token answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How the gateway authenticates to the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret (`client_secret_basic`).
    Basic,
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post,
}

/// A token endpoint and the gateway's client credentials there.
#[derive(PartialEq, Eq)]
pub struct TokenEndpoint {
    /// The token endpoint URL.
    pub url: Url,
    /// The gateway's client id.
    pub client_id: String,
    client_secret: String,
    /// How the credentials are sent.
    pub client_auth: ClientAuth,
    /// Time allowed for one request.
    pub timeout: Duration,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// An access token as issued.
#[derive(Clone)]
pub struct Issued {
    /// `Bearer <token>`, marked sensitive.
    pub header: HeaderValue,
    /// How long it is valid from now.
    pub lifetime: Duration,
}

impl TokenEndpoint {
    /// A token endpoint; the secret is kept only here.
    pub fn new(
        url: Url,
        client_id: String,
        client_secret: String,
        client_auth: ClientAuth,
        timeout: Duration,
    ) -> Self {
        Self {
            url,
            client_id,
            client_secret,
            client_auth,
            timeout,
        }
    }

    /// Requests a token with these form fields (the grant and its parameters), for the
    /// upstream `upstream`; counts the outcome in `toolgate_upstream_token_fetches_total`.
    pub async fn request(
        &self,
        client: &crate::forward::UpstreamClient,
        metrics: &Metrics,
        upstream: &str,
        form: &[(&str, &str)],
    ) -> Result<Issued, CallError> {
        let outcome = tokio::time::timeout(self.timeout, self.exchange(client, form)).await;
        let (label, result) = match outcome {
            Err(_) => (
                "timeout",
                Err(self.error(
                    upstream,
                    format!("did not answer within {} ms", self.timeout.as_millis()),
                    json!({ "timeout_ms": self.timeout.as_millis() as u64 }),
                )),
            ),
            Ok(Err(Failure::Unreachable)) => (
                "unreachable",
                Err(self.error(upstream, "could not be reached".into(), Value::Null)),
            ),
            Ok(Err(Failure::Refused { status, said })) => {
                let reason = match &said {
                    Some(code) => format!("refused the token request: HTTP {status} {code}"),
                    None => format!("refused the token request: HTTP {status}"),
                };
                let details = json!({ "status": status, "oauth_error": said });
                ("refused", Err(self.error(upstream, reason, details)))
            }
            Ok(Err(Failure::Unusable(why))) => (
                "refused",
                Err(self.error(upstream, format!("answered {why}"), Value::Null)),
            ),
            Ok(Ok(issued)) => ("ok", Ok(issued)),
        };
        metrics.record_token_fetch(upstream, label);
        if let Err(error) = &result {
            tracing::warn!(upstream, token_url = %self.url, error = %error.message, "token request failed");
        }
        result
    }

    fn error(&self, upstream: &str, reason: String, mut details: Value) -> CallError {
        let mut all = json!({ "upstream": upstream, "token_url": self.url.as_str() });
        if let (Some(all), Some(extra)) = (all.as_object_mut(), details.as_object_mut()) {
            all.append(extra);
        }
        CallError::new(
            ErrorCode::UpstreamError,
            format!(
                "the token endpoint {} of upstream '{upstream}' {reason}",
                self.url
            ),
        )
        .with_details(all)
    }

    async fn exchange(
        &self,
        client: &crate::forward::UpstreamClient,
        form: &[(&str, &str)],
    ) -> Result<Issued, Failure> {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = http::Request::new(crate::forward::client::RequestBody::default());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() =
            http::Uri::try_from(self.url.as_str()).map_err(|_| Failure::Unreachable)?;
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        match self.client_auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: both parts form-encoded before Base64.
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!(
                    "{}:{}",
                    encode(&self.client_id),
                    encode(&self.client_secret)
                );
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                let mut value = HeaderValue::from_str(&format!("Basic {basic}"))
                    .map_err(|_| Failure::Unusable("nothing (bad client credentials)".into()))?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
            ClientAuth::Post => {
                fields.push(("client_id", &self.client_id));
                fields.push(("client_secret", &self.client_secret));
            }
        }
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        *request.body_mut() = form.into_bytes().into();
        let answered = client
            .send(request)
            .await
            .map_err(|_| Failure::Unreachable)?;
        let response = answered.response;
        let status = response.status().as_u16();
        let coding = crate::forward::body_coding(response.headers())
            .map_err(|coding| Failure::Unusable(format!("with Content-Encoding '{coding}'")))?;
        let mut body =
            crate::forward::AnswerBody::new(response.into_body(), coding, answered.lease);
        let mut bytes = Vec::new();
        while let Some(chunk) = body.chunk().await.map_err(|_| Failure::Unreachable)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(Failure::Unusable("more than 64 KiB".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            let said = answer
                .as_ref()
                .and_then(|a| a.get("error"))
                .and_then(Value::as_str)
                .map(|code| code.chars().take(64).collect());
            return Err(Failure::Refused { status, said });
        }
        let answer =
            answer.ok_or_else(|| Failure::Unusable("something that is not JSON".into()))?;
        issued(&answer).map_err(Failure::Unusable)
    }
}

/// The token of a successful answer.
fn issued(answer: &Value) -> Result<Issued, String> {
    let token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("without an access_token")?;
    let kind = answer
        .get("token_type")
        .and_then(Value::as_str)
        .unwrap_or("Bearer");
    // RFC 8693 answers `N_A` for tokens that are not access tokens but still used as such.
    if !kind.eq_ignore_ascii_case("bearer") && kind != "N_A" {
        return Err(format!(
            "a token of type '{}', not Bearer",
            kind.chars().take(32).collect::<String>()
        ));
    }
    let lifetime = match answer.get("expires_in") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|secs| secs.is_finite() && *secs > 0.0 && *secs < 3.0e8)
            .map(Duration::from_secs_f64),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok().map(Duration::from_secs),
        _ => Some(DEFAULT_LIFETIME),
    }
    .filter(|d| !d.is_zero() && d.as_secs() < 10 * 365 * 24 * 3600)
    .ok_or("an invalid expires_in")?;
    let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "a token with characters not allowed in a header".to_owned())?;
    header.set_sensitive(true);
    Ok(Issued { header, lifetime })
}

enum Failure {
    Unreachable,
    Refused { status: u16, said: Option<String> },
    Unusable(String),
}
