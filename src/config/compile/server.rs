//! Compiling `server:` and `admin:`: listen address, origins and hosts, sessions, reload.

use super::Compiler;
use crate::config::model::{AdminSection, ServerSection, Text};
use crate::config::{ServerSettings, WatchSettings};
use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};
use url::Url;

const DEFAULT_LISTEN: &str = "127.0.0.1:8766";
const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_PAGE_SIZE: usize = 50;
const DEFAULT_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(200);
/// The session signing key when `server.session_secret` is not set (see
/// [`Compiler::derive_session_secret`]).
pub(super) const DEFAULT_SESSION_SECRET: &[u8] = b"toolgate-session-v1";

impl Compiler<'_> {
    /// The SHA-256 of `admin.key`, when the admin endpoints are on.
    pub(super) fn admin_key(
        &mut self,
        section: Option<&Spanned<AdminSection>>,
    ) -> Option<[u8; 32]> {
        let section = section?;
        let key = self.text(&section.value.key)?;
        if key.len() < 16 {
            self.problem(
                &section.value.key.referenced,
                "admin.key must be at least 16 characters",
            );
            return None;
        }
        Some(crate::auth::api_key::digest(&key))
    }

    pub(super) fn server(&mut self, section: Option<&ServerSection>) -> ServerSettings {
        let default = ServerSection::default();
        let section = section.unwrap_or(&default);
        let listen = section
            .listen
            .as_ref()
            .and_then(|t| {
                let value = self.text(t)?;
                match listen_problem(&value) {
                    None => Some(value),
                    Some(why) => {
                        self.problem(&t.referenced, format!("server.listen '{value}' {why}"));
                        None
                    }
                }
            })
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let public_url = section.public_url.as_ref().and_then(|text| {
            let value = self.text(text)?;
            match Url::parse(&value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    self.problem(
                        &text.referenced,
                        format!("public_url '{value}' is not an http(s) URL"),
                    );
                    None
                }
            }
        });
        let lower_list = |me: &mut Self, items: &[Text]| -> Vec<String> {
            items
                .iter()
                .filter_map(|t| me.text(t))
                .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect()
        };
        let allowed_origins = lower_list(self, &section.allowed_origins);
        let allowed_hosts = lower_list(self, &section.allowed_hosts);
        let session_secret = section
            .session_secret
            .as_ref()
            .and_then(|t| self.text(t))
            .map_or_else(|| DEFAULT_SESSION_SECRET.to_vec(), String::into_bytes);
        let reload = WatchSettings {
            watch_files: section.reload.watch.unwrap_or(true),
            poll_interval: section
                .reload
                .poll_interval
                .as_ref()
                .and_then(|t| self.duration(t)),
            debounce: section
                .reload
                .debounce
                .as_ref()
                .and_then(|t| self.duration(t))
                .unwrap_or(DEFAULT_DEBOUNCE),
        };
        let max_body_bytes = self
            .whole_or(
                &section.max_body_bytes,
                "max_body_bytes",
                DEFAULT_MAX_BODY_BYTES,
            )
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let page_size = self
            .whole_or(&section.page_size, "page_size", DEFAULT_PAGE_SIZE)
            .unwrap_or(DEFAULT_PAGE_SIZE);
        ServerSettings {
            reload,
            allow_link_local: section.allow_link_local_upstreams,
            listen,
            public_url,
            max_body_bytes,
            allowed_origins,
            allowed_hosts,
            page_size: page_size.max(1),
            session_secret,
        }
    }

    /// Without a configured `session_secret`, derives one from the API keys' digests, which
    /// are secret, the same for every replica serving this config, and stable across reloads
    /// that keep the keys.
    pub(super) fn derive_session_secret(
        &self,
        server: &mut ServerSettings,
        auth: &crate::auth::Authenticator,
    ) {
        if server.session_secret != DEFAULT_SESSION_SECRET || auth.api_keys.is_empty() {
            return;
        }
        let mut hasher = Sha256::new();
        hasher.update(DEFAULT_SESSION_SECRET);
        for key in &auth.api_keys {
            hasher.update(key.digest);
        }
        server.session_secret = hasher.finalize().to_vec();
    }
}

/// Why a `server.listen` value cannot be listened on, if it cannot: it must be `host:port`
/// (an IP address, `[IPv6]` or a host name) with a port from 1 to 65535.
fn listen_problem(value: &str) -> Option<&'static str> {
    let Some((host, port)) = value.rsplit_once(':') else {
        return Some("must be host:port, e.g. 0.0.0.0:8766");
    };
    if !matches!(port.parse::<u16>(), Ok(1..)) {
        return Some("needs a port from 1 to 65535, e.g. 0.0.0.0:8766");
    }
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        host.parse::<std::net::Ipv4Addr>().is_ok()
            || (!host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }))
    };
    (!host_ok).then_some(
        "has no valid host: write an IP address, [IPv6 address] or host name before the port",
    )
}

#[cfg(test)]
mod tests {
    use super::listen_problem;

    #[test]
    fn listen_values() {
        for good in [
            "0.0.0.0:8766",
            "127.0.0.1:1",
            "[::1]:8766",
            "localhost:80",
            "gw-1.internal:65535",
        ] {
            assert_eq!(listen_problem(good), None, "{good}");
        }
        for bad in [
            "not-an-address",
            "127.0.0.1:99999",
            "127.0.0.1:0",
            ":8766",
            "[::1:80",
            "a b:80",
            "1.2.3.4:x",
        ] {
            assert!(listen_problem(bad).is_some(), "{bad}");
        }
    }
}
