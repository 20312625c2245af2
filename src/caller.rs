//! Who is calling: the identity templates and limits see.

use serde_json::Value;
use std::sync::Arc;

/// A tool allow-list: glob patterns such as `crm_*`.
#[derive(Clone, Debug)]
pub struct ToolFilter {
    set: globset::GlobSet,
    patterns: Vec<String>,
}

impl ToolFilter {
    /// Compiles glob patterns; the error names the bad pattern.
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let mut builder = globset::GlobSetBuilder::new();
        for pattern in patterns {
            let glob = globset::Glob::new(pattern)
                .map_err(|e| format!("invalid tool pattern '{pattern}': {e}"))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            set,
            patterns: patterns.to_vec(),
        })
    }

    /// Whether `tool` matches a pattern.
    pub fn allows(&self, tool: &str) -> bool {
        self.set.is_match(tool)
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

/// How a caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// An open gateway: nobody authenticated.
    Anonymous,
    /// A configured API key.
    ApiKey,
    /// A verified JWT.
    Jwt,
}

/// The caller's bearer token (JWT callers only), kept for a token exchange. Never shown:
/// its `Debug` is `***`, and it is never forwarded upstream.
#[derive(Clone)]
pub struct BearerToken(Arc<str>);

impl BearerToken {
    /// Wraps a verified token.
    pub fn new(token: &str) -> Self {
        Self(Arc::from(token))
    }

    /// The token itself, for the `subject_token` of an exchange only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Whether a caller may use a tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// It may see and call it.
    Allowed,
    /// Outside its allow-list: as if the tool did not exist.
    Hidden,
    /// A JWT caller whose token lacks these of the tool's required scopes.
    MissingScopes(Vec<String>),
}

/// An authenticated (or anonymous) caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Name in logs, metrics and `{{caller.id}}`; never a key or token.
    pub id: String,
    /// Organisation, for `{{caller.org}}` (empty when unknown).
    pub org: String,
    /// Rate-limit tier, for `{{caller.tier}}`.
    pub tier: String,
    /// JWT claims, for `{{caller.claims.X}}` (`null` for other callers).
    pub claims: Value,
    /// The tools this caller may see and call: those any of these filters allows (`None`:
    /// all).
    pub tools: Option<Vec<Arc<ToolFilter>>>,
    /// How it authenticated.
    pub kind: CallerKind,
    /// The scopes of its token (JWT callers).
    pub scopes: Vec<String>,
    /// Its token (JWT callers), for a token exchange.
    pub token: Option<BearerToken>,
}

impl Caller {
    /// The caller on an open gateway: `id` is `anonymous`, `tier` the default tier.
    pub fn anonymous(default_tier: &str) -> Self {
        Self {
            id: "anonymous".into(),
            org: String::new(),
            tier: default_tier.into(),
            claims: Value::Null,
            tools: None,
            kind: CallerKind::Anonymous,
            scopes: Vec::new(),
            token: None,
        }
    }

    /// Whether this caller's allow-list lets it see and call `tool`.
    pub fn may_use(&self, tool: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|filters| filters.iter().any(|f| f.allows(tool)))
    }

    /// Whether this caller sees every tool: no allow-list, and not a JWT caller (whose token's
    /// scopes may hide tools that require others).
    pub fn sees_every_tool(&self) -> bool {
        self.tools.is_none() && self.kind != CallerKind::Jwt
    }

    /// Whether this caller may see and call the tool `name` that requires `required_scopes`:
    /// the one decision behind both listing and calling. Scopes bind JWT callers only.
    pub fn access(&self, name: &str, required_scopes: &[String]) -> Access {
        if self.sees_every_tool() {
            return Access::Allowed;
        }
        if !self.may_use(name) {
            return Access::Hidden;
        }
        if self.kind != CallerKind::Jwt {
            return Access::Allowed;
        }
        let missing: Vec<String> = required_scopes
            .iter()
            .filter(|s| !self.scopes.contains(s))
            .cloned()
            .collect();
        if missing.is_empty() {
            Access::Allowed
        } else {
            Access::MissingScopes(missing)
        }
    }

    /// The key of this caller's rate-limit buckets: API keys and JWT subjects live in
    /// separate namespaces, so a `sub` equal to a key id never shares its bucket.
    pub fn limit_key(&self) -> String {
        match self.kind {
            CallerKind::Anonymous => "anonymous".to_owned(),
            CallerKind::ApiKey => format!("key:{}", self.id),
            CallerKind::Jwt => format!("jwt:{}", self.id),
        }
    }

    /// The `caller` label of the metrics, whose values stay bounded by the config: an API key's
    /// id, `anonymous` on an open gateway (or the console's caller), and for JWT callers
    /// (whose subjects have no bound) `jwt:<org>`, or `jwt` when the token names no org.
    pub fn metrics_label(&self) -> String {
        if self.claims.is_null() {
            self.id.clone()
        } else if self.org.is_empty() {
            "jwt".to_owned()
        } else {
            format!("jwt:{}", self.org)
        }
    }

    /// The value of `caller.<path>`, or `None` when absent.
    pub fn field(&self, path: &[String]) -> Option<Value> {
        let (first, rest) = path.split_first()?;
        match (first.as_str(), rest) {
            ("id", []) => Some(Value::String(self.id.clone())),
            ("org", []) => Some(Value::String(self.org.clone())),
            ("tier", []) => Some(Value::String(self.tier.clone())),
            ("claims", rest) => {
                let mut node = &self.claims;
                for key in rest {
                    node = node.get(key)?;
                }
                Some(node.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_labels_name_keys_and_orgs_never_token_subjects() {
        let key = Caller {
            id: "ops".into(),
            ..Caller::anonymous("standard")
        };
        assert_eq!(key.metrics_label(), "ops");
        assert_eq!(Caller::anonymous("standard").metrics_label(), "anonymous");
        let mut jwt = Caller {
            id: "user-4711".into(),
            claims: serde_json::json!({ "sub": "user-4711" }),
            ..Caller::anonymous("standard")
        };
        assert_eq!(jwt.metrics_label(), "jwt");
        jwt.org = "acme".into();
        assert_eq!(jwt.metrics_label(), "jwt:acme");
    }
}
