//! The core of a call, independent of protocol: find the tool the caller may use, apply its
//! rate limits, validate the arguments, render the request, forward it and shape the answer.

use crate::caller::Caller;
use crate::config::RuntimeConfig;
use crate::error::{CallError, ErrorCode};
use crate::forward::Forwarder;
use crate::metrics::{LimitLabels, Metrics};
use crate::render::RenderedRequest;
use crate::shape::{ToolResult, parse_body};
use crate::tool::Tool;
use crate::validate::validate_arguments;
use arc_swap::ArcSwap;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The header carrying the request id upstream.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How often idle callers are evicted from the rate limiters.
const EVICTION_PERIOD: Duration = Duration::from_secs(60);

/// The tool `name` if `caller` may use it; otherwise `tool_not_found`, never a hint that a
/// hidden tool exists.
pub fn find_tool<'c>(
    config: &'c RuntimeConfig,
    caller: &Caller,
    name: &str,
) -> Result<&'c Arc<Tool>, CallError> {
    config
        .tool(name)
        .filter(|_| caller.may_use(name))
        .ok_or_else(|| CallError::tool_not_found(name))
}

/// Validates the arguments and renders the upstream request, sending nothing.
pub fn render_call(
    tool: &Tool,
    caller: &Caller,
    arguments: Option<Value>,
) -> Result<RenderedRequest, CallError> {
    let args = match arguments {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(args @ Value::Object(_)) => args,
        Some(_) => {
            return Err(CallError::invalid_parameter(
                "/",
                "arguments must be a JSON object",
            ));
        }
    };
    validate_arguments(&tool.validator, &args)?;
    tool.request.render(&args, caller)
}

/// [`find_tool`] then [`render_call`]: what `toolgate render` and `toolgate test` show.
pub fn prepare<'c>(
    config: &'c RuntimeConfig,
    caller: &Caller,
    name: &str,
    arguments: Option<Value>,
) -> Result<(&'c Arc<Tool>, RenderedRequest), CallError> {
    let tool = find_tool(config, caller, name)?;
    Ok((tool, render_call(tool, caller, arguments)?))
}

/// The running gateway: the active config (swapped atomically on reload) and the shared
/// upstream client.
#[derive(Debug)]
pub struct Gateway {
    config: ArcSwap<RuntimeConfig>,
    forwarder: Forwarder,
    metrics: Arc<Metrics>,
}

impl Gateway {
    /// A gateway serving `config`.
    pub fn new(config: RuntimeConfig) -> Result<Self, reqwest::Error> {
        let metrics = Arc::new(Metrics::default());
        metrics.set_config_version(&config.version);
        let forwarder = Forwarder::new(metrics.clone(), config.server.allow_link_local)?;
        Ok(Self {
            config: ArcSwap::from_pointee(config),
            forwarder,
            metrics,
        })
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The active config; a call keeps using the snapshot it started with.
    pub fn config(&self) -> Arc<RuntimeConfig> {
        self.config.load_full()
    }

    /// Replaces the active config atomically. Rate-limit state carries over for every limit
    /// whose scope and rate are unchanged.
    pub fn swap(&self, mut config: RuntimeConfig) {
        config.limits.adopt(&self.config.load().limits);
        self.metrics.set_config_version(&config.version);
        self.config.store(Arc::new(config));
    }

    /// Evicts idle callers from the rate limiters every minute, for as long as the gateway
    /// lives. Must be called inside a Tokio runtime.
    pub fn spawn_maintenance(self: &Arc<Self>) {
        let gateway = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(EVICTION_PERIOD);
            loop {
                ticker.tick().await;
                match gateway.upgrade() {
                    Some(gateway) => gateway.config().limits.evict_idle(),
                    None => break,
                }
            }
        });
    }

    /// The tools `caller` may see and call, in listing order.
    pub fn visible_tools<'c>(
        &self,
        config: &'c RuntimeConfig,
        caller: &'c Caller,
    ) -> impl Iterator<Item = &'c Arc<Tool>> {
        config
            .tools
            .iter()
            .filter(|tool| caller.may_use(&tool.name))
    }

    /// Calls a tool for `caller`. `arguments` may be `None` (no arguments); `request_id` is
    /// passed upstream as `X-Request-Id`.
    pub async fn call_tool(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<Value>,
        request_id: &str,
    ) -> Result<ToolResult, CallError> {
        let config = self.config();
        let started = Instant::now();
        self.metrics.in_flight.inc();
        let outcome = async {
            let tool = find_tool(&config, caller, name)?;
            config.limits.check(caller, name).await?;
            let mut request = render_call(tool, caller, arguments)?;
            if let Ok(value) = HeaderValue::from_str(request_id) {
                request.headers.insert(REQUEST_ID, value);
            }
            let answer = self.forwarder.send(request).await?;
            tool.response.shape(&answer)
        }
        .await;
        self.metrics.in_flight.dec();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let code = match &outcome {
            Ok(_) => "ok",
            Err(error) => error.code.as_str(),
        };
        if let Err(error) = &outcome
            && error.code == ErrorCode::RateLimitExceeded
            && let Some(limit) = error.details.get("limit").and_then(Value::as_str)
        {
            self.metrics
                .rate_limited
                .get_or_create(&LimitLabels {
                    limit: limit.to_owned(),
                })
                .inc();
        }
        // Tools that do not exist are not counted by name: a caller could invent names without
        // bound.
        let tool_label = if config.tool(name).is_some() {
            name
        } else {
            "(unknown)"
        };
        self.metrics.record_call(tool_label, &caller.id, code);
        tracing::info!(request_id, tool = name, caller = %caller.id, outcome = code, elapsed_ms, "tool call");
        outcome
    }

    /// Reads a resource by URI: `(mime type, content)`.
    pub async fn read_resource(
        &self,
        caller: &Caller,
        uri: &str,
    ) -> Result<(String, ToolResult), CallError> {
        let config = self.config();
        let resource = config.resource(uri).ok_or_else(|| {
            CallError::new(
                ErrorCode::InvalidParameters,
                format!("unknown resource '{uri}'"),
            )
        })?;
        let request = resource
            .request
            .render(&Value::Object(Map::new()), caller)?;
        let answer = self.forwarder.send(request).await?;
        let value = parse_body(&answer);
        let text = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok((
            resource.mime_type.clone(),
            ToolResult {
                value,
                text,
                truncated: false,
            },
        ))
    }
}
