//! MCP tasks for `operation:` tools in revision 2026-07-28 (the `io.modelcontextprotocol/tasks`
//! extension), across two replicas behind a round-robin proxy (every request lands on the
//! other replica): `server/discover` advertises the extension; a `tools/call` whose client
//! capabilities declare it answers at once with `resultType: "task"`; `tasks/get` on either
//! replica polls the job and inlines the result once it is done (an `isError` result too);
//! `tasks/cancel` sends the cancel request upstream; a client that does not declare the
//! extension gets an ordinary waiting call and -32021 from `tasks/get` (and from
//! `subscriptions/listen` for task ids); `tasks/result` is gone.

mod common;
mod operation_support;

use common::round_robin::fresh_client;
use operation_support::{Replicas, start_replicas};
use serde_json::{Value, json};
use std::time::Duration;

const V: &str = "2026-07-28";
const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// A stateless 2026-07-28 client, declaring the tasks extension or not.
struct Client {
    url: String,
    tasks: bool,
}

impl Client {
    /// Posts a request with its `_meta` envelope and mirrored headers: (HTTP status, body).
    async fn rpc(&self, method: &str, mut params: Value) -> (u16, Value) {
        let extensions = if self.tasks {
            json!({ EXTENSION: {} })
        } else {
            json!({})
        };
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": V,
            "io.modelcontextprotocol/clientCapabilities": { "extensions": extensions },
        });
        let name = params
            .get("name")
            .or_else(|| params.get("taskId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut request = fresh_client()
            .post(&self.url)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", V)
            .header("Mcp-Method", method);
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            request = request.header("Mcp-Name", name);
        }
        let response = request
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Starts `run_job` as a task and returns its id.
    async fn start(&self, arguments: Value) -> String {
        let (status, reply) = self
            .rpc(
                "tools/call",
                json!({ "name": "run_job", "arguments": arguments }),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        let task = &reply["result"];
        assert_eq!(task["resultType"], json!("task"), "{reply}");
        assert_eq!(task["status"], json!("working"), "{reply}");
        assert_eq!(task["pollIntervalMs"], json!(100));
        assert!(task["ttlMs"].as_u64().unwrap() > 4000, "{reply}");
        assert!(task.get("result").is_none(), "{reply}");
        task["taskId"].as_str().unwrap().to_owned()
    }

    /// Polls `tasks/get` until the task is no longer working: every status seen, and the
    /// last answer.
    async fn follow(&self, task: &str) -> (Vec<String>, Value) {
        let mut statuses = Vec::new();
        loop {
            let (status, reply) = self.rpc("tasks/get", json!({ "taskId": task })).await;
            assert_eq!(status, 200, "{reply}");
            let result = reply["result"].clone();
            assert_eq!(result["taskId"], json!(task));
            assert_eq!(result["resultType"], json!("complete"), "{reply}");
            let state = result["status"].as_str().unwrap().to_owned();
            statuses.push(state.clone());
            if state != "working" {
                return (statuses, result);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

#[tokio::test]
async fn replicas_answer_for_each_others_tasks_and_inline_the_result() {
    let Replicas { jobs, proxy } = start_replicas().await;
    let client = Client {
        url: proxy.url(),
        tasks: true,
    };
    let (_, discovered) = client.rpc("server/discover", json!({})).await;
    assert_eq!(
        discovered["result"]["capabilities"]["extensions"],
        json!({ EXTENSION: {} }),
        "{discovered}"
    );
    let task = client.start(json!({ "ms": 800 })).await;
    let (statuses, done) = client.follow(&task).await;
    assert_eq!(statuses.last().unwrap(), "completed", "{statuses:?}");
    assert!(statuses.len() >= 3, "{statuses:?}");
    assert_eq!(
        done["result"]["structuredContent"],
        json!({ "rows": 42, "job": 1 }),
        "{done}"
    );
    assert_eq!(jobs.started(), 1, "one job for the whole task");
    let used = proxy.backends_used();
    assert!(used.contains(&0) && used.contains(&1), "{used:?}");
    // tasks/result belongs to 2025-11-25 only.
    let (status, reply) = client.rpc("tasks/result", json!({ "taskId": task })).await;
    assert_eq!((status, &reply["error"]["code"]), (404, &json!(-32601)));
}

#[tokio::test]
async fn a_failed_job_is_a_completed_task_with_an_error_result() {
    let Replicas { jobs: _jobs, proxy } = start_replicas().await;
    let client = Client {
        url: proxy.url(),
        tasks: true,
    };
    let task = client.start(json!({ "ms": 200, "fail": true })).await;
    let (_, done) = client.follow(&task).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(done["result"]["isError"], json!(true), "{done}");
    assert!(done["result"].to_string().contains("disk quota exceeded"));
}

#[tokio::test]
async fn tasks_cancel_reaches_the_upstream_and_is_an_empty_acknowledgement() {
    let Replicas { jobs, proxy } = start_replicas().await;
    let client = Client {
        url: proxy.url(),
        tasks: true,
    };
    let task = client.start(json!({ "never": true })).await;
    for _ in 0..2 {
        let (status, reply) = client.rpc("tasks/cancel", json!({ "taskId": task })).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["result"]["resultType"], json!("complete"), "{reply}");
        assert!(reply["result"].get("status").is_none(), "{reply}");
        let (_, update) = client
            .rpc(
                "tasks/update",
                json!({ "taskId": task, "inputResponses": {} }),
            )
            .await;
        assert_eq!(
            update["result"]["resultType"],
            json!("complete"),
            "{update}"
        );
    }
    assert!(jobs.job(1).unwrap().cancelled_at.is_some());
    for id in [format!("{task}x"), "nonsense".to_owned()] {
        let (status, reply) = client.rpc("tasks/get", json!({ "taskId": id })).await;
        assert_eq!((status, &reply["error"]["code"]), (400, &json!(-32602)));
    }
}

#[tokio::test]
async fn a_client_without_the_extension_waits_for_the_result_and_gets_no_tasks() {
    let Replicas { jobs, proxy } = start_replicas().await;
    let plain = Client {
        url: proxy.url(),
        tasks: false,
    };
    // The legacy `params.task` means nothing here.
    let (status, reply) = plain
        .rpc(
            "tools/call",
            json!({ "name": "run_job", "arguments": { "ms": 300 }, "task": {} }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["resultType"], json!("complete"), "{reply}");
    assert_eq!(
        reply["result"]["structuredContent"],
        json!({ "rows": 42, "job": 1 }),
        "{reply}"
    );
    // A task id from a declaring client is still refused to one that does not declare.
    let declaring = Client {
        url: proxy.url(),
        tasks: true,
    };
    let task = declaring.start(json!({ "ms": 200 })).await;
    let (_, reply) = plain.rpc("tasks/get", json!({ "taskId": task })).await;
    assert_eq!(reply["error"]["code"], json!(-32021), "{reply}");
    assert_eq!(
        reply["error"]["data"]["requiredCapabilities"],
        json!({ "extensions": { EXTENSION: {} } })
    );
    // Asking for task notifications without the extension is refused the same way.
    let listen = json!({ "notifications": { "taskIds": [task] } });
    let (_, reply) = plain.rpc("subscriptions/listen", listen).await;
    assert_eq!(reply["error"]["code"], json!(-32021), "{reply}");
    assert_eq!(jobs.started(), 2);
}
