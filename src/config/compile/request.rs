//! Compiling a `request:` template: upstream, method, path, query, headers and body, with
//! every placeholder checked against the input schema.

use super::{Compiler, Upstreams};
use crate::config::model::{RequestSection, Text};
use crate::render::{BodyTemplate, RequestTemplate};
use crate::template::{Root, Template, VarRef};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

impl Compiler<'_> {
    /// Compiles a request template; `schema` is the input schema (`None` for resources, which
    /// take no arguments).
    pub(super) fn request(
        &mut self,
        section: &Spanned<RequestSection>,
        upstreams: &Upstreams,
        schema: Option<&Value>,
    ) -> Option<RequestTemplate> {
        let request = &section.value;
        let upstream = upstreams.compiled.get(&request.upstream.value).cloned();
        // An upstream that is declared but broken has its own problem already.
        if !upstreams.declared.contains(&request.upstream.value) {
            self.problem(
                &request.upstream.referenced,
                format!("unknown upstream '{}'", request.upstream.value),
            );
        }
        let method = match &request.method {
            Some(text) => self.method(text),
            None => Some(Method::GET),
        };
        let path = self.path_template(&request.path, schema);
        let mut ok = true;
        let mut query = Vec::new();
        for (name, text) in &request.query {
            match self.template(text, schema) {
                Some(t) => query.push((name.clone(), t)),
                None => ok = false,
            }
        }
        let mut headers = Vec::new();
        for (name, text) in &request.headers {
            if let Some(message) = super::reserved_header(name) {
                self.problem(&text.referenced, message);
                ok = false;
                continue;
            }
            let header = HeaderName::from_bytes(name.as_bytes());
            let template = self.template(text, schema);
            match (header, template) {
                (Ok(header), Some(template)) => headers.push((header, template)),
                (Err(_), _) => {
                    self.problem(
                        &text.referenced,
                        format!("'{name}' is not a valid header name"),
                    );
                    ok = false;
                }
                _ => ok = false,
            }
        }
        let body = match &request.body {
            Some(body) => {
                if matches!(method, Some(Method::GET | Method::HEAD)) {
                    self.problem(&body.referenced, "a GET or HEAD request cannot have a body");
                }
                self.body(&body.value, &body.referenced, schema)
            }
            None => Some(None),
        };
        let timeout = match &request.timeout {
            Some(t) => self.duration(t),
            None => upstream.as_ref().map(|u| u.timeout),
        };
        if !ok {
            return None;
        }
        Some(RequestTemplate {
            upstream: upstream?,
            method: method?,
            path: path?,
            query,
            headers,
            body: body?,
            timeout: timeout?,
        })
    }

    /// An HTTP method name (any case).
    pub(super) fn method(&mut self, text: &Text) -> Option<Method> {
        let upper = text.value.trim().to_ascii_uppercase();
        match upper.as_str() {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => {
                Method::from_bytes(upper.as_bytes()).ok()
            }
            _ => {
                self.problem(
                    &text.referenced,
                    format!("unsupported HTTP method '{}'", text.value),
                );
                None
            }
        }
    }

    /// A path template of an `operation:` URL: like a request path, and it may use
    /// `answer.*` (the job's first answer).
    pub(super) fn operation_path(&mut self, text: &Text, schema: &Value) -> Option<Template> {
        self.path_template_in(text, Some(schema), true)
    }

    /// A template whose variables must all be declared.
    fn template(&mut self, text: &Text, schema: Option<&Value>) -> Option<Template> {
        self.template_in(text, schema, false)
    }

    /// A template whose variables must all be declared; `answer` allows `answer.*`.
    fn template_in(
        &mut self,
        text: &Text,
        schema: Option<&Value>,
        answer: bool,
    ) -> Option<Template> {
        let source = self.text(text)?;
        let template = match Template::parse(&source) {
            Ok(t) if text.value.contains("${") => t.mark_secret(),
            Ok(t) => t,
            Err(message) => {
                self.problem(&text.referenced, message);
                return None;
            }
        };
        let mut ok = true;
        for var in template.vars() {
            if let Err(message) = check_declared(var, schema, answer) {
                self.problem(&text.referenced, message);
                ok = false;
            }
        }
        ok.then_some(template)
    }

    fn path_template(&mut self, text: &Text, schema: Option<&Value>) -> Option<Template> {
        self.path_template_in(text, schema, false)
    }

    fn path_template_in(
        &mut self,
        text: &Text,
        schema: Option<&Value>,
        answer: bool,
    ) -> Option<Template> {
        let template = self.template_in(text, schema, answer)?;
        let literal: String = {
            // The path with every placeholder replaced by a harmless segment, to check the
            // literal parts.
            let mut probe = text.value.clone();
            while let (Some(start), Some(end)) = (probe.find("{{"), probe.find("}}")) {
                if end < start {
                    break;
                }
                probe.replace_range(start..end + 2, "x");
            }
            probe
        };
        let mut ok = true;
        if !text.value.starts_with('/') {
            self.problem(&text.referenced, "path must start with '/'");
            ok = false;
        }
        if literal.contains(['?', '#']) {
            self.problem(
                &text.referenced,
                "path may not contain '?' or '#': put query entries under query:",
            );
            ok = false;
        }
        if literal.split('/').any(|s| s == "." || s == "..") {
            self.problem(
                &text.referenced,
                "path may not contain '.' or '..' segments",
            );
            ok = false;
        }
        for var in template.vars() {
            if answer && var.root == Root::Answer {
                continue;
            }
            if let Err(message) = check_path_var(var, schema) {
                self.problem(&text.referenced, message);
                ok = false;
            }
        }
        ok.then_some(template)
    }

    fn body(
        &mut self,
        value: &Value,
        at: &Location,
        schema: Option<&Value>,
    ) -> Option<Option<BodyTemplate>> {
        self.body_node(value, at, schema).map(Some)
    }

    fn body_node(
        &mut self,
        value: &Value,
        at: &Location,
        schema: Option<&Value>,
    ) -> Option<BodyTemplate> {
        Some(match value {
            Value::Object(members) => {
                let mut out = Vec::with_capacity(members.len());
                let mut ok = true;
                for (key, member) in members {
                    match self.body_node(member, at, schema) {
                        Some(node) => out.push((key.clone(), node)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                BodyTemplate::Object(out)
            }
            Value::Array(items) => {
                let nodes: Vec<Option<BodyTemplate>> = items
                    .iter()
                    .map(|item| self.body_node(item, at, schema))
                    .collect();
                BodyTemplate::Array(nodes.into_iter().collect::<Option<Vec<_>>>()?)
            }
            Value::String(source) => {
                let text = Text {
                    value: source.clone(),
                    referenced: *at,
                    defined: *at,
                };
                let template = self.template(&text, schema)?;
                if let Some(var) = template.single_var() {
                    BodyTemplate::Typed(var.clone())
                } else if let Some(literal) = template.as_literal() {
                    BodyTemplate::Literal(Value::String(literal.to_owned()))
                } else {
                    BodyTemplate::Text(template)
                }
            }
            other => BodyTemplate::Literal(other.clone()),
        })
    }
}

/// Checks that a variable refers to something the input schema declares; `answer.*` only
/// where `answer` allows it (the URLs of `operation:`).
fn check_declared(var: &VarRef, schema: Option<&Value>, answer: bool) -> Result<(), String> {
    match var.root {
        Root::Caller => return Ok(()),
        Root::Answer if answer => return Ok(()),
        Root::Answer => {
            return Err(format!(
                "'{}' is only available in the URLs of operation: (the job's first answer)",
                var.display()
            ));
        }
        Root::Args => {}
    }
    let Some(mut node) = schema else {
        return Err(format!(
            "'{}' is not available here: resources take no arguments",
            var.display()
        ));
    };
    let undeclared = || {
        format!(
            "'{}' is not declared in input_schema.properties",
            var.display()
        )
    };
    for (depth, key) in var.path.iter().enumerate() {
        match node.get("properties").and_then(Value::as_object) {
            Some(properties) => node = properties.get(key).ok_or_else(undeclared)?,
            None if depth == 0 => return Err(undeclared()),
            // Below an object without declared properties any key may be used.
            None => return Ok(()),
        }
    }
    Ok(())
}

/// Checks that a path placeholder is a required scalar argument (or a caller field).
fn check_path_var(var: &VarRef, schema: Option<&Value>) -> Result<(), String> {
    if var.root == Root::Caller {
        return Ok(());
    }
    let name = &var.path[0];
    let schema = schema.unwrap_or(&Value::Null);
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(name)));
    if var.path.len() != 1 || !required {
        return Err(format!(
            "path placeholder '{}' must be a required top-level argument (add it to input_schema.required)",
            var.display()
        ));
    }
    let types: Vec<&str> = match schema.pointer(&format!("/properties/{name}/type")) {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.is_empty()
        || !types
            .iter()
            .all(|t| matches!(*t, "string" | "integer" | "number"))
    {
        return Err(format!(
            "path placeholder '{}' must have type string, integer or number",
            var.display()
        ));
    }
    Ok(())
}
