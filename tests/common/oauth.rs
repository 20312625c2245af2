//! A real OAuth 2.0 token endpoint on 127.0.0.1 that counts and records its requests and
//! answers through a replaceable handler, and an upstream that only accepts the bearer tokens
//! a predicate allows (401 otherwise).

use super::Recorded;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One token request as the endpoint received it.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The form fields.
    pub form: HashMap<String, String>,
    /// The `Authorization` header (HTTP Basic client authentication), if any.
    pub authorization: Option<String>,
}

/// What the endpoint answers to the `n`-th request (counting from 1): status and JSON body.
pub type Handler = Arc<dyn Fn(&TokenRequest, usize) -> (u16, Value) + Send + Sync>;

/// A token endpoint whose answers a test controls.
pub struct TokenServer {
    /// `http://127.0.0.1:port/oauth2/token`.
    pub url: String,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    handler: Arc<Mutex<Handler>>,
    delay: Arc<Mutex<Duration>>,
}

impl TokenServer {
    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Answers the next requests with `handler`.
    pub fn answer_with(&self, handler: Handler) {
        *self.handler.lock().unwrap() = handler;
    }

    /// Waits this long before each answer.
    pub fn delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }
}

/// A handler issuing `tok-<n>` tokens valid for `expires_in` seconds.
pub fn issue(expires_in: f64) -> Handler {
    Arc::new(move |_, n| {
        (
            200,
            json!({ "access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": expires_in }),
        )
    })
}

/// A handler answering `status` with an OAuth error body.
pub fn fail(status: u16) -> Handler {
    Arc::new(move |_, _| (status, json!({ "error": "server_error" })))
}

async fn token(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    server: web::Data<Shared>,
) -> HttpResponse {
    let n = server.hits.fetch_add(1, Ordering::SeqCst) + 1;
    let request = TokenRequest {
        form: form.into_inner(),
        authorization: req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
    };
    server.requests.lock().unwrap().push(request.clone());
    let delay = *server.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let handler = server.handler.lock().unwrap().clone();
    let (status, body) = handler(&request, n);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(body)
}

struct Shared {
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    handler: Arc<Mutex<Handler>>,
    delay: Arc<Mutex<Duration>>,
}

/// Starts a token endpoint answering with `handler`.
pub async fn start_token_server(handler: Handler) -> TokenServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
    let shared = web::Data::new(Shared {
        hits: Arc::default(),
        requests: Arc::default(),
        handler: Arc::new(Mutex::new(handler)),
        delay: Arc::default(),
    });
    let server = TokenServer {
        url,
        hits: shared.hits.clone(),
        requests: shared.requests.clone(),
        handler: shared.handler.clone(),
        delay: shared.delay.clone(),
    };
    let http = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .route("/oauth2/token", web::post().to(token))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(http);
    server
}

/// Which `Authorization` values an upstream accepts.
pub type Accept = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;

/// An upstream that records every request and answers 200 `{"authorization": ...}` when
/// `accept` allows the request's `Authorization` header, 401 otherwise.
pub struct GuardedUpstream {
    /// `http://127.0.0.1:port`.
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    accept: Arc<Mutex<Accept>>,
}

impl GuardedUpstream {
    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Accepts what `accept` allows from now on.
    pub fn accept(&self, accept: Accept) {
        *self.accept.lock().unwrap() = accept;
    }
}

async fn guarded(
    req: HttpRequest,
    body: web::Bytes,
    log: web::Data<Mutex<Vec<Recorded>>>,
    accept: web::Data<Mutex<Accept>>,
) -> HttpResponse {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let authorization = req
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    log.lock().unwrap().push(Recorded {
        method: req.method().to_string(),
        uri: req.uri().to_string(),
        headers,
        body: body.to_vec(),
    });
    let accept = accept.lock().unwrap().clone();
    if accept(authorization.as_deref()) {
        HttpResponse::Ok().json(json!({ "authorization": authorization }))
    } else {
        HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer error=\"invalid_token\""))
            .json(json!({ "error": "invalid_token" }))
    }
}

/// Starts an upstream accepting what `accept` allows.
pub async fn start_guarded_upstream(accept: Accept) -> GuardedUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = web::Data::new(Mutex::new(Vec::new()));
    let accept = web::Data::new(Mutex::new(accept));
    let upstream = GuardedUpstream {
        url,
        log: log.clone().into_inner(),
        accept: accept.clone().into_inner(),
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(log.clone())
            .app_data(accept.clone())
            .default_service(web::to(guarded))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    upstream
}
