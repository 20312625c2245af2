//! Egress through a proxy per upstream, with a real forward proxy (absolute-form HTTP and
//! CONNECT) on 127.0.0.1: `proxy: URL` sends the calls through it (with Proxy-Authorization
//! from the URL's user info), `no_proxy` hosts go direct, an upstream without `proxy:` goes
//! direct even with `HTTP_PROXY` set, `proxy: from_env` follows `HTTP_PROXY`; the rendered
//! request still cannot leave `base_url`, and `check` refuses bad proxy settings.

mod common;

use common::{GatewayUnderTest, Upstream, mcp_call, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw: each request line with its `Proxy-Authorization`, if any.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A forward proxy that records the request line and `Proxy-Authorization` of every request.
struct Proxy {
    url: String,
    seen: Seen,
}

impl Proxy {
    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn start_proxy() -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, log.clone()));
        }
    });
    Proxy { url, seen }
}

/// Serves one client connection: CONNECT opens a tunnel; an absolute-form request is sent on
/// to its origin in origin form (one request per connection: `Connection: close`).
async fn relay(client: TcpStream, log: Seen) {
    let mut reader = BufReader::new(client);
    let mut line = String::new();
    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
        return;
    }
    let request_line = line.trim_end().to_owned();
    let mut head = Vec::new();
    let mut auth = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
            return;
        }
        if header == "\r\n" {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("proxy-authorization:") {
            auth = Some(header[header.len() - value.len()..].trim().to_owned());
            continue;
        }
        if lower.starts_with("connection:") || lower.starts_with("proxy-connection:") {
            continue;
        }
        head.push(header);
    }
    log.lock().unwrap().push((request_line.clone(), auth));
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(mut origin) = TcpStream::connect(target).await else {
            return;
        };
        let mut client = reader.into_inner();
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut origin).await;
        return;
    }
    let Some(rest) = target.strip_prefix("http://") else {
        return;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut origin) = TcpStream::connect(authority).await else {
        return;
    };
    let mut out = format!(
        "{method} {} HTTP/1.1\r\n",
        if path.is_empty() { "/" } else { path }
    );
    for header in &head {
        out.push_str(header);
    }
    out.push_str("Connection: close\r\n\r\n");
    let length = head
        .iter()
        .find_map(|h| {
            h.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0usize);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).await.is_err() {
        return;
    }
    let _ = origin.write_all(out.as_bytes()).await;
    let _ = origin.write_all(&body).await;
    let mut answer = Vec::new();
    let _ = origin.read_to_end(&mut answer).await;
    let mut client = reader.into_inner();
    let _ = client.write_all(&answer).await;
}

const TOOLS: &str = r#"
tools:
  - name: via_proxy
    description: Through the proxy.
    input_schema: { type: object, properties: { id: { type: string } }, required: [ id ] }
    request: { upstream: proxied, path: "/items/{{args.id}}" }
  - name: bypassing
    description: Listed in no_proxy.
    input_schema: { type: object }
    request: { upstream: bypassed, path: /bypassed }
  - name: direct
    description: No proxy configured.
    input_schema: { type: object }
    request: { upstream: plain, path: /direct }
  - name: from_env
    description: The environment's proxy.
    input_schema: { type: object }
    request: { upstream: env, path: /from-env }
"#;

fn upstream_ok(reply: &Value) {
    assert_eq!(reply["result"]["isError"], false, "{reply}");
}

async fn gateway(proxy: &Proxy, upstream: &Upstream) -> GatewayUnderTest {
    let with_user = proxy.url.replace("http://", "http://gw:${PROXY_PASS}@");
    let yaml = format!(
        r#"
upstreams:
  proxied: {{ base_url: "${{API}}/v1", proxy: "{with_user}" }}
  bypassed: {{ base_url: "${{API}}", proxy: "{}", no_proxy: [ "example.org", "127.0.0.1" ] }}
  plain: {{ base_url: "${{API}}" }}
  env: {{ base_url: "${{API}}", proxy: from_env }}
{TOOLS}"#,
        proxy.url
    );
    start_gateway(&yaml, &[("API", &upstream.url()), ("PROXY_PASS", "s3cret")]).await
}

