//! Prompts declared in YAML over real sockets: `prompts/list` (paginated, filtered by the
//! caller's allow-list) and `prompts/get` (arguments filled, required ones enforced, unknown
//! or hidden prompts refused with -32602) in the handshake era (2025-06-18, capability
//! advertised) and the stateless era (2026-07-28); `check` reports bad prompts at file:line:col.

mod common;

use common::{GatewayUnderTest, client, start_gateway, start_upstream};
use serde_json::{Value, json};

const FULL: &str = "tg_prompts_full_key_0123456789";
const CRM: &str = "tg_prompts_crm_key_01234567890";

const YAML: &str = r#"
server: { page_size: 2 }
auth:
  api_keys:
    - { id: full, key: "${FULL}" }
    - { id: crm, key: "${CRM}", tools: [ "crm_*" ] }
upstreams:
  api: { base_url: "${API}" }
tools:
  - name: crm_ping
    description: Ping.
    request: { upstream: api, path: /ping }
prompts:
  - name: crm_summarise
    title: Summarise a customer
    description: Summarise one customer for an account manager.
    arguments:
      - { name: customer_id, description: The customer, required: true }
      - { name: tone }
    messages:
      - text: "Summarise customer {{args.customer_id}} in a {{args.tone}} tone for {{caller.id}}."
      - { role: assistant, text: "I will look {{args.customer_id}} up first." }
  - name: crm_greet
    messages: [ { text: Hello. } ]
  - name: dw_report
    description: A warehouse report.
    messages: [ { text: Report. } ]
"#;

async fn gateway() -> GatewayUnderTest {
    let upstream = start_upstream().await;
    start_gateway(
        YAML,
        &[("API", &upstream.url()), ("FULL", FULL), ("CRM", CRM)],
    )
    .await
}

/// One request: `session` set → handshake era (2025-06-18), else stateless (2026-07-28).
async fn rpc(
    gateway: &GatewayUnderTest,
    key: &str,
    session: Option<&str>,
    method: &str,
    mut params: Value,
) -> Value {
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Authorization", format!("Bearer {key}"))
        .header("Accept", "application/json, text/event-stream");
    match session {
        Some(session) => {
            request = request
                .header("Mcp-Session-Id", session)
                .header("MCP-Protocol-Version", "2025-06-18");
        }
        None => {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": { "name": "prompt-test", "version": "1" },
            });
            request = request
                .header("MCP-Protocol-Version", "2026-07-28")
                .header("Mcp-Method", method);
            if let Some(name) = params["name"].as_str() {
                request = request.header("Mcp-Name", name);
            }
        }
    }
    let body = json!({ "jsonrpc": "2.0", "id": 3, "method": method, "params": params });
    request
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn initialize(gateway: &GatewayUnderTest, key: &str) -> (String, Value) {
    let response = client()
        .post(gateway.mcp_url())
        .header("Authorization", format!("Bearer {key}"))
        .header("Accept", "application/json, text/event-stream")
        .json(
            &json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "prompt-test", "version": "1" } } }),
        )
        .send()
        .await
        .unwrap();
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let reply: Value = response.json().await.unwrap();
    (session, reply)
}

/// Every prompt name over all pages.
async fn all_names(gateway: &GatewayUnderTest, key: &str, session: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    let mut params = json!({});
    loop {
        let reply = rpc(gateway, key, session, "prompts/list", params.clone()).await;
        let result = &reply["result"];
        let page = result["prompts"]
            .as_array()
            .unwrap_or_else(|| panic!("{reply}"));
        assert!(page.len() <= 2, "{reply}");
        names.extend(page.iter().map(|p| p["name"].as_str().unwrap().to_owned()));
        match result["nextCursor"].as_str() {
            Some(cursor) => params = json!({ "cursor": cursor }),
            None => return names,
        }
    }
}

