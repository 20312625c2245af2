//! Property tests with hostile input: arbitrary bytes and arbitrary (JSON-RPC-shaped or legacy)
//! JSON posted to `/mcp` and `/` always get a well-formed JSON-RPC or legacy answer and never
//! take the server down; arbitrary argument strings rendered into path, query and header
//! templates either are refused with `invalid_parameters` or yield a request that stays on the
//! upstream's scheme, host, port and path prefix, with one path segment per placeholder and no
//! CR, LF or NUL in any header.

mod common;

use common::{GatewayUnderTest, start_gateway, start_upstream};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;
use std::time::Duration;
use toolgate::caller::Caller;
use toolgate::error::ErrorCode;

const CASES: u32 = 256;

/// The error codes of CONTRACT §4 and the legacy status of each.
const CODES: [(&str, u16); 10] = [
    ("invalid_request", 400),
    ("tool_not_found", 404),
    ("invalid_parameters", 400),
    ("unauthorized", 401),
    ("forbidden", 403),
    ("payload_too_large", 413),
    ("rate_limit_exceeded", 429),
    ("upstream_error", 502),
    ("upstream_timeout", 504),
    ("internal_error", 500),
];

const GATEWAY_YAML: &str = r#"
server: { max_body_bytes: 65536 }
upstreams:
  api: { base_url: "${API}", timeout: 2s }
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties:
        id: { type: string }
        q: { type: string }
        h: { type: string }
      required: [ id ]
    request:
      upstream: api
      path: "/items/{{args.id}}"
      query: { q: "{{args.q}}" }
      headers: { X-Arg: "{{args.h}}" }
  - name: create_item
    description: Create an item.
    input_schema:
      type: object
      properties:
        name: { type: string, maxLength: 64 }
        count: { type: integer, minimum: 0 }
        tags: { type: array, items: { type: string } }
      required: [ name ]
      additionalProperties: false
    request:
      upstream: api
      method: POST
      path: /items
      body: { name: "{{args.name}}", count: "{{args.count}}", tags: "{{args.tags}}" }
"#;

/// One gateway (and its recording upstream) shared by every case, on its own runtime.
struct Shared {
    runtime: tokio::runtime::Runtime,
    gateway: GatewayUnderTest,
    client: reqwest::Client,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let gateway = runtime.block_on(async {
        let upstream = start_upstream().await;
        let url = upstream.url();
        // The upstream lives as long as the runtime.
        std::mem::forget(upstream);
        start_gateway(GATEWAY_YAML, &[("API", &url)]).await
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Shared {
        runtime,
        gateway,
        client,
    }
});

/// Posts `body` to `path` with optional extra headers; returns (status, request-id header,
/// body bytes). Panics if the server does not answer at all.
fn post(
    path: &str,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> (u16, Option<String>, Vec<u8>) {
    let shared = &*SHARED;
    shared.runtime.block_on(async {
        let mut request = shared
            .client
            .post(format!("{}{path}", shared.gateway.url))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let response = request.send().await.expect("the server answered");
        let status = response.status().as_u16();
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.expect("a whole body").to_vec();
        (status, id, bytes)
    })
}

fn health_ok() -> bool {
    let shared = &*SHARED;
    shared.runtime.block_on(async {
        shared
            .client
            .get(format!("{}/health", shared.gateway.url))
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
    })
}

fn known_code(code: &Value) -> Option<u16> {
    CODES
        .iter()
        .find(|(name, _)| Some(*name) == code.as_str())
        .map(|(_, status)| *status)
}

/// A JSON-RPC 2.0 response (not a request or notification).
fn check_rpc(message: &Value) -> Result<(), String> {
    let object = message
        .as_object()
        .ok_or("a JSON-RPC reply is not an object")?;
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err("jsonrpc is not \"2.0\"".into());
    }
    let id = object.get("id").ok_or("no id")?;
    // JSON-RPC 2.0: an id is a string, a number or null.
    let valid_id = id.is_null() || id.is_string() || id.is_number();
    if !valid_id {
        return Err(format!("bad id {id}"));
    }
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => Ok(()),
        (None, Some(error)) => {
            if !error["code"].is_i64() || !error["message"].is_string() {
                return Err(format!("malformed error {error}"));
            }
            if let Some(code) = error.get("data").and_then(|d| d.get("code"))
                && known_code(code).is_none()
            {
                return Err(format!("unknown data.code {code}"));
            }
            Ok(())
        }
        _ => Err("not exactly one of result and error".into()),
    }
}

