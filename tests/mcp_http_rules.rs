//! The Streamable HTTP transport rules, over real sockets: `MCP-Protocol-Version` checks, Origin
//! and Host checks (DNS rebinding) and their configured exceptions, the body size limit, JSON-RPC
//! envelope errors, batching by revision, `GET` → 405, client responses → 202, and the same
//! answers at `/`, `/mcp`, `/v1` and `/v1/mcp`.

mod common;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};

const TOOLS: &str = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: { id: { type: string } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
"#;

/// The answer to one request: status and raw body.
struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// POSTs raw bytes to `url` with extra headers.
async fn post_raw(url: &str, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> Reply {
    let mut request = client()
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    Reply {
        status,
        body: response.text().await.unwrap(),
    }
}

/// POSTs JSON to `/mcp` with extra headers.
async fn post(gateway: &GatewayUnderTest, body: Value, headers: &[(&str, &str)]) -> Reply {
    post_raw(&gateway.mcp_url(), body.to_string(), headers).await
}

fn ping(id: i64) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "ping" })
}

#[tokio::test]
async fn an_unsupported_protocol_version_header_is_400() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for bad in ["1999-01-01", "2024-11-05", "latest", ""] {
        let reply = post(&gateway, ping(1), &[("MCP-Protocol-Version", bad)]).await;
        assert_eq!(reply.status, 400, "{bad:?}: {}", reply.body);
        let body = reply.json();
        // The 2026-07-28 UnsupportedProtocolVersion error, naming every version served (so a
        // client of either era can pick one) and echoing the one asked for.
        assert_eq!(body["error"]["code"], json!(-32022), "{bad:?}");
        assert_eq!(
            body["error"]["data"]["supported"],
            json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"])
        );
        assert_eq!(body["error"]["data"]["requested"], json!(bad));
        assert_eq!(body["error"]["data"]["code"], json!("invalid_request"));
    }
}

#[tokio::test]
async fn a_supported_protocol_version_header_is_accepted() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let reply = post(&gateway, ping(1), &[("MCP-Protocol-Version", version)]).await;
        assert_eq!(reply.status, 200, "{version}: {}", reply.body);
        assert_eq!(reply.json()["result"], json!({}));
    }
    // 2026-07-28 is accepted too, with the per-request envelope that revision requires
    // (`ping` is gone from it; tools/list stays).
    let modern = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": { "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        } },
    });
    let reply = post(
        &gateway,
        modern,
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/list"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["result"]["tools"][0]["name"],
        json!("get_item")
    );
}

