//! The core of a call, independent of protocol: find the tool the caller may use, apply its
//! rate limits, validate the arguments, render the request, forward it and shape the answer.

use crate::caller::{Access, Caller};
use crate::config::RuntimeConfig;
use crate::error::{CallError, ErrorCode};
use crate::forward::{Answer, Dispatch, Forwarder, LineStream};
use crate::metrics::{LimitLabels, Metrics, ToolLabels};
use crate::operation::JobProgress;
use crate::operation::run::OpenOperation;
use crate::render::RenderedRequest;
use crate::shape::{ResponseShape, ToolResult};
use crate::tool::Tool;
use crate::validate::validate_arguments;
use arc_swap::ArcSwap;
use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The header carrying the request id upstream.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How often idle callers are evicted from the rate limiters.
const EVICTION_PERIOD: Duration = Duration::from_secs(60);

/// The tool `name` if `caller` may use it; otherwise `tool_not_found` (never a hint that a
/// hidden tool exists), or `forbidden` naming the scopes a JWT caller's token lacks.
pub fn find_tool<'c>(
    config: &'c RuntimeConfig,
    caller: &Caller,
    name: &str,
) -> Result<&'c Arc<Tool>, CallError> {
    let tool = config
        .tool(name)
        .ok_or_else(|| CallError::tool_not_found(name))?;
    match caller.access(name, &tool.required_scopes) {
        Access::Allowed => Ok(tool),
        Access::Hidden => Err(CallError::tool_not_found(name)),
        Access::MissingScopes(missing) => Err(insufficient_scope(tool, &missing)),
    }
}

/// `forbidden` for a JWT caller whose token lacks some of `tool`'s required scopes;
/// `details.required_scopes` lists all of them (what a new token must carry).
pub fn insufficient_scope(tool: &Tool, missing: &[String]) -> CallError {
    CallError::new(
        ErrorCode::Forbidden,
        format!(
            "insufficient scope: tool '{}' needs the scopes {}",
            tool.name,
            tool.required_scopes.join(" ")
        ),
    )
    .with_details(serde_json::json!({
        "error": "insufficient_scope",
        "required_scopes": tool.required_scopes,
        "missing_scopes": missing,
    }))
}

/// Validates the arguments and renders the upstream request, sending nothing.
pub fn render_call(
    tool: &Tool,
    caller: &Caller,
    arguments: Option<Value>,
) -> Result<RenderedRequest, CallError> {
    let args = checked_arguments(tool, arguments)?;
    crate::telemetry::phase("render").in_scope(|| tool.request.render(&args, caller))
}

/// The arguments as a JSON object (none: an empty one), validated against the input schema.
fn checked_arguments(tool: &Tool, arguments: Option<Value>) -> Result<Value, CallError> {
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
    crate::telemetry::phase("validate").in_scope(|| validate_arguments(&tool.validator, &args))?;
    Ok(args)
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
    dispatch: Dispatch,
    metrics: Arc<Metrics>,
}

impl Gateway {
    /// A gateway serving `config`.
    pub fn new(config: RuntimeConfig) -> Result<Self, crate::forward::client::ClientError> {
        let metrics = Arc::new(Metrics::default());
        metrics.set_config_version(&config.version);
        let forwarder = Forwarder::new(metrics.clone(), config.server.allow_link_local)?;
        Ok(Self {
            config: ArcSwap::from_pointee(config),
            dispatch: Dispatch::new(forwarder, metrics.clone()),
            metrics,
        })
    }

    /// Sends requests upstream with their upstream's credentials.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The active config; a call keeps using the snapshot it started with.
    pub fn config(&self) -> Arc<RuntimeConfig> {
        self.config.load_full()
    }

