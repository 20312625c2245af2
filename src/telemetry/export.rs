//! Building the OTLP exporter and the `tracing` layer that feeds it.

use super::spans::{TARGET, set_enabled};
use crate::config::EnvLookup;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use url::Url;

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// `telemetry:` as written in the config, checked (each key is described in the config
/// model, `TelemetrySection`).
#[derive(Clone, Default, PartialEq)]
pub struct TelemetryConfig {
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `otlp_endpoint`.
    pub endpoint: Option<Url>,
    /// `service_name`.
    pub service_name: Option<String>,
    /// `sample_ratio`.
    pub sample_ratio: Option<f64>,
    /// `headers`, with `${VAR}`s substituted.
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("TelemetryConfig")
            .field("enabled", &self.enabled)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("service_name", &self.service_name)
            .field("sample_ratio", &self.sample_ratio)
            .field("headers", &header_names)
            .finish()
    }
}

/// Why traces cannot be exported as configured.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// An OTLP protocol other than HTTP/protobuf was asked for.
    #[error(
        "{variable}={value}: toolgate exports traces over OTLP/HTTP with protobuf only; set it to http/protobuf and point the endpoint at the collector's OTLP/HTTP port (usually 4318)"
    )]
    Protocol {
        /// The variable that asked for it.
        variable: &'static str,
        /// What it asked for.
        value: String,
    },
    /// The exporter could not be built (an invalid endpoint or header in `OTEL_*`).
    #[error("cannot set up the OTLP trace exporter: {0}")]
    Exporter(String),
}

/// Where traces go, once the environment is applied to [`TelemetryConfig`].
#[derive(Clone, PartialEq)]
pub struct TelemetrySettings {
    /// The full traces URL; `None` lets the exporter read `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// / `OTEL_EXPORTER_OTLP_ENDPOINT` itself.
    pub endpoint: Option<String>,
    /// `service.name`.
    pub service_name: String,
    /// Share of new traces kept.
    pub sample_ratio: f64,
    /// Headers sent with every export (values are secrets).
    pub headers: HashMap<String, String>,
}

impl fmt::Debug for TelemetrySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetrySettings")
            .field("endpoint", &self.endpoint)
            .field("service_name", &self.service_name)
            .field("sample_ratio", &self.sample_ratio)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TelemetrySettings {
    /// The settings in effect, or `None` when traces are off: `enabled: false`,
    /// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` (unless the config says
    /// `enabled: true`), or no endpoint anywhere (unless `enabled: true`, which sends to the
    /// OTLP default `http://localhost:4318`).
    pub fn resolve(
        config: &TelemetryConfig,
        env: EnvLookup<'_>,
    ) -> Result<Option<Self>, TelemetryError> {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let forced = config.enabled == Some(true);
        let switched_off = config.enabled == Some(false)
            || (!forced
                && (var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
                    || var("OTEL_TRACES_EXPORTER")
                        .is_some_and(|v| v.eq_ignore_ascii_case("none"))));
        let from_env = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        if switched_off || (config.endpoint.is_none() && !from_env && !forced) {
            return Ok(None);
        }
        for variable in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(value) = var(variable) {
                if value != "http/protobuf" {
                    return Err(TelemetryError::Protocol { variable, value });
                }
                break;
            }
        }
        Ok(Some(Self {
            endpoint: config.endpoint.as_ref().map(traces_url),
            service_name: config
                .service_name
                .clone()
                .or_else(|| var("OTEL_SERVICE_NAME"))
                .unwrap_or_else(|| "toolgate".to_owned()),
            sample_ratio: config.sample_ratio.unwrap_or(1.0),
            headers: config.headers.iter().cloned().collect(),
        }))
    }
}

/// `<base>/v1/traces`, unless the URL already names the traces path.
fn traces_url(base: &Url) -> String {
    let text = base.as_str().trim_end_matches('/');
    if text.ends_with("/v1/traces") {
        text.to_owned()
    } else {
        format!("{text}/v1/traces")
    }
}

/// The tracer provider exporting to `settings` in batches from a thread of its own. Build it
/// outside any async runtime (its HTTP client is a blocking one); call `shutdown` on it before
/// the process exits to flush the last spans.
pub fn tracer_provider(settings: &TelemetrySettings) -> Result<SdkTracerProvider, TelemetryError> {
    // The collector is reached directly: no proxy from the environment, no redirects.
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(EXPORT_TIMEOUT);
    if let Some(endpoint) = &settings.endpoint {
        exporter = exporter.with_endpoint(endpoint.clone());
    }
    if !settings.headers.is_empty() {
        exporter = exporter.with_headers(settings.headers.clone());
    }
    let exporter = exporter
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .with_resource(resource)
        .build())
}

/// The `tracing` layer that turns toolgate's spans (target [`TARGET`]) into OpenTelemetry
/// spans of `provider`; installing it turns the span helpers on.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    set_enabled();
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("toolgate"))
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(filter_fn(|metadata| metadata.target() == TARGET))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: &TelemetryConfig, vars: &[(&str, &str)]) -> Option<TelemetrySettings> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        TelemetrySettings::resolve(config, &lookup).unwrap()
    }

    #[test]
    fn off_without_an_endpoint_and_on_with_one_from_either_place() {
        assert!(resolve(&TelemetryConfig::default(), &[]).is_none());
        let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")];
        let on = resolve(&TelemetryConfig::default(), &env).unwrap();
        assert_eq!(
            on.endpoint, None,
            "the exporter applies the variable itself"
        );
        let config = TelemetryConfig {
            endpoint: Some(Url::parse("http://collector:4318/").unwrap()),
            ..TelemetryConfig::default()
        };
        let on = resolve(&config, &[]).unwrap();
        assert_eq!(
            on.endpoint.as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(on.service_name, "toolgate");
        assert_eq!(on.sample_ratio, 1.0);
    }

    #[test]
    fn the_standard_switches_turn_it_off_unless_the_config_insists() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ];
        assert!(resolve(&TelemetryConfig::default(), &env).is_none());
        let forced = TelemetryConfig {
            enabled: Some(true),
            ..TelemetryConfig::default()
        };
        assert!(resolve(&forced, &env).is_some());
        let off = TelemetryConfig {
            enabled: Some(false),
            ..TelemetryConfig::default()
        };
        assert!(resolve(&off, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]).is_none());
    }

    #[test]
    fn grpc_is_refused_with_a_way_out() {
        let lookup = |name: &str| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://c:4317".to_owned()),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".to_owned()),
            _ => None,
        };
        let error = TelemetrySettings::resolve(&TelemetryConfig::default(), &lookup).unwrap_err();
        assert!(error.to_string().contains("http/protobuf"), "{error}");
    }

    #[test]
    fn service_name_comes_from_the_config_then_the_environment() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ];
        assert_eq!(
            resolve(&TelemetryConfig::default(), &env)
                .unwrap()
                .service_name,
            "from-env"
        );
        let named = TelemetryConfig {
            service_name: Some("from-config".into()),
            ..TelemetryConfig::default()
        };
        assert_eq!(resolve(&named, &env).unwrap().service_name, "from-config");
    }
}
