//! Cancelling a tool call aborts its upstream request: `notifications/cancelled {requestId}`
//! (scoped to the session, or to the caller without one; unknown ids ignored) and a client
//! that disconnects both close the upstream connection at once — measured here as the time
//! from the cancel to the upstream seeing its connection closed (< 100 ms). And no upstream
//! call outlives its timeout.

mod common;
mod streaming_support;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use streaming_support::{SilentUpstream, start_line_upstream, start_silent_upstream};
use tokio::io::AsyncWriteExt;

const CONFIG: &str = r#"
upstreams:
  silent: { base_url: "${SILENT}", timeout: 30s, retries: 0 }
  quick: { base_url: "${SILENT}", timeout: 300ms, retries: 0 }
  lines: { base_url: "${LINES}", timeout: 30s }
tools:
  - name: hang
    description: Never answered.
    request: { upstream: silent, path: /hang }
  - name: hang_briefly
    description: Never answered, 300 ms timeout.
    request: { upstream: quick, path: /hang }
  - name: endless_lines
    description: A line every 100 ms for a long time.
    request: { upstream: lines, path: /lines/100000/100 }
    response: { stream: true }
"#;

/// The longest a cancel may take to reach the upstream connection.
const CANCEL_LIMIT: Duration = Duration::from_millis(100);

async fn setup() -> (SilentUpstream, GatewayUnderTest) {
    let silent = start_silent_upstream().await;
    let lines = start_line_upstream().await;
    let gateway = start_gateway(
        CONFIG,
        &[("SILENT", &silent.url()), ("LINES", &lines.url())],
    )
    .await;
    (silent, gateway)
}

fn call(id: Value, tool: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
}

fn cancelled(id: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": id, "reason": "test" } })
}

async fn post(
    gateway: &GatewayUnderTest,
    body: &Value,
    session: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(body);
    if let Some(session) = session {
        request = request
            .header("Mcp-Session-Id", session)
            .header("MCP-Protocol-Version", "2025-11-25");
    }
    request.send().await.unwrap()
}

async fn initialize(gateway: &GatewayUnderTest) -> String {
    let body = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": { "name": "cancel-test", "version": "1" } } });
    post(gateway, &body, None).await.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Cancels with `notifications/cancelled` and returns how long the upstream took to see
/// its connection closed, measured from just before the cancel was sent.
async fn cancel_and_time(
    gateway: &GatewayUnderTest,
    upstream: &SilentUpstream,
    index: usize,
    id: Value,
    session: Option<&str>,
) -> Duration {
    let sent = Instant::now();
    let response = post(gateway, &cancelled(id), session).await;
    assert_eq!(response.status(), 202);
    let closed = upstream
        .until_closed(index, Duration::from_secs(5))
        .await
        .expect("the upstream connection is closed");
    closed.saturating_duration_since(sent)
}

#[tokio::test]
async fn notifications_cancelled_closes_the_upstream_connection_at_once() {
    let (upstream, gateway) = setup().await;
    // Without a session: scoped to the caller.
    let pending = tokio::spawn({
        let url = gateway.mcp_url();
        async move {
            client()
                .post(url)
                .header("Accept", "application/json, text/event-stream")
                .json(&call(json!(7), "hang"))
                .send()
                .await
                .unwrap()
        }
    });
    upstream.until_requests(1).await;
    // An unknown id, or the right id of another scope, changes nothing.
    assert_eq!(
        post(&gateway, &cancelled(json!(999)), None).await.status(),
        202
    );
    let other_session = initialize(&gateway).await;
    assert_eq!(
        post(&gateway, &cancelled(json!(7)), Some(&other_session))
            .await
            .status(),
        202
    );
    assert_eq!(
        post(&gateway, &cancelled(json!("7")), None).await.status(),
        202,
        "ids keep their type"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(upstream.seen()[0].closed_at.is_none(), "still in flight");
    let latency = cancel_and_time(&gateway, &upstream, 0, json!(7), None).await;
    println!("cancel → upstream connection closed: {latency:?} (no session)");
    assert!(latency < CANCEL_LIMIT, "{latency:?}");
    // Nothing is sent for a cancelled request.
    let response = pending.await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");

    // In a session: scoped to it.
    let session = initialize(&gateway).await;
    let pending = tokio::spawn({
        let url = gateway.mcp_url();
        let session = session.clone();
        async move {
            client()
                .post(url)
                .header("Accept", "application/json")
                .header("Mcp-Session-Id", session)
                .json(&call(json!("call-2"), "hang"))
                .send()
                .await
                .unwrap()
        }
    });
    upstream.until_requests(2).await;
    let latency = cancel_and_time(&gateway, &upstream, 1, json!("call-2"), Some(&session)).await;
    println!("cancel → upstream connection closed: {latency:?} (session)");
    assert!(latency < CANCEL_LIMIT, "{latency:?}");
    assert_eq!(pending.await.unwrap().status(), 204);

    let metrics = client()
        .get(format!("{}/metrics", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("outcome=\"cancelled\"") && metrics.contains("status=\"cancelled\""),
        "cancelled calls are counted as such"
    );
    assert!(
        metrics.contains("toolgate_tool_calls_in_flight 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_closes_the_upstream_connection() {
    let (upstream, gateway) = setup().await;
    let addr = gateway.url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = call(json!(1), "hang").to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    upstream.until_requests(1).await;
    let gone = Instant::now();
    drop(socket);
    let closed = upstream
        .until_closed(0, Duration::from_secs(5))
        .await
        .expect("the upstream connection is closed");
    let latency = closed.saturating_duration_since(gone);
    println!("client disconnect → upstream connection closed: {latency:?}");
    assert!(latency < CANCEL_LIMIT, "{latency:?}");
}

#[tokio::test]
async fn a_streamed_call_is_cancelled_too_and_its_stream_ends_without_a_result() {
    let (_upstream, gateway) = setup().await;
    let mut body = call(json!(5), "endless_lines");
    body["params"]["_meta"] = json!({ "progressToken": "p" });
    let mut response = post(&gateway, &body, None).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("notifications/progress"));
    assert_eq!(
        post(&gateway, &cancelled(json!(5)), None).await.status(),
        202
    );
    let mut rest = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends after the cancel");
    assert!(
        !rest.contains("\"result\""),
        "no result for a cancelled request: {rest}"
    );
}

#[tokio::test]
async fn an_upstream_call_never_outlives_its_timeout() {
    let (upstream, gateway) = setup().await;
    let started = Instant::now();
    let reply: Value = post(&gateway, &call(json!(1), "hang_briefly"), None)
        .await
        .json()
        .await
        .unwrap();
    let answered = started.elapsed();
    assert_eq!(
        reply["result"]["structuredContent"]["error"]["code"],
        json!("upstream_timeout")
    );
    let closed = upstream
        .until_closed(0, Duration::from_secs(5))
        .await
        .expect("closed");
    let lifetime = closed.duration_since(upstream.seen()[0].request_at);
    println!("300 ms timeout: answered after {answered:?}, upstream connection lived {lifetime:?}");
    assert!(
        lifetime < Duration::from_millis(300) + CANCEL_LIMIT,
        "{lifetime:?}"
    );
}
