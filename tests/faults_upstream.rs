//! Fault injection against real (raw TCP) upstreams: refused connections, stalls, resets, 5xx
//! answers, retries, `Retry-After`, gzip bombs, huge and dripping answers, broken JSON and
//! odd content types, the circuit breaker and the concurrency limit. Each fault gets its
//! CONTRACT §4 code quickly, with bounded memory, and the next normal call succeeds.
//!
//! (The basic mappings already covered by `upstream_failures.rs` over the recording upstream
//! are not repeated here; these tests drive the byte-level misbehaviour that a well-behaved
//! HTTP server cannot produce.)

mod common;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A raw upstream: reads one request per connection and misbehaves according to its path.
// ---------------------------------------------------------------------------------------------

/// What the raw upstream saw and how it should behave.
#[derive(Default)]
struct Shared {
    /// Requests received, by path.
    hits: Mutex<HashMap<String, usize>>,
    /// Request heads received, in order.
    heads: Mutex<Vec<String>>,
    /// `/switch` answers 200 when true, 500 when false.
    healthy: AtomicBool,
    /// The gzip bomb served at `/gzip-bomb`.
    bomb: Mutex<Arc<Vec<u8>>>,
}

struct RawUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl RawUpstream {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn heads(&self) -> Vec<String> {
        self.shared.heads.lock().unwrap().clone()
    }
}

async fn raw_upstream() -> RawUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_raw(listener, Arc::new(Shared::default()))
}

fn serve_raw(listener: TcpListener, shared: Arc<Shared>) -> RawUpstream {
    let addr = listener.local_addr().unwrap();
    let state = shared.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move { connection(stream, state).await });
        }
    });
    RawUpstream { addr, shared }
}

/// Reads one request (head and `Content-Length` body), then answers it by path.
async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_owned();
    let n = {
        let mut hits = shared.hits.lock().unwrap();
        let count = hits.entry(path.clone()).or_insert(0);
        *count += 1;
        *count - 1
    };
    shared.heads.lock().unwrap().push(head);
    behave(&path, n, stream, &shared).await;
}

/// A complete answer with a `Content-Length`, then the connection is closed.
async fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const HUGE_BYTES: usize = 100 * 1024 * 1024;

