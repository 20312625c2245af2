//! For the trace tests: a real OTLP/HTTP receiver on 127.0.0.1 that decodes the protobuf
//! exports, and the real `toolgate serve` binary exporting to it.
#![allow(dead_code)]

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One exported span with the `service.name` of its resource.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The service that sent it.
    pub service: String,
    /// The span.
    pub span: Span,
}

impl Exported {
    /// A string, integer or boolean attribute, as text.
    pub fn attribute(&self, key: &str) -> Option<String> {
        let value = self
            .span
            .attributes
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()?;
        Some(match value {
            Any::StringValue(s) => s.clone(),
            Any::IntValue(i) => i.to_string(),
            Any::BoolValue(b) => b.to_string(),
            other => format!("{other:?}"),
        })
    }

    /// The span id in hex.
    pub fn id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent span id in hex ("" for a root).
    pub fn parent(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// The trace id in hex.
    pub fn trace(&self) -> String {
        hex(&self.span.trace_id)
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running OTLP/HTTP receiver.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    spans: Arc<Mutex<Vec<Exported>>>,
}

impl Receiver {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits (up to 15 s) until the spans of `trace_id` include every name in `names`; returns
    /// that trace's spans.
    pub async fn trace(&self, trace_id: &str, names: &[&str]) -> Vec<Exported> {
        let started = Instant::now();
        loop {
            let spans: Vec<Exported> = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.trace() == trace_id)
                .cloned()
                .collect();
            if names
                .iter()
                .all(|n| spans.iter().any(|s| s.span.name == *n))
            {
                return spans;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "trace {trace_id} never got {names:?}; it has {:?}",
                spans.iter().map(|s| &s.span.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn export(body: web::Bytes, spans: web::Data<Mutex<Vec<Exported>>>) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut spans = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Any::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(Exported {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

/// Starts a receiver answering `POST /v1/traces`.
pub async fn start_receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let spans = web::Data::new(Mutex::new(Vec::new()));
    let shared = spans.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(spans.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/traces", web::post().to(export))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Receiver {
        addr,
        spans: shared,
    }
}

/// `toolgate serve` running as its own process.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:port`.
    pub url: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    /// What it wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `toolgate serve` with `yaml` and `env` on a free port; returns once it is ready.
pub async fn serve(yaml: &str, env: &[(&str, &str)]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, yaml).unwrap();
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let log = dir.path().join("stderr.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolgate"));
    command
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", &addr.to_string()])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (name, value) in env {
        command.env(name, value);
    }
    let served = Served {
        child: command.spawn().unwrap(),
        url: format!("http://{addr}"),
        log,
        _dir: dir,
    };
    let client = crate::common::client();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/ready", served.url)).send().await
            && r.status().is_success()
        {
            return served;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "toolgate did not come up; log:\n{}",
            served.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
