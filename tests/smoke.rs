//! The harness itself works: a tool call reaches the recording upstream and comes back.

mod common;

use common::{mcp_call, start_gateway, start_upstream};
use serde_json::json;

#[tokio::test]
async fn a_get_tool_reaches_the_upstream_and_returns_its_answer() {
    let upstream = start_upstream().await;
    let yaml = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
"#;
    let gateway = start_gateway(yaml, &[("API", &upstream.url())]).await;
    let reply = mcp_call(&gateway, "get_item", json!({ "id": "42" })).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(
        reply["result"]["structuredContent"]["uri"],
        json!("/items/42")
    );
    assert_eq!(upstream.last().method, "GET");
}