    /// Replaces the active config atomically and returns the one it replaces (calls in flight
    /// may still hold it). Rate-limit state carries over for every limit whose scope and rate
    /// are unchanged, upstream tokens for every upstream whose grant is unchanged.
    pub fn swap(&self, mut config: RuntimeConfig) -> Arc<RuntimeConfig> {
        let serving = self.config.load();
        config.limits.adopt(&serving.limits);
        crate::credentials::carry_over_tokens(&config.upstreams, &serving.upstreams);
        drop(serving);
        self.metrics.set_config_version(&config.version);
        self.config.swap(Arc::new(config))
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
        // Listing pages through every tool: skip the per-tool decision when it cannot hide any
        // (the first rule of `Caller::access`).
        let everything = caller.sees_every_tool();
        config.tools.iter().filter(move |tool| {
            everything || caller.access(&tool.name, &tool.required_scopes) == Access::Allowed
        })
    }

    /// Calls a tool for `caller`. `arguments` may be `None` (no arguments); `request_id` is
    /// passed upstream as `X-Request-Id`. A line-stream answer is collected (see
    /// [`OpenCall::collect`]).
    pub async fn call_tool(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<Value>,
        request_id: &str,
    ) -> Result<ToolResult, CallError> {
        self.call_tool_with_progress(caller, name, arguments, request_id, &mut |_| {})
            .await
    }

    /// [`call_tool`](Self::call_tool), reporting each line of a line-stream answer to
    /// `progress` as it arrives.
    pub async fn call_tool_with_progress(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<Value>,
        request_id: &str,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ToolResult, CallError> {
        match self.open_call(caller, name, arguments, request_id).await? {
            Opened::Done(result) => Ok(result),
            Opened::Lines(call) => call.collect(progress).await,
            // Boxed: the polling loop's future would otherwise size every call's.
            Opened::Operation(call) => {
                Box::pin(call.run(&mut |job| progress(Progress::Job(job)))).await
            }
        }
    }

    /// Starts a tool call: everything up to the upstream's answer head. A whole answer is
    /// shaped and returned; a line stream (NDJSON, or the text lines of a streaming tool) is
    /// handed over as an [`OpenCall`] to be read as it arrives. The call is counted in the
    /// metrics and logged when it ends, however it ends: a call dropped before its end (the
    /// client cancelled or disconnected) is recorded as `cancelled`, and dropping it closes
    /// the upstream connection.
    pub async fn open_call(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<Value>,
        request_id: &str,
    ) -> Result<Opened, CallError> {
        let config = self.config();
        let record = CallRecord::start(self.metrics.clone(), &config, caller, name, request_id);
        let outcome = async {
            let tool = find_tool(&config, caller, name)?.clone();
            crate::telemetry::in_span!(
                crate::telemetry::phase("rate_limit"),
                config.limits.check(caller, name)
            )?;
            let args = checked_arguments(&tool, arguments)?;
            let mut request = crate::telemetry::phase("render")
                .in_scope(|| tool.request.render(&args, caller))?;
            if let Ok(value) = HeaderValue::from_str(request_id) {
                request.headers.insert(REQUEST_ID, value);
            }
            if tool.operation.is_some() {
                let first = Box::pin(self.dispatch.send(caller, request.clone())).await?;
                return OpenOperation::start(&self.dispatch, &tool, &request, first, &args, caller)
                    .map(|call| Opened::Operation(Box::new(call)));
            }
            match self
                .dispatch
                .forward(caller, request, Some(tool.stream))
                .await?
            {
                Answer::Whole(answer) => Ok(Opened::Done(
                    crate::telemetry::phase("shape").in_scope(|| tool.response.shape(&answer))?,
                )),
                Answer::Lines(lines) => Ok(Opened::Lines(Box::new(OpenCall {
                    tool,
                    lines,
                    record: None,
                    seen: 0,
                }))),
            }
        }
        .await;
        match outcome {
            Ok(Opened::Lines(mut call)) => {
                call.record = Some(record);
                Ok(Opened::Lines(call))
            }
            Ok(Opened::Operation(mut call)) => {
                call.record = Some(record);
                Ok(Opened::Operation(call))
            }
            other => {
                record.finish(other.as_ref().err());
                other
            }
        }
    }

    /// Whether `uri` names a resource: one of `resources`, or a URI matching one of
    /// `resource_templates`.
    pub fn resource_exists(&self, uri: &str) -> bool {
        let config = self.config();
        config.resource(uri).is_some() || config.resource_template(uri).is_some()
    }

    /// Reads a resource by URI: `(mime type, content)`. A URI matching a resource template
    /// fills the template's request with the values it captured (validated first). A binary
    /// answer is kept as bytes ([`ToolResult::media`]).
    pub async fn read_resource(
        &self,
        caller: &Caller,
        uri: &str,
    ) -> Result<(String, ToolResult), CallError> {
        let config = self.config();
        let (mime_type, request) = if let Some(resource) = config.resource(uri) {
            let request = resource
                .request
                .render(&Value::Object(Map::new()), caller)?;
            (resource.mime_type.clone(), request)
        } else if let Some((template, values)) = config.resource_template(uri) {
            let args = Value::Object(values);
            validate_arguments(&template.validator, &args)?;
            let request = template.request.render(&args, caller)?;
            (template.mime_type.clone(), request)
        } else {
            return Err(CallError::new(
                ErrorCode::InvalidParameters,
                format!("unknown resource '{uri}'"),
            )
            .with_details(serde_json::json!({ "uri": uri })));
        };
        let answer = self.dispatch.send(caller, request).await?;
        // Read as a tool's answer without `response:` settings: JSON, text or binary, whole.
        let result = ResponseShape::default().shape(&answer)?;
        Ok((mime_type, result))
    }
}

/// What a call reports while it runs.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// A line of a line-stream answer arrived.
    Line {
        /// Lines received so far, this one included (starts at 1).
        lines: u64,
        /// The line, without its line ending.
        line: &'a [u8],
    },
    /// A long-running operation's status was read (and its progress moved).
    Job(JobProgress),
}

