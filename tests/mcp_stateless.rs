//! The stateless 2026-07-28 revision over real sockets, served from the same endpoint as the
//! handshake revisions: `server/discover`, the per-request `_meta` envelope, the headers that
//! must mirror it (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`),
//! `UnsupportedProtocolVersion`, 404 for methods it does not have, `resultType` / server
//! identity / caching hints on results, no sessions and no GET.

mod common;

use common::{GatewayUnderTest, Upstream, client, serve_reloadable, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
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
  - name: region_items
    description: Items of a region; the region travels in a header too.
    input_schema:
      type: object
      properties:
        region: { type: string, x-mcp-header: Region }
        limit: { type: integer, x-mcp-header: Limit }
      required: [ region ]
    request: { upstream: api, path: "/regions/{{args.region}}", query: { limit: "{{args.limit}}" } }
resources:
  - uri: crm://segments
    name: Segments
    request: { upstream: api, path: /segments }
"#;

const V: &str = "2026-07-28";

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

/// The per-request envelope.
fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "stateless-test", "version": "1.0" },
    })
}

fn request(id: i64, method: &str, mut params: Value) -> Value {
    if params.get("_meta").is_none() {
        params["_meta"] = meta();
    }
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

struct Reply {
    status: u16,
    session: Option<String>,
    body: Value,
}

/// POSTs `body` with exactly `headers` (plus content type and accept).
async fn post_raw(gateway: &GatewayUnderTest, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut builder = client()
        .post(gateway.mcp_url())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
    };
    Reply {
        status,
        session,
        body,
    }
}

/// POSTs a request with the headers a conforming client sends.
async fn post(gateway: &GatewayUnderTest, body: Value) -> Reply {
    let method = body["method"].as_str().unwrap().to_owned();
    let name = body["params"]["name"]
        .as_str()
        .or(body["params"]["uri"].as_str())
        .map(str::to_owned);
    let mut headers = vec![("MCP-Protocol-Version", V), ("Mcp-Method", method.as_str())];
    if let Some(name) = &name {
        headers.push(("Mcp-Name", name.as_str()));
    }
    post_raw(gateway, &body, &headers).await
}

