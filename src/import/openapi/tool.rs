//! One operation to one tool: its name, description, arguments (path, query, header
//! parameters) and request template.

use super::super::names;
use super::super::node::{Entry, Node};
use super::super::schema::Converter;
use super::helpers::{
    PathPiece, annotations, escape_dollars, path_scalar, single_value, split_path, text_field,
};
use super::{Arg, Args, Importer, Operation, follow};

impl<'a> Importer<'_, 'a> {
    /// Builds one tool: (notes shown above it, the tool mapping), or why it is skipped.
    pub(super) fn tool(&mut self, op: &Operation<'a>) -> Result<(Vec<String>, Node), String> {
        let mut notes: Vec<String> = Vec::new();
        let operation = op.operation;
        let base = op
            .operation_id
            .map(names::snake_case)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| names::snake_case(&op.label));
        let name = names::unique_tool_name(&base, &mut self.tool_names);
        if name != base && base.len() <= names::MAX_TOOL_NAME {
            notes.push(format!(
                "note: named '{name}': '{base}' is taken by an earlier operation"
            ));
        }
        if op.operation_id.is_none() {
            notes.push(format!(
                "guess: the operation has no operationId; the name comes from '{}'",
                op.label
            ));
        }
        if operation.get("deprecated").and_then(Node::as_bool) == Some(true) {
            notes.push("note: the operation is deprecated in the spec".into());
        }
        if operation.get("servers").is_some() {
            notes.push(
                "note: the operation names its own servers; it is sent to this upstream".into(),
            );
        }

        let summary = text_field(operation, "summary");
        let details = text_field(operation, "description");
        let description = match (&summary, &details) {
            (Some(s), Some(d)) if d.starts_with(s.trim_end_matches('.')) => d.clone(),
            (Some(s), Some(d)) => format!("{s}\n\n{d}"),
            (Some(s), None) => s.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                notes.push(
                    "guess: the spec gives no summary or description; say what the tool does"
                        .into(),
                );
                op.label.clone()
            }
        };
        let title = summary
            .as_ref()
            .filter(|s| !s.contains('\n') && s.len() <= 100)
            .map(|s| s.trim_end_matches('.').to_owned());

        // Parameters: the path item's, overridden by the operation's (same name and `in`).
        let mut parameters: Vec<&Node> = Vec::new();
        let own = operation
            .get("parameters")
            .map(Node::items)
            .unwrap_or_default();
        for raw in op.shared_parameters.iter().chain(own) {
            let parameter = match follow(self.spec, raw) {
                Ok(p) => p,
                Err(reason) => {
                    notes.push(format!("note: a parameter is left out: {reason}"));
                    continue;
                }
            };
            let key = |p: &Node| {
                (
                    p.get_str("name").map(str::to_owned),
                    p.get_str("in").map(str::to_owned),
                )
            };
            let this = key(parameter);
            parameters.retain(|p| key(p) != this);
            parameters.push(parameter);
        }

        let mut converter = Converter::new(self.schemas);
        let mut args = Args::default();

        // Path: every {placeholder} becomes a required scalar argument.
        let mut path = String::new();
        for piece in split_path(op.path) {
            match piece {
                PathPiece::Literal(text) => path.push_str(&escape_dollars(text)),
                PathPiece::Placeholder(placeholder) => {
                    let declared = parameters.iter().find(|p| {
                        p.get_str("in") == Some("path") && p.get_str("name") == Some(placeholder)
                    });
                    let origin = format!("path parameter '{placeholder}'");
                    let (arg, clash) = args.claim(&names::argument(placeholder), "path", &origin);
                    let mut comments: Vec<String> = clash.into_iter().collect();
                    let mut schema = match declared {
                        Some(p) => self.parameter_schema(p, &origin, &mut converter, &mut comments),
                        None => {
                            comments.push(format!(
                                "guess: {origin} is not declared in the spec; taken as a string"
                            ));
                            Node::Map(vec![Entry::new("type", Node::str("string"))])
                        }
                    };
                    path_scalar(&mut schema, &origin, &mut comments);
                    args.list.push(Arg {
                        name: arg.clone(),
                        schema,
                        required: true,
                        comments,
                    });
                    path.push_str(&format!("{{{{args.{arg}}}}}"));
                }
            }
        }
        let placeholders: Vec<&str> = split_path(op.path)
            .into_iter()
            .filter_map(|p| match p {
                PathPiece::Placeholder(name) => Some(name),
                PathPiece::Literal(_) => None,
            })
            .collect();

        let mut query = Vec::new();
        let mut headers = Vec::new();
        for parameter in &parameters {
            let Some(param_name) = parameter.get_str("name") else {
                continue;
            };
            let location = parameter.get_str("in").unwrap_or("");
            let required = parameter.get("required").and_then(Node::as_bool) == Some(true);
            match location {
                "path" => {
                    if !placeholders.contains(&param_name) {
                        notes.push(format!(
                            "note: path parameter '{param_name}' is not in the path: left out"
                        ));
                    }
                }
                "query" | "header" => {
                    let is_header = location == "header";
                    if is_header
                        && ["accept", "content-type", "authorization"]
                            .contains(&param_name.to_ascii_lowercase().as_str())
                    {
                        notes.push(format!(
                            "note: header parameter '{param_name}' is left out (OpenAPI ignores it; credentials belong to the upstream)"
                        ));
                        continue;
                    }
                    let origin = if is_header {
                        format!("header '{param_name}'")
                    } else {
                        format!("query parameter '{param_name}'")
                    };
                    let wanted = if is_header {
                        names::argument(&names::snake_case(param_name))
                    } else {
                        names::argument(param_name)
                    };
                    let (arg, clash) = args.claim(&wanted, location, &origin);
                    let mut comments: Vec<String> = clash.into_iter().collect();
                    let mut schema =
                        self.parameter_schema(parameter, &origin, &mut converter, &mut comments);
                    single_value(&mut schema, parameter, &origin, is_header, &mut comments);
                    args.list.push(Arg {
                        name: arg.clone(),
                        schema,
                        required,
                        comments,
                    });
                    let value = Node::String(format!("{{{{args.{arg}}}}}"));
                    if is_header {
                        headers.push(Entry::new(param_name, value));
                    } else {
                        query.push(Entry::new(param_name, value));
                    }
                }
                "cookie" => notes.push(format!(
                    "note: cookie parameter '{param_name}' is left out (toolgate sets no cookies){}",
                    if required { "; the spec requires it" } else { "" }
                )),
                other => notes.push(format!(
                    "note: parameter '{param_name}' in '{other}' is not understood: left out"
                )),
            }
        }

        let body = self.body(op, &mut args, &mut converter, &mut notes)?;

        // input_schema
        let mut properties = Vec::new();
        let mut required = Vec::new();
        for arg in &args.list {
            properties.push(Entry {
                comments: arg.comments.clone(),
                key: arg.name.clone(),
                value: arg.schema.clone(),
            });
            if arg.required {
                required.push(Node::String(arg.name.clone()));
            }
        }
        let mut input_schema = Node::Map(vec![
            Entry::new("type", Node::str("object")),
            Entry::new("properties", Node::Map(properties)),
        ]);
        if !required.is_empty() {
            input_schema.set("required", Node::Seq(required));
        }
        input_schema.set("additionalProperties", Node::Bool(false));
        notes.extend(converter.finish(&mut input_schema));

        // request
        let mut request = vec![
            Entry::new("upstream", Node::String(escape_dollars(&self.upstream))),
            Entry::new("method", Node::String(op.method.clone())),
            Entry::new("path", Node::String(path)),
        ];
        if !query.is_empty() {
            request.push(Entry::new("query", Node::Map(query)));
        }
        if !headers.is_empty() {
            request.push(Entry::new("headers", Node::Map(headers)));
        }
        if let Some(body) = body {
            request.push(Entry::new("body", body));
        }

        let mut tool = vec![Entry::new("name", Node::String(name))];
        if let Some(title) = title {
            // Titles get `${VAR}` substitution too.
            tool.push(Entry::new("title", Node::String(escape_dollars(&title))));
        }
        tool.push(Entry::new(
            "description",
            Node::String(escape_dollars(&description)),
        ));
        tool.push(Entry::new("input_schema", input_schema));
        if let Some(annotations) = annotations(&op.method) {
            tool.push(Entry::new("annotations", annotations));
        }
        tool.push(Entry::new("request", Node::Map(request)));
        if self.output_schemas
            && let Some(output_schema) = self.output_schema(operation, &mut notes)
        {
            tool.push(Entry::new(
                "response",
                Node::Map(vec![Entry::new("output_schema", output_schema)]),
            ));
        }
        Ok((notes, Node::Map(tool)))
    }

    /// The schema of a parameter, with the parameter's description and example.
    fn parameter_schema(
        &self,
        parameter: &Node,
        origin: &str,
        converter: &mut Converter<'_, 'a>,
        comments: &mut Vec<String>,
    ) -> Node {
        let raw = match (parameter.get("schema"), parameter.get("content")) {
            (Some(schema), _) => Some(schema),
            (None, Some(content)) => content
                .entries()
                .first()
                .and_then(|m| m.value.get("schema")),
            (None, None) => None,
        };
        let mut schema = match raw {
            Some(raw) => converter.convert(raw, 0),
            None => {
                comments.push(format!(
                    "guess: {origin} has no schema in the spec; taken as a string"
                ));
                Node::Map(vec![Entry::new("type", Node::str("string"))])
            }
        };
        if !schema.is_map() {
            schema = Node::map();
        }
        if let Some(description) = text_field(parameter, "description") {
            schema.set_first("description", Node::String(description));
        }
        if schema.get("examples").is_none()
            && let Some(example) = parameter.get("example")
        {
            schema.set("examples", Node::Seq(vec![example.clone()]));
        }
        schema
    }
}
