//! Runs the demo CRM on its own, for trying `examples/crm/gateway.yaml` with a separately started gateway.
//!
//! ```text
//! cargo run -p toolgate-demo --example crm_server            # http://127.0.0.1:9101, token demo-crm-token
//! CRM_LISTEN=127.0.0.1:9200 CRM_TOKEN= cargo run -p toolgate-demo --example crm_server   # no token
//! ```

use toolgate_demo::{CrmOptions, start_crm};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listen = std::env::var("CRM_LISTEN").unwrap_or_else(|_| "127.0.0.1:9101".to_owned());
    let token = match std::env::var("CRM_TOKEN") {
        Ok(token) if token.is_empty() => None,
        Ok(token) => Some(token),
        Err(_) => Some("demo-crm-token".to_owned()),
    };
    let open = token.is_none();
    let (addr, handle) = start_crm(&listen, CrmOptions { token }).await?;
    println!(
        "demo CRM listening on http://{addr} ({})",
        if open {
            "no token"
        } else {
            "bearer token required"
        }
    );
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    handle.stop(true).await;
    Ok(())
}
