//! Identity assertions: a short-lived JWT the gateway signs for every call, telling the
//! upstream who asked (`sub`, `org`, `scope`), with `iss`, `aud`, `iat`, `exp` and a unique
//! `jti`. Signed RS256 (RSA key) or ES256 (EC P-256 key); the public key is served as a JWKS
//! at `/.well-known/jwks.json` so that upstreams can verify it.

use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::Rng;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Signs the assertions of one upstream.
pub struct AssertionSigner {
    header: HeaderName,
    issuer: String,
    audience: String,
    ttl: Duration,
    algorithm: Algorithm,
    key: EncodingKey,
    jwk: Jwk,
    key_id: String,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("header", &self.header)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// What an assertion is made of, as written in the config.
pub struct AssertionSettings {
    /// The header it travels in.
    pub header: HeaderName,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Lifetime.
    pub ttl: Duration,
    /// `kid` (default: the key's RFC 7638 thumbprint).
    pub key_id: Option<String>,
}

impl AssertionSigner {
    /// A signer for the private key `pem` (RSA → RS256, EC P-256 → ES256); the error says
    /// what is wrong with the key.
    pub fn new(settings: AssertionSettings, pem: &[u8]) -> Result<Self, String> {
        let (algorithm, key, mut jwk) = load_key(pem)?;
        let key_id = match settings.key_id {
            Some(kid) => kid,
            None => jwk
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(|e| format!("cannot compute the key's thumbprint: {e}"))?,
        };
        jwk.common.key_id = Some(key_id.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Ok(Self {
            header: settings.header,
            issuer: settings.issuer,
            audience: settings.audience,
            ttl: settings.ttl,
            algorithm,
            key,
            jwk,
            key_id,
        })
    }

    /// The header the assertion travels in.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The `kid` of the signing key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key, for the JWKS.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// A fresh assertion for `caller`, as a sensitive header value.
    pub fn sign(&self, caller: &Caller) -> Result<HeaderValue, CallError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let jti: u128 = rand::rng().random();
        let claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": caller.id,
            "org": caller.org,
            "scope": caller.scopes.join(" "),
            "iat": now,
            "exp": now + self.ttl.as_secs().max(1),
            "jti": format!("{jti:032x}"),
        });
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.key_id.clone());
        let failed = |_| {
            CallError::new(
                ErrorCode::InternalError,
                "the identity assertion could not be signed",
            )
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.key).map_err(failed)?;
        let mut value = HeaderValue::from_str(&token).map_err(|_| {
            CallError::new(
                ErrorCode::InternalError,
                "the identity assertion could not be signed",
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Reads a PEM private key of one algorithm.
type KeyParser = fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>;

/// The algorithm, signing key and public JWK of a PEM private key.
fn load_key(pem: &[u8]) -> Result<(Algorithm, EncodingKey, Jwk), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "the key file is not PEM text".to_owned())?;
    if !text.contains("-----BEGIN") {
        return Err("the key file is not PEM (no -----BEGIN line)".into());
    }
    let candidates: [(Algorithm, KeyParser); 2] = [
        (Algorithm::RS256, EncodingKey::from_rsa_pem),
        (Algorithm::ES256, EncodingKey::from_ec_pem),
    ];
    for (algorithm, parse) in candidates {
        if let Ok(key) = parse(pem)
            && let Ok(jwk) = Jwk::from_encoding_key(&key, algorithm)
            && jsonwebtoken::encode(&Header::new(algorithm), &json!({}), &key).is_ok()
        {
            return Ok((algorithm, key, jwk));
        }
    }
    Err("the key file holds no RSA or EC P-256 (PKCS#8) private key".into())
}
