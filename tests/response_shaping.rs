//! An upstream answer is shaped into the tool result: `pick` selects a JSON Pointer,
//! `max_bytes` cuts with a visible marker, non-JSON comes back as text, `output_schema` is
//! advertised and enforced, and a JSON object result is also `structuredContent`.

mod common;

use common::{
    GatewayUnderTest, Upstream, client, legacy_call, mcp_call, start_gateway, start_upstream,
};
use serde_json::{Value, json};

const YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: echo_pick
    description: Sends a payload and picks what the upstream echoes back.
    input_schema:
      type: object
      properties: { payload: {} }
    request:
      upstream: api
      method: POST
      path: /echo
      body: { payload: "{{args.payload}}" }
    response: { pick: /body/payload }
  - name: deep_pick
    description: Picks through escaped keys and array indexes.
    input_schema:
      type: object
      properties: { payload: { type: object } }
    request:
      upstream: api
      method: POST
      path: /echo
      body: "{{args.payload}}"
    response: { pick: "/body/a~1b/m~0n/1" }
  - name: missing_pick
    description: Picks something the answer does not have.
    input_schema: { type: object }
    request: { upstream: api, path: /echo }
    response: { pick: /body/nothing/here }
  - name: big_cut
    description: A long string answer cut at 20 bytes.
    input_schema:
      type: object
      properties: { size: { type: integer } }
      required: [ size ]
    request: { upstream: api, path: "/big/{{args.size}}" }
    response: { max_bytes: 20 }
  - name: unicode_cut
    description: A multi-byte answer cut inside a character.
    input_schema:
      type: object
      properties: { text: { type: string } }
    request:
      upstream: api
      method: POST
      path: /echo
      body: { text: "{{args.text}}" }
    response: { pick: /body/text, max_bytes: 5 }
  - name: object_cut
    description: An object answer cut at 20 bytes.
    input_schema: { type: object }
    request: { upstream: api, path: /obj }
    response: { max_bytes: 20 }
  - name: plain_text
    description: An upstream answering text/plain.
    input_schema: { type: object }
    request: { upstream: api, path: /text }
  - name: checked_ok
    description: An answer that matches its output schema.
    input_schema: { type: object }
    request: { upstream: api, path: /checked }
    response:
      output_schema:
        type: object
        properties:
          method: { const: GET }
          uri: { type: string }
        required: [ method, uri ]
  - name: checked_bad
    description: An answer that does not match its output schema.
    input_schema: { type: object }
    request: { upstream: api, path: /checked }
    response:
      output_schema:
        type: object
        properties: { id: { type: integer } }
        required: [ id ]
  - name: whole
    description: The whole upstream JSON answer.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: api, path: "/things/{{args.id}}" }
"#;

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

/// Calls `tool` over MCP, expects a successful result and returns it.
async fn ok_result(gateway: &GatewayUnderTest, tool: &str, args: Value) -> Value {
    let reply = mcp_call(gateway, tool, args.clone()).await;
    assert_eq!(
        reply["result"]["isError"],
        json!(false),
        "{tool} {args}: {reply}"
    );
    let result = reply["result"].clone();
    assert_eq!(result["content"].as_array().map(Vec::len), Some(1));
    assert_eq!(result["content"][0]["type"], json!("text"));
    result
}

fn marker(shown: usize, total: usize) -> String {
    format!("\n[truncated by toolgate: showing the first {shown} of {total} bytes]")
}

#[tokio::test]
async fn pick_selects_a_json_pointer() {
    let (_upstream, gateway) = setup().await;
    let payload = json!({ "id": 7, "tags": ["a", "b"] });
    let result = ok_result(&gateway, "echo_pick", json!({ "payload": payload })).await;
    assert_eq!(result["structuredContent"], payload);
    assert_eq!(
        serde_json::from_str::<Value>(result["content"][0]["text"].as_str().unwrap()).unwrap(),
        payload
    );
    let (status, body) = legacy_call(&gateway, "echo_pick", json!({ "payload": payload })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "result": payload }));

    // A picked scalar is its text, without structuredContent.
    let result = ok_result(&gateway, "echo_pick", json!({ "payload": "just text" })).await;
    assert_eq!(result["content"][0]["text"], json!("just text"));
    assert!(result.get("structuredContent").is_none(), "{result}");
    // A picked array is compact JSON text, without structuredContent (it must be an object).
    let result = ok_result(
        &gateway,
        "echo_pick",
        json!({ "payload": [1, "two", { "three": 3 }] }),
    )
    .await;
    assert_eq!(
        result["content"][0]["text"],
        json!(r#"[1,"two",{"three":3}]"#)
    );
    assert!(result.get("structuredContent").is_none(), "{result}");

    // `~1` is `/` and `~0` is `~` in a pointer; numbers index arrays.
    let result = ok_result(
        &gateway,
        "deep_pick",
        json!({ "payload": { "a/b": { "m~n": ["zero", { "found": true }] } } }),
    )
    .await;
    assert_eq!(result["structuredContent"], json!({ "found": true }));
}

