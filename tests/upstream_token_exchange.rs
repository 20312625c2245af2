//! `upstreams.<name>.auth.token_exchange` (RFC 8693) over real sockets: a test IdP on
//! 127.0.0.1 that verifies the `subject_token` is the caller's JWT and issues an upstream
//! token for it. The upstream receives that token and never the caller's own; results are
//! cached per caller token, with one exchange in flight for many concurrent calls with the
//! same caller token (single-flight); an API-key caller gets `unauthorized`; an IdP refusing the
//! exchange is an `upstream_error` naming the token endpoint.

mod common;

use common::GatewayUnderTest;
use common::jwt::{HS256_SECRET, hs256_token};
use common::oauth::{Handler, TokenServer, start_guarded_upstream, start_token_server};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "tg_exchange_test_key_0123456789";

const CONFIG: &str = r#"
auth:
  api_keys:
    - { id: ops, key: "${KEY}" }
  jwt:
    issuer: https://auth.example.com/
    audience: toolgate-tests
    hs256_secret: ${SECRET}
upstreams:
  crm:
    base_url: "${API}"
    auth:
      token_exchange:
        token_url: "${TOKEN_URL}"
        client_id: toolgate
        client_secret: exchange-client-secret
        client_auth: post
        audience: https://crm.internal
        scopes: [ crm.read ]
tools:
  - name: crm_whoami
    description: Which token the upstream saw.
    request: { upstream: crm, path: /whoami }
"#;

fn token(sub: &str) -> String {
    hs256_token(json!({ "sub": sub }))
}

/// The IdP: exchanges a valid caller JWT for `upstream-for-<sub>`, refuses anything else.
fn idp() -> Handler {
    Arc::new(|request, _| {
        let form = &request.form;
        let grant_ok = form.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:token-exchange")
            && form.get("subject_token_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:token-type:access_token")
            && form.get("audience").map(String::as_str) == Some("https://crm.internal")
            && form.get("client_id").map(String::as_str) == Some("toolgate")
            && form.get("client_secret").map(String::as_str) == Some("exchange-client-secret");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&["https://auth.example.com/"]);
        validation.set_audience(&["toolgate-tests"]);
        let subject = form.get("subject_token").and_then(|t| {
            jsonwebtoken::decode::<Value>(
                t,
                &DecodingKey::from_secret(HS256_SECRET.as_bytes()),
                &validation,
            )
            .ok()
        });
        match subject {
            Some(data) if grant_ok => (
                200,
                json!({
                    "access_token": format!("upstream-for-{}", data.claims["sub"].as_str().unwrap()),
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "N_A",
                    "expires_in": 300,
                }),
            ),
            _ => (400, json!({ "error": "invalid_grant" })),
        }
    })
}

async fn mcp_as(gateway: &GatewayUnderTest, bearer: &str) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": { "name": "crm_whoami", "arguments": {} } });
    common::client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn start(idp: &TokenServer, api: &str) -> GatewayUnderTest {
    common::start_gateway(
        CONFIG,
        &[
            ("API", api),
            ("TOKEN_URL", &idp.url),
            ("SECRET", HS256_SECRET),
            ("KEY", KEY),
        ],
    )
    .await
}

#[tokio::test]
async fn the_callers_jwt_is_exchanged_and_never_reaches_the_upstream() {
    let idp_server = start_token_server(idp()).await;
    let upstream = start_guarded_upstream(Arc::new(|auth| {
        auth.is_some_and(|a| a.starts_with("Bearer upstream-for-"))
    }))
    .await;
    let gateway = start(&idp_server, &upstream.url).await;

    let ada = token("ada");
    for _ in 0..2 {
        let reply = mcp_as(&gateway, &ada).await;
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
        assert_eq!(
            reply["result"]["structuredContent"]["authorization"],
            json!("Bearer upstream-for-ada")
        );
    }
    assert_eq!(idp_server.hits(), 1, "the exchanged token is cached");
    let seen = &idp_server.requests()[0];
    assert_eq!(seen.form["subject_token"], ada);
    assert_eq!(seen.form["resource"], "https://crm.internal");
    assert_eq!(seen.form["scope"], "crm.read");

    let bob = token("bob");
    let reply = mcp_as(&gateway, &bob).await;
    assert_eq!(
        reply["result"]["structuredContent"]["authorization"],
        json!("Bearer upstream-for-bob"),
        "{reply}"
    );
    assert_eq!(idp_server.hits(), 2, "one exchange per caller token");

    for request in upstream.requests() {
        for (name, value) in &request.headers {
            assert!(
                !value.contains(&ada) && !value.contains(&bob),
                "the caller's token reached the upstream in {name}"
            );
        }
        assert!(!String::from_utf8_lossy(&request.body).contains(&ada));
    }
}

#[tokio::test]
async fn an_api_key_caller_cannot_be_exchanged() {
    let idp_server = start_token_server(idp()).await;
    let upstream = start_guarded_upstream(Arc::new(|_| true)).await;
    let gateway = start(&idp_server, &upstream.url).await;
    let reply = mcp_as(&gateway, KEY).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    let error = &reply["result"]["structuredContent"]["error"];
    assert_eq!(error["code"], json!("unauthorized"), "{error}");
    assert_eq!(
        error["message"],
        json!(
            "upstream 'crm' needs the caller's OAuth token (token exchange): call with a JWT, not an API key"
        )
    );
    assert_eq!(idp_server.hits(), 0);
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn an_idp_refusing_the_exchange_is_an_upstream_error_naming_it() {
    let idp_server = start_token_server(idp()).await;
    let upstream = start_guarded_upstream(Arc::new(|_| true)).await;
    let gateway = start(&idp_server, &upstream.url).await;
    // The IdP refuses every exchange.
    idp_server.answer_with(Arc::new(|_, _| (400, json!({ "error": "invalid_grant" }))));
    let reply = mcp_as(&gateway, &token("eve")).await;
    let error = &reply["result"]["structuredContent"]["error"];
    assert_eq!(error["code"], json!("upstream_error"), "{reply}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&idp_server.url), "{message}");
    assert!(message.contains("HTTP 400 invalid_grant"), "{message}");
    assert_eq!(error["details"]["oauth_error"], json!("invalid_grant"));
    assert!(!reply.to_string().contains("exchange-client-secret"));
    assert!(upstream.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_with_one_caller_token_share_one_exchange() {
    let idp_server = start_token_server(idp()).await;
    // A slow IdP: every call arrives while the one exchange is in flight.
    idp_server.delay(Duration::from_millis(300));
    let upstream = start_guarded_upstream(Arc::new(|auth| {
        auth.is_some_and(|a| a.starts_with("Bearer upstream-for-"))
    }))
    .await;
    let gateway = start(&idp_server, &upstream.url).await;

    let ada = token("ada");
    let replies = common::concurrent_mcp_calls_as(&gateway, "crm_whoami", 20, Some(&ada)).await;
    for reply in &replies {
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
        assert_eq!(
            reply["result"]["structuredContent"]["authorization"],
            json!("Bearer upstream-for-ada")
        );
    }
    assert_eq!(idp_server.hits(), 1, "one exchange for 20 concurrent calls");
    let metrics = common::client()
        .get(format!("{}/metrics", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"toolgate_upstream_token_fetches_total{upstream="crm",outcome="ok"} 1"#),
        "{metrics}"
    );
    assert_eq!(upstream.requests().len(), 20);
}
