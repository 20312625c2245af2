//! Two replicas serving the same config (same `server.session_secret`) behind a round-robin
//! proxy: one client whose every request lands on the other replica than the one before still
//! works end to end, in the handshake era (the session issued by one replica is honoured by
//! the other) and in the stateless one.

mod common;

use common::round_robin::RoundRobin;
use common::{Upstream, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
server: { session_secret: shared-by-both-replicas }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
resources:
  - uri: api://segments
    name: Segments
    request: { upstream: api, path: /segments }
resource_templates:
  - uri_template: "api://items/{id}"
    name: Item
    request: { upstream: api, path: "/items/{{args.id}}" }
"#;

struct Replicas {
    _upstream: Upstream,
    proxy: RoundRobin,
}

async fn setup() -> Replicas {
    let upstream = start_upstream().await;
    let env = [("API", upstream.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = start_gateway(CONFIG, &env).await;
    let b = start_gateway(CONFIG, &env).await;
    let backends = [a.url, b.url]
        .iter()
        .map(|u| u.trim_start_matches("http://").to_owned())
        .collect();
    Replicas {
        _upstream: upstream,
        proxy: RoundRobin::start(backends).await,
    }
}

async fn post(url: &str, body: &Value, headers: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    let mut request = common::round_robin::fresh_client()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, session, body)
}

fn rpc(id: i64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

fn assert_alternating(used: &[usize]) {
    assert!(used.len() >= 2, "{used:?}");
    for pair in used.windows(2) {
        assert_ne!(
            pair[0], pair[1],
            "consecutive requests on one replica: {used:?}"
        );
    }
}

#[tokio::test]
async fn a_handshake_session_works_across_replicas_request_by_request() {
    let replicas = setup().await;
    let url = replicas.proxy.url();
    let (status, session, body) = post(
        &url,
        &rpc(
            1,
            "initialize",
            json!({ "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": { "name": "replicas", "version": "1" } }),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let session = session.expect("a session id");
    let headers = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let (status, _, _) = post(
        &url,
        &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
        &headers,
    )
    .await;
    assert_eq!(status, 202);
    let steps: [(&str, Value, &str); 6] = [
        ("tools/list", json!({}), "/result/tools/0/name"),
        (
            "tools/call",
            json!({ "name": "get_item", "arguments": { "id": "42" } }),
            "/result/structuredContent/uri",
        ),
        ("resources/list", json!({}), "/result/resources/0/uri"),
        (
            "resources/read",
            json!({ "uri": "api://items/42" }),
            "/result/contents/0/uri",
        ),
        ("logging/setLevel", json!({ "level": "info" }), "/result"),
        ("ping", json!({}), "/result"),
    ];
    let expected = [
        json!("get_item"),
        json!("/items/42"),
        json!("api://segments"),
        json!("api://items/42"),
        json!({}),
        json!({}),
    ];
    for (round, ((method, params, pointer), want)) in steps.iter().zip(&expected).enumerate() {
        let (status, session_back, body) = post(
            &url,
            &rpc(round as i64 + 2, method, params.clone()),
            &headers,
        )
        .await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(session_back, None, "{method}");
        assert_eq!(body.pointer(pointer), Some(want), "{method}: {body}");
    }
    assert_alternating(&replicas.proxy.backends_used());
}

#[tokio::test]
async fn stateless_requests_work_across_replicas_request_by_request() {
    let replicas = setup().await;
    let url = replicas.proxy.url();
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "replicas", "version": "1" },
    });
    let steps: [(&str, Value, Option<&str>, &str, Value); 5] = [
        (
            "server/discover",
            json!({}),
            None,
            "/result/supportedVersions/0",
            json!("2026-07-28"),
        ),
        (
            "tools/list",
            json!({}),
            None,
            "/result/tools/0/name",
            json!("get_item"),
        ),
        (
            "tools/call",
            json!({ "name": "get_item", "arguments": { "id": "7" } }),
            Some("get_item"),
            "/result/structuredContent/uri",
            json!("/items/7"),
        ),
        (
            "resources/templates/list",
            json!({}),
            None,
            "/result/resourceTemplates/0/uriTemplate",
            json!("api://items/{id}"),
        ),
        (
            "resources/read",
            json!({ "uri": "api://segments" }),
            Some("api://segments"),
            "/result/contents/0/uri",
            json!("api://segments"),
        ),
    ];
    for (round, (method, params, name, pointer, want)) in steps.into_iter().enumerate() {
        let mut params = params;
        params["_meta"] = meta.clone();
        let mut headers = vec![
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", method),
        ];
        if let Some(name) = name {
            headers.push(("Mcp-Name", name));
        }
        let (status, session, body) =
            post(&url, &rpc(round as i64, method, params), &headers).await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(session, None);
        assert_eq!(body.pointer(pointer), Some(&want), "{method}: {body}");
        assert_eq!(body["result"]["resultType"], json!("complete"));
    }
    assert_alternating(&replicas.proxy.backends_used());
}
