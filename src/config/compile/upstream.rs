//! Compiling `upstreams:`: base URL, timeouts, static headers and resilience settings.

use super::Compiler;
use crate::config::model::{Text, UpstreamSection};
use crate::resilience::{CircuitBreaker, ConcurrencyLimit, RetryPolicy};
use crate::upstream::Upstream;
use indexmap::IndexMap;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

/// Parsed JSON takes up to ~18 times its text in memory, so the default stays small.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Upstream call timeout when neither the upstream nor the tool sets one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_RETRIES: u32 = 2;
const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(50);
const DEFAULT_BREAKER_FAILURES: u32 = 5;
const DEFAULT_BREAKER_OPEN_FOR: Duration = Duration::from_secs(10);

impl Compiler<'_> {
    pub(super) fn upstream(&mut self, name: &str, section: &UpstreamSection) -> Option<Upstream> {
        let base_text = self.text(&section.base_url);
        let mut base_url = base_text.and_then(|text| match Url::parse(&text) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                let what = format!("base_url of upstream '{name}'");
                if self.refuses_literal_host(&url, &section.base_url.referenced, &what) {
                    return None;
                }
                Some(url)
            }
            _ => {
                self.problem(
                    &section.base_url.referenced,
                    format!("base_url of upstream '{name}' must be an http(s) URL without query or fragment"),
                );
                None
            }
        });
        let timeout = match &section.timeout {
            Some(t) => self.duration(t),
            None => Some(DEFAULT_TIMEOUT),
        };
        let mut duration_or = |text: &Option<Text>, default: Duration| match text {
            Some(t) => self.duration(t),
            None => Some(default),
        };
        let queue_timeout = duration_or(&section.queue_timeout, DEFAULT_QUEUE_TIMEOUT);
        let retry_backoff = duration_or(&section.retry_backoff, DEFAULT_RETRY_BACKOFF);
        let breaker_open_for = duration_or(&section.breaker_open_for, DEFAULT_BREAKER_OPEN_FOR);
        let max_concurrency = self.whole_opt::<usize>(&section.max_concurrency, "max_concurrency");
        let concurrency = match (max_concurrency, queue_timeout) {
            (Some(Some(limit)), Some(wait)) => Some(Some(ConcurrencyLimit::new(limit, wait))),
            (Some(None), Some(_)) => Some(None),
            _ => None,
        };
        let max_response_bytes = self.whole_or(
            &section.max_response_bytes,
            "max_response_bytes",
            DEFAULT_MAX_RESPONSE_BYTES,
        );
        let retries = self.whole_or(&section.retries, "retries", DEFAULT_RETRIES);
        let breaker_failures = self.whole_or(
            &section.breaker_failures,
            "breaker_failures",
            DEFAULT_BREAKER_FAILURES,
        );
        let basic_auth = match &mut base_url {
            Some(url) => self.basic_auth(name, section, url),
            None => Some(None),
        };
        let headers = self.header_map(&section.headers).map(|mut headers| {
            if let Some(Some(credentials)) = &basic_auth {
                headers.insert(reqwest::header::AUTHORIZATION, credentials.clone());
            }
            headers
        });
        basic_auth?;
        let mut headers_by_org = HashMap::new();
        for (org, org_headers) in &section.headers_by_org {
            if let (Some(base), Some(extra)) = (&headers, self.header_map(org_headers)) {
                let mut merged = base.clone();
                for (name, value) in extra {
                    if let Some(name) = name {
                        merged.insert(name, value);
                    }
                }
                headers_by_org.insert(org.clone(), merged);
            }
        }
        let client = self.upstream_client(name, section);
        let proxied = section.proxy.is_some() && !self.allow_link_local;
        let auth = match &section.auth {
            Some(auth) => self.upstream_auth(name, auth).map(Some),
            None => Some(None),
        };
        Some(Upstream {
            name: name.to_owned(),
            base_url: base_url?,
            timeout: timeout?,
            headers: headers?,
            headers_by_org,
            max_response_bytes: max_response_bytes?,
            concurrency: concurrency?,
            retry: RetryPolicy {
                retries: retries?,
                backoff: retry_backoff?,
            },
            breaker: CircuitBreaker::new(breaker_failures?, breaker_open_for?),
            client: client?,
            target_check: proxied.then(crate::forward::dns::TargetCheck::default),
            auth: auth?,
        })
    }

    /// Takes the user info out of `url` (so that neither the containment check, nor `render`,
    /// nor the admin API ever sees it) as an `Authorization: Basic` value, always sensitive;
    /// `Some(None)` when there is none, `None` after reporting a problem. User and password are
    /// percent-decoded. An `Authorization` header configured beside them is refused: one
    /// credential per upstream.
    fn basic_auth(
        &mut self,
        name: &str,
        section: &UpstreamSection,
        url: &mut Url,
    ) -> Option<Option<HeaderValue>> {
        if url.username().is_empty() && url.password().is_none() {
            return Some(None);
        }
        let decode = |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
        let user = decode(url.username());
        let password = decode(url.password().unwrap_or(""));
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let at = &section.base_url.referenced;
        if user.contains(&b':') {
            self.problem(at, format!("the user name in base_url of upstream '{name}' contains ':', which HTTP Basic auth cannot carry"));
            return None;
        }
        let conflicts: Vec<_> = section
            .headers
            .iter()
            .chain(section.headers_by_org.values().flatten())
            .filter(|(header, _)| header.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.referenced)
            .collect();
        for header in &conflicts {
            self.problem(header, format!("upstream '{name}' has user info in base_url (sent as HTTP Basic auth) and an Authorization header: keep one"));
        }
        if !conflicts.is_empty() {
            return None;
        }
        let mut credentials = user;
        credentials.push(b':');
        credentials.extend_from_slice(&password);
        let encoded =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, credentials);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(Some(value))
    }

    /// Static headers; values that came from the environment are marked sensitive.
    fn header_map(&mut self, headers: &IndexMap<String, Text>) -> Option<HeaderMap> {
        let mut map = HeaderMap::new();
        let mut ok = true;
        for (name, text) in headers {
            if let Some(message) = super::reserved_header(name) {
                self.problem(&text.referenced, message);
                ok = false;
                continue;
            }
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                self.problem(
                    &text.referenced,
                    format!("'{name}' is not a valid header name"),
                );
                ok = false;
                continue;
            };
            let Some(value) = self.text(text) else {
                ok = false;
                continue;
            };
            match HeaderValue::from_str(&value) {
                Ok(mut value) => {
                    value.set_sensitive(text.value.contains("${"));
                    map.insert(header, value);
                }
                Err(_) => {
                    self.problem(
                        &text.referenced,
                        format!("the value of header '{name}' has invalid characters"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(map)
    }
}
