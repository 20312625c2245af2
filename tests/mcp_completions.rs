//! `completion/complete` over real sockets in both eras: a prompt argument's `enum:` values
//! and a tool property's schema `enum` (the `ref/tool` extension), prefix-filtered (ASCII case
//! ignored) and capped at 100 with `total` and `hasMore`; unknown or hidden references are
//! -32602; a resource template's variables get no suggestions; `prompts/get` refuses a value
//! outside the argument's `enum`.

mod common;

use common::{GatewayUnderTest, client, start_gateway, start_upstream};
use serde_json::{Value, json};

const KEY: &str = "tg_complete_crm_key_0123456789";

async fn gateway() -> GatewayUnderTest {
    let upstream = start_upstream().await;
    let many: Vec<String> = (0..150).map(|i| format!("\"r{i:03}\"")).collect();
    let yaml = format!(
        r#"
auth:
  api_keys:
    - {{ id: crm, key: "${{KEY}}", tools: [ "crm_*" ] }}
upstreams:
  api: {{ base_url: "${{API}}" }}
tools:
  - name: crm_search
    description: Search customers.
    input_schema:
      type: object
      properties:
        tier: {{ type: string, enum: [ premium, standard, Prime ] }}
        region: {{ type: string, enum: [ {} ] }}
        tags: {{ type: array, items: {{ enum: [ vip, new ] }} }}
        text: {{ type: string }}
    request: {{ upstream: api, path: /search }}
  - name: dw_query
    description: Hidden from the crm key.
    input_schema: {{ type: object, properties: {{ db: {{ enum: [ sales ] }} }} }}
    request: {{ upstream: api, path: /q }}
resource_templates:
  - uri_template: "crm://customers/{{customer_id}}"
    name: Customer
    request: {{ upstream: api, path: "/customers/{{{{args.customer_id}}}}" }}
prompts:
  - name: crm_brief
    arguments:
      - {{ name: tone, enum: [ warm, formal, firm ], required: true }}
      - {{ name: topic }}
    messages: [ {{ text: "Write in a {{{{args.tone}}}} tone about {{{{args.topic}}}}." }} ]
"#,
        many.join(", ")
    );
    start_gateway(&yaml, &[("API", &upstream.url()), ("KEY", KEY)]).await
}

async fn rpc(gateway: &GatewayUnderTest, modern: bool, method: &str, mut params: Value) -> Value {
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Accept", "application/json, text/event-stream");
    if modern {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": { "name": "complete-test", "version": "1" },
        });
        request = request
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", method);
        if let Some(name) = params["name"].as_str() {
            request = request.header("Mcp-Name", name);
        }
    }
    let body = json!({ "jsonrpc": "2.0", "id": 9, "method": method, "params": params });
    request
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn ask(kind: &str, name: &str, argument: &str, typed: &str) -> Value {
    let reference = if kind == "ref/resource" {
        json!({ "type": kind, "uri": name })
    } else {
        json!({ "type": kind, "name": name })
    };
    json!({ "ref": reference, "argument": { "name": argument, "value": typed } })
}

#[tokio::test]
async fn arguments_complete_from_their_enums_in_both_eras() {
    let gateway = gateway().await;
    for modern in [false, true] {
        let complete = |params: Value| rpc(&gateway, modern, "completion/complete", params);
        let prompt = complete(ask("ref/prompt", "crm_brief", "tone", "f")).await;
        assert_eq!(
            prompt["result"]["completion"],
            json!({ "values": ["formal", "firm"], "total": 2, "hasMore": false }),
            "{prompt}"
        );
        let free = complete(ask("ref/prompt", "crm_brief", "topic", "")).await;
        assert_eq!(free["result"]["completion"]["values"], json!([]), "{free}");

        let tier = complete(ask("ref/tool", "crm_search", "tier", "p")).await;
        assert_eq!(
            tier["result"]["completion"]["values"],
            json!(["premium", "Prime"]),
            "{tier}"
        );
        let tags = complete(ask("ref/tool", "crm_search", "tags", "")).await;
        assert_eq!(
            tags["result"]["completion"]["values"],
            json!(["vip", "new"])
        );
        let many = complete(ask("ref/tool", "crm_search", "region", "r")).await;
        let completion = &many["result"]["completion"];
        assert_eq!(completion["values"].as_array().unwrap().len(), 100);
        assert_eq!(completion["total"], 150);
        assert_eq!(completion["hasMore"], true);
        let narrowed = complete(ask("ref/tool", "crm_search", "region", "R14")).await;
        assert_eq!(
            narrowed["result"]["completion"]["values"]
                .as_array()
                .unwrap()
                .len(),
            10
        );

        let template = complete(ask(
            "ref/resource",
            "crm://customers/{customer_id}",
            "customer_id",
            "C",
        ))
        .await;
        assert_eq!(
            template["result"]["completion"]["values"],
            json!([]),
            "{template}"
        );

        for bad in [
            ask("ref/tool", "dw_query", "db", ""),
            ask("ref/tool", "crm_search", "nothing", ""),
            ask("ref/prompt", "nope", "tone", ""),
            ask("ref/prompt", "crm_brief", "nothing", ""),
            ask("ref/resource", "crm://other/{x}", "x", ""),
            json!({ "ref": { "type": "ref/prompt", "name": "crm_brief" } }),
        ] {
            let reply = complete(bad.clone()).await;
            assert_eq!(reply["error"]["code"], -32602, "{bad}: {reply}");
        }

        let outside = rpc(
            &gateway,
            modern,
            "prompts/get",
            json!({ "name": "crm_brief", "arguments": { "tone": "angry" } }),
        )
        .await;
        assert_eq!(outside["error"]["code"], -32602, "{outside}");
    }
}