#[tokio::test]
async fn a_pick_that_matches_nothing_is_an_upstream_error() {
    let (upstream, gateway) = setup().await;
    let reply = mcp_call(&gateway, "missing_pick", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    let error = &reply["result"]["structuredContent"]["error"];
    assert_eq!(error["code"], json!("upstream_error"));
    assert_eq!(error["details"]["pick"], json!("/body/nothing/here"));
    let (status, body) = legacy_call(&gateway, "missing_pick", json!({})).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], json!("upstream_error"));
    assert_eq!(upstream.requests().len(), 2);
}

#[tokio::test]
async fn max_bytes_cuts_the_text_with_a_marker() {
    let (_upstream, gateway) = setup().await;
    let expected = format!("{}{}", "x".repeat(20), marker(20, 100));
    let result = ok_result(&gateway, "big_cut", json!({ "size": 100 })).await;
    assert_eq!(result["content"][0]["text"], json!(expected));
    assert!(result.get("structuredContent").is_none(), "{result}");
    let (status, body) = legacy_call(&gateway, "big_cut", json!({ "size": 100 })).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "result": expected, "truncated": true }));

    // Exactly max_bytes is not cut.
    let (status, body) = legacy_call(&gateway, "big_cut", json!({ "size": 20 })).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "result": "x".repeat(20) }));
    let result = ok_result(&gateway, "big_cut", json!({ "size": 20 })).await;
    assert_eq!(result["content"][0]["text"], json!("x".repeat(20)));

    // An object is cut as its compact JSON text.
    let full = r#"{"body":null,"method":"GET","uri":"/obj"}"#;
    let result = ok_result(&gateway, "object_cut", json!({})).await;
    assert_eq!(
        result["content"][0]["text"],
        json!(format!("{}{}", &full[..20], marker(20, full.len())))
    );
    assert!(result.get("structuredContent").is_none(), "{result}");
}

#[tokio::test]
async fn max_bytes_never_splits_a_character() {
    let (_upstream, gateway) = setup().await;
    let text = "é".repeat(20); // 40 bytes; byte 5 is inside the third character
    let result = ok_result(&gateway, "unicode_cut", json!({ "text": text })).await;
    assert_eq!(
        result["content"][0]["text"],
        json!(format!("éé{}", marker(4, 40)))
    );
}

#[tokio::test]
async fn a_non_json_answer_comes_back_as_text() {
    let (_upstream, gateway) = setup().await;
    let result = ok_result(&gateway, "plain_text", json!({})).await;
    assert_eq!(result["content"][0]["text"], json!("plain hello"));
    assert!(result.get("structuredContent").is_none(), "{result}");
    let (status, body) = legacy_call(&gateway, "plain_text", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "result": "plain hello" }));
}

#[tokio::test]
async fn output_schema_is_advertised_and_enforced() {
    let (_upstream, gateway) = setup().await;
    let reply: Value = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tools = reply["result"]["tools"].as_array().expect("tools").clone();
    let schema_of = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name} is listed"))
            .get("outputSchema")
            .cloned()
    };
    assert_eq!(
        schema_of("checked_bad"),
        Some(json!({
            "type": "object",
            "properties": { "id": { "type": "integer" } },
            "required": ["id"],
        }))
    );
    assert_eq!(
        schema_of("checked_ok").unwrap()["required"],
        json!(["method", "uri"])
    );
    assert_eq!(schema_of("whole"), None);

    let result = ok_result(&gateway, "checked_ok", json!({})).await;
    assert_eq!(
        result["structuredContent"],
        json!({ "method": "GET", "uri": "/checked", "body": null })
    );

    // Over MCP an error result of a tool with an output schema names its code in the text
    // only (structured content must match the schema); the legacy protocol has the details.
    let reply = mcp_call(&gateway, "checked_bad", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    assert!(
        reply["result"].get("structuredContent").is_none(),
        "{reply}"
    );
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("output_schema (upstream_error)"), "{text}");
    let (status, body) = legacy_call(&gateway, "checked_bad", json!({})).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], json!("upstream_error"));
    assert_eq!(body["error"]["details"]["errors"][0]["path"], json!("/"));
}

#[tokio::test]
async fn a_json_object_answer_is_also_structured_content() {
    let (_upstream, gateway) = setup().await;
    let result = ok_result(&gateway, "whole", json!({ "id": "a b" })).await;
    let expected = json!({ "method": "GET", "uri": "/things/a%20b", "body": null });
    assert_eq!(result["structuredContent"], expected);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), expected);
    let (status, body) = legacy_call(&gateway, "whole", json!({ "id": "a b" })).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "result": expected }));
}
