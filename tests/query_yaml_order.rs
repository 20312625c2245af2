//! Query entries go upstream in the order the YAML lists them (not sorted by name), and
//! `toolgate render` prints configured headers in their YAML order too.

mod common;

use common::{legacy_call, start_gateway, start_upstream};
use serde_json::json;
use std::process::Command;

const YAML: &str = r#"
upstreams:
  api:
    base_url: "${API}"
    headers: { X-Zulu: "1", X-Alpha: "2", X-Mike: "3" }
tools:
  - name: search
    description: Search.
    input_schema:
      type: object
      properties: { q: { type: string } }
    request:
      upstream: api
      path: /search
      query: { zeta: "z", alpha: "{{args.q}}", mid: "m", beta: "b" }
      headers: { X-Yankee: "y", X-Bravo: "b" }
"#;

#[tokio::test]
async fn query_entries_keep_their_yaml_order() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;
    let (status, body) = legacy_call(&gateway, "search", json!({ "q": "a b" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(upstream.last().uri, "/search?zeta=z&alpha=a+b&mid=m&beta=b");
}

#[test]
fn render_lists_headers_in_yaml_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, YAML).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["render", "--config", file.to_str().unwrap()])
        .args(["--tool", "search", "--args", r#"{"q":"x"}"#])
        .env("API", "http://127.0.0.1:9101")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "GET http://127.0.0.1:9101/search?zeta=z&alpha=x&mid=m&beta=b"
    );
    let headers: Vec<&str> = lines[1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split(':').next().unwrap())
        .filter(|name| name.starts_with("x-"))
        .collect();
    assert_eq!(
        headers,
        ["x-zulu", "x-alpha", "x-mike", "x-yankee", "x-bravo"]
    );
}