#[tokio::test]
async fn discover_names_versions_capabilities_and_identity() {
    let (_upstream, gateway) = setup().await;
    let reply = post(&gateway, request(1, "server/discover", json!({}))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.session, None);
    let result = &reply.body["result"];
    assert_eq!(
        result["supportedVersions"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"])
    );
    assert_eq!(
        result["capabilities"]["tools"],
        json!({ "listChanged": true })
    );
    assert_eq!(result["resultType"], json!("complete"));
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"],
        json!({ "name": "toolgate", "title": "toolgate", "version": env!("CARGO_PKG_VERSION") })
    );
    // clientInfo is optional.
    let mut without_info = request(2, "server/discover", json!({}));
    without_info["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientInfo");
    let reply = post(&gateway, without_info).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn results_carry_result_type_server_info_and_caching_hints() {
    let (_upstream, gateway) = setup().await;
    for (method, params, key) in [
        ("tools/list", json!({}), "tools"),
        ("resources/list", json!({}), "resources"),
        ("resources/templates/list", json!({}), "resourceTemplates"),
        (
            "resources/read",
            json!({ "uri": "crm://segments" }),
            "contents",
        ),
    ] {
        let reply = post(&gateway, request(3, method, params)).await;
        assert_eq!(reply.status, 200, "{method}: {}", reply.body);
        let result = &reply.body["result"];
        assert!(result[key].is_array(), "{method}: {result}");
        assert_eq!(result["resultType"], json!("complete"), "{method}");
        assert_eq!(result["ttlMs"], json!(0), "{method}");
        let scope = if method == "resources/read" {
            "private"
        } else {
            "public"
        };
        assert_eq!(result["cacheScope"], json!(scope), "{method}");
        assert_eq!(
            result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            json!("toolgate"),
            "{method}"
        );
    }
    let reply = post(
        &gateway,
        request(
            4,
            "tools/call",
            json!({ "name": "get_item", "arguments": { "id": "7" } }),
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let result = &reply.body["result"];
    assert_eq!(result["isError"], json!(false));
    assert_eq!(result["resultType"], json!("complete"));
    assert_eq!(result["structuredContent"]["uri"], json!("/items/7"));
    assert!(
        result.get("ttlMs").is_none(),
        "tool results are not cacheable"
    );
}

#[tokio::test]
async fn a_missing_or_incomplete_envelope_is_400_invalid_params() {
    let (_upstream, gateway) = setup().await;
    let mut no_version = meta();
    no_version
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/protocolVersion");
    let mut no_capabilities = meta();
    no_capabilities
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    for (id, params) in [
        (10, json!({})),
        (11, json!({ "_meta": no_version })),
        (12, json!({ "_meta": no_capabilities })),
        (13, json!({ "_meta": "nope" })),
    ] {
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params });
        let reply = post(&gateway, body).await;
        assert_eq!(reply.status, 400, "{id}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], json!(-32602), "{id}");
        assert_eq!(reply.body["id"], json!(id), "errors echo the request id");
    }
}

#[tokio::test]
async fn headers_that_disagree_with_the_body_are_400_header_mismatch() {
    let (_upstream, gateway) = setup().await;
    let list = request(20, "tools/list", json!({}));
    let call = request(
        21,
        "tools/call",
        json!({ "name": "get_item", "arguments": { "id": "1" } }),
    );
    let cases: [(&Value, Vec<(&str, &str)>); 8] = [
        // Version header missing, or not the envelope's.
        (&list, vec![("Mcp-Method", "tools/list")]),
        (
            &list,
            vec![
                ("MCP-Protocol-Version", "2025-11-25"),
                ("Mcp-Method", "tools/list"),
            ],
        ),
        // Method header missing, another method, another case.
        (&list, vec![("MCP-Protocol-Version", V)]),
        (
            &list,
            vec![("MCP-Protocol-Version", V), ("Mcp-Method", "prompts/list")],
        ),
        (
            &list,
            vec![("MCP-Protocol-Version", V), ("Mcp-Method", "TOOLS/LIST")],
        ),
        // Name header missing or another name.
        (
            &call,
            vec![("MCP-Protocol-Version", V), ("Mcp-Method", "tools/call")],
        ),
        (
            &call,
            vec![
                ("MCP-Protocol-Version", V),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "other_tool"),
            ],
        ),
        (
            &call,
            vec![
                ("MCP-Protocol-Version", V),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?b3RoZXI=?="),
            ],
        ),
    ];
    for (body, headers) in cases {
        let reply = post_raw(&gateway, body, &headers).await;
        assert_eq!(reply.status, 400, "{headers:?}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], json!(-32020), "{headers:?}");
        assert_eq!(reply.body["id"], body["id"]);
    }
    // Header names are case-insensitive, values trimmed, and a base64 name decoded.
    for headers in [
        vec![
            ("mcp-protocol-version", V),
            ("MCP-METHOD", "tools/call"),
            ("mcp-name", "  get_item  "),
        ],
        vec![
            ("MCP-Protocol-Version", V),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "=?base64?Z2V0X2l0ZW0=?="),
        ],
    ] {
        let reply = post_raw(&gateway, &call, &headers).await;
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.body);
        assert_eq!(reply.body["result"]["isError"], json!(false));
    }
}

