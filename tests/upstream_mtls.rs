//! `upstreams.<name>.tls` over real sockets: certificates generated in the test (rcgen), an
//! HTTPS upstream on 127.0.0.1 (tokio-rustls) that requires a client certificate signed by
//! its CA. With `ca_file` and the client certificate the call succeeds; without the client
//! certificate, with a certificate from another CA, without the CA, with the wrong CA, an
//! expired server certificate or one for another hostname, it fails with an `upstream_error`
//! giving the reason.

mod common;

use common::tls::{Ca, Leaf, start_tls_upstream, write};
use common::{GatewayUnderTest, mcp_call, start_gateway};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;

/// A gateway whose upstream `secure` at `addr` has this `tls:` block (YAML flow mapping).
async fn gateway(addr: SocketAddr, tls: &str) -> GatewayUnderTest {
    let tls = if tls.is_empty() {
        String::new()
    } else {
        format!("\n    tls: {tls}")
    };
    let yaml = format!(
        r#"
upstreams:
  secure:
    base_url: "https://{addr}"{tls}
tools:
  - name: secure_ping
    description: Ping the mTLS upstream.
    request: {{ upstream: secure, path: /ping }}
"#
    );
    start_gateway(&yaml, &[]).await
}

fn tls_block(ca: Option<&Path>, client: Option<(&Path, &Path)>) -> String {
    let mut parts = Vec::new();
    if let Some(ca) = ca {
        parts.push(format!("ca_file: \"{}\"", ca.display()));
    }
    if let Some((cert, key)) = client {
        parts.push(format!("client_cert_file: \"{}\"", cert.display()));
        parts.push(format!("client_key_file: \"{}\"", key.display()));
    }
    format!("{{ {} }}", parts.join(", "))
}

async fn call(gateway: &GatewayUnderTest) -> Value {
    mcp_call(gateway, "secure_ping", json!({})).await["result"].clone()
}

/// Asserts an `upstream_error` whose message says `reason`.
async fn refused(gateway: &GatewayUnderTest, reason: &str) {
    let result = call(gateway).await;
    assert_eq!(result["isError"], json!(true), "{result}");
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["code"], json!("upstream_error"), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("TLS handshake with upstream 'secure' failed"),
        "{message}"
    );
    assert!(message.contains(reason), "{message}");
    assert!(error["details"]["tls"].is_string(), "{error}");
}

struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    server: Leaf,
}

impl Pki {
    fn new() -> Self {
        let ca = Ca::new("toolgate test CA");
        let server = ca.issue(&["127.0.0.1"]);
        let dir = tempfile::tempdir().unwrap();
        Self { dir, ca, server }
    }

    fn file(&self, name: &str, contents: &str) -> std::path::PathBuf {
        write(self.dir.path(), name, contents)
    }
}

#[tokio::test]
async fn the_right_ca_and_client_certificate_succeed() {
    let pki = Pki::new();
    let addr = start_tls_upstream(&pki.server, Some(&pki.ca)).await;
    let client = pki.ca.issue(&["toolgate.internal"]);
    let ca = pki.file("ca.pem", &pki.ca.pem());
    let cert = pki.file("client.pem", &client.cert_pem);
    let key = pki.file("client.key", &client.key_pem);
    let gateway = gateway(addr, &tls_block(Some(&ca), Some((&cert, &key)))).await;
    let result = call(&gateway).await;
    assert_eq!(result["isError"], json!(false), "{result}");
    assert_eq!(
        result["structuredContent"],
        json!({ "tls": "ok", "client_cert": true })
    );
}

#[tokio::test]
async fn without_a_client_certificate_the_upstream_refuses() {
    let pki = Pki::new();
    let addr = start_tls_upstream(&pki.server, Some(&pki.ca)).await;
    let ca = pki.file("ca.pem", &pki.ca.pem());
    let gateway = gateway(addr, &tls_block(Some(&ca), None)).await;
    refused(&gateway, "client certificate").await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let pki = Pki::new();
    let addr = start_tls_upstream(&pki.server, Some(&pki.ca)).await;
    let stranger = Ca::new("another CA").issue(&["toolgate.internal"]);
    let ca = pki.file("ca.pem", &pki.ca.pem());
    let cert = pki.file("client.pem", &stranger.cert_pem);
    let key = pki.file("client.key", &stranger.key_pem);
    let gateway = gateway(addr, &tls_block(Some(&ca), Some((&cert, &key)))).await;
    refused(&gateway, "client certificate").await;
}

#[tokio::test]
async fn an_unknown_ca_is_refused_by_the_gateway() {
    let pki = Pki::new();
    let addr = start_tls_upstream(&pki.server, None).await;
    // No ca_file: the built-in roots do not know the test CA.
    let gateway = gateway(addr, "").await;
    refused(&gateway, "unknown issuer").await;
    // The wrong CA in ca_file.
    let other = pki.file("other-ca.pem", &Ca::new("another CA").pem());
    let gateway = self::gateway(addr, &tls_block(Some(&other), None)).await;
    refused(&gateway, "unknown issuer").await;
}

#[tokio::test]
async fn an_expired_or_misnamed_server_certificate_is_refused() {
    let pki = Pki::new();
    let ca = pki.file("ca.pem", &pki.ca.pem());
    let expired = start_tls_upstream(&pki.ca.issue_expired(), None).await;
    let gateway = gateway(expired, &tls_block(Some(&ca), None)).await;
    refused(&gateway, "expired").await;
    let misnamed = start_tls_upstream(&pki.ca.issue(&["crm.internal"]), None).await;
    let gateway = self::gateway(misnamed, &tls_block(Some(&ca), None)).await;
    refused(&gateway, "hostname mismatch").await;
}
