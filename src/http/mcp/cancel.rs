//! Requests in flight that a client may cancel with `notifications/cancelled`.
//!
//! Each `tools/call` and `resources/read` registers an abort handle under its scope (the
//! session, or the caller when there is none) and JSON-RPC id; the notification aborts the
//! future serving it, which drops the upstream exchange and so closes its connection. The
//! registry is per process: behind a load balancer a cancel reaches the request only if it
//! lands on the same replica (closing the response stream works everywhere).

use futures_util::future::{AbortHandle, AbortRegistration};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A scope and a JSON-RPC id: the scope, a line feed, then the id as JSON text (which never
/// holds a raw line feed, so no two pairs share a key). One allocation, shared with the ticket.
type Key = Arc<[u8]>;
/// Abort handles by key; several when a scope reuses an id in flight.
type Calls = Arc<Mutex<HashMap<Key, Vec<(u64, AbortHandle)>>>>;

/// The key of request `id` of `scope` (ids keep their type: `7` is not `"7"`).
fn key(scope: &str, id: &Value) -> Key {
    let mut key = Vec::with_capacity(scope.len() + 40);
    key.extend_from_slice(scope.as_bytes());
    key.push(b'\n');
    // Writing JSON into a Vec cannot fail; a failure would only make the key unmatchable.
    let _ = serde_json::to_writer(&mut key, id);
    key.into()
}

/// The cancellable requests in flight.
#[derive(Debug, Default)]
pub struct InFlight {
    calls: Calls,
    serial: AtomicU64,
}

/// Keeps a request registered; dropping it (the request ended) unregisters it.
#[derive(Debug)]
pub struct Ticket {
    calls: Calls,
    key: Key,
    serial: u64,
}

impl InFlight {
    /// Registers request `id` of `scope`; the registration aborts the future it guards when
    /// the request is cancelled.
    pub fn register(&self, scope: &str, id: &Value) -> (AbortRegistration, Ticket) {
        let (handle, registration) = AbortHandle::new_pair();
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let key = key(scope, id);
        if let Ok(mut calls) = self.calls.lock() {
            calls.entry(key.clone()).or_default().push((serial, handle));
        }
        let ticket = Ticket {
            calls: self.calls.clone(),
            key,
            serial,
        };
        (registration, ticket)
    }

    /// Cancels request `id` of `scope`; an unknown or finished id is ignored. Whether a
    /// request was found.
    pub fn cancel(&self, scope: &str, id: &Value) -> bool {
        let key = key(scope, id);
        let handles = self
            .calls
            .lock()
            .ok()
            .and_then(|mut calls| calls.remove(&key))
            .unwrap_or_default();
        for (_, handle) in &handles {
            handle.abort();
        }
        !handles.is_empty()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.calls.lock()
            && let Some(list) = calls.get_mut(&self.key)
        {
            list.retain(|(serial, _)| *serial != self.serial);
            if list.is_empty() {
                calls.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::Abortable;
    use serde_json::json;

    #[tokio::test]
    async fn cancel_aborts_the_registered_future_and_only_it() {
        let in_flight = InFlight::default();
        let (registration, _ticket) = in_flight.register("s1", &json!(7));
        let (other, _other_ticket) = in_flight.register("s2", &json!(7));
        assert!(!in_flight.cancel("s1", &json!("7")), "ids keep their type");
        assert!(in_flight.cancel("s1", &json!(7)));
        assert!(!in_flight.cancel("s1", &json!(7)), "once");
        let aborted = Abortable::new(std::future::pending::<()>(), registration).await;
        assert!(aborted.is_err());
        let untouched = Abortable::new(async {}, other).await;
        assert!(untouched.is_ok());
    }

    #[test]
    fn a_finished_request_is_forgotten() {
        let in_flight = InFlight::default();
        let (_registration, ticket) = in_flight.register("s", &json!("a"));
        drop(ticket);
        assert!(!in_flight.cancel("s", &json!("a")));
        assert!(in_flight.calls.lock().unwrap().is_empty());
    }
}
