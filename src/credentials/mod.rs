//! Upstream credentials obtained per call (`upstreams.<name>.auth`), applied to a rendered
//! request just before it is forwarded: an OAuth 2.0 client-credentials token, a token
//! exchanged for the caller's JWT (RFC 8693), or an identity assertion signed by the gateway.
//! The caller's own token is never forwarded: it is at most the `subject_token` of an
//! exchange.

pub mod assertion;
pub mod client_credentials;
pub mod exchange;
pub mod grant;
pub mod token_endpoint;

use crate::caller::Caller;
use crate::error::CallError;
use crate::metrics::Metrics;
use crate::upstream::Upstream;
use grant::CacheKey;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use assertion::AssertionSigner;
pub use client_credentials::ClientCredentials;
pub use exchange::TokenExchange;

/// How one upstream's calls are authenticated, besides its static headers.
#[derive(Clone, Debug)]
pub enum UpstreamAuth {
    /// `oauth2_client_credentials`: one token for the upstream.
    ClientCredentials(Arc<ClientCredentials>),
    /// `token_exchange`: a token per caller, exchanged for the caller's JWT.
    TokenExchange(Arc<TokenExchange>),
    /// `identity_assertion`: a JWT signed by the gateway naming the caller.
    IdentityAssertion(Arc<AssertionSigner>),
}

/// What was applied to one request, so that a 401 can drop exactly that token.
#[derive(Clone, Debug)]
pub enum Applied {
    /// A token of a grant (client credentials or token exchange): its cache key and serial.
    Token {
        /// Which of the grant's tokens.
        key: CacheKey,
        /// Which fetch of that token.
        serial: u64,
    },
    /// An assertion (made fresh for each call: nothing to drop).
    Assertion,
}

impl UpstreamAuth {
    /// The header the credential travels in (shown as `***` by `toolgate render`).
    pub fn header(&self) -> HeaderName {
        match self {
            Self::ClientCredentials(_) | Self::TokenExchange(_) => AUTHORIZATION,
            Self::IdentityAssertion(signer) => signer.header().clone(),
        }
    }

    /// Puts the credential for `caller` into `headers`, fetching or signing it as needed.
    pub async fn apply(
        &self,
        caller: &Caller,
        headers: &mut HeaderMap,
        client: &crate::forward::UpstreamClient,
        metrics: &Arc<Metrics>,
    ) -> Result<Applied, CallError> {
        match self {
            Self::ClientCredentials(grant) => {
                let token = grant.token(client, metrics).await?;
                headers.insert(AUTHORIZATION, token.header);
                Ok(Applied::Token {
                    key: grant.key(),
                    serial: token.serial,
                })
            }
            Self::TokenExchange(exchange) => {
                let (key, token) = exchange.token(caller, client, metrics).await?;
                headers.insert(AUTHORIZATION, token.header);
                Ok(Applied::Token {
                    key,
                    serial: token.serial,
                })
            }
            Self::IdentityAssertion(signer) => {
                headers.insert(signer.header().clone(), signer.sign(caller)?);
                Ok(Applied::Assertion)
            }
        }
    }

    /// Whether a 401 from the upstream is worth one retry with a fresh credential.
    pub fn retries_on_401(&self) -> bool {
        !matches!(self, Self::IdentityAssertion(_))
    }

    /// The upstream answered 401 to a request carrying `applied`: forget that credential.
    pub fn refused(&self, applied: &Applied) {
        if let (Some(grant), Applied::Token { key, serial }) = (self.grant(), applied) {
            grant.refused(key, *serial);
        }
    }

    /// The OAuth grant behind this credential, if it is one.
    fn grant(&self) -> Option<&grant::Grant> {
        match self {
            Self::ClientCredentials(grant) => Some(grant.grant()),
            Self::TokenExchange(exchange) => Some(exchange.grant()),
            Self::IdentityAssertion(_) => None,
        }
    }

    /// A description for `GET /admin/config`: the kind and endpoint, never a secret.
    pub fn describe(&self) -> Value {
        match self {
            Self::ClientCredentials(grant) => json!({
                "oauth2_client_credentials": {
                    "token_url": grant.grant().endpoint().url.as_str(),
                    "client_id": grant.grant().endpoint().client_id,
                    "client_secret": "***",
                }
            }),
            Self::TokenExchange(exchange) => json!({
                "token_exchange": {
                    "token_url": exchange.grant().endpoint().url.as_str(),
                    "client_id": exchange.grant().endpoint().client_id,
                    "client_secret": "***",
                }
            }),
            Self::IdentityAssertion(signer) => json!({
                "identity_assertion": {
                    "header": signer.header().as_str(),
                    "kid": signer.key_id(),
                }
            }),
        }
    }
}

/// Hands the tokens of the serving config's upstreams to the same upstreams of the config
/// replacing it (hot reload), for each whose grant sends the same token requests (same
/// token endpoint, client credentials, scopes, audience); a changed grant starts without
/// tokens.
pub fn carry_over_tokens(
    new: &BTreeMap<String, Arc<Upstream>>,
    serving: &BTreeMap<String, Arc<Upstream>>,
) {
    for (name, upstream) in new {
        let previous = serving.get(name).and_then(|u| u.auth.as_ref());
        if let (Some(grant), Some(previous)) = (
            upstream.auth.as_ref().and_then(UpstreamAuth::grant),
            previous.and_then(UpstreamAuth::grant),
        ) {
            grant.adopt(previous);
        }
    }
}
