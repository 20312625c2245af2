//! The legacy JSON protocol (`list_tools` / `call_tool` without `jsonrpc`) over real sockets:
//! its reply shapes, its error codes and HTTP statuses, NDJSON answers for `"stream": true`,
//! and malformed JSON answered as a JSON-RPC parse error.

mod common;

use common::{GatewayUnderTest, Upstream, client, legacy_call, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_customer
    description: Retrieve a customer by ID.
    input_schema:
      type: object
      properties:
        customer_id: { type: string, pattern: "^CUST-[0-9]{5}$" }
      required: [ customer_id ]
    request: { upstream: api, path: "/customers/{{args.customer_id}}" }
  - name: create_note
    description: Add a note.
    input_schema:
      type: object
      properties: { customer_id: { type: string }, text: { type: string }, pinned: { type: boolean } }
      required: [ customer_id, text ]
    request:
      upstream: api
      method: POST
      path: "/customers/{{args.customer_id}}/notes"
      body: { text: "{{args.text}}", pinned: "{{args.pinned}}" }
  - name: export
    description: Export everything.
    request: { upstream: api, path: /export }
    response: { stream: true }
  - name: broken
    description: Always fails upstream.
    request: { upstream: api, path: /status/503 }
"#;

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

/// POSTs a raw body to `/`; returns status, content type and body text.
async fn post_root(gateway: &GatewayUnderTest, body: &str) -> (u16, String, String) {
    let response = client()
        .post(format!("{}/", gateway.url))
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn post_json(gateway: &GatewayUnderTest, body: Value) -> (u16, Value) {
    let (status, _, text) = post_root(gateway, &body.to_string()).await;
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn list_tools_returns_name_description_and_parameters() {
    let (_upstream, gateway) = setup().await;
    let (status, body) = post_json(&gateway, json!({ "method": "list_tools", "params": {} })).await;
    assert_eq!(status, 200);
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 4);
    assert_eq!(
        tools[0],
        json!({
            "name": "get_customer",
            "description": "Retrieve a customer by ID.",
            "parameters": {
                "type": "object",
                "properties": { "customer_id": { "type": "string", "pattern": "^CUST-[0-9]{5}$" } },
                "required": ["customer_id"],
            },
        })
    );
    for tool in tools {
        let keys: Vec<&String> = tool.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["description", "name", "parameters"], "{tool}");
    }
    assert_eq!(
        tools[2]["parameters"],
        json!({ "type": "object", "additionalProperties": false })
    );
    // params may be left out.
    let (status, body) = post_json(&gateway, json!({ "method": "list_tools" })).await;
    assert_eq!(status, 200);
    assert_eq!(body["tools"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn call_tool_returns_the_upstream_answer_as_result() {
    let (upstream, gateway) = setup().await;
    let (status, body) = legacy_call(
        &gateway,
        "get_customer",
        json!({ "customer_id": "CUST-12345" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "result": { "method": "GET", "uri": "/customers/CUST-12345", "body": null } })
    );

    let (status, body) = legacy_call(
        &gateway,
        "create_note",
        json!({ "customer_id": "CUST-00042", "text": "hi", "pinned": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["uri"], json!("/customers/CUST-00042/notes"));
    assert_eq!(
        body["result"]["body"],
        json!({ "text": "hi", "pinned": true })
    );
    assert_eq!(
        upstream.last().json(),
        json!({ "text": "hi", "pinned": true })
    );
}

#[tokio::test]
async fn an_unknown_tool_is_404_tool_not_found() {
    let (upstream, gateway) = setup().await;
    let (status, body) = legacy_call(&gateway, "nope", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "error": { "code": "tool_not_found", "message": "unknown tool 'nope'" } })
    );
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn invalid_arguments_are_400_invalid_parameters_with_details() {
    let (upstream, gateway) = setup().await;
    let (status, body) =
        legacy_call(&gateway, "get_customer", json!({ "customer_id": "bad" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], json!("invalid_parameters"));
    assert_eq!(
        body["error"]["details"]["errors"],
        json!([{ "path": "/customer_id", "message": "\"bad\" does not match \"^CUST-[0-9]{5}$\"" }])
    );

    let (status, body) = legacy_call(&gateway, "create_note", json!({ "customer_id": "C" })).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["details"]["errors"],
        json!([{ "path": "/", "message": "\"text\" is a required property" }])
    );

    let (status, body) = legacy_call(&gateway, "get_customer", json!(["CUST-12345"])).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], json!("invalid_parameters"));
    assert_eq!(body["error"]["details"]["errors"][0]["path"], json!("/"));
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn a_missing_tool_name_is_400_invalid_request() {
    let (_upstream, gateway) = setup().await;
    for params in [
        json!({ "arguments": {} }),
        json!({ "tool_name": 5 }),
        json!({}),
    ] {
        let (status, body) =
            post_json(&gateway, json!({ "method": "call_tool", "params": params })).await;
        assert_eq!(status, 400, "{params}: {body}");
        assert_eq!(
            body,
            json!({ "error": { "code": "invalid_request", "message": "call_tool needs params.tool_name" } })
        );
    }
}

#[tokio::test]
async fn an_unknown_or_missing_method_is_400_invalid_request() {
    let (_upstream, gateway) = setup().await;
    let (status, body) = post_json(&gateway, json!({ "method": "run_tool", "params": {} })).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": { "code": "invalid_request", "message": "unknown method 'run_tool': use list_tools or call_tool" } })
    );
    let (status, body) = post_json(&gateway, json!({ "params": {} })).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], json!("invalid_request"));
}

#[tokio::test]
async fn upstream_failures_keep_their_status_mapping() {
    let (_upstream, gateway) = setup().await;
    let (status, body) = legacy_call(&gateway, "broken", json!({})).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], json!("upstream_error"));
}

