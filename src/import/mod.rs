//! Generating toolgate config from API descriptions: `toolgate import openapi SPEC`.
//!
//! The result is YAML text meant to be read and edited by people: one `upstreams:` entry and
//! one tool per selected operation, with comments wherever the importer had to decide
//! something the spec does not say. It is a valid config file on its own (it holds only
//! `upstreams` and `tools`), so `toolgate check --config imported.yaml` checks it as written.

mod names;
mod node;
mod openapi;
mod schema;
mod yaml;

pub use node::{Entry, Node};

/// What to import and how.
#[derive(Clone, Debug, Default)]
pub struct OpenApiOptions {
    /// Name of the upstream to declare; default derived from `info.title`.
    pub upstream: Option<String>,
    /// Globs: import only operations whose operationId or `METHOD /path` matches one of them.
    pub include: Vec<String>,
    /// Globs: leave out operations whose operationId or `METHOD /path` matches one of them.
    pub exclude: Vec<String>,
    /// Declare each operation's 2xx JSON response schema as the tool's `output_schema` (off by
    /// default: every answer is then checked against it, and an API that drifts from its spec
    /// fails those calls).
    pub output_schemas: bool,
    /// The spec's name, shown in the header comment (a file name, not a full path, so that the
    /// output does not depend on where it was run).
    pub source_name: String,
}

/// The generated config.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The YAML text.
    pub yaml: String,
    /// How many tools it declares.
    pub tools: usize,
    /// How many selected operations were skipped (listed in the header comment).
    pub skipped: usize,
}

/// Why a document could not be imported.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// Reads an OpenAPI document: JSON when it starts with `{`, YAML otherwise.
pub fn parse_document(text: &str) -> Result<Node, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| ImportError(format!("invalid JSON: {e}")))
    } else {
        // Real-world specs are large (tens of thousands of schema nodes): the parser's
        // default budget, sized for config files, is raised; alias limits stay as they are.
        let mut budget = serde_saphyr::Budget::default();
        budget.max_events = 40_000_000;
        budget.max_nodes = 20_000_000;
        budget.max_depth = 256;
        budget.max_total_scalar_bytes = 512 * 1024 * 1024;
        let options = serde_saphyr::options! { strict_booleans: true, budget: Some(budget) };
        let parsed: Option<Node> = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| ImportError(format!("invalid YAML: {}", e.without_snippet())))?;
        parsed.ok_or_else(|| ImportError("the document is empty".into()))
    }
}

/// Generates tool YAML for an OpenAPI 3.0/3.1 or Swagger 2.0 document given as text (YAML or
/// JSON).
pub fn openapi(text: &str, options: &OpenApiOptions) -> Result<Imported, ImportError> {
    let spec = parse_document(text)?;
    openapi::import(&spec, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON text of a tree, keeping its key order (`serde_json::Value` would sort the keys).
    fn ordered_json(node: &Node) -> String {
        match node {
            Node::Map(entries) => {
                let members: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}:{}",
                            serde_json::Value::String(e.key.clone()),
                            ordered_json(&e.value)
                        )
                    })
                    .collect();
                format!("{{{}}}", members.join(","))
            }
            Node::Seq(items) => {
                let items: Vec<String> = items.iter().map(ordered_json).collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_json().to_string(),
        }
    }

    #[test]
    fn yaml_and_json_documents_import_alike() {
        let yaml = include_str!("../../tests/data/openapi/petstore-3.1.yaml");
        let json = ordered_json(&parse_document(yaml).unwrap());
        let options = OpenApiOptions {
            source_name: "spec".into(),
            ..OpenApiOptions::default()
        };
        let from_yaml = openapi(yaml, &options).unwrap();
        let from_json = openapi(&json, &options).unwrap();
        assert_eq!(from_yaml.yaml, from_json.yaml);
        assert_eq!((from_yaml.tools, from_yaml.skipped), (5, 0));
    }

    #[test]
    fn refuses_documents_that_are_not_openapi_3() {
        let options = OpenApiOptions::default();
        for (text, message) in [
            ("", "empty"),
            ("{", "invalid JSON"),
            ("a: [", "invalid YAML"),
            ("openapi: 2.0.0\n", "not supported"),
            ("info: {}\n", "'openapi' field is missing"),
            ("openapi: 3.0.0\npaths: {}\n", "no operations"),
        ] {
            let error = openapi(text, &options).unwrap_err().to_string();
            assert!(error.contains(message), "{text:?}: {error}");
        }
    }
}
