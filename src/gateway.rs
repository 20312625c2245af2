//! The core of a call, independent of protocol: find the tool, validate the arguments, render
//! the request, forward it and shape the answer.

use crate::caller::Caller;
use crate::config::RuntimeConfig;
use crate::error::{CallError, ErrorCode};
use crate::forward::Forwarder;
use crate::render::RenderedRequest;
use crate::shape::{ToolResult, parse_body};
use crate::tool::Tool;
use crate::validate::validate_arguments;
use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Finds the tool, validates the arguments and renders the upstream request, sending nothing.
pub fn prepare<'c>(
    config: &'c RuntimeConfig,
    caller: &Caller,
    name: &str,
    arguments: Option<Value>,
) -> Result<(&'c Arc<Tool>, RenderedRequest), CallError> {
    let tool = config
        .tool(name)
        .ok_or_else(|| CallError::tool_not_found(name))?;
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
    let request = tool.request.render(&args, caller)?;
    Ok((tool, request))
}

/// The running gateway: the active config (swapped atomically on reload) and the shared
/// upstream client.
#[derive(Debug)]
pub struct Gateway {
    config: ArcSwap<RuntimeConfig>,
    forwarder: Forwarder,
}

impl Gateway {
    /// A gateway serving `config`.
    pub fn new(config: RuntimeConfig) -> Result<Self, reqwest::Error> {
        Ok(Self {
            config: ArcSwap::from_pointee(config),
            forwarder: Forwarder::new()?,
        })
    }

    /// The active config; a call keeps using the snapshot it started with.
    pub fn config(&self) -> Arc<RuntimeConfig> {
        self.config.load_full()
    }

    /// Replaces the active config atomically.
    pub fn swap(&self, config: RuntimeConfig) {
        self.config.store(Arc::new(config));
    }

    /// The tools `caller` may see and call, in listing order.
    pub fn visible_tools<'c>(
        &self,
        config: &'c RuntimeConfig,
        _caller: &Caller,
    ) -> impl Iterator<Item = &'c Arc<Tool>> {
        config.tools.iter()
    }

    /// Calls a tool for `caller`. `arguments` may be `None` (no arguments).
    pub async fn call_tool(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<Value>,
    ) -> Result<ToolResult, CallError> {
        let config = self.config();
        let (tool, request) = prepare(&config, caller, name, arguments)?;
        let answer = self.forwarder.send(request).await?;
        tool.response.shape(&answer)
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
