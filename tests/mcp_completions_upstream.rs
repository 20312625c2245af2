//! `completion/complete` for a prompt argument with `complete: { request, pick }`, or a tool
//! argument listed in the tool's `complete:`, asks its upstream (over a real socket,
//! `{{args.value}}` = what was typed), reads the array at `pick`, and returns the values
//! starting with what was typed; a failing upstream gives no suggestions rather than an error.

mod common;

use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};

const YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: ping
    description: Ping.
    request: { upstream: api, path: /ping }
prompts:
  - name: brief
    arguments:
      - name: customer_id
        required: true
        complete:
          request: { upstream: api, path: /echo, query: { q: "{{args.value}}" } }
          pick: /uri
      - name: broken
        complete: { request: { upstream: api, path: /status/500 } }
    messages: [ { text: "Brief {{args.customer_id}} {{args.broken}}." } ]
"#;

async fn complete(url: &str, argument: &str, typed: &str) -> Value {
    complete_ref(
        url,
        json!({ "type": "ref/prompt", "name": "brief" }),
        argument,
        typed,
    )
    .await
}

async fn complete_ref(url: &str, reference: Value, argument: &str, typed: &str) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "completion/complete", "params": {
        "ref": reference, "argument": { "name": argument, "value": typed } } });
    client()
        .post(format!("{url}/mcp"))
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn prompt_arguments_complete_from_their_upstream() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(YAML, &[("API", &upstream.url())]).await;
    // The recording upstream echoes `{"method","uri","body"}`: the typed text reached it as
    // `q`; `/uri` is a string, not an array, so there are no suggestions (and no error).
    let reply = complete(&gateway.url, "customer_id", "CU").await;
    assert_eq!(
        reply["result"]["completion"]["values"],
        json!([]),
        "{reply}"
    );
    assert_eq!(upstream.last().uri, "/echo?q=CU");

    let listing = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: ping
    description: Ping.
    request: { upstream: api, path: /ping }
prompts:
  - name: brief
    arguments:
      - name: customer_id
        complete:
          request: { upstream: api, method: POST, path: /search, body: { prefix: "{{args.value}}", names: [ CUST-00042, CUST-00043, OTHER-1 ] } }
          pick: /body/names
    messages: [ { text: "Brief {{args.customer_id}}." } ]
"#;
    let gateway = start_gateway(listing, &[("API", &upstream.url())]).await;
    let reply = complete(&gateway.url, "customer_id", "cust").await;
    assert_eq!(
        reply["result"]["completion"],
        json!({ "values": ["CUST-00042", "CUST-00043"], "total": 2, "hasMore": false }),
        "{reply}"
    );
    assert_eq!(upstream.last().json()["prefix"], "cust");

    let broken = start_gateway(YAML, &[("API", &upstream.url())]).await;
    let reply = complete(&broken.url, "broken", "").await;
    assert_eq!(
        reply["result"]["completion"]["values"],
        json!([]),
        "{reply}"
    );
}

const TOOL_YAML: &str = r#"
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: get_customer
    description: One customer.
    input_schema:
      type: object
      properties:
        customer_id: { type: string }
        region: { type: string, enum: [ eu-west, us-east ] }
      required: [ customer_id ]
    request: { upstream: api, path: "/customers/{{args.customer_id}}" }
    complete:
      customer_id:
        request: { upstream: api, method: POST, path: /search, body: { prefix: "{{args.value}}", names: [ CUST-00042, CUST-00043, OTHER-1 ] } }
        pick: /body/names
"#;

#[tokio::test]
async fn tool_arguments_complete_from_their_upstream() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(TOOL_YAML, &[("API", &upstream.url())]).await;
    let tool = json!({ "type": "ref/tool", "name": "get_customer" });
    let reply = complete_ref(&gateway.url, tool.clone(), "customer_id", "cust").await;
    assert_eq!(
        reply["result"]["completion"],
        json!({ "values": ["CUST-00042", "CUST-00043"], "total": 2, "hasMore": false }),
        "{reply}"
    );
    assert_eq!(upstream.last().json()["prefix"], "cust");
    // An argument without `complete:` still completes from its schema's enum, upstream unasked.
    let asked = upstream.requests().len();
    let reply = complete_ref(&gateway.url, tool, "region", "us").await;
    assert_eq!(
        reply["result"]["completion"]["values"],
        json!(["us-east"]),
        "{reply}"
    );
    assert_eq!(upstream.requests().len(), asked);
}
