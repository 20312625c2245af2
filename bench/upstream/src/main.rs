//! The benchmark upstream: a fixed, fast REST API on one thread.
//!
//! - `GET /customers/{id}` → a ~300-byte JSON customer whose `id` echoes `{id}`
//! - `POST /notes` → the JSON body sent, echoed (`201`)
//! - anything else → 404
//!
//! Usage: `bench-upstream [ADDR]` (default 127.0.0.1:9300). One thread (tokio current_thread):
//! the benchmark pins it to one CPU.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;

const MAX_BODY: usize = 64 * 1024;

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn customer(id: &str) -> String {
    // `id` comes from the path: keep only characters that need no JSON escaping.
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!(
        concat!(
            r#"{{"id":"{id}","name":"Ada Lovelace","email":"ada.lovelace@example.com","#,
            r#""company":"Analytical Engines Ltd","city":"London","country":"GB","tier":"premium","#,
            r#""status":"active","signup_date":"2021-03-14","lifetime_value":12345.67,"#,
            r#""account_manager":"Grace Hopper","tags":["vip","newsletter"]}}"#
        ),
        id = id
    )
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if req.method() == Method::GET
        && let Some(id) = path.strip_prefix("/customers/")
        && !id.is_empty()
        && !id.contains('/')
    {
        return Ok(json(StatusCode::OK, customer(id)));
    }
    if req.method() == Method::POST && path == "/notes" {
        return Ok(match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(body) => json(StatusCode::CREATED, body.to_bytes()),
            Err(_) => json(StatusCode::BAD_REQUEST, r#"{"error":"bad body"}"#),
        });
    }
    Ok(json(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9300".to_owned());
    let listener = TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    eprintln!("bench-upstream listening on {addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
