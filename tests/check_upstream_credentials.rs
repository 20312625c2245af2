//! `toolgate check` (the real binary) on `tls:` and `auth:` blocks of upstreams: unreadable
//! files, files without PEM certificates or keys, a client certificate without its key, a
//! token_url that is not http(s), two auth forms at once and a token exchange without JWT
//! callers are each reported as `FILE:LINE:COL: message` at the offending node; a valid
//! config with relative paths (resolved against the config file) passes.

mod common;

use common::tls::Ca;
use std::path::Path;
use std::process::Command;

/// Runs `toolgate check --config FILE` from `/`; returns (exit code, stdout).
fn check(file: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["check", "--config", file.to_str().unwrap()])
        .current_dir("/")
        .env("RUST_LOG", "off")
        .env("CLIENT_SECRET", "secret")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// `FILE:LINE:COL: message` for the node starting at `needle` (which occurs once in `text`).
fn problem(file: &Path, text: &str, needle: &str, message: &str) -> String {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the config"));
    assert_eq!(text.matches(needle).count(), 1, "{needle:?} occurs twice");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |nl| nl + 1) + 1;
    format!("{}:{line}:{column}: {message}", file.display())
}

/// A temp dir holding a CA certificate, a client certificate and key, and `not-pem.txt`.
fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("check CA");
    let client = ca.issue(&["toolgate.internal"]);
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("client.pem"), &client.cert_pem).unwrap();
    std::fs::write(dir.path().join("client.key"), &client.key_pem).unwrap();
    std::fs::write(dir.path().join("not-pem.txt"), "hello\n").unwrap();
    dir
}

const TOOLS: &str = r#"
tools:
  - name: ping
    description: Ping.
    request: { upstream: a, path: /ping }
"#;

#[test]
fn bad_tls_and_auth_blocks_are_reported_at_their_nodes() {
    let dir = files();
    let yaml = format!(
        r#"upstreams:
  a:
    base_url: "https://127.0.0.1:9"
    tls:
      ca_file: missing-ca.pem
  b:
    base_url: "https://127.0.0.1:9"
    tls: {{ ca_file: not-pem.txt, client_cert_file: client.key, client_key_file: ca.pem }}
  c:
    base_url: "https://127.0.0.1:9"
    tls: {{ client_cert_file: client.pem }}
  d:
    base_url: "https://127.0.0.1:9"
    auth:
      oauth2_client_credentials: {{ token_url: "ftp://idp.internal/token", client_id: tg, client_secret: "${{CLIENT_SECRET}}" }}
  e:
    base_url: "https://127.0.0.1:9"
    auth:
      token_exchange: {{ token_url: "https://idp.internal/token", client_id: tg, client_secret: "${{CLIENT_SECRET}}" }}
  f:
    base_url: "https://127.0.0.1:9"
    auth: {{ identity_assertion: {{ issuer: toolgate, audience: f, signing_key_file: not-pem.txt }}, oauth2_client_credentials: {{ token_url: "https://idp.internal/t", client_id: tg, client_secret: x }} }}
  g:
    base_url: "https://127.0.0.1:9"
    auth:
      identity_assertion: {{ issuer: toolgate, audience: g, signing_key_file: ./client.pem }}
{TOOLS}"#
    );
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let (code, stdout) = check(&file);
    assert_eq!(code, 1, "{stdout}");
    let printed: Vec<&str> = stdout.lines().collect();
    let expected = [
        problem(
            &file,
            &yaml,
            "missing-ca.pem",
            "ca_file 'missing-ca.pem' cannot be read: No such file or directory (os error 2)",
        ),
        problem(
            &file,
            &yaml,
            "not-pem.txt, client",
            "ca_file holds no PEM certificate",
        ),
        problem(
            &file,
            &yaml,
            "client.key, client_key",
            "client_cert_file holds no PEM certificate",
        ),
        problem(
            &file,
            &yaml,
            "ca.pem }",
            "client_key_file holds no PEM private key (PKCS#8, RSA or SEC1)",
        ),
        problem(
            &file,
            &yaml,
            "{ client_cert_file: client.pem }",
            "tls needs both client_cert_file and client_key_file for a client certificate",
        ),
        problem(
            &file,
            &yaml,
            "\"ftp://",
            "token_url 'ftp://idp.internal/token' must be an http(s) URL",
        ),
        problem(
            &file,
            &yaml,
            "{ token_url: \"https://idp.internal/token\"",
            "token_exchange trades the caller's JWT: configure auth.jwt",
        ),
        problem(
            &file,
            &yaml,
            "{ identity_assertion: { issuer: toolgate, audience: f",
            "auth needs exactly one of oauth2_client_credentials, token_exchange or identity_assertion",
        ),
        problem(
            &file,
            &yaml,
            "./client.pem",
            "signing_key_file: the key file holds no RSA or EC P-256 (PKCS#8) private key",
        ),
    ];
    for line in &expected {
        assert!(
            printed.contains(&line.as_str()),
            "missing {line}\nin:\n{stdout}"
        );
    }
    assert_eq!(printed.len(), expected.len(), "{stdout}");
}

#[test]
fn a_valid_tls_block_with_relative_paths_passes() {
    let dir = files();
    let yaml = format!(
        r#"upstreams:
  a:
    base_url: "https://127.0.0.1:9"
    tls: {{ ca_file: ca.pem, client_cert_file: client.pem, client_key_file: client.key }}
    auth:
      oauth2_client_credentials: {{ token_url: "https://idp.internal/token", client_id: tg, client_secret: "${{CLIENT_SECRET}}", scopes: [ a.read ] }}
{TOOLS}"#
    );
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let (code, stdout) = check(&file);
    assert_eq!(code, 0, "{stdout}");
}
