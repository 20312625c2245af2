//! OAuth 2.0 token exchange (RFC 8693) for one upstream: the JWT the caller authenticated
//! with is the `subject_token`, traded for a token issued for the upstream's audience. The
//! results are cached per (SHA-256 of the caller's token, audience) until 80 % of their
//! lifetime, with one exchange in flight per caller token ([`Grant`]). Only JWT callers can
//! be exchanged; the caller's token itself is never sent to the upstream.

use super::grant::{CacheKey, Fields, Grant, Token, scope_and_audience};
use super::token_endpoint::TokenEndpoint;
use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use crate::metrics::Metrics;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// `auth.token_exchange` of one upstream, with its cache.
#[derive(Debug)]
pub struct TokenExchange {
    grant: Grant,
    audience: Option<String>,
}

impl TokenExchange {
    /// The exchange for `upstream`.
    pub fn new(
        upstream: String,
        endpoint: TokenEndpoint,
        scopes: &[String],
        audience: Option<String>,
    ) -> Self {
        let mut fields: Fields = vec![
            ("grant_type", TOKEN_EXCHANGE.to_owned()),
            ("subject_token_type", ACCESS_TOKEN.to_owned()),
            ("requested_token_type", ACCESS_TOKEN.to_owned()),
        ];
        fields.extend(scope_and_audience(scopes, audience.as_deref()));
        Self {
            grant: Grant::new(upstream, endpoint, fields),
            audience,
        }
    }

    /// The grant and its cache.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The upstream token for `caller` (cached or exchanged now) and its cache key.
    pub async fn token(
        &self,
        caller: &Caller,
        client: &crate::forward::UpstreamClient,
        metrics: &Arc<Metrics>,
    ) -> Result<(CacheKey, Token), CallError> {
        let upstream = self.grant.upstream();
        let subject = caller.token.as_ref().ok_or_else(|| {
            CallError::new(
                ErrorCode::Unauthorized,
                format!(
                    "upstream '{upstream}' needs the caller's OAuth token (token exchange): call with a JWT, not an API key"
                ),
            )
            .with_details(json!({ "upstream": upstream, "needs": "jwt" }))
        })?;
        let key = self.key(subject.expose());
        let subject_token = vec![("subject_token", subject.expose().to_owned())];
        let token = self
            .grant
            .token(key, subject_token, client, metrics)
            .await?;
        Ok((key, token))
    }

    /// SHA-256 of the caller's token and the audience: the cache key (the token itself is not
    /// kept once exchanged).
    fn key(&self, subject: &str) -> CacheKey {
        let mut hasher = Sha256::new();
        hasher.update(subject.as_bytes());
        hasher.update([0]);
        hasher.update(self.audience.as_deref().unwrap_or("").as_bytes());
        hasher.finalize().into()
    }
}
