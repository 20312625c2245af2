//! A compiled upstream: where its calls may go and what every call carries.

use crate::resilience::{CircuitBreaker, ConcurrencyLimit, RetryPolicy};
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

/// One upstream REST API, compiled from `upstreams.<name>`.
#[derive(Debug)]
pub struct Upstream {
    /// The name tools refer to.
    pub name: String,
    /// The base URL: scheme, host, port and path prefix (no trailing slash, no query).
    pub base_url: Url,
    /// Default time allowed for a call.
    pub timeout: Duration,
    /// Headers injected into every call; secret values are marked sensitive.
    pub headers: HeaderMap,
    /// Complete header sets for callers of these organisations (`headers_by_org` merged over
    /// `headers`).
    pub headers_by_org: HashMap<String, HeaderMap>,
    /// Largest answer accepted, in bytes.
    pub max_response_bytes: u64,
    /// At most this many calls at once (`None`: no limit).
    pub concurrency: Option<ConcurrencyLimit>,
    /// Retries of idempotent calls on connection failures and 502/503/504.
    pub retry: RetryPolicy,
    /// Fails fast while the upstream is down.
    pub breaker: CircuitBreaker,
    /// A client of its own, when the upstream has TLS settings (`tls:`) or a proxy; otherwise
    /// calls use the shared client.
    pub client: Option<crate::forward::UpstreamClient>,
    /// For an upstream reached through a proxy (which resolves its host, not the gateway):
    /// the link-local check of the target host, made before each call.
    pub target_check: Option<crate::forward::dns::TargetCheck>,
    /// Credentials obtained per call (`auth:`), if any.
    pub auth: Option<crate::credentials::UpstreamAuth>,
}

impl Upstream {
    /// The headers to inject for a caller of `org`.
    pub fn headers_for(&self, org: &str) -> &HeaderMap {
        self.headers_by_org.get(org).unwrap_or(&self.headers)
    }

    /// The URL of a rendered request: the base URL with `path` (rendered, every placeholder
    /// percent-encoded as one segment, starting with `/`) appended below the base path, and
    /// `query` (form-encoded; empty for none). Only the path and query are parsed: the scheme,
    /// host and port are the base URL's own, so the request cannot leave this upstream's
    /// origin; the path must stay below the base path as well.
    pub fn request_url(&self, path: &str, query: &str) -> Result<Url, String> {
        let base_path = self.base_url.path().trim_end_matches('/');
        let mut full_path = String::with_capacity(base_path.len() + path.len());
        full_path.push_str(base_path);
        full_path.push_str(path);
        let mut url = self.base_url.clone();
        url.set_path(&full_path);
        url.set_query((!query.is_empty()).then_some(query));
        self.check_inside(&url)?;
        Ok(url)
    }

    /// Checks a URL the upstream itself gave (a job's status, cancel or result URL): the same
    /// origin (scheme, host, port) as the base URL, a path below the base path, no user info
    /// and no fragment: the containment rule of rendered requests.
    pub fn contain(&self, url: &Url) -> Result<(), String> {
        if url.origin() != self.base_url.origin() {
            return Err(format!("the URL would leave upstream '{}'", self.name));
        }
        self.check_inside(url)
    }

    /// A path below the base path, no user info, no fragment.
    fn check_inside(&self, url: &Url) -> Result<(), String> {
        let base_path = self.base_url.path().trim_end_matches('/');
        let inside = url.path() == base_path
            || url
                .path()
                .strip_prefix(base_path)
                .is_some_and(|rest| rest.starts_with('/'));
        if inside && url.username().is_empty() && url.fragment().is_none() {
            Ok(())
        } else {
            Err(format!(
                "the rendered request would leave upstream '{}'",
                self.name
            ))
        }
    }
}