#[tokio::test]
async fn prompts_are_listed_and_filled_in_both_eras() {
    let gateway = gateway().await;
    let (session, init) = initialize(&gateway, FULL).await;
    assert_eq!(
        init["result"]["capabilities"]["prompts"],
        json!({ "listChanged": true }),
        "{init}"
    );
    for era in [Some(session.as_str()), None] {
        assert_eq!(
            all_names(&gateway, FULL, era).await,
            ["crm_summarise", "crm_greet", "dw_report"]
        );
        let first = rpc(&gateway, FULL, era, "prompts/list", json!({})).await;
        assert_eq!(
            first["result"]["prompts"][0],
            json!({
                "name": "crm_summarise",
                "title": "Summarise a customer",
                "description": "Summarise one customer for an account manager.",
                "arguments": [
                    { "name": "customer_id", "description": "The customer", "required": true },
                    { "name": "tone", "required": false },
                ],
            })
        );

        let got = rpc(
            &gateway,
            FULL,
            era,
            "prompts/get",
            json!({ "name": "crm_summarise", "arguments": { "customer_id": "CUST-00042", "tone": "warm" } }),
        )
        .await;
        let result = &got["result"];
        assert_eq!(
            result["description"],
            "Summarise one customer for an account manager."
        );
        assert_eq!(
            result["messages"],
            json!([
                { "role": "user", "content": { "type": "text",
                  "text": "Summarise customer CUST-00042 in a warm tone for full." } },
                { "role": "assistant", "content": { "type": "text",
                  "text": "I will look CUST-00042 up first." } },
            ]),
            "{got}"
        );
        // An optional argument left out is empty; a required one is enforced.
        let optional = rpc(
            &gateway,
            FULL,
            era,
            "prompts/get",
            json!({ "name": "crm_summarise", "arguments": { "customer_id": "C1" } }),
        )
        .await;
        assert_eq!(
            optional["result"]["messages"][0]["content"]["text"],
            "Summarise customer C1 in a  tone for full."
        );
        for bad in [
            json!({ "name": "crm_summarise" }),
            json!({ "name": "crm_summarise", "arguments": { "customer_id": 42 } }),
            json!({ "name": "crm_summarise", "arguments": { "customer_id": "C1", "extra": "x" } }),
            json!({ "name": "no_such_prompt" }),
        ] {
            let reply = rpc(&gateway, FULL, era, "prompts/get", bad.clone()).await;
            assert_eq!(reply["error"]["code"], -32602, "{bad}: {reply}");
        }
    }

    // The allow-list that hides tools hides prompts: `crm_*` sees two, and the third is
    // answered exactly like a missing one.
    let (crm_session, _) = initialize(&gateway, CRM).await;
    for era in [Some(crm_session.as_str()), None] {
        assert_eq!(
            all_names(&gateway, CRM, era).await,
            ["crm_summarise", "crm_greet"]
        );
        let hidden = rpc(
            &gateway,
            CRM,
            era,
            "prompts/get",
            json!({ "name": "dw_report" }),
        )
        .await;
        let missing = rpc(
            &gateway,
            CRM,
            era,
            "prompts/get",
            json!({ "name": "dw_nothing" }),
        )
        .await;
        assert_eq!(hidden["error"]["code"], -32602, "{hidden}");
        assert_eq!(
            hidden["error"]["message"]
                .as_str()
                .unwrap()
                .replace("dw_report", "X"),
            missing["error"]["message"]
                .as_str()
                .unwrap()
                .replace("dw_nothing", "X")
        );
    }
}

#[test]
fn check_reports_bad_prompts_where_they_are() {
    let yaml = "tools: []\nprompts:\n  - name: bad name\n    messages: [ { text: hi } ]\n  - name: ok\n    arguments: [ { name: a } ]\n    messages: [ { text: \"{{args.b}}\" } ]\n  - name: ok\n    messages: []\n";
    let errors = toolgate::config::load_str("p.yaml", yaml, &|_| None)
        .unwrap_err()
        .to_string();
    for expected in [
        "p.yaml:3:11: prompt name 'bad name' must be",
        "p.yaml:7:25: 'args.b' is not an argument of prompt 'ok'",
        "p.yaml:8:11: prompt 'ok' is defined twice",
    ] {
        assert!(errors.contains(expected), "{expected}\n{errors}");
    }
}
