//! MCP task ids for long-running operations, stateless across replicas: the id carries what
//! any replica needs to follow the job (the tool, its status and cancel URLs, when it started
//! and when the id expires), signed with HMAC-SHA256 (`server.session_secret`, like session
//! ids) and bound to the caller. Nothing is stored: a replica that never saw the task rebuilds
//! the job from its id and polls the upstream. The id is signed, not encrypted, so its URLs
//! are kept relative to the upstream's `base_url`: a client never learns the upstream's address.

use super::Job;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// How long after its operation's timeout a task id still works (to fetch the result).
pub const RESULT_GRACE: Duration = Duration::from_secs(600);

/// What a task id says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTicket {
    /// The tool whose operation started the job.
    #[serde(rename = "t")]
    pub tool: String,
    /// The job's status URL, relative to the upstream's `base_url` (see [`relative`]).
    #[serde(rename = "p")]
    pub poll: String,
    /// The job's cancel URL, relative like `poll`, if the operation declares a cancel request.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<String>,
    /// When the job started, in milliseconds since the Unix epoch.
    #[serde(rename = "s")]
    pub started_ms: u64,
    /// When the id stops working, in milliseconds since the Unix epoch.
    #[serde(rename = "e")]
    pub expires_ms: u64,
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl TaskTicket {
    /// The ticket of a started job of `tool`, valid for `ttl` from its start.
    pub fn for_job(tool: &str, job: &Job, ttl: Duration) -> Self {
        let started_ms = unix_ms(job.started);
        let base = &job.upstream.base_url;
        Self {
            tool: tool.to_owned(),
            poll: relative(base, &job.poll),
            cancel: job.cancel.as_ref().map(|url| relative(base, url)),
            started_ms,
            expires_ms: started_ms.saturating_add(ttl.as_millis() as u64),
        }
    }

    /// The signed id: `payload.mac`, both base64url.
    pub fn issue(&self, secret: &[u8], caller_id: &str) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let tag = URL_SAFE_NO_PAD.encode(mac(secret, &payload, caller_id).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The ticket of a valid id issued to `caller_id` that has not expired at `now_ms`.
    pub fn verify(secret: &[u8], id: &str, caller_id: &str, now_ms: u64) -> Option<Self> {
        let (payload, tag) = id.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        mac(secret, payload, caller_id).verify_slice(&tag).ok()?;
        let ticket: Self = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (now_ms < ticket.expires_ms).then_some(ticket)
    }

    /// When the job started.
    pub fn started(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.started_ms)
    }
}

/// `url` without the upstream's `base_url` in front (`/runs/7?view=full` below
/// `https://flows.internal/api`). Job URLs are inside their upstream, so the base is always
/// there to take off.
pub fn relative(base: &Url, url: &Url) -> String {
    let base = base.as_str().trim_end_matches('/');
    url.as_str()
        .strip_prefix(base)
        .unwrap_or(url.as_str())
        .to_owned()
}

/// The URL a [`relative`] one stands for below `base` (the caller checks it is inside).
pub fn absolute(base: &Url, relative: &str) -> Option<Url> {
    let base = base.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}{relative}")).ok()
}

fn mac(secret: &[u8], payload: &str, caller_id: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(b"toolgate task\0");
    mac.update(payload.as_bytes());
    mac.update(b"\0");
    mac.update(caller_id.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TaskTicket {
        TaskTicket {
            tool: "export".into(),
            poll: "/jobs/1".into(),
            cancel: None,
            started_ms: 1_000,
            expires_ms: 5_000,
        }
    }

    #[test]
    fn an_id_verifies_for_its_caller_until_it_expires() {
        let id = ticket().issue(b"secret", "alice");
        assert_eq!(
            TaskTicket::verify(b"secret", &id, "alice", 2_000),
            Some(ticket())
        );
        assert_eq!(TaskTicket::verify(b"secret", &id, "bob", 2_000), None);
        assert_eq!(TaskTicket::verify(b"other", &id, "alice", 2_000), None);
        assert_eq!(TaskTicket::verify(b"secret", &id, "alice", 5_000), None);
        let forged = format!("{}x", id);
        assert_eq!(TaskTicket::verify(b"secret", &forged, "alice", 2_000), None);
        assert_eq!(TaskTicket::verify(b"secret", "junk", "alice", 2_000), None);
    }

    #[test]
    fn urls_are_kept_relative_to_the_base_url() {
        for base in ["https://flows.internal/api", "https://flows.internal/api/"] {
            let base = Url::parse(base).unwrap();
            let url = Url::parse("https://flows.internal/api/runs/7?view=full").unwrap();
            assert_eq!(relative(&base, &url), "/runs/7?view=full");
            assert_eq!(absolute(&base, "/runs/7?view=full"), Some(url));
        }
        let root = Url::parse("http://127.0.0.1:9").unwrap();
        let url = Url::parse("http://127.0.0.1:9/jobs/1").unwrap();
        assert_eq!(relative(&root, &url), "/jobs/1");
        assert_eq!(absolute(&root, "/jobs/1"), Some(url));
    }
}
