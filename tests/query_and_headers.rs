//! Query entries are form-encoded and left out when their argument is absent; header templates
//! render but refuse CR/LF/NUL; the upstream's configured headers (not the caller's) are sent.

mod common;

use common::{GatewayUnderTest, Upstream, client, mcp_call, start_gateway, start_upstream};
use serde_json::{Value, json};

// Query keys are written in alphabetical order, so the expected targets do not depend on
// whether entries keep the YAML order or are sorted.
const YAML: &str = r#"
upstreams:
  api:
    base_url: "${API}"
    headers:
      Authorization: "Bearer ${TOKEN}"
      X-Static: fixed
tools:
  - name: search
    description: Search things.
    input_schema:
      type: object
      properties:
        q: { type: string }
        page: { type: integer }
        tags: { type: array, items: { type: string } }
        from: { type: string }
        to: { type: string }
        exact: { type: boolean }
    request:
      upstream: api
      path: /search
      query:
        a_format: json
        exact: "{{args.exact}}"
        page: "{{args.page}}"
        q: "{{args.q}}"
        span: "{{args.from}}..{{args.to}}"
        tag: "{{args.tags}}"
  - name: labelled
    description: Sends header templates.
    input_schema:
      type: object
      properties:
        label: { type: string }
    request:
      upstream: api
      path: /labelled
      headers:
        X-Caller: "{{caller.id}}"
        X-Label: "label={{args.label}}"
  - name: vendor_accept
    description: Asks for a vendor media type.
    input_schema: { type: object }
    request:
      upstream: api
      path: /vendor
      headers: { Accept: application/vnd.example+json }
"#;

const TOKEN: &str = "upstream-token-123";

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url()), ("TOKEN", TOKEN)]).await;
    (upstream, gateway)
}

/// Calls `tool`, expects success and returns the request target the upstream received.
async fn sent_uri(
    upstream: &Upstream,
    gateway: &GatewayUnderTest,
    tool: &str,
    args: Value,
) -> String {
    let before = upstream.requests().len();
    let reply = mcp_call(gateway, tool, args.clone()).await;
    assert_eq!(
        reply["result"]["isError"],
        json!(false),
        "{tool} {args}: {reply}"
    );
    let requests = upstream.requests();
    assert_eq!(requests.len(), before + 1);
    requests[before].uri.clone()
}

/// Every value of header `name` the upstream received in its latest request.
fn header_values(upstream: &Upstream, name: &str) -> Vec<String> {
    upstream
        .last()
        .headers
        .into_iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v)
        .collect()
}

#[tokio::test]
async fn query_values_are_form_encoded() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(
        &upstream,
        &gateway,
        "search",
        json!({ "q": "a&b=c+d e/é#?", "page": 2, "exact": true }),
    )
    .await;
    assert_eq!(
        uri,
        "/search?a_format=json&exact=true&page=2&q=a%26b%3Dc%2Bd+e%2F%C3%A9%23%3F"
    );
}

#[tokio::test]
async fn entries_with_absent_arguments_are_left_out_and_literals_are_sent() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(&upstream, &gateway, "search", json!({})).await;
    assert_eq!(uri, "/search?a_format=json");
    // A mixed entry is left out when any of its arguments is absent...
    let uri = sent_uri(&upstream, &gateway, "search", json!({ "from": "1" })).await;
    assert_eq!(uri, "/search?a_format=json");
    // ...and rendered whole when all are present.
    let uri = sent_uri(
        &upstream,
        &gateway,
        "search",
        json!({ "from": "1", "to": "9 9" }),
    )
    .await;
    assert_eq!(uri, "/search?a_format=json&span=1..9+9");
    // An empty string is present: the key is sent with an empty value.
    let uri = sent_uri(&upstream, &gateway, "search", json!({ "q": "" })).await;
    assert_eq!(uri, "/search?a_format=json&q=");
}

