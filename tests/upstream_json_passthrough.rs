//! A JSON object or array answer of a tool with no `pick` and no `output_schema` is passed
//! through as the upstream wrote it, over real sockets: whitespace outside strings removed,
//! keys in the upstream's order, strings, escapes and numbers byte for byte. The text block
//! and `structuredContent` (MCP) and `result` (legacy) carry the same JSON. Answers that need
//! parsing (a JSON string, too deep, a number a parser may refuse, labelled JSON that is not
//! JSON) are answered as before.

mod common;

use common::{client, legacy_call, mcp_call, start_gateway};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PRETTY: &str = "{\n  \"zeta\": \"Jos\\u00e9 \\\"J\\\"  é\",\n  \"alpha\": [1, 2.50, -0],\n  \"nested\": { \"b\": true, \"a\": null }\n}\n";
const COMPACT: &str =
    r#"{"zeta":"Jos\u00e9 \"J\"  é","alpha":[1,2.50,-0],"nested":{"b":true,"a":null}}"#;

/// (content type, body) for each path.
fn answer(path: &str) -> (Option<&'static str>, String) {
    match path {
        "/pretty" => (Some("application/json"), PRETTY.to_owned()),
        "/unlabelled" => (None, format!("  {PRETTY}")),
        "/array" => (Some("application/json"), "[ {\"a\": 1},\n 2 ]".to_owned()),
        "/string" => (Some("application/json"), "\"just text\"".to_owned()),
        "/huge-number" => (Some("application/json"), "{\"n\": 1e400}".to_owned()),
        "/deep" => (
            Some("application/json"),
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ),
        "/broken" => (Some("application/json"), "{\"a\": [1, 2}".to_owned()),
        _ => (Some("text/plain"), "not found".to_owned()),
    }
}

/// A raw HTTP/1.1 upstream answering by path.
async fn start_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let (content_type, body) = answer(&path);
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                if let Some(content_type) = content_type {
                    out.push_str(&format!("Content-Type: {content_type}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let _ = stream.write_all(out.as_bytes()).await;
            });
        }
    });
    url
}

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "${API}", retries: 0 }
tools:
  - name: fetch
    description: Fetch a path.
    input_schema:
      type: object
      properties: { path: { type: string } }
      required: [ path ]
    request: { upstream: api, path: "/{{args.path}}" }
  - name: fetch_short
    description: Fetch a path, cut to 20 bytes.
    input_schema:
      type: object
      properties: { path: { type: string } }
      required: [ path ]
    request: { upstream: api, path: "/{{args.path}}" }
    response: { max_bytes: 20 }
"#;

fn text(reply: &Value) -> &str {
    reply["result"]["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn an_object_answer_is_passed_through_compacted_with_its_keys_and_bytes_as_sent() {
    let url = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &url)]).await;
    let parsed: Value = serde_json::from_str(PRETTY).unwrap();
    for path in ["pretty", "unlabelled"] {
        let reply = mcp_call(&gateway, "fetch", json!({ "path": path })).await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
        assert_eq!(text(&reply), COMPACT, "{path}");
        assert_eq!(reply["result"]["structuredContent"], parsed, "{path}");
        let (status, legacy) = legacy_call(&gateway, "fetch", json!({ "path": path })).await;
        assert_eq!(
            (status, &legacy),
            (200, &json!({ "result": parsed })),
            "{path}"
        );
    }
    // The bytes on the wire: the upstream's key order, its escapes and its number forms.
    let body = json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": { "name": "fetch", "arguments": { "path": "pretty" } },
    });
    let wire = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wire.headers()["content-type"], "application/json");
    let wire = wire.text().await.unwrap();
    assert!(
        wire.contains(&format!("\"structuredContent\":{COMPACT}")),
        "{wire}"
    );
}

#[tokio::test]
async fn arrays_are_text_only_and_cut_answers_say_so() {
    let url = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &url)]).await;
    let reply = mcp_call(&gateway, "fetch", json!({ "path": "array" })).await;
    assert_eq!(text(&reply), r#"[{"a":1},2]"#);
    assert!(
        reply["result"].get("structuredContent").is_none(),
        "{reply}"
    );

    let reply = mcp_call(&gateway, "fetch_short", json!({ "path": "pretty" })).await;
    let cut = text(&reply);
    assert!(cut.starts_with(&COMPACT[..20]), "{cut}");
    assert!(cut.contains("[truncated by toolgate"), "{cut}");
    assert!(
        reply["result"].get("structuredContent").is_none(),
        "{reply}"
    );
    let (_, legacy) = legacy_call(&gateway, "fetch_short", json!({ "path": "pretty" })).await;
    assert_eq!(legacy["truncated"], true);
    assert_eq!(legacy["result"].as_str(), Some(cut));
}

#[tokio::test]
async fn answers_that_need_parsing_are_answered_as_before() {
    let url = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &url)]).await;
    // A JSON string is its own text.
    let reply = mcp_call(&gateway, "fetch", json!({ "path": "string" })).await;
    assert_eq!(text(&reply), "just text");
    // Too deep, out of range, or broken: the parser's verdict, as an upstream_error.
    for path in ["deep", "huge-number", "broken"] {
        let reply = mcp_call(&gateway, "fetch", json!({ "path": path })).await;
        assert_eq!(reply["result"]["isError"], true, "{path}: {reply}");
        assert_eq!(
            reply["result"]["structuredContent"]["error"]["code"], "upstream_error",
            "{path}"
        );
        assert!(text(&reply).contains("not valid JSON"), "{path}: {reply}");
    }
}
