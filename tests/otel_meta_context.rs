//! OpenTelemetry traces configured in the `telemetry:` block: a trace context in an MCP
//! request's `params._meta` (as the MCP conventions carry it) is the parent of that request's
//! span and reaches the upstream, and a failed call says why in `error.type`.

mod common;
mod otel_support;

use common::{client, start_upstream};
use otel_support::{serve, start_receiver};
use serde_json::json;

#[tokio::test]
async fn the_meta_trace_context_parents_the_request_and_failures_are_labelled() {
    let receiver = start_receiver().await;
    let upstream = start_upstream().await;
    let yaml = format!(
        r#"upstreams:
  api: {{ base_url: "{}" }}
tools:
  - name: get_item
    description: Get an item.
    input_schema: {{ type: object, properties: {{ id: {{ type: string }} }}, required: [ id ] }}
    request: {{ upstream: api, path: "/items/{{{{args.id}}}}" }}
telemetry:
  otlp_endpoint: "{}"
  service_name: from-config
"#,
        upstream.url(),
        receiver.url()
    );
    let gateway = serve(&yaml, &[]).await;

    let meta_trace = "11111111111111111111111111111111";
    let meta_parent = "2222222222222222";
    let header_trace = "33333333333333333333333333333333";
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": { "name": "get_item", "arguments": { "id": "9" },
                                   "_meta": { "traceparent": format!("00-{meta_trace}-{meta_parent}-01") } } });
    let reply = client()
        .post(format!("{}/mcp", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .header(
            "traceparent",
            format!("00-{header_trace}-4444444444444444-01"),
        )
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let spans = receiver
        .trace(meta_trace, &["tools/call get_item", "GET"])
        .await;
    let request = spans
        .iter()
        .find(|s| s.span.name == "tools/call get_item")
        .unwrap();
    assert_eq!(request.service, "from-config");
    assert_eq!(request.parent(), meta_parent);
    let sent = upstream.last().header("traceparent").unwrap().to_owned();
    assert!(sent.starts_with(&format!("00-{meta_trace}-")), "{sent}");
    // The HTTP span still follows the header's context.
    receiver.trace(header_trace, &["POST /mcp"]).await;

    let failing_trace = "55555555555555555555555555555555";
    let unknown = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                          "params": { "name": "no_such_tool", "arguments": {} } });
    client()
        .post(format!("{}/mcp", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .header(
            "traceparent",
            format!("00-{failing_trace}-6666666666666666-01"),
        )
        .json(&unknown)
        .send()
        .await
        .unwrap();
    let spans = receiver
        .trace(failing_trace, &["tools/call no_such_tool"])
        .await;
    let failed = spans
        .iter()
        .find(|s| s.span.name == "tools/call no_such_tool")
        .unwrap();
    assert_eq!(
        failed.attribute("error.type").as_deref(),
        Some("tool_not_found")
    );
    assert_eq!(
        failed.span.status.as_ref().map(|s| s.code),
        Some(2),
        "status ERROR"
    );
}
