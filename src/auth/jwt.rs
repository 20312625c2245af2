//! JWT bearer tokens (OAuth 2.0 resource server): signature, `iss`, `aud`, `exp`/`nbf`, pinned
//! algorithms; keys from a JWKS URL (cached) or an HS256 secret.

use super::AuthError;
use crate::caller::{BearerToken, Caller, CallerKind, ToolFilter};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// Where verification keys come from.
pub enum KeySource {
    /// A JWKS document, fetched on first use and again (at most once per `refresh_interval`)
    /// when a token names an unknown `kid`.
    Jwks {
        /// The JWKS URL.
        url: String,
        /// Minimum time between two fetches.
        refresh_interval: Duration,
    },
    /// A shared HS256 secret.
    Hs256(Vec<u8>),
}

/// How claims map to the caller.
pub struct ClaimMapping {
    /// Claim naming the caller (default `sub`).
    pub id: String,
    /// Claim naming the organisation.
    pub org: String,
    /// Claim naming the rate-limit tier.
    pub tier: String,
    /// Claim holding the scopes (a space-separated string or an array).
    pub scope: String,
    /// Tool allow-lists by claim (`auth.jwt.tools_by_claim`); empty: every tool.
    pub rules: Vec<ClaimRule>,
}

/// One `tools_by_claim` rule: callers whose `claim` is (or, for a list, contains) `equals`
/// may use the tools `tools` allows.
pub struct ClaimRule {
    /// The claim's name.
    pub claim: String,
    /// The value it must have or contain.
    pub equals: String,
    /// The tools it opens.
    pub tools: Arc<ToolFilter>,
}

impl ClaimRule {
    fn matches(&self, claims: &Value) -> bool {
        match claims.get(&self.claim) {
            Some(Value::String(value)) => *value == self.equals,
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(&self.equals)),
            Some(Value::Number(n)) => n.to_string() == self.equals,
            Some(Value::Bool(b)) => b.to_string() == self.equals,
            _ => false,
        }
    }
}

/// The scopes of a claim: a space-separated string (RFC 9068 `scope`) or an array (`scp`).
fn scopes_of(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Verifies JWTs for one issuer and audience.
pub struct JwtVerifier {
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    source: KeySource,
    claims: ClaimMapping,
    client: reqwest::Client,
    jwks: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl JwtVerifier {
    /// A verifier; `algorithms` are the only ones accepted (never `none`).
    pub fn new(
        issuer: String,
        audience: String,
        algorithms: Vec<Algorithm>,
        source: KeySource,
        claims: ClaimMapping,
    ) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            issuer,
            audience,
            algorithms,
            source,
            claims,
            client,
            jwks: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        }
    }

    /// The issuer, advertised as the authorization server.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The required audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Verifies a token and maps its claims to a caller.
    pub async fn verify(&self, token: &str, default_tier: &str) -> Result<Caller, AuthError> {
        let header = decode_header(token).map_err(|_| invalid("the token is not a valid JWT"))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(invalid(&format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            )));
        }
        let key = self.key_for(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = self.algorithms.clone();
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = decode::<Value>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidAudience => "the token was not issued for this server (aud)",
                ErrorKind::InvalidIssuer => "the token has the wrong issuer",
                ErrorKind::InvalidSignature => "the token signature is invalid",
                ErrorKind::MissingRequiredClaim(_) => {
                    "the token lacks a required claim (exp, iss, aud)"
                }
                _ => "the token could not be verified",
            })
        })?;
        let claims = data.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let id = text(&self.claims.id)
            .ok_or_else(|| invalid(&format!("the token has no '{}' claim", self.claims.id)))?;
        let tools = (!self.claims.rules.is_empty()).then(|| {
            self.claims
                .rules
                .iter()
                .filter(|rule| rule.matches(&claims))
                .map(|rule| rule.tools.clone())
                .collect()
        });
        Ok(Caller {
            id,
            org: text(&self.claims.org).unwrap_or_default(),
            tier: text(&self.claims.tier).unwrap_or_else(|| default_tier.to_owned()),
            scopes: scopes_of(claims.get(&self.claims.scope)),
            claims,
            tools,
            kind: CallerKind::Jwt,
            token: Some(BearerToken::new(token)),
        })
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey, AuthError> {
        let (url, refresh_interval) = match &self.source {
            KeySource::Hs256(secret) => return Ok(DecodingKey::from_secret(secret)),
            KeySource::Jwks {
                url,
                refresh_interval,
            } => (url, *refresh_interval),
        };
        let kid = kid.ok_or_else(|| invalid("the token names no key (kid)"))?;
        if let Some(key) = self.jwks.read().await.get(kid) {
            return Ok(key.clone());
        }
        // Unknown kid: refetch, but at most once per interval, so that tokens with made-up
        // kids cannot make the gateway fetch without bound.
        {
            let mut last = self.last_fetch.lock().await;
            if last.is_some_and(|at| at.elapsed() < refresh_interval) {
                drop(last);
                return self.cached(kid).await;
            }
            *last = Some(Instant::now());
            match self.fetch(url).await {
                Ok(keys) => *self.jwks.write().await = keys,
                Err(message) => {
                    tracing::warn!(jwks_url = %url, error = %message, "JWKS fetch failed")
                }
            }
        }
        self.cached(kid).await
    }

    async fn cached(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        self.jwks
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or_else(|| invalid("the token's signing key (kid) is unknown"))
    }

    async fn fetch(&self, url: &str) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }
}

fn invalid(message: &str) -> AuthError {
    AuthError::Invalid(message.to_owned())
}
