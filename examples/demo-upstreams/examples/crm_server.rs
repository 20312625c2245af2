//! Runs the demo CRM on its own, for trying `examples/crm/gateway.yaml` with a separately started gateway.
//!
//! The CRM only accepts bearer tokens from its token endpoint `POST /oauth2/token` (OAuth 2.0
//! client credentials; client `CRM_CLIENT_ID` / `CRM_CLIENT_SECRET`, defaults `toolgate` /
//! `demo-crm-secret`, what the example config sends), and the static token `CRM_TOKEN` if set.
//!
//! ```text
//! cargo run -p toolgate-demo --example crm_server            # http://127.0.0.1:9101
//! CRM_LISTEN=127.0.0.1:9200 CRM_TOKEN=s3cret cargo run -p toolgate-demo --example crm_server
//! ```

use toolgate_demo::{CrmOptions, OAuthClient, start_crm};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let listen = var("CRM_LISTEN").unwrap_or_else(|| "127.0.0.1:9101".to_owned());
    let client = OAuthClient {
        client_id: var("CRM_CLIENT_ID").unwrap_or_else(|| "toolgate".to_owned()),
        client_secret: var("CRM_CLIENT_SECRET").unwrap_or_else(|| "demo-crm-secret".to_owned()),
    };
    let options = CrmOptions {
        token: var("CRM_TOKEN"),
        oauth_client: Some(client),
    };
    let (addr, handle) = start_crm(&listen, options).await?;
    println!("demo CRM listening on http://{addr} (tokens from http://{addr}/oauth2/token)");
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    handle.stop(true).await;
    Ok(())
}
