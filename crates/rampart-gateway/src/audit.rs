//! The audit log: one record per request, hash-chained, with periodic Ed25519-signed
//! checkpoints.
//!
//! Row hash = SHA-256("rampart-audit-v1" 0x00 seq(8 bytes, big-endian) prev-hash(32) body).
//! A modified body, a deleted, inserted or reordered row breaks the chain at that row; a
//! checkpoint signs (seq, hash, time) so the chain cannot be rewritten wholesale without the
//! signing key. Retention deletes rows up to a checkpoint and keeps that checkpoint as the
//! anchor the remaining chain starts from.
//!
//! Durability: records are written by one writer task in group commits (everything queued
//! while the previous commit ran goes into the next transaction). A request's response is
//! released only after the commit holding its record returned. With `sync = "full"` SQLite
//! fsyncs the WAL at each commit (survives power loss); with `"normal"` a commit survives a
//! crash of the gateway process (the OS holds the pages) but not of the machine.

use crate::error::{Error, Result};
use crate::store::{Checkpoint, Db};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A guard's verdict in a record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GuardVerdict {
    /// Guard name.
    pub guard: String,
    /// input or output.
    pub stage: String,
    /// pass, flag, redact, pseudonymise, block, skipped, error.
    pub verdict: String,
    /// What was found (types and counts, never the text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// Time spent, microseconds.
    #[serde(default)]
    pub micros: u64,
}

/// One request's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// RFC 3339 time the request arrived.
    pub time: String,
    /// Unix milliseconds (indexing, retention).
    pub ts_ms: i64,
    /// Request id (also in the `x-request-id` header).
    pub request_id: String,
    /// Key id ("" when the request carried no valid key).
    pub key_id: String,
    /// Route (chat, completions, embeddings, models).
    pub route: String,
    /// Requested model.
    #[serde(default)]
    pub model: String,
    /// Upstream that answered.
    #[serde(default)]
    pub upstream: String,
    /// HTTP status sent to the client.
    pub status: u16,
    /// Why a request was refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Streamed response.
    #[serde(default)]
    pub stream: bool,
    /// Upstream attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// Prompt tokens (upstream's count, or the estimate when it gave none).
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// True when token counts are the gateway's estimate.
    #[serde(default)]
    pub tokens_estimated: bool,
    /// Time in the gateway, milliseconds (total minus upstream).
    pub gateway_ms: f64,
    /// Time waiting for the upstream, milliseconds.
    pub upstream_ms: f64,
    /// SHA-256 of the request body.
    #[serde(default)]
    pub prompt_sha256: String,
    /// Request body size.
    #[serde(default)]
    pub prompt_bytes: u64,
    /// SHA-256 of the completion text (or response body).
    #[serde(default)]
    pub completion_sha256: String,
    /// Completion size.
    #[serde(default)]
    pub completion_bytes: u64,
    /// Every configured guard: verdict, or `skipped`.
    #[serde(default)]
    pub guards: Vec<GuardVerdict>,
    /// Model-extraction signals, when they crossed the alert score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<serde_json::Value>,
    /// Drift report of the input window this request completed (per route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<serde_json::Value>,
    /// Encrypted content (opt-in): hex of nonce || XChaCha20-Poly1305 ciphertext of
    /// `{"request": ..., "completion": ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// Row hash.
pub fn row_hash(seq: i64, prev_hex: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"rampart-audit-v1\0");
    h.update(seq.to_be_bytes());
    h.update(hex::decode(prev_hex).unwrap_or_default());
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

fn checkpoint_message(seq: i64, hash: &str, ts_ms: i64) -> String {
    format!("rampart-audit-checkpoint-v1\n{seq}\n{hash}\n{ts_ms}\n")
}

