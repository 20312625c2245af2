//! `operation:` as one tool call: the first answer (202 + Location) starts a job upstream; the
//! gateway polls it until it is done and answers with the final result, over MCP and the
//! legacy protocol (with `"stream": true`: NDJSON progress lines, then the result line). The
//! result can be part of the last status answer or fetched from a URL it names; the polls
//! honour `Retry-After`; the metrics count operations, their duration and their polls.

mod common;
mod operation_support;

use common::{client, legacy_call, mcp_call, start_gateway};
use operation_support::{CONFIG, start_job_upstream};
use serde_json::{Value, json};

#[tokio::test]
async fn one_mcp_call_waits_for_the_job_and_answers_with_its_result() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let reply = mcp_call(&gateway, "run_job", json!({ "ms": 600 })).await;
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(false), "{reply}");
    assert_eq!(result["structuredContent"], json!({ "rows": 42, "job": 1 }));
    let job = jobs.job(1).expect("the job was started");
    assert!(job.polls >= 2, "polled until done: {job:?}");
    assert!(
        job.cancelled_at.is_none(),
        "a finished job is not cancelled"
    );
}

#[tokio::test]
async fn the_result_can_be_fetched_from_a_url_in_the_last_status_answer() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let reply = mcp_call(&gateway, "run_job_fetched", json!({})).await;
    assert_eq!(
        reply["result"]["structuredContent"],
        json!({ "fetched": true, "rows": [1, 2, 3] }),
        "{reply}"
    );
    assert_eq!(jobs.job(1).unwrap().result_fetches, 1);
}

#[tokio::test]
async fn retry_after_from_the_upstream_spaces_the_polls() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    // Without Retry-After the waits grow from 100 ms by half: 100, 150, 225, 337, 506 ms.
    let plain = mcp_call(&gateway, "run_job_patient", json!({ "ms": 1000 })).await;
    assert_eq!(plain["result"]["isError"], json!(false), "{plain}");
    // With Retry-After: 1 on the status answers, the wait after the first poll (at 100 ms)
    // is one second: two polls see the job through.
    let spaced = mcp_call(
        &gateway,
        "run_job_patient",
        json!({ "ms": 1000, "retry_after": 1 }),
    )
    .await;
    assert_eq!(spaced["result"]["isError"], json!(false), "{spaced}");
    let (plain, spaced) = (jobs.job(1).unwrap().polls, jobs.job(2).unwrap().polls);
    assert_eq!(spaced, 2, "one poll a second for a 1 s job");
    assert!(plain >= 4, "{plain} polls without Retry-After");
}

#[tokio::test]
async fn legacy_call_answers_once_at_the_end_or_streams_progress_lines() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let (status, body) = legacy_call(&gateway, "run_job", json!({ "ms": 300 })).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "result": { "rows": 42, "job": 1 } }));

    let response = client()
        .post(format!("{}/", gateway.url))
        .json(&json!({ "method": "call_tool", "params": {
            "tool_name": "run_job", "arguments": { "ms": 800 }, "stream": true } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (last, progress) = lines.split_last().unwrap();
    assert_eq!(
        last,
        &json!({ "result": { "rows": 42, "job": 2 } }),
        "{text}"
    );
    assert!(progress.len() >= 2, "progress lines first: {text}");
    let percents: Vec<f64> = progress
        .iter()
        .map(|l| l["progress"]["percent"].as_f64().unwrap())
        .collect();
    assert!(
        percents.windows(2).all(|w| w[0] < w[1]),
        "increasing: {percents:?}"
    );
}

#[tokio::test]
async fn metrics_count_operations_their_duration_and_polls() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    mcp_call(&gateway, "run_job", json!({ "ms": 300 })).await;
    mcp_call(&gateway, "run_job", json!({ "ms": 300, "fail": true })).await;
    let metrics = gateway.state.gateway.metrics().render();
    let line = |prefix: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
            .to_owned()
    };
    assert!(line("toolgate_upstream_jobs_in_flight ").ends_with(" 0"));
    assert!(
        line(r#"toolgate_upstream_job_duration_seconds_count{tool="run_job",outcome="ok"}"#)
            .ends_with(" 1")
    );
    assert!(
        line(
            r#"toolgate_upstream_job_duration_seconds_count{tool="run_job",outcome="upstream_error"}"#
        )
        .ends_with(" 1")
    );
    let polls = line(r#"toolgate_upstream_job_polls_sum{tool="run_job"}"#);
    let sum: f64 = polls.rsplit(' ').next().unwrap().parse().unwrap();
    let sent = jobs.job(1).unwrap().polls + jobs.job(2).unwrap().polls;
    assert_eq!(sum, f64::from(sent), "{polls}");
}
