//! A round-robin TCP proxy on 127.0.0.1 in front of gateway replicas, and a client that opens a
//! new connection per request (so consecutive requests land on different replicas).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A TCP proxy on 127.0.0.1 that sends each new connection to the next backend in turn and
/// records which backend each connection went to.
pub struct RoundRobin {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<usize>>>,
}

impl RoundRobin {
    /// Starts the proxy in front of `backends` (`host:port`).
    pub async fn start(backends: Vec<String>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<usize>>> = Arc::default();
        let next = Arc::new(AtomicUsize::new(0));
        let record = log.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let index = next.fetch_add(1, Ordering::Relaxed) % backends.len();
                record.lock().unwrap().push(index);
                let backend = backends[index].clone();
                tokio::spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(backend).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Self { addr, log }
    }

    /// The MCP endpoint through the proxy.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Which backend each connection went to, in order.
    pub fn backends_used(&self) -> Vec<usize> {
        self.log.lock().unwrap().clone()
    }
}

/// A client that opens a new connection for every request (so the proxy alternates).
pub fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}
