//! A real job upstream on 127.0.0.1 for the `operation:` tests: `POST /jobs` starts a job
//! (`202 Accepted`, `Location: /jobs/{id}`); `GET /jobs/{id}` tells its state and percent;
//! `DELETE /jobs/{id}` cancels it. What the job does comes from the request body:
//! `{"ms": 800}` how long it runs (default 800), `"fail": true` it ends failed,
//! `"never": true` it never ends, `"retry_after": 1` each status answer says `Retry-After: 1`,
//! `"escape": true` its Location points at another host.
#![allow(dead_code)]

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One job as the upstream keeps it.
#[derive(Clone, Debug)]
pub struct JobRecord {
    /// The body that started it.
    pub spec: Value,
    /// When it started.
    pub started: Instant,
    /// Status requests received.
    pub polls: u32,
    /// When a DELETE reached it.
    pub cancelled_at: Option<Instant>,
    /// Result requests received.
    pub result_fetches: u32,
}

#[derive(Default)]
struct Jobs {
    next: u32,
    jobs: HashMap<u32, JobRecord>,
}

/// The running job upstream.
pub struct JobUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    jobs: Arc<Mutex<Jobs>>,
}

impl JobUpstream {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Job `id` (ids start at 1).
    pub fn job(&self, id: u32) -> Option<JobRecord> {
        self.jobs.lock().unwrap().jobs.get(&id).cloned()
    }

    /// How many jobs were started.
    pub fn started(&self) -> u32 {
        self.jobs.lock().unwrap().next
    }

    /// Waits (up to `limit`) until job `id` was cancelled; when.
    pub async fn until_cancelled(&self, id: u32, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(at) = self.job(id).and_then(|j| j.cancelled_at) {
                return Some(at);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }
}

fn status(job: &JobRecord, id: u32) -> Value {
    let ms = job.spec.get("ms").and_then(Value::as_u64).unwrap_or(800);
    let elapsed = job.started.elapsed().as_millis() as u64;
    if job.cancelled_at.is_some() {
        return json!({ "id": id, "state": "cancelled", "percent": 0 });
    }
    let never = job.spec.get("never").and_then(Value::as_bool) == Some(true);
    if never || elapsed < ms {
        // Whole quarters, so that the percentage moves in visible steps.
        let percent = if never { 10 } else { elapsed * 4 / ms * 25 };
        return json!({ "id": id, "state": "running", "percent": percent });
    }
    if job.spec.get("fail").and_then(Value::as_bool) == Some(true) {
        return json!({ "id": id, "state": "failed", "percent": 100,
                       "error": "disk quota exceeded on node 7" });
    }
    json!({ "id": id, "state": "succeeded", "percent": 100,
            "result": { "rows": 42, "job": id }, "result_url": format!("/jobs/{id}/result") })
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    jobs: web::Data<Arc<Mutex<Jobs>>>,
) -> HttpResponse {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().as_str().to_owned();
    let mut jobs = jobs.lock().unwrap();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["jobs"]) => {
            let spec: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
            jobs.next += 1;
            let id = jobs.next;
            let escape = spec.get("escape").and_then(Value::as_bool) == Some(true);
            jobs.jobs.insert(
                id,
                JobRecord {
                    spec,
                    started: Instant::now(),
                    polls: 0,
                    cancelled_at: None,
                    result_fetches: 0,
                },
            );
            let location = if escape {
                format!("http://127.0.0.1:9/jobs/{id}")
            } else {
                format!("/jobs/{id}")
            };
            HttpResponse::Accepted()
                .insert_header(("Location", location))
                .json(json!({ "id": id, "state": "queued", "percent": 0 }))
        }
        ("GET", ["jobs", id]) => {
            let Some(job) = id.parse().ok().and_then(|id: u32| jobs.jobs.get_mut(&id)) else {
                return HttpResponse::NotFound().json(json!({ "error": "no such job" }));
            };
            job.polls += 1;
            let retry_after = job.spec.get("retry_after").and_then(Value::as_u64);
            let body = status(job, id.parse().unwrap_or(0));
            let mut response = HttpResponse::Ok();
            if let Some(seconds) = retry_after {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            response.json(body)
        }
        ("GET", ["jobs", id, "result"]) => {
            let Some(job) = id.parse().ok().and_then(|id: u32| jobs.jobs.get_mut(&id)) else {
                return HttpResponse::NotFound().json(json!({ "error": "no such job" }));
            };
            job.result_fetches += 1;
            HttpResponse::Ok().json(json!({ "fetched": true, "rows": [1, 2, 3] }))
        }
        ("DELETE", ["jobs", id]) => {
            let Some(job) = id.parse().ok().and_then(|id: u32| jobs.jobs.get_mut(&id)) else {
                return HttpResponse::NotFound().json(json!({ "error": "no such job" }));
            };
            job.cancelled_at.get_or_insert_with(Instant::now);
            HttpResponse::NoContent().finish()
        }
        _ => HttpResponse::NotFound().json(json!({ "error": "not found" })),
    }
}

