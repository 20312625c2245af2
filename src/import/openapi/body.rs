//! The request body and the output schema of an operation.

use super::super::names;
use super::super::node::{Entry, Node};
use super::super::schema::{self, Converter};
use super::helpers::{describe, drop_write_only, is_json, media_type, text_field};
use super::{Arg, Args, Importer, Operation, follow};

impl<'a> Importer<'_, 'a> {
    /// The request body: a JSON tree of `{{args.x}}` leaves, its properties added to `args`.
    pub(super) fn body(
        &self,
        op: &Operation<'a>,
        args: &mut Args,
        converter: &mut Converter<'_, 'a>,
        notes: &mut Vec<String>,
    ) -> Result<Option<Node>, String> {
        let Some(raw) = op.operation.get("requestBody") else {
            return Ok(None);
        };
        let request_body = follow(self.spec, raw)?;
        let required = request_body.get("required").and_then(Node::as_bool) == Some(true);
        let content = request_body
            .get("content")
            .map(Node::entries)
            .unwrap_or_default();
        let json = content
            .iter()
            .find(|e| media_type(&e.key) == "application/json")
            .or_else(|| content.iter().find(|e| is_json(&e.key)));
        let Some(json) = json else {
            if content.is_empty() {
                return Ok(None);
            }
            let kinds = content
                .iter()
                .map(|e| e.key.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if required {
                return Err(format!(
                    "the request body is {kinds} only; toolgate sends JSON bodies"
                ));
            }
            notes.push(format!(
                "note: the optional request body ({kinds}) is left out: toolgate sends JSON bodies"
            ));
            return Ok(None);
        };
        if matches!(op.method.as_str(), "GET" | "HEAD") {
            notes.push(format!(
                "note: the spec gives this {} request a body; toolgate sends none",
                op.method
            ));
            return Ok(None);
        }
        if media_type(&json.key) != "application/json" {
            notes.push(format!(
                "note: the spec's body is {}; toolgate sends it as application/json",
                json.key
            ));
        }
        let free_form = Node::map();
        let raw_schema = json.value.get("schema").unwrap_or(&free_form);
        let schema = converter.convert_root(raw_schema);
        let flat = schema::flatten_object(&schema);

        let Some(flat) = flat else {
            let (arg, clash) = args.claim("body", "request", "request body");
            let mut comments: Vec<String> = clash.into_iter().collect();
            comments.push(format!(
                "note: the request body ({}) is taken whole as this argument",
                describe(&schema)
            ));
            let mut schema = if schema.is_map() { schema } else { Node::map() };
            if schema.get("description").is_none()
                && let Some(description) = text_field(request_body, "description")
            {
                schema.set_first("description", Node::String(description));
            }
            args.list.push(Arg {
                name: arg.clone(),
                schema,
                required,
                comments,
            });
            return Ok(Some(Node::String(format!("{{{{args.{arg}}}}}"))));
        };

        let required_names: Vec<&str> = flat
            .get("required")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        let mut template = Vec::new();
        let mut read_only = Vec::new();
        for property in flat
            .get("properties")
            .map(Node::entries)
            .unwrap_or_default()
        {
            if property.value.get("readOnly").and_then(Node::as_bool) == Some(true) {
                read_only.push(property.key.clone());
                continue;
            }
            let origin = format!("body property '{}'", property.key);
            let (arg, clash) = args.claim(&names::argument(&property.key), "body", &origin);
            args.list.push(Arg {
                name: arg.clone(),
                schema: property.value.clone(),
                required: required && required_names.contains(&property.key.as_str()),
                comments: clash.into_iter().collect(),
            });
            template.push(Entry::new(
                property.key.clone(),
                Node::String(format!("{{{{args.{arg}}}}}")),
            ));
        }
        if !read_only.is_empty() {
            notes.push(format!(
                "note: read-only body properties are left out: {}",
                read_only.join(", ")
            ));
        }
        if flat
            .get("additionalProperties")
            .is_some_and(|a| *a != Node::Bool(false))
        {
            notes.push(
                "note: the body accepts more properties than it declares; only declared ones are sent"
                    .into(),
            );
        }
        if !required && !required_names.is_empty() {
            notes.push(
                "note: the request body is optional, so none of its properties is required".into(),
            );
        }
        Ok(Some(Node::Map(template)))
    }

    /// The output schema from the first 2xx JSON response, when it describes an object.
    pub(super) fn output_schema(&self, operation: &Node, notes: &mut Vec<String>) -> Option<Node> {
        let responses = operation
            .get("responses")
            .map(Node::entries)
            .unwrap_or_default();
        let rank = |code: &str| -> Option<u32> {
            let code = code.to_ascii_uppercase();
            if code.len() != 3 || !code.starts_with('2') {
                return None;
            }
            Some(code.parse().unwrap_or(300))
        };
        let Some(entry) = responses
            .iter()
            .filter(|e| rank(&e.key).is_some())
            .min_by_key(|e| rank(&e.key))
        else {
            notes.push("note: no output_schema: the spec lists no 2xx response".into());
            return None;
        };
        let code = &entry.key;
        let response = match follow(self.spec, &entry.value) {
            Ok(r) => r,
            Err(reason) => {
                notes.push(format!("note: no output_schema: {reason}"));
                return None;
            }
        };
        let content = response
            .get("content")
            .map(Node::entries)
            .unwrap_or_default();
        let json = content
            .iter()
            .find(|e| media_type(&e.key) == "application/json")
            .or_else(|| content.iter().find(|e| is_json(&e.key)));
        let Some(schema) = json.and_then(|j| j.value.get("schema")) else {
            notes.push(format!(
                "note: no output_schema: the {code} response has no JSON schema"
            ));
            return None;
        };
        let mut converter = Converter::new(self.schemas);
        let mut output = converter.convert_root(schema);
        if !schema::object_like(&output) {
            notes.push(format!(
                "note: no output_schema: the {code} response is {}, not an object",
                describe(&output)
            ));
            notes.extend(converter.notes);
            return None;
        }
        if schema::types(&output).is_empty() {
            output.set_first("type", Node::str("object"));
        }
        drop_write_only(&mut output);
        notes.extend(converter.finish(&mut output));
        Some(output)
    }
}
