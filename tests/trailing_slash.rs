//! Every documented endpoint answers the same with and without a trailing slash, on both
//! protocols (the Junis guide registers URLs like `https://mcp.example.com/`).

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: ping
    description: Ping the upstream.
    request: { upstream: api, path: /ping }
"#;

async fn post(url: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn endpoints_answer_with_and_without_a_trailing_slash() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    for path in ["", "/mcp", "/v1", "/v1/mcp"] {
        for slash in ["", "/"] {
            let url = format!("{}{path}{slash}", gateway.url);
            if path.is_empty() && slash.is_empty() {
                continue; // the same URL as "/"
            }
            let (status, mcp) = post(
                &url,
                json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }),
            )
            .await;
            assert_eq!(status, 200, "MCP at {url}: {mcp}");
            assert_eq!(mcp["result"]["tools"][0]["name"], json!("ping"), "{url}");
            let (status, legacy) =
                post(&url, json!({ "method": "list_tools", "params": {} })).await;
            assert_eq!(status, 200, "legacy at {url}: {legacy}");
            assert_eq!(legacy["tools"][0]["name"], json!("ping"), "{url}: {legacy}");
        }
    }
    for path in [
        "/health",
        "/health/",
        "/ready",
        "/ready/",
        "/metrics",
        "/metrics/",
    ] {
        let response = client()
            .get(format!("{}{path}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
    }
}