/// The answer is one of: 202 with no body, a JSON-RPC reply or batch of replies, or a legacy
/// answer (`tools`, `result`, or `error` with a known code and its documented status).
fn check_answer(status: u16, request_id: Option<&str>, body: &[u8]) -> Result<(), String> {
    match request_id {
        Some(id) if !id.is_empty() && id.len() <= 128 => {}
        other => return Err(format!("X-Request-Id {other:?}")),
    }
    if ![
        200, 202, 400, 401, 403, 404, 405, 406, 413, 415, 429, 502, 504,
    ]
    .contains(&status)
    {
        return Err(format!("unexpected status {status}"));
    }
    if status == 202 {
        return if body.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err("202 with a body".into())
        };
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    if value.get("jsonrpc").is_some() {
        return check_rpc(&value);
    }
    if let Value::Array(replies) = &value {
        if replies.is_empty() {
            return Err("an empty batch reply".into());
        }
        return replies.iter().try_for_each(check_rpc);
    }
    let object = value.as_object().ok_or("the answer is not an object")?;
    if let Some(error) = object.get("error") {
        let expected = known_code(&error["code"]).ok_or(format!("unknown code in {error}"))?;
        if !error["message"].is_string() {
            return Err(format!("no message in {error}"));
        }
        if expected != status {
            return Err(format!("{} answered with {status}", error["code"]));
        }
        return Ok(());
    }
    if status != 200 {
        return Err(format!("a non-error answer with {status}"));
    }
    if object.contains_key("tools") || object.contains_key("result") {
        Ok(())
    } else {
        Err("neither tools, result nor error".into())
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,12}", inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Strings built from fragments that have broken URL, header and path handling elsewhere.
fn hostile_string() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "..",
        ".",
        "%2e",
        "%2E%2e",
        "/",
        "\\",
        "\r\n",
        "\r",
        "\n",
        "\0",
        "@",
        "//evil.example.com",
        "http://x",
        "?",
        "#",
        "&",
        "=",
        ";",
        " ",
        "\t",
        "é",
        "𝄞",
        "\u{202e}",
        "%",
        "%00",
        "..%2f",
        "%2f",
        "~",
        "+",
        ":",
        "[::1]",
        "\u{7f}",
        "\u{85}",
        "\u{2028}",
        "${HOME}",
        "{{args.id}}",
        "a",
        "Z",
        "0",
    ]);
    prop::collection::vec(fragment, 0..8).prop_map(|parts| parts.concat())
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), hostile_string(), ".{0,16}"]
}

fn arb_id() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        any::<i64>().prop_map(|n| Some(json!(n))),
        ".{0,8}".prop_map(|s| Some(json!(s))),
        Just(Some(Value::Null)),
        Just(Some(json!(1.5))),
        Just(Some(json!({ "id": 1 }))),
    ]
}

/// A message that looks like JSON-RPC, with every member possibly wrong.
fn rpc_like() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        prop::sample::select(vec![
            "initialize",
            "ping",
            "tools/list",
            "tools/call",
            "resources/list",
            "resources/read",
            "resources/templates/list",
            "notifications/initialized",
            "server/discover",
            "list_tools",
            "call_tool",
        ])
        .prop_map(|m| json!(m)),
        arb_string().prop_map(Value::String),
        arb_json(),
    ];
    let params = prop_oneof![
        arb_json(),
        (
            prop_oneof![
                Just(json!("get_item")),
                Just(json!("create_item")),
                arb_string().prop_map(Value::String),
                arb_json()
            ],
            arb_json(),
            arb_json()
        )
            .prop_map(|(name, arguments, cursor)| json!({
                "name": name, "arguments": arguments, "cursor": cursor,
                "uri": "x://y", "protocolVersion": "2025-06-18",
            })),
        (arb_string(), arb_string(), arb_string()).prop_map(|(id, q, h)| json!({
            "name": "get_item", "arguments": { "id": id, "q": q, "h": h },
        })),
    ];
    let jsonrpc = prop_oneof![
        4 => Just(Some(json!("2.0"))),
        1 => Just(None),
        1 => arb_json().prop_map(Some),
    ];
    (jsonrpc, arb_id(), method, prop::option::of(params)).prop_map(
        |(jsonrpc, id, method, params)| {
            let mut message = Map::new();
            if let Some(v) = jsonrpc {
                message.insert("jsonrpc".into(), v);
            }
            if let Some(v) = id {
                message.insert("id".into(), v);
            }
            message.insert("method".into(), method);
            if let Some(v) = params {
                message.insert("params".into(), v);
            }
            Value::Object(message)
        },
    )
}

