//! `required_scopes` on tools, for JWT callers (HS256 tokens) over real sockets: a token
//! without the scopes does not see the tool in `tools/list` / `list_tools`, and calling it is
//! HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` on MCP
//! (handshake era and 2026-07-28) and 403 `forbidden` on the legacy protocol; a token with
//! them (space-separated `scope` or a list claim) sees and calls it; API-key callers are not
//! scoped.

mod common;

use common::jwt::{HS256_SECRET, hs256_token};
use common::{GatewayUnderTest, client, start_gateway, start_upstream};
use serde_json::{Value, json};

const KEY: &str = "tg_scopes_test_key_0123456789";

const CONFIG: &str = r#"
auth:
  api_keys:
    - { id: ops, key: "${KEY}" }
  jwt:
    issuer: https://auth.example.com/
    audience: toolgate-tests
    hs256_secret: ${SECRET}
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: crm_read
    description: Read the CRM.
    request: { upstream: api, path: /read }
  - name: crm_write
    description: Write to the CRM.
    required_scopes: [ crm.write, crm.read ]
    request: { upstream: api, method: POST, path: /write }
"#;

struct Answer {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

async fn post(
    gateway: &GatewayUnderTest,
    bearer: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .bearer_auth(bearer)
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.json().await.unwrap(),
    }
}

/// A handshake-era (2025-06-18) request.
async fn rpc(gateway: &GatewayUnderTest, bearer: &str, method: &str, params: Value) -> Answer {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    post(
        gateway,
        bearer,
        body,
        &[("MCP-Protocol-Version", "2025-06-18")],
    )
    .await
}

/// A stateless 2026-07-28 request.
async fn modern(
    gateway: &GatewayUnderTest,
    bearer: &str,
    method: &str,
    mut params: Value,
) -> Answer {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let name = params["name"].as_str().map(str::to_owned);
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let mut headers = vec![
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", method),
    ];
    if let Some(name) = &name {
        headers.push(("Mcp-Name", name.as_str()));
    }
    post(gateway, bearer, body, &headers).await
}

async fn legacy(gateway: &GatewayUnderTest, bearer: &str, body: Value) -> Answer {
    let response = client()
        .post(format!("{}/", gateway.url))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        challenge: None,
        body: response.json().await.unwrap(),
    }
}

fn names(tools: &Value) -> Vec<String> {
    tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn start() -> GatewayUnderTest {
    // The upstream keeps serving after its handle is dropped.
    let upstream = start_upstream().await;
    start_gateway(
        CONFIG,
        &[
            ("API", &upstream.url()),
            ("SECRET", HS256_SECRET),
            ("KEY", KEY),
        ],
    )
    .await
}

fn assert_insufficient_scope(answer: &Answer) {
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope", scope="crm.write crm.read""#)
    );
    let error = &answer.body["error"];
    assert_eq!(error["code"], json!("forbidden"), "{error}");
    assert_eq!(error["details"]["missing_scopes"], json!(["crm.write"]));
}

#[tokio::test]
async fn a_token_without_the_scopes_is_refused_on_mcp_in_both_eras() {
    let gateway = start().await;
    let reader = hs256_token(json!({ "scope": "crm.read" }));

    let list = rpc(&gateway, &reader, "tools/list", json!({})).await;
    assert_eq!(names(&list.body["result"]["tools"]), ["crm_read"]);
    let call = json!({ "name": "crm_write", "arguments": {} });
    assert_insufficient_scope(&rpc(&gateway, &reader, "tools/call", call.clone()).await);

    let list = modern(&gateway, &reader, "tools/list", json!({})).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(names(&list.body["result"]["tools"]), ["crm_read"]);
    assert_insufficient_scope(&modern(&gateway, &reader, "tools/call", call.clone()).await);

    // A tool it has the scopes for works.
    let read = rpc(
        &gateway,
        &reader,
        "tools/call",
        json!({ "name": "crm_read", "arguments": {} }),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(
        read.body["result"]["isError"],
        json!(false),
        "{}",
        read.body
    );
}

#[tokio::test]
async fn a_token_with_the_scopes_sees_and_calls_the_tool() {
    let gateway = start().await;
    for writer in [
        hs256_token(json!({ "scope": "crm.read crm.write" })),
        hs256_token(json!({ "scope": ["crm.write", "crm.read"] })),
    ] {
        let list = rpc(&gateway, &writer, "tools/list", json!({})).await;
        assert_eq!(
            names(&list.body["result"]["tools"]),
            ["crm_read", "crm_write"]
        );
        for answer in [
            rpc(
                &gateway,
                &writer,
                "tools/call",
                json!({ "name": "crm_write", "arguments": {} }),
            )
            .await,
            modern(
                &gateway,
                &writer,
                "tools/call",
                json!({ "name": "crm_write", "arguments": {} }),
            )
            .await,
        ] {
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(
                answer.body["result"]["isError"],
                json!(false),
                "{}",
                answer.body
            );
        }
    }
}

#[tokio::test]
async fn the_legacy_protocol_hides_the_tool_and_answers_forbidden() {
    let gateway = start().await;
    let reader = hs256_token(json!({ "scope": "crm.read" }));
    let list = legacy(
        &gateway,
        &reader,
        json!({ "method": "list_tools", "params": {} }),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(names(&list.body["tools"]), ["crm_read"]);
    let call =
        json!({ "method": "call_tool", "params": { "tool_name": "crm_write", "arguments": {} } });
    let answer = legacy(&gateway, &reader, call.clone()).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], json!("forbidden"));
    assert_eq!(
        answer.body["error"]["details"]["error"],
        json!("insufficient_scope")
    );

    let writer = hs256_token(json!({ "scope": "crm.read crm.write" }));
    let answer = legacy(&gateway, &writer, call).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn api_key_callers_are_not_scoped() {
    let gateway = start().await;
    let list = rpc(&gateway, KEY, "tools/list", json!({})).await;
    assert_eq!(
        names(&list.body["result"]["tools"]),
        ["crm_read", "crm_write"]
    );
    let call = rpc(
        &gateway,
        KEY,
        "tools/call",
        json!({ "name": "crm_write", "arguments": {} }),
    )
    .await;
    assert_eq!(call.status, 200, "{}", call.body);
    assert_eq!(
        call.body["result"]["isError"],
        json!(false),
        "{}",
        call.body
    );
}
