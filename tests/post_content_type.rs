//! `POST /mcp` and `POST /` (legacy) take JSON only: a body declared `text/plain`, a form or
//! multipart (what a browser may send cross-site without a preflight) is 415 with a structured
//! error and is not executed; `application/json` (with parameters) and `application/*+json` are
//! served, and so is a body without Content-Type (some scripted clients omit it).

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    request: { upstream: api, path: /items }
"#;

async fn post(url: &str, content_type: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn non_json_content_types_are_415_and_json_or_none_is_served() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    let mcp = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "get_item", "arguments": {} },
    });
    let legacy =
        json!({ "method": "call_tool", "params": { "tool_name": "get_item", "arguments": {} } });
    let endpoints = [
        (gateway.mcp_url(), &mcp),
        (format!("{}/", gateway.url), &legacy),
    ];
    for (url, body) in &endpoints {
        for refused in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
        ] {
            let (status, reply) = post(url, Some(refused), body).await;
            assert_eq!(status, 415, "{url} {refused}: {reply}");
            assert_eq!(reply["error"]["code"], json!("invalid_request"), "{reply}");
            assert!(
                reply["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("application/json")
            );
        }
    }
    assert!(
        upstream.requests().is_empty(),
        "a refused body was executed"
    );
    for (url, body) in &endpoints {
        for served in [
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/vnd.api+json"),
            None,
        ] {
            let (status, reply) = post(url, served, body).await;
            assert_eq!(status, 200, "{url} {served:?}: {reply}");
        }
    }
    assert_eq!(upstream.requests().len(), 8);
}
