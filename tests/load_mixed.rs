//! Load: about a thousand concurrent connections each carrying a tool call in flight, then ~5 s
//! of mixed traffic (valid calls on both protocols, invalid arguments, unknown and hidden tools,
//! unauthenticated and wrongly authenticated calls, malformed JSON) from several tasks against an
//! auth-enabled gateway. Every answer is the right one for its kind, `/health` keeps answering,
//! and file descriptors come back to where they were (no leak).

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "tg_load_key_0123456789abcdef";
const NARROW_KEY: &str = "tg_narrow_key_0123456789abcd";

const YAML: &str = r#"
auth:
  api_keys:
    - { id: loader, key: "${LOAD_KEY}" }
    - { id: narrow, key: "${NARROW_KEY}", tools: [ "echo" ] }
upstreams:
  api: { base_url: "${API}", timeout: 20s }
tools:
  - name: echo
    description: Echo an item.
    input_schema:
      type: object
      properties: { id: { type: string, pattern: "^[a-z0-9-]{1,32}$" } }
      required: [ id ]
      additionalProperties: false
    request: { upstream: api, path: "/items/{{args.id}}" }
  - name: slow
    description: Takes half a second.
    input_schema: { type: object }
    request: { upstream: api, path: "/slow/500" }
  - name: hidden
    description: Not for the narrow caller.
    input_schema: { type: object }
    request: { upstream: api, path: "/hidden" }
"#;

/// File descriptors allowed to differ after the settle (timers, the odd pooled connection).
const FD_MARGIN: u64 = 4;

/// Soft `RLIMIT_NOFILE` of this process.
fn fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(1024)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// One HTTP/1.1 exchange on an already open connection (`Connection: close`): status and body.
async fn raw_exchange(
    mut stream: TcpStream,
    host: &str,
    body: &str,
) -> Result<(u16, Value), String> {
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no head")?;
    let head = String::from_utf8_lossy(&answer[..at]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let mut payload = answer[at + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = &payload[..];
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("bad chunk")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .map_err(|e| e.to_string())?;
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 4 + size..];
        }
        payload = decoded;
    }
    let value = serde_json::from_slice(&payload).map_err(|e| format!("{e}: {payload:?}"))?;
    Ok((status, value))
}

/// The kinds of request in the mixed load, with a check of the answer.
#[derive(Clone, Copy, Debug)]
enum Kind {
    McpValid,
    LegacyValid,
    McpInvalidArgs,
    LegacyInvalidArgs,
    McpUnknownTool,
    LegacyUnknownTool,
    HiddenTool,
    NoCredentials,
    WrongKey,
    MalformedJson,
    ListTools,
}

const KINDS: [Kind; 11] = [
    Kind::McpValid,
    Kind::LegacyValid,
    Kind::McpInvalidArgs,
    Kind::LegacyInvalidArgs,
    Kind::McpUnknownTool,
    Kind::LegacyUnknownTool,
    Kind::HiddenTool,
    Kind::NoCredentials,
    Kind::WrongKey,
    Kind::MalformedJson,
    Kind::ListTools,
];

fn rpc_call(tool: &str, arguments: Value) -> String {
    json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments } })
    .to_string()
}

fn legacy_call(tool: &str, arguments: Value) -> String {
    json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": arguments } })
        .to_string()
}

