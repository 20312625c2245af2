//! A reload that changes the prompt list sends `notifications/prompts/list_changed` (and not
//! the tools one) on an open `GET /mcp` stream; the new prompt is listed at once.

mod common;
mod reload_support;

use common::{client, start_upstream};
use reload_support::{eventually, rename_over, serve_file};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

fn config(api: &str, prompts: &[&str]) -> String {
    let prompts: String = prompts
        .iter()
        .map(|name| format!("  - name: {name}\n    messages: [ {{ text: Hi. }} ]\n"))
        .collect();
    format!(
        "upstreams:\n  api: {{ base_url: \"{api}\" }}\ntools:\n  - name: ping\n    description: Ping.\n    request: {{ upstream: api, path: /ping }}\nprompts:\n{prompts}"
    )
}

async fn prompt_names(url: &str) -> Vec<String> {
    let reply: Value = client()
        .post(format!("{url}/mcp"))
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "prompts/list" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["result"]["prompts"]
        .as_array()
        .unwrap_or_else(|| panic!("{reply}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn prompt_list_changes_are_notified() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config(&upstream.url(), &["hello"])).unwrap();
    let gateway = serve_file(&path).await;

    let mut response = client()
        .get(format!("{}/mcp", gateway.url))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    tokio::spawn(async move {
        while let Ok(Some(chunk)) = response.chunk().await {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    let seen = || text.lock().unwrap().clone();
    eventually("the stream opens", || async {
        seen().contains(": toolgate stream open").then_some(())
    })
    .await;

    rename_over(&path, &config(&upstream.url(), &["hello", "goodbye"]));
    eventually("prompts/list_changed", || async {
        seen()
            .contains("\"method\":\"notifications/prompts/list_changed\"")
            .then_some(())
    })
    .await;
    assert!(
        !seen().contains("notifications/tools/list_changed"),
        "{}",
        seen()
    );
    assert_eq!(prompt_names(&gateway.url).await, ["hello", "goodbye"]);
}
