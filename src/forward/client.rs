//! The HTTP client upstream calls go through: hyper's HTTP/1.1 connections (HTTP/2 when a TLS
//! upstream offers it), kept open by `forward::pool`, over a connector of our own
//! (`forward::connect`): the shared client, and one per upstream that has its own TLS
//! settings (`upstreams.<name>.tls`: extra CA roots, a client certificate for mutual TLS) or
//! an egress proxy (`upstreams.<name>.proxy`). Every client has the same safety settings:
//! rustls with the platform's roots, no proxy from the environment (unless the upstream says
//! `proxy: from_env`), no redirects (nothing here follows one), and hostnames resolving to
//! link-local addresses refused unless allowed.
//!
//! hyper is used directly rather than through reqwest: reqwest's layers (redirect policy,
//! retry, decompression, URL re-parsing) cost about a third of the gateway's own work per call
//! and do nothing the forwarder needs (it retries, decodes and bounds answers itself).

use super::connect::Connector;
use super::pool::{Connection, Lease, Origin, Pool};
use bytes::Bytes;
use http::Uri;
use http::header::{ACCEPT_ENCODING, HOST, HeaderValue, PROXY_AUTHORIZATION, USER_AGENT};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The `User-Agent` of requests that do not set their own.
const DEFAULT_USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("toolgate/", env!("CARGO_PKG_VERSION")));
/// The codings asked for (and decoded, see [`super::body`]) unless a request says otherwise.
const DECODED_CODINGS: HeaderValue = HeaderValue::from_static("gzip, deflate");

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

