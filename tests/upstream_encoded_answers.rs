//! Upstream answers with a content coding, over real sockets: gzip and deflate are decoded (the
//! gateway asks for them) with `max_response_bytes` counting decoded bytes, so a small
//! compressed bomb is `upstream_error`; any other coding (`br`, unknown) is `upstream_error`,
//! never mojibake with `isError: false`. An answer labelled JSON whose body does not parse is
//! `upstream_error` too; an empty one is an empty text.

mod common;

use common::{client, start_gateway};
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// (content type, content encoding, body) for each path.
fn answer(path: &str) -> (&'static str, Option<&'static str>, Vec<u8>) {
    let hello = br#"{"hello":"world"}"#;
    match path {
        "/gzip" => ("application/json", Some("gzip"), gzip(hello)),
        "/deflate" => ("application/json", Some("deflate"), zlib(hello)),
        "/bomb" => {
            let big = format!("\"{}\"", "0".repeat(8 * 1024 * 1024));
            ("application/json", Some("gzip"), gzip(big.as_bytes()))
        }
        "/br" => (
            "application/json",
            Some("br"),
            vec![0x1b, 0x8f, 0x00, 0xf8, 0xff],
        ),
        "/bad-json" => ("application/json", None, b"{\"hello\": wor".to_vec()),
        "/bad-problem" => (
            "application/problem+json",
            None,
            b"<html>oops</html>".to_vec(),
        ),
        "/empty" => ("application/json; charset=utf-8", None, Vec::new()),
        _ => ("text/plain", None, b"plain hello".to_vec()),
    }
}

/// A raw HTTP/1.1 upstream answering by path; records each request head.
async fn start_upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
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
                seen.lock().unwrap().push(head);
                let (content_type, encoding, body) = answer(&path);
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                if let Some(encoding) = encoding {
                    out.push_str(&format!("Content-Encoding: {encoding}\r\n"));
                }
                out.push_str("\r\n");
                let _ = stream.write_all(out.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    (url, heads)
}

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "${API}", max_response_bytes: 1048576, retries: 0 }
tools:
  - name: fetch
    description: Fetch a path.
    input_schema:
      type: object
      properties: { path: { type: string } }
      required: [ path ]
    request: { upstream: api, path: "/{{args.path}}" }
"#;

async fn call(url: &str, path: &str) -> Value {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "fetch", "arguments": { "path": path } },
    });
    let reply: Value = client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["result"].clone()
}

fn error_code(result: &Value) -> &Value {
    &result["structuredContent"]["error"]["code"]
}

#[tokio::test]
async fn encoded_and_broken_json_answers_are_decoded_or_upstream_errors() {
    let (upstream, heads) = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream)]).await;
    let url = gateway.mcp_url();

    for path in ["gzip", "deflate"] {
        let result = call(&url, path).await;
        assert_eq!(result["isError"], json!(false), "{path}: {result}");
        assert_eq!(
            result["structuredContent"],
            json!({ "hello": "world" }),
            "{path}: {result}"
        );
    }
    let asked = heads.lock().unwrap()[0].to_ascii_lowercase();
    assert!(asked.contains("accept-encoding: gzip"), "{asked}");

    // 8 MiB of decoded JSON from a ~8 KB gzip body: over the 1 MiB cap.
    let result = call(&url, "bomb").await;
    assert_eq!(result["isError"], json!(true), "{result}");
    assert_eq!(error_code(&result), &json!("upstream_error"), "{result}");
    assert!(result.to_string().contains("1048576"), "{result}");

    let result = call(&url, "br").await;
    assert_eq!(error_code(&result), &json!("upstream_error"), "{result}");
    assert!(
        result.to_string().contains("Content-Encoding 'br'"),
        "{result}"
    );

    for path in ["bad-json", "bad-problem"] {
        let result = call(&url, path).await;
        assert_eq!(result["isError"], json!(true), "{path}: {result}");
        assert_eq!(
            error_code(&result),
            &json!("upstream_error"),
            "{path}: {result}"
        );
        assert!(
            result.to_string().contains("not valid JSON"),
            "{path}: {result}"
        );
    }

    let result = call(&url, "empty").await;
    assert_eq!(result["isError"], json!(false), "{result}");
    assert_eq!(result["content"][0]["text"], json!(""), "{result}");
    let result = call(&url, "text").await;
    assert_eq!(
        result["content"][0]["text"],
        json!("plain hello"),
        "{result}"
    );
}
