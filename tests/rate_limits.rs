//! In-memory rate limits over real sockets: a tier of `{requests: 2, per: 1s, burst: 3}` admits
//! three immediate calls then answers `rate_limit_exceeded` (MCP `isError`, legacy 429 with
//! `Retry-After`), per-tool limits apply to their tool only, callers have separate buckets,
//! refused and unauthenticated requests cost nothing, reloads keep unchanged buckets, and idle
//! callers are evicted.
//!
//! Behaviours that need calls to land within one refill interval fire them concurrently (the
//! fast tier) or use 10 s intervals ([`slow`]), so that a loaded machine cannot refill a bucket
//! between two calls that the test expects to meet an empty one.

mod common;

use common::{GatewayUnderTest, Upstream, client, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::time::Duration;

const ALICE: &str = "tg_alice_key_0123456789";
const BOB: &str = "tg_bob_key_9876543210ab";

const CONFIG: &str = r#"
auth:
  api_keys:
    - { id: alice, key: "${ALICE_KEY}" }
    - { id: bob, key: "${BOB_KEY}" }
rate_limits:
  default_tier: standard
  tiers:
    standard: { requests: 2, per: 1s, burst: 3 }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    request: { upstream: api, path: /items }
  - name: write_item
    description: Write an item (limited on its own).
    rate_limit: { requests: 1, per: 1s, burst: 1 }
    request: { upstream: api, method: POST, path: /items }
"#;

/// `CONFIG` with 10 s intervals: the tier refills one call every 5 s, `write_item` one every 10 s.
fn slow() -> String {
    let yaml = CONFIG
        .replace(
            "standard: { requests: 2, per: 1s, burst: 3 }",
            "standard: { requests: 2, per: 10s, burst: 3 }",
        )
        .replace(
            "rate_limit: { requests: 1, per: 1s, burst: 1 }",
            "rate_limit: { requests: 1, per: 10s, burst: 1 }",
        );
    assert_eq!(yaml.matches("per: 10s").count(), 2);
    yaml
}

fn env(upstream: &Upstream) -> Vec<(&'static str, String)> {
    vec![
        ("API", upstream.url()),
        ("ALICE_KEY", ALICE.to_owned()),
        ("BOB_KEY", BOB.to_owned()),
    ]
}

async fn start(yaml: &str) -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let env = env(&upstream);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(yaml, &env).await;
    (upstream, gateway)
}

/// Compiles `yaml` with the same environment, for `Gateway::swap`.
fn load(upstream: &Upstream, yaml: &str) -> toolgate::config::RuntimeConfig {
    let env = env(upstream);
    let lookup = move |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    toolgate::config::load_str("test.yaml", yaml, &lookup).unwrap_or_else(|e| panic!("{e}"))
}

async fn mcp_call(gateway: &GatewayUnderTest, key: &str, tool: &str) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": { "name": tool, "arguments": {} } });
    let response = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// Status, `Retry-After` and body of a legacy `call_tool`.
async fn legacy_call(
    gateway: &GatewayUnderTest,
    key: &str,
    tool: &str,
) -> (u16, Option<String>, Value) {
    let body = json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": {} } });
    let response = client()
        .post(format!("{}/", gateway.url))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

fn assert_ok(reply: &Value, what: &str) {
    assert_eq!(reply["result"]["isError"], json!(false), "{what}: {reply}");
}

/// Asserts an MCP `rate_limit_exceeded` result for `scope` and returns its wait, which must be
/// in `(0, max_ms]`.
fn assert_limited(reply: &Value, scope: &str, max_ms: u64, what: &str) -> u64 {
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(true), "{what}: {reply}");
    let wait = result["structuredContent"]["error"]["details"]["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no retry_after_ms: {reply}"));
    assert!(
        wait > 0 && wait <= max_ms,
        "{what}: retry_after_ms {wait} not in (0, {max_ms}]"
    );
    let message = format!("rate limit exceeded ({scope})");
    assert_eq!(
        result["structuredContent"],
        json!({ "error": {
            "code": "rate_limit_exceeded",
            "message": message,
            "details": { "limit": scope, "retry_after_ms": wait },
        } }),
        "{what}"
    );
    assert_eq!(
        result["content"],
        json!([{ "type": "text", "text": format!("{message} (rate_limit_exceeded): retry after {wait} ms") }]),
        "{what}"
    );
    wait
}

fn tier_len(gateway: &GatewayUnderTest) -> usize {
    gateway.state.gateway.config().limits.tiers["standard"]
        .limiter
        .len()
}

/// Four concurrent MCP calls of `get_item` by `key` on the fast tier: exactly three are
/// admitted and one is refused; returns the refused call's wait.
async fn four_at_once(gateway: &GatewayUnderTest, key: &str) -> u64 {
    let calls = (0..4).map(|_| mcp_call(gateway, key, "get_item"));
    let replies = futures_util::future::join_all(calls).await;
    let (ok, refused): (Vec<&Value>, Vec<&Value>) = replies
        .iter()
        .partition(|r| r["result"]["isError"] == json!(false));
    assert_eq!((ok.len(), refused.len()), (3, 1), "{replies:?}");
    // Two a second refill one call every 500 ms: the wait is at most 500 ms.
    assert_limited(refused[0], "tier:standard", 500, "the fourth call")
}

