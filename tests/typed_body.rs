//! The body is a JSON tree: a leaf that is exactly `{{args.x}}` keeps the argument's JSON type,
//! mixed text becomes a JSON-safe string, and argument values are never re-read as templates.

mod common;

use common::{GatewayUnderTest, Upstream, mcp_call, start_gateway, start_upstream};
use serde_json::{Value, json};

const YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: create
    description: Create a thing.
    input_schema:
      type: object
      properties:
        count: { type: integer }
        ratio: { type: number }
        pinned: { type: boolean }
        optional: { type: string }
        meta: { type: object }
        tags: { type: array }
        text: { type: string }
        other: { type: string }
    request:
      upstream: api
      method: POST
      path: /things
      body:
        count: "{{args.count}}"
        ratio: "{{args.ratio}}"
        pinned: "{{args.pinned}}"
        optional: "{{args.optional}}"
        meta: "{{args.meta}}"
        tags: "{{args.tags}}"
        note: "note: {{args.text}}"
        pair: [ "{{args.text}}", "{{args.optional}}", "{{args.count}}" ]
        nested: { inner: "{{args.count}}", by: "gateway/{{caller.id}}" }
        fixed: { int: 3, float: 1.5, on_flag: true, off_flag: false, nothing: null, word: "hello" }
  - name: whole_body
    description: Sends one argument as the whole body.
    input_schema:
      type: object
      properties: { payload: { type: object } }
    request:
      upstream: api
      method: PUT
      path: /whole
      body: "{{args.payload}}"
  - name: merge_patch
    description: Sends a body with its own media type.
    input_schema:
      type: object
      properties: { name: { type: string } }
    request:
      upstream: api
      method: PATCH
      path: /patch
      headers: { Content-Type: application/merge-patch+json }
      body: { name: "{{args.name}}" }
"#;

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

/// Calls `tool`, expects success, and returns the JSON body the upstream received.
async fn sent_body(
    upstream: &Upstream,
    gateway: &GatewayUnderTest,
    tool: &str,
    args: Value,
) -> Value {
    let before = upstream.requests().len();
    let reply = mcp_call(gateway, tool, args.clone()).await;
    assert_eq!(
        reply["result"]["isError"],
        json!(false),
        "{tool} {args}: {reply}"
    );
    let requests = upstream.requests();
    assert_eq!(requests.len(), before + 1);
    requests[before].json()
}

fn fixed() -> Value {
    json!({ "int": 3, "float": 1.5, "on_flag": true, "off_flag": false, "nothing": null, "word": "hello" })
}

#[tokio::test]
async fn single_placeholders_keep_their_json_type() {
    let (upstream, gateway) = setup().await;
    let body = sent_body(
        &upstream,
        &gateway,
        "create",
        json!({
            "count": 9007199254740993_u64,
            "ratio": 0.1,
            "pinned": false,
            "optional": "opt",
            "meta": { "a": [1, {"b": null}], "c": "d" },
            "tags": ["x", 2, true, null],
            "text": "t",
        }),
    )
    .await;
    assert_eq!(
        body,
        json!({
            "count": 9007199254740993_u64,
            "ratio": 0.1,
            "pinned": false,
            "optional": "opt",
            "meta": { "a": [1, {"b": null}], "c": "d" },
            "tags": ["x", 2, true, null],
            "note": "note: t",
            "pair": ["t", "opt", 9007199254740993_u64],
            "nested": { "inner": 9007199254740993_u64, "by": "gateway/anonymous" },
            "fixed": fixed(),
        })
    );
    let request = upstream.last();
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri, "/things");
    assert_eq!(request.header("content-type"), Some("application/json"));
    // The exact bytes carry the large integer unrounded.
    let raw = String::from_utf8(request.body).unwrap();
    assert!(raw.contains("\"count\":9007199254740993"), "{raw}");
}

#[tokio::test]
async fn absent_arguments_leave_their_members_and_elements_out() {
    let (upstream, gateway) = setup().await;
    let body = sent_body(&upstream, &gateway, "create", json!({})).await;
    assert_eq!(
        body,
        json!({ "pair": [], "nested": { "by": "gateway/anonymous" }, "fixed": fixed() })
    );
    let body = sent_body(&upstream, &gateway, "create", json!({ "count": 0 })).await;
    assert_eq!(
        body,
        json!({
            "count": 0,
            "pair": [0],
            "nested": { "inner": 0, "by": "gateway/anonymous" },
            "fixed": fixed(),
        })
    );
}

#[tokio::test]
async fn mixed_text_becomes_a_json_safe_string() {
    let (upstream, gateway) = setup().await;
    let nasty = "say \"hi\"\\ \n\r\t</script><!-- é 日本 \u{1} \u{2028} 😀";
    let body = sent_body(&upstream, &gateway, "create", json!({ "text": nasty })).await;
    assert_eq!(body["note"], json!(format!("note: {nasty}")));
    assert_eq!(body["pair"], json!([nasty]));
    // The raw body is one valid JSON document (parsed above) whose only members are ours.
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["fixed", "nested", "note", "pair"]);
}

#[tokio::test]
async fn template_syntax_inside_an_argument_is_not_interpreted() {
    let (upstream, gateway) = setup().await;
    let text = "{{args.other}} {{caller.id}} {{{args.other}}} {{#if x}}";
    let body = sent_body(
        &upstream,
        &gateway,
        "create",
        json!({ "text": text, "other": "SECRET-OTHER" }),
    )
    .await;
    assert_eq!(body["note"], json!(format!("note: {text}")));
    assert_eq!(body["pair"], json!([text]));
    let raw = String::from_utf8(upstream.last().body).unwrap();
    assert!(!raw.contains("SECRET-OTHER"), "{raw}");
    assert!(!raw.contains("anonymous\\u"), "{raw}");
}

#[tokio::test]
async fn a_whole_body_placeholder_sends_the_argument_or_no_body() {
    let (upstream, gateway) = setup().await;
    let payload = json!({ "k": [1, 2.5, "three"], "n": null });
    let body = sent_body(
        &upstream,
        &gateway,
        "whole_body",
        json!({ "payload": payload }),
    )
    .await;
    assert_eq!(body, payload);
    assert_eq!(upstream.last().method, "PUT");
    assert_eq!(
        upstream.last().header("content-type"),
        Some("application/json")
    );

    let reply = mcp_call(&gateway, "whole_body", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    let request = upstream.last();
    assert!(
        request.body.is_empty(),
        "no body when the payload is absent"
    );
    assert_eq!(request.header("content-type"), None);
}

#[tokio::test]
async fn a_configured_content_type_replaces_the_default() {
    let (upstream, gateway) = setup().await;
    let body = sent_body(&upstream, &gateway, "merge_patch", json!({ "name": "n" })).await;
    assert_eq!(body, json!({ "name": "n" }));
    let request = upstream.last();
    let content_types: Vec<&str> = request
        .headers
        .iter()
        .filter(|(n, _)| n == "content-type")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(content_types, ["application/merge-patch+json"]);
}
