//! Rate limits shared by replicas: GCRA in one atomic Lua script, one Redis key per
//! (scope, caller), using Redis' own clock so that replicas need no clock agreement.

use super::Rate;
use redis::aio::ConnectionManager;
use std::time::Duration;
use tokio::sync::OnceCell;

/// GCRA: KEYS[1] holds the theoretical arrival time (µs). ARGV: interval µs, burst.
/// Returns 0 when admitted, else the µs to wait.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return allow_at - now end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
";

/// Longest time a limit check waits for Redis before applying `on_redis_error`.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// What to do when Redis cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRedisError {
    /// Admit the call (the local limiter still applies).
    Allow,
    /// Refuse the call.
    Deny,
}

/// The Redis side of the limits.
pub struct RedisLimiter {
    url: String,
    on_error: OnRedisError,
    script: redis::Script,
    connection: OnceCell<ConnectionManager>,
    /// When Redis last failed: for [`BACKOFF`] after that, checks apply `on_error` at once
    /// instead of making every call wait for Redis again.
    last_failure: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long after a Redis failure checks skip Redis.
const BACKOFF: Duration = Duration::from_secs(1);

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("on_error", &self.on_error)
            .finish()
    }
}

impl RedisLimiter {
    /// A limiter using the Redis server at `url` (connected on first use).
    pub fn new(url: String, on_error: OnRedisError) -> Self {
        Self {
            url,
            on_error,
            script: redis::Script::new(GCRA),
            connection: OnceCell::new(),
            last_failure: std::sync::Mutex::new(None),
        }
    }

    /// `None` when admitted; the wait when over the limit (or when Redis failed and the
    /// policy is `deny`).
    pub async fn check(&self, scope: &str, caller: &str, rate: Rate) -> Option<Duration> {
        let recently_failed = self
            .last_failure
            .lock()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| at.elapsed() < BACKOFF);
        if recently_failed {
            return self.policy();
        }
        match tokio::time::timeout(REDIS_TIMEOUT, self.try_check(scope, caller, rate)).await {
            Ok(Ok(wait_us)) => (wait_us > 0).then(|| Duration::from_micros(wait_us)),
            Ok(Err(error)) => self.failed(&error.to_string()),
            Err(_) => self.failed("timed out"),
        }
    }

    fn failed(&self, error: &str) -> Option<Duration> {
        crate::metrics::REDIS_ERRORS.inc();
        tracing::warn!(error, policy = ?self.on_error, "redis rate-limit check failed");
        if let Ok(mut at) = self.last_failure.lock() {
            *at = Some(std::time::Instant::now());
        }
        self.policy()
    }

    /// What `on_redis_error` says while Redis cannot be used.
    fn policy(&self) -> Option<Duration> {
        match self.on_error {
            OnRedisError::Allow => None,
            OnRedisError::Deny => Some(Duration::from_secs(1)),
        }
    }

    async fn try_check(&self, scope: &str, caller: &str, rate: Rate) -> redis::RedisResult<u64> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let client = redis::Client::open(self.url.as_str())?;
                ConnectionManager::new(client).await
            })
            .await?;
        let mut connection = connection.clone();
        let interval_us = rate.interval().as_micros().max(1) as u64;
        self.script
            .key(format!("toolgate:rl:{scope}:{caller}"))
            .arg(interval_us)
            .arg(rate.burst.get())
            .invoke_async(&mut connection)
            .await
    }
}
