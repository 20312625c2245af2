//! Origin and Host checks against DNS rebinding (MCP transport security). Every value is
//! decided on: a missing Host (HTTP/1.1), a repeated Host or Origin, or a value that is not
//! visible ASCII is refused with 400, a host or site that is not allowed with 403.

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
    /// `Host` or `Origin` is missing (Host on HTTP/1.1), repeated, or not visible ASCII.
    Malformed(&'static str),
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
            Self::Malformed(what) => (*what).to_owned(),
        }
    }

    /// The error code of the refusal: 400 for a malformed header, 403 for a refused site.
    pub fn code(&self) -> crate::error::ErrorCode {
        match self {
            Self::Malformed(_) => crate::error::ErrorCode::InvalidRequest,
            _ => crate::error::ErrorCode::Forbidden,
        }
    }
}

/// The one value of header `name`: `Ok(None)` when absent; refused when repeated or when it is
/// not visible ASCII (spaces and tabs allowed inside).
fn single_value<'r>(
    req: &'r HttpRequest,
    name: &actix_web::http::header::HeaderName,
    repeated: &'static str,
    malformed: &'static str,
) -> Result<Option<&'r str>, Refusal> {
    let mut values = req.headers().get_all(name);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::Malformed(repeated));
    }
    let text = first
        .to_str()
        .ok()
        .filter(|v| {
            !v.trim().is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
        })
        .ok_or(Refusal::Malformed(malformed))?;
    Ok(Some(text.trim()))
}

/// Checks `Host` and (when present) `Origin`: loopback names, `public_url` and the configured
/// lists are allowed; anything else is refused.
pub fn check(req: &HttpRequest, settings: &ServerSettings) -> Result<(), Refusal> {
    let public = settings.public_url.as_ref();
    let host = single_value(
        req,
        &HOST,
        "the request has more than one Host header",
        "the Host header is empty or not visible ASCII",
    )?;
    match host {
        Some(host) => {
            let host = host.to_ascii_lowercase();
            if !is_host_and_port(&host) {
                return Err(Refusal::Malformed("the Host header is not a host[:port]"));
            }
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
        // HTTP/1.1 requires Host (RFC 9112 §3.2); HTTP/1.0 clients may leave it out.
        None if req.version() >= actix_web::http::Version::HTTP_11 => {
            return Err(Refusal::Malformed("the request has no Host header"));
        }
        None => {}
    }
    let origin = single_value(
        req,
        &ORIGIN,
        "the request has more than one Origin header",
        "the Origin header is empty or not visible ASCII",
    )?;
    if let Some(origin) = origin {
        let origin = origin.to_ascii_lowercase();
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

/// Whether `value` is `host[:port]` as a Host header carries it (RFC 9110 §7.2): a DNS name
/// or IPv4 address (letters, digits, `-`, `.`, `_`, `~`), or a bracketed IPv6 address, and
/// an optional port of up to five digits below 65536. Checked by hand: `Url::parse` costs
/// ~5,000 instructions per request here.
fn is_host_and_port(value: &str) -> bool {
    let host = strip_port(value);
    let port_ok = match value[host.len()..].strip_prefix(':') {
        None => true,
        Some(port) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok()
        }
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => ipv6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        }
    };
    port_ok && host_ok
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

    #[test]
    fn host_header_values() {
        for good in [
            "localhost",
            "localhost:8766",
            "gw.example.com",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:65535",
            "my_host.internal:80",
        ] {
            assert!(is_host_and_port(good), "{good}");
        }
        for bad in [
            "",
            ":80",
            "host:",
            "host:65536",
            "host:8o",
            "ex ample.com",
            "user@host",
            "host/path",
            "[::1",
            "[nothex]:80",
            "::1",
            "host:80:80",
        ] {
            assert!(!is_host_and_port(bad), "{bad}");
        }
    }
}