#[tokio::test]
async fn mcp_param_headers_must_mirror_annotated_arguments() {
    let (upstream, gateway) = setup().await;
    let call = |arguments: Value| {
        request(
            30,
            "tools/call",
            json!({ "name": "region_items", "arguments": arguments }),
        )
    };
    let base = [
        ("MCP-Protocol-Version", V),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "region_items"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut headers = base.to_vec();
        headers.extend_from_slice(extra);
        headers
    };
    let accepted: [(Value, Vec<(&str, &str)>); 4] = [
        (
            json!({ "region": "eu" }),
            with(&[("Mcp-Param-Region", "eu")]),
        ),
        (
            json!({ "region": "Hello" }),
            with(&[("Mcp-Param-Region", "=?base64?SGVsbG8=?=")]),
        ),
        // Integers compare numerically.
        (
            json!({ "region": "eu", "limit": 42 }),
            with(&[("Mcp-Param-Region", "eu"), ("mcp-param-limit", "42.0")]),
        ),
        // A value that merely looks like base64 is literal.
        (
            json!({ "region": "SGVsbG8=" }),
            with(&[("Mcp-Param-Region", "SGVsbG8=")]),
        ),
    ];
    for (arguments, headers) in accepted {
        let reply = post_raw(&gateway, &call(arguments.clone()), &headers).await;
        assert_eq!(reply.status, 200, "{arguments}: {}", reply.body);
        assert!(reply.body.get("error").is_none(), "{}", reply.body);
    }
    let sent = upstream.requests().len();
    let refused: [(Value, Vec<(&str, &str)>); 6] = [
        // Value in the body, header missing.
        (json!({ "region": "eu" }), with(&[])),
        // Header and body disagree.
        (
            json!({ "region": "eu" }),
            with(&[("Mcp-Param-Region", "us")]),
        ),
        // Bad base64: no padding, or characters outside the alphabet.
        (
            json!({ "region": "Hello" }),
            with(&[("Mcp-Param-Region", "=?base64?SGVsbG8?=")]),
        ),
        (
            json!({ "region": "Hello" }),
            with(&[("Mcp-Param-Region", "=?base64?SGVs!!!bG8=?=")]),
        ),
        // A header without its value.
        (
            json!({ "region": "eu" }),
            with(&[("Mcp-Param-Region", "eu"), ("Mcp-Param-Limit", "3")]),
        ),
        (
            json!({ "region": "eu", "limit": 4 }),
            with(&[("Mcp-Param-Region", "eu"), ("Mcp-Param-Limit", "4.5")]),
        ),
    ];
    for (arguments, headers) in refused {
        let reply = post_raw(&gateway, &call(arguments.clone()), &headers).await;
        assert_eq!(reply.status, 400, "{arguments} {headers:?}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], json!(-32020));
    }
    assert_eq!(
        upstream.requests().len(),
        sent,
        "nothing refused reached the upstream"
    );
}

#[tokio::test]
async fn an_unsupported_version_is_400_naming_the_supported_ones() {
    let (_upstream, gateway) = setup().await;
    let mut body = request(40, "tools/list", json!({}));
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let reply = post_raw(
        &gateway,
        &body,
        &[
            ("MCP-Protocol-Version", "v999.0.0"),
            ("Mcp-Method", "tools/list"),
        ],
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = &reply.body["error"];
    assert_eq!(error["code"], json!(-32022));
    assert_eq!(
        error["data"]["supported"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"])
    );
    assert_eq!(error["data"]["requested"], json!("v999.0.0"));
    assert_eq!(reply.body["id"], json!(40));
    // A header version that is not the envelope's is a mismatch first.
    let reply = post_raw(
        &gateway,
        &body,
        &[("MCP-Protocol-Version", V), ("Mcp-Method", "tools/list")],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["code"], json!(-32020));
}

#[tokio::test]
async fn methods_this_revision_lacks_are_404_method_not_found() {
    let (_upstream, gateway) = setup().await;
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "unknown/method",
    ] {
        let reply = post(&gateway, request(50, method, json!({}))).await;
        assert_eq!(reply.status, 404, "{method}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], json!(-32601), "{method}");
        assert_eq!(reply.body["id"], json!(50), "{method}");
    }
}

#[tokio::test]
async fn errors_map_to_their_statuses() {
    let (_upstream, gateway) = setup().await;
    // An unknown tool is invalid params: 400.
    let reply = post(
        &gateway,
        request(60, "tools/call", json!({ "name": "nope", "arguments": {} })),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], json!(-32602));
    assert_eq!(reply.body["error"]["data"]["code"], json!("tool_not_found"));
    // An unknown resource: -32602 (not -32002 as before 2026-07-28) with the uri.
    let reply = post(
        &gateway,
        request(61, "resources/read", json!({ "uri": "crm://nothing" })),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], json!(-32602));
    assert_eq!(reply.body["error"]["data"]["uri"], json!("crm://nothing"));
    // Bad arguments are a tool result the model can act on: 200.
    let reply = post(
        &gateway,
        request(
            62,
            "tools/call",
            json!({ "name": "get_item", "arguments": {} }),
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["result"]["isError"], json!(true));
    // A batch or a posted response is not a request of this revision.
    for body in [
        json!([request(63, "tools/list", json!({}))]),
        json!({ "jsonrpc": "2.0", "id": 64, "result": {} }),
    ] {
        let reply = post_raw(
            &gateway,
            &body,
            &[("MCP-Protocol-Version", V), ("Mcp-Method", "tools/list")],
        )
        .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], json!(-32600));
    }
}

