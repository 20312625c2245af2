//! Compiling an upstream's egress: `proxy:` (a URL, or `from_env`) with its `no_proxy:` rules,
//! and the client of its own that an upstream with a proxy or `tls:` settings gets.

use super::Compiler;
use crate::config::model::UpstreamSection;
use crate::forward::client::{self, ProxySetting};
use url::Url;

/// The `proxy:` value that turns the environment's proxy variables on.
const FROM_ENV: &str = "from_env";

impl Compiler<'_> {
    /// The upstream's own client when it has `tls:` settings or a proxy (`Some(None)`: it uses
    /// the shared client); `None` after a problem.
    pub(super) fn upstream_client(
        &mut self,
        name: &str,
        section: &UpstreamSection,
    ) -> Option<Option<client::UpstreamClient>> {
        let tls = section.tls.as_ref().map(|tls| self.tls_settings(tls));
        let proxy = self.proxy_setting(name, section)?;
        let tls = match tls {
            Some(settings) => Some(settings?),
            None if proxy == ProxySetting::Direct => return Some(None),
            None => None,
        };
        match client::UpstreamClient::build(&tls.unwrap_or_default(), &proxy, self.allow_link_local)
        {
            Ok(client) => Some(Some(client)),
            Err(error) => {
                let at = match (&section.tls, &section.proxy) {
                    (Some(tls), _) => tls.referenced,
                    (None, Some(proxy)) => proxy.referenced,
                    (None, None) => section.base_url.referenced,
                };
                self.problem(
                    &at,
                    format!(
                        "the TLS or proxy settings of upstream '{name}' cannot be used: {error}"
                    ),
                );
                None
            }
        }
    }

    /// `proxy:` and `no_proxy:`; `None` after a problem (never quoting the URL, which may
    /// carry a password from the environment).
    fn proxy_setting(&mut self, name: &str, section: &UpstreamSection) -> Option<ProxySetting> {
        let Some(proxy) = &section.proxy else {
            if let Some(rule) = section.no_proxy.first() {
                self.problem(
                    &rule.referenced,
                    format!("no_proxy of upstream '{name}' needs a proxy: URL"),
                );
                return None;
            }
            return Some(ProxySetting::Direct);
        };
        let text = self.text(proxy)?;
        if text.trim() == FROM_ENV {
            if let Some(rule) = section.no_proxy.first() {
                self.problem(
                    &rule.referenced,
                    format!("upstream '{name}' takes its proxy from the environment: put these rules in NO_PROXY"),
                );
                return None;
            }
            return Some(ProxySetting::FromEnv);
        }
        let url = match Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
            _ => {
                self.problem(
                    &proxy.referenced,
                    format!("proxy of upstream '{name}' must be an http(s) URL such as http://proxy.internal:3128, or from_env"),
                );
                return None;
            }
        };
        let what = format!("proxy of upstream '{name}'");
        if self.refuses_literal_host(&url, &proxy.referenced, &what) {
            return None;
        }
        let mut rules = Vec::with_capacity(section.no_proxy.len());
        for rule in &section.no_proxy {
            let value = self.text(rule)?;
            let value = value.trim();
            if value.is_empty() || value.contains([',', ' ', '/']) && !is_cidr(value) {
                self.problem(
                    &rule.referenced,
                    "a no_proxy rule is a host name, a .domain or *.domain, an IP address, a CIDR range or *",
                );
                return None;
            }
            rules.push(
                value
                    .strip_prefix("*.")
                    .map_or(value.to_owned(), |d| format!(".{d}")),
            );
        }
        Some(ProxySetting::Via {
            url: url.to_string(),
            no_proxy: rules.join(","),
        })
    }
}

/// Whether `rule` is an IP range such as `10.0.0.0/8` or `fd00::/8`.
fn is_cidr(rule: &str) -> bool {
    rule.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok()
    })
}
