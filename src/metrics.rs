//! Prometheus metrics: requests, tool calls and their duration, upstream latency, rate-limit
//! rejections, output schema mismatches, reloads, config version and calls in flight. Labels
//! never carry secrets or argument values.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

/// Redis failures while checking shared rate limits (process-wide: the Redis limiter is built
/// with the config, before any registry exists).
pub static REDIS_ERRORS: LazyLock<Counter> = LazyLock::new(Counter::default);
use std::time::Duration;

/// Labels of an HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern, e.g. `/mcp`.
    pub endpoint: String,
    /// The HTTP status.
    pub status: u16,
}

/// Labels of a tool call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The tool.
    pub tool: String,
    /// The caller's id (never a key or token).
    pub caller: String,
    /// `ok` or the error code.
    pub outcome: String,
}

/// Labels of an upstream exchange.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// The upstream's name.
    pub upstream: String,
    /// The HTTP status, or `error` / `timeout` when there was none.
    pub status: String,
}

/// Labels naming one limit.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `tier:NAME` or `tool:NAME`.
    pub limit: String,
}

/// Labels of a token fetch from an upstream's token endpoint.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// The upstream the token is for.
    pub upstream: String,
    /// `ok`, `refused` (an error answer or an unusable token), `unreachable` or `timeout`.
    pub outcome: String,
}

/// Labels naming one tool.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    /// The tool (`(unknown)` for names the caller cannot see).
    pub tool: String,
}

/// Labels of the tool-call duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DurationLabels {
    /// The tool (`(unknown)` for names the caller cannot see).
    pub tool: String,
    /// `ok`, the error code, or `cancelled` (as in `toolgate_tool_calls_total`).
    pub outcome: &'static str,
}

/// Labels of a finished long-running operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The tool.
    pub tool: String,
    /// `ok`, `cancelled` or the error code.
    pub outcome: String,
}

/// Labels carrying the config version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    /// The serving config's version.
    pub version: String,
}

/// Every metric of the gateway, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by endpoint and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Tool calls by tool, caller and outcome.
    pub tool_calls: Family<CallLabels, Counter>,
    /// Tool-call duration by tool and outcome (the MCP semantic convention's
    /// `mcp.server.operation.duration` for `tools/call`).
    pub call_durations: Family<DurationLabels, Histogram>,
    /// Upstream latency by upstream and status.
    pub upstream_latency: Family<UpstreamLabels, Histogram>,
    /// Calls refused by a rate limit.
    pub rate_limited: Family<LimitLabels, Counter>,
    /// Upstream answers that did not match their tool's `output_schema`, by tool.
    pub output_mismatches: Family<ToolLabels, Counter>,
    /// 1 for the serving config's version (the older name of [`ConfigInfo`]).
    pub config_version: Family<VersionLabels, Gauge>,
    /// `toolgate_config_info{version}`: the serving config's version as an OpenMetrics info.
    pub config_info: Arc<ConfigInfo>,
    /// Tool calls in flight.
    pub in_flight: Gauge,
    /// Token requests to upstream token endpoints by upstream and outcome.
    pub token_fetches: Family<TokenLabels, Counter>,
    /// Long-running operations (`operation:`) being followed.
    pub operations_in_flight: Gauge,
    /// How long finished operations took, by tool and outcome.
    pub operation_duration: Family<OperationLabels, Histogram>,
    /// Status requests each finished operation sent, by tool.
    pub operation_polls: Family<ToolLabels, Histogram>,
    version_shown: Mutex<Option<String>>,
    /// Per-tool figures since start, for `GET /admin/tools`.
    pub tool_stats: ToolStats,
    /// The series of [`Self::upstream_latency`], by upstream then status.
    upstream_series: SeriesCache<Histogram>,
}

