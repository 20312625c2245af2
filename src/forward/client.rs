//! Building the reqwest clients that talk to upstreams: the shared one, and one per upstream
//! that has its own TLS settings (`upstreams.<name>.tls`: extra CA roots, a client
//! certificate for mutual TLS) or an egress proxy (`upstreams.<name>.proxy`). Every client has
//! the same safety settings: rustls, no proxy from the environment (unless the upstream says
//! `proxy: from_env`), no redirects, no automatic decompression, and hostnames resolving to
//! link-local addresses refused unless allowed.

use super::dns;
use std::sync::Arc;
use std::time::Duration;

/// TLS material of one upstream, read and checked when the config loads.
#[derive(Clone, Default)]
pub struct TlsSettings {
    /// Extra trusted roots (PEM), added to the built-in ones.
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate chain and its private key, both PEM, concatenated.
    pub identity_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca_pem.is_some())
            .field("client_identity", &self.identity_pem.is_some())
            .finish()
    }
}

/// How an upstream's calls leave the gateway.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// Straight to the upstream (the default; proxy variables in the environment are ignored).
    #[default]
    Direct,
    /// Through the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`), read when the config loads.
    FromEnv,
    /// Through this proxy, except for the hosts of `no_proxy`.
    Via {
        /// The proxy URL (`http://` or `https://`, user info sent as Proxy-Authorization).
        url: String,
        /// The `no_proxy` rules, comma-separated (`NO_PROXY` syntax).
        no_proxy: String,
    },
}

impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Direct => f.write_str("Direct"),
            Self::FromEnv => f.write_str("FromEnv"),
            // The URL may carry the proxy's password.
            Self::Via { no_proxy, .. } => f
                .debug_struct("Via")
                .field("url", &"***")
                .field("no_proxy", no_proxy)
                .finish(),
        }
    }
}

/// A client for upstream calls with these TLS and proxy settings (the defaults for the shared
/// client).
pub fn build(
    tls: &TlsSettings,
    proxy: &ProxySetting,
    allow_link_local: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder();
    match proxy {
        // reqwest reads the proxy variables unless told not to.
        ProxySetting::FromEnv => {}
        ProxySetting::Direct => builder = builder.no_proxy(),
        ProxySetting::Via { url, no_proxy } => {
            builder = builder
                .proxy(reqwest::Proxy::all(url)?.no_proxy(reqwest::NoProxy::from_string(no_proxy)))
        }
    }
    if !allow_link_local {
        builder = builder.dns_resolver(Arc::new(dns::GuardedResolver));
    }
    if let Some(pem) = &tls.ca_pem {
        builder = builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem)?);
    }
    if let Some(pem) = &tls.identity_pem {
        builder = builder.identity(reqwest::Identity::from_pem(pem)?);
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("toolgate/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a TLS handshake failed, in words an operator can act on, if `error` is a TLS failure.
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        current = match error.downcast_ref::<std::io::Error>() {
            // An io::Error's `source()` skips the error it wraps (reqwest nests them twice
            // around rustls' error): look inside it instead.
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

fn describe(error: &rustls::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error};
    match error {
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                "the upstream's certificate is not signed by a trusted CA (unknown issuer); set tls.ca_file".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the upstream's certificate has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the upstream's certificate is not valid yet".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the upstream's certificate does not match its hostname (hostname mismatch)".into()
            }
            CertificateError::Revoked => "the upstream's certificate has been revoked".into(),
            other => format!("the upstream's certificate was refused: {other:?}"),
        },
        Error::AlertReceived(alert)
            if matches!(
                alert,
                AlertDescription::CertificateRequired
                    | AlertDescription::BadCertificate
                    | AlertDescription::UnknownCA
                    | AlertDescription::HandshakeFailure
                    | AlertDescription::AccessDenied
            ) =>
        {
            format!(
                "the upstream refused the TLS handshake ({alert:?}): it wants a client certificate it trusts (tls.client_cert_file)"
            )
        }
        other => format!("TLS handshake failed: {other}"),
    }
}
