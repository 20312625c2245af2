//! A compiled tool and a compiled resource: everything a call needs, checked at load time.

use crate::render::RequestTemplate;
use crate::shape::ResponseShape;
use crate::validate::Schema;
use serde_json::Value;

/// One tool, compiled from a `tools:` entry.
#[derive(Debug)]
pub struct Tool {
    /// Unique name.
    pub name: String,
    /// Description for the model.
    pub description: String,
    /// The compiled input schema.
    pub validator: Schema,
    /// The upstream call.
    pub request: RequestTemplate,
    /// How the answer is shaped.
    pub response: ResponseShape,
    /// Whether the answer is relayed as it arrives (`response.stream`).
    pub stream: bool,
    /// The long-running job the first answer starts (`operation:`), if any.
    pub operation: Option<crate::operation::Operation>,
    /// The MCP `Tool` object served by `tools/list`, built once; it holds the only copy of
    /// the input schema (see [`Tool::input_schema`]).
    pub mcp_descriptor: Value,
    /// `tests:` entries as written: `(args, expect)`.
    pub tests: Vec<(Value, Value)>,
    /// Scopes a JWT caller's token must carry to see and call it.
    pub required_scopes: Vec<String>,
    /// Upstream calls suggesting values of some of its arguments (`complete:`), by argument.
    pub completions: Vec<(String, crate::completion::UpstreamCompletion)>,
}

impl Tool {
    /// The input schema as written (advertised to clients).
    pub fn input_schema(&self) -> &Value {
        &self.mcp_descriptor["inputSchema"]
    }

    /// The legacy `list_tools` entry (`name`, `description`, `parameters`), borrowed.
    pub fn legacy_descriptor(&self) -> LegacyDescriptor<'_> {
        LegacyDescriptor {
            name: &self.name,
            description: &self.description,
            parameters: self.input_schema(),
        }
    }
}

/// A tool as the legacy `list_tools` lists it.
#[derive(Debug, serde::Serialize)]
pub struct LegacyDescriptor<'a> {
    /// The tool's name.
    pub name: &'a str,
    /// Its description.
    pub description: &'a str,
    /// Its input schema.
    pub parameters: &'a Value,
}

/// One resource, compiled from a `resources:` entry.
#[derive(Debug)]
pub struct Resource {
    /// The URI clients read.
    pub uri: String,
    /// MIME type of the content.
    pub mime_type: String,
    /// The MCP `Resource` object served by `resources/list`, built once.
    pub descriptor: Value,
    /// The upstream call producing the content.
    pub request: RequestTemplate,
}

/// One resource template, compiled from a `resource_templates:` entry: a family of resources
/// whose URIs match `uri_template`; the values it captures fill the request like arguments.
#[derive(Debug)]
pub struct ResourceTemplate {
    /// The template as written, e.g. `crm://customers/{customer_id}`.
    pub uri_template: String,
    /// The parsed template.
    pub template: crate::uri_template::UriTemplate,
    /// MIME type of the content.
    pub mime_type: String,
    /// The MCP `ResourceTemplate` object served by `resources/templates/list`, built once.
    pub descriptor: Value,
    /// Checks the captured values (each a non-empty string) before anything is sent.
    pub validator: Schema,
    /// The upstream call producing the content; `{{args.<variable>}}` are the values.
    pub request: RequestTemplate,
}
