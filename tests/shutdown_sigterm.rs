//! Graceful shutdown of the real binary: on SIGTERM, `toolgate serve` stops accepting
//! connections, lets every call already in flight finish successfully, ends the idle
//! server-to-client streams at once, and exits with status 0 within its shutdown deadline (10 s).

mod common;

use common::start_upstream;
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server's `shutdown_timeout`, plus slack for a loaded machine.
const EXIT_DEADLINE: Duration = Duration::from_secs(12);

struct Served {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl Served {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its status and how long that took.
    async fn wait_exit(&mut self, deadline: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > deadline {
                let _ = self.child.kill();
                panic!(
                    "still running {deadline:?} after SIGTERM; log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `toolgate serve` on a free loopback port with a tool that takes `slow_ms` upstream.
async fn serve(upstream_url: &str, slow_ms: u64) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(
        &config,
        format!(
            r#"
upstreams:
  api: {{ base_url: "{upstream_url}", timeout: 10s }}
tools:
  - name: slow
    description: Takes a while.
    input_schema: {{ type: object }}
    request: {{ upstream: api, path: /slow/{slow_ms} }}
"#
        ),
    )
    .unwrap();
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let log = dir.path().join("stderr.log");
    let child = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut served = Served {
        child,
        addr,
        _dir: dir,
        log,
    };
    let client = no_pool_client();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/health", served.url())).send().await
            && r.status().is_success()
        {
            break;
        }
        if let Some(status) = served.child.try_wait().unwrap() {
            panic!("toolgate exited early ({status}); log:\n{}", served.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "toolgate did not come up; log:\n{}",
            served.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    served
}

/// A client that opens a new connection per request and closes it after the answer.
fn no_pool_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn call_slow(client: &reqwest::Client, url: &str) -> Result<(u16, Value), String> {
    let body = json!({ "method": "call_tool", "params": { "tool_name": "slow", "arguments": {} } });
    let response = client
        .post(format!("{url}/"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.map_err(|e| e.to_string())?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_calls_in_flight_refuses_new_connections_and_exits_0() {
    let upstream = start_upstream().await;
    let mut served = serve(&upstream.url(), 1000).await;
    let url = served.url();

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { call_slow(&no_pool_client(), &url).await })
        })
        .collect();
    // Every call has reached the upstream: all 20 are in flight.
    let started = Instant::now();
    while upstream.requests().len() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "calls never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.terminate();
    let signalled = Instant::now();

    // New connections are refused while the calls in flight drain.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(served.addr),
    )
    .await;
    let refused_kind = match &refused {
        Ok(Err(e)) => Some(e.kind()),
        _ => None,
    };
    let still_in_flight = calls.iter().filter(|c| !c.is_finished()).count();

    for (i, call) in calls.into_iter().enumerate() {
        let (status, body) = call
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("call {i} failed: {e}; log:\n{}", served.log()));
        assert_eq!(status, 200, "call {i}: {body}");
        assert_eq!(body["result"], json!({ "slow": 1000 }), "call {i}");
    }
    let drained = signalled.elapsed();
    let (status, exit_after) = served.wait_exit(EXIT_DEADLINE).await;
    println!(
        "20 calls drained {drained:?} after SIGTERM ({still_in_flight} still in flight when a new connection was tried: {refused_kind:?}); exit {status} {exit_after:?} after the last answer"
    );
    assert_eq!(
        refused_kind,
        Some(std::io::ErrorKind::ConnectionRefused),
        "a new connection after SIGTERM was not refused: {refused:?}"
    );
    assert_eq!(
        still_in_flight, 20,
        "calls ended before the refusal was checked"
    );
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        served.log()
    );
    assert!(
        signalled.elapsed() < EXIT_DEADLINE,
        "exited {:?} after SIGTERM",
        signalled.elapsed()
    );
    assert_eq!(upstream.requests().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_does_not_hold_the_process_past_its_deadline() {
    let upstream = start_upstream().await;
    let mut served = serve(&upstream.url(), 10).await;
    // A pooled client keeps its connection open, idle, after the answer.
    let pooled = common::client();
    let (status, _) = call_slow(&pooled, &served.url()).await.unwrap();
    assert_eq!(status, 200);
    served.terminate();
    let signalled = Instant::now();
    let (status, took) = served.wait_exit(EXIT_DEADLINE).await;
    println!("with an idle keep-alive connection open: exit {status} {took:?} after SIGTERM");
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        served.log()
    );
    assert!(signalled.elapsed() < EXIT_DEADLINE);
    drop(pooled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_a_keep_alive_connection_after_sigterm_are_never_cut_off() {
    let upstream = start_upstream().await;
    let mut served = serve(&upstream.url(), 1000).await;
    let url = served.url();
    // A pooled client (one keep-alive connection), calling back to back, as an agent platform
    // or a proxy in front of toolgate does.
    let pooled = common::client();
    let (status, _) = call_slow(&pooled, &url).await.unwrap();
    assert_eq!(status, 200);
    served.terminate();
    let signalled = Instant::now();
    let mut outcomes = Vec::new();
    while signalled.elapsed() < EXIT_DEADLINE {
        let started = signalled.elapsed();
        let outcome = call_slow(&pooled, &url).await;
        let failed = outcome.is_err();
        let ended = signalled.elapsed();
        outcomes.push((started, ended, outcome.map(|(status, _)| status)));
        if failed {
            break;
        }
    }
    let (status, _) = served.wait_exit(EXIT_DEADLINE).await;
    println!("after SIGTERM, exit {status}: {outcomes:?}");
    // A call may be refused (the client retries elsewhere), but a call the gateway accepted and
    // sent upstream must be answered.
    let sent = upstream.requests().len() - 1;
    let answered = outcomes.iter().filter(|(_, _, o)| o.is_ok()).count();
    if answered != sent {
        println!("log:\n{}", served.log());
    }
    assert_eq!(
        answered, sent,
        "{sent} calls reached the upstream, {answered} were answered"
    );
}

/// Opens a server-to-client stream (`GET /mcp` of the handshake revisions, or the
/// `subscriptions/listen` stream of 2026-07-28) and reads its opening event.
async fn open_stream(client: &reqwest::Client, url: &str, listen: bool) -> reqwest::Response {
    let request = if listen {
        let body = json!({ "jsonrpc": "2.0", "id": 7, "method": "subscriptions/listen", "params": {
            "notifications": { "toolsListChanged": true },
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": { "name": "drain-test", "version": "1" },
            },
        } });
        client
            .post(format!("{url}/mcp"))
            .header("Content-Type", "application/json")
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", "subscriptions/listen")
            .body(body.to_string())
    } else {
        client.get(format!("{url}/mcp"))
    };
    let mut response = request
        .header("Accept", "application/json, text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(
        response.chunk().await.unwrap().is_some(),
        "no opening event"
    );
    response
}

/// Reads a stream to its end; `true` when it ended cleanly.
async fn ends_cleanly(mut stream: reqwest::Response) -> bool {
    loop {
        match stream.chunk().await {
            Ok(Some(_)) => continue,
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_server_to_client_streams_are_closed_at_the_start_of_the_drain() {
    let upstream = start_upstream().await;
    let mut served = serve(&upstream.url(), 1000).await;
    let url = served.url();
    // Both kinds of idle stream, each on its own connection, and a call in flight beside them.
    let client = no_pool_client();
    let get_stream = open_stream(&client, &url, false).await;
    let listen_stream = open_stream(&client, &url, true).await;
    let call = {
        let url = url.clone();
        tokio::spawn(async move { call_slow(&no_pool_client(), &url).await })
    };
    let started = Instant::now();
    while upstream.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the call never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.terminate();
    let signalled = Instant::now();
    let get_ended = tokio::spawn(ends_cleanly(get_stream));
    let listen_ended = tokio::spawn(ends_cleanly(listen_stream));
    // The call in flight still gets its answer.
    let (status, body) = call.await.unwrap().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({ "slow": 1000 }));
    let (status, took) = served.wait_exit(EXIT_DEADLINE).await;
    println!(
        "with a GET /mcp and a subscriptions/listen stream open: exit {status} {took:?} after SIGTERM"
    );
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        served.log()
    );
    // Well before the 10 s drain deadline: the streams did not hold the process.
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exited {:?} after SIGTERM; log:\n{}",
        signalled.elapsed(),
        served.log()
    );
    assert!(
        get_ended.await.unwrap(),
        "the GET /mcp stream was cut, not ended"
    );
    assert!(
        listen_ended.await.unwrap(),
        "the listen stream was cut, not ended"
    );
}
