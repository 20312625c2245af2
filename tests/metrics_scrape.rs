//! `GET /metrics` after a known sequence of calls (2 ok, 1 invalid_parameters, 1
//! tool_not_found, 1 upstream_error from a 404, 1 rate-limited, 1 unauthenticated) shows exactly
//! the expected counters, and `X-Request-Id` is echoed (the client's own, or a new 32-hex id)
//! and forwarded upstream.

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const KEY: &str = "tg_metrics_key_0123456789ab";

const YAML: &str = r#"
auth:
  api_keys:
    - { id: ops, key: "${OPS_KEY}" }
rate_limits:
  default_tier: standard
  tiers:
    standard: { requests: 4, per: 60s, burst: 4 }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: { id: { type: string, pattern: "^[0-9]+$" } }
      required: [ id ]
    request: { upstream: api, path: "/items/{{args.id}}" }
  - name: missing_thing
    description: Always 404 upstream.
    input_schema: { type: object }
    request: { upstream: api, path: /status/404 }
"#;

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus / OpenMetrics text exposition (enough of it for these metrics).
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = BTreeMap::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
                    let mut value = String::new();
                    let mut chars = after.char_indices();
                    let mut end = after.len();
                    while let Some((at, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, escaped)) = chars.next() {
                                    value.push(if escaped == 'n' { '\n' } else { escaped });
                                }
                            }
                            '"' => {
                                end = at;
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    labels.insert(key.trim_start_matches(',').to_owned(), value);
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_owned(), labels)
            }
        };
        samples.push((name, labels, value));
    }
    samples
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn value(samples: &[Sample], name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
    let wanted = labels(pairs);
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == wanted)
        .map(|(_, _, v)| *v)
}

