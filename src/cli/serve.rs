//! `toolgate serve`: run the gateway.

use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use toolgate::gateway::Gateway;
use toolgate::http::{self, AppState};

/// Loads the config and serves until interrupted.
pub fn run(
    path: &Path,
    listen: Option<String>,
    workers: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let config = super::load(path)?;
    let listen = listen.unwrap_or_else(|| config.server.listen.clone());
    tracing::info!(config = %path.display(), version = %config.version, tools = config.tools.len(), "config loaded");
    let gateway = Arc::new(Gateway::new(config)?);
    run_gateway(gateway, &listen, workers)
}

/// Serves `gateway` on `listen` until interrupted.
pub fn run_gateway(
    gateway: Arc<Gateway>,
    listen: &str,
    workers: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let listener =
        TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, "toolgate listening");
    let state = Arc::new(AppState::new(gateway));
    actix_web::rt::System::new()
        .block_on(async move { http::serve(state, listener, workers)?.await })?;
    Ok(ExitCode::SUCCESS)
}