#[tokio::test]
async fn there_are_no_sessions_and_no_get_stream() {
    let (_upstream, gateway) = setup().await;
    // A session id (from the other era) is ignored, never minted or echoed.
    let reply = post_raw(
        &gateway,
        &request(70, "tools/list", json!({})),
        &[
            ("MCP-Protocol-Version", V),
            ("Mcp-Method", "tools/list"),
            ("Mcp-Session-Id", "not-a-session"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.session, None);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = client()
            .request(method.clone(), gateway.mcp_url())
            .header("Accept", "text/event-stream")
            .header("MCP-Protocol-Version", V)
            .header("Mcp-Session-Id", "x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST");
    }
    // A notification is accepted (202); a version nobody serves is not.
    let note = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": 1 } });
    let reply = post_raw(&gateway, &note, &[("MCP-Protocol-Version", V)]).await;
    assert_eq!(reply.status, 202);
}

#[tokio::test]
async fn subscriptions_listen_acknowledges_then_streams_list_changes() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let yaml = CONFIG.replace("${API}", &upstream.url());
    std::fs::write(&path, &yaml).unwrap();
    let (gateway, reloader) = serve_reloadable(&path).await;
    let body = request(
        80,
        "subscriptions/listen",
        json!({ "notifications": { "toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true } }),
    );
    let mut response = client()
        .post(gateway.mcp_url())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", V)
        .header("Mcp-Method", "subscriptions/listen")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = String::from_utf8(response.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    let data: Value = serde_json::from_str(
        first
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("an event"),
    )
    .unwrap();
    assert_eq!(
        data["method"],
        json!("notifications/subscriptions/acknowledged")
    );
    // Only what the server can honour is acknowledged (resource lists are static).
    assert_eq!(
        data["params"]["notifications"],
        json!({ "toolsListChanged": true, "promptsListChanged": true })
    );
    assert_eq!(
        data["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        json!(80)
    );
    // A reload that changes the tool list is announced on the stream.
    std::fs::write(
        &path,
        yaml.replacen(
            "resources:",
            "  - name: added\n    description: Added later.\n    request: { upstream: api, path: /added }\nresources:",
            1,
        ),
    )
    .unwrap();
    assert!(matches!(
        reloader.reload().await,
        toolgate::reload::Outcome::Applied {
            tools_changed: true,
            ..
        }
    ));
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), response.chunk())
        .await
        .expect("a notification in time")
        .unwrap()
        .unwrap();
    let next = String::from_utf8(next.to_vec()).unwrap();
    assert!(
        next.contains("notifications/tools/list_changed")
            && next.contains("\"io.modelcontextprotocol/subscriptionId\":80"),
        "{next}"
    );
}
