//! The upstream client's connections, kept open between calls: by origin (scheme, host and
//! port), an HTTP/1.1 connection serves one call at a time and comes back once its answer
//! has been read to the end; an HTTP/2 connection (ALPN) is shared by every call to its
//! origin. Closed connections are dropped when met, idle ones after [`IDLE_TIMEOUT`].
//!
//! Written here rather than taken from hyper-util's pooled client: that client's bookkeeping
//! (SipHash of the origin three times a call, a checkout future, a spawned task to return a
//! connection whose answer is still being read) cost about 9,500 instructions a call, more
//! than the HTTP/1.1 exchange itself.

use super::client::RequestBody;
use http::uri::{Authority, Scheme};
use hyper::client::conn::{http1, http2};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often idle connections past [`IDLE_TIMEOUT`] are closed.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Where a connection goes: scheme, host and port. Compared and hashed as written
/// (`Authority`'s own hash lowercases byte by byte, which costs more than the rest of a
/// checkout; the URIs here come from the config, spelled the same way every time).
#[derive(Clone, Debug)]
pub struct Origin {
    scheme: Scheme,
    authority: Authority,
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        self.scheme.as_str() == other.scheme.as_str()
            && self.authority.as_str() == other.authority.as_str()
    }
}

impl Eq for Origin {}

impl std::hash::Hash for Origin {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.scheme.as_str().hash(state);
        self.authority.as_str().hash(state);
    }
}

impl Origin {
    /// The origin of an absolute URI.
    pub fn of(uri: &http::Uri) -> Option<Self> {
        Some(Self {
            scheme: uri.scheme()?.clone(),
            authority: uri.authority()?.clone(),
        })
    }
}

/// A connection able to take a request.
pub enum Connection {
    /// HTTP/1.1: one request at a time. `to_proxy`: requests go to a proxy, in absolute form.
    Http1 {
        /// The connection's request channel.
        sender: http1::SendRequest<RequestBody>,
        /// Whether the connection goes to a proxy rather than to the origin.
        to_proxy: bool,
    },
    /// HTTP/2: shared by every call to the origin.
    Http2(http2::SendRequest<RequestBody>),
}

impl Connection {
    fn is_closed(&self) -> bool {
        match self {
            Self::Http1 { sender, .. } => sender.is_closed(),
            Self::Http2(sender) => sender.is_closed(),
        }
    }
}

struct Idle {
    connection: Connection,
    since: Instant,
}

impl Idle {
    fn usable(&self, now: Instant) -> bool {
        !self.connection.is_closed() && now.duration_since(self.since) < IDLE_TIMEOUT
    }
}

/// Idle connections by origin (origins come from the config, so a fast hash is enough).
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<Origin, Vec<Idle>, foldhash::fast::RandomState>>,
    sweeping: std::sync::atomic::AtomicBool,
}

impl Pool {
    /// A connection to `origin` that can take a request now, if one is kept: an HTTP/1.1
    /// connection leaves the pool until [`Lease::release`]; an HTTP/2 one stays, shared.
    pub fn checkout(&self, origin: &Origin) -> Option<Connection> {
        let mut idle = self.idle.lock().ok()?;
        let kept = idle.get_mut(origin)?;
        let now = Instant::now();
        while let Some(entry) = kept.pop() {
            if !entry.usable(now) {
                continue;
            }
            match &entry.connection {
                Connection::Http2(sender) => {
                    let shared = Connection::Http2(sender.clone());
                    kept.push(entry);
                    return Some(shared);
                }
                Connection::Http1 { sender, .. } if sender.is_ready() => {
                    return Some(entry.connection);
                }
                // Busy (cannot happen: only ready ones are put back); let it go.
                Connection::Http1 { .. } => {}
            }
        }
        None
    }

    /// Keeps `connection` for later calls to `origin` (an HTTP/2 one once, when it is new).
    pub fn put(self: &Arc<Self>, origin: Origin, connection: Connection) {
        if connection.is_closed() {
            return;
        }
        self.sweep_in_background();
        if let Ok(mut idle) = self.idle.lock() {
            idle.entry(origin).or_default().push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    /// Starts (once, inside a runtime) the task that closes idle connections past
    /// [`IDLE_TIMEOUT`] and forgets closed ones; it ends with the pool.
    fn sweep_in_background(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.sweeping.load(Ordering::Relaxed) || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if self.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let pool: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SWEEP_EVERY);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(pool) = pool.upgrade() else { break };
                pool.sweep();
            }
        });
    }

    fn sweep(&self) {
        let now = Instant::now();
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|_, kept| {
                kept.retain(|entry| entry.usable(now));
                !kept.is_empty()
            });
        }
    }
}

/// An HTTP/1.1 connection lent to one call: back into the pool once its answer has been
/// read to the end ([`release`](Self::release)); dropped sooner, it closes with the answer.
pub struct Lease {
    pool: Arc<Pool>,
    origin: Origin,
    connection: Connection,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("origin", &self.origin)
            .finish()
    }
}

impl Lease {
    /// A lease of `connection` (to `origin`) from `pool`.
    pub fn new(pool: Arc<Pool>, origin: Origin, connection: Connection) -> Self {
        Self {
            pool,
            origin,
            connection,
        }
    }

    /// Puts the connection back: now when it can take the next request, else as soon as it
    /// can (hyper signals that once it has finished with the answer).
    pub fn release(self) {
        let Self {
            pool,
            origin,
            connection,
        } = self;
        match connection {
            Connection::Http1 {
                mut sender,
                to_proxy,
            } if !sender.is_ready() && tokio::runtime::Handle::try_current().is_ok() => {
                tokio::spawn(async move {
                    if sender.ready().await.is_ok() {
                        pool.put(origin, Connection::Http1 { sender, to_proxy });
                    }
                });
            }
            connection => pool.put(origin, connection),
        }
    }
}