/// Sign a checkpoint over (seq, hash, time).
pub fn sign_checkpoint(key: &SigningKey, seq: i64, hash: &str, ts_ms: i64) -> Checkpoint {
    let sig = key.sign(checkpoint_message(seq, hash, ts_ms).as_bytes());
    Checkpoint {
        seq,
        hash: hash.to_string(),
        ts_ms,
        sig: hex::encode(sig.to_bytes()),
    }
}

/// Load the checkpoint signing key, creating it (0600) when absent.
pub fn load_or_create_signing_key(path: &Path) -> Result<SigningKey> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)?;
        return SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            Error::Audit(format!(
                "{}: not an Ed25519 PKCS#8 key: {e}",
                path.display()
            ))
        });
    }
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    zeroize::Zeroize::zeroize(&mut seed);
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| Error::Audit(format!("encode key: {e}")))?;
    write_private(path, pem.as_bytes())?;
    Ok(key)
}

/// Write a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// The public half, PEM.
pub fn public_pem(key: &SigningKey) -> Result<String> {
    key.verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|e| Error::Audit(format!("encode public key: {e}")))
}

/// Parse a public key (PEM).
pub fn parse_public(pem: &str) -> Result<VerifyingKey> {
    VerifyingKey::from_public_key_pem(pem)
        .map_err(|e| Error::Audit(format!("not an Ed25519 public key: {e}")))
}

/// Content encryption key (32 bytes from 64 hex characters).
pub struct ContentKey(XChaCha20Poly1305);

impl ContentKey {
    /// From hex text.
    pub fn from_hex(s: &str) -> Result<ContentKey> {
        let mut b = hex::decode(s.trim())
            .map_err(|_| Error::Config("audit content key: expected 64 hex characters".into()))?;
        if b.len() != 32 {
            return Err(Error::Config(
                "audit content key: expected 32 bytes (64 hex characters)".into(),
            ));
        }
        let k = XChaCha20Poly1305::new_from_slice(&b)
            .map_err(|_| Error::Config("audit content key".into()))?;
        zeroize::Zeroize::zeroize(&mut b);
        Ok(ContentKey(k))
    }

    /// Encrypt; hex of nonce || ciphertext. The request id is bound as associated data, so a
    /// ciphertext cannot be moved to another record.
    pub fn seal(&self, plain: &[u8], request_id: &str) -> Result<String> {
        let mut n = [0u8; 24];
        OsRng.fill_bytes(&mut n);
        let ct = self
            .0
            .encrypt(
                XNonce::from_slice(&n),
                chacha20poly1305::aead::Payload {
                    msg: plain,
                    aad: request_id.as_bytes(),
                },
            )
            .map_err(|_| Error::Audit("encryption failed".into()))?;
        let mut out = n.to_vec();
        out.extend_from_slice(&ct);
        Ok(hex::encode(out))
    }

    /// Decrypt what [`ContentKey::seal`] made.
    pub fn open(&self, sealed: &str, request_id: &str) -> Result<Vec<u8>> {
        let b = hex::decode(sealed).map_err(|_| Error::Audit("content: not hex".into()))?;
        let (n, ct) = b
            .split_at_checked(24)
            .ok_or_else(|| Error::Audit("content: too short".into()))?;
        self.0
            .decrypt(
                XNonce::from_slice(n),
                chacha20poly1305::aead::Payload {
                    msg: ct,
                    aad: request_id.as_bytes(),
                },
            )
            .map_err(|_| Error::Audit("content: wrong key or modified ciphertext".into()))
    }
}

type Ack = oneshot::Sender<Result<i64>>;

/// Handle on the writer task.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<(Record, Instant, Option<Ack>)>,
}

/// Writer statistics for metrics.
pub trait AuditObserver: Send + Sync + 'static {
    /// Seconds from enqueue to commit.
    fn write_lag(&self, secs: f64);
    /// A commit failed.
    fn write_error(&self);
}

