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
use toolgate::telemetry;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), in tracing-subscriber's text or
/// JSON lines (written by [`telemetry::LogFormat`], which writes toolgate's own events without
/// `core::fmt`); with a tracer provider, also exports toolgate's trace spans (which never show
/// in the log).
pub fn init_logging(json: bool, traces: Option<&opentelemetry_sdk::trace::SdkTracerProvider>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match traces {
        // Without traces, one global filter: per-layer filtering costs every event and span
        // some bookkeeping (see bench/README.md).
        None => {
            let builder = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(ansi)
                .with_writer(std::io::stderr);
            if json {
                builder
                    .json()
                    .event_format(telemetry::LogFormat::json())
                    .init();
            } else {
                builder.event_format(telemetry::LogFormat::text()).init();
            }
        }
        Some(provider) => {
            let fmt = tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(std::io::stderr);
            if json {
                let fmt = fmt.json().event_format(telemetry::LogFormat::json());
                with_traces(fmt, filter, provider);
            } else {
                let fmt = fmt.event_format(telemetry::LogFormat::text());
                with_traces(fmt, filter, provider);
            }
        }
    }
}

/// Logs through `fmt` (filtered by `filter`, never showing trace spans) and exports trace
/// spans to `provider`, whatever the log filter says.
fn with_traces<L>(fmt: L, filter: EnvFilter, provider: &opentelemetry_sdk::trace::SdkTracerProvider)
where
    L: Layer<Registry> + Send + Sync,
{
    let not_trace_spans = filter_fn(|metadata| metadata.target() != telemetry::TARGET);
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter.and(not_trace_spans)))
        .with(telemetry::layer(provider))
        .init();
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
