//! Per-key tool allow-lists over real sockets: a key limited to `crm_*` sees only matching tools
//! in MCP `tools/list` and legacy `list_tools`, and calling a hidden tool answers exactly what
//! calling a tool that does not exist answers (`tool_not_found`), without reaching the upstream.

mod common;

use common::{GatewayUnderTest, client, start_gateway, start_upstream};
use serde_json::{Value, json};

const CRM_KEY: &str = "tg_crm_only_key_000111222";
const FULL_KEY: &str = "tg_full_access_key_333444";
const PAIR_KEY: &str = "tg_two_tools_key_555666777";

const CONFIG: &str = r#"
server: { page_size: 2 }
auth:
  api_keys:
    - { id: crm-only, key: "${CRM_KEY}", tools: [ "crm_*" ] }
    - { id: full, key: "${FULL_KEY}" }
    - { id: pair, key: "${PAIR_KEY}", tools: [ "dw_list_tables", "crm_get_?ustomer" ] }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: crm_get_customer
    description: Get a customer.
    request: { upstream: api, path: /customers }
  - name: dw_list_tables
    description: List warehouse tables.
    request: { upstream: api, path: /tables }
  - name: crm_list_notes
    description: List notes.
    request: { upstream: api, path: /notes }
  - name: crmx_export
    description: Export everything (does not match crm_*).
    request: { upstream: api, path: /export }
  - name: billing_charge
    description: Charge a card.
    request: { upstream: api, method: POST, path: /charges }
"#;

async fn post(gateway: &GatewayUnderTest, path: &str, key: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!("{}{path}", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Every tool name over MCP `tools/list`, following `nextCursor`.
async fn mcp_tool_names(gateway: &GatewayUnderTest, key: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 10, "pagination does not end");
        let mut params = json!({});
        if let Some(c) = &cursor {
            params["cursor"] = json!(c);
        }
        let body =
            json!({ "jsonrpc": "2.0", "id": page, "method": "tools/list", "params": params });
        let (status, reply) = post(gateway, "/mcp", key, body).await;
        assert_eq!(status, 200, "{reply}");
        for tool in reply["result"]["tools"].as_array().unwrap() {
            names.push(tool["name"].as_str().unwrap().to_owned());
        }
        match reply["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    names
}

async fn legacy_tool_names(gateway: &GatewayUnderTest, key: &str) -> Vec<String> {
    let (status, reply) = post(
        gateway,
        "/",
        key,
        json!({ "method": "list_tools", "params": {} }),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    reply["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn mcp_call(gateway: &GatewayUnderTest, key: &str, tool: &str) -> (u16, Value) {
    let body = json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": { "name": tool, "arguments": {} } });
    post(gateway, "/mcp", key, body).await
}

async fn legacy_call(gateway: &GatewayUnderTest, key: &str, tool: &str) -> (u16, Value) {
    let body = json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": {} } });
    post(gateway, "/", key, body).await
}

/// The answer with the tool's name replaced, so that answers for two names can be compared.
fn without_name(answer: &(u16, Value), name: &str) -> (u16, String) {
    (answer.0, answer.1.to_string().replace(name, "<tool>"))
}

async fn start() -> (common::Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(
        CONFIG,
        &[
            ("API", &upstream.url()),
            ("CRM_KEY", CRM_KEY),
            ("FULL_KEY", FULL_KEY),
            ("PAIR_KEY", PAIR_KEY),
        ],
    )
    .await;
    (upstream, gateway)
}

#[tokio::test]
async fn a_restricted_key_lists_only_matching_tools() {
    let (_upstream, gateway) = start().await;
    let all = [
        "crm_get_customer",
        "dw_list_tables",
        "crm_list_notes",
        "crmx_export",
        "billing_charge",
    ];
    assert_eq!(mcp_tool_names(&gateway, FULL_KEY).await, all);
    assert_eq!(legacy_tool_names(&gateway, FULL_KEY).await, all);

    let crm = ["crm_get_customer", "crm_list_notes"];
    assert_eq!(mcp_tool_names(&gateway, CRM_KEY).await, crm);
    assert_eq!(legacy_tool_names(&gateway, CRM_KEY).await, crm);

    // Exact names and `?` globs, kept in config order.
    let pair = ["crm_get_customer", "dw_list_tables"];
    assert_eq!(mcp_tool_names(&gateway, PAIR_KEY).await, pair);
    assert_eq!(legacy_tool_names(&gateway, PAIR_KEY).await, pair);

    // One page of two is all the crm-only key gets: no cursor hinting at more tools.
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let (_, reply) = post(&gateway, "/mcp", CRM_KEY, body).await;
    assert_eq!(reply["result"].get("nextCursor"), None, "{reply}");
}

#[tokio::test]
async fn calling_a_hidden_tool_is_the_same_as_calling_a_missing_one() {
    let (upstream, gateway) = start().await;
    for hidden in ["dw_list_tables", "crmx_export", "billing_charge"] {
        let missing = "crm_no_such_tool";

        let answer = mcp_call(&gateway, CRM_KEY, hidden).await;
        assert_eq!(
            answer,
            (
                200,
                json!({
                    "jsonrpc": "2.0", "id": 9,
                    "error": {
                        "code": -32602,
                        "message": format!("unknown tool '{hidden}'"),
                        "data": { "code": "tool_not_found" },
                    },
                })
            )
        );
        let absent = mcp_call(&gateway, CRM_KEY, missing).await;
        assert_eq!(
            without_name(&answer, hidden),
            without_name(&absent, missing),
            "MCP: hidden {hidden} vs missing"
        );

        let answer = legacy_call(&gateway, CRM_KEY, hidden).await;
        assert_eq!(
            answer,
            (
                404,
                json!({ "error": { "code": "tool_not_found", "message": format!("unknown tool '{hidden}'") } })
            )
        );
        let absent = legacy_call(&gateway, CRM_KEY, missing).await;
        assert_eq!(
            without_name(&answer, hidden),
            without_name(&absent, missing),
            "legacy: hidden {hidden} vs missing"
        );
    }
    assert_eq!(upstream.requests().len(), 0, "hidden tools never run");

    // The same tools work for a key that may use them, and allowed tools for the crm key.
    let (status, reply) = mcp_call(&gateway, FULL_KEY, "dw_list_tables").await;
    assert_eq!(status, 200);
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    let (status, reply) = legacy_call(&gateway, CRM_KEY, "crm_list_notes").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["uri"], json!("/notes"));
    let (status, reply) = mcp_call(&gateway, PAIR_KEY, "dw_list_tables").await;
    assert_eq!(status, 200);
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    let (status, _) = legacy_call(&gateway, PAIR_KEY, "crm_list_notes").await;
    assert_eq!(status, 404);
    let uris: Vec<String> = upstream.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(uris, ["/tables", "/notes", "/tables"]);
}
