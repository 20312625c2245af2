//! API-key authentication over real sockets: 401 + `WWW-Authenticate` for missing, malformed and
//! unknown keys (on MCP and legacy), `key: ${VAR}` and `key_sha256` keys accepted, keys never
//! echoed, `{{caller.*}}` and `headers_by_org` reaching the upstream, no bearer passthrough, and a
//! key revoked by a reload refused at once.

mod common;

use common::{GatewayUnderTest, Upstream, client, start_gateway, start_upstream};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The key of `ops-team` (org acme, tier gold), given as `key: ${OPS_KEY}`.
const OPS_KEY: &str = "tg_ops_5f3a9c1e7b2d4f60";
/// The key of `hashed-client` (org globex, default tier), configured only as its SHA-256.
const HASHED_KEY: &str = "tg_hashed_0c8e2a4b6d1f3e5a7c9b";
/// The upstream's own credentials: the base one and acme's.
const BASE_UPSTREAM_TOKEN: &str = "upstream-base-credential";
const ACME_UPSTREAM_TOKEN: &str = "upstream-acme-credential";

const CONFIG: &str = r#"
auth:
  api_keys:
    - id: ops-team
      key: ${OPS_KEY}
      org: acme
      tier: gold
    - id: hashed-client
      key_sha256: ${HASHED_DIGEST}
      org: globex
upstreams:
  api:
    base_url: "${API}"
    headers:
      Authorization: "Bearer ${UPSTREAM_TOKEN}"
      X-Base-Only: base
    headers_by_org:
      acme:
        Authorization: "Bearer ${ACME_UPSTREAM_TOKEN}"
tools:
  - name: whoami
    description: Echo who is calling.
    request:
      upstream: api
      path: /whoami
      headers:
        X-Caller-Id: "{{caller.id}}"
        X-Caller-Org: "{{caller.org}}"
        X-Caller-Tier: "{{caller.tier}}"
"#;

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn start(upstream: &Upstream) -> GatewayUnderTest {
    let digest = sha256_hex(HASHED_KEY);
    start_gateway(
        CONFIG,
        &[
            ("API", &upstream.url()),
            ("OPS_KEY", OPS_KEY),
            ("HASHED_DIGEST", &digest),
            ("UPSTREAM_TOKEN", BASE_UPSTREAM_TOKEN),
            ("ACME_UPSTREAM_TOKEN", ACME_UPSTREAM_TOKEN),
        ],
    )
    .await
}

/// Status, every response header (`name: value`, lower-case names) and the raw body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Everything the client could read: status line aside, headers and body.
    fn everything(&self) -> String {
        let mut text = self.body.clone();
        for (name, value) in &self.headers {
            text.push_str(&format!("\n{name}: {value}"));
        }
        text
    }
}

/// POSTs `body` to `path` with an optional raw `Authorization` value.
async fn post(
    gateway: &GatewayUnderTest,
    path: &str,
    authorization: Option<reqwest::header::HeaderValue>,
    body: Value,
) -> Reply {
    let mut request = client()
        .post(format!("{}{path}", gateway.url))
        .header("Accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Reply {
        status,
        headers,
        body: response.text().await.unwrap(),
    }
}

fn auth(value: &str) -> Option<reqwest::header::HeaderValue> {
    Some(reqwest::header::HeaderValue::from_str(value).unwrap())
}

fn mcp_whoami() -> Value {
    json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": "whoami", "arguments": {} } })
}

fn legacy_whoami() -> Value {
    json!({ "method": "call_tool", "params": { "tool_name": "whoami", "arguments": {} } })
}

const MISSING_MESSAGE: &str = "missing credentials: send Authorization: Bearer <api key or token>";
const MALFORMED_MESSAGE: &str = "malformed Authorization header: expected 'Bearer <credential>'";
const UNKNOWN_MESSAGE: &str = "invalid credentials: unknown API key";

fn assert_refused(reply: &Reply, message: &str, challenge: &str, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    assert_eq!(
        reply.json(),
        json!({ "error": { "code": "unauthorized", "message": message } }),
        "{what}"
    );
    assert_eq!(
        reply.header("www-authenticate"),
        Some(challenge),
        "{what}: {:?}",
        reply.headers
    );
}

