//! `toolgate serve`: run the gateway, reloading its config when the files change.

use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use toolgate::config;
use toolgate::gateway::Gateway;
use toolgate::http::{self, AppState};
use toolgate::reload::{self, ReloadState, Reloader};
use toolgate::telemetry::{self, TelemetrySettings};

/// Loads the config and serves until interrupted.
pub fn run(
    path: &Path,
    listen: Option<String>,
    workers: Option<usize>,
    json_logs: bool,
) -> anyhow::Result<ExitCode> {
    let config = super::load(path)?;
    let traces = TelemetrySettings::resolve(&config.telemetry, &config::process_env)?
        .map(|settings| telemetry::tracer_provider(&settings).map(|p| (settings, p)))
        .transpose()?;
    super::init_logging(json_logs, traces.as_ref().map(|(_, provider)| provider));
    if let Some((settings, _)) = &traces {
        tracing::info!(endpoint = settings.endpoint.as_deref().unwrap_or("(from OTEL_EXPORTER_OTLP_*)"), service = %settings.service_name, sample_ratio = settings.sample_ratio, "exporting traces over OTLP/HTTP");
    }
    let listen = listen.unwrap_or_else(|| config.server.listen.clone());
    let watch = config.server.reload.clone();
    tracing::info!(config = %path.display(), version = %config.version, tools = config.tools.len(), "config loaded");
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let gateway = Arc::new(Gateway::new(config)?);
    crate::release_free_memory();
    let state = Arc::new(ReloadState::default());
    let reloader = Arc::new(Reloader::new(
        path.to_path_buf(),
        gateway.clone(),
        state.clone(),
    ));
    let listener = TcpListener::bind(&listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, "toolgate listening");
    let app = Arc::new(AppState::new(gateway, state).with_reloader(reloader.clone()));
    actix_web::rt::System::new().block_on(async move {
        tokio::spawn(reload::watch(reloader, watch));
        http::serve(app, listener, workers)?.await
    })?;
    if let Some((_, provider)) = traces {
        // Flush the spans still buffered.
        if let Err(error) = provider.shutdown() {
            tracing::warn!(%error, "the last trace spans could not be exported");
        }
    }
    Ok(ExitCode::SUCCESS)
}