async fn behave(path: &str, n: usize, mut s: TcpStream, shared: &Shared) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["ok"] => respond(&mut s, "200 OK", &[JSON], br#"{"ok":true}"#).await,
        ["slow", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            respond(&mut s, "200 OK", &[JSON], br#"{"slow":true}"#).await;
        }
        ["slow-fail", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            respond(&mut s, "500 Internal Server Error", &[JSON], b"{}").await;
        }
        // Accepts the request and never answers.
        ["stall"] => tokio::time::sleep(Duration::from_secs(30)).await,
        // Answers the head and a tenth of the body, then nothing.
        ["stall-body"] => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[1,2,3,4,")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        // The head and part of the body, then a TCP reset.
        ["reset"] => {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n".to_vec();
            out.extend(std::iter::repeat_n(b' ', 1000));
            let _ = s.write_all(&out).await;
            let _ = s.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = s.set_zero_linger();
            drop(s);
        }
        ["status", code] => {
            let status = format!("{code} Whatever");
            respond(&mut s, &status, &[JSON], br#"{"error":"injected"}"#).await;
        }
        // 503 on the first request, 200 afterwards (one counter per path).
        ["flaky", ..] if n == 0 => respond(&mut s, "503 Service Unavailable", &[JSON], b"{}").await,
        ["flaky", ..] => respond(&mut s, "200 OK", &[JSON], br#"{"recovered":true}"#).await,
        ["unavailable"] => {
            respond(
                &mut s,
                "503 Service Unavailable",
                &[JSON, ("Retry-After", "3")],
                b"{}",
            )
            .await
        }
        ["limited"] => {
            respond(
                &mut s,
                "429 Too Many Requests",
                &[JSON, ("Retry-After", "5")],
                b"{}",
            )
            .await
        }
        ["retry-date"] => {
            respond(
                &mut s,
                "503 Service Unavailable",
                &[JSON, ("Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT")],
                b"{}",
            )
            .await
        }
        ["retry-huge"] => {
            respond(
                &mut s,
                "429 Too Many Requests",
                &[JSON, ("Retry-After", "18446744073709551615")],
                b"{}",
            )
            .await
        }
        ["switch"] => {
            if shared.healthy.load(Ordering::SeqCst) {
                respond(&mut s, "200 OK", &[JSON], br#"{"up":true}"#).await
            } else {
                respond(&mut s, "500 Internal Server Error", &[JSON], b"{}").await
            }
        }
        ["gzip-bomb"] => {
            let bomb = shared.bomb.lock().unwrap().clone();
            respond(
                &mut s,
                "200 OK",
                &[JSON, ("Content-Encoding", "gzip")],
                &bomb,
            )
            .await
        }
        // 100 MB, delimited by the end of the connection or by a Content-Length, written in
        // 64 KiB pieces so that the upstream itself stays small.
        ["huge", kind] => {
            let head = match *kind {
                "eof" => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_owned(),
                "length" => format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {HUGE_BYTES}\r\n\r\n"),
                _ => "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n".to_owned(),
            };
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let piece: Vec<u8> = if *kind == "ndjson" {
                let line = format!("{{\"line\":\"{}\"}}\n", "y".repeat(1000));
                line.repeat(65536 / line.len()).into_bytes()
            } else {
                let mut piece = vec![b'x'; 65536];
                piece[0] = b'"';
                piece
            };
            let mut sent = 0;
            while sent < HUGE_BYTES {
                if s.write_all(&piece).await.is_err() {
                    return;
                }
                sent += piece.len();
            }
            let _ = s.shutdown().await;
        }
        // A JSON array of small numbers (cheap on the wire, expensive as parsed values).
        ["zeros", bytes] => {
            let n: usize = bytes.parse().unwrap();
            let mut body = b"[0".to_vec();
            while body.len() + 3 < n {
                body.extend_from_slice(b",0");
            }
            body.push(b']');
            respond(&mut s, "200 OK", &[JSON], &body).await
        }
        ["bad-json"] => respond(&mut s, "200 OK", &[JSON], b"{\"a\": tru, ]]] not json").await,
        ["html"] => {
            respond(
                &mut s,
                "200 OK",
                &[("Content-Type", "text/html; charset=utf-8")],
                b"<html><body>{\"a\":1}</body></html>",
            )
            .await
        }
        ["binary"] => {
            respond(
                &mut s,
                "200 OK",
                &[("Content-Type", "application/octet-stream")],
                &[0xff, 0xfe, 0x00, 0x80, b'{', 0xc3, 0x28, b'}'],
            )
            .await
        }
        ["json-as-text"] => {
            respond(
                &mut s,
                "200 OK",
                &[("Content-Type", "text/plain")],
                br#"{"a":1}"#,
            )
            .await
        }
        // The head at once, then one body byte every 100 ms.
        ["drip"] => {
            if s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
            )
            .await
            .is_err()
            {
                return;
            }
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if s.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        // The head itself, one byte every 100 ms.
        ["drip-head"] => {
            for byte in
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if s.write_all(&[*byte]).await.is_err() {
                    return;
                }
            }
        }
        _ => respond(&mut s, "404 Not Found", &[JSON], b"{}").await,
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway helpers
// ---------------------------------------------------------------------------------------------

/// A tool without arguments: `name` sends `method path` to `upstream`, with an optional timeout.
fn tool(name: &str, upstream: &str, method: &str, path: &str, timeout: Option<&str>) -> String {
    let timeout = timeout.map_or(String::new(), |t| format!("\n      timeout: {t}"));
    format!(
        r#"
  - name: {name}
    description: Calls {method} {path}.
    input_schema: {{ type: object }}
    request:
      upstream: {upstream}
      method: {method}
      path: "{path}"{timeout}"#
    )
}

/// Starts a gateway over `upstreams` (YAML lines below `upstreams:`) and `tools`, with
/// `${RAW}` standing for the raw upstream.
async fn gateway(raw: &RawUpstream, upstreams: &str, tools: &[String]) -> GatewayUnderTest {
    let yaml = format!("upstreams:\n{upstreams}\ntools:{}\n", tools.concat());
    start_gateway(&yaml, &[("RAW", &raw.url())]).await
}

/// One MCP `tools/call`: the JSON-RPC reply and how long it took.
async fn call(gateway: &GatewayUnderTest, tool: &str) -> (Value, Duration) {
    let started = Instant::now();
    let reply = common::mcp_call(gateway, tool, json!({})).await;
    (reply, started.elapsed())
}

/// The `structuredContent.error` of an `isError` tool result.
fn error_of(tool: &str, reply: &Value) -> Value {
    assert!(
        reply.get("error").is_none(),
        "{tool}: not a tool result: {reply}"
    );
    assert_eq!(reply["result"]["isError"], json!(true), "{tool}: {reply}");
    reply["result"]["structuredContent"]["error"].clone()
}

/// Calls `tool`, expects `code` within `bound`; returns the error object.
async fn expect_error(
    gateway: &GatewayUnderTest,
    tool: &str,
    code: &str,
    bound: Duration,
) -> Value {
    let (reply, took) = call(gateway, tool).await;
    let error = error_of(tool, &reply);
    assert_eq!(error["code"], json!(code), "{tool}: {error}");
    assert!(took < bound, "{tool}: took {took:?} (bound {bound:?})");
    error
}

/// Calls `tool` and expects a successful result.
async fn expect_ok(gateway: &GatewayUnderTest, tool: &str) -> Value {
    let (reply, took) = call(gateway, tool).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{tool}: {reply}");
    assert!(took < Duration::from_secs(3), "{tool}: took {took:?}");
    reply["result"].clone()
}

/// A legacy `call_tool`: status, `Retry-After` header, body.
async fn legacy(gateway: &GatewayUnderTest, tool: &str) -> (u16, Option<String>, Value) {
    let body = json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": {} } });
    let response = client()
        .post(format!("{}/", gateway.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Resets the peak-RSS mark (`VmHWM`) of this process when the kernel allows it.
fn reset_peak_rss() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

const FAST: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refused_connection_fails_fast_even_with_retries_and_recovers_when_the_upstream_comes_up()
{
    // A port on which nothing listens yet.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    drop(std_listener);
    let yaml = format!(
        "upstreams:\n  later: {{ base_url: \"http://{addr}\", retries: 2, retry_backoff: 10ms }}\ntools:{}{}\n",
        tool("later_ok", "later", "GET", "/ok", Some("2s")),
        tool("later_post", "later", "POST", "/ok", Some("2s")),
    );
    let gateway = start_gateway(&yaml, &[]).await;
    for name in ["later_ok", "later_post"] {
        let error = expect_error(&gateway, name, "upstream_error", FAST).await;
        assert_eq!(error["details"]["upstream"], json!("later"), "{error}");
        assert!(
            error["message"].as_str().unwrap().contains("connect"),
            "{error}"
        );
    }
    // The upstream comes up on that port: the very next call goes through.
    let listener = TcpListener::bind(addr).await.unwrap();
    let raw = serve_raw(listener, Arc::new(Shared::default()));
    expect_ok(&gateway, "later_ok").await;
    expect_ok(&gateway, "later_post").await;
    assert_eq!(raw.hits("/ok"), 2);
}

#[tokio::test]
async fn stalls_resets_and_drips_are_timeouts_or_errors_and_the_next_call_succeeds() {
    let raw = raw_upstream().await;
    let upstreams =
        "  raw: { base_url: \"${RAW}\", timeout: 600ms, retries: 2, retry_backoff: 10ms }";
    let tools = [
        tool("ok", "raw", "GET", "/ok", None),
        tool("stall", "raw", "GET", "/stall", None),
        tool("stall_body", "raw", "GET", "/stall-body", None),
        tool("reset", "raw", "GET", "/reset", None),
        tool("drip", "raw", "GET", "/drip", None),
        tool("drip_head", "raw", "GET", "/drip-head", None),
    ];
    let gateway = gateway(&raw, upstreams, &tools).await;
    expect_ok(&gateway, "ok").await;

    for (name, path, code) in [
        ("stall", "/stall", "upstream_timeout"),
        ("stall_body", "/stall-body", "upstream_timeout"),
        ("drip", "/drip", "upstream_timeout"),
        ("drip_head", "/drip-head", "upstream_timeout"),
        ("reset", "/reset", "upstream_error"),
    ] {
        let started = Instant::now();
        let error = expect_error(&gateway, name, code, FAST).await;
        let took = started.elapsed();
        if code == "upstream_timeout" {
            assert_eq!(
                error["details"]["timeout_ms"],
                json!(600),
                "{name}: {error}"
            );
            assert!(
                took >= Duration::from_millis(550),
                "{name}: gave up after {took:?}"
            );
        }
        // A broken or timed-out exchange is not retried: it may have been processed.
        assert_eq!(raw.hits(path), 1, "{name}: requests seen");
        // The pool and the breaker are fine: the next normal call succeeds.
        expect_ok(&gateway, "ok").await;
        // The legacy protocol maps it to the documented status.
        let (status, _, body) = legacy(&gateway, name).await;
        let expected = if code == "upstream_timeout" { 504 } else { 502 };
        assert_eq!(status, expected, "{name}: {body}");
        assert_eq!(body["error"]["code"], json!(code));
        expect_ok(&gateway, "ok").await;
        println!("{name}: {code} in {took:?}");
    }
}

#[tokio::test]
async fn only_idempotent_calls_are_retried_and_retry_after_is_passed_on() {
    let raw = raw_upstream().await;
    let upstreams = "  raw: { base_url: \"${RAW}\", timeout: 3s, retries: 2, retry_backoff: 10ms }";
    let tools = [
        tool("ok", "raw", "GET", "/ok", None),
        tool("flaky_get", "raw", "GET", "/flaky/get", None),
        tool("flaky_put", "raw", "PUT", "/flaky/put", None),
        tool("flaky_post", "raw", "POST", "/flaky/post", None),
        tool("server_error", "raw", "GET", "/status/500", None),
        tool("unavailable", "raw", "GET", "/unavailable", None),
        tool("limited", "raw", "GET", "/limited", None),
    ];
    let gateway = gateway(&raw, upstreams, &tools).await;

    // 503 then 200: GET and PUT are retried once and succeed; exactly two requests each.
    for (name, path) in [("flaky_get", "/flaky/get"), ("flaky_put", "/flaky/put")] {
        let result = expect_ok(&gateway, name).await;
        assert_eq!(
            result["structuredContent"],
            json!({ "recovered": true }),
            "{name}"
        );
        assert_eq!(raw.hits(path), 2, "{name}: requests seen");
    }
    // POST is sent once: the 503 is the answer.
    let error = expect_error(&gateway, "flaky_post", "upstream_error", FAST).await;
    assert_eq!(error["details"]["status"], json!(503), "{error}");
    assert_eq!(raw.hits("/flaky/post"), 1, "POST was retried");
    expect_ok(&gateway, "flaky_post").await;
    assert_eq!(raw.hits("/flaky/post"), 2);

    // 500 is not a retryable status.
    let error = expect_error(&gateway, "server_error", "upstream_error", FAST).await;
    assert_eq!(error["details"]["status"], json!(500));
    assert_eq!(raw.hits("/status/500"), 1, "500 was retried");

    // A 503 that persists: 1 + 2 retries, then its Retry-After is passed on.
    let error = expect_error(&gateway, "unavailable", "upstream_error", FAST).await;
    assert_eq!(error["details"]["status"], json!(503));
    assert_eq!(error["details"]["retry_after_ms"], json!(3000), "{error}");
    assert_eq!(raw.hits("/unavailable"), 3);
    let (status, retry_after, body) = legacy(&gateway, "unavailable").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(retry_after.as_deref(), Some("3"));
    assert_eq!(raw.hits("/unavailable"), 6);

    // 429 is never retried; its Retry-After is passed on.
    let error = expect_error(&gateway, "limited", "upstream_error", FAST).await;
    assert_eq!(error["details"]["status"], json!(429));
    assert_eq!(error["details"]["retry_after_ms"], json!(5000), "{error}");
    let (status, retry_after, _) = legacy(&gateway, "limited").await;
    assert_eq!((status, retry_after.as_deref()), (502, Some("5")));
    assert_eq!(raw.hits("/limited"), 2, "429 was retried");

    expect_ok(&gateway, "ok").await;
}

#[tokio::test]
async fn broken_json_is_an_upstream_error_and_odd_content_types_come_back_as_text() {
    let raw = raw_upstream().await;
    let upstreams = "  raw: { base_url: \"${RAW}\", timeout: 3s }";
    let tools = [
        tool("ok", "raw", "GET", "/ok", None),
        tool("bad_json", "raw", "GET", "/bad-json", None),
        tool("html", "raw", "GET", "/html", None),
        tool("binary", "raw", "GET", "/binary", None),
        tool("json_as_text", "raw", "GET", "/json-as-text", None),
    ];
    let gateway = gateway(&raw, upstreams, &tools).await;
    // Labelled JSON but not JSON: the upstream is broken, not the answer a text.
    let error = expect_error(
        &gateway,
        "bad_json",
        "upstream_error",
        Duration::from_secs(3),
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{error}"
    );
    let (status, _, body) = legacy(&gateway, "bad_json").await;
    assert_eq!(status, 502, "{body}");
    for (name, text) in [
        ("html", "<html><body>{\"a\":1}</body></html>"),
        ("json_as_text", "{\"a\":1}"),
    ] {
        let result = expect_ok(&gateway, name).await;
        assert_eq!(
            result["content"][0]["text"],
            json!(text),
            "{name}: {result}"
        );
        assert!(
            result.get("structuredContent").is_none(),
            "{name}: {result}"
        );
        let (status, _, body) = legacy(&gateway, name).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["result"], json!(text), "{name}");
    }
    // Binary bytes are never shown as garbled text: they go out whole, as an embedded blob.
    let result = expect_ok(&gateway, "binary").await;
    let resource = &result["content"][0]["resource"];
    assert_eq!(resource["mimeType"], "application/octet-stream", "{result}");
    assert_eq!(resource["blob"], "//4AgHvDKH0=", "{result}");
    expect_ok(&gateway, "ok").await;
}

#[tokio::test]
async fn gzip_bombs_and_huge_answers_are_cut_and_memory_stays_bounded() {
    let raw = raw_upstream().await;
    // A gzip bomb: 1024 gzip members of 1 MiB of zeros each, about 1 MB on the wire, 1 GiB
    // once inflated. The gateway decodes gzip with max_response_bytes counting decoded bytes.
    let member = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
        encoder.finish().unwrap()
    };
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&member[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated.len(), 1 << 20);
    let bomb = member.repeat(1024);
    let bomb_len = bomb.len();
    *raw.shared.bomb.lock().unwrap() = Arc::new(bomb);

    let upstreams = "  capped: { base_url: \"${RAW}\", timeout: 5s, max_response_bytes: 65536 }
  roomy: { base_url: \"${RAW}\", timeout: 5s, max_response_bytes: 2097152 }
  mib: { base_url: \"${RAW}\", timeout: 5s, max_response_bytes: 1048576 }
  default_cap: { base_url: \"${RAW}\", timeout: 5s }";
    let tools = [
        tool("ok", "mib", "GET", "/ok", None),
        tool("bomb_capped", "capped", "GET", "/gzip-bomb", None),
        tool("bomb_roomy", "roomy", "GET", "/gzip-bomb", None),
        tool("huge_eof", "mib", "GET", "/huge/eof", None),
        tool("huge_length", "mib", "GET", "/huge/length", None),
        tool("huge_default_cap", "default_cap", "GET", "/huge/eof", None),
        tool("huge_ndjson", "mib", "GET", "/huge/ndjson", Some("3s")),
        tool("zeros", "mib", "GET", "/zeros/1000000", None),
    ];
    let gateway = gateway(&raw, upstreams, &tools).await;
    expect_ok(&gateway, "ok").await;

    let peak_resettable = reset_peak_rss();
    let mut report = Vec::new();
    let mut measure = async |name: &str, check: &dyn Fn(&Value)| {
        reset_peak_rss();
        let before = proc_status_kb("VmRSS:");
        let (reply, took) = call(&gateway, name).await;
        let peak = if peak_resettable {
            proc_status_kb("VmHWM:")
        } else {
            proc_status_kb("VmRSS:")
        };
        check(&reply);
        let growth_mb = peak.saturating_sub(before) / 1024;
        report.push(format!(
            "{name}: {took:?}, rss_before={} MB, peak={} MB, growth={growth_mb} MB, reply={} bytes",
            before / 1024,
            peak / 1024,
            reply.to_string().len()
        ));
        assert!(took < Duration::from_secs(5), "{name}: took {took:?}");
        assert!(growth_mb < 64, "{name}: memory grew by {growth_mb} MB");
        expect_ok(&gateway, "ok").await;
    };

    // Over a small cap, the compressed bytes alone are too many.
    measure("bomb_capped", &|reply| {
        let error = error_of("bomb_capped", reply);
        assert_eq!(error["code"], json!("upstream_error"), "{error}");
        assert_eq!(error["details"]["max_response_bytes"], json!(65536));
    })
    .await;
    // Under a roomy cap, the answer is decoded only up to the cap (or the decoder's refusal
    // of the trailing members): an upstream_error, never the gzip bytes as text.
    measure("bomb_roomy", &|reply| {
        let error = error_of("bomb_roomy", reply);
        assert_eq!(error["code"], json!("upstream_error"), "{error}");
        assert!(reply.to_string().len() < bomb_len / 100, "{reply}");
    })
    .await;
    // 100 MB answers are cut at max_response_bytes (1 MiB, and the 10 MiB default).
    for name in ["huge_eof", "huge_length", "huge_default_cap"] {
        measure(name, &|reply| {
            let error = error_of(name, reply);
            assert_eq!(error["code"], json!("upstream_error"), "{error}");
            assert!(error["details"]["max_response_bytes"].is_u64(), "{error}");
        })
        .await;
    }
    // A 100 MB NDJSON answer is a line stream: kept up to max_response_bytes, the rest read and
    // dropped (or cut by the timeout); either way memory stays bounded.
    measure("huge_ndjson", &|reply| {
        let result = &reply["result"];
        if result["isError"] == json!(true) {
            let code = &result["structuredContent"]["error"]["code"];
            assert!(
                *code == json!("upstream_timeout") || *code == json!("upstream_error"),
                "{reply}"
            );
        } else {
            let text = result["content"][0]["text"].as_str().unwrap();
            assert!(text.len() < 4 << 20, "{} bytes", text.len());
            assert!(text.contains("truncated"), "not marked truncated");
        }
    })
    .await;
    // 1 MB of `[0,0,…]` is parsed into half a million values: costly, but bounded by the cap.
    measure("zeros", &|reply| {
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    })
    .await;
    // The gateway asks for gzip and deflate, which it decodes within the cap.
    for head in raw.heads() {
        let lower = head.to_ascii_lowercase();
        assert!(
            lower
                .lines()
                .any(|l| l.starts_with("accept-encoding:") && l.contains("gzip")),
            "{head}"
        );
    }
    println!("gzip bomb: {bomb_len} bytes on the wire, 1 GiB inflated");
    for line in report {
        println!("{line}");
    }
}

#[tokio::test]
async fn the_circuit_breaker_opens_fails_fast_and_closes_after_a_good_probe() {
    let raw = raw_upstream().await;
    let upstreams = "  flappy: { base_url: \"${RAW}\", timeout: 2s, retries: 0, breaker_failures: 3, breaker_open_for: 500ms }";
    let tools = [tool("switch", "flappy", "GET", "/switch", None)];
    let gateway = gateway(&raw, upstreams, &tools).await;

    raw.shared.healthy.store(false, Ordering::SeqCst);
    for i in 1..=3 {
        let error = expect_error(&gateway, "switch", "upstream_error", FAST).await;
        assert_eq!(
            error["details"]["status"],
            json!(500),
            "failure {i}: {error}"
        );
    }
    assert_eq!(raw.hits("/switch"), 3);
    // Open: fail fast, without reaching the upstream, even though it is back.
    raw.shared.healthy.store(true, Ordering::SeqCst);
    let error = expect_error(
        &gateway,
        "switch",
        "upstream_error",
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(error["details"]["circuit"], json!("open"), "{error}");
    let wait = error["details"]["retry_after_ms"]
        .as_u64()
        .expect("retry_after_ms");
    assert!(wait <= 500, "retry_after_ms {wait}");
    let (status, retry_after, body) = legacy(&gateway, "switch").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["details"]["circuit"], json!("open"));
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(raw.hits("/switch"), 3, "an open breaker let a call through");

    // After breaker_open_for, one probe goes through; its success closes the breaker.
    tokio::time::sleep(Duration::from_millis(600)).await;
    expect_ok(&gateway, "switch").await;
    expect_ok(&gateway, "switch").await;
    assert_eq!(raw.hits("/switch"), 5);

    // A failing probe opens it again at once.
    raw.shared.healthy.store(false, Ordering::SeqCst);
    for _ in 0..3 {
        expect_error(&gateway, "switch", "upstream_error", FAST).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let error = expect_error(&gateway, "switch", "upstream_error", FAST).await;
    assert_eq!(error["details"]["status"], json!(500), "the probe: {error}");
    let error = expect_error(&gateway, "switch", "upstream_error", FAST).await;
    assert_eq!(error["details"]["circuit"], json!("open"), "{error}");
    assert_eq!(raw.hits("/switch"), 9);
    raw.shared.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    expect_ok(&gateway, "switch").await;
}

#[tokio::test]
async fn a_probe_that_never_completes_an_exchange_does_not_wedge_the_breaker() {
    let raw = raw_upstream().await;
    let upstreams = "  wedge: { base_url: \"${RAW}\", timeout: 5s, retries: 0, breaker_failures: 1, breaker_open_for: 300ms, max_concurrency: 2, queue_timeout: 1s }
  cancel: { base_url: \"${RAW}\", timeout: 2s, retries: 0, breaker_failures: 1, breaker_open_for: 300ms }";
    let tools = [
        tool("w_slow", "wedge", "GET", "/slow/2500", None),
        tool("w_fail", "wedge", "GET", "/slow-fail/300", None),
        tool("w_ok", "wedge", "GET", "/ok", None),
        tool("c_fail", "cancel", "GET", "/status/500", None),
        tool("c_stall", "cancel", "GET", "/stall", None),
        tool("c_ok", "cancel", "GET", "/ok", None),
    ];
    let gateway = Arc::new(gateway(&raw, upstreams, &tools).await);
    let wait_for = async |path: &str, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while raw.hits(path) < n {
            assert!(Instant::now() < deadline, "{path} never reached");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };

    // 1. The probe finds the queue full ("busy"): it sent nothing, so the breaker must go on
    //    letting probes through once the slots free up.
    let spawn = |name: &'static str| {
        let gateway = gateway.clone();
        tokio::spawn(async move { call(&gateway, name).await.0 })
    };
    let s1 = spawn("w_slow");
    wait_for("/slow/2500", 1).await;
    let fail = spawn("w_fail");
    wait_for("/slow-fail/300", 1).await;
    let s2 = spawn("w_slow"); // queued behind w_fail, then holds the second slot
    let error = error_of("w_fail", &fail.await.unwrap());
    assert_eq!(error["details"]["status"], json!(500), "{error}");
    wait_for("/slow/2500", 2).await;
    tokio::time::sleep(Duration::from_millis(400)).await; // the breaker is half-open now
    let error = expect_error(&gateway, "w_ok", "upstream_error", FAST).await;
    assert!(
        error["details"]["max_concurrency"] == json!(2),
        "expected the probe to find the upstream busy: {error}"
    );
    for slow in [s1, s2] {
        let reply = slow.await.unwrap();
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    }
    let started = Instant::now();
    loop {
        let (reply, _) = call(&gateway, "w_ok").await;
        if reply["result"]["isError"] == json!(false) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the breaker stays shut after a busy probe: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 2. The probe's client goes away mid-call: the breaker must not wait for it forever.
    expect_error(&gateway, "c_fail", "upstream_error", FAST).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let abandoned = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
        .post(gateway.mcp_url())
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": { "name": "c_stall", "arguments": {} } }))
        .send()
        .await;
    assert!(abandoned.is_err(), "the stalled call answered");
    assert_eq!(raw.hits("/stall"), 1);
    let started = Instant::now();
    loop {
        let (reply, _) = call(&gateway, "c_ok").await;
        if reply["result"]["isError"] == json!(false) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the breaker stays shut after an abandoned probe: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "breaker usable again {:?} after the probe's client went away",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_full_upstream_answers_busy_after_queue_timeout() {
    let raw = raw_upstream().await;
    let upstreams =
        "  single: { base_url: \"${RAW}\", timeout: 5s, max_concurrency: 1, queue_timeout: 200ms }";
    let tools = [
        tool("slow", "single", "GET", "/slow/1500", None),
        tool("ok", "single", "GET", "/ok", None),
    ];
    let gateway = Arc::new(gateway(&raw, upstreams, &tools).await);
    let first = {
        let gateway = gateway.clone();
        tokio::spawn(async move { call(&gateway, "slow").await })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while raw.hits("/slow/1500") < 1 {
        assert!(Instant::now() < deadline, "the first call never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let error = expect_error(
        &gateway,
        "ok",
        "upstream_error",
        Duration::from_millis(1200),
    )
    .await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(180), "no queueing: {took:?}");
    assert!(
        error["message"].as_str().unwrap().contains("busy"),
        "{error}"
    );
    assert_eq!(error["details"]["max_concurrency"], json!(1), "{error}");
    assert_eq!(raw.hits("/ok"), 0, "the excess call reached the upstream");
    let (reply, _) = first.await.unwrap();
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    expect_ok(&gateway, "ok").await;
    println!("busy after {took:?}");
}

#[tokio::test]
async fn shaping_a_json_answer_within_the_default_cap_costs_bounded_memory() {
    let raw = raw_upstream().await;
    let upstreams = "  api: { base_url: \"${RAW}\", timeout: 10s }";
    // Just under the default 1 MiB cap: the worst case for the parsed JSON tree.
    let tools = [tool("zeros", "api", "GET", "/zeros/1000000", None)];
    let gateway = gateway(&raw, upstreams, &tools).await;
    let resettable = reset_peak_rss();
    let before = proc_status_kb("VmRSS:");
    let (reply, took) = call(&gateway, "zeros").await;
    let peak = proc_status_kb(if resettable { "VmHWM:" } else { "VmRSS:" });
    let growth_mb = peak.saturating_sub(before) / 1024;
    println!(
        "1 MB of [0,0,...] (under the 1 MiB default cap): {took:?}, memory grew by {growth_mb} MB"
    );
    assert_eq!(reply["result"]["isError"], json!(false));
    assert!(growth_mb < 64, "one call grew memory by {growth_mb} MB");
}

#[tokio::test]
async fn every_form_of_retry_after_is_passed_on_sanely() {
    let raw = raw_upstream().await;
    let upstreams = "  api: { base_url: \"${RAW}\", timeout: 3s, retries: 0 }";
    let tools = [
        tool("dated", "api", "GET", "/retry-date", None),
        tool("huge", "api", "GET", "/retry-huge", None),
    ];
    let gateway = gateway(&raw, upstreams, &tools).await;
    let huge = expect_error(&gateway, "huge", "upstream_error", FAST).await;
    let (_, header, _) = legacy(&gateway, "huge").await;
    let dated = expect_error(&gateway, "dated", "upstream_error", FAST).await;
    println!(
        "huge: {} (legacy Retry-After {header:?}); dated: {}",
        huge["details"], dated["details"]
    );
    // Whole seconds, consistent between the two protocols.
    let ms = huge["details"]["retry_after_ms"].as_u64().unwrap();
    let secs: u64 = header
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    assert_eq!(ms / 1000, secs, "retry_after_ms and Retry-After disagree");
    // An HTTP-date is a wait too.
    assert!(
        dated["details"]["retry_after_ms"].as_u64().is_some(),
        "{dated}"
    );
}