#[tokio::test]
async fn a_foreign_origin_is_403_and_loopback_origins_are_allowed() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for evil in [
        "http://evil.example.com",
        "http://localhost.evil.example.com",
        "null",
    ] {
        let reply = post(&gateway, ping(1), &[("Origin", evil)]).await;
        assert_eq!(reply.status, 403, "{evil}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], json!("forbidden"));
    }
    for good in [
        "http://localhost:3000",
        "http://127.0.0.1:5173",
        "http://[::1]:8080",
        "http://app.localhost",
    ] {
        let reply = post(&gateway, ping(1), &[("Origin", good)]).await;
        assert_eq!(reply.status, 200, "{good}: {}", reply.body);
    }
    // GET and DELETE are guarded too.
    let response = client()
        .get(gateway.mcp_url())
        .header("Origin", "http://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let response = client()
        .delete(gateway.mcp_url())
        .header("Origin", "http://evil.example.com")
        .header("Mcp-Session-Id", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // So is the legacy protocol on the same endpoint.
    let reply = post_raw(
        &format!("{}/", gateway.url),
        r#"{"method":"list_tools","params":{}}"#,
        &[("Origin", "http://evil.example.com")],
    )
    .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn a_foreign_host_is_403_and_loopback_hosts_are_allowed() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for evil in ["evil.example.com", "evil.example.com:8766"] {
        let reply = post(&gateway, ping(1), &[("Host", evil)]).await;
        assert_eq!(reply.status, 403, "{evil}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], json!("forbidden"));
    }
    // The DNS-rebinding conformance check: both headers foreign.
    let reply = post(
        &gateway,
        ping(1),
        &[
            ("Host", "evil.example.com"),
            ("Origin", "http://evil.example.com"),
        ],
    )
    .await;
    assert_eq!(reply.status, 403);
    for good in ["localhost:8766", "LOCALHOST", "127.0.0.1", "[::1]:8766"] {
        let reply = post(&gateway, ping(1), &[("Host", good)]).await;
        assert_eq!(reply.status, 200, "{good}: {}", reply.body);
    }
}

#[tokio::test]
async fn configured_origins_and_hosts_and_public_url_are_let_through() {
    let yaml = format!(
        r#"
server:
  public_url: https://mcp.example.com
  allowed_origins: [ "https://App.Example.com/" ]
  allowed_hosts: [ gw.internal ]
{TOOLS}"#
    );
    let gateway = start_gateway(&yaml, &[]).await;
    for (header, value) in [
        ("Origin", "https://app.example.com"),
        ("Origin", "https://mcp.example.com"),
        ("Host", "gw.internal"),
        ("Host", "gw.internal:8080"),
        ("Host", "mcp.example.com"),
        ("Host", "MCP.example.com:443"),
    ] {
        let reply = post(&gateway, ping(1), &[(header, value)]).await;
        assert_eq!(reply.status, 200, "{header}: {value}: {}", reply.body);
    }
    for (header, value) in [
        ("Origin", "http://app.example.com"),
        ("Origin", "https://app.example.com:8443"),
        ("Origin", "http://mcp.example.com"),
        ("Origin", "http://evil.example.com"),
        ("Host", "other.internal"),
        ("Host", "evil.example.com"),
    ] {
        let reply = post(&gateway, ping(1), &[(header, value)]).await;
        assert_eq!(reply.status, 403, "{header}: {value}: {}", reply.body);
    }

    let any_host = start_gateway(
        &format!("server: {{ allowed_hosts: [ '*' ] }}\n{TOOLS}"),
        &[],
    )
    .await;
    let reply = post(&any_host, ping(1), &[("Host", "anything.example.org")]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Origins are still checked when any Host is allowed.
    let reply = post(&any_host, ping(1), &[("Origin", "http://evil.example.com")]).await;
    assert_eq!(reply.status, 403);
}

/// A ping whose serialised form is exactly `len` bytes.
fn ping_of_len(len: usize) -> String {
    let empty = r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"pad":""}}}"#;
    let padded = empty.replace(
        r#""pad":"""#,
        &format!(r#""pad":"{}""#, "x".repeat(len - empty.len())),
    );
    assert_eq!(padded.len(), len);
    padded
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_413() {
    let yaml = format!("server: {{ max_body_bytes: 256 }}\n{TOOLS}");
    let gateway = start_gateway(&yaml, &[]).await;
    let reply = post_raw(&gateway.mcp_url(), ping_of_len(256), &[]).await;
    assert_eq!(
        reply.status, 200,
        "exactly the limit is fine: {}",
        reply.body
    );
    assert_eq!(reply.json()["result"], json!({}));

    let reply = post_raw(&gateway.mcp_url(), ping_of_len(257), &[]).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"]["code"], json!("payload_too_large"));
    assert_eq!(
        body["error"]["message"],
        json!("the request body is larger than 256 bytes")
    );
    // The legacy protocol shares the limit.
    let big_legacy = format!(
        r#"{{"method":"list_tools","params":{{"pad":"{}"}}}}"#,
        "x".repeat(300)
    );
    let reply = post_raw(&format!("{}/", gateway.url), big_legacy, &[]).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"]["code"], json!("payload_too_large"));
}

#[tokio::test]
async fn a_chunked_body_over_max_body_bytes_is_413() {
    let yaml = format!("server: {{ max_body_bytes: 256 }}\n{TOOLS}");
    let gateway = start_gateway(&yaml, &[]).await;
    // No Content-Length: the limit is enforced while reading. One chunk, so the whole body is
    // on the wire before the answer (no reset race).
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(ping_of_len(400))];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let reply = post_raw(&gateway.mcp_url(), body, &[]).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], json!("payload_too_large"));
}

#[tokio::test]
async fn malformed_json_is_400_with_a_parse_error() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for body in [r#"{"jsonrpc":"2.0","id":1,"#, "not json", ""] {
        let reply = post_raw(&gateway.mcp_url(), body, &[]).await;
        assert_eq!(reply.status, 400, "{body:?}: {}", reply.body);
        let reply = reply.json();
        assert_eq!(reply["jsonrpc"], json!("2.0"));
        assert_eq!(reply["id"], Value::Null);
        assert_eq!(reply["error"]["code"], json!(-32700));
        assert_eq!(reply["error"]["data"]["code"], json!("invalid_request"));
    }
}

