//! API keys: SHA-256 digests compared in constant time.

use crate::caller::{Caller, ToolFilter};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// One configured API key. The key itself is not kept, only its SHA-256 digest.
#[derive(Clone)]
pub struct ApiKey {
    /// The caller's name in logs and metrics.
    pub id: String,
    /// SHA-256 of the key.
    pub digest: [u8; 32],
    /// Organisation, for `{{caller.org}}`.
    pub org: String,
    /// Rate-limit tier.
    pub tier: String,
    /// Tools this key may see and call (`None`: all).
    pub tools: Option<Arc<ToolFilter>>,
}

/// SHA-256 of a key.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The caller whose key matches `presented`. Every configured key is compared (in constant
/// time), so the time taken does not depend on which key matched or how much of it did.
pub fn find(keys: &[ApiKey], presented: &str) -> Option<Caller> {
    let presented = digest(presented);
    let mut found = None;
    for key in keys {
        if bool::from(key.digest.ct_eq(&presented)) && found.is_none() {
            found = Some(key);
        }
    }
    found.map(ApiKey::caller)
}

impl ApiKey {
    /// The caller this key authenticates.
    pub fn caller(&self) -> Caller {
        Caller {
            id: self.id.clone(),
            org: self.org.clone(),
            tier: self.tier.clone(),
            claims: serde_json::Value::Null,
            tools: self.tools.clone().map(|filter| vec![filter]),
            kind: crate::caller::CallerKind::ApiKey,
            scopes: Vec::new(),
            token: None,
        }
    }
}
