//! MCP tools and resources over real sockets: `tools/list` pagination and descriptors (name,
//! description, object inputSchema, method-derived annotations), `tools/call` errors (unknown
//! tool → -32602 `tool_not_found`; bad arguments → `isError` `invalid_parameters`), and
//! upstream-backed `resources/list` / `resources/read` (unknown URI → -32002).

mod common;

use common::{GatewayUnderTest, Upstream, client, mcp_call, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CONFIG: &str = r#"
server: { page_size: 2 }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    title: Get item
    description: Get an item.
    input_schema:
      type: object
      properties:
        id: { type: string, pattern: "^I-[0-9]{3}$" }
        verbose: { type: boolean }
      required: [ id ]
      additionalProperties: false
    request: { upstream: api, path: "/items/{{args.id}}" }
  - name: delete_item
    description: Delete an item.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: api, method: DELETE, path: "/items/{{args.id}}" }
  - name: put_item
    description: Replace an item.
    input_schema:
      type: object
      properties: { id: { type: string }, name: { type: string } }
      required: [ id ]
    request: { upstream: api, method: PUT, path: "/items/{{args.id}}", body: { name: "{{args.name}}" } }
  - name: create_item
    description: Create an item.
    input_schema:
      type: object
      properties: { name: { type: string } }
    request: { upstream: api, method: POST, path: /items, body: { name: "{{args.name}}" } }
  - name: search_items
    description: Search items (annotated by hand).
    annotations: { readOnlyHint: false, openWorldHint: true }
    request: { upstream: api, method: get, path: /items }
resources:
  - uri: inventory://summary
    name: Inventory summary
    description: Counts by state.
    request: { upstream: api, path: /summary }
  - uri: inventory://readme
    name: Readme
    mime_type: text/plain
    request: { upstream: api, path: /text }
  - uri: inventory://broken
    name: Broken
    request: { upstream: api, path: /status/500 }
"#;

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

/// Sends one JSON-RPC request to `/mcp`; returns the HTTP status and the reply.
async fn rpc(gateway: &GatewayUnderTest, method: &str, params: Value) -> (u16, Value) {
    let response = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Follows `nextCursor` to the end; returns every page's items.
async fn all_pages(gateway: &GatewayUnderTest, method: &str, key: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut params = json!({});
    loop {
        let (status, reply) = rpc(gateway, method, params).await;
        assert_eq!(status, 200, "{reply}");
        pages.push(reply["result"][key].as_array().unwrap().clone());
        match reply["result"].get("nextCursor") {
            Some(Value::String(cursor)) => params = json!({ "cursor": cursor }),
            None => break,
            Some(other) => panic!("nextCursor must be a string: {other}"),
        }
        assert!(pages.len() <= 10, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn tools_list_paginates_and_yields_every_tool_exactly_once() {
    let (_upstream, gateway) = setup().await;
    let pages = all_pages(&gateway, "tools/list", "tools").await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let names: Vec<&str> = pages
        .iter()
        .flatten()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "get_item",
            "delete_item",
            "put_item",
            "create_item",
            "search_items"
        ]
    );
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 5);
}

#[tokio::test]
async fn an_invalid_cursor_is_invalid_params() {
    let (_upstream, gateway) = setup().await;
    for cursor in [json!("not-a-cursor"), json!(12), json!({ "offset": 2 })] {
        for method in ["tools/list", "resources/list"] {
            let (status, reply) = rpc(&gateway, method, json!({ "cursor": cursor })).await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["error"]["code"], json!(-32602), "{method} {cursor}");
            assert!(reply.get("result").is_none());
        }
    }
}

#[tokio::test]
async fn every_tool_has_name_description_object_schema_and_annotations() {
    let (_upstream, gateway) = setup().await;
    let tools: Vec<Value> = all_pages(&gateway, "tools/list", "tools")
        .await
        .into_iter()
        .flatten()
        .collect();
    for tool in &tools {
        assert!(!tool["name"].as_str().unwrap().is_empty(), "{tool}");
        assert!(!tool["description"].as_str().unwrap().is_empty(), "{tool}");
        assert_eq!(tool["inputSchema"]["type"], json!("object"), "{tool}");
    }
    let by_name = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap().clone();

    let get = by_name("get_item");
    assert_eq!(get["title"], json!("Get item"));
    assert_eq!(get["description"], json!("Get an item."));
    assert_eq!(
        get["inputSchema"],
        json!({
            "type": "object",
            "properties": {
                "id": { "type": "string", "pattern": "^I-[0-9]{3}$" },
                "verbose": { "type": "boolean" },
            },
            "required": ["id"],
            "additionalProperties": false,
        })
    );
    assert_eq!(get["annotations"], json!({ "readOnlyHint": true }));
    assert_eq!(
        by_name("delete_item")["annotations"],
        json!({ "destructiveHint": true })
    );
    assert_eq!(
        by_name("put_item")["annotations"],
        json!({ "idempotentHint": true })
    );
    // POST implies nothing.
    assert!(by_name("create_item").get("annotations").is_none());
    // Given annotations win over the derived ones.
    let search = by_name("search_items");
    assert_eq!(
        search["annotations"],
        json!({ "readOnlyHint": false, "openWorldHint": true })
    );
    // A tool without input_schema takes no arguments.
    assert_eq!(
        search["inputSchema"],
        json!({ "type": "object", "additionalProperties": false })
    );
}