fn invalid_token_challenge(message: &str) -> String {
    format!(r#"Bearer realm="toolgate", error="invalid_token", error_description="{message}""#)
}

#[tokio::test]
async fn no_credentials_get_401_with_a_bearer_challenge_on_mcp_and_legacy() {
    let upstream = start_upstream().await;
    let gateway = start(&upstream).await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    let legacy_list = json!({ "method": "list_tools", "params": {} });
    for (path, body) in [
        ("/mcp", mcp_whoami()),
        ("/mcp", list),
        ("/mcp", init),
        ("/", legacy_whoami()),
        ("/", legacy_list),
        ("/v1/mcp", mcp_whoami()),
    ] {
        let reply = post(&gateway, path, None, body.clone()).await;
        // Without credentials the challenge carries no error code (RFC 6750 §3.1); this
        // gateway takes no OAuth tokens, so there is no resource_metadata either.
        assert_refused(
            &reply,
            MISSING_MESSAGE,
            r#"Bearer realm="toolgate""#,
            &format!("{path} {body}"),
        );
    }
    assert_eq!(upstream.requests().len(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn malformed_and_unknown_credentials_get_401_invalid_token() {
    let upstream = start_upstream().await;
    let gateway = start(&upstream).await;
    let prefix = &OPS_KEY[..OPS_KEY.len() - 1];
    let longer = format!("{OPS_KEY}0");
    let other_same_length: String = OPS_KEY
        .chars()
        .map(|c| if c == '5' { '6' } else { c })
        .collect();
    assert_eq!(other_same_length.len(), OPS_KEY.len());
    let malformed = [
        format!("Basic {OPS_KEY}"),
        "Basic b3BzLXRlYW06c2VjcmV0".to_owned(),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        OPS_KEY.to_owned(),
        format!("Token {OPS_KEY}"),
    ];
    let unknown = [
        "Bearer tg_unknown_key_1234567890".to_owned(),
        format!("Bearer {other_same_length}"),
        "Bearer short".to_owned(),
        format!("Bearer {}", "k".repeat(300)),
        format!("Bearer {prefix}"),
        format!("Bearer {longer}"),
        format!("Bearer {}", &HASHED_KEY[1..]),
        // The digest is not the key: presenting it must not work.
        format!("Bearer {}", sha256_hex(HASHED_KEY)),
    ];
    let cases = malformed
        .iter()
        .map(|v| (v, MALFORMED_MESSAGE))
        .chain(unknown.iter().map(|v| (v, UNKNOWN_MESSAGE)));
    for (value, message) in cases {
        for (path, body) in [("/mcp", mcp_whoami()), ("/", legacy_whoami())] {
            let reply = post(&gateway, path, auth(value), body).await;
            let challenge = invalid_token_challenge(message);
            assert_refused(&reply, message, &challenge, &format!("{path} {value:?}"));
            let everything = reply.everything();
            for secret in [OPS_KEY, HASHED_KEY, prefix] {
                assert!(
                    !everything.contains(secret),
                    "{path} {value:?}: a key leaked: {everything}"
                );
            }
        }
    }
    // Bytes that are not UTF-8 are malformed too.
    let raw = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe-not-utf8").unwrap();
    let reply = post(&gateway, "/mcp", Some(raw), mcp_whoami()).await;
    assert_refused(
        &reply,
        MALFORMED_MESSAGE,
        &invalid_token_challenge(MALFORMED_MESSAGE),
        "non-UTF-8",
    );
    assert_eq!(upstream.requests().len(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn an_env_key_and_a_sha256_key_are_accepted_on_mcp_and_legacy() {
    let upstream = start_upstream().await;
    let gateway = start(&upstream).await;
    let cases = [
        format!("Bearer {OPS_KEY}"),
        format!("bearer {OPS_KEY}"),
        format!("BEARER  {OPS_KEY} "),
        format!("Bearer {HASHED_KEY}"),
    ];
    for value in &cases {
        let reply = post(&gateway, "/mcp", auth(value), mcp_whoami()).await;
        assert_eq!(reply.status, 200, "{value:?}: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["result"]["isError"], json!(false), "{value:?}: {body}");
        assert_eq!(
            body["result"]["structuredContent"],
            json!({ "method": "GET", "uri": "/whoami", "body": null })
        );

        let reply = post(&gateway, "/", auth(value), legacy_whoami()).await;
        assert_eq!(reply.status, 200, "{value:?}: {}", reply.body);
        assert_eq!(
            reply.json(),
            json!({ "result": { "method": "GET", "uri": "/whoami", "body": null } })
        );
        for secret in [OPS_KEY, HASHED_KEY] {
            assert!(!reply.everything().contains(secret));
        }
    }
    assert_eq!(upstream.requests().len(), 2 * cases.len());
}

#[tokio::test]
async fn caller_fields_and_org_credentials_reach_the_upstream_but_the_bearer_does_not() {
    let upstream = start_upstream().await;
    let gateway = start(&upstream).await;

    let reply = post(
        &gateway,
        "/mcp",
        auth(&format!("Bearer {OPS_KEY}")),
        mcp_whoami(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = upstream.last();
    assert_eq!(seen.header("x-caller-id"), Some("ops-team"));
    assert_eq!(seen.header("x-caller-org"), Some("acme"));
    assert_eq!(seen.header("x-caller-tier"), Some("gold"));
    // acme's own upstream credential, merged over the base headers.
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {ACME_UPSTREAM_TOKEN}").as_str())
    );
    assert_eq!(seen.header("x-base-only"), Some("base"));

    let reply = post(
        &gateway,
        "/",
        auth(&format!("Bearer {HASHED_KEY}")),
        legacy_whoami(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = upstream.last();
    assert_eq!(seen.header("x-caller-id"), Some("hashed-client"));
    assert_eq!(seen.header("x-caller-org"), Some("globex"));
    // No tier on the key and no rate_limits section: the built-in default tier.
    assert_eq!(seen.header("x-caller-tier"), Some("standard"));
    // globex has no entry in headers_by_org: the base credential.
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {BASE_UPSTREAM_TOKEN}").as_str())
    );
    assert_eq!(seen.header("x-base-only"), Some("base"));

    // The callers' own keys never travel upstream, in any header, URI or body.
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    for request in requests {
        let mut everything = format!("{} {}\n", request.method, request.uri);
        for (name, value) in &request.headers {
            everything.push_str(&format!("{name}: {value}\n"));
        }
        everything.push_str(&String::from_utf8_lossy(&request.body));
        assert!(!everything.contains(OPS_KEY), "{everything}");
        assert!(!everything.contains(HASHED_KEY), "{everything}");
        assert_eq!(
            request
                .headers
                .iter()
                .filter(|(n, _)| n == "authorization")
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn a_key_removed_by_a_reload_is_refused_at_once() {
    let upstream = start_upstream().await;
    let gateway = start(&upstream).await;
    let ops = format!("Bearer {OPS_KEY}");
    let hashed = format!("Bearer {HASHED_KEY}");
    for value in [&ops, &hashed] {
        let reply = post(&gateway, "/mcp", auth(value), mcp_whoami()).await;
        assert_eq!(reply.status, 200, "before the reload: {}", reply.body);
    }

    // The same config without hashed-client's key.
    let without = CONFIG.replace(
        "    - id: hashed-client\n      key_sha256: ${HASHED_DIGEST}\n      org: globex\n",
        "",
    );
    assert_ne!(without, CONFIG);
    let api = upstream.url();
    let lookup = move |name: &str| match name {
        "API" => Some(api.clone()),
        "OPS_KEY" => Some(OPS_KEY.to_owned()),
        "UPSTREAM_TOKEN" => Some(BASE_UPSTREAM_TOKEN.to_owned()),
        "ACME_UPSTREAM_TOKEN" => Some(ACME_UPSTREAM_TOKEN.to_owned()),
        _ => None,
    };
    let config = toolgate::config::load_str("test.yaml", &without, &lookup)
        .unwrap_or_else(|e| panic!("config: {e}"));
    gateway.state.gateway.swap(config);

    for (path, body) in [("/mcp", mcp_whoami()), ("/", legacy_whoami())] {
        let reply = post(&gateway, path, auth(&hashed), body.clone()).await;
        assert_refused(
            &reply,
            UNKNOWN_MESSAGE,
            &invalid_token_challenge(UNKNOWN_MESSAGE),
            &format!("revoked key on {path}"),
        );
        let reply = post(&gateway, path, auth(&ops), body).await;
        assert_eq!(reply.status, 200, "kept key on {path}: {}", reply.body);
    }
    assert_eq!(upstream.requests().len(), 4);
}

#[tokio::test]
async fn an_api_key_gateway_serves_no_oauth_metadata() {
    let upstream = start_upstream().await;
    let gateway = start(&upstream).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = client()
            .get(format!("{}{path}", gateway.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], json!("invalid_request"), "{path}");
    }
}

#[test]
fn the_same_key_configured_twice_is_a_problem_located_at_the_second_entry() {
    let digest = sha256_hex(OPS_KEY);
    let yaml = format!(
        "auth:\n  api_keys:\n    - id: first\n      key: {OPS_KEY}\n    - id: second\n      key_sha256: {digest}\n"
    );
    let error = toolgate::config::load_str("keys.yaml", &yaml, &|_| None)
        .expect_err("a duplicated key is refused");
    let problems: Vec<String> = error
        .problems
        .iter()
        .filter(|p| p.message.contains("same key"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        ["keys.yaml:5:7: API key 'second' has the same key as another one"]
    );
    // Neither the key nor its digest is echoed.
    let text = error.to_string();
    assert!(!text.contains(OPS_KEY) && !text.contains(&digest), "{text}");
}
