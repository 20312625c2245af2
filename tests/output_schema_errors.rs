//! A tool that declares an output schema never returns `structuredContent` that breaks it: an
//! error result carries the code in its text only (SDK clients check structured content against
//! the schema even on errors), while a tool without one keeps `structuredContent.error`.

mod common;

use common::{mcp_call, start_gateway, start_upstream};
use serde_json::json;

const YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: with_schema
    description: Declares an output schema.
    input_schema:
      type: object
      properties: { id: { type: string, pattern: "^[0-9]+$" } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
    response:
      output_schema: { type: object, required: [ uri ], properties: { uri: { type: string } } }
  - name: without_schema
    description: Declares none.
    input_schema:
      type: object
      properties: { id: { type: string, pattern: "^[0-9]+$" } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
"#;

#[tokio::test]
async fn error_results_carry_structured_content_only_without_an_output_schema() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;

    let ok = mcp_call(&gateway, "with_schema", json!({ "id": "7" })).await;
    assert_eq!(ok["result"]["isError"], json!(false), "{ok}");
    assert_eq!(ok["result"]["structuredContent"]["uri"], json!("/items/7"));

    let bad = mcp_call(&gateway, "with_schema", json!({ "id": "x" })).await;
    assert_eq!(bad["result"]["isError"], json!(true), "{bad}");
    assert!(bad["result"].get("structuredContent").is_none(), "{bad}");
    let text = bad["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("(invalid_parameters)"), "{text}");

    let bad = mcp_call(&gateway, "without_schema", json!({ "id": "x" })).await;
    assert_eq!(
        bad["result"]["structuredContent"]["error"]["code"],
        json!("invalid_parameters")
    );
}