/// A message in the legacy protocol, with every member possibly wrong.
fn legacy_like() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        Just(json!("list_tools")),
        Just(json!("call_tool")),
        arb_json()
    ];
    let tool = prop_oneof![
        Just(json!("get_item")),
        Just(json!("create_item")),
        arb_json()
    ];
    (method, tool, arb_json(), prop::option::of(any::<bool>())).prop_map(
        |(method, tool, arguments, stream)| {
            let mut params = json!({ "tool_name": tool, "arguments": arguments });
            if let Some(stream) = stream {
                params["stream"] = json!(stream);
            }
            json!({ "method": method, "params": params })
        },
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        arb_json().prop_map(|v| v.to_string().into_bytes()),
        rpc_like().prop_map(|v| v.to_string().into_bytes()),
        legacy_like().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(rpc_like(), 0..4)
            .prop_map(|v| Value::Array(v).to_string().into_bytes()),
        // Deep nesting (past serde_json's recursion limit) and truncated JSON.
        (1usize..3000, prop::bool::ANY).prop_map(|(depth, object)| {
            let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
            let mut text = open.repeat(depth);
            text.push('1');
            text.push_str(&close.repeat(depth));
            text.into_bytes()
        }),
        (rpc_like(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let at = cut.index(text.len().max(1));
            text[..at].to_vec()
        }),
    ]
}

fn extra_headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let value = "[ -~]{0,40}";
    let header = prop_oneof![
        value.prop_map(|v| ("MCP-Protocol-Version", v)),
        prop::sample::select(vec!["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])
            .prop_map(|v| ("MCP-Protocol-Version", v.to_owned())),
        value.prop_map(|v| ("Mcp-Session-Id", v)),
        "[ -~]{0,200}".prop_map(|v| ("X-Request-Id", v)),
        value.prop_map(|v| ("Content-Type", v)),
        value.prop_map(|v| ("Accept", v)),
    ];
    prop::collection::vec(header, 0..3)
}

// ---------------------------------------------------------------------------------------------
// Properties over HTTP
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_body_gets_a_well_formed_answer(
        path in prop::sample::select(vec!["/mcp", "/"]),
        body in body(),
        headers in extra_headers(),
    ) {
        let (status, id, answer) = post(path, body.clone(), &headers);
        if let Err(problem) = check_answer(status, id.as_deref(), &answer) {
            prop_assert!(
                false,
                "{problem}\nrequest {path} {headers:?}: {}\nanswer {status}: {}",
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&answer)
            );
        }
        prop_assert!(health_ok(), "/health stopped answering");
    }
}

#[test]
fn the_server_is_still_healthy_after_the_hostile_bodies() {
    // An oversized body and a body that is not even UTF-8, then a normal call.
    let (status, id, _) = post("/mcp", vec![b'['; 70_000], &[]);
    assert_eq!(status, 413);
    assert!(id.is_some());
    let (status, id, answer) = post("/", vec![0xff, 0xfe, 0x00, 0xc3], &[]);
    check_answer(status, id.as_deref(), &answer).unwrap();
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": { "name": "get_item", "arguments": { "id": "a/b" } } });
    let (status, _, answer) = post("/mcp", call.to_string().into_bytes(), &[]);
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert_eq!(
        reply["result"]["structuredContent"]["uri"],
        json!("/items/a%2Fb")
    );
    assert!(health_ok());
}