/// Starts the job upstream.
pub async fn start_job_upstream() -> JobUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let jobs = Arc::new(Mutex::new(Jobs::default()));
    let data = web::Data::new(jobs.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(answer))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    JobUpstream { addr, jobs }
}

/// Two replicas of the gateway on [`CONFIG`] with one `session_secret`, over one job
/// upstream, behind the round-robin proxy: each request lands on the other replica.
pub struct Replicas {
    /// The job upstream both replicas call.
    pub jobs: JobUpstream,
    /// The proxy in front of them.
    pub proxy: crate::common::round_robin::RoundRobin,
}

/// Starts the job upstream, two replicas and the proxy.
pub async fn start_replicas() -> Replicas {
    let jobs = start_job_upstream().await;
    let config = format!("server: {{ session_secret: shared-by-both-replicas }}\n{CONFIG}");
    let url = jobs.url();
    let a = crate::common::start_gateway(&config, &[("JOBS", &url)]).await;
    let b = crate::common::start_gateway(&config, &[("JOBS", &url)]).await;
    let backends = [a.url, b.url]
        .iter()
        .map(|u| u.trim_start_matches("http://").to_owned())
        .collect();
    Replicas {
        jobs,
        proxy: crate::common::round_robin::RoundRobin::start(backends).await,
    }
}

/// The config of the operation tests: `JOBS` is the job upstream's URL.
pub const CONFIG: &str = r#"
upstreams:
  jobs: { base_url: "${JOBS}", timeout: 5s, retries: 0 }
tools:
  - name: run_job
    description: Runs a job to its end.
    input_schema:
      type: object
      properties:
        ms: { type: integer }
        fail: { type: boolean }
        never: { type: boolean }
        retry_after: { type: integer }
        escape: { type: boolean }
    request:
      upstream: jobs
      method: POST
      path: /jobs
      body: { ms: "{{args.ms}}", fail: "{{args.fail}}", never: "{{args.never}}",
              retry_after: "{{args.retry_after}}", escape: "{{args.escape}}" }
    operation:
      poll: { url_from: header.Location, interval: 100ms, max_interval: 200ms, timeout: 4s }
      done_when: { pointer: /state, equals: [succeeded, failed, cancelled] }
      failed_when: { pointer: /state, equals: [failed] }
      progress: { pointer: /percent }
      result_from: body./result
      cancel: { method: DELETE, url_from: header.Location }
  - name: run_job_patient
    description: A job polled with a long backoff cap, so that Retry-After shows.
    input_schema:
      type: object
      properties: { ms: { type: integer }, retry_after: { type: integer } }
    request:
      upstream: jobs
      method: POST
      path: /jobs
      body: { ms: "{{args.ms}}", retry_after: "{{args.retry_after}}" }
    operation:
      poll: { interval: 100ms, max_interval: 5s, timeout: 6s }
      done_when: { pointer: /state, equals: [succeeded] }
  - name: run_job_fetched
    description: Runs a job, then fetches its result.
    request: { upstream: jobs, method: POST, path: /jobs, body: { ms: 300 } }
    operation:
      poll: { url_from: "/jobs/{{answer.id}}", interval: 100ms, timeout: 4s }
      done_when: { pointer: /state, equals: [succeeded] }
      result_from: { url_from: body./result_url }
  - name: run_job_briefly
    description: A job allowed half a second.
    request: { upstream: jobs, method: POST, path: /jobs, body: { never: true } }
    operation:
      poll: { interval: 100ms, timeout: 500ms }
      done_when: { pointer: /state, equals: [succeeded] }
      cancel: {}
"#;
