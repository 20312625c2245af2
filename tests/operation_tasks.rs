//! MCP tasks (revision 2025-11-25) for `operation:` tools, across two replicas behind a
//! round-robin proxy (every request lands on the other replica): `tools/call` with
//! `params.task` answers at once with the task; `tasks/get` on either replica polls the job;
//! `tasks/result` waits for the result; `tasks/cancel` sends the cancel request upstream and a
//! second cancel is refused; a forged task id is refused; a task id does not reveal the
//! upstream's address. Nothing is shared between the replicas but the config.

mod common;
mod operation_support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::round_robin::fresh_client;
use operation_support::{Replicas, start_replicas};
use serde_json::{Value, json};
use std::time::Duration;

/// A handshake-era client of revision 2025-11-25.
struct Client {
    url: String,
    session: String,
}

impl Client {
    async fn connect(url: String) -> Self {
        let response = fresh_client()
            .post(&url)
            .header("Accept", "application/json, text/event-stream")
            .json(
                &json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": { "name": "t", "version": "1" } } }),
            )
            .send()
            .await
            .unwrap();
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["result"]["capabilities"]["tasks"],
            json!({ "cancel": {}, "requests": { "tools": { "call": {} } } })
        );
        Self { url, session }
    }

    async fn rpc(&self, method: &str, params: Value) -> Value {
        fresh_client()
            .post(&self.url)
            .header("Accept", "application/json, text/event-stream")
            .header("Mcp-Session-Id", &self.session)
            .header("MCP-Protocol-Version", "2025-11-25")
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn start(&self, arguments: Value) -> String {
        let reply = self
            .rpc(
                "tools/call",
                json!({ "name": "run_job", "arguments": arguments, "task": { "ttl": 60000 } }),
            )
            .await;
        let task = &reply["result"]["task"];
        assert_eq!(task["status"], json!("working"), "{reply}");
        assert_eq!(task["pollInterval"], json!(100));
        task["taskId"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn replicas_answer_for_each_others_tasks_until_the_result() {
    let Replicas { jobs, proxy } = start_replicas().await;
    let client = Client::connect(proxy.url()).await;
    let tools = client.rpc("tools/list", json!({})).await;
    assert_eq!(
        tools["result"]["tools"][0]["execution"],
        json!({ "taskSupport": "optional" })
    );
    let task = client.start(json!({ "ms": 800 })).await;
    let mut statuses = Vec::new();
    loop {
        let reply = client.rpc("tasks/get", json!({ "taskId": task })).await;
        let status = reply["result"]["status"].as_str().unwrap().to_owned();
        assert_eq!(reply["result"]["taskId"], json!(task));
        statuses.push(status.clone());
        if status != "working" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(statuses.last().unwrap(), "completed", "{statuses:?}");
    assert!(statuses.len() >= 3, "{statuses:?}");
    let reply = client.rpc("tasks/result", json!({ "taskId": task })).await;
    let result = &reply["result"];
    assert_eq!(
        result["structuredContent"],
        json!({ "rows": 42, "job": 1 }),
        "{reply}"
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/related-task"],
        json!({ "taskId": task })
    );
    assert_eq!(jobs.started(), 1, "one job for the whole task");
    let used = proxy.backends_used();
    assert!(used.contains(&0) && used.contains(&1), "{used:?}");
}

#[tokio::test]
async fn tasks_result_waits_for_a_running_job() {
    let Replicas { jobs: _jobs, proxy } = start_replicas().await;
    let client = Client::connect(proxy.url()).await;
    let task = client.start(json!({ "ms": 600 })).await;
    let reply = client.rpc("tasks/result", json!({ "taskId": task })).await;
    assert_eq!(
        reply["result"]["structuredContent"],
        json!({ "rows": 42, "job": 1 }),
        "{reply}"
    );
}

#[tokio::test]
async fn tasks_cancel_reaches_the_upstream_and_only_once() {
    let Replicas { jobs, proxy } = start_replicas().await;
    let client = Client::connect(proxy.url()).await;
    let task = client.start(json!({ "never": true })).await;
    let reply = client.rpc("tasks/cancel", json!({ "taskId": task })).await;
    assert_eq!(reply["result"]["status"], json!("cancelled"), "{reply}");
    assert!(jobs.job(1).unwrap().cancelled_at.is_some());
    let again = client.rpc("tasks/cancel", json!({ "taskId": task })).await;
    assert_eq!(again["error"]["code"], json!(-32602), "{again}");
}

#[tokio::test]
async fn forged_task_ids_and_unknown_tools_are_refused() {
    let Replicas { jobs: _jobs, proxy } = start_replicas().await;
    let client = Client::connect(proxy.url()).await;
    let task = client.start(json!({ "ms": 200 })).await;
    let forged = format!("{task}x");
    for id in [forged.as_str(), "nonsense", ""] {
        let reply = client.rpc("tasks/get", json!({ "taskId": id })).await;
        assert_eq!(reply["error"]["code"], json!(-32602), "{reply}");
    }
    // An unknown tool is refused as without a task.
    let other = client
        .rpc(
            "tools/call",
            json!({ "name": "no_such_tool", "arguments": {}, "task": {} }),
        )
        .await;
    assert_eq!(other["error"]["code"], json!(-32602), "{other}");
}

#[tokio::test]
async fn task_ids_do_not_reveal_the_upstream_address() {
    let Replicas { jobs, proxy } = start_replicas().await;
    let client = Client::connect(proxy.url()).await;
    let task = client.start(json!({ "ms": 100 })).await;
    // Signed, not encrypted: whatever the payload says, a client can read.
    let payload = task.split('.').next().unwrap();
    let readable = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let address = jobs.url();
    let host_port = address.trim_start_matches("http://");
    assert!(!readable.contains(host_port), "{readable}");
    assert!(readable.contains("\"/jobs/1\""), "{readable}");
    let reply = client.rpc("tasks/result", json!({ "taskId": task })).await;
    assert_eq!(
        reply["result"]["structuredContent"],
        json!({ "rows": 42, "job": 1 }),
        "{reply}"
    );
}