/// A started tool call.
#[derive(Debug)]
pub enum Opened {
    /// The upstream answered in one piece; this is the shaped result.
    Done(ToolResult),
    /// The upstream answers with a stream of lines, still arriving.
    Lines(Box<OpenCall>),
    /// The first answer started a long-running job, still to be followed.
    Operation(Box<OpenOperation>),
}

/// A tool call whose upstream answer is a line stream being read as it arrives.
#[derive(Debug)]
pub struct OpenCall {
    tool: Arc<Tool>,
    lines: LineStream,
    record: Option<CallRecord>,
    seen: u64,
}

impl OpenCall {
    /// Whether each line is JSON (an NDJSON answer) rather than text.
    pub fn ndjson(&self) -> bool {
        self.lines.ndjson
    }

    /// The next complete lines as they arrive; `None` at the end, when the call is recorded
    /// as done. Memory stays bounded however long the answer is.
    pub async fn next_lines(&mut self) -> Result<Option<Vec<Bytes>>, CallError> {
        let next = self.lines.next_lines().await;
        match &next {
            Ok(Some(lines)) => self.seen += lines.len() as u64,
            Ok(None) => self.finish(None),
            Err(error) => self.finish(Some(error)),
        }
        next
    }

    /// Reads the rest of the answer, reporting every line to `progress`, and shapes it: the
    /// result is the JSON array of the lines (each parsed as JSON when the answer is NDJSON
    /// and the line is valid JSON, else kept as a string), with the tool's `pick`,
    /// `output_schema` and `max_bytes` applied. Lines are kept up to the upstream's
    /// `max_response_bytes`; later ones are counted and reported but not kept, and the result
    /// says so (it is marked truncated).
    pub async fn collect(
        mut self,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ToolResult, CallError> {
        let outcome = self.collect_lines(progress).await;
        self.finish(outcome.as_ref().err());
        outcome
    }

    async fn collect_lines(
        &mut self,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ToolResult, CallError> {
        let budget = self.lines.max_line_bytes() as usize;
        let mut kept = Vec::new();
        let mut kept_bytes = 0usize;
        let mut dropped = 0u64;
        while let Some(lines) = self.lines.next_lines().await? {
            for line in &lines {
                self.seen += 1;
                progress(Progress::Line {
                    lines: self.seen,
                    line,
                });
                if dropped == 0 && kept_bytes + line.len() <= budget {
                    kept_bytes += line.len() + 1;
                    kept.push(line_value(line, self.lines.ndjson));
                } else {
                    dropped += 1;
                }
            }
        }
        self.tool.response.shape_lines(kept, dropped)
    }

    fn finish(&mut self, error: Option<&CallError>) {
        if let Some(record) = self.record.take() {
            record.finish(error);
        }
    }
}

/// One line as a JSON value: parsed when the answer is NDJSON and it parses, else a string.
pub fn line_value(line: &[u8], ndjson: bool) -> Value {
    if ndjson && let Ok(value) = serde_json::from_slice(line) {
        return value;
    }
    Value::String(String::from_utf8_lossy(line).into_owned())
}

/// Counts a call in flight and, once it ends, in `toolgate_tool_calls_total` and the log; a
/// call dropped before it ended is recorded as `cancelled`.
#[derive(Debug)]
pub(crate) struct CallRecord {
    metrics: Arc<Metrics>,
    /// Whether the tool exists and the caller may use it (else it is counted as `(unknown)`).
    known_tool: bool,
    name: String,
    caller: String,
    /// The `caller` label of the metrics (bounded: see [`Caller::metrics_label`]).
    caller_label: String,
    request_id: String,
    started: Instant,
    done: bool,
    /// The request's trace span, which gets the outcome (none when traces are off).
    span: tracing::Span,
}

impl CallRecord {
    fn start(
        metrics: Arc<Metrics>,
        config: &RuntimeConfig,
        caller: &Caller,
        name: &str,
        request_id: &str,
    ) -> Self {
        metrics.in_flight.inc();
        // Tools that do not exist are not counted by name: a caller could invent names
        // without bound.
        // A tool the caller may not use is labelled exactly like a missing one: `/metrics`
        // must not tell which hidden tools exist.
        Self {
            metrics,
            known_tool: config.tool(name).is_some() && caller.may_use(name),
            name: name.to_owned(),
            caller: caller.id.clone(),
            caller_label: caller.metrics_label(),
            request_id: request_id.to_owned(),
            started: Instant::now(),
            done: false,
            span: crate::telemetry::current(),
        }
    }

    pub(crate) fn finish(mut self, error: Option<&CallError>) {
        if let Some(error) = error
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
        if error.is_some_and(crate::shape::is_output_mismatch) {
            self.metrics
                .output_mismatches
                .get_or_create(&ToolLabels {
                    tool: self.tool_label().to_owned(),
                })
                .inc();
        }
        self.write(error.map_or("ok", |e| e.code.as_str()));
    }

    /// The `tool` label of the call's metrics: its name, or `(unknown)`.
    fn tool_label(&self) -> &str {
        if self.known_tool {
            &self.name
        } else {
            "(unknown)"
        }
    }

    /// The metrics the call is counted in.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn write(&mut self, outcome: &'static str) {
        self.done = true;
        self.metrics.in_flight.dec();
        let elapsed = self.started.elapsed();
        self.metrics
            .record_call(self.tool_label(), &self.caller_label, outcome, elapsed);
        crate::telemetry::record_outcome(&self.span, outcome);
        // Whole microseconds: the log shows `0.048`, not `0.047828999999999997`.
        let elapsed_ms = elapsed.as_micros() as f64 / 1000.0;
        tracing::info!(request_id = %self.request_id, tool = %self.name, caller = %self.caller, outcome, elapsed_ms, "tool call");
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        if !self.done {
            // Dropped half-way: the client cancelled the request or went away.
            self.write("cancelled");
        }
    }
}
