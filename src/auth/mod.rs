//! Authentication: who is calling, from `Authorization: Bearer <api key or JWT>`.
//!
//! API keys are compared as SHA-256 digests in constant time; JWTs are verified against a JWKS
//! (fetched and cached) or an HS256 secret. Both may be enabled at once: a bearer value that
//! looks like a JWT (three dot-separated parts) is checked as one when JWTs are configured.

pub mod api_key;
pub mod jwt;

use crate::caller::Caller;
use api_key::ApiKey;
use jwt::JwtVerifier;
use std::fmt;

/// Why a request could not be authenticated. Messages never include the credential.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing credentials: send Authorization: Bearer <api key or token>")]
    Missing,
    /// Not `Bearer <credential>`.
    #[error("malformed Authorization header: expected 'Bearer <credential>'")]
    Malformed,
    /// Unknown key, or a token that failed verification (the reason is safe to show).
    #[error("invalid credentials: {0}")]
    Invalid(String),
    /// Valid credentials without the required scope.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
}

/// The compiled `auth:` section.
pub struct Authenticator {
    /// API keys.
    pub api_keys: Vec<ApiKey>,
    /// JWT verification, when configured.
    pub jwt: Option<JwtVerifier>,
    /// The tier of callers whose credential names none.
    pub default_tier: String,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field(
                "api_keys",
                &self.api_keys.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .field("jwt", &self.jwt.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Whether the gateway is open (no credentials configured): every caller is anonymous.
    pub fn is_open(&self) -> bool {
        self.api_keys.is_empty() && self.jwt.is_none()
    }

    /// Identifies the caller of a request from its `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        if self.is_open() {
            return Ok(Caller::anonymous(&self.default_tier));
        }
        let header = authorization.ok_or(AuthError::Missing)?;
        let text = std::str::from_utf8(header).map_err(|_| AuthError::Malformed)?;
        let (scheme, credential) = text.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        let credential = credential.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() {
            return Err(AuthError::Malformed);
        }
        if let Some(caller) = api_key::find(&self.api_keys, credential) {
            return Ok(caller);
        }
        match &self.jwt {
            Some(verifier) if looks_like_jwt(credential) => {
                verifier.verify(credential, &self.default_tier).await
            }
            _ => Err(AuthError::Invalid("unknown API key".into())),
        }
    }
}

fn looks_like_jwt(credential: &str) -> bool {
    credential.split('.').count() == 3
}
