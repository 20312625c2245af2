//! OpenAPI 3.0/3.1 (and Swagger 2.0) operations to toolgate tools.

mod body;
mod helpers;
mod servers;
mod swagger;
mod tool;

use super::names;
use super::node::{Entry, Node};
use super::schema::{self, Schemas};
use super::yaml;
use super::{ImportError, Imported, OpenApiOptions};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use helpers::one_line;
use servers::{base_url, security};
use std::collections::{HashMap, HashSet};

/// The operation keys of a path item, in the order OpenAPI lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Imports every selected operation of `spec` (OpenAPI 3.0/3.1, or Swagger 2.0 converted to
/// OpenAPI 3.0 first).
pub fn import(spec: &Node, options: &OpenApiOptions) -> Result<Imported, ImportError> {
    let version = match (spec.get_str("openapi"), spec.get("swagger")) {
        (Some(v), _) if v.starts_with("3.") => format!("OpenAPI {v}"),
        (Some(v), _) => {
            return Err(ImportError(format!(
                "OpenAPI {v} is not supported: use an OpenAPI 3.0 or 3.1 document or Swagger 2.0"
            )));
        }
        (None, Some(Node::String(v))) if v == "2.0" => {
            let converted = swagger::to_openapi3(spec);
            return import_document(&converted, options, "Swagger 2.0, read as OpenAPI 3.0");
        }
        (None, Some(v)) => {
            let v = match v {
                Node::String(s) => s.clone(),
                other => other.to_json().to_string(),
            };
            return Err(ImportError(format!(
                "Swagger {v} is not supported: use Swagger 2.0 or OpenAPI 3.0/3.1"
            )));
        }
        (None, None) => {
            return Err(ImportError(
                "not an OpenAPI document: the 'openapi' field is missing".into(),
            ));
        }
    };
    import_document(spec, options, &version)
}

/// Imports every selected operation of an OpenAPI 3 document; `version` names the document's
/// version in the header comment.
fn import_document(
    spec: &Node,
    options: &OpenApiOptions,
    version: &str,
) -> Result<Imported, ImportError> {
    let info = spec.get("info").unwrap_or(&Node::Null);
    let title = info.get_str("title").unwrap_or("API").trim();
    let upstream = match &options.upstream {
        Some(name) if names::valid_upstream(name) => name.clone(),
        Some(name) => {
            return Err(ImportError(format!(
                "--upstream '{name}' must be letters, digits, '_', '-' or '.'"
            )));
        }
        None => match names::snake_case(title) {
            name if name.is_empty() => "api".into(),
            name => name,
        },
    };
    let filter = Filter::new(options)?;
    let schemas = Schemas::new(spec);
    let mut importer = Importer {
        spec,
        schemas: &schemas,
        upstream: upstream.clone(),
        tool_names: HashSet::new(),
        output_schemas: options.output_schemas,
    };

    let mut tools: Vec<(Vec<String>, Node)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut selected = 0;
    for path_entry in spec.get("paths").map(Node::entries).unwrap_or_default() {
        let path = path_entry.key.as_str();
        let item = match follow(spec, &path_entry.value) {
            Ok(item) => item,
            Err(reason) => {
                skipped.push(format!("{path}: {reason}"));
                continue;
            }
        };
        for method_entry in item.entries() {
            let lower = method_entry.key.to_ascii_lowercase();
            if !METHODS.contains(&lower.as_str()) {
                continue;
            }
            let method = lower.to_ascii_uppercase();
            let operation = &method_entry.value;
            let label = format!("{method} {path}");
            let operation_id = operation
                .get_str("operationId")
                .map(str::trim)
                .filter(|id| !id.is_empty());
            if !filter.selects(operation_id, &label) {
                continue;
            }
            selected += 1;
            let display = match operation_id {
                Some(id) => format!("{id} ({label})"),
                None => label.clone(),
            };
            if method == "TRACE" {
                skipped.push(format!("{display}: toolgate does not send TRACE requests"));
                continue;
            }
            let op = Operation {
                method,
                path,
                label,
                operation_id,
                operation,
                shared_parameters: item.get("parameters").map(Node::items).unwrap_or_default(),
            };
            match importer.tool(&op) {
                Ok(tool) => tools.push(tool),
                Err(reason) => skipped.push(format!("{display}: {reason}")),
            }
        }
    }
    if selected == 0 {
        return Err(ImportError(
            if options.include.is_empty() && options.exclude.is_empty() {
                "the document has no operations".into()
            } else {
                "no operation matches the --include/--exclude globs".into()
            },
        ));
    }

    let mut out = String::new();
    let source = one_line(&options.source_name);
    let api_version = info.get_str("version").map(one_line).unwrap_or_default();
    let mut header = vec![
        format!(
            "Generated by `toolgate import openapi` from {source}: {} {api_version} ({version}).",
            one_line(title)
        )
        .replace("  (", " ("),
        String::new(),
        "Review it before serving. Descriptions, argument schemas and annotations come from the"
            .into(),
        "spec as written; comments starting with \"guess:\" or \"note:\" mark what the importer had"
            .into(),
    ];
    let output_schemas: &[&str] = if options.output_schemas {
        &[
            "to decide. Every result is checked against its tool's response.output_schema: a",
            "mismatch fails the call (counted in toolgate_output_schema_mismatches_total); loosen",
            "or remove one that the API does not honour. This file is a complete config on its own",
        ]
    } else {
        &[
            "to decide. No output_schema is declared, so an answer that drifts from the spec still",
            "works (an object still comes back as structuredContent); `--output-schemas` declares",
            "each response schema instead: clients then get an outputSchema, and an answer that",
            "does not match it fails the call. This file is a complete config on its own",
        ]
    };
    header.extend(output_schemas.iter().map(|line| (*line).to_owned()));
    header.extend([
        "(`toolgate check --config FILE`); to serve it with other tools, list it under `include:`."
            .into(),
    ]);
    if !skipped.is_empty() {
        header.push(String::new());
        header.push("Skipped operations:".into());
        header.extend(skipped.iter().map(|s| format!("  - {}", one_line(s))));
    }
    yaml::write_comments(&mut out, &header, 0);
    out.push('\n');

    let (base_url, base_notes) = base_url(spec, &upstream);
    let mut upstream_entries = vec![Entry {
        comments: base_notes,
        key: "base_url".into(),
        value: Node::String(base_url),
    }];
    let credentials = security(spec, &upstream);
    if !credentials.is_empty() {
        upstream_entries.push(Entry::comment_only(credentials));
    }
    out.push_str("upstreams:\n");
    yaml::write_map(
        &mut out,
        &[Entry::new(upstream, Node::Map(upstream_entries))],
        2,
    );
    out.push('\n');
    if tools.is_empty() {
        out.push_str("tools: []\n");
    } else {
        out.push_str("tools:\n");
        for (i, (notes, tool)) in tools.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            yaml::write_comments(&mut out, notes, 2);
            yaml::write_seq_item(&mut out, tool, 2);
        }
    }
    Ok(Imported {
        yaml: out,
        tools: tools.len(),
        skipped: skipped.len(),
    })
}

