//! A validation error never echoes a huge invalid value: a 900 KB string is quoted as a
//! 120-character excerpt with its full length, and an array of thousands of invalid items gives
//! 20 errors and a count of the rest, so the answer stays small (over MCP and the legacy
//! protocol).

mod common;

use common::{client, start_gateway};
use serde_json::{Value, json};

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: put_note
    description: Store a note.
    input_schema:
      type: object
      properties:
        text: { type: string, maxLength: 10 }
        tags: { type: array, items: { type: integer } }
    request: { upstream: api, method: POST, path: /notes }
"#;

async fn mcp(url: &str, arguments: Value) -> String {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "put_note", "arguments": arguments },
    });
    let response = client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn huge_invalid_values_give_small_answers() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let huge = "a".repeat(900_000);

    let answer = mcp(&gateway.mcp_url(), json!({ "text": huge })).await;
    assert!(
        answer.len() < 2_000,
        "{} bytes: {}",
        answer.len(),
        &answer[..300]
    );
    assert!(answer.contains("invalid_parameters"), "{answer}");
    assert!(answer.contains("900002 characters in all"), "{answer}");
    assert!(
        answer.contains(&format!("\\\"{}…", "a".repeat(119))),
        "{answer}"
    );
    assert!(answer.contains("is longer than 10 characters"), "{answer}");

    let (status, legacy) = common::legacy_call(&gateway, "put_note", json!({ "text": huge })).await;
    assert_eq!(status, 400, "{legacy}");
    assert!(legacy.to_string().len() < 2_000, "{legacy}");

    // Thousands of invalid items: the first 20 errors and a count of the others.
    let tags: Vec<Value> = (0..5_000).map(|i| json!(format!("tag{i}"))).collect();
    let answer = mcp(&gateway.mcp_url(), json!({ "tags": tags })).await;
    assert!(answer.len() < 8_000, "{} bytes", answer.len());
    assert!(answer.contains("and 4980 more errors"), "{answer}");

    // Short values are still quoted whole.
    let answer = mcp(&gateway.mcp_url(), json!({ "text": "eleven chars" })).await;
    assert!(
        answer.contains("\\\"eleven chars\\\" is longer than 10 characters"),
        "{answer}"
    );
}
