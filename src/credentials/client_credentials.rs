//! The OAuth 2.0 client credentials grant for one upstream: one token, fetched on first use,
//! cached, and refreshed once 80 % of its lifetime has passed. However many calls want a
//! token at once, one request is in flight (single-flight): the others wait for it, or keep
//! using the old token while it is still valid.

use super::token_endpoint::{Issued, TokenEndpoint};
use crate::error::CallError;
use crate::metrics::Metrics;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::header::HeaderValue;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The share of a token's lifetime after which it is refreshed.
const REFRESH_AT: f64 = 0.8;

/// A cached token.
#[derive(Clone, Debug)]
pub struct Token {
    /// `Bearer <token>`, sensitive.
    pub header: HeaderValue,
    /// Which fetch produced it (to drop exactly this one on a 401).
    pub serial: u64,
    refresh_at: Instant,
    expires_at: Instant,
}

impl Token {
    /// A token issued now.
    pub fn issued(issued: Issued, serial: u64) -> Self {
        let now = Instant::now();
        Self {
            header: issued.header,
            serial,
            refresh_at: now + issued.lifetime.mul_f64(REFRESH_AT),
            expires_at: now + issued.lifetime,
        }
    }

    /// Whether it is past 80 % of its lifetime.
    pub fn due(&self, now: Instant) -> bool {
        now >= self.refresh_at
    }

    /// Whether it may still be sent.
    pub fn valid(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

type Fetch = Shared<BoxFuture<'static, Result<Token, CallError>>>;

#[derive(Default)]
struct State {
    token: Option<Token>,
    in_flight: Option<Fetch>,
}

/// `auth.oauth2_client_credentials` of one upstream, with its token cache.
pub struct ClientCredentials {
    upstream: String,
    endpoint: TokenEndpoint,
    scope: Option<String>,
    audience: Option<String>,
    state: Mutex<State>,
    serials: AtomicU64,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("upstream", &self.upstream)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl ClientCredentials {
    /// The grant for `upstream`; `scopes` are sent space-separated.
    pub fn new(
        upstream: String,
        endpoint: TokenEndpoint,
        scopes: &[String],
        audience: Option<String>,
    ) -> Self {
        Self {
            upstream,
            endpoint,
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
            audience,
            state: Mutex::default(),
            serials: AtomicU64::new(0),
        }
    }

    /// The token endpoint (for descriptions; never the secret).
    pub fn endpoint(&self) -> &TokenEndpoint {
        &self.endpoint
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token to send: the cached one, or one fetched now (a single fetch for all callers).
    /// Past 80 % of its lifetime the cached token is still returned while one refresh runs
    /// in the background; once expired, callers wait for the refresh.
    pub async fn token(
        self: &Arc<Self>,
        client: &reqwest::Client,
        metrics: &Arc<Metrics>,
    ) -> Result<Token, CallError> {
        let now = Instant::now();
        let (fetch, still_valid) = {
            let mut state = self.state();
            if let Some(token) = &state.token
                && !token.due(now)
            {
                return Ok(token.clone());
            }
            let still_valid = state.token.clone().filter(|t| t.valid(now));
            let fetch = match &state.in_flight {
                Some(fetch) => fetch.clone(),
                None => {
                    let fetch = self
                        .clone()
                        .fetch(client.clone(), metrics.clone())
                        .boxed()
                        .shared();
                    state.in_flight = Some(fetch.clone());
                    // Driven by its own task: it completes (and fills the cache) even when
                    // every caller waiting for it gives up, or none waits (a refresh).
                    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                        runtime.spawn(fetch.clone().map(drop));
                    }
                    fetch
                }
            };
            (fetch, still_valid)
        };
        match still_valid {
            Some(token) => Ok(token),
            None => fetch.await,
        }
    }

    /// Drops the cached token if it is the one the upstream just refused (401), so that the
    /// next call fetches a new one.
    pub fn refused(&self, serial: u64) {
        let mut state = self.state();
        if state.token.as_ref().is_some_and(|t| t.serial == serial) {
            state.token = None;
        }
    }

    async fn fetch(
        self: Arc<Self>,
        client: reqwest::Client,
        metrics: Arc<Metrics>,
    ) -> Result<Token, CallError> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience));
            form.push(("resource", audience));
        }
        let outcome = self
            .endpoint
            .request(&client, &metrics, &self.upstream, &form)
            .await
            .map(|issued| Token::issued(issued, self.serials.fetch_add(1, Ordering::Relaxed) + 1));
        let mut state = self.state();
        state.in_flight = None;
        if let Ok(token) = &outcome {
            state.token = Some(token.clone());
        }
        outcome
    }
}