#[tokio::test]
async fn the_fourth_immediate_call_is_refused_over_mcp() {
    let (upstream, gateway) = start(CONFIG).await;
    four_at_once(&gateway, ALICE).await;
    assert_eq!(upstream.requests().len(), 3, "a refused call is not sent");
}

#[tokio::test]
async fn the_fourth_immediate_call_is_429_with_retry_after_over_legacy() {
    let (upstream, gateway) = start(CONFIG).await;
    let calls = (0..4).map(|_| legacy_call(&gateway, ALICE, "get_item"));
    let mut replies = futures_util::future::join_all(calls).await;
    replies.sort_by_key(|(status, _, _)| *status);
    for (status, retry_after, body) in &replies[..3] {
        assert_eq!((*status, retry_after.as_deref()), (200, None), "{body}");
    }
    let (status, retry_after, body) = &replies[3];
    assert_eq!(*status, 429, "{body}");
    assert_eq!(
        retry_after.as_deref(),
        Some("1"),
        "whole seconds, rounded up"
    );
    let wait = body["error"]["details"]["retry_after_ms"].as_u64().unwrap();
    assert!(wait > 0 && wait <= 500, "retry_after_ms {wait}");
    assert_eq!(
        *body,
        json!({ "error": {
            "code": "rate_limit_exceeded",
            "message": "rate limit exceeded (tier:standard)",
            "details": { "limit": "tier:standard", "retry_after_ms": wait },
        } })
    );
    assert_eq!(upstream.requests().len(), 3);

    // Waiting as told (Retry-After: 1) is enough.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, _, body) = legacy_call(&gateway, ALICE, "get_item").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn after_waiting_the_retry_time_a_call_succeeds() {
    let (_upstream, gateway) = start(CONFIG).await;
    let wait = four_at_once(&gateway, ALICE).await;
    tokio::time::sleep(Duration::from_millis(wait + 100)).await;
    assert_ok(
        &mcp_call(&gateway, ALICE, "get_item").await,
        "after the wait",
    );
}

#[tokio::test]
async fn a_tool_limit_applies_to_that_tool_only() {
    let (upstream, gateway) = start(&slow()).await;
    assert_ok(&mcp_call(&gateway, ALICE, "write_item").await, "write 1");
    let reply = mcp_call(&gateway, ALICE, "write_item").await;
    assert_limited(&reply, "tool:write_item", 10_000, "write 2");
    let (status, retry_after, body) = legacy_call(&gateway, ALICE, "write_item").await;
    assert_eq!(status, 429, "{body}");
    let wait = body["error"]["details"]["retry_after_ms"].as_u64().unwrap();
    assert!(wait > 0 && wait <= 10_000, "retry_after_ms {wait}");
    let seconds = wait.div_ceil(1000).to_string();
    assert_eq!(retry_after.as_deref(), Some(seconds.as_str()));
    assert_eq!(body["error"]["details"]["limit"], json!("tool:write_item"));

    // The refused writes did not use up alice's tier: write 1 took one of three, so two remain.
    assert_ok(&mcp_call(&gateway, ALICE, "get_item").await, "get 1");
    assert_ok(&mcp_call(&gateway, ALICE, "get_item").await, "get 2");
    let reply = mcp_call(&gateway, ALICE, "get_item").await;
    assert_limited(&reply, "tier:standard", 5_000, "get 3");

    // Bob's write bucket is his own.
    assert_ok(&mcp_call(&gateway, BOB, "write_item").await, "bob's write");
    let methods: Vec<String> = upstream.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST", "GET", "GET", "POST"]);
}

#[tokio::test]
async fn two_keys_have_independent_buckets() {
    let (upstream, gateway) = start(&slow()).await;
    for (name, key) in [("alice", ALICE), ("bob", BOB)] {
        for i in 1..=3 {
            assert_ok(
                &mcp_call(&gateway, key, "get_item").await,
                &format!("{name} {i}"),
            );
        }
        let reply = mcp_call(&gateway, key, "get_item").await;
        assert_limited(&reply, "tier:standard", 5_000, &format!("{name} 4"));
    }
    assert_eq!(upstream.requests().len(), 6);
    assert_eq!(tier_len(&gateway), 2);
}

