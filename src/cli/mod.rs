//! The subcommands. Errors end here as `anyhow` errors; the library uses typed errors.

pub mod call;
pub mod check;
#[cfg(feature = "demo")]
pub mod demo;
pub mod import;
pub mod render;
pub mod schema;
pub mod serve;
pub mod test;

use anyhow::Context;
use std::path::Path;
use toolgate::config::{self, RuntimeConfig};
use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Loads a config, or fails with every problem listed.
pub fn load(path: &Path) -> anyhow::Result<RuntimeConfig> {
    config::load_file(path, &config::process_env)
        .with_context(|| format!("the config {} is invalid", path.display()))
}

/// Parses `--args` as a JSON object.
pub fn parse_args(text: &str) -> anyhow::Result<serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("--args must be a JSON object")?;
    anyhow::ensure!(value.is_object(), "--args must be a JSON object");
    Ok(value)
}
