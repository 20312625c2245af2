//! Compiling an upstream's `tls:` (roots and client certificate, read and checked now) and
//! `auth:` (client credentials, token exchange or identity assertion).

use super::Compiler;
use crate::config::model::{
    IdentityAssertionSection, OAuthClientSection, Text, UpstreamAuthSection, UpstreamTlsSection,
};
use crate::credentials::assertion::AssertionSettings;
use crate::credentials::token_endpoint::{ClientAuth, TokenEndpoint};
use crate::credentials::{AssertionSigner, ClientCredentials, TokenExchange, UpstreamAuth};
use crate::forward::client::TlsSettings;
use reqwest::header::HeaderName;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_saphyr::Spanned;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_ASSERTION_TTL: Duration = Duration::from_secs(60);
const DEFAULT_ASSERTION_HEADER: &str = "x-caller-assertion";

impl Compiler<'_> {
    /// The upstream's `tls:` settings, files read and checked; `None` after a problem.
    pub(super) fn tls_settings(
        &mut self,
        section: &Spanned<UpstreamTlsSection>,
    ) -> Option<TlsSettings> {
        let tls = &section.value;
        let mut settings = TlsSettings::default();
        let mut ok = true;
        if let Some(file) = &tls.ca_file {
            match self.pem_file(file, "ca_file") {
                Some(pem) if certificates(&pem) => settings.ca_pem = Some(pem),
                Some(_) => {
                    self.problem(&file.referenced, "ca_file holds no PEM certificate");
                    ok = false;
                }
                None => ok = false,
            }
        }
        match (&tls.client_cert_file, &tls.client_key_file) {
            (Some(cert_file), Some(key_file)) => {
                let cert = self.pem_file(cert_file, "client_cert_file");
                let key = self.pem_file(key_file, "client_key_file");
                if let Some(cert) = &cert
                    && !certificates(cert)
                {
                    self.problem(
                        &cert_file.referenced,
                        "client_cert_file holds no PEM certificate",
                    );
                    ok = false;
                }
                if let Some(key) = &key
                    && PrivateKeyDer::from_pem_slice(key).is_err()
                {
                    self.problem(
                        &key_file.referenced,
                        "client_key_file holds no PEM private key (PKCS#8, RSA or SEC1)",
                    );
                    ok = false;
                }
                match (cert, key) {
                    (Some(mut cert), Some(key)) => {
                        cert.push(b'\n');
                        cert.extend_from_slice(&key);
                        settings.identity_pem = Some(cert);
                    }
                    _ => ok = false,
                }
            }
            (None, None) => {}
            _ => {
                self.problem(
                    &section.referenced,
                    "tls needs both client_cert_file and client_key_file for a client certificate",
                );
                ok = false;
            }
        }
        ok.then_some(settings)
    }

    /// The contents of a PEM file named in the config (relative to that file); a problem
    /// when it cannot be read.
    fn pem_file(&mut self, file: &Text, what: &str) -> Option<Vec<u8>> {
        let path = self.text(file)?;
        let full = match &self.dir {
            Some(dir) => dir.join(&path),
            None => path.clone().into(),
        };
        match std::fs::read(&full) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                self.problem(
                    &file.referenced,
                    format!("{what} '{path}' cannot be read: {error}"),
                );
                None
            }
        }
    }

    /// The upstream's `auth:`; `None` after a problem.
    pub(super) fn upstream_auth(
        &mut self,
        name: &str,
        section: &Spanned<UpstreamAuthSection>,
    ) -> Option<UpstreamAuth> {
        let auth = &section.value;
        let forms = [
            auth.oauth2_client_credentials.is_some(),
            auth.token_exchange.is_some(),
            auth.identity_assertion.is_some(),
        ];
        if forms.iter().filter(|set| **set).count() != 1 {
            self.problem(
                &section.referenced,
                "auth needs exactly one of oauth2_client_credentials, token_exchange or identity_assertion",
            );
            return None;
        }
        if let Some(grant) = &auth.oauth2_client_credentials {
            let (endpoint, scopes, audience) = self.oauth_client(&grant.value)?;
            return Some(UpstreamAuth::ClientCredentials(Arc::new(
                ClientCredentials::new(name.to_owned(), endpoint, &scopes, audience),
            )));
        }
        if let Some(exchange) = &auth.token_exchange {
            if !self.jwt_callers {
                self.problem(
                    &exchange.referenced,
                    "token_exchange trades the caller's JWT: configure auth.jwt",
                );
                return None;
            }
            let (endpoint, scopes, audience) = self.oauth_client(&exchange.value)?;
            return Some(UpstreamAuth::TokenExchange(Arc::new(TokenExchange::new(
                name.to_owned(),
                endpoint,
                &scopes,
                audience,
            ))));
        }
        let assertion = auth.identity_assertion.as_ref()?;
        self.assertion(&assertion.value)
            .map(|signer| UpstreamAuth::IdentityAssertion(Arc::new(signer)))
    }

    /// A token endpoint with the gateway's client credentials, the scopes and the audience.
    fn oauth_client(
        &mut self,
        section: &OAuthClientSection,
    ) -> Option<(TokenEndpoint, Vec<String>, Option<String>)> {
        let url = self
            .text(&section.token_url)
            .and_then(|text| match Url::parse(text.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    self.problem(
                        &section.token_url.referenced,
                        format!("token_url '{text}' must be an http(s) URL"),
                    );
                    None
                }
            });
        let client_id = self.text(&section.client_id);
        let client_secret = self.text(&section.client_secret);
        if client_secret.as_deref().is_some_and(str::is_empty) {
            self.problem(&section.client_secret.referenced, "client_secret is empty");
        }
        let client_auth = match &section.client_auth {
            None => Some(ClientAuth::Basic),
            Some(text) => match self.text(text).as_deref() {
                Some("basic") => Some(ClientAuth::Basic),
                Some("post") => Some(ClientAuth::Post),
                Some(other) => {
                    self.problem(
                        &text.referenced,
                        format!("client_auth must be basic or post, not '{other}'"),
                    );
                    None
                }
                None => None,
            },
        };
        let timeout = match &section.timeout {
            Some(t) => self.duration(t),
            None => Some(DEFAULT_TOKEN_TIMEOUT),
        };
        let scopes: Vec<String> = section.scopes.iter().filter_map(|s| self.text(s)).collect();
        let audience = match &section.audience {
            Some(text) => Some(self.text(text)?),
            None => None,
        };
        let client_secret = client_secret.filter(|s| !s.is_empty())?;
        let endpoint = TokenEndpoint::new(url?, client_id?, client_secret, client_auth?, timeout?);
        Some((endpoint, scopes, audience))
    }

    fn assertion(&mut self, section: &IdentityAssertionSection) -> Option<AssertionSigner> {
        let header = match &section.header {
            None => Some(HeaderName::from_static(DEFAULT_ASSERTION_HEADER)),
            Some(text) => {
                let value = self.text(text)?;
                let header = HeaderName::from_bytes(value.as_bytes()).ok();
                if header.is_none() {
                    self.problem(
                        &text.referenced,
                        format!("'{value}' is not a valid header name"),
                    );
                }
                header
            }
        };
        let ttl = match &section.ttl {
            Some(t) => self.duration(t),
            None => Some(DEFAULT_ASSERTION_TTL),
        };
        let issuer = self.text(&section.issuer);
        let audience = self.text(&section.audience);
        let key_id = match &section.key_id {
            Some(text) => Some(self.text(text)?),
            None => None,
        };
        let pem = self.pem_file(&section.signing_key_file, "signing_key_file")?;
        let settings = AssertionSettings {
            header: header?,
            issuer: issuer?,
            audience: audience?,
            ttl: ttl?,
            key_id,
        };
        match AssertionSigner::new(settings, &pem) {
            Ok(signer) => Some(signer),
            Err(message) => {
                self.problem(
                    &section.signing_key_file.referenced,
                    format!("signing_key_file: {message}"),
                );
                None
            }
        }
    }
}

/// Whether `pem` holds at least one certificate, and nothing unreadable.
fn certificates(pem: &[u8]) -> bool {
    let mut found = false;
    for cert in CertificateDer::pem_slice_iter(pem) {
        match cert {
            Ok(_) => found = true,
            Err(_) => return false,
        }
    }
    found
}
