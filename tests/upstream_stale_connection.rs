//! A pooled keep-alive connection that the upstream closes as the next request goes out (the
//! upstream's keep-alive timer firing at that moment) gets no answer at all. An idempotent
//! call is sent again on a new connection and succeeds; a POST is not sent twice and fails
//! with `upstream_error`.

mod common;

use common::{mcp_call, start_gateway};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the upstream counted.
#[derive(Default)]
struct Counts {
    connections: AtomicUsize,
    requests: AtomicUsize,
}

/// An upstream that answers the first request on each connection (keeping it open) and closes
/// the connection, unanswered, on the second.
async fn closes_on_second_request() -> (SocketAddr, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream, shared.clone()));
        }
    });
    (addr, counts)
}

async fn serve(mut stream: TcpStream, counts: Arc<Counts>) {
    for nth in 0.. {
        if !read_request(&mut stream).await {
            return;
        }
        let total = counts.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if nth > 0 {
            return; // dropped: closed without a byte of an answer
        }
        let body = format!(r#"{{"request":{total}}}"#);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if stream
            .write_all(format!("{head}{body}").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Reads one request (head and a `Content-Length` body); false when the connection ended.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap_or(0));
            if data.len() >= end + 4 + length {
                return true;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

const CONFIG: &str = r#"
upstreams:
  api:
    base_url: ${API}
tools:
  - name: read
    description: GET /thing.
    input_schema: { type: object }
    request: { upstream: api, method: GET, path: /thing }
  - name: create
    description: POST /thing.
    input_schema: { type: object }
    request: { upstream: api, method: POST, path: /thing, body: { a: 1 } }
"#;

fn structured(reply: &Value) -> &Value {
    &reply["result"]["structuredContent"]
}

#[actix_web::test]
async fn a_get_on_a_connection_closed_unanswered_is_sent_again_on_a_new_one() {
    let (addr, counts) = closes_on_second_request().await;
    let gateway = start_gateway(CONFIG, &[("API", &format!("http://{addr}"))]).await;

    let first = mcp_call(&gateway, "read", json!({})).await;
    assert_eq!(structured(&first), &json!({ "request": 1 }), "{first}");
    // The pooled connection is reused, closed unanswered, and the GET goes out again.
    let second = mcp_call(&gateway, "read", json!({})).await;
    assert_eq!(second["result"]["isError"], json!(false), "{second}");
    assert_eq!(structured(&second), &json!({ "request": 3 }), "{second}");
    assert_eq!(counts.requests.load(Ordering::SeqCst), 3);
    assert_eq!(counts.connections.load(Ordering::SeqCst), 2);
}

#[actix_web::test]
async fn a_post_on_a_connection_closed_unanswered_is_not_sent_twice() {
    let (addr, counts) = closes_on_second_request().await;
    let gateway = start_gateway(CONFIG, &[("API", &format!("http://{addr}"))]).await;

    let first = mcp_call(&gateway, "create", json!({})).await;
    assert_eq!(structured(&first), &json!({ "request": 1 }), "{first}");
    let second = mcp_call(&gateway, "create", json!({})).await;
    assert_eq!(second["result"]["isError"], json!(true), "{second}");
    let error = &structured(&second)["error"];
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("broke off"),
        "{error}"
    );
    assert_eq!(counts.requests.load(Ordering::SeqCst), 2);
}
