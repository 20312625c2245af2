//! examples/workflow's `workflow_run` (an `operation:` tool) against the real demo workflow
//! engine (steps shortened to 300 ms): one call waits for the run's end, streaming the run's
//! progress over MCP, and answers with the finished run; cancelling the call cancels the run
//! in the engine.

mod common;
mod streaming_support;

use common::{client, mcp_call, start_gateway};
use serde_json::{Value, json};
use std::time::Duration;
use streaming_support::read_events;
use toolgate_demo::{WorkflowOptions, start_workflow};

const CONFIG: &str = include_str!("../examples/workflow/gateway.yaml");

async fn setup() -> (String, common::GatewayUnderTest) {
    let options = WorkflowOptions {
        token: Some("wf-test-token".into()),
        step_time: Some(Duration::from_millis(300)),
    };
    let (addr, handle) = start_workflow("127.0.0.1:0", options).await.unwrap();
    std::mem::forget(handle);
    let engine = format!("http://{addr}");
    let gateway = start_gateway(
        CONFIG,
        &[
            ("WORKFLOW_BASE_URL", &engine),
            ("WORKFLOW_TOKEN", "wf-test-token"),
        ],
    )
    .await;
    (engine, gateway)
}

fn invoice() -> Value {
    json!({ "template_id": "invoice_approval", "parameters": {
        "invoice_id": "INV-004211", "vendor": "Acme Office Supply", "amount": 12450.0,
        "currency": "EUR", "cost_center": "CC-1042" } })
}

#[tokio::test]
async fn workflow_run_waits_for_the_end_with_progress() {
    let (_engine, gateway) = setup().await;
    let body = json!({ "jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "workflow_run", "arguments": invoice(), "_meta": { "progressToken": "wf" } } });
    let response = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .unwrap();
    let events = read_events(response).await;
    let (last, progress) = events.split_last().unwrap();
    let run = &last.message["result"]["structuredContent"];
    assert_eq!(run["state"], json!("succeeded"), "{events:?}");
    assert_eq!(run["steps_total"], json!(5));
    assert!(!progress.is_empty(), "{events:?}");
    let values: Vec<f64> = progress
        .iter()
        .map(|e| e.message["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
}

#[tokio::test]
async fn parameters_the_engine_refuses_are_an_error_result_naming_the_field() {
    let (_engine, gateway) = setup().await;
    let mut bad = invoice();
    bad["parameters"]["invoice_id"] = json!("42");
    let reply = mcp_call(&gateway, "workflow_run", bad).await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    assert!(
        reply.to_string().contains("parameters.invoice_id"),
        "{reply}"
    );
}

#[tokio::test]
async fn cancelling_the_call_cancels_the_run() {
    let (engine, gateway) = setup().await;
    let url = gateway.mcp_url();
    let call = json!({ "jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {
        "name": "workflow_run", "arguments": invoice() } });
    let running = tokio::spawn({
        let url = url.clone();
        async move {
            client()
                .post(&url)
                .header("Accept", "application/json, text/event-stream")
                .json(&call)
                .send()
                .await
        }
    });
    let runs = |engine: String| async move {
        client()
            .get(format!("{engine}/runs"))
            .bearer_auth("wf-test-token")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    // Wait for the run to exist, then cancel the call.
    let mut listed = runs(engine.clone()).await;
    while listed["runs"].as_array().is_none_or(Vec::is_empty) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        listed = runs(engine.clone()).await;
    }
    let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled",
                         "params": { "requestId": 8 } });
    client()
        .post(&url)
        .header("Accept", "application/json, text/event-stream")
        .json(&cancel)
        .send()
        .await
        .unwrap();
    let mut state = Value::Null;
    for _ in 0..100 {
        state = runs(engine.clone()).await["runs"][0]["state"].clone();
        if state == json!("cancelled") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, json!("cancelled"));
    running.abort();
}
