//! Name resolution for upstreams that refuses the addresses an upstream must never be reached
//! at unless allowed: link-local ones (169.254.0.0/16, fe80::/10, and so the cloud metadata
//! service at 169.254.169.254), also when written as IPv4-compatible, IPv4-mapped or NAT64
//! IPv6, and the unspecified addresses (0.0.0.0/8, `::`), which connect to this host. A DNS
//! answer cannot turn an upstream's hostname into a path to instance credentials.

use hyper_util::client::legacy::connect::dns::Name;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The NAT64 well-known prefix `64:ff9b::/96` (RFC 6052): its last 32 bits are an IPv4 address.
const NAT64_PREFIX: [u16; 6] = [0x64, 0xff9b, 0, 0, 0, 0];
/// AWS's IPv6 instance metadata address.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Why an upstream address is refused, or `None` when it may be used.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(UNSPECIFIED),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 || v6 == AWS_METADATA_V6 => {
            Some(LINK_LOCAL)
        }
        IpAddr::V6(v6) => embedded_v4(v6).and_then(refused_v4),
    }
}

const LINK_LOCAL: &str = "a link-local address (cloud metadata range)";
const UNSPECIFIED: &str = "an unspecified address (0.0.0.0 or ::, which reaches this host)";

fn refused_v4(v4: Ipv4Addr) -> Option<&'static str> {
    if v4.is_link_local() {
        Some(LINK_LOCAL)
    } else if v4.octets()[0] == 0 {
        Some(UNSPECIFIED)
    } else {
        None
    }
}

/// The IPv4 address inside an IPv4-compatible (`::a.b.c.d`), IPv4-mapped (`::ffff:a.b.c.d`) or
/// NAT64 (`64:ff9b::a.b.c.d`) IPv6 address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = v6.segments();
    if segments[..6] == NAT64_PREFIX {
        let [.., a, b, c, d] = v6.octets();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    // `to_ipv4` covers both the compatible and the mapped forms (`::1` is loopback, not 0.0.0.1).
    (v6 != Ipv6Addr::LOCALHOST).then(|| v6.to_ipv4()).flatten()
}

/// The system resolver of upstream connections; with its guard on, refused answers
/// ([`refused_address`]) are removed, and a name with nothing else left fails to resolve.
#[derive(Clone, Debug)]
pub struct Resolver {
    guard: bool,
}

impl Resolver {
    /// A resolver, guarded when `refuse_link_local`.
    pub fn new(refuse_link_local: bool) -> Self {
        Self {
            guard: refuse_link_local,
        }
    }
}

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        let guard = self.guard;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !guard {
                return Ok(found.into_iter());
            }
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| refused_address(a.ip()).is_none())
                .collect();
            if let (true, Some(first)) = (allowed.is_empty(), found.first()) {
                let why = refused_address(first.ip()).unwrap_or(LINK_LOCAL);
                tracing::warn!(%host, "refused: the upstream host resolves to {why}");
                return Err(std::io::Error::other(format!(
                    "{host} resolves to {why}, which is refused"
                )));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// How long the answer of a [`TargetCheck`] lookup is kept.
const TARGET_CHECK_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The link-local check of an upstream reached through a proxy: the proxy resolves the target
/// host, so the gateway's resolver never sees it. Before a call the gateway resolves the host
/// itself (answers kept [`TARGET_CHECK_TTL`]) and refuses it when *any* address is refused
/// (the proxy may pick any of them). A name the gateway cannot resolve is left to the proxy:
/// proxies often know names the gateway's DNS does not.
#[derive(Debug, Default)]
pub struct TargetCheck {
    answers: std::sync::Mutex<Option<(std::time::Instant, Option<&'static str>)>>,
}

impl TargetCheck {
    /// `Err(why)` when `host` resolves to a refused address.
    pub async fn check(&self, host: &str, port: u16) -> Result<(), &'static str> {
        let cached = self
            .answers
            .lock()
            .ok()
            .and_then(|answer| *answer)
            .filter(|(at, _)| at.elapsed() < TARGET_CHECK_TTL);
        let refused = match cached {
            Some((_, refused)) => refused,
            None => {
                let refused = match tokio::net::lookup_host((host, port)).await {
                    Ok(found) => found
                        .map(|a| refused_address(a.ip()))
                        .find(Option::is_some)
                        .flatten(),
                    Err(_) => None,
                };
                if let Ok(mut answer) = self.answers.lock() {
                    *answer = Some((std::time::Instant::now(), refused));
                }
                refused
            }
        };
        match refused {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_refused_addresses() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::169.254.0.1",
            "fd00:ec2::254",
        ] {
            assert_eq!(
                refused_address(ip.parse().unwrap()),
                Some(LINK_LOCAL),
                "{ip}"
            );
        }
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "::ffff:0.0.0.0",
            "64:ff9b::0.0.0.0",
        ] {
            assert_eq!(
                refused_address(ip.parse().unwrap()),
                Some(UNSPECIFIED),
                "{ip}"
            );
        }
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::a9fe:a9fe",
        ] {
            assert_eq!(refused_address(ip.parse().unwrap()), None, "{ip}");
        }
    }

    /// The connect-time filter: names whose every answer is refused fail to resolve (the names
    /// here are address texts, which the system resolver answers with themselves).
    #[tokio::test]
    async fn the_resolver_refuses_names_answering_only_refused_addresses() {
        use tower_service::Service;
        let mut guarded = Resolver::new(true);
        for name in ["0.0.0.0", "::", "::169.254.169.254", "64:ff9b::a9fe:a9fe"] {
            let resolving = guarded.call(name.parse().unwrap());
            let error = resolving.await.err().map(|e| e.to_string());
            assert!(error.is_some_and(|e| e.contains("refused")), "{name}");
        }
        assert!(guarded.call("127.0.0.1".parse().unwrap()).await.is_ok());
        let mut open = Resolver::new(false);
        assert!(open.call("0.0.0.0".parse().unwrap()).await.is_ok());
    }
}
