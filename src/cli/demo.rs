//! `toolgate demo`: the bundled CRM example with its demo upstream, on 127.0.0.1.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use toolgate::config;
use toolgate::gateway::Gateway;
use toolgate::http::{self, AppState};
use toolgate_demo::CrmOptions;

/// The example config, bundled so that the demo needs nothing but the binary.
const CRM_CONFIG: &str = include_str!("../../examples/crm/gateway.yaml");
/// The token the demo CRM expects and the example config sends (`${CRM_TOKEN}`).
const DEMO_CRM_TOKEN: &str = "demo-crm-token";

/// Starts the demo CRM on a free loopback port, then the gateway on `listen`.
pub fn run(listen: &str) -> anyhow::Result<ExitCode> {
    let listener =
        TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let gateway_addr = listener.local_addr()?;
    actix_web::rt::System::new().block_on(async move {
        let options = CrmOptions {
            token: Some(DEMO_CRM_TOKEN.into()),
        };
        let (crm_addr, _crm) = toolgate_demo::start_crm("127.0.0.1:0", options).await?;
        let crm_url = format!("http://{crm_addr}");
        let env = |name: &str| match name {
            "CRM_BASE_URL" => Some(crm_url.clone()),
            "CRM_TOKEN" => Some(DEMO_CRM_TOKEN.to_owned()),
            other => config::process_env(other),
        };
        let config = config::load_str("examples/crm/gateway.yaml", CRM_CONFIG, &env)?;
        let tools: Vec<String> = config.tools.iter().map(|t| t.name.clone()).collect();
        let gateway = Arc::new(Gateway::new(config)?);
        let app = AppState::new(gateway, Arc::default());
        let server = http::serve(Arc::new(app), listener, Some(2))?;
        print_banner(&gateway_addr.to_string(), &crm_url, &tools);
        server.await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_banner(gateway: &str, crm: &str, tools: &[String]) {
    println!(
        r#"toolgate demo is running.

  MCP endpoint (Streamable HTTP):  http://{gateway}/mcp
  Legacy JSON protocol:            http://{gateway}/
  Health:                          http://{gateway}/health
  Demo CRM upstream:               {crm}
  Auth:                            none (open gateway; the demo binds loopback only)
  Tools:                           {tools}

Try:
  curl -s http://{gateway}/mcp -H 'Content-Type: application/json' \
    -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'
  curl -s http://{gateway}/mcp -H 'Content-Type: application/json' \
    -d '{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"crm_get_customer","arguments":{{"customer_id":"CUST-00042"}}}}}}'
  curl -s http://{gateway}/ -H 'Content-Type: application/json' \
    -d '{{"method":"call_tool","params":{{"tool_name":"calculate_discount","arguments":{{"customer_tier":"premium","purchase_amount":250}}}}}}'

Press Ctrl-C to stop."#,
        tools = tools.join(", ")
    );
}