/// Calls, errors and latency of one tool since start.
#[derive(Debug, Default)]
pub struct ToolFigures {
    /// Finished calls.
    pub calls: AtomicU64,
    /// Calls that ended in an error.
    pub errors: AtomicU64,
    /// Sum of call durations, in microseconds.
    pub total_us: AtomicU64,
    /// Longest call, in microseconds.
    pub max_us: AtomicU64,
    /// Calls by duration: `buckets[i]` counts calls of at most [`LATENCY_BOUNDS_MS`]`[i]`
    /// (the last one, every longer call).
    pub buckets: [AtomicU64; LATENCY_BOUNDS_MS.len() + 1],
    /// This tool's series of the duration histogram, one per outcome seen so far (a handful:
    /// found by a short scan, so a call never builds a label set or hashes one).
    durations: RwLock<Vec<(&'static str, Histogram)>>,
    /// This tool's series of `toolgate_tool_calls_total`, by caller label then outcome.
    call_series: SeriesCache<Counter>,
}

/// The serving config's version as an OpenMetrics info metric: `toolgate_config_info{version}`
/// (value 1), replaced on every reload.
#[derive(Debug, Default)]
pub struct ConfigInfo {
    version: RwLock<String>,
}

impl Collector for ConfigInfo {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(version) = self.version.read() else {
            return Ok(());
        };
        let info = prometheus_client::metrics::info::Info::new(VersionLabels {
            version: version.clone(),
        });
        let metric = encoder.encode_descriptor(
            "config",
            "The serving config's version",
            None,
            MetricType::Info,
        )?;
        info.encode(metric)
    }
}

/// Upper bounds (ms) of the per-tool latency buckets behind the console's p50 / p99.
pub const LATENCY_BOUNDS_MS: [f64; 14] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
];

impl ToolFigures {
    /// The upper bound (ms) of the bucket holding quantile `q` (0..1) of the calls, `None`
    /// before the first call; past the last bound, the longest call.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(
                    LATENCY_BOUNDS_MS
                        .get(i)
                        .copied()
                        .unwrap_or_else(|| self.max_us.load(Ordering::Relaxed) as f64 / 1000.0),
                );
            }
        }
        None
    }
}

/// Per-tool figures, keyed by tool name.
#[derive(Debug, Default)]
pub struct ToolStats {
    tools: RwLock<HashMap<String, Arc<ToolFigures>>>,
}