#[tokio::test]
async fn stream_true_answers_ndjson_lines() {
    let (_upstream, gateway) = setup().await;
    for tool in ["export", "get_customer"] {
        let arguments = if tool == "export" {
            json!({})
        } else {
            json!({ "customer_id": "CUST-00001" })
        };
        let request = json!({
            "method": "call_tool",
            "params": { "tool_name": tool, "arguments": arguments, "stream": true },
        });
        let (status, content_type, text) = post_root(&gateway, &request.to_string()).await;
        assert_eq!(status, 200, "{tool}: {text}");
        assert_eq!(content_type, "application/x-ndjson", "{tool}");
        assert!(
            text.ends_with('\n'),
            "{tool}: every line ends with a newline"
        );
        let lines: Vec<Value> = text
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
            })
            .collect();
        assert!(!lines.is_empty(), "{tool}");
        let last = lines.last().unwrap();
        let expected_uri = if tool == "export" {
            "/export"
        } else {
            "/customers/CUST-00001"
        };
        assert_eq!(last["result"]["uri"], json!(expected_uri), "{tool}: {text}");
    }
    // A failing streamed call is a plain JSON error with its status.
    let request = json!({
        "method": "call_tool",
        "params": { "tool_name": "nope", "arguments": {}, "stream": true },
    });
    let (status, _, text) = post_root(&gateway, &request.to_string()).await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], json!("tool_not_found"));
}

#[tokio::test]
async fn malformed_json_on_root_is_400_with_a_json_rpc_parse_error() {
    let (_upstream, gateway) = setup().await;
    for body in [r#"{"method":"list_tools","params":{"#, "method=list_tools"] {
        let (status, _, text) = post_root(&gateway, body).await;
        assert_eq!(status, 400, "{body:?}");
        let reply: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(reply["jsonrpc"], json!("2.0"));
        assert_eq!(reply["id"], Value::Null);
        assert_eq!(reply["error"]["code"], json!(-32700));
        assert_eq!(reply["error"]["data"]["code"], json!("invalid_request"));
    }
}
