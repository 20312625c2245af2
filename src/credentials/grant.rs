//! What every OAuth 2.0 grant the gateway makes has in common (client credentials and token
//! exchange): tokens cached by key until 80 % of their lifetime, one token request in flight
//! per key however many calls wait for it (single-flight), a refused token dropped, and the
//! cache carried over to the next config while the grant's settings are unchanged.

use super::token_endpoint::{Issued, TokenEndpoint};
use crate::error::CallError;
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::header::HeaderValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The share of a token's lifetime after which it is refreshed.
const REFRESH_AT: f64 = 0.8;
/// Most keys cached; past it, expired tokens are dropped, then every token not being fetched.
const MAX_CACHED: usize = 10_000;

/// Which token of a grant: a grant with one token uses a single key, a token exchange one key
/// per caller token.
pub type CacheKey = [u8; 32];

/// Form fields of a token request, by name.
pub type Fields = Vec<(&'static str, String)>;

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
    fn issued(issued: Issued, serial: u64) -> Self {
        let now = Instant::now();
        Self {
            header: issued.header,
            serial,
            refresh_at: now + issued.lifetime.mul_f64(REFRESH_AT),
            expires_at: now + issued.lifetime,
        }
    }

    /// Whether it is past 80 % of its lifetime.
    fn due(&self, now: Instant) -> bool {
        now >= self.refresh_at
    }

    /// Whether it may still be sent.
    fn valid(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

type Fetch = Shared<BoxFuture<'static, Result<Token, CallError>>>;

/// The token of one key and the request fetching its successor, if one runs.
#[derive(Default)]
struct Slot {
    token: Option<Token>,
    in_flight: Option<Fetch>,
}

impl Slot {
    fn empty(&self) -> bool {
        self.token.is_none() && self.in_flight.is_none()
    }
}

/// The tokens of a grant. Shared with the same grant of the next config (hot reload) as long
/// as its settings are unchanged, so that a reload does not refetch them.
#[derive(Default)]
struct Tokens {
    slots: Mutex<HashMap<CacheKey, Slot>>,
    serials: AtomicU64,
}

impl Tokens {
    fn slots(&self) -> MutexGuard<'_, HashMap<CacheKey, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Everything that goes into a grant's token requests: two grants with equal settings may
/// share their tokens.
#[derive(PartialEq, Eq)]
struct Settings {
    upstream: String,
    endpoint: TokenEndpoint,
    fields: Fields,
}

/// One grant of one upstream at its token endpoint, with its token cache.
pub struct Grant {
    settings: Arc<Settings>,
    tokens: ArcSwap<Tokens>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("upstream", &self.settings.upstream)
            .field("endpoint", &self.settings.endpoint)
            .finish()
    }
}

impl Grant {
    /// A grant for `upstream` sending `fields` (the grant type and its parameters) in every
    /// token request.
    pub fn new(upstream: String, endpoint: TokenEndpoint, fields: Fields) -> Self {
        Self {
            settings: Arc::new(Settings {
                upstream,
                endpoint,
                fields,
            }),
            tokens: ArcSwap::default(),
        }
    }

    /// The upstream the tokens are for.
    pub fn upstream(&self) -> &str {
        &self.settings.upstream
    }

    /// The token endpoint (for descriptions; never the secret).
    pub fn endpoint(&self) -> &TokenEndpoint {
        &self.settings.endpoint
    }

    /// The token of `key`: the cached one, or one requested now with `per_key` fields added
    /// (a single request for every caller waiting for that key). Past 80 % of its lifetime
    /// the cached token is still returned while one refresh runs in the background; once
    /// expired, callers wait for the refresh.
    pub async fn token(
        &self,
        key: CacheKey,
        per_key: Fields,
        client: &crate::forward::UpstreamClient,
        metrics: &Arc<Metrics>,
    ) -> Result<Token, CallError> {
        let tokens = self.tokens.load_full();
        let now = Instant::now();
        let (fetch, still_valid) = {
            let mut slots = tokens.slots();
            if !slots.contains_key(&key) && slots.len() >= MAX_CACHED {
                make_room(&mut slots, now);
            }
            let slot = slots.entry(key).or_default();
            if let Some(token) = &slot.token
                && !token.due(now)
            {
                return Ok(token.clone());
            }
            let still_valid = slot.token.clone().filter(|t| t.valid(now));
            let fetch = match &slot.in_flight {
                Some(fetch) => fetch.clone(),
                None => {
                    let fetch = fetch(
                        self.settings.clone(),
                        tokens.clone(),
                        key,
                        per_key,
                        client.clone(),
                        metrics.clone(),
                    )
                    .boxed()
                    .shared();
                    slot.in_flight = Some(fetch.clone());
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

    /// Drops the token of `key` if it is the one the upstream just refused (401), so that
    /// the next call fetches a new one.
    pub fn refused(&self, key: &CacheKey, serial: u64) {
        let tokens = self.tokens.load();
        let mut slots = tokens.slots();
        if let Some(slot) = slots.get_mut(key)
            && slot.token.as_ref().is_some_and(|t| t.serial == serial)
        {
            slot.token = None;
            if slot.empty() {
                slots.remove(key);
            }
        }
    }

    /// Takes over the tokens of `previous` (the same upstream's grant in the config being
    /// replaced) when both send the same token requests; returns whether it did.
    pub fn adopt(&self, previous: &Grant) -> bool {
        let same = self.settings == previous.settings;
        if same {
            self.tokens.store(previous.tokens.load_full());
        }
        same
    }
}

/// Requests the token of `key` and stores it in `tokens`; a failure keeps the old token
/// (still usable until it expires) and caches nothing.
async fn fetch(
    settings: Arc<Settings>,
    tokens: Arc<Tokens>,
    key: CacheKey,
    per_key: Fields,
    client: crate::forward::UpstreamClient,
    metrics: Arc<Metrics>,
) -> Result<Token, CallError> {
    let form: Vec<(&str, &str)> = settings
        .fields
        .iter()
        .chain(&per_key)
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let outcome = settings
        .endpoint
        .request(&client, &metrics, &settings.upstream, &form)
        .await
        .map(|issued| Token::issued(issued, tokens.serials.fetch_add(1, Ordering::Relaxed) + 1));
    let mut slots = tokens.slots();
    let slot = slots.entry(key).or_default();
    slot.in_flight = None;
    if let Ok(token) = &outcome {
        slot.token = Some(token.clone());
    }
    if slot.empty() {
        slots.remove(&key);
    }
    outcome
}

/// Drops expired tokens, then, if that is not enough, every token not being fetched.
fn make_room(slots: &mut HashMap<CacheKey, Slot>, now: Instant) {
    slots.retain(|_, slot| {
        slot.in_flight.is_some() || slot.token.as_ref().is_some_and(|t| t.valid(now))
    });
    if slots.len() >= MAX_CACHED {
        slots.retain(|_, slot| slot.in_flight.is_some());
    }
}

/// The `scope` (space-separated) and `audience` fields of a grant; the audience is also sent
/// as `resource` (RFC 8707).
pub fn scope_and_audience(scopes: &[String], audience: Option<&str>) -> Fields {
    let mut fields = Fields::new();
    if !scopes.is_empty() {
        fields.push(("scope", scopes.join(" ")));
    }
    if let Some(audience) = audience {
        fields.push(("audience", audience.to_owned()));
        fields.push(("resource", audience.to_owned()));
    }
    fields
}
