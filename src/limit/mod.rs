//! Rate limits: a GCRA limiter (governor) per tier keyed by caller, and optional per-tool
//! limiters keyed by caller; with Redis, the same limits across replicas.

pub mod redis;

use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde_json::json;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// A rate: `requests` per `per` refill, with a bucket of `burst` calls admitted at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Calls refilled per `per`.
    pub requests: NonZeroU32,
    /// The refill period.
    pub per: Duration,
    /// Bucket size.
    pub burst: NonZeroU32,
}

impl Rate {
    /// Time between two refilled calls.
    pub fn interval(&self) -> Duration {
        (self.per / self.requests.get()).max(Duration::from_nanos(1))
    }

    fn quota(&self) -> Quota {
        Quota::with_period(self.interval())
            .unwrap_or_else(|| Quota::per_second(self.requests))
            .allow_burst(self.burst)
    }
}

/// A limiter keyed by [`Caller::limit_key`].
pub type KeyedLimiter = DefaultKeyedRateLimiter<String>;

/// One limit of a config: its rate and the limiter enforcing it.
#[derive(Clone, Debug)]
pub struct Limit {
    /// What is enforced.
    pub rate: Rate,
    /// The local limiter (shared with earlier configs when the rate is unchanged).
    pub limiter: Arc<KeyedLimiter>,
    /// The name under which the limit is kept (in Redis keys too): `tier:NAME` or `tool:NAME`.
    pub scope: String,
}

impl Limit {
    /// A fresh limit.
    pub fn new(scope: String, rate: Rate) -> Self {
        Self {
            limiter: Arc::new(KeyedLimiter::keyed(rate.quota())),
            rate,
            scope,
        }
    }
}

/// The compiled `rate_limits:` section and per-tool `rate_limit`s.
#[derive(Clone, Debug, Default)]
pub struct RateLimits {
    /// Tier of callers whose credentials name none, and of anonymous callers.
    pub default_tier: String,
    /// Limits by tier name.
    pub tiers: HashMap<String, Limit>,
    /// Extra limits by tool name, keyed by caller.
    pub tools: HashMap<String, Limit>,
    /// Shared enforcement across replicas, when `backend: redis`.
    pub redis: Option<Arc<redis::RedisLimiter>>,
}

impl RateLimits {
    /// Admits one call of `tool` by `caller`, or answers `rate_limit_exceeded` with the wait.
    pub async fn check(&self, caller: &Caller, tool: &str) -> Result<(), CallError> {
        // A caller whose tier is not configured gets the default tier's limit.
        let tier = self
            .tiers
            .get(&caller.tier)
            .or_else(|| self.tiers.get(&self.default_tier));
        // The tool's own limit first: a call it refuses must not spend the caller's tier
        // budget, or hammering one limited tool would lock the caller out of every other tool.
        let limits = [self.tools.get(tool), tier];
        let key = caller.limit_key();
        for limit in limits.into_iter().flatten() {
            if let Err(not_until) = limit.limiter.check_key(&key) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(exceeded(limit, wait));
            }
            if let Some(redis) = &self.redis
                && let Some(wait) = redis.check(&limit.scope, &key, limit.rate).await
            {
                return Err(exceeded(limit, wait));
            }
        }
        Ok(())
    }

    /// Every limit, for adopting state across reloads and for eviction.
    pub fn all(&self) -> impl Iterator<Item = &Limit> {
        self.tiers.values().chain(self.tools.values())
    }

    /// Reuses the limiters of `previous` whose scope and rate are unchanged, so that a reload
    /// does not reset the callers' buckets.
    pub fn adopt(&mut self, previous: &RateLimits) {
        let old: HashMap<(&str, Rate), &Arc<KeyedLimiter>> = previous
            .all()
            .map(|l| ((l.scope.as_str(), l.rate), &l.limiter))
            .collect();
        for limit in self.tiers.values_mut().chain(self.tools.values_mut()) {
            if let Some(existing) = old.get(&(limit.scope.as_str(), limit.rate)) {
                limit.limiter = Arc::clone(existing);
            }
        }
    }

    /// Forgets callers whose buckets are full again, so memory does not grow with the number
    /// of callers ever seen.
    pub fn evict_idle(&self) {
        for limit in self.all() {
            limit.limiter.retain_recent();
            limit.limiter.shrink_to_fit();
        }
    }
}

fn exceeded(limit: &Limit, wait: Duration) -> CallError {
    let wait_ms = wait.as_millis().max(1) as u64;
    let mut error = CallError::new(
        ErrorCode::RateLimitExceeded,
        format!("rate limit exceeded ({})", limit.scope),
    )
    .with_details(json!({ "limit": limit.scope, "retry_after_ms": wait_ms }));
    error.retry_after = Some(Duration::from_millis(wait_ms));
    error
}