/// Why a client could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A PEM file holds no usable certificate or key.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the TLS settings.
    #[error("{0}")]
    Tls(#[from] rustls::Error),
    /// The proxy URL is not usable.
    #[error("the proxy URL is not a valid http:// or https:// URL")]
    Proxy,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be made (DNS, TCP, proxy, TLS).
    #[error("could not connect: {0}")]
    Connect(#[source] BoxError),
    /// The exchange failed (the connection broke, or the answer was not HTTP).
    #[error("{0}")]
    Http(#[from] hyper::Error),
    /// The request URI is not absolute.
    #[error("the request URI has no scheme or host")]
    Uri,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a request sent upstream: the whole of it, in memory.
pub type RequestBody = Full<Bytes>;

/// An answer's head and body, and the HTTP/1.1 connection it arrives on, which goes back to
/// the pool once the body has been read to its end (see [`super::AnswerBody`]).
#[derive(Debug)]
pub struct Answered {
    /// The answer.
    pub response: http::Response<Incoming>,
    /// The connection, lent to this answer (none for HTTP/2, whose connection is shared).
    pub lease: Option<Lease>,
}

/// A client for upstream calls, with one upstream's TLS and proxy settings (or the
/// defaults, for the shared client), and its pool of open connections. Cheap to clone: clones
/// share the pool.
#[derive(Clone)]
pub struct UpstreamClient {
    connector: Connector,
    pool: Arc<Pool>,
    proxy: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// A client with these TLS and proxy settings; hostnames resolving to link-local or
    /// unspecified addresses are refused unless `allow_link_local`.
    pub fn build(
        tls: &TlsSettings,
        proxy: &ProxySetting,
        allow_link_local: bool,
    ) -> Result<Self, ClientError> {
        let proxy = match proxy {
            ProxySetting::Direct => None,
            ProxySetting::FromEnv => Some(Arc::new(Matcher::from_env())),
            ProxySetting::Via { url, no_proxy } => {
                let uri: Uri = url.parse().map_err(|_| ClientError::Proxy)?;
                if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
                    return Err(ClientError::Proxy);
                }
                Some(Arc::new(
                    Matcher::builder()
                        .all(url.clone())
                        .no(no_proxy.clone())
                        .build(),
                ))
            }
        };
        let connector = Connector::new(
            tls_config(tls)?,
            proxy.clone(),
            !allow_link_local,
            CONNECT_TIMEOUT,
        );
        Ok(Self {
            connector,
            pool: Arc::default(),
            proxy,
        })
    }

    /// Sends `request` (an absolute URI) on a kept connection to its origin, or a new one,
    /// and waits for the answer's head. It gets a `Host`, the gateway's `User-Agent` and
    /// `Accept-Encoding: gzip, deflate` unless it has its own; a plain-HTTP request that goes
    /// through a proxy carries the proxy's credentials (`Proxy-Authorization`). A request a
    /// kept connection closed before taking (nothing was sent) goes out on a new one.
    pub async fn send(
        &self,
        mut request: http::Request<RequestBody>,
    ) -> Result<Answered, SendError> {
        let target = request.uri().clone();
        let origin = Origin::of(&target).ok_or(SendError::Uri)?;
        let proxy_auth = self.proxy_authorization(&target);
        let headers = request.headers_mut();
        if !headers.contains_key(HOST) {
            headers.insert(HOST, host_header(&target).ok_or(SendError::Uri)?);
        }
        headers.entry(USER_AGENT).or_insert(DEFAULT_USER_AGENT);
        headers.entry(ACCEPT_ENCODING).or_insert(DECODED_CODINGS);
        if let Some(auth) = proxy_auth {
            headers.insert(PROXY_AUTHORIZATION, auth);
        }
        if let Some(kept) = self.pool.checkout(&origin) {
            match self.send_on(kept, request, &origin).await {
                Err(Unsent::Back(back)) => request = *back,
                other => return other.map_err(Unsent::into_error),
            }
            *request.uri_mut() = target.clone();
        }
        let fresh = self.connect(&target).await?;
        if let Connection::Http2(shared) = &fresh {
            self.pool
                .put(origin.clone(), Connection::Http2(shared.clone()));
        }
        self.send_on(fresh, request, &origin)
            .await
            .map_err(Unsent::into_error)
    }

    /// Opens a connection to `target`'s origin (through the proxy that applies) and starts
    /// the task that drives it.
    async fn connect(&self, target: &Uri) -> Result<Connection, SendError> {
        use tower_service::Service;
        let io = self
            .connector
            .clone()
            .call(target.clone())
            .await
            .map_err(SendError::Connect)?;
        let connected = io.connected();
        if connected.is_negotiated_h2() {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await
                .map_err(|e| SendError::Connect(e.into()))?;
            tokio::spawn(connection);
            Ok(Connection::Http2(sender))
        } else {
            let (sender, connection) = http1::handshake(io)
                .await
                .map_err(|e| SendError::Connect(e.into()))?;
            tokio::spawn(connection);
            Ok(Connection::Http1 {
                sender,
                to_proxy: connected.is_proxied(),
            })
        }
    }

    /// Sends `request` on `connection`: HTTP/1.1 in origin form (absolute form to a proxy),
    /// HTTP/2 as it is.
    async fn send_on(
        &self,
        connection: Connection,
        mut request: http::Request<RequestBody>,
        origin: &Origin,
    ) -> Result<Answered, Unsent> {
        match connection {
            Connection::Http1 {
                mut sender,
                to_proxy,
            } => {
                if !to_proxy {
                    to_origin_form(request.uri_mut());
                }
                let response = sender
                    .try_send_request(request)
                    .await
                    .map_err(Unsent::from)?;
                let lease = Lease::new(
                    self.pool.clone(),
                    origin.clone(),
                    Connection::Http1 { sender, to_proxy },
                );
                Ok(Answered {
                    response,
                    lease: Some(lease),
                })
            }
            Connection::Http2(mut sender) => {
                let response = sender
                    .try_send_request(request)
                    .await
                    .map_err(Unsent::from)?;
                Ok(Answered {
                    response,
                    lease: None,
                })
            }
        }
    }

    /// The `Proxy-Authorization` of a plain-HTTP request that goes through a proxy with
    /// credentials (a tunnelled HTTPS request sends them in its CONNECT instead).
    fn proxy_authorization(&self, uri: &Uri) -> Option<HeaderValue> {
        if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
            return None;
        }
        let mut auth = self.proxy.as_ref()?.intercept(uri)?.basic_auth()?.clone();
        auth.set_sensitive(true);
        Some(auth)
    }
}

/// A request that got no answer: given back when it never left (the connection was closed
/// before taking it), else the error.
enum Unsent {
    /// Boxed: the rare case, kept out of every call's result.
    Back(Box<http::Request<RequestBody>>),
    Failed(hyper::Error),
}

impl From<hyper::client::conn::TrySendError<http::Request<RequestBody>>> for Unsent {
    fn from(mut error: hyper::client::conn::TrySendError<http::Request<RequestBody>>) -> Self {
        match error.take_message() {
            Some(request) => Self::Back(Box::new(request)),
            None => Self::Failed(error.into_error()),
        }
    }
}

impl Unsent {
    fn into_error(self) -> SendError {
        match self {
            // A new connection closed before taking the request: it broke.
            Self::Back(_) => {
                SendError::Connect("the connection closed before the request was sent".into())
            }
            Self::Failed(error) => SendError::Http(error),
        }
    }
}

/// `http://host:port/path?query` → `/path?query`, as an HTTP/1.1 request to the origin says it.
fn to_origin_form(uri: &mut Uri) {
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(path);
    if let Ok(origin_form) = Uri::from_parts(parts) {
        *uri = origin_form;
    }
}

/// The `Host` header of an absolute URI (the port only when it is not the scheme's default).
fn host_header(uri: &Uri) -> Option<HeaderValue> {
    let authority = uri.authority()?;
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    match authority.port_u16() {
        Some(port) if port != default_port => HeaderValue::from_str(authority.as_str()).ok(),
        _ => HeaderValue::from_str(authority.host()).ok(),
    }
}

/// The rustls configuration of a client: the platform's roots plus `tls.ca_pem`, the client
/// certificate of `tls.identity_pem` (the connector adds ALPN: HTTP/2 and HTTP/1.1).
fn tls_config(tls: &TlsSettings) -> Result<Arc<ClientConfig>, ClientError> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let extra_roots = match &tls.ca_pem {
        Some(pem) => certificates(pem, "tls.ca_file")?,
        None => Vec::new(),
    };
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let config = match &tls.identity_pem {
        Some(pem) => {
            let chain = certificates(pem, "tls.client_cert_file")?;
            let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| {
                ClientError::Pem("tls.client_key_file holds no usable private key".into())
            })?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Every certificate of a PEM bundle; at least one.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let found: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match found {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        _ => Err(ClientError::Pem(format!(
            "{what} holds no usable PEM certificate"
        ))),
    }
}

/// Why a TLS handshake failed, in words an operator can act on, if `error` is a TLS failure.
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        current = match error.downcast_ref::<std::io::Error>() {
            // An io::Error's `source()` skips the error it wraps (the connector nests them
            // twice around rustls' error): look inside it instead.
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
