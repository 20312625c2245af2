//! The MCP session lifecycle over real sockets: version negotiation in `initialize`, session ids
//! (issued, honoured across replicas, ended by `DELETE`, unknown ones → 404), optional sessions,
//! `notifications/initialized` → 202, `server/discover` for dual-era clients (answered: the
//! server speaks 2026-07-28 too), and `ping`.

mod common;

use common::{GatewayUnderTest, client, start_gateway};
use serde_json::{Value, json};

const CONFIG: &str = r#"
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

/// The answer to one POST: status, `Mcp-Session-Id` (if any), raw body.
struct Reply {
    status: u16,
    session: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// POSTs `body` to `/mcp` with extra headers.
async fn post(gateway: &GatewayUnderTest, body: Value, headers: &[(&str, &str)]) -> Reply {
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().expect("session id is visible ASCII").to_owned());
    let body = response.text().await.unwrap();
    Reply {
        status,
        session,
        body,
    }
}

fn initialize_request(version: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": { "name": "lifecycle-test", "version": "1.0" },
        },
    })
}

/// Runs `initialize` and returns the reply.
async fn initialize(gateway: &GatewayUnderTest, version: &str) -> Reply {
    post(gateway, initialize_request(version), &[]).await
}

fn tools_list(id: i64) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/list" })
}

#[tokio::test]
async fn initialize_echoes_every_supported_version() {
    let gateway = start_gateway(CONFIG, &[]).await;
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let reply = initialize(&gateway, version).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["jsonrpc"], json!("2.0"));
        assert_eq!(body["id"], json!(1));
        assert_eq!(body["result"]["protocolVersion"], json!(version));
        assert_eq!(body["result"]["serverInfo"]["name"], json!("toolgate"));
        assert_eq!(
            body["result"]["serverInfo"]["version"],
            json!(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            body["result"]["capabilities"]["tools"],
            json!({ "listChanged": true })
        );
        assert_eq!(body["result"]["capabilities"]["resources"], json!({}));
        assert_eq!(body["result"]["capabilities"]["logging"], json!({}));
    }
}

#[tokio::test]
async fn initialize_answers_the_latest_version_for_an_unknown_one() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let reply = initialize(&gateway, "2099-01-01").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["result"]["protocolVersion"], json!("2025-11-25"));
    assert!(body.get("error").is_none(), "{body}");
}

#[tokio::test]
async fn initialize_issues_a_visible_ascii_session_id_unique_per_session() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let first = initialize(&gateway, "2025-11-25").await.session.unwrap();
    let second = initialize(&gateway, "2025-11-25").await.session.unwrap();
    for id in [&first, &second] {
        assert!(!id.is_empty());
        assert!(
            id.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "not visible ASCII: {id:?}"
        );
    }
    assert_ne!(first, second);
    // Only initialize issues one.
    let reply = post(&gateway, tools_list(2), &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.session, None);
}

#[tokio::test]
async fn initialized_notification_is_accepted_with_an_empty_202() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let session = initialize(&gateway, "2025-11-25").await.session.unwrap();
    let notification = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let reply = post(
        &gateway,
        notification.clone(),
        &[
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
    )
    .await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.body, "");
    // Without a session too.
    let reply = post(&gateway, notification, &[]).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.body, "");
}

#[tokio::test]
async fn requests_with_the_issued_session_id_work() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let session = initialize(&gateway, "2025-06-18").await.session.unwrap();
    let headers = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-06-18"),
    ];
    let reply = post(&gateway, tools_list(2), &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["id"], json!(2));
    assert_eq!(body["result"]["tools"][0]["name"], json!("get_item"));
    // The session's version applies when the header is left out.
    let reply = post(&gateway, tools_list(3), &[("Mcp-Session-Id", &session)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["id"], json!(3));
}

#[tokio::test]
async fn a_made_up_or_tampered_session_id_is_404() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let reply = post(
        &gateway,
        tools_list(2),
        &[("Mcp-Session-Id", "made-up-session-0123456789")],
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], json!(-32600));

    let real = initialize(&gateway, "2025-11-25").await.session.unwrap();
    // Claim another protocol version than the one the id was issued for.
    let tampered = real.replace(".2025-11-25.", ".2025-03-26.");
    assert_ne!(tampered, real);
    let reply = post(&gateway, tools_list(3), &[("Mcp-Session-Id", &tampered)]).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[tokio::test]