#[tokio::test]
async fn calls_go_through_the_configured_proxy_only() {
    let proxy = start_proxy().await;
    let upstream = start_upstream().await;
    // Set before any client is built: only `proxy: from_env` may follow it.
    // SAFETY: the only test of this binary; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("HTTP_PROXY", &proxy.url) };
    unsafe { std::env::remove_var("NO_PROXY") };
    let gateway = gateway(&proxy, &upstream).await;
    let api = upstream.url();

    upstream_ok(&mcp_call(&gateway, "via_proxy", json!({ "id": "42" })).await);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, format!("GET {api}/v1/items/42 HTTP/1.1"));
    // gw:s3cret
    assert_eq!(seen[0].1.as_deref(), Some("Basic Z3c6czNjcmV0"));
    assert_eq!(upstream.last().uri, "/v1/items/42");

    // Containment is unchanged: a path that would climb out of the base path is refused and
    // nothing reaches the proxy.
    let escaped = mcp_call(&gateway, "via_proxy", json!({ "id": ".." })).await;
    assert_eq!(escaped["result"]["isError"], true, "{escaped}");
    assert_eq!(proxy.seen().len(), 1);

    upstream_ok(&mcp_call(&gateway, "bypassing", json!({})).await);
    upstream_ok(&mcp_call(&gateway, "direct", json!({})).await);
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());
    assert_eq!(upstream.last().uri, "/direct");

    upstream_ok(&mcp_call(&gateway, "from_env", json!({})).await);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1], (format!("GET {api}/from-env HTTP/1.1"), None));
    unsafe { std::env::remove_var("HTTP_PROXY") };

    // A secret in the proxy URL never shows in the admin view or in errors.
    let errors = toolgate::config::load_str(
        "bad.yaml",
        "upstreams:\n  a: { base_url: \"http://127.0.0.1:9\", proxy: \"ftp://u:${P}@proxy\", no_proxy: [ \"a b\" ] }\n  b: { base_url: \"http://127.0.0.1:9\", no_proxy: [ x ] }\n  c: { base_url: \"http://127.0.0.1:9\", proxy: \"http://169.254.169.254:3128\" }\n  d: { base_url: \"http://127.0.0.1:9\", proxy: from_env, no_proxy: [ x ] }\ntools: []\n",
        &|name| (name == "P").then(|| "hunter2".to_owned()),
    )
    .unwrap_err()
    .to_string();
    assert!(!errors.contains("hunter2"), "{errors}");
    for expected in [
        "bad.yaml:2:47: proxy of upstream 'a' must be an http(s) URL",
        "bad.yaml:3:52: no_proxy of upstream 'b' needs a proxy: URL",
        "bad.yaml:4:47: proxy of upstream 'c' is a link-local address",
        "bad.yaml:5:69: upstream 'd' takes its proxy from the environment",
    ] {
        assert!(errors.contains(expected), "{expected}\n{errors}");
    }
}

#[tokio::test]
async fn https_upstreams_are_reached_through_a_connect_tunnel() {
    use common::tls::{Ca, start_tls_upstream, write};
    let proxy = start_proxy().await;
    let ca = Ca::new("toolgate proxy test CA");
    let addr = start_tls_upstream(&ca.issue(&["127.0.0.1"]), None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let yaml = format!(
        r#"
upstreams:
  secure: {{ base_url: "https://{addr}", proxy: "{}", tls: {{ ca_file: "{}" }} }}
tools:
  - name: secure
    description: HTTPS through the proxy.
    input_schema: {{ type: object }}
    request: {{ upstream: secure, path: /secure }}
"#,
        proxy.url,
        ca_file.display()
    );
    let gateway = start_gateway(&yaml, &[]).await;
    let reply = mcp_call(&gateway, "secure", json!({})).await;
    assert_eq!(reply["result"]["structuredContent"]["tls"], "ok", "{reply}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, format!("CONNECT {addr} HTTP/1.1"));
}
