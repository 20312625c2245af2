//! JWT bearer tokens over real sockets: RS256 tokens checked against a JWKS served by a local
//! server (claims mapped to the caller), every kind of bad token refused with a 401
//! `invalid_token` challenge pointing at the RFC 9728 metadata, bounded JWKS refetches on
//! unknown `kid`s, key rotation, HS256 secrets, the metadata documents, and API keys and JWTs
//! together on one gateway.

mod common;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::jwt::{ISSUER, hs256, now, rs256, with};
use common::{GatewayUnderTest, Upstream, client, start_gateway, start_upstream};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PRIVATE_PEM: &[u8] = include_bytes!("data/jwt_rs256_private.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("data/jwt_rs256_public.pem");
const OTHER_PRIVATE_PEM: &[u8] = include_bytes!("data/jwt_rs256_other_private.pem");

const PUBLIC_URL: &str = "https://mcp.example.com";
const METADATA_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

// ---------------------------------------------------------------------------------------------
// A JWKS server that counts its fetches and whose key set can be replaced (key rotation).

struct Jwks {
    url: String,
    fetches: Arc<AtomicUsize>,
    document: Arc<Mutex<Value>>,
}

impl Jwks {
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn publish(&self, keys: &[(&[u8], &str)]) {
        *self.document.lock().unwrap() = jwks_document(keys);
    }
}

fn jwk(private_pem: &[u8], kid: &str) -> Jwk {
    let key = EncodingKey::from_rsa_pem(private_pem).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn jwks_document(keys: &[(&[u8], &str)]) -> Value {
    let set = JwkSet {
        keys: keys.iter().map(|(pem, kid)| jwk(pem, kid)).collect(),
    };
    serde_json::to_value(set).unwrap()
}

async fn start_jwks(keys: &[(&[u8], &str)]) -> Jwks {
    let fetches = Arc::new(AtomicUsize::new(0));
    let document = Arc::new(Mutex::new(jwks_document(keys)));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let (count, doc) = (fetches.clone(), document.clone());
    let server = HttpServer::new(move || {
        let (count, doc) = (count.clone(), doc.clone());
        App::new().route(
            "/jwks.json",
            web::get().to(move || {
                let (count, doc) = (count.clone(), doc.clone());
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    let body = doc.lock().unwrap().clone();
                    HttpResponse::Ok().json(body)
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Jwks {
        url,
        fetches,
        document,
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens.

/// Claims that the RS256 gateway accepts.
fn good_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": PUBLIC_URL,
        "sub": "user-42",
        "exp": now() + 300,
        "iat": now(),
        "org": "acme",
        "plan": "enterprise",
        "email": "ada@example.com",
    })
}

fn token(claims: &Value) -> String {
    rs256(PRIVATE_PEM, Some("k1"), claims)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token with `alg: none` and an empty signature, made by hand.
fn alg_none(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT", "kid": "k1" })),
        b64(claims)
    )
}

/// `token` with its payload replaced by `claims` and its signature kept.
fn tampered(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64(claims), parts[2])
}

// ---------------------------------------------------------------------------------------------
// Gateways and requests.

const RS256_CONFIG: &str = r#"
server: { public_url: "https://mcp.example.com" }
auth:
  jwt:
    issuer: https://auth.example.com/
    jwks_url: "${JWKS_URL}"
    jwks_refresh_interval: ${JWKS_REFRESH:-1m}
    tier_claim: plan
    scopes_supported: [ tools.read, tools.call ]
rate_limits:
  tiers:
    standard: { requests: 1000, per: 1s }
    enterprise: { requests: 1000, per: 1s }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: whoami
    description: Echo who is calling.
    request:
      upstream: api
      path: /whoami
      headers:
        X-Caller-Id: "{{caller.id}}"
        X-Caller-Org: "{{caller.org}}"
        X-Caller-Tier: "{{caller.tier}}"
        X-Caller-Email: "{{caller.claims.email}}"
"#;

async fn start_rs256(upstream: &Upstream, jwks: &Jwks, refresh: &str) -> GatewayUnderTest {
    start_gateway(
        RS256_CONFIG,
        &[
            ("API", &upstream.url()),
            ("JWKS_URL", &jwks.url),
            ("JWKS_REFRESH", refresh),
        ],
    )
    .await
}

struct Reply {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

async fn post(gateway: &GatewayUnderTest, path: &str, bearer: Option<&str>, body: Value) -> Reply {
    let mut request = client()
        .post(format!("{}{path}", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
    Reply {
        status,
        challenge,
        body,
    }
}

fn whoami() -> Value {
    json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "whoami", "arguments": {} } })
}

fn legacy_whoami() -> Value {
    json!({ "method": "call_tool", "params": { "tool_name": "whoami", "arguments": {} } })
}

/// Calls `whoami` over MCP and asserts success.
async fn call_ok(gateway: &GatewayUnderTest, bearer: &str, what: &str) {
    let reply = post(gateway, "/mcp", Some(bearer), whoami()).await;
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    assert_eq!(
        reply.body["result"]["isError"],
        json!(false),
        "{what}: {}",
        reply.body
    );
}

/// Asserts a 401 whose challenge is `invalid_token` with `reason` and points at `metadata`.
fn assert_invalid_token(reply: &Reply, reason: &str, metadata: &str, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    let message = format!("invalid credentials: {reason}");
    assert_eq!(
        reply.body,
        json!({ "error": { "code": "unauthorized", "message": message } }),
        "{what}"
    );
    let expected = format!(
        r#"Bearer realm="toolgate", resource_metadata="{metadata}", error="invalid_token", error_description="{}""#,
        message.replace('"', "'")
    );
    assert_eq!(
        reply.challenge.as_deref(),
        Some(expected.as_str()),
        "{what}"
    );
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_rs256_token_is_accepted_and_its_claims_reach_templates() {
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let gateway = start_rs256(&upstream, &jwks, "1m").await;
    assert_eq!(jwks.fetches(), 0, "the JWKS is fetched on first use only");

    call_ok(&gateway, &token(&good_claims()), "good token").await;
    let seen = upstream.last();
    assert_eq!(seen.header("x-caller-id"), Some("user-42"));
    assert_eq!(seen.header("x-caller-org"), Some("acme"));
    assert_eq!(seen.header("x-caller-tier"), Some("enterprise"));
    assert_eq!(seen.header("x-caller-email"), Some("ada@example.com"));
    assert_eq!(seen.header("authorization"), None, "no token passthrough");

    // Legacy protocol, and an `aud` list that contains this server.
    let claims = with(
        good_claims(),
        json!({ "aud": ["https://other.example.com", PUBLIC_URL], "sub": "user-7", "org": null, "plan": null }),
    );
    let reply = post(&gateway, "/", Some(&token(&claims)), legacy_whoami()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["result"]["uri"], json!("/whoami"));
    let seen = upstream.last();
    assert_eq!(seen.header("x-caller-id"), Some("user-7"));
    // No tier claim: rate_limits.default_tier (standard).
    assert_eq!(seen.header("x-caller-tier"), Some("standard"));

    // Within the 30 s leeway: expired 10 s ago, or valid from 10 s from now.
    let claims = with(good_claims(), json!({ "exp": now() - 10 }));
    call_ok(&gateway, &token(&claims), "exp within leeway").await;
    let claims = with(good_claims(), json!({ "nbf": now() + 10 }));
    call_ok(&gateway, &token(&claims), "nbf within leeway").await;

    assert_eq!(jwks.fetches(), 1, "one fetch, then the cached keys");
    for request in upstream.requests() {
        for (_, value) in &request.headers {
            assert!(!value.contains("eyJ"), "a token went upstream: {value}");
        }
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_invalid_token_and_the_metadata_url() {
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let gateway = start_rs256(&upstream, &jwks, "1m").await;
    let good = good_claims();
    let valid = token(&good);
    let public_pem_text = std::str::from_utf8(PUBLIC_PEM).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired beyond the leeway",
            token(&with(good.clone(), json!({ "exp": now() - 120 }))),
            "the token has expired",
        ),
        (
            "not valid before 2 minutes from now",
            token(&with(good.clone(), json!({ "nbf": now() + 120 }))),
            "the token is not valid yet",
        ),
        (
            "wrong audience",
            token(&with(
                good.clone(),
                json!({ "aud": "https://other.example.com" }),
            )),
            "the token was not issued for this server (aud)",
        ),
        (
            "another audience on the same host",
            token(&with(
                good.clone(),
                json!({ "aud": format!("{PUBLIC_URL}/other") }),
            )),
            "the token was not issued for this server (aud)",
        ),
        (
            "wrong issuer",
            token(&with(
                good.clone(),
                json!({ "iss": "https://evil.example.com/" }),
            )),
            "the token has the wrong issuer",
        ),
        (
            "no exp",
            token(&with(good.clone(), json!({ "exp": null }))),
            "the token lacks a required claim (exp, iss, aud)",
        ),
        (
            "no aud",
            token(&with(good.clone(), json!({ "aud": null }))),
            "the token lacks a required claim (exp, iss, aud)",
        ),
        (
            "no sub",
            token(&with(good.clone(), json!({ "sub": null }))),
            "the token has no 'sub' claim",
        ),
        ("alg none", alg_none(&good), "the token is not a valid JWT"),
        (
            "HS256 signed with the RSA public key (algorithm confusion)",
            hs256(PUBLIC_PEM, Some("k1"), &good),
            "tokens signed with HS256 are not accepted",
        ),
        (
            "HS256 signed with the public key text, no kid",
            hs256(public_pem_text.trim().as_bytes(), None, &good),
            "tokens signed with HS256 are not accepted",
        ),
        (
            "unknown kid",
            rs256(PRIVATE_PEM, Some("k-unknown"), &good),
            "the token's signing key (kid) is unknown",
        ),
        (
            "no kid",
            rs256(PRIVATE_PEM, None, &good),
            "the token names no key (kid)",
        ),
        (
            "signed by another key under kid k1",
            rs256(OTHER_PRIVATE_PEM, Some("k1"), &good),
            "the token signature is invalid",
        ),
        (
            "payload changed after signing",
            tampered(&valid, &with(good.clone(), json!({ "sub": "admin" }))),
            "the token signature is invalid",
        ),
        (
            "signature stripped",
            format!("{}.", valid.rsplit_once('.').unwrap().0),
            "the token signature is invalid",
        ),
        (
            "three parts of garbage",
            "not.a.jwt".to_owned(),
            "the token is not a valid JWT",
        ),
    ];
    for (what, bad, reason) in &cases {
        for (path, body) in [("/mcp", whoami()), ("/", legacy_whoami())] {
            let reply = post(&gateway, path, Some(bad), body).await;
            assert_invalid_token(&reply, reason, METADATA_URL, &format!("{what} on {path}"));
            assert!(
                !reply.body.to_string().contains(bad.as_str()),
                "{what}: the token was echoed"
            );
        }
    }
    // Not a JWT at all, and no API keys: unknown credential.
    let reply = post(&gateway, "/mcp", Some("opaque-token-0123456789"), whoami()).await;
    assert_invalid_token(&reply, "unknown API key", METADATA_URL, "opaque token");

    // No credentials: a challenge without an error code, still pointing at the metadata.
    let reply = post(&gateway, "/mcp", None, whoami()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge.as_deref(),
        Some(format!(r#"Bearer realm="toolgate", resource_metadata="{METADATA_URL}""#).as_str())
    );
    // A token in the query string is not a credential (MCP authorization: header only).
    let url = format!("{}/mcp?access_token={valid}", gateway.url);
    let response = client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .json(&whoami())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    assert_eq!(upstream.requests().len(), 0, "nothing reached the upstream");
    // One fetch on first use; the unknown kid did not cause another within the interval.
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn the_challenge_uses_the_request_address_without_public_url() {
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let yaml = RS256_CONFIG.replace("server: { public_url: \"https://mcp.example.com\" }\n", "");
    let yaml = yaml.replace(
        "    issuer: https://auth.example.com/\n",
        "    issuer: https://auth.example.com/\n    audience: https://mcp.example.com\n",
    );
    let gateway = start_gateway(&yaml, &[("API", &upstream.url()), ("JWKS_URL", &jwks.url)]).await;
    let expired = token(&with(good_claims(), json!({ "exp": now() - 3600 })));
    let reply = post(&gateway, "/mcp", Some(&expired), whoami()).await;
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", gateway.url);
    assert_invalid_token(&reply, "the token has expired", &metadata, "no public_url");
    call_ok(&gateway, &token(&good_claims()), "explicit audience").await;
}

#[tokio::test]
async fn random_unknown_kids_cause_at_most_one_jwks_fetch_per_interval() {
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let gateway = start_rs256(&upstream, &jwks, "1m").await;
    let claims = good_claims();

    // Forty tokens with made-up kids, half of them at once: one fetch (the first use).
    let bad: Vec<String> = (0..40)
        .map(|_| {
            rs256(
                PRIVATE_PEM,
                Some(&format!("kid-{:016x}", rand::random::<u64>())),
                &claims,
            )
        })
        .collect();
    let concurrent = bad[..20]
        .iter()
        .map(|t| post(&gateway, "/mcp", Some(t), whoami()));
    for reply in futures_util::future::join_all(concurrent).await {
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    for t in &bad[20..] {
        let reply = post(&gateway, "/mcp", Some(t), whoami()).await;
        assert_invalid_token(
            &reply,
            "the token's signing key (kid) is unknown",
            METADATA_URL,
            "random kid",
        );
    }
    assert_eq!(
        jwks.fetches(),
        1,
        "made-up kids must not drive JWKS fetches"
    );

    // The real key was in that one fetch: no further fetch is needed for it.
    call_ok(&gateway, &token(&claims), "k1 after the storm").await;
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_after_the_refresh_interval() {
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let gateway = start_rs256(&upstream, &jwks, "2s").await;
    call_ok(&gateway, &token(&good_claims()), "k1").await;
    assert_eq!(jwks.fetches(), 1);

    // The authorization server adds k2. Within the interval the gateway does not refetch.
    jwks.publish(&[(PRIVATE_PEM, "k1"), (OTHER_PRIVATE_PEM, "k2")]);
    let k2 = rs256(OTHER_PRIVATE_PEM, Some("k2"), &good_claims());
    let reply = post(&gateway, "/mcp", Some(&k2), whoami()).await;
    assert_invalid_token(
        &reply,
        "the token's signing key (kid) is unknown",
        METADATA_URL,
        "k2 before the interval",
    );
    assert_eq!(jwks.fetches(), 1);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    call_ok(&gateway, &k2, "k2 after the interval").await;
    assert_eq!(jwks.fetches(), 2);
    call_ok(&gateway, &token(&good_claims()), "k1 still published").await;
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test]
async fn an_hs256_secret_accepts_good_tokens_and_refuses_tampered_ones() {
    const SECRET: &str = common::jwt::HS256_SECRET;
    let upstream = start_upstream().await;
    let yaml = r#"
auth:
  jwt:
    issuer: https://auth.example.com/
    audience: toolgate-tests
    hs256_secret: ${SECRET}
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: whoami
    description: Echo who is calling.
    request: { upstream: api, path: /whoami, headers: { X-Caller-Id: "{{caller.id}}" } }
"#;
    let gateway = start_gateway(yaml, &[("API", &upstream.url()), ("SECRET", SECRET)]).await;
    let claims = with(good_claims(), json!({ "aud": "toolgate-tests" }));
    let good = hs256(SECRET.as_bytes(), None, &claims);
    call_ok(&gateway, &good, "good HS256 token").await;
    assert_eq!(upstream.last().header("x-caller-id"), Some("user-42"));
    // A kid is irrelevant with a shared secret.
    call_ok(
        &gateway,
        &hs256(SECRET.as_bytes(), Some("any"), &claims),
        "with kid",
    )
    .await;

    // Without public_url the metadata URL is the request's own address.
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", gateway.url);
    let cases = [
        (
            "payload changed after signing",
            tampered(&good, &with(claims.clone(), json!({ "sub": "admin" }))),
            "the token signature is invalid",
        ),
        (
            "signed with another secret",
            hs256(b"another-secret-that-is-also-32-bytes-long", None, &claims),
            "the token signature is invalid",
        ),
        (
            "RS256 token",
            token(&claims),
            "tokens signed with RS256 are not accepted",
        ),
        (
            "wrong audience",
            hs256(SECRET.as_bytes(), None, &good_claims()),
            "the token was not issued for this server (aud)",
        ),
    ];
    for (what, bad, reason) in &cases {
        let reply = post(&gateway, "/mcp", Some(bad), whoami()).await;
        assert_invalid_token(&reply, reason, &metadata, what);
    }
    assert_eq!(upstream.requests().len(), 2);
}

#[tokio::test]
async fn the_protected_resource_metadata_is_served_at_both_well_known_paths() {
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let gateway = start_rs256(&upstream, &jwks, "1m").await;
    let expected = json!({
        "resource": PUBLIC_URL,
        "authorization_servers": [ISSUER],
        "bearer_methods_supported": ["header"],
        "resource_name": "toolgate",
        "scopes_supported": ["tools.read", "tools.call"],
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        // No credentials needed: clients read it to find out how to get some.
        let response = client()
            .get(format!("{}{path}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, expected, "{path}");
    }
    assert_eq!(jwks.fetches(), 0);
}

#[tokio::test]
async fn api_keys_and_jwts_work_on_the_same_gateway() {
    const KEY: &str = "tg_mixed_key_9d8c7b6a5f4e";
    let upstream = start_upstream().await;
    let jwks = start_jwks(&[(PRIVATE_PEM, "k1")]).await;
    let yaml = RS256_CONFIG.replace(
        "auth:\n",
        "auth:\n  api_keys:\n    - { id: ops-team, key: \"${KEY}\", org: initech }\n",
    );
    let gateway = start_gateway(
        &yaml,
        &[
            ("API", &upstream.url()),
            ("JWKS_URL", &jwks.url),
            ("KEY", KEY),
        ],
    )
    .await;

    call_ok(&gateway, KEY, "API key").await;
    let seen = upstream.last();
    assert_eq!(seen.header("x-caller-id"), Some("ops-team"));
    assert_eq!(seen.header("x-caller-org"), Some("initech"));
    assert_eq!(seen.header("x-caller-tier"), Some("standard"));
    assert_eq!(jwks.fetches(), 0, "an API key needs no JWKS");

    call_ok(&gateway, &token(&good_claims()), "JWT").await;
    let seen = upstream.last();
    assert_eq!(seen.header("x-caller-id"), Some("user-42"));
    assert_eq!(seen.header("x-caller-org"), Some("acme"));
    assert_eq!(jwks.fetches(), 1);

    let reply = post(&gateway, "/mcp", Some("tg_mixed_key_unknown"), whoami()).await;
    assert_invalid_token(&reply, "unknown API key", METADATA_URL, "unknown key");
    let expired = token(&with(good_claims(), json!({ "exp": now() - 600 })));
    let reply = post(&gateway, "/", Some(&expired), legacy_whoami()).await;
    assert_invalid_token(&reply, "the token has expired", METADATA_URL, "expired JWT");
    assert_eq!(upstream.requests().len(), 2);
}
