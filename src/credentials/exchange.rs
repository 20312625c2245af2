//! OAuth 2.0 token exchange (RFC 8693) for one upstream: the JWT the caller authenticated
//! with is the `subject_token`, traded for a token issued for the upstream's audience. The
//! results are cached per (SHA-256 of the caller's token, audience) until 80 % of their
//! lifetime. Only JWT callers can be exchanged; the caller's token itself is never sent to the
//! upstream.

use super::client_credentials::Token;
use super::token_endpoint::TokenEndpoint;
use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use crate::metrics::Metrics;
use reqwest::header::HeaderValue;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Most exchanged tokens kept; past it, expired ones are dropped, then all.
const MAX_CACHED: usize = 10_000;
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// `auth.token_exchange` of one upstream, with its cache.
pub struct TokenExchange {
    upstream: String,
    endpoint: TokenEndpoint,
    scope: Option<String>,
    audience: Option<String>,
    cache: Mutex<HashMap<[u8; 32], Token>>,
    serials: AtomicU64,
}

impl std::fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchange")
            .field("upstream", &self.upstream)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl TokenExchange {
    /// The exchange for `upstream`.
    pub fn new(
        upstream: String,
        endpoint: TokenEndpoint,
        scopes: &[String],
        audience: Option<String>,
    ) -> Self {
        Self {
            upstream,
            endpoint,
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
            audience,
            cache: Mutex::default(),
            serials: AtomicU64::new(0),
        }
    }

    /// The token endpoint (for descriptions; never the secret).
    pub fn endpoint(&self) -> &TokenEndpoint {
        &self.endpoint
    }

    /// The upstream token for `caller` (cached or exchanged now) and its cache key.
    pub async fn token(
        &self,
        caller: &Caller,
        client: &reqwest::Client,
        metrics: &Metrics,
    ) -> Result<([u8; 32], HeaderValue), CallError> {
        let subject = caller.token.as_ref().ok_or_else(|| {
            CallError::new(
                ErrorCode::Unauthorized,
                format!(
                    "upstream '{}' needs the caller's OAuth token (token exchange): call with a JWT, not an API key",
                    self.upstream
                ),
            )
            .with_details(json!({ "upstream": self.upstream, "needs": "jwt" }))
        })?;
        let key = self.key(subject.expose());
        let now = Instant::now();
        if let Some(token) = self.cached(&key).filter(|t| !t.due(now)) {
            return Ok((key, token.header));
        }
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject.expose()),
            ("subject_token_type", ACCESS_TOKEN),
            ("requested_token_type", ACCESS_TOKEN),
        ];
        if let Some(audience) = &self.audience {
            form.push(("audience", audience));
            form.push(("resource", audience));
        }
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let issued = self
            .endpoint
            .request(client, metrics, &self.upstream, &form)
            .await?;
        let token = Token::issued(issued, self.serials.fetch_add(1, Ordering::Relaxed));
        let header = token.header.clone();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, t| !t.due(now));
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, token);
        Ok((key, header))
    }

    /// Drops the token the upstream refused (401).
    pub fn refused(&self, key: &[u8; 32]) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Token> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// SHA-256 of the caller's token and the audience: the cache key (the token itself is not
    /// kept).
    fn key(&self, subject: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(subject.as_bytes());
        hasher.update([0]);
        hasher.update(self.audience.as_deref().unwrap_or("").as_bytes());
        hasher.finalize().into()
    }
}
