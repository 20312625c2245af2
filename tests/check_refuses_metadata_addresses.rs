//! `toolgate check` refuses upstream base URLs at the cloud metadata address in every spelling
//! (IPv4, IPv4-compatible, IPv4-mapped and NAT64 IPv6) and at the unspecified addresses
//! (`0.0.0.0`, `[::]`, which connect to this host), each at its `base_url` node; the same URLs
//! pass with `server.allow_link_local_upstreams: true`. (The DNS side, answers filtered at
//! connect time, is `forward::dns`'s unit test: no name here resolves to such an address.)

use std::process::Command;

const REFUSED: [(&str, &str); 6] = [
    ("http://169.254.169.254/", "a link-local address"),
    ("http://[::169.254.169.254]/", "a link-local address"),
    ("http://[::ffff:169.254.169.254]/", "a link-local address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "a link-local address"),
    ("http://0.0.0.0:8080/", "an unspecified address"),
    ("http://[::]:8080/", "an unspecified address"),
];

fn config(server: &str) -> String {
    let mut yaml = format!("{server}upstreams:\n");
    for (index, (url, _)) in REFUSED.iter().enumerate() {
        yaml.push_str(&format!("  u{index}:\n    base_url: \"{url}\"\n"));
    }
    yaml.push_str("tools: []\n");
    yaml
}

fn check(yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, yaml).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let name = path.display().to_string();
    (output.status.code().unwrap(), stdout.replace(&name, "F"))
}

#[test]
fn metadata_and_unspecified_base_urls_are_refused_at_their_node() {
    let (code, stdout) = check(&config(""));
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), REFUSED.len(), "{stdout}");
    for (index, ((_, why), line)) in REFUSED.iter().zip(&lines).enumerate() {
        let at = format!(
            "F:{}:15: base_url of upstream 'u{index}' is {why}",
            3 + 2 * index
        );
        assert!(line.starts_with(&at), "{line}\nexpected {at}");
    }
}

#[test]
fn the_knob_allows_them() {
    let (code, stdout) = check(&config("server: { allow_link_local_upstreams: true }\n"));
    assert_eq!(code, 0, "{stdout}");
}
