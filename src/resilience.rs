//! Upstream resilience: a concurrency limit with a short queue, retries with jittered backoff
//! (idempotent methods only), and a circuit breaker that fails fast while an upstream is down.

use reqwest::Method;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// When and how often a failed exchange is tried again.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0: no retry).
    pub retries: u32,
    /// Base backoff; attempt `n` waits `backoff * 2^n` with ±50 % jitter.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// Whether a request with `method` may be sent again: only idempotent methods are.
    pub fn applies_to(&self, method: &Method) -> bool {
        self.retries > 0
            && matches!(
                *method,
                Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
            )
    }

    /// The wait before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.backoff.saturating_mul(1 << attempt.min(10));
        let jitter = 0.5 + rand::random::<f64>();
        base.mul_f64(jitter)
    }
}

/// Whether an HTTP status is worth a retry (the upstream or a proxy in front of it is briefly
/// unavailable).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// A concurrency limit: at most `limit` calls at once, the rest wait up to `queue_timeout`.
#[derive(Debug)]
pub struct ConcurrencyLimit {
    permits: std::sync::Arc<Semaphore>,
    /// How long an excess call waits for a slot.
    pub queue_timeout: Duration,
    /// The limit.
    pub limit: usize,
}

impl ConcurrencyLimit {
    /// A limit of `limit` calls at once.
    pub fn new(limit: usize, queue_timeout: Duration) -> Self {
        Self {
            permits: std::sync::Arc::new(Semaphore::new(limit.max(1))),
            queue_timeout,
            limit: limit.max(1),
        }
    }

    /// A slot, or `None` when none freed up in time.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

#[derive(Debug)]
enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// A circuit breaker: after `threshold` consecutive failures it opens for `open_for`, then lets
/// one probe through; a successful probe closes it.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    open_for: Duration,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    /// `Ok` when a call may go ahead; otherwise how long the breaker stays open.
    pub fn admit(&self) -> Result<(), Duration> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        match *state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = BreakerState::HalfOpen { probing: true };
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
            BreakerState::HalfOpen { probing: true } => Err(Duration::from_millis(100)),
            BreakerState::HalfOpen { probing: false } => {
                *state = BreakerState::HalfOpen { probing: true };
                Ok(())
            }
        }
    }

    /// Records the outcome of an admitted call.
    pub fn record(&self, success: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        *state = match (&*state, success) {
            (_, true) => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, false) if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            _ => BreakerState::Open {
                until: Instant::now() + self.open_for,
            },
        };
    }

    /// The state for operators: `closed`, `open` (with the time left) or `half-open`.
    pub fn describe(&self) -> (&'static str, Option<Duration>) {
        let Ok(state) = self.state.lock() else {
            return ("unknown", None);
        };
        match *state {
            BreakerState::Closed { .. } => ("closed", None),
            BreakerState::Open { until } => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    ("half-open", None)
                } else {
                    ("open", Some(left))
                }
            }
            BreakerState::HalfOpen { .. } => ("half-open", None),
        }
    }

    /// An admitted call was abandoned (its caller cancelled it) before it said anything about
    /// the upstream: a probe in flight is given back, so the next call may probe instead of
    /// the breaker waiting for an outcome that will never come.
    pub fn release(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let BreakerState::HalfOpen { probing: true } = *state {
            *state = BreakerState::HalfOpen { probing: false };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_threshold_and_probes_back() {
        let breaker = CircuitBreaker::new(2, Duration::from_millis(20));
        assert!(breaker.admit().is_ok());
        breaker.record(false);
        assert!(breaker.admit().is_ok());
        breaker.record(false);
        assert!(breaker.admit().is_err(), "open after two failures");
        std::thread::sleep(Duration::from_millis(25));
        assert!(breaker.admit().is_ok(), "one probe after the cool-down");
        assert!(breaker.admit().is_err(), "only one probe at a time");
        breaker.record(true);
        assert!(breaker.admit().is_ok(), "closed after a good probe");
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let breaker = CircuitBreaker::new(1, Duration::from_millis(10));
        breaker.record(false);
        std::thread::sleep(Duration::from_millis(15));
        assert!(breaker.admit().is_ok(), "the probe");
        assert!(breaker.admit().is_err(), "one probe at a time");
        breaker.release();
        assert!(
            breaker.admit().is_ok(),
            "another probe after the first was cancelled"
        );
        breaker.release();
        breaker.release();
        breaker.record(false);
        assert!(
            breaker.admit().is_err(),
            "release never closes or opens the breaker"
        );
    }

    #[test]
    fn only_idempotent_methods_are_retried() {
        let policy = RetryPolicy {
            retries: 2,
            backoff: Duration::from_millis(10),
        };
        assert!(policy.applies_to(&Method::GET));
        assert!(policy.applies_to(&Method::PUT));
        assert!(!policy.applies_to(&Method::POST));
        assert!(!policy.applies_to(&Method::PATCH));
        let delay = policy.delay(1);
        assert!(delay >= Duration::from_millis(10) && delay <= Duration::from_millis(30));
    }
}
