//! Rate limits shared through Redis, over real sockets: two gateways (as two replicas) using one
//! real `redis-server` admit exactly one bucket's worth of calls between them, and when Redis is
//! unreachable `on_redis_error: deny` refuses calls while `allow` lets them through.
//!
//! The shared-bucket test needs `redis-server` on the PATH (`apt-get install redis-server`; CI
//! installs it). Without it the test fails, unless `TOOLGATE_SKIP_REDIS_TESTS=1` is set.

mod common;

use common::{GatewayUnderTest, Upstream, client, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "tg_replica_key_0123456789";
const WARMUP_KEY: &str = "tg_warmup_key_9876543210";

const CONFIG: &str = r#"
auth:
  api_keys:
    - { id: shared-caller, key: "${KEY}" }
    - { id: warmup, key: "${WARMUP_KEY}" }
rate_limits:
  tiers:
    standard: { requests: 5, per: 60s, burst: 5 }
  backend: redis
  redis_url: "${REDIS_URL}"
  on_redis_error: ${ON_REDIS_ERROR:-allow}
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    request: { upstream: api, path: /items }
"#;

/// A `redis-server` child process on a free 127.0.0.1 port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one, or returns `None` (after printing why) when the tests are to be skipped.
    fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            if std::env::var("TOOLGATE_SKIP_REDIS_TESTS").as_deref() == Ok("1") {
                eprintln!("skipped: redis-server is not installed and TOOLGATE_SKIP_REDIS_TESTS=1");
                return None;
            }
            panic!(
                "redis-server is not installed: run `apt-get install redis-server` (CI installs \
                 it), or set TOOLGATE_SKIP_REDIS_TESTS=1 to skip the Redis tests"
            );
        }
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on port {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(upstream: &Upstream, redis_url: &str, on_error: &str) -> GatewayUnderTest {
    start_gateway(
        CONFIG,
        &[
            ("API", &upstream.url()),
            ("KEY", KEY),
            ("WARMUP_KEY", WARMUP_KEY),
            ("REDIS_URL", redis_url),
            ("ON_REDIS_ERROR", on_error),
        ],
    )
    .await
}

async fn mcp_call(gateway: &GatewayUnderTest, key: &str) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "get_item", "arguments": {} } });
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

/// `Ok(())` for a successful call, `Err(retry_after_ms)` for `rate_limit_exceeded`.
fn outcome(reply: &Value) -> Result<(), u64> {
    let result = &reply["result"];
    if result["isError"] == json!(false) {
        return Ok(());
    }
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["code"], json!("rate_limit_exceeded"), "{reply}");
    assert_eq!(error["details"]["limit"], json!("tier:standard"), "{reply}");
    Err(error["details"]["retry_after_ms"].as_u64().unwrap())
}

#[tokio::test]
async fn two_replicas_sharing_redis_admit_one_bucket_between_them() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let upstream = start_upstream().await;
    // Two start_gateway calls: two independent sets of local limiters, like two replicas.
    let replicas = [
        start(&upstream, &redis.url(), "deny").await,
        start(&upstream, &redis.url(), "deny").await,
    ];
    // Connect both replicas to Redis with another caller, so that the measured calls below
    // do not include connection set-up.
    for replica in &replicas {
        assert_eq!(outcome(&mcp_call(replica, WARMUP_KEY).await), Ok(()));
    }

    // Twenty calls alternating between the replicas, well within one refill (12 s: a loaded
    // machine can take seconds for twenty calls, so a 2 s refill would make this flaky).
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for i in 0..20 {
        outcomes.push(outcome(&mcp_call(&replicas[i % 2], KEY).await));
    }
    let elapsed = started.elapsed();
    let admitted: Vec<usize> = (0..20).filter(|&i| outcomes[i].is_ok()).collect();
    assert_eq!(
        admitted,
        [0, 1, 2, 3, 4],
        "{outcomes:?} (the calls took {elapsed:?}; one call refills every 12 s)"
    );
    for (i, outcome) in outcomes.iter().enumerate().skip(5) {
        let wait = outcome.unwrap_err();
        // One call refills every 12 s.
        assert!(
            wait > 0 && wait <= 12_000,
            "call {i}: retry_after_ms {wait}"
        );
    }
    assert_eq!(upstream.requests().len(), 2 + 5);
}

#[tokio::test]
async fn deny_refuses_calls_when_redis_is_unreachable() {
    let upstream = start_upstream().await;
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let gateway = start(&upstream, &closed, "deny").await;
    for i in 0..3 {
        let reply = mcp_call(&gateway, KEY).await;
        assert_eq!(outcome(&reply), Err(1000), "call {i}: {reply}");
    }
    let response = client()
        .post(format!("{}/", gateway.url))
        .bearer_auth(KEY)
        .json(&json!({ "method": "call_tool", "params": { "tool_name": "get_item", "arguments": {} } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("rate_limit_exceeded"));
    assert_eq!(upstream.requests().len(), 0);
}

#[tokio::test]
async fn allow_lets_calls_through_when_redis_is_unreachable() {
    let upstream = start_upstream().await;
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let gateway = start(&upstream, &closed, "allow").await;
    for i in 0..5 {
        let reply = mcp_call(&gateway, KEY).await;
        assert_eq!(outcome(&reply), Ok(()), "call {i}: {reply}");
    }
    // The local limiter still applies: the sixth immediate call is over the burst of 5.
    let wait = outcome(&mcp_call(&gateway, KEY).await).unwrap_err();
    assert!(wait > 0 && wait <= 12_000, "retry_after_ms {wait}");
    assert_eq!(upstream.requests().len(), 5);
}
