//! A config file holding several YAML documents is reported in terms of what the user should
//! do, at the second document's `---`, not with the YAML library's API advice.

use std::process::Command;

#[test]
fn several_yaml_documents_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, "tools: []\n---\ntools: []\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout.trim_end(),
        format!(
            "{}:3:1: this file has several YAML documents (---); put each config in its own file (and include it) or remove the extra `---`",
            path.display()
        )
    );
    assert!(!stdout.contains("from_str"), "{stdout}");
}
