//! `toolgate demo`: the three bundled examples (CRM, data warehouse, workflow automation), each
//! with its demo upstream API, behind one gateway on 127.0.0.1.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use toolgate::config::{self, RuntimeConfig};
use toolgate::gateway::Gateway;
use toolgate::http::{self, AppState};
use toolgate_demo::{CrmOptions, OAuthClient, WarehouseOptions, WorkflowOptions};

/// The example configs, bundled so that the demo needs nothing but the binary.
const EXAMPLES: [(&str, &str); 3] = [
    (
        "examples/crm/gateway.yaml",
        include_str!("../../examples/crm/gateway.yaml"),
    ),
    (
        "examples/data-warehouse/gateway.yaml",
        include_str!("../../examples/data-warehouse/gateway.yaml"),
    ),
    (
        "examples/workflow/gateway.yaml",
        include_str!("../../examples/workflow/gateway.yaml"),
    ),
];
/// The OAuth client the demo CRM issues tokens to and the CRM example authenticates as
/// (`${CRM_CLIENT_ID}`, `${CRM_CLIENT_SECRET}`).
const DEMO_CRM_CLIENT_ID: &str = "toolgate";
const DEMO_CRM_CLIENT_SECRET: &str = "demo-crm-secret";
/// The tokens the other demo upstreams expect and the example configs send (`${DW_TOKEN}`, …).
const DEMO_DW_TOKEN: &str = "demo-dw-token";
const DEMO_WORKFLOW_TOKEN: &str = "demo-workflow-token";

/// One example as the banner shows it.
struct Example {
    title: &'static str,
    upstream: &'static str,
    url: String,
    sample: &'static str,
}

/// Starts the three demo upstreams on free loopback ports, then the gateway on `listen`.
pub fn run(listen: &str) -> anyhow::Result<ExitCode> {
    let listener =
        TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let gateway_addr = listener.local_addr()?;
    actix_web::rt::System::new().block_on(async move {
        // The CRM accepts only tokens from its own token endpoint: the gateway gets them with
        // the client credentials grant (examples/crm: `auth.oauth2_client_credentials`).
        let crm = CrmOptions {
            token: None,
            oauth_client: Some(OAuthClient {
                client_id: DEMO_CRM_CLIENT_ID.into(),
                client_secret: DEMO_CRM_CLIENT_SECRET.into(),
            }),
        };
        let dw = WarehouseOptions {
            token: Some(DEMO_DW_TOKEN.into()),
            ..WarehouseOptions::default()
        };
        let workflow = WorkflowOptions {
            token: Some(DEMO_WORKFLOW_TOKEN.into()),
            ..WorkflowOptions::default()
        };
        let (crm_addr, _crm) = toolgate_demo::start_crm("127.0.0.1:0", crm).await?;
        let (dw_addr, _dw) = toolgate_demo::start_warehouse("127.0.0.1:0", dw).await?;
        let (wf_addr, _wf) = toolgate_demo::start_workflow("127.0.0.1:0", workflow).await?;
        let (crm_url, dw_url, wf_url) = (
            format!("http://{crm_addr}"),
            format!("http://{dw_addr}"),
            format!("http://{wf_addr}"),
        );
        let env = |name: &str| match name {
            "CRM_BASE_URL" => Some(crm_url.clone()),
            "CRM_TOKEN_URL" => Some(format!("{crm_url}/oauth2/token")),
            "CRM_CLIENT_ID" => Some(DEMO_CRM_CLIENT_ID.to_owned()),
            "CRM_CLIENT_SECRET" => Some(DEMO_CRM_CLIENT_SECRET.to_owned()),
            "DW_BASE_URL" => Some(dw_url.clone()),
            "DW_TOKEN" => Some(DEMO_DW_TOKEN.to_owned()),
            "WORKFLOW_BASE_URL" => Some(wf_url.clone()),
            "WORKFLOW_TOKEN" => Some(DEMO_WORKFLOW_TOKEN.to_owned()),
            other => config::process_env(other),
        };
        // A tiny main file; the three examples are compiled as if it included them.
        let main = format!("server:\n  listen: \"{gateway_addr}\"\n");
        let mut files = vec![("toolgate demo", main.as_str())];
        files.extend(EXAMPLES);
        let config = config::load_texts(&files, &env)?;
        let examples = [
            Example {
                title: "CRM (examples/crm)",
                upstream: "crm",
                url: crm_url.clone(),
                sample: r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"crm_get_customer","arguments":{"customer_id":"CUST-00042"}}}"#,
            },
            Example {
                title: "Data warehouse (examples/data-warehouse)",
                upstream: "warehouse",
                url: dw_url.clone(),
                sample: r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"dw_execute_query","arguments":{"sql":"SELECT status, count(*) AS orders FROM orders GROUP BY status"}}}"#,
            },
            Example {
                title: "Workflow automation (examples/workflow)",
                upstream: "workflow",
                url: wf_url.clone(),
                sample: r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"workflow_start","arguments":{"template_id":"invoice_approval","parameters":{"invoice_id":"INV-004211","vendor":"Acme Office Supply","amount":12450,"cost_center":"CC-1042"}}}}"#,
            },
        ];
        let banner = banner(&gateway_addr.to_string(), &config, &examples);
        let gateway = Arc::new(Gateway::new(config)?);
        let app = AppState::new(gateway, Arc::default());
        let server = http::serve(Arc::new(app), listener, Some(2))?;
        println!("{banner}");
        server.await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What the demo prints once everything is up: the endpoints, each example's tools and a call
/// to try for each.
fn banner(gateway: &str, config: &RuntimeConfig, examples: &[Example]) -> String {
    let mut out = format!(
        "toolgate demo is running: {} tools from 3 examples.

  MCP endpoint (Streamable HTTP):  http://{gateway}/mcp
  Legacy JSON protocol:            http://{gateway}/
  Health:                          http://{gateway}/health
  Auth:                            none (open gateway; the demo binds loopback only)
",
        config.tools.len()
    );
    for example in examples {
        let tools: Vec<&str> = config
            .tools
            .iter()
            .filter(|t| t.request.upstream.name == example.upstream)
            .map(|t| t.name.as_str())
            .collect();
        out.push_str(&format!(
            "
{title}
  demo upstream: {url}
  tools:         {tools}
  try:
    curl -s http://{gateway}/mcp -H 'Content-Type: application/json' \\
      -d '{sample}'
",
            title = example.title,
            url = example.url,
            tools = tools.join(", "),
            sample = example.sample,
        ));
    }
    out.push_str(&format!(
        r#"
List every tool:
  curl -s http://{gateway}/mcp -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'
The legacy JSON protocol (Junis guide):
  curl -s http://{gateway}/ -H 'Content-Type: application/json' \
    -d '{{"method":"call_tool","params":{{"tool_name":"calculate_discount","arguments":{{"customer_tier":"premium","purchase_amount":250}}}}}}'

Press Ctrl-C to stop."#
    ));
    out
}