async fn delete_ends_a_session_and_later_requests_with_it_get_404() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let session = initialize(&gateway, "2025-11-25").await.session.unwrap();
    let delete = || {
        client()
            .delete(gateway.mcp_url())
            .header("Mcp-Session-Id", &session)
            .send()
    };
    let response = delete().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(response.text().await.unwrap(), "");

    let reply = post(&gateway, tools_list(2), &[("Mcp-Session-Id", &session)]).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    let notification = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let reply = post(&gateway, notification, &[("Mcp-Session-Id", &session)]).await;
    assert_eq!(reply.status, 404);
    // Opening the event stream with it too.
    let response = client()
        .get(gateway.mcp_url())
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    // Ending it again: it is unknown now.
    assert_eq!(delete().await.unwrap().status().as_u16(), 404);

    // The client re-initializes without the header and carries on with a new session.
    let fresh = initialize(&gateway, "2025-11-25").await.session.unwrap();
    assert_ne!(fresh, session);
    let reply = post(&gateway, tools_list(3), &[("Mcp-Session-Id", &fresh)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn delete_without_a_session_id_is_400() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let response = client().delete(gateway.mcp_url()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("invalid_request"));
}

#[tokio::test]
async fn requests_without_a_session_id_work() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let reply = post(&gateway, tools_list(9), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["id"], json!(9));
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 1);
    let reply = post(
        &gateway,
        tools_list(10),
        &[("MCP-Protocol-Version", "2025-11-25")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_session_issued_by_one_replica_is_accepted_by_another() {
    let signed = format!("server: {{ session_secret: shared-replica-key }}\n{CONFIG}");
    let a = start_gateway(&signed, &[]).await;
    let b = start_gateway(&signed, &[]).await;
    let session = initialize(&a, "2025-11-25").await.session.unwrap();
    let reply = post(&b, tools_list(2), &[("Mcp-Session-Id", &session)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["result"]["tools"][0]["name"],
        json!("get_item")
    );

    // A replica with another secret does not recognise it.
    let other = start_gateway(
        &format!("server: {{ session_secret: another-key }}\n{CONFIG}"),
        &[],
    )
    .await;
    let reply = post(&other, tools_list(3), &[("Mcp-Session-Id", &session)]).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}

#[tokio::test]
async fn server_discover_answers_for_the_stateless_revision_and_initialize_still_works() {
    let gateway = start_gateway(CONFIG, &[]).await;
    // Without the per-request envelope discover is a malformed 2026-07-28 request.
    let bare = json!({ "jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {} });
    let reply = post(&gateway, bare, &[]).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], json!(-32602));
    assert_eq!(reply.json()["id"], json!(1));

    // The probe as the Python SDK 2.x sends it: answered, so that client stays stateless.
    let discover = json!({
        "jsonrpc": "2.0", "id": 2, "method": "server/discover",
        "params": { "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": { "name": "lifecycle-test", "version": "1.0" },
        } },
    });
    let reply = post(
        &gateway,
        discover,
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "server/discover"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.session, None, "no sessions in 2026-07-28");
    let result = &reply.json()["result"];
    assert_eq!(
        result["supportedVersions"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"])
    );
    assert_eq!(
        result["capabilities"],
        json!({
            "tools": { "listChanged": true }, "prompts": { "listChanged": true }, "completions": {},
            "resources": {}, "logging": {},
            "extensions": { "io.modelcontextprotocol/tasks": {} },
        })
    );
    assert_eq!(result["resultType"], json!("complete"));
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        json!("toolgate")
    );
    assert_eq!(result["ttlMs"], json!(0));
    assert_eq!(result["cacheScope"], json!("public"));

    // A handshake-era client still initializes (offering 2026-07-28 in initialize gets the
    // newest handshake revision).
    let reply = initialize(&gateway, "2026-07-28").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["result"]["protocolVersion"],
        json!("2025-11-25")
    );
    assert!(reply.session.is_some());
}

#[tokio::test]
async fn ping_answers_an_empty_object() {
    let gateway = start_gateway(CONFIG, &[]).await;
    let reply = post(
        &gateway,
        json!({ "jsonrpc": "2.0", "id": "p-1", "method": "ping" }),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({ "jsonrpc": "2.0", "id": "p-1", "result": {} })
    );
    let session = initialize(&gateway, "2025-11-25").await.session.unwrap();
    let reply = post(
        &gateway,
        json!({ "jsonrpc": "2.0", "id": 8, "method": "ping" }),
        &[("Mcp-Session-Id", &session)],
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({ "jsonrpc": "2.0", "id": 8, "result": {} })
    );
}
