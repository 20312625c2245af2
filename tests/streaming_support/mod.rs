//! Upstreams for the streaming and cancellation tests: one that produces NDJSON (or text)
//! lines over time or in bulk, and a raw TCP one that never answers and records when the
//! gateway closes its connection. Plus a reader of SSE responses.
#![allow(dead_code)]

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// A streaming upstream:
/// - `/lines/{n}/{ms}`: `n` NDJSON lines `{"n":i,"text":"line i"}`, `ms` apart;
/// - `/text/{n}`: `n` `text/plain` lines `row i`;
/// - `/bulk/{mb}`: `mb` MiB of NDJSON in lines of 1 KiB, produced as fast as read;
/// - `/broken/{n}`: `n` NDJSON lines, then the connection is cut mid-line.
pub struct LineUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl LineUpstream {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn ndjson_line(i: usize) -> Bytes {
    Bytes::from(format!("{{\"n\":{i},\"text\":\"line {i}\"}}\n"))
}

async fn lines(path: web::Path<(usize, u64)>) -> HttpResponse {
    let (n, ms) = path.into_inner();
    let body = futures_util::stream::unfold(0, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some((Ok::<_, actix_web::Error>(ndjson_line(i + 1)), i + 1))
    });
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body)
}

async fn text(path: web::Path<usize>) -> HttpResponse {
    let n = path.into_inner();
    let body: String = (1..=n).map(|i| format!("row {i}\r\n")).collect();
    HttpResponse::Ok().content_type("text/plain").body(body)
}

/// 1 KiB NDJSON lines (1023 bytes of JSON and a newline).
pub fn bulk_line(i: usize) -> Vec<u8> {
    let head = format!("{{\"n\":{i},\"pad\":\"");
    let mut line = head.into_bytes();
    line.resize(1024 - 3, b'x');
    line.extend_from_slice(b"\"}\n");
    line
}

async fn bulk(path: web::Path<usize>) -> HttpResponse {
    let mb = path.into_inner();
    let total_lines = mb * 1024;
    // 64 lines (64 KiB) a chunk.
    let body = futures_util::stream::unfold(0, move |i| async move {
        if i >= total_lines {
            return None;
        }
        let end = (i + 64).min(total_lines);
        let mut chunk = Vec::with_capacity((end - i) * 1024);
        for n in i..end {
            chunk.extend_from_slice(&bulk_line(n));
        }
        Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), end))
    });
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body)
}

async fn broken(path: web::Path<usize>) -> HttpResponse {
    let n = path.into_inner();
    let body = futures_util::stream::unfold(1, move |i| async move {
        // Give each line time to leave before the next item.
        tokio::time::sleep(Duration::from_millis(20)).await;
        match i {
            i if i <= n => Some((Ok(ndjson_line(i)), i + 1)),
            i if i == n + 1 => Some((Ok(Bytes::from_static(b"{\"n\":")), i + 1)),
            i if i == n + 2 => Some((
                Err(actix_web::error::ErrorInternalServerError("cut")),
                i + 1,
            )),
            _ => None,
        }
    });
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body)
}

async fn fallback(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().body(format!("no route {}", req.path()))
}

/// Starts the streaming upstream.
pub async fn start_line_upstream() -> LineUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(|| {
        App::new()
            .route("/lines/{n}/{ms}", web::get().to(lines))
            .route("/text/{n}", web::get().to(text))
            .route("/bulk/{mb}", web::get().to(bulk))
            .route("/broken/{n}", web::get().to(broken))
            .default_service(web::to(fallback))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    LineUpstream { addr }
}

/// What a [`SilentUpstream`] saw of one connection.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When the request head had arrived.
    pub request_at: Instant,
    /// The request head.
    pub head: String,
    /// When the gateway closed the connection, if it has.
    pub closed_at: Option<Instant>,
}

/// A raw TCP upstream that reads each request and never answers, noting when the gateway
/// closes the connection.
pub struct SilentUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl SilentUpstream {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every connection so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `count` requests have arrived.
    pub async fn until_requests(&self, count: usize) -> Vec<Seen> {
        let start = Instant::now();
        loop {
            let seen = self.seen();
            if seen.len() >= count {
                return seen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "only {} of {count} requests reached the upstream",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits (up to `limit`) until connection `index` is closed; when it was.
    pub async fn until_closed(&self, index: usize, limit: Duration) -> Option<Instant> {
        let start = Instant::now();
        loop {
            if let Some(closed) = self.seen().get(index).and_then(|s| s.closed_at) {
                return Some(closed);
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Starts the silent upstream.
pub async fn start_silent_upstream() -> SilentUpstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                let index = loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut seen = log.lock().unwrap();
                        seen.push(Seen {
                            request_at: Instant::now(),
                            head: String::from_utf8_lossy(&head).into_owned(),
                            closed_at: None,
                        });
                        break seen.len() - 1;
                    }
                };
                // Never answer; notice the close.
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                log.lock().unwrap()[index].closed_at = Some(Instant::now());
            });
        }
    });
    SilentUpstream { addr, seen }
}

/// One SSE event as received: its data parsed as JSON, and when it arrived.
#[derive(Debug)]
pub struct Event {
    /// The JSON-RPC message.
    pub message: serde_json::Value,
    /// Arrival time.
    pub at: Instant,
}

/// Reads an SSE response to its end, timing each event.
pub async fn read_events(mut response: reqwest::Response) -> Vec<Event> {
    let mut events = Vec::new();
    let mut pending = String::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        let at = Instant::now();
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if !data.is_empty() {
                events.push(Event {
                    message: serde_json::from_str(&data)
                        .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data:?}")),
                    at,
                });
            }
        }
    }
    events
}

/// The resident set size of this process in KiB (Linux).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
