//! Swagger 2.0 documents, converted to the OpenAPI 3.0 model the importer reads.
//!
//! What changes between the two: `host`, `basePath` and `schemes` become `servers`;
//! `definitions`, `responses` and `securityDefinitions` move under `components` (and every
//! `$ref` with them); a `body` parameter becomes the `requestBody` (one media type per
//! `consumes` entry), `formData` parameters one form `requestBody` (multipart when a parameter
//! is a file or `consumes` asks for it); the schema keywords of the other parameters and of
//! response headers move into their `schema`, `collectionFormat` becomes `style`/`explode`;
//! a response `schema` becomes its `content`, one media type per `produces` entry. Swagger's
//! `type: file` is `type: string, format: binary`, and `x-nullable` is `nullable`.

use super::super::node::{Entry, Node};

/// The media type Swagger assumes when neither the operation nor the document names one.
const DEFAULT_MEDIA_TYPE: &str = "application/json";

/// The schema keywords a Swagger 2.0 parameter or header carries beside its own fields.
const SCHEMA_KEYWORDS: [&str; 17] = [
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "x-nullable",
];

/// The operation keys of a path item.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// The OpenAPI 3.0 form of a Swagger 2.0 document.
pub(super) fn to_openapi3(spec: &Node) -> Node {
    let consumes = media_types(spec.get("consumes"));
    let produces = media_types(spec.get("produces"));
    let mut out = Node::map();
    out.set("openapi", Node::str("3.0.3"));
    if let Some(info) = spec.get("info") {
        out.set("info", info.clone());
    }
    if let Some(servers) = servers(spec) {
        out.set("servers", servers);
    }
    for key in ["security", "tags", "externalDocs"] {
        if let Some(value) = spec.get(key) {
            out.set(key, value.clone());
        }
    }
    let mut paths = Node::map();
    for entry in spec.get("paths").map(Node::entries).unwrap_or_default() {
        if entry.is_comment_only() || entry.key.starts_with("x-") {
            continue;
        }
        let item = path_item(spec, &entry.value, &consumes, &produces);
        paths.set(&entry.key, item);
    }
    out.set("paths", paths);
    out.set("components", components(spec, &produces));
    rewrite(&mut out);
    out
}

/// `servers` from `host`, `basePath` and `schemes` (one server per scheme; https when none is
/// named), or a relative server of the base path when there is no host.
fn servers(spec: &Node) -> Option<Node> {
    let base_path = spec.get_str("basePath").unwrap_or("").trim_end_matches('/');
    let Some(host) = spec.get_str("host").map(str::trim) else {
        return (!base_path.is_empty()).then(|| server_list(vec![base_path.to_owned()]));
    };
    let mut schemes: Vec<&str> = spec
        .get("schemes")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::as_str)
        .filter(|s| matches!(*s, "http" | "https"))
        .collect();
    if schemes.is_empty() {
        schemes.push("https");
    }
    let urls = schemes
        .iter()
        .map(|scheme| format!("{scheme}://{host}{base_path}"))
        .collect();
    Some(server_list(urls))
}

fn server_list(urls: Vec<String>) -> Node {
    Node::Seq(
        urls.into_iter()
            .map(|url| Node::Map(vec![Entry::new("url", Node::String(url))]))
            .collect(),
    )
}

/// The media types listed in a `consumes` / `produces` value.
fn media_types(list: Option<&Node>) -> Vec<String> {
    list.map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_owned)
        .collect()
}

/// A path item with its parameters merged into each operation (path-level parameters can be
/// `body` or `formData`, which OpenAPI 3 has no place for at that level).
fn path_item(spec: &Node, item: &Node, consumes: &[String], produces: &[String]) -> Node {
    let item = resolve(spec, item);
    let shared: Vec<Node> = item
        .get("parameters")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|p| resolve(spec, p).clone())
        .collect();
    let mut out = Node::map();
    for entry in item.entries() {
        if entry.is_comment_only() {
            continue;
        }
        let method = entry.key.to_ascii_lowercase();
        if METHODS.contains(&method.as_str()) {
            let op = operation(spec, &entry.value, &shared, consumes, produces);
            out.set(&entry.key, op);
        } else if entry.key != "parameters" {
            out.set(&entry.key, entry.value.clone());
        }
    }
    out
}

/// Follows a local `$ref` within the Swagger document (for path items and parameters).
fn resolve<'a>(spec: &'a Node, mut node: &'a Node) -> &'a Node {
    for _ in 0..32 {
        let Some(target) = node
            .get_str("$ref")
            .and_then(|r| super::schema::pointer(spec, r))
        else {
            break;
        };
        node = target;
    }
    node
}