#[test]
fn an_error_reply_never_echoes_an_invalid_id() {
    for message in [
        json!({ "jsonrpc": "2.0", "id": { "x": 1 }, "method": null }),
        json!({ "jsonrpc": "1.0", "id": [1, 2], "method": "ping" }),
        json!({ "jsonrpc": "2.0", "id": { "x": 1 } }),
    ] {
        let (status, _, answer) = post("/mcp", message.to_string().into_bytes(), &[]);
        let reply: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(status, 400, "{message} → {reply}");
        assert_eq!(reply["id"], Value::Null, "{message} → {reply}");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties of rendering (no network)
// ---------------------------------------------------------------------------------------------

const RENDER_YAML: &str = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9/base/v1" }
tools:
  - name: t
    description: Hostile rendering.
    input_schema:
      type: object
      properties:
        a: { type: string }
        b: { type: string }
        q: { type: string }
        h: { type: string }
      required: [ a, b ]
    request:
      upstream: api
      path: "/items/{{args.a}}/sub/{{args.b}}.json"
      query: { q: "{{args.q}}", lit: "x-{{args.q}}" }
      headers: { X-Arg: "{{args.h}}", X-Mixed: "v={{args.h}}" }
"#;

static RENDER_CONFIG: LazyLock<toolgate::config::RuntimeConfig> = LazyLock::new(|| {
    toolgate::config::load_str("render.yaml", RENDER_YAML, &|_| None)
        .unwrap_or_else(|e| panic!("{e}"))
});

/// Percent-decodes a URL path segment (which is ASCII).
fn decode(segment: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("decoded segment is UTF-8")
}

/// Whether a header value with this text cannot be sent (and must be refused): control bytes
/// other than tab, and DEL. (Bytes of non-ASCII UTF-8 are obs-text, which HTTP allows.)
fn unsendable_header(text: &str) -> bool {
    text.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn rendered_requests_stay_inside_the_upstream(
        a in arb_string(),
        b in arb_string(),
        q in prop::option::of(arb_string()),
        h in prop::option::of(arb_string()),
    ) {
        let mut args = json!({ "a": a, "b": b });
        if let Some(q) = &q { args["q"] = json!(q); }
        if let Some(h) = &h { args["h"] = json!(h); }
        let caller = Caller::anonymous("standard");
        let outcome = toolgate::gateway::prepare(&RENDER_CONFIG, &caller, "t", Some(args.clone()));
        let must_refuse = [&a, &b].iter().any(|v| matches!(v.as_str(), "" | "." | ".."))
            || h.as_deref().is_some_and(|h| unsendable_header(h) || unsendable_header(&format!("v={h}")));
        match outcome {
            Err(error) => {
                prop_assert_eq!(error.code, ErrorCode::InvalidParameters, "{}: {:?}", args, error);
                prop_assert!(must_refuse, "refused a value that can be rendered safely: {} → {:?}", args, error);
            }
            Ok((_, request)) => {
                prop_assert!(!must_refuse, "rendered a value that must be refused: {}", args);
                let url = &request.url;
                prop_assert_eq!(url.scheme(), "http");
                prop_assert_eq!(url.host_str(), Some("127.0.0.1"));
                prop_assert_eq!(url.port(), Some(9));
                prop_assert_eq!(url.username(), "");
                prop_assert!(url.password().is_none());
                prop_assert!(url.fragment().is_none(), "{}", url);
                let segments: Vec<&str> = url.path_segments().unwrap().collect();
                prop_assert_eq!(segments.len(), 6, "{} from {}", url, args);
                prop_assert_eq!(&segments[..3], &["base", "v1", "items"][..]);
                prop_assert_eq!(segments[4], "sub");
                prop_assert_eq!(decode(segments[3]), a.clone(), "{}", url);
                prop_assert_eq!(decode(segments[5]), format!("{b}.json"), "{}", url);
                let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                pairs.sort();
                match &q {
                    Some(q) => prop_assert_eq!(
                        pairs,
                        vec![("lit".to_owned(), format!("x-{q}")), ("q".to_owned(), q.clone())]
                    ),
                    None => prop_assert!(pairs.is_empty(), "{:?}", pairs),
                }
                for (name, value) in &request.headers {
                    prop_assert!(
                        !value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)),
                        "header {} = {:?}", name, value
                    );
                }
                match &h {
                    Some(h) => {
                        prop_assert_eq!(request.headers.get("x-arg").map(|v| v.as_bytes()), Some(h.as_bytes()));
                        prop_assert_eq!(
                            request.headers.get("x-mixed").map(|v| v.as_bytes().to_vec()),
                            Some(format!("v={h}").into_bytes())
                        );
                    }
                    None => {
                        prop_assert!(request.headers.get("x-arg").is_none());
                        prop_assert!(request.headers.get("x-mixed").is_none());
                    }
                }
            }
        }
    }
}
