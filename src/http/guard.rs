//! Origin and Host checks against DNS rebinding (MCP transport security), and body limits.

use crate::config::ServerSettings;
use actix_web::HttpRequest;
use actix_web::http::header::{HOST, ORIGIN};
use url::Url;

/// Why a request was refused before it was read.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The `Origin` header names a site that is not allowed.
    Origin(String),
    /// The `Host` header names a host that is not allowed.
    Host(String),
}

impl Refusal {
    /// The message sent with the 403.
    pub fn message(&self) -> String {
        match self {
            Self::Origin(origin) => {
                format!("Origin '{origin}' is not allowed: add it to server.allowed_origins")
            }
            Self::Host(host) => {
                format!(
                    "Host '{host}' is not allowed: add it to server.allowed_hosts or set server.public_url"
                )
            }
        }
    }
}

/// Checks `Host` and (when present) `Origin`: loopback names, `public_url` and the configured
/// lists are allowed; anything else is refused.
pub fn check(req: &HttpRequest, settings: &ServerSettings) -> Result<(), Refusal> {
    let public = settings.public_url.as_ref();
    if let Some(host) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) {
        let host = host.trim().to_ascii_lowercase();
        let allowed = settings
            .allowed_hosts
            .iter()
            .any(|h| h == "*" || *h == host || *h == strip_port(&host))
            || is_loopback_host(strip_port(&host))
            || public
                .and_then(Url::host_str)
                .is_some_and(|p| p.eq_ignore_ascii_case(strip_port(&host)));
        if !allowed {
            return Err(Refusal::Host(host));
        }
    }
    if let Some(origin) = req.headers().get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let allowed = settings.allowed_origins.contains(&origin)
            || Url::parse(&origin).is_ok_and(|url| {
                url.host_str().is_some_and(is_loopback_host)
                    || public.is_some_and(|p| p.origin() == url.origin())
            });
        if !allowed {
            return Err(Refusal::Origin(origin));
        }
    }
    Ok(())
}

/// `host:port` → `host` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ports_but_not_ipv6_brackets() {
        assert_eq!(strip_port("localhost:8766"), "localhost");
        assert_eq!(strip_port("[::1]:8766"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("127.0.0.2"));
        assert!(!is_loopback_host("evil.example.com"));
    }
}
