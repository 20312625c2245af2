//! Compiling `tools:`, `resources:` and `resource_templates:` entries: names, descriptions,
//! schemas, response shaping and MCP descriptors. Their requests compile in `request.rs`.

use super::{Compiler, Upstreams};
use crate::completion::UpstreamCompletion;
use crate::config::model::{ResourceSection, ResourceTemplateSection, ToolSection};
use crate::shape::ResponseShape;
use crate::tool::{Resource, ResourceTemplate, Tool};
use reqwest::Method;
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

impl Compiler<'_> {
    /// Compiles one tool; the section is consumed (its input schema moves into the tool).
    pub(super) fn tool(&mut self, mut section: ToolSection, upstreams: &Upstreams) -> Option<Tool> {
        let name = section.name.value.clone();
        self.check_name(&section.name, "tool");
        let description = self.text(&section.description).unwrap_or_default();
        if description.trim().is_empty() {
            self.problem(
                &section.description.referenced,
                format!("tool '{name}' needs a description"),
            );
        }
        let schema_at = section.input_schema.as_ref().map(|s| s.referenced);
        let input_schema = match section.input_schema.take() {
            Some(schema) => {
                self.object_schema(&schema, "input_schema");
                self.warn_unknown_formats(&schema, "input_schema");
                schema.value
            }
            None => json!({ "type": "object", "additionalProperties": false }),
        };
        let validator = match self.schemas.compile(&input_schema) {
            Ok(v) => Some(v),
            Err(message) => {
                let at = schema_at.unwrap_or(section.name.referenced);
                self.problem(&at, format!("input_schema: {message}"));
                None
            }
        };
        let request = self.request(&section.request, upstreams, Some(&input_schema));
        let (response, output_schema) = self.response(&section);
        let operation = match &section.operation {
            Some(op) => {
                if section.response.stream {
                    self.problem(
                        &op.referenced,
                        "a tool with operation: reads its answers whole: remove response.stream",
                    );
                }
                Some(self.operation(op, &input_schema))
            }
            None => None,
        };
        let annotations = match &section.annotations {
            Some(a) if a.value.is_object() => a.value.clone(),
            Some(a) => {
                self.problem(&a.referenced, "annotations must be a mapping of hints");
                Value::Null
            }
            None => request
                .as_ref()
                .map_or(Value::Null, |r| derived_annotations(&r.method)),
        };
        let mut mcp_descriptor = json!({
            "name": name,
            "description": description,
        });
        mcp_descriptor["inputSchema"] = input_schema;
        if operation.is_some() {
            // Revision 2025-11-25: the call may run as a task when the client asks for one.
            mcp_descriptor["execution"] = json!({ "taskSupport": "optional" });
        }

        if let Some(title) = section.title.as_ref().and_then(|t| self.text(t)) {
            mcp_descriptor["title"] = json!(title);
        }
        if let Some(schema) = output_schema {
            mcp_descriptor["outputSchema"] = schema;
        }
        if annotations.as_object().is_some_and(|a| !a.is_empty()) {
            mcp_descriptor["annotations"] = annotations;
        }
        let tests = section
            .tests
            .iter()
            .map(|t| (t.value.args.clone(), t.value.expect.clone()))
            .collect();
        let required_scopes = section
            .required_scopes
            .iter()
            .filter_map(|s| self.text(s))
            .collect();
        let completions =
            self.tool_completions(&section, &mcp_descriptor["inputSchema"], upstreams);
        Some(Tool {
            name,
            description,
            validator: validator?,
            request: request?,
            response: response?,
            stream: section.response.stream,
            operation: operation.map_or(Some(None), |op| op.map(Some))?,
            mcp_descriptor,
            tests,
            required_scopes,
            completions: completions?,
        })
    }

    /// A tool's `complete:`: an upstream completion per argument, each a property of its
    /// input schema.
    fn tool_completions(
        &mut self,
        section: &ToolSection,
        input_schema: &Value,
        upstreams: &Upstreams,
    ) -> Option<Vec<(String, UpstreamCompletion)>> {
        let Some(complete) = &section.complete else {
            return Some(Vec::new());
        };
        let mut ok = true;
        let mut compiled = Vec::with_capacity(complete.value.len());
        for (argument, block) in &complete.value {
            let declared = input_schema
                .get("properties")
                .and_then(|properties| properties.get(argument))
                .is_some();
            if !declared {
                self.problem(
                    &complete.referenced,
                    format!(
                        "complete: '{argument}' is not an argument of tool '{}' (a property of its input_schema)",
                        section.name.value
                    ),
                );
                ok = false;
                continue;
            }
            match self.completion(block, upstreams) {
                Some(completion) => compiled.push((argument.clone(), completion)),
                None => ok = false,
            }
        }
        ok.then_some(compiled)
    }

    /// Checks that a schema is a mapping with `type: object`.
    fn object_schema(&mut self, schema: &Spanned<Value>, what: &str) -> bool {
        let ok = schema.value.get("type").and_then(Value::as_str) == Some("object");
        if !ok {
            self.problem(
                &schema.referenced,
                format!("{what} must be a JSON Schema with type: object"),
            );
        }
        ok
    }

    /// A warning for each `format` the validator does not check: any value passes it, which
    /// is rarely what the author meant (a typo such as `emial`, or a custom name). Not an
    /// error, so that a config imported from an OpenAPI document with custom formats serves.
    fn warn_unknown_formats(&mut self, schema: &Spanned<Value>, what: &str) {
        for (pointer, name) in self.schemas.unknown_formats(&schema.value) {
            self.warning(
                &schema.referenced,
                format!(
                    "{what}: format '{name}' (at {pointer}) is not one toolgate checks, so any string passes; use date, date-time, time, duration, email, hostname, ipv4, ipv6, uri, uri-reference, uuid, regex, ... or remove it"
                ),
            );
        }
    }

    /// Compiles a `resources:` entry.
    pub(super) fn resource(
        &mut self,
        section: &ResourceSection,
        upstreams: &Upstreams,
    ) -> Option<Resource> {
        let request = self.request(&section.request, upstreams, None);
        let (Some(uri), Some(name), Some(request)) =
            (self.text(&section.uri), self.text(&section.name), request)
        else {
            return None;
        };
        let (mime_type, descriptor) = resource_descriptor(
            ("uri", &uri),
            name,
            section.mime_type.as_ref().and_then(|t| self.text(t)),
            section.description.as_ref().and_then(|t| self.text(t)),
        );
        Some(Resource {
            uri,
            mime_type,
            descriptor,
            request,
        })
    }

    fn response(&mut self, section: &ToolSection) -> (Option<ResponseShape>, Option<Value>) {
        let response = &section.response;
        let pick = response.pick.as_ref().and_then(|p| {
            let pointer = self.text(p)?;
            if pointer.is_empty() || pointer.starts_with('/') {
                Some(pointer)
            } else {
                self.problem(
                    &p.referenced,
                    format!("pick '{pointer}' must be a JSON Pointer such as /data/items"),
                );
                None
            }
        });
        let mut ok = response.pick.is_none() || pick.is_some();
        let mut output_validator = None;
        let mut output_value = None;
        if let Some(schema) = &response.output_schema {
            if self.object_schema(schema, "output_schema") {
                self.warn_unknown_formats(schema, "output_schema");
                match self.schemas.compile(&schema.value) {
                    Ok(v) => {
                        output_validator = Some(v);
                        output_value = Some(schema.value.clone());
                    }
                    Err(message) => {
                        self.problem(&schema.referenced, format!("output_schema: {message}"));
                        ok = false;
                    }
                }
            } else {
                ok = false;
            }
        }
        let max_bytes = self.whole_opt::<usize>(&response.max_bytes, "max_bytes");
        if max_bytes == Some(Some(0)) {
            self.problem(
                &section.name.referenced,
                "response.max_bytes must be greater than 0",
            );
            ok = false;
        }
        let Some(max_bytes) = max_bytes else {
            return (None, output_value);
        };
        let shape = ResponseShape {
            pick,
            max_bytes,
            output_schema: output_validator,
        };
        (ok.then_some(shape), output_value)
    }

    /// Compiles a `resource_templates:` entry: the URI template's variables become required,
    /// non-empty string arguments the request may use.
    pub(super) fn resource_template(
        &mut self,
        section: &ResourceTemplateSection,
        upstreams: &Upstreams,
    ) -> Option<ResourceTemplate> {
        let written = self.text(&section.uri_template)?;
        let template = match crate::uri_template::UriTemplate::parse(&written) {
            Ok(template) => template,
            Err(message) => {
                self.problem(
                    &section.uri_template.referenced,
                    format!("uri_template: {message}"),
                );
                return None;
            }
        };
        let vars: Vec<&str> = template.vars().collect();
        let properties: Map<String, Value> = vars
            .iter()
            .map(|v| ((*v).to_owned(), json!({ "type": "string", "minLength": 1 })))
            .collect();
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": vars,
            "additionalProperties": false,
        });
        let validator = self.schemas.compile(&schema).ok()?;
        let request = self.request(&section.request, upstreams, Some(&schema));
        let name = self.text(&section.name)?;
        let request = request?;
        let (mime_type, descriptor) = resource_descriptor(
            ("uriTemplate", &written),
            name,
            section.mime_type.as_ref().and_then(|t| self.text(t)),
            section.description.as_ref().and_then(|t| self.text(t)),
        );
        Some(ResourceTemplate {
            uri_template: written,
            template,
            mime_type,
            descriptor,
            validator,
            request,
        })
    }
}

/// The MCP descriptor of a resource or resource template (`uri` or `uriTemplate` first) and
/// its MIME type, `application/json` unless configured.
fn resource_descriptor(
    (key, address): (&str, &str),
    name: String,
    mime_type: Option<String>,
    description: Option<String>,
) -> (String, Value) {
    let mime_type = mime_type.unwrap_or_else(|| "application/json".to_owned());
    let mut descriptor = json!({ key: address, "name": name, "mimeType": mime_type });
    if let Some(description) = description {
        descriptor["description"] = json!(description);
    }
    (mime_type, descriptor)
}

/// MCP annotations implied by the HTTP method.
fn derived_annotations(method: &Method) -> Value {
    let mut hints = Map::new();
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => {
            hints.insert("readOnlyHint".into(), Value::Bool(true));
        }
        Method::DELETE => {
            hints.insert("destructiveHint".into(), Value::Bool(true));
        }
        Method::PUT => {
            hints.insert("idempotentHint".into(), Value::Bool(true));
        }
        _ => {}
    }
    Value::Object(hints)
}