impl ToolStats {
    fn record(&self, tool: &str, ok: bool, elapsed: Duration) -> Arc<ToolFigures> {
        let figures = self.figures(tool);
        let us = elapsed.as_micros() as u64;
        figures.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            figures.errors.fetch_add(1, Ordering::Relaxed);
        }
        figures.total_us.fetch_add(us, Ordering::Relaxed);
        figures.max_us.fetch_max(us, Ordering::Relaxed);
        let ms = us as f64 / 1000.0;
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|bound| ms <= *bound)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        figures.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        figures
    }

    fn figures(&self, tool: &str) -> Arc<ToolFigures> {
        if let Some(found) = self.tools.read().ok().and_then(|t| t.get(tool).cloned()) {
            return found;
        }
        match self.tools.write() {
            Ok(mut tools) => tools.entry(tool.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// A snapshot: `(tool, figures)` sorted by tool name.
    pub fn snapshot(&self) -> Vec<(String, Arc<ToolFigures>)> {
        let mut all: Vec<_> = self
            .tools
            .read()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

impl ToolFigures {
    /// This tool's duration series for `outcome`, taken from `family` the first time.
    fn duration(
        &self,
        family: &Family<DurationLabels, Histogram>,
        tool: &str,
        outcome: &'static str,
    ) -> Option<Histogram> {
        let cached = |series: &[(&'static str, Histogram)]| {
            series
                .iter()
                .find(|(seen, _)| *seen == outcome)
                .map(|(_, histogram)| histogram.clone())
        };
        if let Some(found) = self.durations.read().ok().and_then(|s| cached(&s)) {
            return Some(found);
        }
        let mut series = self.durations.write().ok()?;
        if let Some(found) = cached(&series) {
            return Some(found);
        }
        let histogram = family
            .get_or_create(&DurationLabels {
                tool: tool.to_owned(),
                outcome,
            })
            .clone();
        series.push((outcome, histogram.clone()));
        Some(histogram)
    }
}

impl ToolFigures {
    /// Counts one call of this tool by `caller` ending in `outcome` in `family`.
    fn count_call(
        &self,
        family: &Family<CallLabels, Counter>,
        tool: &str,
        caller: &str,
        outcome: &'static str,
    ) {
        let create = || {
            family
                .get_or_create(&CallLabels {
                    tool: tool.to_owned(),
                    caller: caller.to_owned(),
                    outcome: outcome.to_owned(),
                })
                .clone()
        };
        self.call_series.with(caller, outcome, create, |counter| {
            counter.inc();
        });
    }
}

/// Series of a metric family taken from it the first time, by one label (a map) then another
/// (a short list): a call then hashes one short string and builds no label set. The series
/// are the family's own, so the exposition is unchanged.
#[derive(Debug)]
struct SeriesCache<M> {
    series: RwLock<SeriesByLabels<M>>,
}

/// Series by their first label, then their second.
type SeriesByLabels<M> = HashMap<String, Vec<(Box<str>, M)>>;

impl<M> Default for SeriesCache<M> {
    fn default() -> Self {
        Self {
            series: RwLock::default(),
        }
    }
}

impl<M: Clone> SeriesCache<M> {
    /// Applies `apply` to the series of (`first`, `second`), taken from the family by
    /// `create` the first time.
    fn with(&self, first: &str, second: &str, create: impl FnOnce() -> M, apply: impl Fn(&M)) {
        let found = |series: &SeriesByLabels<M>| {
            series
                .get(first)?
                .iter()
                .find(|(seen, _)| **seen == *second)
                .map(|(_, metric)| apply(metric))
        };
        if self.series.read().ok().and_then(|s| found(&s)).is_some() {
            return;
        }
        let metric = create();
        apply(&metric);
        if let Ok(mut series) = self.series.write() {
            let kept = series.entry(first.to_owned()).or_default();
            if !kept.iter().any(|(seen, _)| **seen == *second) {
                kept.push((second.into(), metric));
            }
        }
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

fn operation_histogram() -> Histogram {
    Histogram::new([
        0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
    ])
}

fn polls_histogram() -> Histogram {
    Histogram::new([0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("toolgate");
        let requests = Family::<RequestLabels, Counter>::default();
        let tool_calls = Family::<CallLabels, Counter>::default();
        let call_durations = Family::<DurationLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let upstream_latency = Family::<UpstreamLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        let output_mismatches = Family::<ToolLabels, Counter>::default();
        let config_version = Family::<VersionLabels, Gauge>::default();
        let config_info = Arc::new(ConfigInfo::default());
        let in_flight = Gauge::default();
        let token_fetches = Family::<TokenLabels, Counter>::default();
        let operations_in_flight = Gauge::default();
        let operation_duration = Family::<OperationLabels, Histogram>::new_with_constructor(
            operation_histogram as fn() -> Histogram,
        );
        let operation_polls = Family::<ToolLabels, Histogram>::new_with_constructor(
            polls_histogram as fn() -> Histogram,
        );
        registry.register(
            "upstream_jobs_in_flight",
            "Long-running upstream operations being followed",
            operations_in_flight.clone(),
        );
        registry.register(
            "upstream_job_duration_seconds",
            "Duration of finished long-running operations by tool and outcome",
            operation_duration.clone(),
        );
        registry.register(
            "upstream_job_polls",
            "Status requests per finished long-running operation, by tool",
            operation_polls.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by endpoint and status",
            requests.clone(),
        );
        registry.register(
            "tool_calls",
            "Tool calls by tool, caller and outcome",
            tool_calls.clone(),
        );
        registry.register(
            "mcp_server_operation_duration_seconds",
            "Tool-call duration by tool and outcome (MCP semantic convention mcp.server.operation.duration, tools/call)",
            call_durations.clone(),
        );
        registry.register(
            "upstream_request_duration_seconds",
            "Upstream request latency by upstream and status",
            upstream_latency.clone(),
        );
        registry.register(
            "rate_limit_rejections",
            "Calls refused by a rate limit",
            rate_limited.clone(),
        );
        registry.register(
            "output_schema_mismatches",
            "Upstream answers that did not match their tool's output_schema, by tool",
            output_mismatches.clone(),
        );
        registry.register(
            "config_version",
            "The serving config's version (value 1; the older name of toolgate_config_info)",
            config_version.clone(),
        );
        registry.register_collector(Box::new(config_info.clone()));
        registry.register(
            "tool_calls_in_flight",
            "Tool calls in flight",
            in_flight.clone(),
        );
        registry.register(
            "upstream_token_fetches",
            "Token requests to upstream token endpoints by upstream and outcome",
            token_fetches.clone(),
        );
        registry.register(
            "redis_errors",
            "Redis failures while checking shared rate limits",
            REDIS_ERRORS.clone(),
        );
        Self {
            registry,
            requests,
            tool_calls,
            call_durations,
            upstream_latency,
            rate_limited,
            output_mismatches,
            config_version,
            config_info,
            in_flight,
            token_fetches,
            operations_in_flight,
            operation_duration,
            operation_polls,
            version_shown: Mutex::new(None),
            tool_stats: ToolStats::default(),
            upstream_series: SeriesCache::default(),
        }
    }
}

impl Metrics {
    /// Records one finished tool call and how long it took.
    pub fn record_call(&self, tool: &str, caller: &str, outcome: &'static str, elapsed: Duration) {
        let figures = self.tool_stats.record(tool, outcome == "ok", elapsed);
        if let Some(histogram) = figures.duration(&self.call_durations, tool, outcome) {
            histogram.observe(elapsed.as_secs_f64());
        }
        figures.count_call(&self.tool_calls, tool, caller, outcome);
    }

    /// Records one finished long-running operation: how long it took and how many status
    /// requests it sent.
    pub fn record_operation(&self, tool: &str, outcome: &str, elapsed: Duration, polls: u32) {
        self.operation_duration
            .get_or_create(&OperationLabels {
                tool: tool.to_owned(),
                outcome: outcome.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
        self.operation_polls
            .get_or_create(&ToolLabels {
                tool: tool.to_owned(),
            })
            .observe(f64::from(polls));
    }

    /// Records one upstream exchange.
    pub fn record_upstream(&self, upstream: &str, status: &str, elapsed: Duration) {
        let create = || {
            self.upstream_latency
                .get_or_create(&UpstreamLabels {
                    upstream: upstream.to_owned(),
                    status: status.to_owned(),
                })
                .clone()
        };
        let seconds = elapsed.as_secs_f64();
        self.upstream_series
            .with(upstream, status, create, |histogram| {
                histogram.observe(seconds)
            });
    }

    /// Counts one token request for `upstream` with its outcome.
    pub fn record_token_fetch(&self, upstream: &str, outcome: &str) {
        self.token_fetches
            .get_or_create(&TokenLabels {
                upstream: upstream.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Shows `version` as the serving config's version.
    pub fn set_config_version(&self, version: &str) {
        let Ok(mut shown) = self.version_shown.lock() else {
            return;
        };
        if let Some(old) = shown.take() {
            self.config_version.remove(&VersionLabels { version: old });
        }
        self.config_version
            .get_or_create(&VersionLabels {
                version: version.to_owned(),
            })
            .set(1);
        *shown = Some(version.to_owned());
        if let Ok(mut info) = self.config_info.version.write() {
            version.clone_into(&mut info);
        }
    }

    /// The Prometheus (OpenMetrics) text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The call and upstream series lines of `text`, sorted: series are rendered in hash order.
    fn series(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| {
                l.starts_with("toolgate_tool_calls_total")
                    || l.starts_with("toolgate_upstream_request_duration_seconds")
            })
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn cached_series_count_like_the_families() {
        let cached = Metrics::default();
        let direct = Metrics::default();
        let calls = [
            ("get", "ops", "ok"),
            ("get", "ops", "ok"),
            ("get", "jwt:acme", "ok"),
            ("get", "ops", "upstream_error"),
            ("post", "ops", "ok"),
        ];
        for (tool, caller, outcome) in calls {
            cached.record_call(tool, caller, outcome, Duration::from_micros(1500));
            direct
                .tool_calls
                .get_or_create(&CallLabels {
                    tool: tool.into(),
                    caller: caller.into(),
                    outcome: outcome.into(),
                })
                .inc();
        }
        for (upstream, status) in [("a", "200"), ("a", "200"), ("a", "500"), ("b", "timeout")] {
            cached.record_upstream(upstream, status, Duration::from_millis(3));
            direct
                .upstream_latency
                .get_or_create(&UpstreamLabels {
                    upstream: upstream.into(),
                    status: status.into(),
                })
                .observe(0.003);
        }
        let text = cached.render();
        assert_eq!(series(&text), series(&direct.render()));
        assert!(
            text.contains(r#"toolgate_tool_calls_total{tool="get",caller="ops",outcome="ok"} 2"#)
        );
        assert!(text.contains(
            r#"toolgate_upstream_request_duration_seconds_count{upstream="a",status="200"} 2"#
        ));
    }
}
