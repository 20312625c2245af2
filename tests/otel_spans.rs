//! OpenTelemetry traces, configured by the standard `OTEL_*` variables: an MCP call and a
//! legacy call each reach a real OTLP/HTTP receiver as one trace under the client's
//! `traceparent` (HTTP server span → request span → auth, rate limit, validate, render, the
//! upstream client span, shape), with the conventions' attributes, and the upstream receives
//! the gateway's upstream span as its parent.

mod common;
mod otel_support;

use common::{client, start_upstream};
use otel_support::{Exported, serve, start_receiver};
use serde_json::json;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;

fn named<'a>(spans: &'a [Exported], name: &str) -> &'a Exported {
    spans
        .iter()
        .find(|s| s.span.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[tokio::test]
async fn an_mcp_call_and_a_legacy_call_are_traced_from_client_to_upstream() {
    let receiver = start_receiver().await;
    let upstream = start_upstream().await;
    let yaml = format!(
        r#"upstreams:
  api: {{ base_url: "{}" }}
tools:
  - name: get_item
    description: Get an item.
    input_schema: {{ type: object, properties: {{ id: {{ type: string }} }}, required: [ id ] }}
    request: {{ upstream: api, path: "/items/{{{{args.id}}}}", query: {{ key: "secret-in-query" }} }}
"#,
        upstream.url()
    );
    let gateway = serve(
        &yaml,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
            ("OTEL_SERVICE_NAME", "toolgate-under-test"),
            // Traces do not depend on the log level.
            ("RUST_LOG", "error"),
        ],
    )
    .await;

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span = "00f067aa0ba902b7";
    let call = json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call",
                       "params": { "name": "get_item", "arguments": { "id": "42" } } });
    let reply = client()
        .post(format!("{}/mcp", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .header("traceparent", format!("00-{trace}-{client_span}-01"))
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    let spans = receiver
        .trace(
            trace,
            &[
                "POST /mcp",
                "tools/call get_item",
                "auth",
                "rate_limit",
                "validate",
                "render",
                "GET",
                "shape",
            ],
        )
        .await;
    let http = named(&spans, "POST /mcp");
    assert_eq!(http.service, "toolgate-under-test");
    assert_eq!(
        http.parent(),
        client_span,
        "the client's span is the parent"
    );
    assert_eq!(http.span.kind, SERVER);
    assert_eq!(
        http.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        http.attribute("http.request.method").as_deref(),
        Some("POST")
    );

    let mcp = named(&spans, "tools/call get_item");
    assert_eq!(mcp.parent(), http.id());
    assert_eq!(
        mcp.attribute("mcp.method.name").as_deref(),
        Some("tools/call")
    );
    assert_eq!(
        mcp.attribute("gen_ai.tool.name").as_deref(),
        Some("get_item")
    );
    assert_eq!(mcp.attribute("jsonrpc.request.id").as_deref(), Some("7"));
    assert_eq!(mcp.attribute("toolgate.outcome").as_deref(), Some("ok"));
    assert!(mcp.attribute("toolgate.caller").is_some());
    assert_eq!(named(&spans, "auth").parent(), http.id());
    for phase in ["rate_limit", "validate", "render", "GET", "shape"] {
        assert_eq!(
            named(&spans, phase).parent(),
            mcp.id(),
            "{phase} is a step of the call"
        );
    }

    let out = named(&spans, "GET");
    assert_eq!(out.span.kind, CLIENT);
    assert_eq!(
        out.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        out.attribute("server.address").as_deref(),
        Some("127.0.0.1")
    );
    let target = out.attribute("url.full").unwrap();
    assert!(target.ends_with("/items/42"), "{target}");
    assert!(
        !target.contains("secret"),
        "the query is left out: {target}"
    );
    assert_eq!(
        upstream.last().header("traceparent"),
        Some(format!("00-{trace}-{}-01", out.id()).as_str()),
        "the upstream's parent is the gateway's upstream span"
    );

    let legacy_trace = "0af7651916cd43dd8448eb211c80319c";
    let legacy = json!({ "method": "call_tool", "params": { "tool_name": "get_item", "arguments": { "id": "1" } } });
    let status = client()
        .post(format!("{}/", gateway.url))
        .header(
            "traceparent",
            format!("00-{legacy_trace}-b7ad6b7169203331-01"),
        )
        .json(&legacy)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let spans = receiver
        .trace(legacy_trace, &["POST /", "call_tool get_item", "GET"])
        .await;
    let call = named(&spans, "call_tool get_item");
    assert_eq!(call.parent(), named(&spans, "POST /").id());
    assert_eq!(named(&spans, "GET").parent(), call.id());
    assert_eq!(call.attribute("toolgate.outcome").as_deref(), Some("ok"));

    assert!(
        !gateway.log().contains("toolgate::otel"),
        "trace spans stay out of the log"
    );
}
