//! `toolgate call` sends one real call and prints the shaped result (exit 0), or the error body
//! (exit 1), with the time it took on stderr.

mod common;

use common::start_upstream;
use serde_json::{Value, json};
use std::process::Command;

fn config(dir: &tempfile::TempDir, upstream: &str) -> std::path::PathBuf {
    let path = dir.path().join("gateway.yaml");
    let yaml = format!(
        r#"upstreams:
  api: {{ base_url: "{upstream}" }}
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: {{ id: {{ type: string, pattern: "^[0-9]+$" }} }}
      required: [ id ]
    request: {{ upstream: api, path: "/items/{{{{args.id}}}}" }}
    response: {{ pick: /uri }}
"#
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn call(path: &std::path::Path, args: &str) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["call", "--config"])
        .arg(path)
        .args(["--tool", "get_item", "--args", args])
        .output()
        .unwrap();
    let stdout: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

#[tokio::test]
async fn call_sends_one_request_and_prints_the_shaped_result() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, &upstream.url());

    let (code, out, err) = tokio::task::spawn_blocking({
        let path = path.clone();
        move || call(&path, r#"{"id":"42"}"#)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(out["result"], json!("/items/42"));
    assert!(err.contains("took "), "{err}");
    assert_eq!(upstream.requests().len(), 1);

    let (code, out, _) = tokio::task::spawn_blocking(move || call(&path, r#"{"id":"x"}"#))
        .await
        .unwrap();
    assert_eq!(code, 1);
    assert_eq!(out["error"]["code"], json!("invalid_parameters"));
    assert_eq!(upstream.requests().len(), 1, "an invalid call sent nothing");
}
