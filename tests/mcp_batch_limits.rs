//! JSON-RPC batches (protocol revision 2025-03-26) are capped at 64 messages: a larger batch is
//! one Invalid Request (-32600) and none of its calls reaches the upstream; an empty batch is
//! the spec's Invalid Request too (not a version hint); within the cap every call still counts
//! against the caller's rate limit.

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
rate_limits:
  default_tier: standard
  tiers:
    standard: { requests: 1, per: 60s, burst: 10 }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    request: { upstream: api, path: /items }
"#;

fn calls(count: usize) -> Value {
    (0..count)
        .map(|id| {
            json!({
                "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": { "name": "get_item", "arguments": {} },
            })
        })
        .collect()
}

async fn post_batch(url: &str, batch: Value) -> (u16, Value) {
    let response = client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-03-26")
        .json(&batch)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn empty_and_oversized_batches_are_invalid_requests_and_the_cap_is_rate_limited() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    let url = gateway.mcp_url();

    let (status, reply) = post_batch(&url, json!([])).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"]["code"], json!(-32600), "{reply}");
    assert_eq!(reply["id"], Value::Null, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("empty") && !message.contains("revision"),
        "{message}"
    );

    // One over the cap: a single error object, and nothing was executed.
    let (status, reply) = post_batch(&url, calls(65)).await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply.is_object(),
        "one error, not a batch of replies: {reply}"
    );
    assert_eq!(reply["error"]["code"], json!(-32600), "{reply}");
    assert!(
        reply["error"]["message"].as_str().unwrap().contains("64"),
        "{reply}"
    );
    assert!(
        upstream.requests().is_empty(),
        "a refused batch reached the upstream"
    );

    // At the cap: 64 replies; the burst of 10 is spent by the first ten calls only.
    let (status, reply) = post_batch(&url, calls(64)).await;
    assert_eq!(status, 200, "{reply}");
    let replies = reply.as_array().expect("an array of replies");
    assert_eq!(replies.len(), 64);
    let limited = replies
        .iter()
        .filter(|r| r["result"]["isError"] == json!(true))
        .filter(|r| r.to_string().contains("rate_limit_exceeded"))
        .count();
    assert_eq!(limited, 54, "{reply}");
    assert_eq!(upstream.requests().len(), 10);
}
