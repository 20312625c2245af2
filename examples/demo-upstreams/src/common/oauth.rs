//! Who may call a demo API: anyone, callers with its one static bearer token, and (the demo
//! CRM) callers with a token from its OAuth 2.0 token endpoint `POST /oauth2/token` (client
//! credentials grant, RFC 6749 §4.4), which issues random tokens valid for 15 minutes.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::json;

use crate::OAuthClient;

/// How long an issued token is valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Most live tokens kept; past it, the oldest are forgotten.
const MAX_TOKENS: usize = 10_000;

/// The path of the token endpoint (needs no bearer token itself).
pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// Issues and remembers bearer tokens for one OAuth client.
pub(crate) struct Issuer {
    client: OAuthClient,
    tokens: Mutex<HashMap<String, Instant>>,
    random: RandomState,
    counter: AtomicU64,
}

impl Issuer {
    /// An issuer for `client`.
    pub(crate) fn new(client: OAuthClient) -> Self {
        Self {
            client,
            tokens: Mutex::default(),
            random: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// Whether `token` was issued here and has not expired.
    fn accepts(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    }

    /// A new token, remembered until it expires.
    fn issue(&self) -> String {
        // Two 64-bit hashes of a counter under a randomly keyed SipHash: unguessable enough
        // for a demo, without a random-number crate.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let token = format!(
            "crm-{:016x}{:016x}",
            self.random.hash_one((n, 0u8)),
            self.random.hash_one((n, 1u8))
        );
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() >= MAX_TOKENS {
            tokens.retain(|_, expires| now < *expires);
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(token.clone(), now + TOKEN_LIFETIME);
        token
    }

    /// Whether the request authenticates as the client: HTTP Basic (`client_secret_basic`)
    /// or `client_id` and `client_secret` in the form (`client_secret_post`).
    fn client_authenticated(&self, req: &HttpRequest, form: &HashMap<String, String>) -> bool {
        let basic = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok());
        // The demo's id and secret are plain characters, which form-encoding leaves alone.
        let (id, secret) = match &basic {
            Some(pair) => match pair.split_once(':') {
                Some((id, secret)) => (id, secret),
                None => return false,
            },
            None => match (form.get("client_id"), form.get("client_secret")) {
                (Some(id), Some(secret)) => (id.as_str(), secret.as_str()),
                _ => return false,
            },
        };
        super::constant_time_eq(id.as_bytes(), self.client.client_id.as_bytes())
            & super::constant_time_eq(secret.as_bytes(), self.client.client_secret.as_bytes())
    }
}

/// `POST /oauth2/token`: a bearer token for the client credentials grant, or the RFC 6749
/// §5.2 error.
pub(crate) async fn token_endpoint(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    issuer: web::Data<Issuer>,
) -> HttpResponse {
    if !issuer.client_authenticated(&req, &form) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"demo-crm\""))
            .json(json!({ "error": "invalid_client" }));
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return HttpResponse::BadRequest().json(json!({ "error": "unsupported_grant_type" }));
    }
    let mut answer = json!({
        "access_token": issuer.issue(),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
    });
    if let Some(scope) = form.get("scope") {
        answer["scope"] = json!(scope);
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer)
}

/// Who may call a demo API: with neither a static token nor an issuer, anyone.
#[derive(Clone, Default)]
pub(crate) struct Guard {
    token: Option<Arc<str>>,
    issuer: Option<Arc<Issuer>>,
}

impl From<Option<String>> for Guard {
    fn from(token: Option<String>) -> Self {
        Self {
            token: token.map(Arc::from),
            issuer: None,
        }
    }
}

impl Guard {
    /// Also accepts the tokens `issuer` issued.
    pub(crate) fn with_issuer(mut self, issuer: Arc<Issuer>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Whether every request may pass.
    pub(crate) fn open(&self) -> bool {
        self.token.is_none() && self.issuer.is_none()
    }

    /// Whether `bearer` is the static token or an issued, unexpired one.
    pub(crate) fn accepts(&self, bearer: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|token| super::constant_time_eq(bearer.as_bytes(), token.as_bytes()))
            || self
                .issuer
                .as_ref()
                .is_some_and(|issuer| issuer.accepts(bearer))
    }
}
