//! JWTs for the tests: claims helpers, RS256 and HS256 signing, and HS256 tokens for the
//! gateways the tests configure with `auth.jwt` (issuer [`ISSUER`], audience
//! [`HS256_AUDIENCE`], `hs256_secret` [`HS256_SECRET`]).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The issuer every test token names.
pub const ISSUER: &str = "https://auth.example.com/";
/// The audience of [`hs256_token`]s.
pub const HS256_AUDIENCE: &str = "toolgate-tests";
/// The HS256 secret of [`hs256_token`]s (what the test configs put in `hs256_secret`).
pub const HS256_SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!!";

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `claims` with `changes` applied: each member set, or removed when it is `null`.
pub fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// `claims` signed with RS256 by the PEM private key, with `kid` in the header if given.
pub fn rs256(private_pem: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(private_pem).unwrap(),
    )
    .unwrap()
}

/// `claims` signed with HS256 by `secret`, with `kid` in the header if given.
pub fn hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// An HS256 token the test gateways accept: `iss`, `aud`, `sub: user-42`, `iat` and `exp` (in
/// 300 s), with `claims` added or replacing them.
pub fn hs256_token(claims: Value) -> String {
    let base = json!({
        "iss": ISSUER, "aud": HS256_AUDIENCE, "sub": "user-42",
        "iat": now(), "exp": now() + 300,
    });
    hs256(HS256_SECRET.as_bytes(), None, &with(base, claims))
}
