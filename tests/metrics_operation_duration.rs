//! `GET /metrics` shows the tool-call duration histogram
//! `toolgate_mcp_server_operation_duration_seconds{tool,outcome}` (the MCP semantic convention's
//! `mcp.server.operation.duration`) for MCP and legacy calls, and the config version as the
//! OpenMetrics info `toolgate_config_info{version}`, replaced when the config is swapped.

mod common;

use common::{client, legacy_call, mcp_call, start_gateway, start_upstream};
use serde_json::{Value, json};

const HISTOGRAM: &str = "toolgate_mcp_server_operation_duration_seconds";

fn yaml(description: &str) -> String {
    format!(
        r#"
upstreams:
  api: {{ base_url: "${{API}}" }}
tools:
  - name: get_item
    description: {description}
    input_schema:
      type: object
      properties: {{ id: {{ type: string, pattern: "^[0-9]+$" }} }}
      required: [ id ]
    request: {{ upstream: api, path: "/items/{{{{args.id}}}}" }}
  - name: missing_thing
    description: Always 404 upstream.
    input_schema: {{ type: object }}
    request: {{ upstream: api, path: /status/404 }}
"#
    )
}

async fn scrape(url: &str) -> String {
    client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample line that starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

async fn health_version(url: &str) -> String {
    let health: Value = client()
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["config_version"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn tool_call_durations_by_tool_and_outcome_and_the_config_info() {
    let upstream = start_upstream().await;
    let api = upstream.url();
    let gateway = start_gateway(&yaml("Get an item."), &[("API", &api)]).await;

    for id in ["1", "2"] {
        let reply = mcp_call(&gateway, "get_item", json!({ "id": id })).await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    let (status, _) = legacy_call(&gateway, "get_item", json!({ "id": "3" })).await;
    assert_eq!(status, 200);
    mcp_call(&gateway, "get_item", json!({ "id": "not a number" })).await;
    mcp_call(&gateway, "missing_thing", json!({})).await;
    mcp_call(&gateway, "no_such_tool", json!({})).await;

    let text = scrape(&gateway.url).await;
    assert!(
        text.contains(&format!("# TYPE {HISTOGRAM} histogram\n")),
        "{text}"
    );
    let count = |tool: &str, outcome: &str| {
        sample(
            &text,
            &format!("{HISTOGRAM}_count{{tool=\"{tool}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(count("get_item", "ok"), Some(3.0), "{text}");
    assert_eq!(count("get_item", "invalid_parameters"), Some(1.0), "{text}");
    assert_eq!(
        count("missing_thing", "upstream_error"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(count("(unknown)", "tool_not_found"), Some(1.0), "{text}");
    let sum = sample(
        &text,
        &format!("{HISTOGRAM}_sum{{tool=\"get_item\",outcome=\"ok\"}}"),
    )
    .unwrap();
    assert!(sum > 0.0 && sum < 30.0, "{sum}");
    // Cumulative buckets: every call fits the last finite bound of 30 s, and +Inf counts all.
    assert_eq!(
        sample(
            &text,
            &format!("{HISTOGRAM}_bucket{{le=\"30.0\",tool=\"get_item\",outcome=\"ok\"}}"),
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("{HISTOGRAM}_bucket{{le=\"+Inf\",tool=\"get_item\",outcome=\"ok\"}}"),
        ),
        Some(3.0),
        "{text}"
    );

    let version = health_version(&gateway.url).await;
    assert!(text.contains("# TYPE toolgate_config info\n"), "{text}");
    assert_eq!(
        sample(
            &text,
            &format!("toolgate_config_info{{version=\"{version}\"}}")
        ),
        Some(1.0),
        "{text}"
    );

    let swapped = toolgate::config::load_str("test.yaml", &yaml("Get one item."), &|name| {
        (name == "API").then(|| api.clone())
    })
    .unwrap();
    gateway.state.gateway.swap(swapped);
    let new_version = health_version(&gateway.url).await;
    assert_ne!(new_version, version);
    let text = scrape(&gateway.url).await;
    let infos: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("toolgate_config_info"))
        .collect();
    assert_eq!(
        infos,
        [format!(
            "toolgate_config_info{{version=\"{new_version}\"}} 1"
        )],
        "{text}"
    );
    // The histogram keeps its series across the swap.
    assert_eq!(
        sample(
            &text,
            &format!("{HISTOGRAM}_count{{tool=\"get_item\",outcome=\"ok\"}}")
        ),
        Some(3.0)
    );
}
