//! `toolgate schema`: the JSON Schema of the config file, generated from the config types.
//!
//! The published copy is `config/toolgate.schema.json` (`tests/config_schema.rs` keeps it in step
//! with this output). Editors use it through a first line such as
//! `# yaml-language-server: $schema=../config/toolgate.schema.json`.

use schemars::generate::SchemaSettings;
use std::process::ExitCode;
use toolgate::config::model::ConfigFile;

/// The schema as pretty JSON text with a final newline.
///
/// Draft 7 rather than 2020-12: every YAML/JSON editor understands it. Spans and `${VAR}`s are
/// invisible here: a `Text` field is a plain string, JSON Schema fields (`input_schema`, ...)
/// are free-form.
pub fn text() -> String {
    let mut settings = SchemaSettings::draft07();
    // Sections are written out where they are used rather than as `$ref`s: an optional
    // section is then one schema whose type admits null, instead of an `anyOf` of a `$ref`
    // and null, which validators report only as "not valid under any of the schemas".
    settings.inline_subschemas = true;
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<ConfigFile>();
    schema.insert("title".into(), "toolgate config".into());
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
    text.push('\n');
    text
}

/// Prints the schema to stdout.
pub fn run() -> anyhow::Result<ExitCode> {
    print!("{}", text());
    Ok(ExitCode::SUCCESS)
}
