//! W3C Trace Context: a client's valid `traceparent`/`tracestate` reach the upstream request
//! (legacy and MCP calls); a malformed one is dropped; no header, none sent.

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::json;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn yaml() -> &'static str {
    r#"upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    input_schema: { type: object, properties: { id: { type: string } }, required: [ id ] }
    request: { upstream: api, path: "/items/{{args.id}}" }
"#
}

#[tokio::test]
async fn the_clients_trace_context_reaches_the_upstream() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(yaml(), &[("API", &upstream.url())]).await;
    let legacy = json!({ "method": "call_tool", "params": { "tool_name": "get_item", "arguments": { "id": "1" } } });
    let status = client()
        .post(format!("{}/", gateway.url))
        .header("traceparent", PARENT)
        .header("tracestate", "congo=t61rcWkgMzE")
        .json(&legacy)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let sent = upstream.last();
    assert_eq!(sent.header("traceparent"), Some(PARENT));
    assert_eq!(sent.header("tracestate"), Some("congo=t61rcWkgMzE"));

    let mcp = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": { "name": "get_item", "arguments": { "id": "2" } } });
    client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .header("traceparent", PARENT)
        .json(&mcp)
        .send()
        .await
        .unwrap();
    let sent = upstream.last();
    assert!(sent.uri.ends_with("/items/2"));
    assert_eq!(sent.header("traceparent"), Some(PARENT));
    assert_eq!(sent.header("tracestate"), None);

    client()
        .post(format!("{}/", gateway.url))
        .header("traceparent", "00-XYZ-bad-01")
        .json(&legacy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        upstream.last().header("traceparent"),
        None,
        "malformed: dropped"
    );

    client()
        .post(format!("{}/", gateway.url))
        .json(&legacy)
        .send()
        .await
        .unwrap();
    assert_eq!(upstream.last().header("traceparent"), None);
}
