//! While an `operation:` job runs, a client that sent a progress token (and accepts SSE) gets
//! `notifications/progress` in order (the job's percent out of 100), then the result; a client
//! that cancels (`notifications/cancelled`) or goes away stops the polling, and the declared
//! cancel request reaches the upstream at once (< 100 ms).

mod common;
mod operation_support;
mod streaming_support;

use common::{client, start_gateway};
use operation_support::{CONFIG, start_job_upstream};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use streaming_support::read_events;

const SSE: &str = "application/json, text/event-stream";

/// The longest a cancel may take to reach the upstream.
const CANCEL_LIMIT: Duration = Duration::from_millis(100);

fn call(id: i64, arguments: Value, token: Option<&str>) -> Value {
    let mut params = json!({ "name": "run_job", "arguments": arguments });
    if let Some(token) = token {
        params["_meta"] = json!({ "progressToken": token });
    }
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params })
}

async fn post(url: &str, body: &Value) -> reqwest::Response {
    post_with(&client(), url, body).await
}

async fn post_with(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Response {
    client
        .post(url)
        .header("Accept", SSE)
        .header("MCP-Protocol-Version", "2025-11-25")
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn progress_notifications_arrive_in_order_then_the_result() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let response = post(
        &gateway.mcp_url(),
        &call(3, json!({ "ms": 1000 }), Some("job-1")),
    )
    .await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_events(response).await;
    let (last, progress) = events.split_last().unwrap();
    assert_eq!(last.message["id"], json!(3));
    assert_eq!(
        last.message["result"]["structuredContent"],
        json!({ "rows": 42, "job": 1 })
    );
    assert!(progress.len() >= 3, "{events:?}");
    let mut previous = -1.0;
    for event in progress {
        let params = &event.message["params"];
        assert_eq!(event.message["method"], json!("notifications/progress"));
        assert_eq!(params["progressToken"], json!("job-1"));
        assert_eq!(params["total"], json!(100));
        let value = params["progress"].as_f64().unwrap();
        assert!(value > previous, "increasing: {events:?}");
        previous = value;
    }
}

#[tokio::test]
async fn notifications_cancelled_sends_the_cancel_request_upstream() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let url = gateway.mcp_url();
    let running = tokio::spawn({
        let url = url.clone();
        async move { post(&url, &call(9, json!({ "never": true }), None)).await }
    });
    // Wait until the job is being polled.
    while jobs.job(1).is_none_or(|j| j.polls == 0) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled",
                         "params": { "requestId": 9, "reason": "user" } });
    // Built first: making a client takes a while, and is not the gateway's time.
    let canceller = client();
    let sent = Instant::now();
    assert_eq!(post_with(&canceller, &url, &cancel).await.status(), 202);
    let at = jobs
        .until_cancelled(1, Duration::from_secs(2))
        .await
        .expect("the cancel request reached the upstream");
    assert!(at - sent < CANCEL_LIMIT, "{:?}", at - sent);
    running.abort();
    let polls = jobs.job(1).unwrap().polls;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(jobs.job(1).unwrap().polls, polls, "polling stopped");
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_job() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let response = post(
        &gateway.mcp_url(),
        &call(4, json!({ "never": true }), Some("t")),
    )
    .await;
    // The stream is open (its first progress event came): drop the connection.
    let mut response = response;
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("notifications/progress"));
    let gone = Instant::now();
    drop(response);
    let at = jobs
        .until_cancelled(1, Duration::from_secs(2))
        .await
        .expect("the cancel request reached the upstream");
    assert!(at - gone < CANCEL_LIMIT, "{:?}", at - gone);
}
