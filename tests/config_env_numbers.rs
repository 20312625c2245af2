//! `${VAR}` in numeric config fields and tool titles, over real sockets: sizes, limits and
//! rates written as `${VAR}` (or `${VAR:-default}`) take effect once substituted and typed.

mod common;

use common::{client, legacy_call, start_gateway, start_upstream};
use serde_json::{Value, json};

const YAML: &str = r#"
server:
  max_body_bytes: ${TG_MAX_BODY}
  page_size: "${TG_PAGE_SIZE:-1}"
rate_limits:
  default_tier: standard
  tiers:
    standard: { requests: "${TG_RATE}", per: 60s, burst: "${TG_RATE}" }
upstreams:
  api: { base_url: "${API}", retries: "${TG_RETRIES:-0}", max_response_bytes: "${TG_MAX_ANSWER}" }
tools:
  - name: big
    title: ${TG_TITLE}
    description: A long answer.
    input_schema: { type: object, properties: { note: { type: string } } }
    request: { upstream: api, path: /big/100 }
    response: { max_bytes: "${TG_CUT}" }
  - name: other
    description: Another tool, on the second page.
    request: { upstream: api, path: /items }
"#;

#[tokio::test]
async fn numbers_and_titles_from_the_environment_take_effect() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(
        YAML,
        &[
            ("API", &upstream.url()),
            ("TG_MAX_BODY", "400"),
            ("TG_RATE", "3"),
            ("TG_MAX_ANSWER", "100000"),
            ("TG_TITLE", "Big answers"),
            ("TG_CUT", "20"),
        ],
    )
    .await;

    // The title, and a page size of 1 from the default.
    let listed: Value = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tools = listed["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1, "{listed}");
    assert_eq!(tools[0]["title"], json!("Big answers"));
    assert!(listed["result"]["nextCursor"].is_string(), "{listed}");

    // response.max_bytes: 20.
    let (status, body) = legacy_call(&gateway, "big", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let text = body["result"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "{}\n[truncated by toolgate: showing the first 20 of 100 bytes]",
            "x".repeat(20)
        )
    );

    // server.max_body_bytes: 400.
    let (status, body) = legacy_call(&gateway, "big", json!({ "note": "n".repeat(500) })).await;
    assert_eq!(status, 413, "{body}");

    // Three calls per minute (the refused body above cost nothing): two more, then 429.
    for _ in 0..2 {
        let (status, body) = legacy_call(&gateway, "big", json!({})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = legacy_call(&gateway, "big", json!({})).await;
    assert_eq!(status, 429, "{body}");
}
