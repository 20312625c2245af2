//! The published JSON Schema of the config file (`config/toolgate.schema.json`): it is what
//! `toolgate schema` prints, every bundled config validates against it, and a broken config
//! is rejected with a message that says where and why.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_toolgate");
const PUBLISHED: &str = "config/toolgate.schema.json";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generated() -> String {
    let output = Command::new(BIN)
        .arg("schema")
        .current_dir(root())
        .output()
        .expect("run toolgate schema");
    assert!(output.status.success(), "toolgate schema failed");
    String::from_utf8(output.stdout).expect("UTF-8 schema")
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&generated()).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// A YAML config as JSON, read the way the gateway reads it (YAML 1.2 booleans).
fn yaml_to_json(text: &str) -> Value {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Option<Value>>(text, options)
        .expect("valid YAML")
        .unwrap_or(Value::Null)
}

/// Every problem as `<pointer>: <message>`.
fn problems(validator: &jsonschema::Validator, config: &Value) -> Vec<String> {
    validator
        .iter_errors(config)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            format!("{at}: {e}")
        })
        .collect()
}

/// `config/gateway.yaml`, every `examples/*/gateway.yaml` and the importer's golden files.
fn bundled_configs() -> Vec<PathBuf> {
    let mut files = vec![root().join("config/gateway.yaml")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("gateway.yaml"))
        .filter(|path| path.is_file())
        .collect();
    examples.sort();
    assert!(!examples.is_empty(), "no examples/*/gateway.yaml found");
    files.extend(examples);
    let mut imported: Vec<PathBuf> = std::fs::read_dir(root().join("tests/data/openapi"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.to_string_lossy().ends_with(".expected.yaml"))
                .collect()
        })
        .unwrap_or_default();
    imported.sort();
    files.extend(imported);
    files
}

#[test]
fn the_published_schema_is_up_to_date() {
    let published = std::fs::read_to_string(root().join(PUBLISHED)).unwrap_or_default();
    assert!(
        published == generated(),
        "{PUBLISHED} is not what `toolgate schema` prints (the config types in \
         src/config/model.rs changed?). Regenerate it with:\n\n    \
         cargo run -- schema > {PUBLISHED}\n"
    );
}

#[test]
fn every_bundled_config_validates() {
    let validator = validator();
    for path in bundled_configs() {
        let text = std::fs::read_to_string(&path).expect("read config");
        let config = yaml_to_json(&text);
        let found = problems(&validator, &config);
        assert!(
            found.is_empty(),
            "{} does not match {PUBLISHED}:\n  {}",
            path.display(),
            found.join("\n  ")
        );
    }
}

#[test]
fn bundled_configs_point_editors_at_the_schema() {
    for path in bundled_configs()
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("tests/data"))
    {
        let text = std::fs::read_to_string(&path).expect("read config");
        let first = text.lines().next().unwrap_or("");
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| {
                panic!(
                    "the first line of {} should be `# yaml-language-server: $schema=<path to {PUBLISHED}>`",
                    path.display()
                )
            });
        let resolved = path.parent().unwrap().join(target);
        assert!(
            resolved.is_file() && resolved.ends_with("toolgate.schema.json"),
            "{}: $schema={target} does not lead to {PUBLISHED}",
            path.display()
        );
    }
}

#[test]
fn a_broken_config_is_rejected_with_readable_messages() {
    let validator = validator();
    let config = yaml_to_json(
        r#"
server:
  listen: 127.0.0.1:8766
  max_body_bytes: lots
upstreams:
  crm:
    base_url: http://127.0.0.1:9101
    timeoutt: 5s
tools:
  - name: t
    description: d
    request: { upstream: crm, path: /x, body: { a: 1 } }
    response: { stream: "yes" }
"#,
    );
    let found = problems(&validator, &config);
    let all = found.join("\n");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("/upstreams/crm: ") && p.contains("'timeoutt'")),
        "unknown key not reported at its mapping:\n{all}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("/server/max_body_bytes: ") && p.contains("\"lots\"")),
        "wrong type not reported at its node:\n{all}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("/tools/0/response/stream: ") && p.contains("boolean")),
        "wrong type not reported at its node:\n{all}"
    );
    // Free-form JSON (a body, a schema) is accepted as anything.
    assert!(!all.contains("/body"), "{all}");
}

#[test]
fn the_schema_keeps_the_documentation_editors_show() {
    let schema: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let tool = &schema["properties"]["tools"]["items"];
    assert_eq!(tool["additionalProperties"], false);
    let description = tool["properties"]["description"]["description"]
        .as_str()
        .unwrap_or("");
    assert!(description.contains("the model reads it"), "{description}");
    // Spanned strings are plain strings, JSON Schema fields are free-form.
    assert_eq!(tool["properties"]["name"]["type"], "string");
    assert!(tool["properties"]["input_schema"].get("type").is_none());
    let required: Vec<&str> = tool["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["name", "description", "request"]);
}