/// Sends one request of `kind` (number `n`) and checks its answer.
async fn one(client: &reqwest::Client, base: &str, kind: Kind, n: u64) -> Result<(), String> {
    let id = format!("item-{n}");
    let (path, key, body) = match kind {
        Kind::McpValid => ("/mcp", Some(KEY), rpc_call("echo", json!({ "id": id }))),
        Kind::LegacyValid => ("/", Some(KEY), legacy_call("echo", json!({ "id": id }))),
        Kind::McpInvalidArgs => (
            "/mcp",
            Some(KEY),
            rpc_call("echo", json!({ "id": "NOT OK" })),
        ),
        Kind::LegacyInvalidArgs => ("/", Some(KEY), legacy_call("echo", json!({ "id": 42 }))),
        Kind::McpUnknownTool => ("/mcp", Some(KEY), rpc_call(&format!("nope_{n}"), json!({}))),
        Kind::LegacyUnknownTool => ("/", Some(KEY), legacy_call("nope", json!({}))),
        Kind::HiddenTool => ("/mcp", Some(NARROW_KEY), rpc_call("hidden", json!({}))),
        Kind::NoCredentials => ("/mcp", None, rpc_call("echo", json!({ "id": id }))),
        Kind::WrongKey => (
            "/",
            Some("tg_wrong_key_0000000000000000"),
            legacy_call("echo", json!({ "id": id })),
        ),
        Kind::MalformedJson => (
            "/mcp",
            Some(KEY),
            "{\"jsonrpc\":\"2.0\",\"id\":1,".to_owned(),
        ),
        Kind::ListTools => (
            "/mcp",
            Some(NARROW_KEY),
            json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list" }).to_string(),
        ),
    };
    let mut request = client
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body);
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let response = request.send().await.map_err(|e| format!("{kind:?}: {e}"))?;
    let status = response.status().as_u16();
    let challenge = response.headers().contains_key("www-authenticate");
    let text = response
        .text()
        .await
        .map_err(|e| format!("{kind:?}: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{kind:?}: {e}: {text}"))?;
    let ok = match kind {
        Kind::McpValid => {
            status == 200
                && v["result"]["isError"] == json!(false)
                && v["result"]["structuredContent"]["uri"] == json!(format!("/items/{id}"))
        }
        Kind::LegacyValid => status == 200 && v["result"]["uri"] == json!(format!("/items/{id}")),
        Kind::McpInvalidArgs => {
            status == 200
                && v["result"]["isError"] == json!(true)
                && v["result"]["structuredContent"]["error"]["code"] == json!("invalid_parameters")
        }
        Kind::LegacyInvalidArgs => {
            status == 400 && v["error"]["code"] == json!("invalid_parameters")
        }
        Kind::McpUnknownTool | Kind::HiddenTool => {
            v["error"]["code"] == json!(-32602)
                && v["error"]["data"]["code"] == json!("tool_not_found")
        }
        Kind::LegacyUnknownTool => status == 404 && v["error"]["code"] == json!("tool_not_found"),
        Kind::NoCredentials | Kind::WrongKey => {
            status == 401 && challenge && v["error"]["code"] == json!("unauthorized")
        }
        Kind::MalformedJson => status == 400 && v["error"]["code"] == json!(-32700),
        Kind::ListTools => {
            let names: Vec<&str> = v["result"]["tools"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
                .unwrap_or_default();
            status == 200 && names == ["echo"]
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{kind:?}: {status} {text}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_and_mixed_traffic_get_correct_answers_without_leaks() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(
        YAML,
        &[
            ("API", &upstream.url()),
            ("LOAD_KEY", KEY),
            ("NARROW_KEY", NARROW_KEY),
        ],
    )
    .await;
    let base = gateway.url.clone();
    let host = base.trim_start_matches("http://").to_owned();

    // Warm up: threads, pools and lazily built state exist before the baseline.
    let warm = client();
    for kind in KINDS {
        one(&warm, &base, kind, 0).await.unwrap();
    }
    drop(warm);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds_before = open_fds();
    let rss_before = rss_kb();

    // Phase 1: as many concurrent connections as the fd limit allows (each costs about four
    // descriptors in this process: client, gateway side, gateway→upstream, upstream side).
    let limit = fd_limit();
    let connections = ((limit.saturating_sub(fds_before + 256)) / 4).min(1200) as usize;
    println!("RLIMIT_NOFILE={limit}: using {connections} concurrent connections");
    assert!(
        connections >= 100,
        "fd limit {limit} too low for a meaningful test"
    );
    let barrier = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let mut tasks = Vec::with_capacity(connections);
    let body = rpc_call("slow", json!({}));
    for _ in 0..connections {
        let barrier = barrier.clone();
        let host = host.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&host).await;
            barrier.wait().await;
            let (status, reply) =
                raw_exchange(stream.map_err(|e| e.to_string())?, &host, &body).await?;
            if status == 200 && reply["result"]["structuredContent"] == json!({ "slow": 500 }) {
                Ok(())
            } else {
                Err(format!("{status} {reply}"))
            }
        }));
    }
    barrier.wait().await;
    let phase1 = Instant::now();
    let fds_connected = open_fds();
    let mut peak_in_flight = 0;
    while !tasks.iter().all(|t| t.is_finished()) && phase1.elapsed() < Duration::from_secs(30) {
        peak_in_flight = peak_in_flight.max(gateway.state.gateway.metrics().in_flight.get());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            failures.push(e);
        }
    }
    println!(
        "phase 1: {connections} connections, fds_connected={fds_connected}, peak_in_flight={peak_in_flight}, {} failed, took {:?}, rss={}MB",
        failures.len(),
        phase1.elapsed(),
        rss_kb() / 1024
    );
    assert!(
        failures.is_empty(),
        "{} failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        peak_in_flight as usize >= connections / 2,
        "only {peak_in_flight} calls were ever in flight at once"
    );

    // Phase 2: ~5 s of mixed traffic from several tasks, /health polled throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let health = {
        let stop = stop.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let client = client();
            let (mut polls, mut slowest) = (0u64, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let status = client
                    .get(format!("{base}/health"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
                assert_eq!(status.ok(), Some(200), "/health stopped answering");
                slowest = slowest.max(started.elapsed());
                polls += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (polls, slowest)
        })
    };
    let mut workers = Vec::new();
    for worker in 0..8u64 {
        let (stop, calls, base) = (stop.clone(), calls.clone(), base.clone());
        workers.push(tokio::spawn(async move {
            let client = client();
            let mut errors = Vec::new();
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                let kind = KINDS[(n % KINDS.len() as u64) as usize];
                if let Err(e) = one(&client, &base, kind, n).await {
                    errors.push(e);
                }
                calls.fetch_add(1, Ordering::Relaxed);
                n += 8;
            }
            errors
        }));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    for worker in workers {
        errors.extend(worker.await.unwrap());
    }
    let (polls, slowest_health) = health.await.unwrap();
    let calls = calls.load(Ordering::Relaxed);
    assert!(
        errors.is_empty(),
        "{} wrong answers, e.g. {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert!(calls > 200, "only {calls} calls in 5 s");
    assert!(
        slowest_health < Duration::from_secs(2),
        "/health took {slowest_health:?}"
    );

    // Settle: idle pooled connections (gateway→upstream) close with the upstream's keep-alive
    // (5 s).
    let settle = Instant::now();
    let mut fds_after = open_fds();
    while fds_after > fds_before + FD_MARGIN && settle.elapsed() < Duration::from_secs(12) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        fds_after = open_fds();
    }
    let rss_after = rss_kb();
    println!(
        "calls={calls} fds_before={fds_before} fds_after={fds_after} rss_before={}MB rss_after={}MB \
         (phase 2 health polls={polls}, slowest={slowest_health:?}, settled in {:?})",
        rss_before / 1024,
        rss_after / 1024,
        settle.elapsed()
    );
    assert!(
        fds_after <= fds_before + FD_MARGIN,
        "file descriptors leaked: {fds_before} before, {fds_after} after"
    );
    // The gateway still serves normally.
    one(&client(), &base, Kind::McpValid, 1).await.unwrap();
}