/// Which operations to import.
struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filter {
    fn new(options: &OpenApiOptions) -> Result<Self, ImportError> {
        Ok(Self {
            include: glob_set(&options.include)?,
            exclude: glob_set(&options.exclude)?,
        })
    }

    /// An operation is selected when an include glob (if any) matches its operationId or its
    /// `METHOD /path`, and no exclude glob does.
    fn selects(&self, operation_id: Option<&str>, label: &str) -> bool {
        let candidates: Vec<&str> = operation_id.into_iter().chain([label]).collect();
        let hit = |set: &GlobSet| candidates.iter().any(|c| set.is_match(c));
        self.include.as_ref().is_none_or(hit) && !self.exclude.as_ref().is_some_and(hit)
    }
}

fn glob_set(globs: &[String]) -> Result<Option<GlobSet>, ImportError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = GlobBuilder::new(glob)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| ImportError(format!("invalid glob '{glob}': {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| ImportError(format!("invalid globs: {e}")))
}

/// Follows `$ref`s (of path items, parameters, request bodies, responses) to their target.
fn follow<'a>(spec: &'a Node, mut node: &'a Node) -> Result<&'a Node, String> {
    for _ in 0..32 {
        match node.get_str("$ref") {
            None => return Ok(node),
            Some(reference) => {
                node = schema::pointer(spec, reference)
                    .ok_or_else(|| format!("the $ref '{reference}' cannot be resolved"))?;
            }
        }
    }
    Err("a loop of $refs".into())
}

/// One operation to import.
struct Operation<'a> {
    method: String,
    path: &'a str,
    /// `METHOD /path`.
    label: String,
    operation_id: Option<&'a str>,
    operation: &'a Node,
    /// Parameters of the path item, shared by its operations.
    shared_parameters: &'a [Node],
}

struct Importer<'s, 'a> {
    spec: &'a Node,
    schemas: &'s Schemas<'a>,
    upstream: String,
    tool_names: HashSet<String>,
    /// Whether to write `response.output_schema` (`--output-schemas`).
    output_schemas: bool,
}

/// One tool argument.
struct Arg {
    name: String,
    schema: Node,
    required: bool,
    comments: Vec<String>,
}

/// The arguments of one tool, with where each name came from.
#[derive(Default)]
struct Args {
    list: Vec<Arg>,
    origins: HashMap<String, String>,
}

impl Args {
    /// Claims an argument name for `origin`; a name already taken gets `prefix_` (and a
    /// number if needed), with a note saying so.
    fn claim(&mut self, wanted: &str, prefix: &str, origin: &str) -> (String, Option<String>) {
        if !self.origins.contains_key(wanted) {
            self.origins.insert(wanted.to_owned(), origin.to_owned());
            return (wanted.to_owned(), None);
        }
        let holder = self.origins[wanted].clone();
        let mut candidate = format!("{prefix}_{wanted}");
        let mut n = 2;
        while self.origins.contains_key(&candidate) {
            candidate = format!("{prefix}_{wanted}_{n}");
            n += 1;
        }
        self.origins.insert(candidate.clone(), origin.to_owned());
        let note =
            format!("note: argument '{candidate}' is the {origin}: '{wanted}' is the {holder}");
        (candidate, Some(note))
    }
}
