//! A client-credentials token endpoint that refuses (HTTP 500), is down or too slow: the call
//! fails with `upstream_error` naming the token endpoint, on MCP and on the legacy protocol;
//! the client secret appears in no message, no log line and no admin description; every
//! outcome is counted in `toolgate_upstream_token_fetches_total`; a failed fetch is not cached.

mod common;

use common::oauth::{fail, issue, start_guarded_upstream, start_token_server};
use common::{GatewayUnderTest, client, legacy_call, mcp_call, start_gateway};
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const SECRET: &str = "s3cr3t-never-shown";

const CONFIG: &str = r#"
admin: { key: "${ADMIN_KEY}" }
upstreams:
  crm:
    base_url: "${API}"
    auth:
      oauth2_client_credentials:
        token_url: "${TOKEN_URL}"
        client_id: toolgate
        client_secret: "${CLIENT_SECRET}"
        timeout: 500ms
tools:
  - name: crm_whoami
    description: Which token the upstream saw.
    request: { upstream: crm, path: /whoami }
"#;

const ADMIN_KEY: &str = "admin-key-for-the-token-error-tests";

/// Everything logged by this test binary (every level, every target).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Log(writer.clone()))
            .init();
        buffer
    })
    .clone()
}

struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn gateway(token_url: &str, api: &str) -> GatewayUnderTest {
    start_gateway(
        CONFIG,
        &[
            ("API", api),
            ("TOKEN_URL", token_url),
            ("CLIENT_SECRET", SECRET),
            ("ADMIN_KEY", ADMIN_KEY),
        ],
    )
    .await
}

/// The error of a failed MCP call.
async fn mcp_error(gateway: &GatewayUnderTest) -> Value {
    let reply = mcp_call(gateway, "crm_whoami", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    reply["result"]["structuredContent"]["error"].clone()
}

/// Asserts that `error` is an `upstream_error` naming `token_url` and not the secret.
fn names_the_endpoint(error: &Value, token_url: &str, reason: &str) {
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(token_url), "{message}");
    assert!(message.contains("upstream 'crm'"), "{message}");
    assert!(message.contains(reason), "{message}");
    assert_eq!(error["details"]["token_url"], json!(token_url), "{error}");
    assert!(!error.to_string().contains(SECRET), "{error}");
}

async fn metrics(gateway: &GatewayUnderTest) -> String {
    client()
        .get(format!("{}/metrics", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn assert_secret_never_logged() {
    let logs = logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("token request failed"), "{text}");
    assert!(!text.contains(SECRET), "the secret was logged");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("toolgate:{SECRET}"));
    assert!(!text.contains(&basic), "the Basic credentials were logged");
}

#[tokio::test]
async fn a_refusing_token_endpoint_is_an_upstream_error_naming_it() {
    logs();
    let tokens = start_token_server(fail(500)).await;
    let upstream = start_guarded_upstream(Arc::new(|auth| auth.is_some())).await;
    let gateway = gateway(&tokens.url, &upstream.url).await;

    let error = mcp_error(&gateway).await;
    names_the_endpoint(
        &error,
        &tokens.url,
        "refused the token request: HTTP 500 server_error",
    );
    assert_eq!(error["details"]["status"], json!(500));
    let (status, legacy) = legacy_call(&gateway, "crm_whoami", json!({})).await;
    assert_eq!(status, 502, "{legacy}");
    names_the_endpoint(&legacy["error"], &tokens.url, "HTTP 500");
    assert!(upstream.requests().is_empty(), "no call without a token");
    assert!(
        metrics(&gateway).await.contains(
            r#"toolgate_upstream_token_fetches_total{upstream="crm",outcome="refused"} 2"#
        )
    );

    // The failure is not cached: once the endpoint issues tokens, calls succeed.
    tokens.answer_with(issue(300.0));
    let reply = mcp_call(&gateway, "crm_whoami", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(tokens.hits(), 3);
    assert!(
        metrics(&gateway)
            .await
            .contains(r#"toolgate_upstream_token_fetches_total{upstream="crm",outcome="ok"} 1"#)
    );

    // The admin API describes the grant without its secret.
    let described = client()
        .get(format!("{}/admin/config", gateway.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(described.contains(&tokens.url), "{described}");
    assert!(!described.contains(SECRET), "{described}");
    assert_secret_never_logged();
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_an_upstream_error_naming_it() {
    logs();
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token_url = format!("http://127.0.0.1:{port}/oauth2/token");
    let upstream = start_guarded_upstream(Arc::new(|auth| auth.is_some())).await;
    let gateway = gateway(&token_url, &upstream.url).await;
    let error = mcp_error(&gateway).await;
    names_the_endpoint(&error, &token_url, "could not be reached");
    assert!(upstream.requests().is_empty());
    assert!(metrics(&gateway).await.contains(
        r#"toolgate_upstream_token_fetches_total{upstream="crm",outcome="unreachable"} 1"#
    ));
    assert_secret_never_logged();
}

#[tokio::test]
async fn a_token_endpoint_slower_than_its_timeout_is_an_upstream_error_naming_it() {
    logs();
    let tokens = start_token_server(issue(300.0)).await;
    tokens.delay(Duration::from_secs(3));
    let upstream = start_guarded_upstream(Arc::new(|auth| auth.is_some())).await;
    let gateway = gateway(&tokens.url, &upstream.url).await;
    let error = mcp_error(&gateway).await;
    names_the_endpoint(&error, &tokens.url, "did not answer within 500 ms");
    assert!(upstream.requests().is_empty());
    assert!(
        metrics(&gateway).await.contains(
            r#"toolgate_upstream_token_fetches_total{upstream="crm",outcome="timeout"} 1"#
        )
    );
    assert_secret_never_logged();
}
