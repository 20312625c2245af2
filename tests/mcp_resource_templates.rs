//! Resource templates: `resource_templates:` entries are listed by
//! `resources/templates/list`, and `resources/read` of a URI matching one fills its upstream
//! request with the captured values (percent-decoded, then encoded again as path segments);
//! a URI matching nothing is "resource not found"; a bad template is a config error.

mod common;

use common::{GatewayUnderTest, Upstream, client, start_gateway, start_upstream};
use serde_json::{Value, json};

const CONFIG: &str = r#"
upstreams:
  api: { base_url: "${API}" }
resources:
  - uri: crm://segments
    name: Segments
    request: { upstream: api, path: /segments }
resource_templates:
  - uri_template: "crm://customers/{customer_id}"
    name: Customer
    description: One customer profile.
    request: { upstream: api, path: "/customers/{{args.customer_id}}" }
  - uri_template: "crm://customers/{customer_id}/notes?since={date}"
    name: Customer notes
    mime_type: application/json
    request:
      upstream: api
      path: "/customers/{{args.customer_id}}/notes"
      query: { since: "{{args.date}}" }
  - uri_template: "docs://{+path}"
    name: Document
    mime_type: text/markdown
    request: { upstream: api, path: "/docs/{{args.path}}" }
"#;

async fn setup() -> (Upstream, GatewayUnderTest) {
    let upstream = start_upstream().await;
    let gateway = start_gateway(CONFIG, &[("API", &upstream.url())]).await;
    (upstream, gateway)
}

async fn rpc(gateway: &GatewayUnderTest, method: &str, params: Value) -> Value {
    client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn templates_are_listed() {
    let (_upstream, gateway) = setup().await;
    let reply = rpc(&gateway, "resources/templates/list", json!({})).await;
    let templates = reply["result"]["resourceTemplates"].as_array().unwrap();
    assert_eq!(templates.len(), 3);
    assert_eq!(
        templates[0],
        json!({
            "uriTemplate": "crm://customers/{customer_id}",
            "name": "Customer",
            "description": "One customer profile.",
            "mimeType": "application/json",
        })
    );
    assert_eq!(templates[2]["mimeType"], json!("text/markdown"));
    // Concrete resources are listed apart.
    let reply = rpc(&gateway, "resources/list", json!({})).await;
    assert_eq!(reply["result"]["resources"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_templated_uri_is_read_through_its_request() {
    let (upstream, gateway) = setup().await;
    for (uri, path) in [
        ("crm://customers/CUST-00042", "/customers/CUST-00042"),
        // Decoded from the URI, encoded again as one path segment.
        ("crm://customers/a%20b%2Fc", "/customers/a%20b%2Fc"),
        (
            "crm://customers/C1/notes?since=2026-01-01",
            "/customers/C1/notes?since=2026-01-01",
        ),
        ("docs://guide/intro.md", "/docs/guide%2Fintro.md"),
    ] {
        let reply = rpc(&gateway, "resources/read", json!({ "uri": uri })).await;
        let content = &reply["result"]["contents"][0];
        assert_eq!(content["uri"], json!(uri), "{reply}");
        let answer: Value = serde_json::from_str(content["text"].as_str().unwrap()).unwrap();
        assert_eq!(answer["uri"], json!(path), "{uri}");
        assert_eq!(upstream.last().uri, path);
    }
    let reply = rpc(&gateway, "resources/read", json!({ "uri": "docs://a.md" })).await;
    assert_eq!(
        reply["result"]["contents"][0]["mimeType"],
        json!("text/markdown")
    );
}

#[tokio::test]
async fn a_uri_matching_nothing_is_not_found() {
    let (upstream, gateway) = setup().await;
    for uri in [
        "crm://customers/",
        "crm://customers/a/b",
        "crm://orders/1",
        "docs://",
    ] {
        let reply = rpc(&gateway, "resources/read", json!({ "uri": uri })).await;
        assert_eq!(reply["error"]["code"], json!(-32002), "{uri}: {reply}");
        assert_eq!(reply["error"]["data"]["uri"], json!(uri));
    }
    assert!(upstream.requests().is_empty());
}

#[test]
fn bad_templates_are_config_errors() {
    for (template, message) in [
        ("crm://{a}{b}", "follows another variable"),
        ("crm://{?q}", "is not supported"),
        ("crm://plain", "needs at least one {variable}"),
    ] {
        let yaml = format!(
            "upstreams:\n  api: {{ base_url: \"http://127.0.0.1:9\" }}\nresource_templates:\n  - uri_template: \"{template}\"\n    name: T\n    request: {{ upstream: api, path: /x }}\n"
        );
        let error = toolgate::config::load_str("t.yaml", &yaml, &|_| None)
            .expect_err(template)
            .to_string();
        assert!(error.contains(message), "{template}: {error}");
        assert!(
            error.contains("t.yaml:4:"),
            "located at the template: {error}"
        );
    }
    // The request may only use the template's variables.
    let yaml = "upstreams:\n  api: { base_url: \"http://127.0.0.1:9\" }\nresource_templates:\n  - uri_template: \"x://{id}\"\n    name: T\n    request: { upstream: api, path: \"/x/{{args.other}}\" }\n";
    let error = toolgate::config::load_str("t.yaml", yaml, &|_| None)
        .expect_err("undeclared variable")
        .to_string();
    assert!(error.contains("args.other"), "{error}");
}
