//! An open `GET /mcp` event stream receives `notifications/tools/list_changed` after a reload
//! that changes the tool list (a tool added or removed, a description changed), and nothing after
//! a reload that changes only something else (an upstream timeout) or is refused.

mod common;
mod reload_support;

use common::{client, start_upstream};
use reload_support::{eventually, health, rename_over, serve_file, tool_names};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIST_CHANGED: &str = "\"method\":\"notifications/tools/list_changed\"";

/// Everything an open `GET /mcp` stream has received so far.
struct Stream {
    text: Arc<Mutex<String>>,
}

impl Stream {
    async fn open(url: &str) -> Self {
        let mut response = client()
            .get(format!("{url}/mcp"))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = response.chunk().await {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk));
            }
        });
        let stream = Self { text };
        // The opening comment proves the stream (and its subscription) is live.
        eventually("the stream opens", || async {
            stream
                .text()
                .contains(": toolgate stream open")
                .then_some(())
        })
        .await;
        stream
    }

    fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    fn notifications(&self) -> usize {
        self.text().matches(LIST_CHANGED).count()
    }

    async fn until_notifications(&self, count: usize) -> Duration {
        eventually(&format!("{count} list_changed notification(s)"), || async {
            (self.notifications() >= count).then_some(())
        })
        .await
        .1
    }
}

fn config(upstream: &str, timeout: &str, tools: &[(&str, &str)]) -> String {
    let tools: String = tools
        .iter()
        .map(|(name, description)| {
            format!(
                "  - name: {name}\n    description: {description}\n    request: {{ upstream: api, path: \"/{name}\" }}\n"
            )
        })
        .collect();
    format!(
        "upstreams:\n  api: {{ base_url: \"{upstream}\", timeout: {timeout} }}\ntools:\n{tools}"
    )
}

/// Rewrites the config and waits until `/health` shows a new version (or a refusal).
async fn reload(url: &str, path: &std::path::Path, yaml: &str) {
    let before = health(url).await;
    rename_over(path, yaml);
    eventually("the reload happens", || async {
        let now = health(url).await;
        (now["config_version"] != before["config_version"]
            || now["last_reload"]["ok"] != before["last_reload"]["ok"])
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn tool_list_changes_are_notified_and_other_reloads_are_not() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let api = upstream.url();
    std::fs::write(&path, config(&api, "5s", &[("ping", "Ping.")])).unwrap();
    let gateway = serve_file(&path).await;
    let first = Stream::open(&gateway.url).await;
    let second = Stream::open(&gateway.url).await;

    // A tool is added: both streams hear about it.
    rename_over(
        &path,
        &config(&api, "5s", &[("ping", "Ping."), ("pong", "Pong.")]),
    );
    let latency = first.until_notifications(1).await;
    second.until_notifications(1).await;
    println!("list_changed received {latency:?} after the edit");
    assert_eq!(tool_names(&gateway.url).await, ["ping", "pong"]);

    // Only the upstream timeout changes: the config is replaced, the tool list is not.
    reload(
        &gateway.url,
        &path,
        &config(&api, "7s", &[("ping", "Ping."), ("pong", "Pong.")]),
    )
    .await;
    // A refused reload changes nothing either.
    reload(&gateway.url, &path, "tools: [ oops\n").await;
    // Allow a notification that should not come the time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(first.notifications(), 1, "{}", first.text());

    // A description change is a tool-list change, and so is a removal.
    rename_over(
        &path,
        &config(&api, "7s", &[("ping", "Ping again."), ("pong", "Pong.")]),
    );
    first.until_notifications(2).await;
    rename_over(&path, &config(&api, "7s", &[("ping", "Ping again.")]));
    first.until_notifications(3).await;
    second.until_notifications(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(first.notifications(), 3, "{}", first.text());
    assert_eq!(second.notifications(), 3, "{}", second.text());
    assert!(
        first
            .text()
            .contains("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n"),
        "{}",
        first.text()
    );
}
