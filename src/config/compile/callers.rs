//! Compiling `auth:` and `rate_limits:` (and per-tool `rate_limit`s).

use super::Compiler;
use crate::auth::Authenticator;
use crate::auth::api_key::{self, ApiKey};
use crate::auth::jwt::{ClaimMapping, ClaimRule, JwtVerifier, KeySource};
use crate::caller::ToolFilter;
use crate::config::ServerSettings;
use crate::config::model::{AuthSection, JwtSection, RateLimitsSection, RateSection, Text};
use crate::limit::redis::{OnRedisError, RedisLimiter};
use crate::limit::{Limit, Rate, RateLimits};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use serde_saphyr::Spanned;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

const DEFAULT_TIER: &str = "standard";
const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(60);

impl Compiler<'_> {
    /// The rate-limit section; also returns the default tier for the auth section.
    pub(super) fn rate_limits(
        &mut self,
        section: Option<&Spanned<RateLimitsSection>>,
    ) -> RateLimits {
        let default = RateLimitsSection::default();
        let section_at = section.map(|s| s.referenced);
        let section = section.map_or(&default, |s| &s.value);
        let default_tier = section
            .default_tier
            .as_ref()
            .and_then(|t| self.text(t))
            .unwrap_or_else(|| DEFAULT_TIER.into());
        let mut tiers = HashMap::new();
        for (name, rate) in &section.tiers {
            if let Some(rate) = self.rate(rate) {
                let scope = format!("tier:{name}");
                tiers.insert(name.clone(), Limit::new(scope, rate));
            }
        }
        if !section.tiers.is_empty() && !section.tiers.contains_key(&default_tier) {
            let at = match (&section.default_tier, section_at) {
                (Some(t), _) => t.referenced,
                (None, Some(at)) => at,
                (None, None) => serde_saphyr::Location::UNKNOWN,
            };
            self.problem(
                &at,
                format!("default_tier '{default_tier}' is not one of rate_limits.tiers"),
            );
        }
        let backend = section
            .backend
            .as_ref()
            .and_then(|t| Some((self.text(t)?, t.referenced)));
        let redis = match backend {
            None => None,
            Some((name, _)) if name == "memory" => None,
            Some((name, _)) if name == "redis" => {
                let url = section
                    .redis_url
                    .as_ref()
                    .and_then(|t| self.text(t))
                    .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
                let on_error = match section
                    .on_redis_error
                    .as_ref()
                    .map(|t| (self.text(t), t.referenced))
                {
                    None => OnRedisError::Allow,
                    Some((Some(v), _)) if v == "allow" => OnRedisError::Allow,
                    Some((Some(v), _)) if v == "deny" => OnRedisError::Deny,
                    Some((value, at)) => {
                        self.problem(
                            &at,
                            format!(
                                "on_redis_error must be allow or deny, not '{}'",
                                value.unwrap_or_default()
                            ),
                        );
                        OnRedisError::Allow
                    }
                };
                Some(Arc::new(RedisLimiter::new(url, on_error)))
            }
            Some((name, at)) => {
                self.problem(
                    &at,
                    format!("backend must be memory or redis, not '{name}'"),
                );
                None
            }
        };
        RateLimits {
            default_tier,
            tiers,
            tools: HashMap::new(),
            redis,
        }
    }

    /// A rate; problems for zero values and bad durations.
    pub(super) fn rate(&mut self, section: &Spanned<RateSection>) -> Option<Rate> {
        let per = self.duration(&section.value.per);
        let requests = self.whole::<u32>(&section.value.requests, "requests");
        let burst = match &section.value.burst {
            Some(burst) => self.whole::<u32>(burst, "burst"),
            None => requests,
        };
        let (requests, burst) = (requests?, burst?);
        let (Some(requests), Some(burst)) = (NonZeroU32::new(requests), NonZeroU32::new(burst))
        else {
            self.problem(&section.referenced, "requests and burst must be at least 1");
            return None;
        };
        Some(Rate {
            requests,
            per: per?,
            burst,
        })
    }

    /// The auth section and, with JWTs, the RFC 9728 protected-resource metadata.
    pub(super) fn auth(
        &mut self,
        section: Option<&Spanned<AuthSection>>,
        limits: &RateLimits,
        server: &ServerSettings,
    ) -> (Authenticator, Option<Value>) {
        let mut auth = Authenticator {
            api_keys: Vec::new(),
            jwt: None,
            default_tier: limits.default_tier.clone(),
        };
        let Some(section) = section else {
            return (auth, None);
        };
        let at = section.referenced;
        let section = &section.value;
        if let Some(mode) = &section.mode {
            let value = self.text(mode).unwrap_or_default();
            if value == "none" {
                if !section.api_keys.is_empty() || section.jwt.is_some() {
                    self.problem(
                        &mode.referenced,
                        "mode: none cannot be combined with api_keys or jwt",
                    );
                }
                return (auth, None);
            }
            self.problem(
                &mode.referenced,
                format!("unknown auth mode '{value}': use none, or configure api_keys and/or jwt"),
            );
        }
        let mut ids = HashSet::new();
        let mut digests = HashSet::new();
        for key in &section.api_keys {
            let id = key.value.id.value.clone();
            if !ids.insert(id.clone()) {
                self.problem(
                    &key.value.id.referenced,
                    format!("API key id '{id}' is used twice"),
                );
            }
            let key_at = key.referenced;
            if let Some(key) = self.api_key(key, limits) {
                if !digests.insert(key.digest) {
                    self.problem(
                        &key_at,
                        format!("API key '{}' has the same key as another one", key.id),
                    );
                }
                auth.api_keys.push(key);
            }
        }
        let mut metadata = None;
        if let Some(jwt) = &section.jwt
            && let Some((verifier, doc)) = self.jwt(jwt, server)
        {
            auth.jwt = Some(verifier);
            metadata = Some(doc);
        }
        if auth.is_open() {
            self.problem(
                &at,
                "auth needs api_keys or jwt (or mode: none for an open gateway)",
            );
        }
        (auth, metadata)
    }

    fn api_key(&mut self, key: &Spanned<ApiKeySectionRef>, limits: &RateLimits) -> Option<ApiKey> {
        let section = &key.value;
        let id = section.id.value.clone();
        let digest = match (&section.key, &section.key_sha256) {
            (Some(text), None) => {
                let value = self.text(text)?;
                if value.len() < 16 {
                    self.problem(
                        &text.referenced,
                        format!("the key of '{id}' is shorter than 16 characters"),
                    );
                    return None;
                }
                api_key::digest(&value)
            }
            (None, Some(text)) => {
                let hex = self.text(text)?;
                match decode_hex32(hex.trim()) {
                    Some(digest) => digest,
                    None => {
                        self.problem(
                            &text.referenced,
                            "key_sha256 must be 64 hexadecimal characters",
                        );
                        return None;
                    }
                }
            }
            _ => {
                self.problem(
                    &key.referenced,
                    format!("API key '{id}' needs exactly one of key or key_sha256"),
                );
                return None;
            }
        };
        let org = section
            .org
            .as_ref()
            .and_then(|t| self.text(t))
            .unwrap_or_default();
        let tier = section
            .tier
            .as_ref()
            .and_then(|t| self.tier_name(t, limits))
            .unwrap_or_else(|| limits.default_tier.clone());
        let tools = match &section.tools {
            None => None,
            Some(patterns) => {
                let patterns: Vec<String> = patterns.iter().filter_map(|p| self.text(p)).collect();
                match ToolFilter::new(&patterns) {
                    Ok(filter) => Some(Arc::new(filter)),
                    Err(message) => {
                        self.problem(&key.referenced, message);
                        return None;
                    }
                }
            }
        };
        Some(ApiKey {
            id,
            digest,
            org,
            tier,
            tools,
        })
    }

    /// A tier name that must exist when tiers are configured.
    fn tier_name(&mut self, text: &Text, limits: &RateLimits) -> Option<String> {
        let name = self.text(text)?;
        if !limits.tiers.is_empty() && !limits.tiers.contains_key(&name) {
            self.problem(
                &text.referenced,
                format!("unknown tier '{name}': not in rate_limits.tiers"),
            );
        }
        Some(name)
    }

    fn jwt(
        &mut self,
        section: &Spanned<JwtSection>,
        server: &ServerSettings,
    ) -> Option<(JwtVerifier, Value)> {
        let jwt = &section.value;
        let issuer = self.text(&jwt.issuer)?;
        let audience = match &jwt.audience {
            Some(text) => self.text(text)?,
            None => match &server.public_url {
                Some(url) => url.as_str().trim_end_matches('/').to_owned(),
                None => {
                    self.problem(
                        &section.referenced,
                        "auth.jwt needs an audience (or set server.public_url)",
                    );
                    return None;
                }
            },
        };
        let source = match (&jwt.jwks_url, &jwt.hs256_secret) {
            (Some(url), None) => {
                let refresh_interval = match &jwt.jwks_refresh_interval {
                    Some(t) => self.duration(t)?,
                    None => DEFAULT_JWKS_REFRESH,
                };
                KeySource::Jwks {
                    url: self.text(url)?,
                    refresh_interval,
                }
            }
            (None, Some(secret)) => {
                let secret = self.text(secret)?;
                if secret.len() < 32 {
                    self.problem(
                        &jwt.hs256_secret.as_ref()?.referenced,
                        "hs256_secret must be at least 32 bytes",
                    );
                    return None;
                }
                KeySource::Hs256(secret.into_bytes())
            }
            _ => {
                self.problem(
                    &section.referenced,
                    "auth.jwt needs exactly one of jwks_url or hs256_secret",
                );
                return None;
            }
        };
        let default_algorithms = match source {
            KeySource::Jwks { .. } => vec![Algorithm::RS256],
            KeySource::Hs256(_) => vec![Algorithm::HS256],
        };
        let algorithms = match &jwt.algorithms {
            None => default_algorithms,
            Some(names) => {
                let mut algorithms = Vec::new();
                for name in names {
                    let value = self.text(name)?;
                    match Algorithm::from_str(&value) {
                        Ok(alg) => algorithms.push(alg),
                        Err(_) => self
                            .problem(&name.referenced, format!("unknown JWT algorithm '{value}'")),
                    }
                }
                algorithms
            }
        };
        let mut claim = |text: &Option<Text>, default: &str| {
            text.as_ref()
                .and_then(|t| self.text(t))
                .unwrap_or_else(|| default.into())
        };
        let mut claims = ClaimMapping {
            id: claim(&jwt.id_claim, "sub"),
            org: claim(&jwt.org_claim, "org"),
            tier: claim(&jwt.tier_claim, "tier"),
            scope: claim(&jwt.scope_claim, "scope"),
            rules: Vec::new(),
        };
        for rule in &jwt.tools_by_claim {
            let section = &rule.value;
            let patterns: Vec<String> = section.tools.iter().filter_map(|p| self.text(p)).collect();
            let (Some(claim), Some(equals)) =
                (self.text(&section.claim), self.text(&section.equals))
            else {
                continue;
            };
            match ToolFilter::new(&patterns) {
                Ok(filter) => claims.rules.push(ClaimRule {
                    claim,
                    equals,
                    tools: Arc::new(filter),
                }),
                Err(message) => self.problem(&rule.referenced, message),
            }
        }
        let scopes: Vec<String> = jwt
            .scopes_supported
            .iter()
            .filter_map(|s| self.text(s))
            .collect();
        let mut metadata = json!({
            "resource": audience,
            "authorization_servers": [issuer],
            "bearer_methods_supported": ["header"],
            "resource_name": "toolgate",
        });
        if !scopes.is_empty() {
            metadata["scopes_supported"] = json!(scopes);
        }
        Some((
            JwtVerifier::new(issuer, audience, algorithms, source, claims),
            metadata,
        ))
    }
}

type ApiKeySectionRef = crate::config::model::ApiKeySection;

fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
