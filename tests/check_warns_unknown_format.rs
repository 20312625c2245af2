//! An unknown JSON Schema `format` in a tool's input (or output) schema is a warning, not an
//! error: `toolgate check` prints `file:line:col: warning: ...` at the schema naming the
//! format and where it is, and exits 0 (the config serves; the format is simply not checked).
//! Known formats and a property that is merely named `format` give no warning.

use std::process::Command;

const CONFIG: &str = r#"upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: add_contact
    description: Add a contact.
    input_schema:
      type: object
      properties:
        mail: { type: string, format: emial }
        born: { type: string, format: date }
        format: { type: string }
    request: { upstream: api, method: POST, path: /contacts }
    response:
      output_schema:
        type: object
        properties: { id: { type: string, format: uuid }, colour: { format: rgb } }
"#;

#[test]
fn unknown_formats_are_located_warnings_and_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, CONFIG).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let file = path.display().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "{file}:7:7: warning: input_schema: format 'emial' (at /properties/mail/format) is not one toolgate checks"
        )),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!(
            "{file}:15:9: warning: output_schema: format 'rgb' (at /properties/colour/format)"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("{file}: ok (1 tools")),
        "{}",
        lines[2]
    );
}
