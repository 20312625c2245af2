//! MCP logging: `logging: {}` is declared; `logging/setLevel` (handshake revisions) answers
//! `{}` and is remembered for the session, an invalid level is -32602; the stateless revision
//! takes the level per request in `_meta` instead. A client gets `notifications/message` only
//! at or above the level it asked for, and only if it asked (here: the warning that a
//! streamed result was cut).

mod common;
mod streaming_support;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};
use streaming_support::{read_events, start_line_upstream};

const CONFIG: &str = r#"
upstreams:
  capped: { base_url: "${LINES}", max_response_bytes: 60 }
tools:
  - name: capped_lines
    description: More lines than max_response_bytes keeps.
    request: { upstream: capped, path: /lines/5/0 }
    response: { stream: true }
"#;

async fn setup() -> GatewayUnderTest {
    let upstream = start_line_upstream().await;
    start_gateway(CONFIG, &[("LINES", &upstream.url())]).await
}

async fn post(
    gateway: &GatewayUnderTest,
    body: &Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn initialize(gateway: &GatewayUnderTest) -> String {
    let body = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": { "name": "logging-test", "version": "1" } } });
    let response = post(gateway, &body, &[]).await;
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["result"]["capabilities"]["logging"], json!({}));
    session
}

fn set_level(level: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": { "level": level } })
}

fn capped_call(meta: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": { "name": "capped_lines", "arguments": {}, "_meta": meta } })
}

/// The log messages among the events of a streamed call.
async fn log_messages(response: reqwest::Response) -> Vec<Value> {
    read_events(response)
        .await
        .into_iter()
        .filter(|e| e.message["method"] == json!("notifications/message"))
        .map(|e| e.message["params"].clone())
        .collect()
}

#[tokio::test]
async fn set_level_answers_empty_and_refuses_unknown_levels() {
    let gateway = setup().await;
    let session = initialize(&gateway).await;
    let headers = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    for level in [
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    ] {
        let reply: Value = post(&gateway, &set_level(json!(level)), &headers)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            reply,
            json!({ "jsonrpc": "2.0", "id": 1, "result": {} }),
            "{level}"
        );
    }
    for bad in [json!("verbose"), json!("INFO"), json!(3), Value::Null] {
        let response = post(&gateway, &set_level(bad.clone()), &headers).await;
        assert_eq!(response.status(), 200);
        let reply: Value = response.json().await.unwrap();
        assert_eq!(reply["error"]["code"], json!(-32602), "{bad}");
    }
    // Without a session it is answered too (nothing to remember it for).
    let reply: Value = post(&gateway, &set_level(json!("info")), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["result"], json!({}));
}

#[tokio::test]
async fn messages_follow_the_session_level() {
    let gateway = setup().await;
    let session = initialize(&gateway).await;
    let headers = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let token = json!({ "progressToken": "t" });
    // No level set: no messages.
    let messages = log_messages(post(&gateway, &capped_call(token.clone()), &headers).await).await;
    assert!(messages.is_empty(), "{messages:?}");
    // At warning: the cut is reported.
    post(&gateway, &set_level(json!("warning")), &headers).await;
    let messages = log_messages(post(&gateway, &capped_call(token.clone()), &headers).await).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["level"], json!("warning"));
    assert_eq!(messages[0]["logger"], json!("toolgate"));
    assert!(
        messages[0]["data"]
            .as_str()
            .unwrap()
            .contains("capped_lines")
    );
    // Above warning: not.
    post(&gateway, &set_level(json!("error")), &headers).await;
    let messages = log_messages(post(&gateway, &capped_call(token), &headers).await).await;
    assert!(messages.is_empty(), "{messages:?}");
}

#[tokio::test]
async fn the_stateless_revision_takes_the_level_per_request() {
    let gateway = setup().await;
    let headers = [
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "capped_lines"),
    ];
    let meta = |level: Option<&str>| {
        let mut meta = json!({
            "progressToken": "t",
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        if let Some(level) = level {
            meta["io.modelcontextprotocol/logLevel"] = json!(level);
        }
        meta
    };
    let messages = log_messages(post(&gateway, &capped_call(meta(None)), &headers).await).await;
    assert!(messages.is_empty(), "no level, no messages: {messages:?}");
    let messages =
        log_messages(post(&gateway, &capped_call(meta(Some("debug"))), &headers).await).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let response = post(&gateway, &capped_call(meta(Some("loud"))), &headers).await;
    assert_eq!(response.status(), 400);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["error"]["code"], json!(-32602));
}
