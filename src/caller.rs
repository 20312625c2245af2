//! Who is calling: the identity templates and limits see.

use serde_json::Value;

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
}

impl Caller {
    /// The caller on an open gateway: `id` is `anonymous`, `tier` the default tier.
    pub fn anonymous(default_tier: &str) -> Self {
        Self {
            id: "anonymous".into(),
            org: String::new(),
            tier: default_tier.into(),
            claims: Value::Null,
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
