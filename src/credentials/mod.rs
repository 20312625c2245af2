//! Upstream credentials obtained per call (`upstreams.<name>.auth`), applied to a rendered
//! request just before it is forwarded: an OAuth 2.0 client-credentials token, a token
//! exchanged for the caller's JWT (RFC 8693), or an identity assertion signed by the gateway.
//! The caller's own token is never forwarded: it is at most the `subject_token` of an
//! exchange.

pub mod assertion;
pub mod client_credentials;
pub mod exchange;
pub mod token_endpoint;

use crate::caller::Caller;
use crate::error::CallError;
use crate::metrics::Metrics;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
use serde_json::{Value, json};
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
    /// A client-credentials token, by serial.
    Token(u64),
    /// An exchanged token, by cache key.
    Exchanged([u8; 32]),
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
        client: &reqwest::Client,
        metrics: &Arc<Metrics>,
    ) -> Result<Applied, CallError> {
        match self {
            Self::ClientCredentials(grant) => {
                let token = grant.token(client, metrics).await?;
                headers.insert(AUTHORIZATION, token.header);
                Ok(Applied::Token(token.serial))
            }
            Self::TokenExchange(exchange) => {
                let (key, header) = exchange.token(caller, client, metrics).await?;
                headers.insert(AUTHORIZATION, header);
                Ok(Applied::Exchanged(key))
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
        match (self, applied) {
            (Self::ClientCredentials(grant), Applied::Token(serial)) => grant.refused(*serial),
            (Self::TokenExchange(exchange), Applied::Exchanged(key)) => exchange.refused(key),
            _ => {}
        }
    }

    /// A description for `GET /admin/config`: the kind and endpoint, never a secret.
    pub fn describe(&self) -> Value {
        match self {
            Self::ClientCredentials(grant) => json!({
                "oauth2_client_credentials": {
                    "token_url": grant.endpoint().url.as_str(),
                    "client_id": grant.endpoint().client_id,
                    "client_secret": "***",
                }
            }),
            Self::TokenExchange(exchange) => json!({
                "token_exchange": {
                    "token_url": exchange.endpoint().url.as_str(),
                    "client_id": exchange.endpoint().client_id,
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