/// A `tools/call` over MCP with the key; returns the reply and the response's X-Request-Id.
async fn call(
    url: &str,
    tool: &str,
    arguments: Value,
    request_id: Option<&str>,
) -> (u16, Value, String) {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": { "name": tool, "arguments": arguments } });
    let mut request = client()
        .post(format!("{url}/mcp"))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(id) = request_id {
        request = request.header("X-Request-Id", id);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .expect("X-Request-Id in every response")
        .to_str()
        .unwrap()
        .to_owned();
    (status, response.json().await.unwrap(), id)
}

fn is_generated_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn tool_error(reply: &Value) -> &Value {
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    &reply["result"]["structuredContent"]["error"]["code"]
}

#[tokio::test]
async fn metrics_count_a_known_sequence_and_request_ids_travel_end_to_end() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url()), ("OPS_KEY", KEY)]).await;
    let url = gateway.url.clone();

    // 1. ok, with the client's own request id: echoed and forwarded.
    let (status, reply, id) =
        call(&url, "get_item", json!({ "id": "1" }), Some("trace-abc.1")).await;
    assert_eq!(
        (status, &reply["result"]["isError"]),
        (200, &json!(false)),
        "{reply}"
    );
    assert_eq!(id, "trace-abc.1");
    assert_eq!(upstream.last().header("x-request-id"), Some("trace-abc.1"));

    // 2. ok, without one: a new 32-hex id, the same one upstream.
    let (_, reply, id) = call(&url, "get_item", json!({ "id": "2" }), None).await;
    assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    assert!(is_generated_id(&id), "{id:?}");
    assert_eq!(upstream.last().header("x-request-id"), Some(id.as_str()));
    assert_eq!(upstream.requests().len(), 2);

    // 3. invalid_parameters; 4. tool_not_found; 5. upstream_error (404).
    let (_, reply, _) = call(&url, "get_item", json!({ "id": "x" }), None).await;
    assert_eq!(tool_error(&reply), &json!("invalid_parameters"));
    let (_, reply, _) = call(&url, "no_such_tool", json!({}), None).await;
    assert_eq!(
        reply["error"]["data"]["code"],
        json!("tool_not_found"),
        "{reply}"
    );
    let (_, reply, id) = call(&url, "missing_thing", json!({}), Some("trace-404")).await;
    assert_eq!(tool_error(&reply), &json!("upstream_error"));
    assert_eq!(id, "trace-404");
    assert_eq!(upstream.last().header("x-request-id"), Some("trace-404"));

    // 6. The tier's burst of 4 is spent (ok, ok, invalid_parameters, upstream_error; an
    //    unknown tool costs nothing): rate_limit_exceeded.
    let (_, reply, _) = call(&url, "get_item", json!({ "id": "3" }), None).await;
    assert_eq!(tool_error(&reply), &json!("rate_limit_exceeded"), "{reply}");
    assert_eq!(upstream.requests().len(), 3);

    // 7. Unauthenticated: 401, not a tool call.
    let response = client()
        .post(format!("{url}/mcp"))
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(is_generated_id(
        response.headers()["x-request-id"].to_str().unwrap()
    ));

    // A request id that is not short visible ASCII is replaced by a fresh one.
    for bad in ["has space", &"x".repeat(129)] {
        let response = client()
            .get(format!("{url}/health"))
            .header("X-Request-Id", bad)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(is_generated_id(&echoed), "{bad:?} → {echoed:?}");
    }
    let version = client()
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["config_version"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = client().get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    let samples = parse(&text);

    // Exactly these tool-call series, no others.
    let calls: BTreeMap<(String, String, String), f64> = samples
        .iter()
        .filter(|(n, _, _)| n == "toolgate_tool_calls_total")
        .map(|(_, l, v)| {
            (
                (l["tool"].clone(), l["caller"].clone(), l["outcome"].clone()),
                *v,
            )
        })
        .collect();
    let expected: BTreeMap<(String, String, String), f64> = [
        ("get_item", "ok", 2.0),
        ("get_item", "invalid_parameters", 1.0),
        ("(unknown)", "tool_not_found", 1.0),
        ("missing_thing", "upstream_error", 1.0),
        ("get_item", "rate_limit_exceeded", 1.0),
    ]
    .into_iter()
    .map(|(t, o, v)| ((t.to_owned(), "ops".to_owned(), o.to_owned()), v))
    .collect();
    assert_eq!(calls, expected, "\n{text}");

    let count = "toolgate_upstream_request_duration_seconds_count";
    assert_eq!(
        value(&samples, count, &[("upstream", "api"), ("status", "200")]),
        Some(2.0),
        "\n{text}"
    );
    assert_eq!(
        value(&samples, count, &[("upstream", "api"), ("status", "404")]),
        Some(1.0),
        "\n{text}"
    );
    let upstream_series = samples.iter().filter(|(n, _, _)| n == count).count();
    assert_eq!(upstream_series, 2, "only the 200 and 404 series: \n{text}");
    assert_eq!(
        value(
            &samples,
            "toolgate_rate_limit_rejections_total",
            &[("limit", "tier:standard")]
        ),
        Some(1.0),
        "\n{text}"
    );
    let mcp_ok = value(
        &samples,
        "toolgate_http_requests_total",
        &[("endpoint", "/mcp"), ("status", "200")],
    );
    assert!(mcp_ok >= Some(6.0), "{mcp_ok:?}\n{text}");
    assert_eq!(
        value(
            &samples,
            "toolgate_http_requests_total",
            &[("endpoint", "/mcp"), ("status", "401")]
        ),
        Some(1.0),
        "\n{text}"
    );
    assert_eq!(
        value(
            &samples,
            "toolgate_config_version",
            &[("version", &version)]
        ),
        Some(1.0),
        "\n{text}"
    );
    assert_eq!(
        samples
            .iter()
            .filter(|(n, _, _)| n == "toolgate_config_version")
            .count(),
        1
    );
    assert_eq!(
        value(&samples, "toolgate_tool_calls_in_flight", &[]),
        Some(0.0),
        "\n{text}"
    );
    assert_eq!(
        value(&samples, "toolgate_tools", &[]),
        Some(2.0),
        "\n{text}"
    );

    println!("content-type: {content_type}");
    for line in text.lines().filter(|l| {
        l.starts_with("toolgate_tool_calls_total")
            || l.starts_with("toolgate_upstream_request_duration_seconds_count")
            || l.starts_with("toolgate_rate_limit_rejections_total")
            || l.starts_with("toolgate_http_requests_total")
            || l.starts_with("toolgate_config_version")
    }) {
        println!("{line}");
    }
}
