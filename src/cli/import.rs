//! `toolgate import openapi SPEC`: tool YAML from an OpenAPI 3.0/3.1 or Swagger 2.0 document.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use toolgate::import::{self, OpenApiOptions};

/// What to import from.
#[derive(clap::Subcommand)]
pub enum ImportSource {
    /// Write an upstream and one tool per operation of an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or
    /// JSON). The output is a valid config file on its own; review it, then include it.
    Openapi {
        /// The OpenAPI document (a local file).
        spec: PathBuf,
        /// Name of the upstream to declare (default: derived from info.title).
        #[arg(long)]
        upstream: Option<String>,
        /// Import only operations whose operationId or "METHOD /path" matches (repeatable).
        #[arg(long, value_name = "GLOB")]
        include: Vec<String>,
        /// Leave out operations whose operationId or "METHOD /path" matches (repeatable).
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Declare each operation's response schema as the tool's output_schema. Clients then
        /// get an outputSchema, but every answer is checked against it: one that drifts from
        /// the spec fails the call (upstream_error). Off by default.
        #[arg(long)]
        output_schemas: bool,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Runs the import and writes the YAML; a summary goes to stderr.
pub fn run(source: ImportSource) -> anyhow::Result<ExitCode> {
    let ImportSource::Openapi {
        spec,
        upstream,
        include,
        exclude,
        output_schemas,
        output,
    } = source;
    let text = std::fs::read_to_string(&spec)
        .with_context(|| format!("cannot read {}", spec.display()))?;
    let options = OpenApiOptions {
        upstream,
        include,
        exclude,
        output_schemas,
        source_name: spec.file_name().map_or_else(
            || spec.display().to_string(),
            |n| n.to_string_lossy().into(),
        ),
    };
    let imported = import::openapi(&text, &options)
        .with_context(|| format!("cannot import {}", spec.display()))?;
    match &output {
        Some(path) => std::fs::write(path, &imported.yaml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{}", imported.yaml),
    }
    let target = output.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    eprintln!(
        "{} tool(s) written to {target}{}",
        imported.tools,
        match imported.skipped {
            0 => String::new(),
            n => format!("; {n} operation(s) skipped (see the comments at the top)"),
        }
    );
    Ok(ExitCode::SUCCESS)
}
