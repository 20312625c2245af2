//! examples/data-warehouse's `dw_export_results` runs as the demo warehouse's asynchronous
//! export job (202 + Location, polled, the CSV fetched from the result URL), as one call:
//! over MCP with progress, over the legacy protocol as CSV text; cancelling the call deletes
//! the job in the warehouse; a query the warehouse refuses fails at once.

mod common;
mod streaming_support;

use common::{client, legacy_call, mcp_call, start_gateway};
use serde_json::{Value, json};
use std::time::Duration;
use streaming_support::read_events;
use toolgate_demo::{WarehouseOptions, start_warehouse};

const CONFIG: &str = include_str!("../examples/data-warehouse/gateway.yaml");
const TOKEN: &str = "dw-test-token";
const SQL: &str =
    "SELECT sku, name, unit_price FROM products WHERE category = 'Networking' ORDER BY sku";

async fn setup() -> (String, common::GatewayUnderTest) {
    let options = WarehouseOptions {
        token: Some(TOKEN.into()),
        query_timeout: None,
    };
    let (addr, handle) = start_warehouse("127.0.0.1:0", options).await.unwrap();
    std::mem::forget(handle);
    let warehouse = format!("http://{addr}");
    let gateway = start_gateway(CONFIG, &[("DW_BASE_URL", &warehouse), ("DW_TOKEN", TOKEN)]).await;
    (warehouse, gateway)
}

#[tokio::test]
async fn the_export_job_is_one_call_with_progress_then_the_csv() {
    let (_warehouse, gateway) = setup().await;
    let body = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "dw_export_results", "arguments": { "sql": SQL, "max_rows": 3 },
        "_meta": { "progressToken": "export" } } });
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
    let text = last.message["result"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.starts_with("sku,name,unit_price\n"), "{text}");
    assert!(text.contains("# truncated after 3 rows"), "{text}");
    assert!(progress.len() >= 2, "{events:?}");
    assert!(
        progress
            .iter()
            .all(|e| e.message["method"] == json!("notifications/progress"))
    );
}

#[tokio::test]
async fn legacy_call_answers_the_csv_text_and_refused_queries_fail_at_once() {
    let (_warehouse, gateway) = setup().await;
    let (status, body) = legacy_call(
        &gateway,
        "dw_export_results",
        json!({ "sql": "SELECT region_id, name FROM regions ORDER BY region_id", "max_rows": 2 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["result"]
            .as_str()
            .unwrap()
            .starts_with("region_id,name\n"),
        "{body}"
    );
    let reply = mcp_call(
        &gateway,
        "dw_export_results",
        json!({ "sql": "DELETE FROM orders" }),
    )
    .await;
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    assert!(reply.to_string().contains("read_only"), "{reply}");
}

#[tokio::test]
async fn cancelling_the_call_deletes_the_export_job() {
    let (warehouse, gateway) = setup().await;
    let url = gateway.mcp_url();
    let call = json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "dw_export_results", "arguments": { "sql": SQL } } });
    let running = tokio::spawn({
        let url = url.clone();
        async move { client().post(&url).json(&call).send().await }
    });
    let job = |warehouse: String| async move {
        client()
            .get(format!("{warehouse}/exports/1"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    while job(warehouse.clone()).await["state"] != json!("running") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled",
                         "params": { "requestId": 3 } });
    client().post(&url).json(&cancel).send().await.unwrap();
    let mut state = Value::Null;
    for _ in 0..50 {
        state = job(warehouse.clone()).await["state"].clone();
        if state == json!("cancelled") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, json!("cancelled"));
    running.abort();
}
