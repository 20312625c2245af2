//! Shared harness for the integration tests: a real recording upstream and a real gateway, both
//! on 127.0.0.1 ports chosen by the OS.
#![allow(dead_code)]

pub mod jwt;
pub mod oauth;
pub mod round_robin;
pub mod tls;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use toolgate::gateway::Gateway;
use toolgate::http::AppState;

/// One request as the upstream received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// The request target exactly as sent (path and query, still percent-encoded).
    pub uri: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("upstream body is JSON")
    }
}

/// A real HTTP upstream that records every request and answers by path:
/// - `/status/{code}`: that status with a JSON error body;
/// - `/slow/{ms}`: waits, then answers `{"slow": ms}`;
/// - `/big/{bytes}`: a JSON string of that many bytes;
/// - `/text`: `text/plain` "plain hello";
/// - `/redirect`: 302 to another address;
/// - `/ratelimited`: 429 with `Retry-After: 7`;
/// - anything else: 200 echoing `{"method","uri","body"}`.
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Upstream {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// The latest request received.
    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the upstream received a request")
    }
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    log: web::Data<Mutex<Vec<Recorded>>>,
) -> HttpResponse {
    let recorded = Recorded {
        method: req.method().to_string(),
        uri: req.uri().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    log.lock().unwrap().push(recorded);
    let path = req.uri().path().to_owned();
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("status"), Some(code)) => {
            let code = code.parse().unwrap_or(500);
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                .json(json!({ "error": format!("upstream says {code}") }))
        }
        (Some("slow"), Some(ms)) => {
            let ms: u64 = ms.parse().unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            HttpResponse::Ok().json(json!({ "slow": ms }))
        }
        (Some("big"), Some(bytes)) => {
            let n: usize = bytes.parse().unwrap_or(1000);
            HttpResponse::Ok().json(json!("x".repeat(n)))
        }
        (Some("text"), _) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("plain hello"),
        (Some("redirect"), _) => HttpResponse::Found()
            .insert_header(("Location", "http://127.0.0.1:9/elsewhere"))
            .finish(),
        (Some("ratelimited"), _) => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "7"))
            .json(json!({ "error": "slow down" })),
        _ => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            HttpResponse::Ok().json(json!({
                "method": req.method().as_str(),
                "uri": req.uri().to_string(),
                "body": body,
            }))
        }
    }
}

/// Starts a recording upstream.
pub async fn start_upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = web::Data::new(Mutex::new(Vec::new()));
    let shared = log.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(log.clone())
            .default_service(web::to(answer))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Upstream { addr, log: shared }
}

/// A running gateway.
pub struct GatewayUnderTest {
    /// `http://127.0.0.1:port`.
    pub url: String,
    /// The shared state (to inspect or swap the config).
    pub state: Arc<AppState>,
}

impl GatewayUnderTest {
    /// The MCP endpoint.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url)
    }
}

/// Loads `yaml` (with `${VAR}`s taken from `env`, then the process environment) and serves it.
pub async fn start_gateway(yaml: &str, env: &[(&str, &str)]) -> GatewayUnderTest {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let config = toolgate::config::load_str("test.yaml", yaml, &lookup)
        .unwrap_or_else(|e| panic!("config: {e}"));
    let gateway = Arc::new(Gateway::new(config).unwrap());
    let state = Arc::new(AppState::new(gateway, Arc::default()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = toolgate::http::serve(state.clone(), listener, Some(1)).unwrap();
    tokio::spawn(server);
    GatewayUnderTest { url, state }
}

/// Serves the config file at `path` (with the process environment) and returns the
/// reloader of that file, for tests that reload it themselves.
pub async fn serve_reloadable(
    path: &std::path::Path,
) -> (GatewayUnderTest, toolgate::reload::Reloader) {
    let config = toolgate::config::load_file(path, &toolgate::config::process_env)
        .unwrap_or_else(|e| panic!("config: {e}"));
    let gateway = Arc::new(Gateway::new(config).unwrap());
    let reload = Arc::new(toolgate::reload::ReloadState::default());
    let reloader =
        toolgate::reload::Reloader::new(path.to_path_buf(), gateway.clone(), reload.clone());
    let state = Arc::new(AppState::new(gateway, reload));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(toolgate::http::serve(state.clone(), listener, Some(1)).unwrap());
    (GatewayUnderTest { url, state }, reloader)
}

/// A plain HTTP client (no proxy, no redirects).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a JSON-RPC `tools/call` to `/mcp`; returns the JSON-RPC reply.
pub async fn mcp_call(gateway: &GatewayUnderTest, tool: &str, arguments: Value) -> Value {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments },
    });
    client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// POSTs a legacy `call_tool` to `/`; returns the status and JSON body.
pub async fn legacy_call(gateway: &GatewayUnderTest, tool: &str, arguments: Value) -> (u16, Value) {
    let body =
        json!({ "method": "call_tool", "params": { "tool_name": tool, "arguments": arguments } });
    let response = client()
        .post(format!("{}/", gateway.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Sends `request` as raw bytes on a fresh connection to the gateway (to send what HTTP
/// clients refuse to: repeated or malformed headers) and returns the answer's status code.
pub async fn raw_status(gateway: &GatewayUnderTest, request: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gateway.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("no answer within 5 s")
            .unwrap();
        assert!(n > 0, "connection closed without an answer");
        answer.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&answer).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {line}"))
}

/// `n` concurrent MCP `tools/call`s of `tool` without arguments, each on its own connection.
/// The connections are opened one after another first (so none waits in the listen backlog),
/// then every request is sent at once; returns the JSON-RPC replies.
pub async fn concurrent_mcp_calls(gateway: &GatewayUnderTest, tool: &str, n: usize) -> Vec<Value> {
    concurrent_mcp_calls_as(gateway, tool, n, None).await
}

/// [`concurrent_mcp_calls`] with `Authorization: Bearer <bearer>` on every call.
pub async fn concurrent_mcp_calls_as(
    gateway: &GatewayUnderTest,
    tool: &str,
    n: usize,
    bearer: Option<&str>,
) -> Vec<Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authorization = bearer
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let addr = gateway.url.trim_start_matches("http://").to_owned();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": {} },
    })
    .to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        streams.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let calls: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            let request = request.clone();
            tokio::spawn(async move {
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await.unwrap();
                let text = String::from_utf8_lossy(&answer).into_owned();
                let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{e}: {body}"))
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(n);
    for call in calls {
        replies.push(call.await.unwrap());
    }
    replies
}