#[tokio::test]
async fn batches_are_refused_from_2025_06_18_and_answered_for_2025_03_26() {
    let gateway = start_gateway(TOOLS, &[]).await;
    let batch = json!([
        ping(1),
        { "jsonrpc": "2.0", "method": "notifications/initialized" },
        { "jsonrpc": "2.0", "id": 2, "method": "tools/list" },
    ]);
    for version in ["2025-06-18", "2025-11-25"] {
        let reply = post(
            &gateway,
            batch.clone(),
            &[("MCP-Protocol-Version", version)],
        )
        .await;
        assert_eq!(reply.status, 400, "{version}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], json!(-32600));
    }
    let reply = post(&gateway, batch, &[("MCP-Protocol-Version", "2025-03-26")]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let replies = reply.json();
    let replies = replies.as_array().expect("an array of replies");
    assert_eq!(
        replies.len(),
        2,
        "no reply to the notification: {replies:?}"
    );
    assert_eq!(
        replies[0],
        json!({ "jsonrpc": "2.0", "id": 1, "result": {} })
    );
    assert_eq!(replies[1]["id"], json!(2));
    assert_eq!(replies[1]["result"]["tools"][0]["name"], json!("get_item"));

    // A batch of notifications only: nothing to answer.
    let notifications = json!([{ "jsonrpc": "2.0", "method": "notifications/initialized" }]);
    let reply = post(
        &gateway,
        notifications,
        &[("MCP-Protocol-Version", "2025-03-26")],
    )
    .await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.body, "");
}

#[tokio::test]
async fn a_wrong_jsonrpc_version_is_invalid_request() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for version in [json!("1.0"), json!(2.0), Value::Null] {
        let reply = post(
            &gateway,
            json!({ "jsonrpc": version, "id": 4, "method": "ping" }),
            &[],
        )
        .await;
        assert_eq!(reply.status, 400, "{version}: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["id"], json!(4));
        assert_eq!(body["error"]["code"], json!(-32600));
    }
}

#[tokio::test]
async fn a_null_or_fractional_id_is_invalid_request() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for id in [Value::Null, json!(1.5), json!({ "a": 1 })] {
        let reply = post(
            &gateway,
            json!({ "jsonrpc": "2.0", "id": id, "method": "ping" }),
            &[],
        )
        .await;
        assert_eq!(reply.status, 400, "{id}: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["id"], Value::Null);
        assert_eq!(body["error"]["code"], json!(-32600));
    }
}

#[tokio::test]
async fn an_unknown_method_is_method_not_found() {
    let gateway = start_gateway(TOOLS, &[]).await;
    let reply = post(
        &gateway,
        json!({ "jsonrpc": "2.0", "id": "m", "method": "resources/subscribe" }),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["id"], json!("m"));
    assert_eq!(body["error"]["code"], json!(-32601));
    assert_eq!(body["error"]["data"]["code"], json!("invalid_request"));
}

#[tokio::test]
async fn get_mcp_opens_an_sse_stream_or_is_405() {
    let gateway = start_gateway(TOOLS, &[]).await;
    let mut response = client()
        .get(gateway.mcp_url())
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let first = response.chunk().await.unwrap().expect("the stream opens");
    assert_eq!(&first[..], b": toolgate stream open\n\n");
    drop(response);

    // A client that does not take SSE gets 405.
    let response = client()
        .get(gateway.mcp_url())
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response.headers().get("allow").unwrap().to_str().unwrap(),
        "POST, DELETE"
    );
}

#[tokio::test]
async fn a_client_response_message_is_accepted_with_202() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for message in [
        json!({ "jsonrpc": "2.0", "id": 5, "result": {} }),
        json!({ "jsonrpc": "2.0", "id": "s-1", "error": { "code": -32601, "message": "no" } }),
    ] {
        let reply = post(&gateway, message.clone(), &[]).await;
        assert_eq!(reply.status, 202, "{message}: {}", reply.body);
        assert_eq!(reply.body, "");
    }
}

#[tokio::test]
async fn every_mcp_path_answers_the_same() {
    let gateway = start_gateway(TOOLS, &[]).await;
    for path in ["/", "/mcp", "/v1", "/v1/mcp"] {
        let url = format!("{}{path}", gateway.url);
        let reply = post_raw(
            &url,
            json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }).to_string(),
            &[],
        )
        .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(
            reply.json()["result"]["tools"][0]["name"],
            json!("get_item"),
            "{path}"
        );
        let reply = post_raw(
            &url,
            ping(1).to_string(),
            &[("MCP-Protocol-Version", "1999-01-01")],
        )
        .await;
        assert_eq!(reply.status, 400, "{path}");
        let reply = post_raw(
            &url,
            ping(1).to_string(),
            &[("Origin", "http://evil.example.com")],
        )
        .await;
        assert_eq!(reply.status, 403, "{path}");
        let reply = post_raw(&url, "{", &[]).await;
        assert_eq!(reply.status, 400, "{path}");
        assert_eq!(reply.json()["error"]["code"], json!(-32700), "{path}");
        let reply = post_raw(
            &url,
            json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }).to_string(),
            &[],
        )
        .await;
        assert_eq!(reply.status, 202, "{path}");
        let response = client().get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 405, "{path}");
        let response = client().delete(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{path}");
    }
}
