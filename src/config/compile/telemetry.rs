//! Compiling `telemetry:`: the values written in the file, checked; the `OTEL_*` fallbacks
//! are applied when the gateway starts (see [`crate::telemetry::TelemetrySettings`]).

use super::Compiler;
use crate::config::model::TelemetrySection;
use crate::telemetry::TelemetryConfig;
use url::Url;

impl Compiler<'_> {
    pub(super) fn telemetry(&mut self, section: Option<&TelemetrySection>) -> TelemetryConfig {
        let Some(section) = section else {
            return TelemetryConfig::default();
        };
        let endpoint = section.otlp_endpoint.as_ref().and_then(|text| {
            let value = self.text(text)?;
            match Url::parse(value.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    self.problem(
                        &text.referenced,
                        format!(
                            "telemetry.otlp_endpoint '{value}' is not an http(s) URL (the collector's OTLP/HTTP address, e.g. http://otel-collector:4318)"
                        ),
                    );
                    None
                }
            }
        });
        let sample_ratio = section.sample_ratio.as_ref().and_then(|ratio| {
            let valid = (0.0..=1.0).contains(&ratio.value);
            if !valid {
                self.problem(
                    &ratio.referenced,
                    format!(
                        "telemetry.sample_ratio {} must be between 0.0 and 1.0",
                        ratio.value
                    ),
                );
            }
            valid.then_some(ratio.value)
        });
        let headers = section
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), self.text(value)?)))
            .collect();
        TelemetryConfig {
            enabled: section.enabled,
            endpoint,
            service_name: section.service_name.as_ref().and_then(|t| self.text(t)),
            sample_ratio,
            headers,
        }
    }
}