fn operation(
    spec: &Node,
    op: &Node,
    shared: &[Node],
    consumes: &[String],
    produces: &[String],
) -> Node {
    let consumes = match media_types(op.get("consumes")) {
        own if own.is_empty() => consumes.to_vec(),
        own => own,
    };
    let produces = match media_types(op.get("produces")) {
        own if own.is_empty() => produces.to_vec(),
        own => own,
    };
    let mut parameters: Vec<Node> = shared.to_vec();
    for own in op.get("parameters").map(Node::items).unwrap_or_default() {
        let own = resolve(spec, own).clone();
        let key = (own.get_str("name"), own.get_str("in"));
        parameters.retain(|p| (p.get_str("name"), p.get_str("in")) != key);
        parameters.push(own);
    }
    let mut out = Node::map();
    for entry in op.entries() {
        if entry.is_comment_only() {
            continue;
        }
        match entry.key.as_str() {
            "consumes" | "produces" | "schemes" | "parameters" | "responses" => {}
            key => out.set(key, entry.value.clone()),
        }
    }
    let plain: Vec<Node> = parameters
        .iter()
        .filter(|p| !matches!(p.get_str("in"), Some("body" | "formData")))
        .map(parameter)
        .collect();
    if !plain.is_empty() {
        out.set("parameters", Node::Seq(plain));
    }
    if let Some(body) = request_body(&parameters, &consumes) {
        out.set("requestBody", body);
    }
    if let Some(responses) = op.get("responses") {
        out.set("responses", responses_of(responses, &produces));
    }
    out
}

/// A path, query, header or cookie parameter: its schema keywords moved into `schema`.
fn parameter(p: &Node) -> Node {
    let mut out = Node::map();
    let mut schema = Node::map();
    for entry in p.entries() {
        if entry.is_comment_only() {
            continue;
        }
        if SCHEMA_KEYWORDS.contains(&entry.key.as_str()) {
            schema.set(&entry.key, entry.value.clone());
        } else if entry.key != "collectionFormat" {
            out.set(&entry.key, entry.value.clone());
        }
    }
    if let Some(format) = p.get_str("collectionFormat") {
        let (style, explode) = match format {
            "multi" => ("form", true),
            "ssv" => ("spaceDelimited", false),
            "pipes" => ("pipeDelimited", false),
            _ if p.get_str("in") == Some("query") => ("form", false),
            _ => ("simple", false),
        };
        out.set("style", Node::str(style));
        out.set("explode", Node::Bool(explode));
    }
    out.set("schema", schema);
    out
}

