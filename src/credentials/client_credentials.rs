//! The OAuth 2.0 client credentials grant for one upstream: one token, fetched on first use,
//! cached and refreshed once 80 % of its lifetime has passed, with one request in flight
//! however many calls want it ([`Grant`]).

use super::grant::{CacheKey, Fields, Grant, Token, scope_and_audience};
use super::token_endpoint::TokenEndpoint;
use crate::error::CallError;
use crate::metrics::Metrics;
use std::sync::Arc;

/// The key of the grant's one token.
const THE_TOKEN: CacheKey = [0; 32];

/// `auth.oauth2_client_credentials` of one upstream, with its token cache.
#[derive(Debug)]
pub struct ClientCredentials {
    grant: Grant,
}

impl ClientCredentials {
    /// The grant for `upstream`; `scopes` are sent space-separated.
    pub fn new(
        upstream: String,
        endpoint: TokenEndpoint,
        scopes: &[String],
        audience: Option<String>,
    ) -> Self {
        let mut fields: Fields = vec![("grant_type", "client_credentials".to_owned())];
        fields.extend(scope_and_audience(scopes, audience.as_deref()));
        Self {
            grant: Grant::new(upstream, endpoint, fields),
        }
    }

    /// The grant and its cache.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The key the token is cached under (to drop it on a 401).
    pub fn key(&self) -> CacheKey {
        THE_TOKEN
    }

    /// A token to send: the cached one, or one fetched now (a single fetch for all callers).
    pub async fn token(
        &self,
        client: &crate::forward::UpstreamClient,
        metrics: &Arc<Metrics>,
    ) -> Result<Token, CallError> {
        self.grant
            .token(THE_TOKEN, Fields::new(), client, metrics)
            .await
    }
}
