//! Client keys: 256-bit random secrets shown once and stored only as SHA-256 hashes (a fast
//! hash is enough for secrets with 256 bits of entropy: there is nothing to brute-force), and
//! each key's grants and limits. Everything not granted is denied.

use crate::error::{Error, Result};
use crate::store::Db;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The endpoints a key may be granted.
pub const ENDPOINTS: [&str; 3] = ["chat", "completions", "embeddings"];
/// The scopes a key may be granted.
pub const SCOPES: [&str; 3] = ["logprobs", "tools", "stream"];

/// A key's grants and limits (what `rampart keys create` asks for).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Who the key belongs to.
    pub owner: String,
    /// Models it may use (`*` for all configured models).
    #[serde(default)]
    pub models: Vec<String>,
    /// Endpoints: chat, completions, embeddings.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Scopes: logprobs (logprobs/top_logprobs), tools (tools/functions), stream.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens per minute.
    pub tpm: Option<u64>,
    /// Tokens per UTC day.
    pub tokens_per_day: Option<u64>,
    /// Tokens per UTC month.
    pub tokens_per_month: Option<u64>,
    /// Largest request body, bytes.
    pub max_body_bytes: Option<usize>,
    /// Expiry (Unix seconds).
    pub expires_at: Option<i64>,
    /// Free-form tags (select guards, label metrics).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl KeySpec {
    /// Reject grants the gateway does not know (a typo must not silently grant nothing or
    /// everything).
    pub fn validate(&self) -> Result<()> {
        if self.owner.trim().is_empty() {
            return Err(Error::Keys("a key needs an owner".into()));
        }
        for e in &self.endpoints {
            if !ENDPOINTS.contains(&e.as_str()) {
                return Err(Error::Keys(format!(
                    "unknown endpoint `{e}` (one of {})",
                    ENDPOINTS.join(", ")
                )));
            }
        }
        for s in &self.scopes {
            if !SCOPES.contains(&s.as_str()) {
                return Err(Error::Keys(format!(
                    "unknown scope `{s}` (one of {})",
                    SCOPES.join(", ")
                )));
            }
        }
        for t in self.tags.iter().chain(&self.models) {
            if t.is_empty() || t.len() > 128 || t.chars().any(|c| c.is_control()) {
                return Err(Error::Keys(
                    "tags and model names must be 1-128 printable characters".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Changes to a key: each field given replaces the key's value (lists replace whole lists).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// New models.
    pub models: Option<Vec<String>>,
    /// New endpoints.
    pub endpoints: Option<Vec<String>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens per minute.
    pub tpm: Option<u64>,
    /// Tokens per UTC day.
    pub tokens_per_day: Option<u64>,
    /// Tokens per UTC month.
    pub tokens_per_month: Option<u64>,
    /// Largest request body.
    pub max_body_bytes: Option<usize>,
    /// Expiry (Unix seconds).
    pub expires_at: Option<i64>,
    /// New tags.
    pub tags: Option<Vec<String>>,
}

impl KeyPatch {
    fn apply(&self, s: &mut KeySpec) {
        let set = |dst: &mut Vec<String>, src: &Option<Vec<String>>| {
            if let Some(v) = src {
                dst.clone_from(v);
            }
        };
        set(&mut s.models, &self.models);
        set(&mut s.endpoints, &self.endpoints);
        set(&mut s.scopes, &self.scopes);
        set(&mut s.tags, &self.tags);
        s.rpm = self.rpm.or(s.rpm);
        s.tpm = self.tpm.or(s.tpm);
        s.tokens_per_day = self.tokens_per_day.or(s.tokens_per_day);
        s.tokens_per_month = self.tokens_per_month.or(s.tokens_per_month);
        s.max_body_bytes = self.max_body_bytes.or(s.max_body_bytes);
        s.expires_at = self.expires_at.or(s.expires_at);
    }
}

/// A stored key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyRecord {
    /// Public identifier (`key_` + 16 hex), safe to log.
    pub id: String,
    /// Grants and limits.
    #[serde(flatten)]
    pub spec: KeySpec,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
    /// Last rotation time.
    pub rotated_at: Option<i64>,
}

impl KeyRecord {
    /// May this key call `model`?
    pub fn allows_model(&self, model: &str) -> bool {
        self.spec.models.iter().any(|m| m == "*" || m == model)
    }

    /// May it call this endpoint?
    pub fn allows_endpoint(&self, endpoint: &str) -> bool {
        self.spec.endpoints.iter().any(|e| e == endpoint)
    }

    /// Does it hold this scope?
    pub fn has_scope(&self, scope: &str) -> bool {
        self.spec.scopes.iter().any(|s| s == scope)
    }

    /// Usable at `now`?
    pub fn active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.spec.expires_at.is_none_or(|e| now < e)
    }

    /// First tag, for metric labels (bounded cardinality: tags are chosen by operators).
    pub fn metric_tag(&self) -> &str {
        self.spec.tags.first().map_or("none", String::as_str)
    }
}

/// A new secret: `rk-` and 43 base64url characters (32 random bytes).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    let s = format!(
        "rk-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    );
    zeroize::Zeroize::zeroize(&mut b);
    s
}

/// A new key id.
pub fn new_id() -> String {
    let mut b = [0u8; 8];
    OsRng.fill_bytes(&mut b);
    format!("key_{}", hex::encode(b))
}

/// What is stored of a secret.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Keys by secret hash, with a cache in front of the database. The cache is dropped whenever
/// the database changes (SQLite's `data_version`, PostgreSQL's change counter), so a
/// revocation from the CLI or another instance takes effect within the poll interval, and at
/// once through the admin API of this instance.
pub struct KeyStore {
    db: Db,
    cache: RwLock<HashMap<[u8; 32], Arc<KeyRecord>>>,
}

impl KeyStore {
    /// Over a database.
    pub fn new(db: Db) -> KeyStore {
        KeyStore {
            db,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The key a presented secret belongs to (active or not: the caller decides).
    pub async fn lookup(&self, secret: &str) -> Result<Option<Arc<KeyRecord>>> {
        let h = secret_hash(secret);
        if let Ok(c) = self.cache.read()
            && let Some(k) = c.get(&h)
        {
            return Ok(Some(k.clone()));
        }
        let found = self.db.key_by_hash(&h).await?;
        if let Some(k) = &found {
            let k = Arc::new(k.clone());
            if let Ok(mut c) = self.cache.write() {
                if c.len() > 100_000 {
                    c.clear();
                }
                c.insert(h, k.clone());
            }
            return Ok(Some(k));
        }
        Ok(None)
    }

    /// Forget cached keys (after a change).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cache.write() {
            c.clear();
        }
    }

    /// Create a key; returns the record and its secret (shown once).
    pub async fn create(&self, spec: KeySpec, now: i64) -> Result<(KeyRecord, String)> {
        spec.validate()?;
        let rec = KeyRecord {
            id: new_id(),
            spec,
            created_at: now,
            revoked_at: None,
            rotated_at: None,
        };
        let secret = new_secret();
        self.db.insert_key(&rec, &secret_hash(&secret)).await?;
        self.invalidate();
        Ok((rec, secret))
    }

    /// All keys.
    pub async fn list(&self) -> Result<Vec<KeyRecord>> {
        self.db.list_keys().await
    }

    /// Revoke a key.
    pub async fn revoke(&self, id: &str, now: i64) -> Result<()> {
        self.db.revoke_key(id, now).await?;
        self.invalidate();
        Ok(())
    }

    /// Change an active key's grants and limits; running gateways apply them to the next
    /// request (the secret is unchanged). `patch` holds the fields to change.
    pub async fn update(&self, id: &str, patch: &KeyPatch) -> Result<KeyRecord> {
        let mut rec = self
            .db
            .key_by_id(id)
            .await?
            .ok_or_else(|| Error::Keys(format!("no key `{id}` (see `rampart keys list`)")))?;
        patch.apply(&mut rec.spec);
        rec.spec.validate()?;
        self.db.update_key(id, &rec.spec).await?;
        self.invalidate();
        Ok(rec)
    }

    /// Replace a key's secret (the old one stops working at once); returns the new secret.
    pub async fn rotate(&self, id: &str, now: i64) -> Result<String> {
        let secret = new_secret();
        self.db.rotate_key(id, &secret_hash(&secret), now).await?;
        self.invalidate();
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_long() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }

    #[test]
    fn grants_deny_by_default() {
        let k = KeyRecord {
            id: "key_1".into(),
            spec: KeySpec {
                owner: "o".into(),
                ..Default::default()
            },
            created_at: 0,
            revoked_at: None,
            rotated_at: None,
        };
        assert!(!k.allows_model("m"));
        assert!(!k.allows_endpoint("chat"));
        assert!(!k.has_scope("logprobs"));
        let bad = KeySpec {
            owner: "o".into(),
            endpoints: vec!["chats".into()],
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("unknown endpoint")
        );
        let expired = KeyRecord {
            spec: KeySpec {
                expires_at: Some(10),
                ..k.spec.clone()
            },
            ..k
        };
        assert!(expired.active(9) && !expired.active(10));
    }
}