#[tokio::test]
async fn calling_an_unknown_tool_is_invalid_params_tool_not_found() {
    let (upstream, gateway) = setup().await;
    let reply = mcp_call(&gateway, "no_such_tool", json!({})).await;
    assert_eq!(reply["id"], json!(1));
    assert!(reply.get("result").is_none(), "{reply}");
    assert_eq!(reply["error"]["code"], json!(-32602));
    assert_eq!(reply["error"]["data"]["code"], json!("tool_not_found"));
    assert_eq!(
        reply["error"]["message"],
        json!("unknown tool 'no_such_tool'")
    );
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn invalid_arguments_are_an_is_error_result_with_paths() {
    let (upstream, gateway) = setup().await;
    let reply = mcp_call(&gateway, "get_item", json!({ "id": 5 })).await;
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(true), "{reply}");
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["code"], json!("invalid_parameters"));
    assert_eq!(error["details"]["errors"][0]["path"], json!("/id"));
    assert_eq!(
        error["details"]["errors"][0]["message"],
        json!("5 is not of type \"string\"")
    );
    assert_eq!(result["content"][0]["type"], json!("text"));
    assert_eq!(
        result["content"][0]["text"],
        json!("invalid arguments: /id: 5 is not of type \"string\" (invalid_parameters)")
    );

    let reply = mcp_call(&gateway, "get_item", json!({ "id": "I-12" })).await;
    let error = &reply["result"]["structuredContent"]["error"];
    assert_eq!(error["code"], json!("invalid_parameters"), "{reply}");
    assert_eq!(error["details"]["errors"][0]["path"], json!("/id"));

    let reply = mcp_call(&gateway, "get_item", json!({ "id": "I-123", "extra": 1 })).await;
    let error = &reply["result"]["structuredContent"]["error"];
    assert_eq!(error["code"], json!("invalid_parameters"), "{reply}");
    assert_eq!(error["details"]["errors"][0]["path"], json!("/"));

    // Missing required argument (and no arguments at all).
    for arguments in [json!({}), Value::Null] {
        let reply = mcp_call(&gateway, "get_item", arguments).await;
        let error = &reply["result"]["structuredContent"]["error"];
        assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
        assert_eq!(error["code"], json!("invalid_parameters"));
        assert_eq!(error["details"]["errors"][0]["path"], json!("/"));
        assert_eq!(
            error["details"]["errors"][0]["message"],
            json!("\"id\" is a required property")
        );
    }
    assert!(upstream.requests().is_empty(), "nothing may be sent");

    // And a valid call goes through.
    let reply = mcp_call(&gateway, "get_item", json!({ "id": "I-123" })).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(upstream.last().uri, "/items/I-123");
}

#[tokio::test]
async fn arguments_that_are_not_an_object_are_invalid_parameters() {
    let (upstream, gateway) = setup().await;
    for arguments in [json!([1, 2]), json!("id=I-123"), json!(7)] {
        let reply = mcp_call(&gateway, "get_item", arguments.clone()).await;
        let result = &reply["result"];
        assert_eq!(result["isError"], json!(true), "{arguments}: {reply}");
        let error = &result["structuredContent"]["error"];
        assert_eq!(error["code"], json!("invalid_parameters"));
        assert_eq!(
            error["details"]["errors"],
            json!([{ "path": "/", "message": "arguments must be a JSON object" }])
        );
    }
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn resources_list_paginates_every_configured_resource() {
    let (_upstream, gateway) = setup().await;
    let pages = all_pages(&gateway, "resources/list", "resources").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1]);
    let resources: Vec<Value> = pages.into_iter().flatten().collect();
    assert_eq!(
        resources[0],
        json!({
            "uri": "inventory://summary",
            "name": "Inventory summary",
            "description": "Counts by state.",
            "mimeType": "application/json",
        })
    );
    assert_eq!(
        resources[1],
        json!({ "uri": "inventory://readme", "name": "Readme", "mimeType": "text/plain" })
    );
    assert_eq!(resources[2]["uri"], json!("inventory://broken"));
}

#[tokio::test]
async fn resources_read_fetches_from_the_upstream() {
    let (upstream, gateway) = setup().await;
    let (status, reply) = rpc(
        &gateway,
        "resources/read",
        json!({ "uri": "inventory://summary" }),
    )
    .await;
    assert_eq!(status, 200);
    let contents = reply["result"]["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1, "{reply}");
    assert_eq!(contents[0]["uri"], json!("inventory://summary"));
    assert_eq!(contents[0]["mimeType"], json!("application/json"));
    let text: Value = serde_json::from_str(contents[0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        text,
        json!({ "method": "GET", "uri": "/summary", "body": null })
    );
    assert_eq!(upstream.last().uri, "/summary");

    let (_, reply) = rpc(
        &gateway,
        "resources/read",
        json!({ "uri": "inventory://readme" }),
    )
    .await;
    assert_eq!(
        reply["result"]["contents"],
        json!([{ "uri": "inventory://readme", "mimeType": "text/plain", "text": "plain hello" }])
    );
}

#[tokio::test]
async fn resources_read_of_an_unknown_uri_is_resource_not_found() {
    let (upstream, gateway) = setup().await;
    let (status, reply) = rpc(
        &gateway,
        "resources/read",
        json!({ "uri": "inventory://nope" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reply["error"]["code"], json!(-32002), "{reply}");
    assert_eq!(reply["error"]["data"]["uri"], json!("inventory://nope"));
    assert!(upstream.requests().is_empty());

    let (_, reply) = rpc(&gateway, "resources/read", json!({})).await;
    assert_eq!(reply["error"]["code"], json!(-32602), "{reply}");
}

#[tokio::test]
async fn resources_read_of_a_failing_upstream_is_an_error_naming_upstream_error() {
    let (_upstream, gateway) = setup().await;
    let (status, reply) = rpc(
        &gateway,
        "resources/read",
        json!({ "uri": "inventory://broken" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reply["error"]["code"], json!(-32603), "{reply}");
    assert_eq!(reply["error"]["data"]["code"], json!("upstream_error"));
}
