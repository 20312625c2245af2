//! Upstream failures map to CONTRACT §4 codes on both protocols: `upstream_timeout` (504) when
//! the upstream is too slow, `upstream_error` (502) when it is unreachable, answers 4xx/5xx or a
//! redirect (never followed), or answers more than `max_response_bytes`.

mod common;

use common::{
    GatewayUnderTest, Upstream, client, legacy_call, mcp_call, start_gateway, start_upstream,
};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// A tool named `name` that GETs `path` on `upstream`, plus optional extra YAML lines.
fn tool(name: &str, upstream: &str, path: &str, extra: &str) -> String {
    format!(
        r#"
  - name: {name}
    description: Calls {path}.
    input_schema: {{ type: object }}
    request:
      upstream: {upstream}
      path: "{path}"
{extra}"#
    )
}

/// A loopback port on which nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// A bare HTTP server on a thread that answers every connection with `response` (raw bytes),
/// for answers the recording upstream cannot give.
fn raw_server(response: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(&response);
            let _ = stream.flush();
        }
    });
    addr
}

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let down = format!("http://127.0.0.1:{}", closed_port());
    let redirector = raw_server(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {}/followed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            upstream.url()
        )
        .into_bytes(),
    );
    let mut chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..5 {
        chunked.extend_from_slice(format!("3e8\r\n{}\r\n", "x".repeat(1000)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let chunker = raw_server(chunked);

    let mut yaml = String::from(
        r#"
upstreams:
  api: { base_url: "${API}", timeout: 5s }
  slow_api: { base_url: "${API}", timeout: 300ms }
  down: { base_url: "${DOWN}" }
  small: { base_url: "${API}", max_response_bytes: 1000 }
  redirector: { base_url: "${REDIRECTOR}" }
  chunker: { base_url: "${CHUNKER}", max_response_bytes: 1000 }
tools:"#,
    );
    for t in [
        tool("slow_tool", "api", "/slow/2000", "      timeout: 300ms"),
        tool("slow_upstream", "slow_api", "/slow/2000", ""),
        tool("quick_enough", "api", "/slow/50", "      timeout: 2s"),
        tool("unreachable", "down", "/anything", ""),
        tool("not_found", "api", "/status/404", ""),
        tool("server_error", "api", "/status/500", ""),
        tool("big", "small", "/big/5000", ""),
        tool("at_limit", "small", "/big/998", ""),
        tool("just_over", "small", "/big/999", ""),
        tool("redirect", "api", "/redirect", ""),
        tool("redirect_home", "redirector", "/start", ""),
        tool("chunked_big", "chunker", "/stream", ""),
        tool("ratelimited", "api", "/ratelimited", ""),
    ] {
        yaml.push_str(&t);
    }
    let redirector = format!("http://{redirector}");
    let chunker = format!("http://{chunker}");
    let env = [
        ("API", upstream.url()),
        ("DOWN", down),
        ("REDIRECTOR", redirector),
        ("CHUNKER", chunker),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(&yaml, &env).await;
    (upstream, gateway)
}

/// Calls `tool` over MCP and returns the error object of its `isError` result.
async fn mcp_error(gateway: &GatewayUnderTest, tool: &str) -> Value {
    let reply = mcp_call(gateway, tool, json!({})).await;
    assert!(
        reply.get("error").is_none(),
        "{tool}: not a tool result: {reply}"
    );
    assert_eq!(reply["result"]["isError"], json!(true), "{tool}: {reply}");
    reply["result"]["structuredContent"]["error"].clone()
}

/// Calls `tool` over the legacy protocol and returns (status, error object).
async fn legacy_error(gateway: &GatewayUnderTest, tool: &str) -> (u16, Value) {
    let (status, body) = legacy_call(gateway, tool, json!({})).await;
    (status, body["error"].clone())
}

#[tokio::test]
async fn a_slow_upstream_is_an_upstream_timeout_without_waiting_for_it() {
    let (upstream, gateway) = setup().await;
    for tool in ["slow_tool", "slow_upstream"] {
        let started = Instant::now();
        let error = mcp_error(&gateway, tool).await;
        let elapsed = started.elapsed();
        assert_eq!(error["code"], json!("upstream_timeout"), "{tool}: {error}");
        assert_eq!(error["details"]["timeout_ms"], json!(300), "{tool}");
        assert!(
            elapsed >= Duration::from_millis(300),
            "{tool}: gave up early"
        );
        assert!(
            elapsed < Duration::from_millis(1500),
            "{tool}: took {elapsed:?}"
        );

        let started = Instant::now();
        let (status, error) = legacy_error(&gateway, tool).await;
        assert_eq!(status, 504, "{tool}: {error}");
        assert_eq!(error["code"], json!("upstream_timeout"));
        assert!(started.elapsed() < Duration::from_millis(1500));
    }
    assert_eq!(upstream.requests().len(), 4);
    // A tool timeout longer than the answer takes does not fire.
    let reply = mcp_call(&gateway, "quick_enough", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(reply["result"]["structuredContent"], json!({ "slow": 50 }));
}

#[tokio::test]
async fn an_unreachable_upstream_is_an_upstream_error() {
    let (_upstream, gateway) = setup().await;
    let started = Instant::now();
    let error = mcp_error(&gateway, "unreachable").await;
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    assert_eq!(error["details"]["upstream"], json!("down"));
    assert!(started.elapsed() < Duration::from_millis(1500));
    let (status, error) = legacy_error(&gateway, "unreachable").await;
    assert_eq!(status, 502);
    assert_eq!(error["code"], json!("upstream_error"));
}

#[tokio::test]
async fn error_statuses_are_upstream_errors_with_status_and_excerpt() {
    let (_upstream, gateway) = setup().await;
    for (tool, code) in [("not_found", 404), ("server_error", 500)] {
        let error = mcp_error(&gateway, tool).await;
        assert_eq!(error["code"], json!("upstream_error"), "{tool}: {error}");
        assert_eq!(error["details"]["status"], json!(code));
        assert_eq!(
            error["details"]["excerpt"],
            json!(format!(r#"{{"error":"upstream says {code}"}}"#))
        );
        let (status, legacy) = legacy_error(&gateway, tool).await;
        assert_eq!(status, 502, "{tool}: {legacy}");
        assert_eq!(legacy["code"], json!("upstream_error"));
        assert_eq!(legacy["details"]["status"], json!(code));
    }
}

#[tokio::test]
async fn an_answer_over_max_response_bytes_is_an_upstream_error() {
    let (_upstream, gateway) = setup().await;
    // With a Content-Length, and streamed in chunks without one.
    for tool in ["big", "just_over", "chunked_big"] {
        let error = mcp_error(&gateway, tool).await;
        assert_eq!(error["code"], json!("upstream_error"), "{tool}: {error}");
        assert_eq!(
            error["details"]["max_response_bytes"],
            json!(1000),
            "{tool}"
        );
        let (status, legacy) = legacy_error(&gateway, tool).await;
        assert_eq!(status, 502, "{tool}: {legacy}");
        assert_eq!(legacy["code"], json!("upstream_error"));
    }
    // Exactly max_response_bytes (a 998-character JSON string is 1000 bytes) is accepted.
    let (status, body) = legacy_call(&gateway, "at_limit", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!("x".repeat(998)));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (upstream, gateway) = setup().await;
    let error = mcp_error(&gateway, "redirect").await;
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    assert_eq!(error["details"]["status"], json!(302));
    let (status, legacy) = legacy_error(&gateway, "redirect").await;
    assert_eq!(status, 502);
    assert_eq!(legacy["details"]["status"], json!(302));
    let uris: Vec<String> = upstream.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(uris, ["/redirect", "/redirect"]);

    // A redirect pointing at a server that records requests: it receives nothing.
    let error = mcp_error(&gateway, "redirect_home").await;
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    assert_eq!(error["details"]["status"], json!(302));
    assert_eq!(upstream.requests().len(), 2, "the redirect was followed");
}

#[tokio::test]
async fn an_upstream_429_is_an_upstream_error_that_relays_retry_after() {
    let (upstream, gateway) = setup().await;
    let error = mcp_error(&gateway, "ratelimited").await;
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    assert_eq!(error["details"]["status"], json!(429));
    assert_eq!(error["details"]["retry_after_ms"], json!(7000));

    let body =
        json!({ "method": "call_tool", "params": { "tool_name": "ratelimited", "arguments": {} } });
    let response = client()
        .post(format!("{}/", gateway.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 502);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("upstream_error"), "{body}");
    assert_eq!(body["error"]["details"]["status"], json!(429));
    assert_eq!(upstream.requests().len(), 2, "no retries");
}