/// The `requestBody` of a `body` parameter, or of the `formData` parameters.
fn request_body(parameters: &[Node], consumes: &[String]) -> Option<Node> {
    if let Some(body) = parameters.iter().find(|p| p.get_str("in") == Some("body")) {
        let schema = body.get("schema").cloned().unwrap_or_else(Node::map);
        let types: Vec<String> = match consumes
            .iter()
            .filter(|t| !is_form(t))
            .cloned()
            .collect::<Vec<_>>()
        {
            none if none.is_empty() => vec![DEFAULT_MEDIA_TYPE.to_owned()],
            some => some,
        };
        let mut out = Node::map();
        if let Some(description) = body.get("description") {
            out.set("description", description.clone());
        }
        out.set("content", content(&types, &schema));
        if body.get("required").and_then(Node::as_bool) == Some(true) {
            out.set("required", Node::Bool(true));
        }
        return Some(out);
    }
    let fields: Vec<&Node> = parameters
        .iter()
        .filter(|p| p.get_str("in") == Some("formData"))
        .collect();
    if fields.is_empty() {
        return None;
    }
    let multipart = fields.iter().any(|p| p.get_str("type") == Some("file"))
        || consumes
            .iter()
            .any(|t| t.starts_with("multipart/form-data"));
    let media_type = if multipart {
        "multipart/form-data"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut properties = Node::map();
    let mut required = Vec::new();
    for field in &fields {
        let Some(name) = field.get_str("name") else {
            continue;
        };
        let mut schema = parameter(field).remove("schema").unwrap_or_else(Node::map);
        if let Some(description) = field.get("description") {
            schema.set_first("description", description.clone());
        }
        properties.set(name, schema);
        if field.get("required").and_then(Node::as_bool) == Some(true) {
            required.push(Node::str(name));
        }
    }
    let mut schema = Node::Map(vec![
        Entry::new("type", Node::str("object")),
        Entry::new("properties", properties),
    ]);
    let any_required = !required.is_empty();
    if any_required {
        schema.set("required", Node::Seq(required));
    }
    let mut out = Node::map();
    out.set("content", content(&[media_type.to_owned()], &schema));
    if any_required {
        out.set("required", Node::Bool(true));
    }
    Some(out)
}

fn is_form(media_type: &str) -> bool {
    media_type.starts_with("application/x-www-form-urlencoded")
        || media_type.starts_with("multipart/form-data")
}

/// `content`: the same schema under each media type.
fn content(types: &[String], schema: &Node) -> Node {
    Node::Map(
        types
            .iter()
            .map(|t| {
                Entry::new(
                    t.clone(),
                    Node::Map(vec![Entry::new("schema", schema.clone())]),
                )
            })
            .collect(),
    )
}

/// An operation's (or the document's) `responses`.
fn responses_of(responses: &Node, produces: &[String]) -> Node {
    let mut out = Node::map();
    for entry in responses.entries() {
        if entry.is_comment_only() {
            continue;
        }
        out.set(&entry.key, response(&entry.value, produces));
    }
    out
}

fn response(response: &Node, produces: &[String]) -> Node {
    if response.get("$ref").is_some() {
        return response.clone();
    }
    let mut out = Node::map();
    let description = response.get_str("description").unwrap_or("");
    out.set("description", Node::str(description));
    if let Some(headers) = response.get("headers") {
        let converted = headers
            .entries()
            .iter()
            .filter(|e| !e.is_comment_only())
            .map(|e| {
                let mut header = parameter(&e.value);
                header.remove("name");
                header.remove("in");
                Entry::new(e.key.clone(), header)
            })
            .collect();
        out.set("headers", Node::Map(converted));
    }
    if let Some(schema) = response.get("schema") {
        let types = match produces {
            [] => vec![DEFAULT_MEDIA_TYPE.to_owned()],
            some => some.to_vec(),
        };
        out.set("content", content(&types, schema));
    }
    out
}

/// `components`: schemas, responses and security schemes (parameters are inlined where used).
fn components(spec: &Node, produces: &[String]) -> Node {
    let mut out = Node::map();
    if let Some(definitions) = spec.get("definitions") {
        out.set("schemas", definitions.clone());
    }
    if let Some(responses) = spec.get("responses") {
        out.set("responses", responses_of(responses, produces));
    }
    if let Some(schemes) = spec.get("securityDefinitions") {
        let converted = schemes
            .entries()
            .iter()
            .filter(|e| !e.is_comment_only())
            .map(|e| Entry::new(e.key.clone(), security_scheme(&e.value)))
            .collect();
        out.set("securitySchemes", Node::Map(converted));
    }
    out
}

fn security_scheme(scheme: &Node) -> Node {
    let mut out = Node::map();
    match scheme.get_str("type") {
        Some("basic") => {
            out.set("type", Node::str("http"));
            out.set("scheme", Node::str("basic"));
        }
        Some("oauth2") => {
            out.set("type", Node::str("oauth2"));
            let flow = match scheme.get_str("flow") {
                Some("password") => "password",
                Some("application") => "clientCredentials",
                Some("accessCode") => "authorizationCode",
                _ => "implicit",
            };
            let mut details = Node::map();
            for key in ["authorizationUrl", "tokenUrl", "scopes"] {
                if let Some(value) = scheme.get(key) {
                    details.set(key, value.clone());
                }
            }
            if details.get("scopes").is_none() {
                details.set("scopes", Node::map());
            }
            out.set("flows", Node::Map(vec![Entry::new(flow, details)]));
        }
        _ => {
            for key in ["type", "name", "in"] {
                if let Some(value) = scheme.get(key) {
                    out.set(key, value.clone());
                }
            }
        }
    }
    if let Some(description) = scheme.get("description") {
        out.set("description", description.clone());
    }
    out
}

/// Moves every `$ref` to its OpenAPI 3 place and renames the Swagger-only schema keywords:
/// `type: file` → `type: string, format: binary`, `x-nullable` → `nullable`, a string
/// `discriminator` → `{propertyName}`.
fn rewrite(node: &mut Node) {
    match node {
        Node::Seq(items) => items.iter_mut().for_each(rewrite),
        Node::Map(entries) => {
            for entry in entries.iter_mut() {
                match (entry.key.as_str(), &mut entry.value) {
                    ("$ref", Node::String(reference)) => {
                        for (old, new) in [
                            ("#/definitions/", "#/components/schemas/"),
                            ("#/responses/", "#/components/responses/"),
                        ] {
                            if let Some(rest) = reference.strip_prefix(old) {
                                *reference = format!("{new}{rest}");
                            }
                        }
                    }
                    ("x-nullable", Node::Bool(_)) => entry.key = "nullable".into(),
                    ("discriminator", Node::String(property)) => {
                        let name = std::mem::take(property);
                        entry.value =
                            Node::Map(vec![Entry::new("propertyName", Node::String(name))]);
                    }
                    (_, value) => rewrite(value),
                }
            }
            if node.get_str("type") == Some("file") {
                node.set("type", Node::str("string"));
                node.set("format", Node::str("binary"));
            }
        }
        _ => {}
    }
}
