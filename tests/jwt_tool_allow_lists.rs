//! `auth.jwt.tools_by_claim` over real sockets: a JWT caller sees and calls the tools of every
//! rule its token matches (a string claim equal to the value, or a list claim containing it),
//! the same on MCP and the legacy protocol, and nothing when no rule matches; a tool outside
//! its allow-list is `tool_not_found` as if it did not exist. Rate-limit buckets of API keys
//! and JWT subjects are separate: a `sub` equal to a key id does not share its bucket.

mod common;

use common::jwt::{HS256_SECRET, hs256_token};
use common::{GatewayUnderTest, client, start_gateway, start_upstream};
use serde_json::{Value, json};

const KEY: &str = "tg_allow_list_key_0123456789";

const CONFIG: &str = r#"
auth:
  api_keys:
    - { id: user-42, key: "${KEY}" }
  jwt:
    issuer: https://auth.example.com/
    audience: toolgate-tests
    hs256_secret: ${SECRET}
    tools_by_claim:
      - { claim: org, equals: acme, tools: [ "crm_*" ] }
      - { claim: groups, equals: finance, tools: [ "dw_*" ] }
rate_limits:
  default_tier: standard
  tiers:
    standard: { requests: 1, per: 10s, burst: 2 }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: crm_read
    description: Read the CRM.
    request: { upstream: api, path: /crm }
  - name: dw_query
    description: Query the warehouse.
    request: { upstream: api, path: /dw }
  - name: billing_charge
    description: Charge a card.
    request: { upstream: api, method: POST, path: /charges }
"#;

async fn post(gateway: &GatewayUnderTest, path: &str, bearer: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!("{}{path}", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn names(tools: &Value) -> Vec<String> {
    let mut names: Vec<String> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The tools `bearer` sees over MCP and over the legacy protocol (asserted equal).
async fn visible(gateway: &GatewayUnderTest, bearer: &str) -> Vec<String> {
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {} });
    let (status, mcp) = post(gateway, "/mcp", bearer, list).await;
    assert_eq!(status, 200, "{mcp}");
    let (status, legacy) = post(gateway, "/", bearer, json!({ "method": "list_tools" })).await;
    assert_eq!(status, 200, "{legacy}");
    let seen = names(&mcp["result"]["tools"]);
    assert_eq!(seen, names(&legacy["tools"]));
    seen
}

/// The error code of calling `tool` (`None` on success) over MCP and legacy (asserted equal).
async fn call(gateway: &GatewayUnderTest, bearer: &str, tool: &str) -> Option<String> {
    let body = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": { "name": tool, "arguments": {} } });
    let (_, mcp) = post(gateway, "/mcp", bearer, body).await;
    let mcp_code = if mcp["result"]["isError"] == json!(false) {
        None
    } else {
        Some(
            mcp["result"]["structuredContent"]["error"]["code"]
                .as_str()
                .or(mcp["error"]["data"]["code"].as_str())
                .unwrap_or_else(|| panic!("{mcp}"))
                .to_owned(),
        )
    };
    let body = json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": {} } });
    let (status, legacy) = post(gateway, "/", bearer, body).await;
    let legacy_code = (status != 200).then(|| legacy["error"]["code"].as_str().unwrap().to_owned());
    assert_eq!(mcp_code, legacy_code, "{mcp} / {legacy}");
    mcp_code
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

#[tokio::test]
async fn jwt_callers_see_and_call_the_tools_of_the_rules_they_match() {
    let gateway = start().await;
    let acme = hs256_token(json!({ "org": "acme", "sub": "a" }));
    assert_eq!(visible(&gateway, &acme).await, ["crm_read"]);
    assert_eq!(call(&gateway, &acme, "crm_read").await, None);
    assert_eq!(
        call(&gateway, &acme, "dw_query").await.as_deref(),
        Some("tool_not_found")
    );

    let finance =
        hs256_token(json!({ "org": "other", "groups": ["staff", "finance"], "sub": "f" }));
    assert_eq!(visible(&gateway, &finance).await, ["dw_query"]);
    assert_eq!(call(&gateway, &finance, "dw_query").await, None);

    let both = hs256_token(json!({ "org": "acme", "groups": ["finance"], "sub": "b" }));
    assert_eq!(visible(&gateway, &both).await, ["crm_read", "dw_query"]);

    let nobody = hs256_token(json!({ "org": "other", "groups": "finance-ish", "sub": "n" }));
    assert!(visible(&gateway, &nobody).await.is_empty());
    assert_eq!(
        call(&gateway, &nobody, "billing_charge").await.as_deref(),
        Some("tool_not_found")
    );

    // API keys have their own allow-lists (none here): every tool.
    assert_eq!(
        visible(&gateway, KEY).await,
        ["billing_charge", "crm_read", "dw_query"]
    );
}

#[tokio::test]
async fn a_jwt_subject_equal_to_a_key_id_has_its_own_rate_limit_bucket() {
    let gateway = start().await;
    // Burst 2, then one call per 10 s: the key's third call is limited.
    let body = |id| {
        json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
                            "params": { "name": "crm_read", "arguments": {} } })
    };
    for id in 0..2 {
        let (_, reply) = post(&gateway, "/mcp", KEY, body(id)).await;
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    }
    let (_, reply) = post(&gateway, "/mcp", KEY, body(3)).await;
    assert_eq!(
        reply["result"]["structuredContent"]["error"]["code"],
        json!("rate_limit_exceeded"),
        "{reply}"
    );
    // A JWT whose sub is the key's id "user-42" still has its whole burst.
    let jwt = hs256_token(json!({ "org": "acme" }));
    for id in 4..6 {
        let (_, reply) = post(&gateway, "/mcp", &jwt, body(id)).await;
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    }
}
