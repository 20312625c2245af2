//! The legacy protocol's `"stream": true` relays a line-stream answer as
//! `application/x-ndjson` line by line as the upstream produces it — not buffered, with memory
//! bounded however large the answer (200 MiB here, RSS growth printed) — ends a stream that
//! breaks with an `{"error":...}` line, and turns text lines into JSON strings.

mod common;
mod streaming_support;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use streaming_support::{bulk_line, rss_kib, start_line_upstream};

const CONFIG: &str = r#"
upstreams:
  lines: { base_url: "${LINES}", timeout: 300s, max_response_bytes: 65536 }
tools:
  - name: slow_lines
    description: Five NDJSON lines, 200 ms apart.
    request: { upstream: lines, path: /lines/5/200 }
    response: { stream: true }
  - name: export
    description: 200 MiB of NDJSON.
    request: { upstream: lines, path: /bulk/200 }
    response: { stream: true }
  - name: broken
    description: Three lines, then the upstream breaks off.
    request: { upstream: lines, path: /broken/3 }
    response: { stream: true }
  - name: rows
    description: Text lines.
    request: { upstream: lines, path: /text/3 }
    response: { stream: true }
"#;

async fn setup() -> GatewayUnderTest {
    let upstream = start_line_upstream().await;
    start_gateway(CONFIG, &[("LINES", &upstream.url())]).await
}

async fn stream_call(gateway: &GatewayUnderTest, tool: &str) -> reqwest::Response {
    let response = client()
        .post(format!("{}/", gateway.url))
        .json(&json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": {}, "stream": true } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    response
}

#[tokio::test]
async fn lines_are_relayed_as_the_upstream_produces_them() {
    let gateway = setup().await;
    let started = Instant::now();
    let mut response = stream_call(&gateway, "slow_lines").await;
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
        arrivals.push(started.elapsed());
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], json!({ "n": 1, "text": "line 1" }));
    assert_eq!(lines[4], json!({ "n": 5, "text": "line 5" }));
    println!("chunks arrived at {arrivals:?}");
    // The first line was there long before the upstream's last (800 ms later).
    assert!(arrivals.len() >= 5, "one chunk per line: {arrivals:?}");
    assert!(arrivals[arrivals.len() - 1] - arrivals[0] >= Duration::from_millis(700));
}

#[tokio::test]
async fn two_hundred_mib_stream_through_in_bounded_memory() {
    let gateway = setup().await;
    // Warm up (allocator, connection pools), then measure.
    let _ = stream_call(&gateway, "slow_lines").await.text().await;
    let before = rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = std::thread::spawn({
        let (peak, done) = (peak.clone(), done.clone());
        move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    });
    let started = Instant::now();
    let mut response = stream_call(&gateway, "export").await;
    let (mut bytes, mut lines, mut pending) = (0u64, 0usize, Vec::new());
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
        pending.extend_from_slice(&chunk);
        // Check every line as it completes, keep only the unfinished one.
        let complete = pending
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        for line in pending[..complete].split_inclusive(|&b| b == b'\n') {
            assert_eq!(line, bulk_line(lines).as_slice(), "line {lines}");
            lines += 1;
        }
        pending.drain(..complete);
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    let growth_mib = peak.saturating_sub(before) as f64 / 1024.0;
    println!(
        "legacy stream: {} MiB ({lines} lines) in {:.1} s ({:.0} MiB/s); RSS {:.1} MiB before, peak {:.1} MiB, growth {growth_mib:.1} MiB",
        bytes / (1024 * 1024),
        elapsed.as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
    assert_eq!(bytes, 200 * 1024 * 1024);
    assert_eq!(lines, 200 * 1024);
    assert!(pending.is_empty());
    // Upstream, gateway and client all live in this process; none holds the answer.
    assert!(growth_mib < 48.0, "RSS grew by {growth_mib:.1} MiB");
}

#[tokio::test]
async fn a_stream_that_breaks_ends_with_an_error_line() {
    let gateway = setup().await;
    let text = stream_call(&gateway, "broken").await.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[2], json!({ "n": 3, "text": "line 3" }));
    assert_eq!(lines[3]["error"]["code"], json!("upstream_error"), "{text}");
}

#[tokio::test]
async fn text_lines_become_json_strings_and_without_stream_the_lines_come_as_one_array() {
    let gateway = setup().await;
    let text = stream_call(&gateway, "rows").await.text().await.unwrap();
    assert_eq!(text, "\"row 1\"\n\"row 2\"\n\"row 3\"\n");
    let reply: Value = client()
        .post(format!("{}/", gateway.url))
        .json(&json!({ "method": "call_tool", "params": { "tool_name": "slow_lines", "arguments": {} } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["result"].as_array().unwrap().len(), 5, "{reply}");
}
