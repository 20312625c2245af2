//! The ways an `operation:` job ends badly: a failed job is an `isError` result carrying the
//! upstream's error body excerpt; a job that never finishes ends with `upstream_timeout` (and
//! the cancel request is sent); a status URL that would leave the upstream's origin is refused
//! and never requested.

mod common;
mod operation_support;

use common::{legacy_call, mcp_call, start_gateway};
use operation_support::{CONFIG, start_job_upstream};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_failed_job_is_an_error_result_with_the_upstream_excerpt() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let reply = mcp_call(&gateway, "run_job", json!({ "ms": 200, "fail": true })).await;
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(true), "{reply}");
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["code"], json!("upstream_error"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("disk quota exceeded on node 7"),
        "{reply}"
    );
    assert!(
        error["details"]["excerpt"]
            .as_str()
            .unwrap()
            .contains("\"state\":\"failed\""),
        "{reply}"
    );
    assert!(jobs.job(1).unwrap().cancelled_at.is_none());
}

#[tokio::test]
async fn a_job_that_never_finishes_times_out_and_is_cancelled() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let (status, body) = legacy_call(&gateway, "run_job_briefly", json!({})).await;
    assert_eq!(body["error"]["code"], json!("upstream_timeout"), "{body}");
    assert_eq!(status, 504, "{body}");
    assert!(
        jobs.until_cancelled(1, Duration::from_secs(2))
            .await
            .is_some(),
        "the cancel request was sent"
    );
}

#[tokio::test]
async fn a_status_url_on_another_host_is_refused_and_never_requested() {
    let jobs = start_job_upstream().await;
    let gateway = start_gateway(CONFIG, &[("JOBS", &jobs.url())]).await;
    let reply = mcp_call(&gateway, "run_job", json!({ "escape": true })).await;
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(true), "{reply}");
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["code"], json!("upstream_error"));
    assert!(
        error["message"].as_str().unwrap().contains("outside"),
        "{reply}"
    );
    assert_eq!(jobs.job(1).unwrap().polls, 0);
}
