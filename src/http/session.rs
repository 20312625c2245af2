//! MCP session ids that any replica can verify: `nonce.version.mac`, where the MAC (HMAC-SHA256
//! with `server.session_secret`) binds the id to the negotiated protocol version and the caller.
//! A session ended with `DELETE` is remembered by the process that saw the `DELETE`, and a
//! session's log level (`logging/setLevel`) by the process that received it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type HmacSha256 = Hmac<Sha256>;

/// How many ended sessions are remembered at most.
const MAX_ENDED: usize = 100_000;
/// How long an ended session is remembered.
const ENDED_TTL: Duration = Duration::from_secs(24 * 3600);

/// How many sessions' log levels are remembered at most (the oldest half is forgotten
/// beyond that).
const MAX_LEVELS: usize = 100_000;

/// An RFC 5424 severity, as MCP logging names them, least severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `notice`
    Notice,
    /// `warning`
    Warning,
    /// `error`
    Error,
    /// `critical`
    Critical,
    /// `alert`
    Alert,
    /// `emergency`
    Emergency,
}

impl Level {
    const ALL: [(Level, &'static str); 8] = [
        (Level::Debug, "debug"),
        (Level::Info, "info"),
        (Level::Notice, "notice"),
        (Level::Warning, "warning"),
        (Level::Error, "error"),
        (Level::Critical, "critical"),
        (Level::Alert, "alert"),
        (Level::Emergency, "emergency"),
    ];

    /// The level named `name` (exactly as MCP spells it), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(l, _)| *l)
    }

    /// The level's MCP name.
    pub fn as_str(self) -> &'static str {
        Self::ALL[self as usize].1
    }
}

/// Issues and verifies session ids.
#[derive(Debug, Default)]
pub struct Sessions {
    ended: Mutex<HashMap<String, Instant>>,
    levels: Mutex<HashMap<String, (Level, u64)>>,
    serial: std::sync::atomic::AtomicU64,
}

impl Sessions {
    /// A new session id for `caller_id` speaking `version`.
    pub fn issue(&self, secret: &[u8], version: &str, caller_id: &str) -> String {
        let nonce: [u8; 16] = rand::random();
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let mac = URL_SAFE_NO_PAD.encode(
            mac(secret, &nonce, version, caller_id)
                .finalize()
                .into_bytes(),
        );
        format!("{nonce}.{version}.{mac}")
    }

    /// The negotiated protocol version of a valid, not ended session; `None` otherwise.
    pub fn verify(&self, secret: &[u8], id: &str, caller_id: &str) -> Option<String> {
        let mut parts = id.split('.');
        let (nonce, version, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        mac(secret, nonce, version, caller_id)
            .verify_slice(&tag)
            .ok()?;
        let ended = self.ended.lock().ok()?;
        (!ended.contains_key(id)).then(|| version.to_owned())
    }

    /// Sets the lowest level of `notifications/message` the session wants.
    pub fn set_level(&self, id: &str, level: Level) {
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut levels) = self.levels.lock() {
            if levels.len() >= MAX_LEVELS && !levels.contains_key(id) {
                // Forget the older half rather than grow without bound.
                let cut = serial.saturating_sub(MAX_LEVELS as u64 / 2);
                levels.retain(|_, (_, at)| *at >= cut);
            }
            levels.insert(id.to_owned(), (level, serial));
        }
    }

    /// The session's log level, if it set one (here).
    pub fn level(&self, id: &str) -> Option<Level> {
        self.levels.lock().ok()?.get(id).map(|(level, _)| *level)
    }

    /// Ends a session; later requests with its id get 404 from this process.
    pub fn end(&self, id: &str) {
        if let Ok(mut levels) = self.levels.lock() {
            levels.remove(id);
        }
        if let Ok(mut ended) = self.ended.lock() {
            if ended.len() >= MAX_ENDED {
                let now = Instant::now();
                ended.retain(|_, at| now.duration_since(*at) < ENDED_TTL);
            }
            if ended.len() < MAX_ENDED {
                ended.insert(id.to_owned(), Instant::now());
            }
        }
    }
}

fn mac(secret: &[u8], nonce: &str, version: &str, caller_id: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    for part in [nonce, version, caller_id] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_verify_until_ended_and_only_for_their_caller() {
        let sessions = Sessions::default();
        let id = sessions.issue(b"k", "2025-11-25", "alice");
        assert_eq!(
            sessions.verify(b"k", &id, "alice").as_deref(),
            Some("2025-11-25")
        );
        assert_eq!(sessions.verify(b"k", &id, "bob"), None);
        assert_eq!(sessions.verify(b"other", &id, "alice"), None);
        assert_eq!(sessions.verify(b"k", "garbage", "alice"), None);
        sessions.end(&id);
        assert_eq!(sessions.verify(b"k", &id, "alice"), None);
    }

    #[test]
    fn levels_parse_order_and_stick_to_their_session() {
        assert_eq!(Level::parse("warning"), Some(Level::Warning));
        assert_eq!(Level::parse("WARNING"), None);
        assert_eq!(Level::parse("verbose"), None);
        assert!(Level::Debug < Level::Info && Level::Alert < Level::Emergency);
        assert_eq!(Level::Critical.as_str(), "critical");
        let sessions = Sessions::default();
        sessions.set_level("a", Level::Error);
        assert_eq!(sessions.level("a"), Some(Level::Error));
        assert_eq!(sessions.level("b"), None);
        sessions.end("a");
        assert_eq!(sessions.level("a"), None);
    }
}
