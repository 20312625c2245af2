//! Opening a connection for an upstream call: DNS (guarded, see [`super::dns`]), TCP, then
//! the egress proxy when one applies to the destination (a CONNECT tunnel for HTTPS; for
//! plain HTTP, a connection to the proxy itself, to which requests are sent in absolute
//! form), and TLS.

use super::dns::Resolver;
use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use rustls::ClientConfig;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Tcp = HttpConnector<Resolver>;

/// Opens connections with one client's TLS and proxy settings.
#[derive(Clone)]
pub struct Connector {
    /// TCP, then TLS for `https://` destinations.
    direct: HttpsConnector<Tcp>,
    tls: Arc<ClientConfig>,
    proxy: Option<Arc<Matcher>>,
}

impl Connector {
    /// A connector with this TLS configuration and proxy rules; `refuse_link_local` turns the
    /// resolver's guard on.
    pub fn new(
        tls: Arc<ClientConfig>,
        proxy: Option<Arc<Matcher>>,
        refuse_link_local: bool,
        connect_timeout: Duration,
    ) -> Self {
        let mut tcp = HttpConnector::new_with_resolver(Resolver::new(refuse_link_local));
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let direct = with_tls(&tls, tcp);
        Self { direct, tls, proxy }
    }
}

/// `connector` with TLS on top for `https://` destinations (ALPN: HTTP/2, HTTP/1.1).
fn with_tls<C>(tls: &ClientConfig, connector: C) -> HttpsConnector<C> {
    HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(connector)
}

impl tower_service::Service<Uri> for Connector {
    type Response = UpstreamConnection;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamConnection, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let proxy = self.proxy.as_ref().and_then(|m| m.intercept(&destination));
        match proxy {
            None => {
                let connecting = self.direct.call(destination);
                Box::pin(async move { Ok(UpstreamConnection::new(connecting.await?, false)) })
            }
            Some(proxy) if destination.scheme() == Some(&http::uri::Scheme::HTTPS) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), self.direct.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let connecting = with_tls(&self.tls, tunnel).call(destination);
                Box::pin(async move { Ok(UpstreamConnection::new(connecting.await?, false)) })
            }
            Some(proxy) => {
                let connecting = self.direct.call(proxy.uri().clone());
                Box::pin(async move { Ok(UpstreamConnection::new(connecting.await?, true)) })
            }
        }
    }
}

/// What a connection is: a byte stream hyper can use, with its connection facts.
trait Io: Read + Write + Connection + Send + Unpin {}
impl<T: Read + Write + Connection + Send + Unpin> Io for T {}

/// A connection to an upstream, or to the proxy that plain-HTTP requests to it go through.
pub struct UpstreamConnection {
    io: Box<dyn Io>,
    to_proxy: bool,
}

impl UpstreamConnection {
    fn new(io: impl Io + 'static, to_proxy: bool) -> Self {
        Self {
            io: Box::new(io),
            to_proxy,
        }
    }
}

impl Connection for UpstreamConnection {
    fn connected(&self) -> Connected {
        // A proxied connection makes hyper send requests in absolute form.
        self.io.connected().proxy(self.to_proxy)
    }
}

impl Read for UpstreamConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl Write for UpstreamConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }
}