#[tokio::test]
async fn refused_and_unauthenticated_requests_cost_nothing() {
    let (upstream, gateway) = start(&slow()).await;
    // Requests that never become a tool call: bad credentials, listing, unknown tools.
    for _ in 0..10 {
        let (status, _, _) = legacy_call(&gateway, "tg_wrong_key_000000000", "get_item").await;
        assert_eq!(status, 401);
        let response = client()
            .post(gateway.mcp_url())
            .header("Accept", "application/json, text/event-stream")
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": "get_item", "arguments": {} } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    }
    assert_eq!(
        tier_len(&gateway),
        0,
        "no bucket for unauthenticated requests"
    );
    for _ in 0..5 {
        let response = client()
            .post(gateway.mcp_url())
            .header("Accept", "application/json, text/event-stream")
            .bearer_auth(ALICE)
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let reply = mcp_call(&gateway, ALICE, "no_such_tool").await;
        assert_eq!(reply["error"]["data"]["code"], json!("tool_not_found"));
    }
    assert_eq!(tier_len(&gateway), 0, "listing and unknown tools are free");

    for i in 1..=3 {
        assert_ok(
            &mcp_call(&gateway, ALICE, "get_item").await,
            &format!("call {i}"),
        );
    }
    let reply = mcp_call(&gateway, ALICE, "get_item").await;
    assert_limited(&reply, "tier:standard", 5_000, "call 4");
    assert_eq!(upstream.requests().len(), 3);
}

#[tokio::test]
async fn a_reload_keeps_unchanged_buckets_and_starts_changed_ones_fresh() {
    let base = slow();
    let (upstream, gateway) = start(&base).await;
    assert_ok(&mcp_call(&gateway, ALICE, "write_item").await, "write");
    for i in 2..=3 {
        assert_ok(
            &mcp_call(&gateway, ALICE, "get_item").await,
            &format!("call {i}"),
        );
    }
    let reply = mcp_call(&gateway, ALICE, "get_item").await;
    assert_limited(&reply, "tier:standard", 5_000, "before the reload");

    // Same rates, other text: both buckets carry over.
    let same = base.replace("Get an item.", "Get one item.");
    assert_ne!(same, base);
    gateway.state.gateway.swap(load(&upstream, &same));
    let reply = mcp_call(&gateway, ALICE, "get_item").await;
    assert_limited(&reply, "tier:standard", 5_000, "after a reload, same rate");
    let reply = mcp_call(&gateway, ALICE, "write_item").await;
    assert_limited(
        &reply,
        "tool:write_item",
        10_000,
        "after a reload, same tool rate",
    );
    assert_eq!(tier_len(&gateway), 1);

    // A changed tier rate starts with full buckets; the unchanged tool limit keeps its state.
    let changed = same.replace(
        "{ requests: 2, per: 10s, burst: 3 }",
        "{ requests: 3, per: 10s, burst: 3 }",
    );
    assert_ne!(changed, same);
    gateway.state.gateway.swap(load(&upstream, &changed));
    assert_eq!(tier_len(&gateway), 0);
    for i in 1..=3 {
        assert_ok(
            &mcp_call(&gateway, ALICE, "get_item").await,
            &format!("fresh bucket, call {i}"),
        );
    }
    let reply = mcp_call(&gateway, ALICE, "get_item").await;
    assert_limited(&reply, "tier:standard", 3_334, "fresh bucket, call 4");
    let reply = mcp_call(&gateway, ALICE, "write_item").await;
    assert_limited(&reply, "tool:write_item", 10_000, "tool bucket kept");
}

#[tokio::test]
async fn idle_callers_are_evicted_once_their_buckets_refill() {
    // Twelve keys, so that the limiters hold twelve callers; the tool limit refills slowly
    // (one call a minute), the tier quickly.
    let mut yaml = CONFIG.replace(
        "rate_limit: { requests: 1, per: 1s, burst: 1 }",
        "rate_limit: { requests: 1, per: 1m, burst: 1 }",
    );
    let mut keys = vec![ALICE.to_owned(), BOB.to_owned()];
    for i in 0..10 {
        let key = format!("tg_many_keys_{i:04}_abcdefgh");
        yaml = yaml.replace(
            "    - { id: bob, key: \"${BOB_KEY}\" }\n",
            &format!("    - {{ id: bob, key: \"${{BOB_KEY}}\" }}\n    - {{ id: caller-{i}, key: {key} }}\n"),
        );
        keys.push(key);
    }
    let (_upstream, gateway) = start(&yaml).await;
    for key in &keys {
        assert_ok(&mcp_call(&gateway, key, "get_item").await, key);
        assert_ok(&mcp_call(&gateway, key, "write_item").await, key);
    }
    let config = gateway.state.gateway.config();
    let tool = &config.limits.tools["write_item"].limiter;
    assert_eq!(tier_len(&gateway), 12);
    assert_eq!(tool.len(), 12);

    // Two tier calls of 500 ms each: every tier bucket is full again well within 2.5 s, while
    // every tool bucket still has most of a minute to go.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    config.limits.evict_idle();
    assert_eq!(tier_len(&gateway), 0, "refilled buckets are forgotten");
    assert_eq!(tool.len(), 12, "buckets still refilling are kept");

    // An evicted caller starts again with a full bucket.
    four_at_once(&gateway, ALICE).await;
    assert_eq!(tier_len(&gateway), 1);
}
