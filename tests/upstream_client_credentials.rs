//! `upstreams.<name>.auth.oauth2_client_credentials` over real sockets: a token endpoint on
//! 127.0.0.1 counting its requests, an upstream accepting only the tokens it issued. One fetch
//! for many concurrent calls (single-flight, also after expiry), refreshes before expiry with
//! no failed call, the grant's form and HTTP Basic client authentication, and an upstream 401
//! dropping the cached token for exactly one retry.

mod common;

use common::oauth::{Accept, TokenServer, issue, start_guarded_upstream, start_token_server};
use common::{GatewayUnderTest, concurrent_mcp_calls, mcp_call, start_gateway};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "s3cr3t-of-the-gateway";

const CONFIG: &str = r#"
upstreams:
  crm:
    base_url: "${API}"
    auth:
      oauth2_client_credentials:
        token_url: "${TOKEN_URL}"
        client_id: toolgate
        client_secret: "${CLIENT_SECRET}"
        scopes: [ crm.read, crm.write ]
        audience: https://crm.internal
tools:
  - name: crm_whoami
    description: Which token the upstream saw.
    request: { upstream: crm, path: /whoami }
"#;

/// Any token the endpoint issued.
fn any_issued_token() -> Accept {
    Arc::new(|auth| auth.is_some_and(|a| a.starts_with("Bearer tok-")))
}

async fn setup(tokens: &TokenServer, upstream_url: &str) -> GatewayUnderTest {
    start_gateway(
        CONFIG,
        &[
            ("API", upstream_url),
            ("TOKEN_URL", &tokens.url),
            ("CLIENT_SECRET", SECRET),
        ],
    )
    .await
}

/// The structured result of a successful call.
fn ok_result(reply: &Value) -> Value {
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(false), "{reply}");
    result["structuredContent"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_calls_share_one_fetch_also_after_expiry() {
    let tokens = start_token_server(issue(1.0)).await;
    // A slow token endpoint: every call arrives while the one fetch is in flight.
    tokens.delay(Duration::from_millis(300));
    let upstream = start_guarded_upstream(any_issued_token()).await;
    let gateway = setup(&tokens, &upstream.url).await;

    for reply in concurrent_mcp_calls(&gateway, "crm_whoami", 200).await {
        assert_eq!(ok_result(&reply)["authorization"], json!("Bearer tok-1"));
    }
    assert_eq!(tokens.hits(), 1, "one fetch for 200 concurrent calls");

    // Once the token has expired, 200 concurrent calls cause exactly one refresh.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for reply in concurrent_mcp_calls(&gateway, "crm_whoami", 200).await {
        assert_eq!(ok_result(&reply)["authorization"], json!("Bearer tok-2"));
    }
    assert_eq!(tokens.hits(), 2, "one refresh for 200 concurrent calls");
    assert_eq!(upstream.requests().len(), 400);
}

#[tokio::test]
async fn the_grant_is_a_form_post_with_basic_client_authentication() {
    let tokens = start_token_server(issue(300.0)).await;
    let upstream = start_guarded_upstream(any_issued_token()).await;
    let gateway = setup(&tokens, &upstream.url).await;
    ok_result(&mcp_call(&gateway, "crm_whoami", json!({})).await);
    ok_result(&mcp_call(&gateway, "crm_whoami", json!({})).await);
    assert_eq!(tokens.hits(), 1, "the token is cached");

    let request = &tokens.requests()[0];
    assert_eq!(request.form["grant_type"], "client_credentials");
    assert_eq!(request.form["scope"], "crm.read crm.write");
    assert_eq!(request.form["audience"], "https://crm.internal");
    assert_eq!(request.form["resource"], "https://crm.internal");
    assert!(!request.form.contains_key("client_secret"));
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("toolgate:{SECRET}"));
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_second_token_is_refreshed_before_expiry_without_failed_calls() {
    let tokens = start_token_server(issue(2.0)).await;
    // The upstream refuses a token past its expiry (2 s after it was issued).
    let issued_at: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let seen = issued_at.clone();
    tokens.answer_with(Arc::new(move |_, n| {
        seen.lock().unwrap().push(Instant::now());
        (
            200,
            json!({ "access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 2 }),
        )
    }));
    let times = issued_at.clone();
    let upstream = start_guarded_upstream(Arc::new(move |auth| {
        let Some(n) = auth
            .and_then(|a| a.strip_prefix("Bearer tok-"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return false;
        };
        let times = times.lock().unwrap();
        times
            .get(n - 1)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(2))
    }))
    .await;
    let gateway = setup(&tokens, &upstream.url).await;

    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(6) {
        let reply = mcp_call(&gateway, "crm_whoami", json!({})).await;
        ok_result(&reply);
        calls += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(calls > 10, "{calls} calls");
    let fetches = tokens.hits();
    assert!(
        (3..=4).contains(&fetches),
        "{fetches} fetches for a 2 s token over 6 s"
    );
    // No call needed a retry: every upstream request was accepted.
    assert_eq!(upstream.requests().len(), calls);
}

#[tokio::test]
async fn an_upstream_401_drops_the_token_and_retries_once() {
    let tokens = start_token_server(issue(300.0)).await;
    let upstream = start_guarded_upstream(any_issued_token()).await;
    let gateway = setup(&tokens, &upstream.url).await;
    assert_eq!(
        ok_result(&mcp_call(&gateway, "crm_whoami", json!({})).await)["authorization"],
        json!("Bearer tok-1")
    );

    // The upstream revokes tok-1: the next call is refused once, then sent with tok-2.
    upstream.accept(Arc::new(|auth| auth == Some("Bearer tok-2")));
    assert_eq!(
        ok_result(&mcp_call(&gateway, "crm_whoami", json!({})).await)["authorization"],
        json!("Bearer tok-2")
    );
    assert_eq!(tokens.hits(), 2);
    assert_eq!(upstream.requests().len(), 3);

    // An upstream that refuses every token: one retry, then the 401 is the answer.
    let refusals = Arc::new(AtomicUsize::new(0));
    let counted = refusals.clone();
    upstream.accept(Arc::new(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        false
    }));
    let reply = mcp_call(&gateway, "crm_whoami", json!({})).await;
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(true), "{reply}");
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    assert_eq!(error["details"]["status"], json!(401), "{error}");
    assert_eq!(refusals.load(Ordering::SeqCst), 2, "sent twice, not more");
    assert_eq!(tokens.hits(), 3, "one refetch");
}