impl AuditLog {
    /// Start the writer over `db` (use a dedicated connection for SQLite).
    pub async fn start(
        db: Db,
        key: SigningKey,
        every: u64,
        secs: u64,
        observer: std::sync::Arc<dyn AuditObserver>,
    ) -> Result<AuditLog> {
        let (tx, rx) = mpsc::channel(65_536);
        db.ping().await?;
        let (every, period) = (every.max(1), Duration::from_secs(secs.max(1)));
        if matches!(db, Db::Sqlite(_)) {
            // An empty write transaction: fails now, not at the first request, when the
            // database is read-only or locked.
            db.append_blocking(
                &[],
                &crate::store::CheckpointPolicy {
                    key: &key,
                    every: i64::MAX,
                    period_ms: i64::MAX,
                },
            )?;
            if let Some(path) = db.sqlite_path().map(std::path::Path::to_path_buf) {
                // A checkpoint fsyncs the database file. Done by the writer on commit (SQLite's
                // default) it stalls every request waiting on that commit; a separate thread
                // checkpoints small amounts often (PASSIVE: never blocks the writer), so the
                // WAL stays short and restarts whenever a checkpoint catches up.
                db.no_autocheckpoint()?;
                std::thread::Builder::new()
                    .name("rampart-wal".into())
                    .spawn(move || {
                        let Ok(c) = crate::store::open_sqlite(&path, true) else {
                            return;
                        };
                        let _ = c.pragma_update(None, "journal_size_limit", 64 << 20);
                        let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
                        loop {
                            std::thread::sleep(Duration::from_millis(50));
                            // Under steady load a PASSIVE checkpoint may never catch up with
                            // the writer; past 256 MiB a RESTART (a short pause for the writer)
                            // bounds the WAL.
                            let huge = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 256 << 20);
                            let sql = if huge {
                                "PRAGMA wal_checkpoint(RESTART)"
                            } else {
                                "PRAGMA wal_checkpoint(PASSIVE)"
                            };
                            if let Err(e) = c.query_row(sql, [], |_| Ok(())) {
                                tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                            }
                        }
                    })
                    .map_err(|e| Error::Audit(format!("cannot start the WAL checkpointer: {e}")))?;
            }
            std::thread::Builder::new()
                .name("rampart-audit".into())
                .spawn(move || sqlite_writer(db, key, every, period, rx, observer))
                .map_err(|e| Error::Audit(format!("cannot start the audit writer: {e}")))?;
            return Ok(AuditLog { tx });
        }
        tokio::spawn(pg_writer(db, key, every, period, rx, observer));
        Ok(AuditLog { tx })
    }

    /// Write a record and wait until it is durable; returns its seq.
    pub async fn write(&self, r: Record) -> Result<i64> {
        let (ack, wait) = oneshot::channel();
        self.tx
            .send((r, Instant::now(), Some(ack)))
            .await
            .map_err(|_| Error::Audit("audit writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Audit("audit writer stopped".into()))?
    }

    /// Is the writer alive?
    pub fn alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

type Item = (Record, Instant, Option<Ack>);

/// Take what is queued (up to 4096) after `first`: the group of one commit.
fn drain_batch(
    first: Item,
    rx: &mut mpsc::Receiver<Item>,
    batch: &mut Vec<Item>,
) -> Vec<(i64, String, String)> {
    batch.push(first);
    while batch.len() < 4096 {
        match rx.try_recv() {
            Ok(x) => batch.push(x),
            Err(_) => break,
        }
    }
    batch
        .iter()
        .map(|(r, _, _)| {
            (
                r.ts_ms,
                r.key_id.clone(),
                serde_json::to_string(r).unwrap_or_default(),
            )
        })
        .collect()
}

fn settle(batch: &mut Vec<Item>, res: Result<Vec<crate::store::Row>>, obs: &dyn AuditObserver) {
    match res {
        Ok(rows) => {
            for ((_, t, ack), row) in batch.drain(..).zip(&rows) {
                obs.write_lag(t.elapsed().as_secs_f64());
                if let Some(a) = ack {
                    let _ = a.send(Ok(row.seq));
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "audit commit failed; requests waiting on it are refused");
            obs.write_error();
            for (_, _, ack) in batch.drain(..) {
                if let Some(a) = ack {
                    let _ = a.send(Err(Error::Audit(format!("audit write failed: {e}"))));
                }
            }
        }
    }
}

/// SQLite: a dedicated thread owns the connection (one wake-up per group commit, no hop
/// through the blocking pool).
fn sqlite_writer(
    db: Db,
    key: SigningKey,
    every: u64,
    period: Duration,
    mut rx: mpsc::Receiver<Item>,
    obs: std::sync::Arc<dyn AuditObserver>,
) {
    let pol = crate::store::CheckpointPolicy {
        key: &key,
        every: every as i64,
        period_ms: period.as_millis() as i64,
    };
    let mut batch = Vec::with_capacity(1024);
    while let Some(first) = rx.blocking_recv() {
        let recs = drain_batch(first, &mut rx, &mut batch);
        let res = db.append_blocking(&recs, &pol);
        settle(&mut batch, res, obs.as_ref());
    }
}

/// PostgreSQL: an async task.
async fn pg_writer(
    db: Db,
    key: SigningKey,
    every: u64,
    period: Duration,
    mut rx: mpsc::Receiver<Item>,
    obs: std::sync::Arc<dyn AuditObserver>,
) {
    let pol = crate::store::CheckpointPolicy {
        key: &key,
        every: every as i64,
        period_ms: period.as_millis() as i64,
    };
    let mut batch = Vec::with_capacity(1024);
    while let Some(first) = rx.recv().await {
        let recs = drain_batch(first, &mut rx, &mut batch);
        let res = db.append_chain(&recs, &pol).await;
        settle(&mut batch, res, obs.as_ref());
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What verification found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: u64,
    /// Checkpoints whose signature verified.
    pub checkpoints: u64,
    /// First seq checked (after the prune anchor).
    pub first_seq: i64,
    /// Last seq.
    pub last_seq: i64,
    /// Rows after the last checkpoint (protected by the chain only).
    pub unsigned_tail: u64,
    /// Problems; empty when the log is intact.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Intact?
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verify the whole chain and every checkpoint against `public`.
pub async fn verify(db: &Db, public: &VerifyingKey) -> Result<VerifyReport> {
    let anchor = db.anchor().await?;
    let cps = db.checkpoints().await?;
    let mut problems = Vec::new();
    let mut cp_ok = std::collections::BTreeMap::new();
    for c in &cps {
        let good = hex::decode(&c.sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| {
                public
                    .verify(checkpoint_message(c.seq, &c.hash, c.ts_ms).as_bytes(), &sig)
                    .is_ok()
            });
        if good {
            cp_ok.insert(c.seq, c.hash.clone());
        } else {
            problems.push(format!("checkpoint at seq {}: bad signature", c.seq));
        }
    }
    let (mut seq, mut prev) = match &anchor {
        Some((s, h)) => {
            if cp_ok.get(s) != Some(h) {
                problems.push(format!(
                    "prune anchor at seq {s} is not a signed checkpoint"
                ));
            }
            (*s, h.clone())
        }
        None => (0, GENESIS.to_string()),
    };
    let first = seq + 1;
    let mut rows = 0u64;
    let mut last_signed = anchor.as_ref().map_or(0, |a| a.0);
    loop {
        let page = db.rows_after(seq, 10_000).await?;
        if page.is_empty() {
            break;
        }
        for r in page {
            rows += 1;
            if r.seq != seq + 1 {
                problems.push(format!(
                    "seq {}: expected seq {} (rows deleted or inserted)",
                    r.seq,
                    seq + 1
                ));
            }
            if r.prev != prev {
                problems.push(format!("seq {}: previous-hash link broken (a row before it was changed, deleted, inserted or reordered)", r.seq));
            }
            let h = row_hash(r.seq, &r.prev, &r.body);
            if h != r.hash {
                problems.push(format!("seq {}: record modified (hash mismatch)", r.seq));
            }
            match serde_json::from_str::<Record>(&r.body) {
                Ok(rec) if rec.ts_ms == r.ts_ms && rec.key_id == r.key_id => {}
                _ => problems.push(format!(
                    "seq {}: indexed columns disagree with the record",
                    r.seq
                )),
            }
            if let Some(ch) = cp_ok.get(&r.seq) {
                if *ch != r.hash {
                    problems.push(format!("seq {}: differs from its signed checkpoint", r.seq));
                }
                last_signed = r.seq;
            }
            seq = r.seq;
            prev = r.hash;
            if problems.len() > 1000 {
                problems.push("too many problems; stopped".into());
                return Ok(VerifyReport {
                    rows,
                    checkpoints: cp_ok.len() as u64,
                    first_seq: first,
                    last_seq: seq,
                    unsigned_tail: 0,
                    problems,
                });
            }
        }
    }
    if let Some((&s, _)) = cp_ok.iter().next_back()
        && s > seq
    {
        problems.push(format!("signed checkpoint at seq {s} but the log ends at seq {seq} (records deleted from the end)"));
    }
    Ok(VerifyReport {
        rows,
        checkpoints: cp_ok.len() as u64,
        first_seq: first,
        last_seq: seq,
        unsigned_tail: (seq - last_signed).max(0) as u64,
        problems,
    })
}

/// Records of one key (or all) within [from, to) milliseconds, as JSON lines.
pub async fn export(
    db: &Db,
    key_id: Option<&str>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    out: &mut dyn std::io::Write,
) -> Result<u64> {
    let mut seq = 0;
    let mut n = 0;
    loop {
        let page = db.rows_after(seq, 10_000).await?;
        if page.is_empty() {
            return Ok(n);
        }
        for r in page {
            seq = r.seq;
            if key_id.is_some_and(|k| k != r.key_id)
                || from_ms.is_some_and(|f| r.ts_ms < f)
                || to_ms.is_some_and(|t| r.ts_ms >= t)
            {
                continue;
            }
            writeln!(
                out,
                "{{\"seq\":{},\"hash\":\"{}\",\"record\":{}}}",
                r.seq, r.hash, r.body
            )?;
            n += 1;
        }
    }
}

/// Retention: delete records older than `cutoff_ms` up to the newest signed checkpoint at or
/// before them (so the remaining chain starts at a signed anchor). Returns rows deleted.
pub async fn prune(db: &Db, public: &VerifyingKey, cutoff_ms: i64) -> Result<u64> {
    let Some(last_old) = db.last_seq_before(cutoff_ms).await? else {
        return Ok(0);
    };
    let cps = db.checkpoints().await?;
    let cp = cps.iter().rev().find(|c| {
        c.seq <= last_old
            && hex::decode(&c.sig)
                .ok()
                .and_then(|b| Signature::from_slice(&b).ok())
                .is_some_and(|s| {
                    public
                        .verify(checkpoint_message(c.seq, &c.hash, c.ts_ms).as_bytes(), &s)
                        .is_ok()
                })
    });
    match cp {
        Some(cp) => db.prune_through(cp).await,
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trip_binds_request_id() {
        let k = ContentKey::from_hex(&"11".repeat(32)).unwrap();
        let s = k.seal(b"hello", "req-1").unwrap();
        assert_eq!(k.open(&s, "req-1").unwrap(), b"hello");
        assert!(k.open(&s, "req-2").is_err());
        assert!(ContentKey::from_hex("abcd").is_err());
    }

    #[test]
    fn hash_depends_on_seq_prev_and_body() {
        let a = row_hash(1, GENESIS, "{}");
        assert_ne!(a, row_hash(2, GENESIS, "{}"));
        assert_ne!(a, row_hash(1, &a, "{}"));
        assert_ne!(a, row_hash(1, GENESIS, "{ }"));
    }
}
