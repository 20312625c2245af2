//! A path placeholder becomes exactly one percent-encoded segment below the upstream's base URL;
//! values that would form an empty, `.` or `..` segment are refused before anything is sent.

mod common;

use common::{GatewayUnderTest, Upstream, legacy_call, mcp_call, start_gateway, start_upstream};
use serde_json::{Value, json};

const YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
  prefixed: { base_url: "${API}/api/v1" }
  prefixed_slash: { base_url: "${API}/api/v1/" }
tools:
  - name: get_item
    description: Get an item by id.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
  - name: get_file
    description: Get a file by name, with a literal suffix in the same segment.
    input_schema:
      type: object
      properties: { name: { type: string } }
      required: [ name ]
    request: { upstream: api, path: "/files/{{args.name}}.json" }
  - name: get_number
    description: Get a numbered thing.
    input_schema:
      type: object
      properties: { num: { type: integer } }
      required: [ num ]
    request: { upstream: api, path: "/numbers/{{args.num}}/detail" }
  - name: get_prefixed
    description: Get an item from an upstream whose base URL has a path prefix.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: prefixed, path: "/items/{{args.id}}" }
  - name: get_prefixed_slash
    description: Same, with a trailing slash on the base URL.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: prefixed_slash, path: "/items/{{args.id}}" }
  - name: my_items
    description: The caller's own items.
    input_schema: { type: object }
    request: { upstream: api, path: "/users/{{caller.id}}/items" }
"#;

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

/// Calls `tool` over MCP and returns the raw request target the upstream received.
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
    assert_eq!(requests.len(), before + 1, "exactly one upstream request");
    let uri = requests[before].uri.clone();
    // The echoing upstream saw the same target the recorder logged.
    assert_eq!(reply["result"]["structuredContent"]["uri"], json!(uri));
    uri
}

#[tokio::test]
async fn each_value_is_encoded_as_one_segment() {
    let (upstream, gateway) = setup().await;
    let cases = [
        ("42", "/items/42"),
        ("a/b", "/items/a%2Fb"),
        ("../etc/passwd", "/items/..%2Fetc%2Fpasswd"),
        ("a?b=c", "/items/a%3Fb%3Dc"),
        ("a#frag", "/items/a%23frag"),
        ("a b", "/items/a%20b"),
        ("%2e%2e", "/items/%252e%252e"),
        ("%2F", "/items/%252F"),
        ("100%", "/items/100%25"),
        ("é", "/items/%C3%A9"),
        ("日本", "/items/%E6%97%A5%E6%9C%AC"),
        ("a..b", "/items/a..b"),
        ("...", "/items/..."),
        ("a\\b", "/items/a%5Cb"),
        ("+&=;@:", "/items/%2B%26%3D%3B%40%3A"),
        ("~user_name-1.0", "/items/~user_name-1.0"),
    ];
    for (id, expected) in cases {
        let uri = sent_uri(&upstream, &gateway, "get_item", json!({ "id": id })).await;
        assert_eq!(uri, expected, "id {id:?}");
    }
}

#[tokio::test]
async fn a_value_next_to_literal_text_is_encoded_alone() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(&upstream, &gateway, "get_file", json!({ "name": "a/b c" })).await;
    assert_eq!(uri, "/files/a%2Fb%20c.json");
}

#[tokio::test]
async fn dot_segments_and_empty_values_are_refused_and_nothing_is_sent() {
    let (upstream, gateway) = setup().await;
    for id in [".", "..", ""] {
        let reply = mcp_call(&gateway, "get_item", json!({ "id": id })).await;
        let result = &reply["result"];
        assert_eq!(result["isError"], json!(true), "id {id:?}: {reply}");
        let error = &result["structuredContent"]["error"];
        assert_eq!(error["code"], json!("invalid_parameters"), "id {id:?}");
        assert_eq!(error["details"]["errors"][0]["path"], json!("/id"));

        let (status, body) = legacy_call(&gateway, "get_item", json!({ "id": id })).await;
        assert_eq!(status, 400, "id {id:?}: {body}");
        assert_eq!(body["error"]["code"], json!("invalid_parameters"));
    }
    // The same values in a segment with literal text around them are refused too.
    for name in [".", ".."] {
        let reply = mcp_call(&gateway, "get_file", json!({ "name": name })).await;
        assert_eq!(
            reply["result"]["structuredContent"]["error"]["code"],
            json!("invalid_parameters"),
            "name {name:?}: {reply}"
        );
    }
    assert_eq!(
        upstream.requests().len(),
        0,
        "the upstream received nothing"
    );
}

#[tokio::test]
async fn an_integer_argument_renders_as_its_number() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(&upstream, &gateway, "get_number", json!({ "num": 42 })).await;
    assert_eq!(uri, "/numbers/42/detail");
    let uri = sent_uri(&upstream, &gateway, "get_number", json!({ "num": -7 })).await;
    assert_eq!(uri, "/numbers/-7/detail");
    // Not an integer: refused by the schema, nothing sent.
    let before = upstream.requests().len();
    let reply = mcp_call(&gateway, "get_number", json!({ "num": "42/../x" })).await;
    assert_eq!(
        reply["result"]["structuredContent"]["error"]["code"],
        json!("invalid_parameters"),
        "{reply}"
    );
    assert_eq!(upstream.requests().len(), before);
}

#[tokio::test]
async fn a_base_url_path_prefix_is_kept() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(&upstream, &gateway, "get_prefixed", json!({ "id": "a/b" })).await;
    assert_eq!(uri, "/api/v1/items/a%2Fb");
    let uri = sent_uri(
        &upstream,
        &gateway,
        "get_prefixed_slash",
        json!({ "id": "x" }),
    )
    .await;
    assert_eq!(uri, "/api/v1/items/x");
    let before = upstream.requests().len();
    let reply = mcp_call(&gateway, "get_prefixed", json!({ "id": ".." })).await;
    assert_eq!(
        reply["result"]["structuredContent"]["error"]["code"],
        json!("invalid_parameters"),
        "{reply}"
    );
    assert_eq!(upstream.requests().len(), before);
}

#[tokio::test]
async fn a_caller_field_can_fill_a_path_segment() {
    let (upstream, gateway) = setup().await;
    let uri = sent_uri(&upstream, &gateway, "my_items", json!({})).await;
    assert_eq!(uri, "/users/anonymous/items");
}