#[tokio::test]
async fn an_array_argument_repeats_the_key() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(
        &upstream,
        &gateway,
        "search",
        json!({ "tags": ["x", "y z", "a&b"] }),
    )
    .await;
    assert_eq!(uri, "/search?a_format=json&tag=x&tag=y+z&tag=a%26b");
    let uri = sent_uri(&upstream, &gateway, "search", json!({ "tags": [] })).await;
    assert_eq!(uri, "/search?a_format=json");
}

#[tokio::test]
async fn header_templates_render_and_absent_ones_are_left_out() {
    let (upstream, gateway) = setup().await;
    sent_uri(
        &upstream,
        &gateway,
        "labelled",
        json!({ "label": "hello world" }),
    )
    .await;
    assert_eq!(header_values(&upstream, "x-label"), ["label=hello world"]);
    assert_eq!(header_values(&upstream, "x-caller"), ["anonymous"]);
    assert_eq!(header_values(&upstream, "x-static"), ["fixed"]);

    sent_uri(&upstream, &gateway, "labelled", json!({})).await;
    assert_eq!(header_values(&upstream, "x-label"), Vec::<String>::new());
    assert_eq!(header_values(&upstream, "x-caller"), ["anonymous"]);
}

#[tokio::test]
async fn header_values_with_line_breaks_or_control_bytes_are_refused_and_nothing_is_sent() {
    let (upstream, gateway) = setup().await;
    for (label, names_argument) in [
        ("x\r\nX-Injected: 1", true),
        ("x\nX-Injected: 1", true),
        ("x\rX-Injected: 1", true),
        ("x\0y", true),
        ("bell\u{7}", false),
        ("del\u{7f}", false),
    ] {
        let reply = mcp_call(&gateway, "labelled", json!({ "label": label })).await;
        let result = &reply["result"];
        assert_eq!(result["isError"], json!(true), "{label:?}: {reply}");
        let error = &result["structuredContent"]["error"];
        assert_eq!(error["code"], json!("invalid_parameters"), "{label:?}");
        if names_argument {
            assert_eq!(error["details"]["errors"][0]["path"], json!("/label"));
        }
    }
    assert_eq!(
        upstream.requests().len(),
        0,
        "the upstream received nothing"
    );
}

#[tokio::test]
async fn upstream_headers_are_sent_and_the_callers_own_headers_are_not() {
    let (upstream, gateway) = setup().await;
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "labelled", "arguments": { "label": "l" } },
    });
    let reply: Value = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .header("Authorization", "Bearer callers-secret")
        .header("Cookie", "session=callers-cookie")
        .header("X-Custom", "callers-custom")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(upstream.requests().len(), 1);
    let recorded = upstream.last();
    assert_eq!(
        header_values(&upstream, "authorization"),
        [format!("Bearer {TOKEN}")]
    );
    for (name, value) in &recorded.headers {
        assert!(
            !value.contains("callers-"),
            "the caller's header leaked upstream: {name}: {value}"
        );
    }
    assert_eq!(recorded.header("cookie"), None);
    assert_eq!(recorded.header("x-custom"), None);
    // The gateway's answer does not echo the upstream credential either.
    assert!(!reply.to_string().contains(TOKEN), "{reply}");
}

#[tokio::test]
async fn the_gateway_asks_for_json_unless_the_tool_asks_for_something_else() {
    let (upstream, gateway) = setup().await;
    sent_uri(&upstream, &gateway, "search", json!({})).await;
    assert_eq!(header_values(&upstream, "accept"), ["application/json"]);
    // A GET without a body has no Content-Type.
    assert_eq!(upstream.last().header("content-type"), None);

    // A configured Accept replaces the default instead of being sent next to it.
    sent_uri(&upstream, &gateway, "vendor_accept", json!({})).await;
    assert_eq!(
        header_values(&upstream, "accept"),
        ["application/vnd.example+json"]
    );
}
