//! A tool that declares an `output_schema` stays strict: an upstream answer that does not match
//! it fails the call (`upstream_error`), and `/metrics` counts each mismatch by tool in
//! `toolgate_output_schema_mismatches_total`. Other upstream errors are not counted there.

mod common;

use common::{client, legacy_call, mcp_call, start_gateway, start_upstream};
use serde_json::json;

const YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: drifted
    description: The API no longer sends `name`.
    input_schema: { type: object }
    request: { upstream: api, path: /items/1 }
    response:
      output_schema: { type: object, required: [ name ] }
  - name: matching
    description: Answers as declared.
    input_schema: { type: object }
    request: { upstream: api, path: /items/2 }
    response:
      output_schema: { type: object, required: [ uri ] }
  - name: broken
    description: The upstream fails.
    input_schema: { type: object }
    request: { upstream: api, path: /status/500 }
    response:
      output_schema: { type: object, required: [ uri ] }
"#;

const METRIC: &str = "toolgate_output_schema_mismatches_total";

#[tokio::test]
async fn mismatches_fail_the_call_and_are_counted_by_tool() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;

    for _ in 0..2 {
        let (status, body) = legacy_call(&gateway, "drifted", json!({})).await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["error"]["code"], json!("upstream_error"), "{body}");
    }
    let reply = mcp_call(&gateway, "drifted", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    let (status, body) = legacy_call(&gateway, "matching", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = legacy_call(&gateway, "broken", json!({})).await;
    assert_eq!(
        body["error"]["code"],
        json!("upstream_error"),
        "{status} {body}"
    );

    let text = client()
        .get(format!("{}/metrics", gateway.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with(METRIC))
        .collect();
    assert_eq!(
        samples,
        [format!("{METRIC}{{tool=\"drifted\"}} 3")],
        "{text}"
    );
}
