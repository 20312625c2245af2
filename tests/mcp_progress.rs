//! Progress over MCP for line-stream answers (a `response.stream: true` tool, or any upstream
//! answering NDJSON): a client that accepts SSE and sends `_meta.progressToken` gets one
//! `notifications/progress` per line as the upstream produces it, in order and increasing,
//! then the result (the array of lines); without a token or without SSE the answer is
//! collected and returned as JSON. Both eras; results capped by `max_response_bytes`.

mod common;
mod streaming_support;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use streaming_support::{read_events, start_line_upstream};

const CONFIG: &str = r#"
upstreams:
  lines: { base_url: "${LINES}", timeout: 20s }
  capped: { base_url: "${LINES}", max_response_bytes: 100 }
tools:
  - name: slow_lines
    description: Five NDJSON lines, 150 ms apart.
    request: { upstream: lines, path: /lines/5/150 }
    response: { stream: true }
  - name: ndjson_anyway
    description: Not declared streaming, but the upstream answers NDJSON.
    request: { upstream: lines, path: /lines/3/0 }
  - name: text_rows
    description: Text lines of a streaming tool.
    request: { upstream: lines, path: /text/3 }
    response: { stream: true }
  - name: capped_lines
    description: More lines than max_response_bytes keeps.
    request: { upstream: capped, path: /lines/10/0 }
    response: { stream: true }
"#;

async fn setup() -> GatewayUnderTest {
    let upstream = start_line_upstream().await;
    start_gateway(CONFIG, &[("LINES", &upstream.url())]).await
}

fn call(id: i64, tool: &str, token: Option<Value>) -> Value {
    let mut params = json!({ "name": tool, "arguments": {} });
    if let Some(token) = token {
        params["_meta"] = json!({ "progressToken": token });
    }
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params })
}

async fn send(gateway: &GatewayUnderTest, body: &Value, accept: &str) -> reqwest::Response {
    client()
        .post(gateway.mcp_url())
        .header("Accept", accept)
        .header("MCP-Protocol-Version", "2025-11-25")
        .json(body)
        .send()
        .await
        .unwrap()
}

const SSE: &str = "application/json, text/event-stream";

#[tokio::test]
async fn progress_arrives_line_by_line_in_order_then_the_result() {
    let gateway = setup().await;
    let started = Instant::now();
    let response = send(&gateway, &call(7, "slow_lines", Some(json!("tok-1"))), SSE).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_events(response).await;
    let total = started.elapsed();
    let (progress, rest): (Vec<_>, Vec<_>) = events
        .iter()
        .partition(|e| e.message["method"] == json!("notifications/progress"));
    assert_eq!(progress.len(), 5, "one notification per line: {events:?}");
    for (i, event) in progress.iter().enumerate() {
        let params = &event.message["params"];
        assert_eq!(params["progressToken"], json!("tok-1"));
        assert_eq!(params["progress"], json!(i + 1), "increasing");
        assert_eq!(
            params["message"],
            json!(format!("{{\"n\":{},\"text\":\"line {}\"}}", i + 1, i + 1))
        );
    }
    // Streamed, not buffered: the first line came long before the last.
    let first = progress[0].at.duration_since(started);
    let last = progress[4].at.duration_since(started);
    println!(
        "first progress after {first:?}, last after {last:?}, response complete after {total:?}"
    );
    assert!(
        last - first >= Duration::from_millis(500),
        "spread over the upstream's 600 ms"
    );
    // The result is last, and nothing follows it.
    assert_eq!(rest.len(), 1, "{events:?}");
    let reply = &events.last().unwrap().message;
    assert_eq!(reply["id"], json!(7));
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(false));
    let lines: Value =
        serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(lines.as_array().unwrap().len(), 5);
    assert_eq!(lines[4], json!({ "n": 5, "text": "line 5" }));
}

#[tokio::test]
async fn the_stateless_revision_streams_progress_too() {
    let gateway = setup().await;
    let mut body = call(8, "slow_lines", Some(json!(42)));
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2026-07-28");
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let response = client()
        .post(gateway.mcp_url())
        .header("Accept", SSE)
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/call")
        .header("Mcp-Name", "slow_lines")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_events(response).await;
    let counts: Vec<Value> = events
        .iter()
        .filter(|e| e.message["method"] == json!("notifications/progress"))
        .map(|e| e.message["params"]["progress"].clone())
        .collect();
    assert_eq!(counts, [1, 2, 3, 4, 5].map(|n| json!(n)));
    let result = &events.last().unwrap().message["result"];
    assert_eq!(result["resultType"], json!("complete"));
    assert_eq!(result["isError"], json!(false));
}

#[tokio::test]
async fn without_a_token_or_without_sse_the_answer_is_collected_as_json() {
    let gateway = setup().await;
    for (body, accept) in [
        (call(1, "slow_lines", None), SSE),
        (call(2, "slow_lines", Some(json!("t"))), "application/json"),
    ] {
        let response = send(&gateway, &body, accept).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let reply: Value = response.json().await.unwrap();
        let text = reply["result"]["content"][0]["text"].as_str().unwrap();
        let lines: Value = serde_json::from_str(text).unwrap();
        assert_eq!(lines.as_array().unwrap().len(), 5, "{reply}");
    }
}

#[tokio::test]
async fn ndjson_answers_stream_even_for_tools_not_declared_streaming_and_text_lines_are_strings() {
    let gateway = setup().await;
    let events =
        read_events(send(&gateway, &call(3, "ndjson_anyway", Some(json!("a"))), SSE).await).await;
    assert_eq!(
        events.len(),
        4,
        "three progress notifications and the result"
    );
    let text = events[3].message["result"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!([{ "n": 1, "text": "line 1" }, { "n": 2, "text": "line 2" }, { "n": 3, "text": "line 3" }])
    );
    let response = send(&gateway, &call(4, "text_rows", None), SSE).await;
    let reply: Value = response.json().await.unwrap();
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!(["row 1", "row 2", "row 3"])
    );
}

#[tokio::test]
async fn the_result_keeps_only_max_response_bytes_of_lines_but_progress_counts_them_all() {
    let gateway = setup().await;
    let events =
        read_events(send(&gateway, &call(5, "capped_lines", Some(json!("c"))), SSE).await).await;
    let progress = events
        .iter()
        .filter(|e| e.message["method"] == json!("notifications/progress"))
        .count();
    assert_eq!(progress, 10);
    let text = events.last().unwrap().message["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.ends_with("[truncated by toolgate: kept the first 4 lines of 10; the rest was over the upstream's max_response_bytes]"),
        "{text}"
    );
}
