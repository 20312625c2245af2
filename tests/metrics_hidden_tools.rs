//! `/metrics` does not tell which hidden tools exist: a call to a tool the caller's allow-list
//! hides is labelled `(unknown)`, exactly like a call to a tool that does not exist. With
//! `admin.protect_metrics`, `/metrics` needs the admin key.

mod common;

use common::{client, start_gateway};
use serde_json::json;

const KEY: &str = "tg_crm_only_key_000111222";
const ADMIN: &str = "admin-key-0123456789abcdef";

const CONFIG: &str = r#"
admin: { key: "${ADMIN}", protect_metrics: PROTECT }
auth:
  api_keys:
    - { id: crm-only, key: "${KEY}", tools: [ "crm_*" ] }
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: crm_get_customer
    description: Get a customer.
    request: { upstream: api, path: /customers }
  - name: dw_query
    description: Query the warehouse.
    request: { upstream: api, path: /query }
"#;

async fn call(url: &str, tool: &str) {
    let body = json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": {} } });
    let status = client()
        .post(format!("{url}/"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404, "{tool}");
}

async fn scrape(url: &str, key: Option<&str>) -> (u16, String) {
    let mut request = client().get(format!("{url}/metrics"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_hidden_tool_is_labelled_like_a_missing_one() {
    let env = [("KEY", KEY), ("ADMIN", ADMIN)];
    // No admin section at all: the labels alone must not leak.
    let config = CONFIG.replace(
        r#"admin: { key: "${ADMIN}", protect_metrics: PROTECT }"#,
        "",
    );
    let gateway = start_gateway(&config, &env).await;
    call(&gateway.url, "dw_query").await;
    call(&gateway.url, "no_such_tool").await;
    let (status, text) = scrape(&gateway.url, None).await;
    assert_eq!(status, 200);
    assert!(!text.contains("dw_query"), "{text}");
    let unknown = text
        .lines()
        .find(|l| {
            l.starts_with("toolgate_tool_calls_total")
                && l.contains("(unknown)")
                && l.contains("tool_not_found")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(unknown.ends_with(" 2"), "{unknown}");
}

#[tokio::test]
async fn protect_metrics_puts_metrics_behind_the_admin_key() {
    let env = [("KEY", KEY), ("ADMIN", ADMIN)];
    let gateway = start_gateway(&CONFIG.replace("PROTECT", "true"), &env).await;
    assert_eq!(scrape(&gateway.url, None).await.0, 401);
    assert_eq!(
        scrape(&gateway.url, Some("wrong-key-0123456789")).await.0,
        401
    );
    let (status, text) = scrape(&gateway.url, Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert!(text.contains("toolgate_tools 2"), "{text}");
}
