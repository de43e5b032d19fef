//! Durable state: keys and the audit chain, in SQLite (default, WAL) or PostgreSQL (several
//! instances). Both backends hold the same tables; the chain logic lives in `audit` and only
//! asks the backend to store and read rows.

use crate::error::{Error, Result};
use crate::keys::{KeyRecord, KeySpec};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One stored audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Position in the chain (1, 2, ...).
    pub seq: i64,
    /// Time (Unix milliseconds).
    pub ts_ms: i64,
    /// Key id ("" when none).
    pub key_id: String,
    /// The record, canonical JSON.
    pub body: String,
    /// Hash of the previous row (hex).
    pub prev: String,
    /// This row's hash (hex).
    pub hash: String,
}

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Last row covered.
    pub seq: i64,
    /// That row's hash.
    pub hash: String,
    /// Time (Unix milliseconds).
    pub ts_ms: i64,
    /// Ed25519 signature (hex).
    pub sig: String,
}

/// Where pruned history ends: verification starts after this (signed) checkpoint.
pub type Anchor = Option<(i64, String)>;

// No secondary indexes on the SQLite audit table: each one costs a page write in every group
// commit (on the request path); export and retention are offline scans in seq order.
const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, spec TEXT NOT NULL,
  created_at INTEGER NOT NULL, revoked_at INTEGER, rotated_at INTEGER);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, key_id TEXT NOT NULL,
  body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
DROP INDEX IF EXISTS audit_key_ts;
DROP INDEX IF EXISTS audit_ts;
CREATE TABLE IF NOT EXISTS checkpoints (
  seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, ts_ms INTEGER NOT NULL, sig TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
";

const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rampart_keys (
  id TEXT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, spec TEXT NOT NULL,
  created_at BIGINT NOT NULL, revoked_at BIGINT, rotated_at BIGINT);
CREATE TABLE IF NOT EXISTS rampart_audit (
  seq BIGINT PRIMARY KEY, ts_ms BIGINT NOT NULL, key_id TEXT NOT NULL,
  body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rampart_audit_key_ts ON rampart_audit(key_id, ts_ms);
CREATE TABLE IF NOT EXISTS rampart_checkpoints (
  seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, ts_ms BIGINT NOT NULL, sig TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rampart_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT INTO rampart_meta (k, v) VALUES ('key_version', '0') ON CONFLICT DO NOTHING;
";

/// A database.
#[derive(Clone)]
pub enum Db {
    /// Embedded SQLite.
    Sqlite(SqliteDb),
    /// PostgreSQL.
    Postgres(Arc<tokio_postgres::Client>),
}

/// SQLite handle: one connection for keys (short statements under a mutex); the audit writer,
/// verification and export open their own.
#[derive(Clone)]
pub struct SqliteDb {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

/// Open a SQLite connection with the gateway's settings.
pub fn open_sqlite(path: &Path, full_sync: bool) -> Result<Connection> {
    let c = Connection::open(path)
        .map_err(|e| Error::Store(format!("cannot open {}: {e}", path.display())))?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(
        None,
        "synchronous",
        if full_sync { "FULL" } else { "NORMAL" },
    )?;
    c.execute_batch(SQLITE_SCHEMA)?;
    Ok(c)
}

fn lock(m: &Mutex<Connection>) -> Result<std::sync::MutexGuard<'_, Connection>> {
    m.lock()
        .map_err(|_| Error::Store("sqlite connection poisoned".into()))
}

fn parse_key(
    id: String,
    spec: String,
    created_at: i64,
    revoked_at: Option<i64>,
    rotated_at: Option<i64>,
) -> Result<KeyRecord> {
    let spec: KeySpec = serde_json::from_str(&spec)
        .map_err(|e| Error::Store(format!("key {id}: bad spec: {e}")))?;
    Ok(KeyRecord {
        id,
        spec,
        created_at,
        revoked_at,
        rotated_at,
    })
}

fn spec_json(spec: &KeySpec) -> Result<String> {
    serde_json::to_string(spec).map_err(|e| Error::Store(e.to_string()))
}

impl Db {
    /// SQLite at `path` (created with its schema when absent).
    pub fn sqlite(path: &Path) -> Result<Db> {
        let conn = open_sqlite(path, true)?;
        Ok(Db::Sqlite(SqliteDb {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        }))
    }

    /// PostgreSQL (schema created when absent).
    pub async fn postgres(conn_str: &str) -> Result<Db> {
        let (client, conn) = tokio_postgres::connect(conn_str, tokio_postgres::NoTls)
            .await
            .map_err(|e| Error::Store(format!("cannot connect to PostgreSQL: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::error!(error = %e, "postgres connection closed");
            }
        });
        client.batch_execute(PG_SCHEMA).await?;
        Ok(Db::Postgres(Arc::new(client)))
    }

    /// SQLite path, if SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite(s) => Some(&s.path),
            Db::Postgres(_) => None,
        }
    }

    /// Reachable?
    pub async fn ping(&self) -> Result<()> {
        match self {
            Db::Sqlite(s) => {
                lock(&s.conn)?.query_row("SELECT 1", [], |_| Ok(()))?;
                Ok(())
            }
            Db::Postgres(c) => {
                c.simple_query("SELECT 1").await?;
                Ok(())
            }
        }
    }

    /// A number that changes whenever keys change (cache invalidation).
    pub async fn key_version(&self) -> Result<i64> {
        match self {
            Db::Sqlite(s) => Ok(lock(&s.conn)?.query_row("PRAGMA data_version", [], |r| r.get(0))?),
            Db::Postgres(c) => {
                let r = c
                    .query_one("SELECT v FROM rampart_meta WHERE k = 'key_version'", &[])
                    .await?;
                let v: String = r.get(0);
                Ok(v.parse().unwrap_or(0))
            }
        }
    }

    pub(crate) async fn key_by_hash(&self, h: &[u8; 32]) -> Result<Option<KeyRecord>> {
        match self {
            Db::Sqlite(s) => {
                let c = lock(&s.conn)?;
                let mut st = c.prepare_cached(
                    "SELECT id, spec, created_at, revoked_at, rotated_at FROM keys WHERE hash = ?1",
                )?;
                let row = st
                    .query_row(params![&h[..]], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()?;
                row.map(|(a, b, c, d, e)| parse_key(a, b, c, d, e))
                    .transpose()
            }
            Db::Postgres(c) => {
                let row = c
                    .query_opt("SELECT id, spec, created_at, revoked_at, rotated_at FROM rampart_keys WHERE hash = $1", &[&&h[..]])
                    .await?;
                row.map(|r| parse_key(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                    .transpose()
            }
        }
    }

    pub(crate) async fn insert_key(&self, k: &KeyRecord, h: &[u8; 32]) -> Result<()> {
        let spec = spec_json(&k.spec)?;
        match self {
            Db::Sqlite(s) => {
                lock(&s.conn)?.execute(
                    "INSERT INTO keys (id, hash, spec, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![k.id, &h[..], spec, k.created_at],
                )?;
            }
            Db::Postgres(c) => {
                c.execute(
                    "INSERT INTO rampart_keys (id, hash, spec, created_at) VALUES ($1, $2, $3, $4)",
                    &[&k.id, &&h[..], &spec, &k.created_at],
                )
                .await?;
                bump_pg(c).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn list_keys(&self) -> Result<Vec<KeyRecord>> {
        match self {
            Db::Sqlite(s) => {
                let c = lock(&s.conn)?;
                let mut st = c.prepare("SELECT id, spec, created_at, revoked_at, rotated_at FROM keys ORDER BY created_at, id")?;
                let rows = st.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                let mut out = Vec::new();
                for r in rows {
                    let (a, b, c, d, e) = r?;
                    out.push(parse_key(a, b, c, d, e)?);
                }
                Ok(out)
            }
            Db::Postgres(c) => {
                let rows = c
                    .query("SELECT id, spec, created_at, revoked_at, rotated_at FROM rampart_keys ORDER BY created_at, id", &[])
                    .await?;
                rows.into_iter()
                    .map(|r| parse_key(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                    .collect()
            }
        }
    }

    pub(crate) async fn revoke_key(&self, id: &str, now: i64) -> Result<()> {
        let n = match self {
            Db::Sqlite(s) => lock(&s.conn)?.execute(
                "UPDATE keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now],
            )? as u64,
            Db::Postgres(c) => {
                let n = c
                    .execute("UPDATE rampart_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&id, &now])
                    .await?;
                bump_pg(c).await?;
                n
            }
        };
        changed_one(n, id)
    }

    pub(crate) async fn update_key(&self, id: &str, spec: &KeySpec) -> Result<()> {
        let spec = spec_json(spec)?;
        let n = match self {
            Db::Sqlite(s) => lock(&s.conn)?.execute(
                "UPDATE keys SET spec = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, spec],
            )? as u64,
            Db::Postgres(c) => {
                let n = c
                    .execute(
                        "UPDATE rampart_keys SET spec = $2 WHERE id = $1 AND revoked_at IS NULL",
                        &[&id, &spec],
                    )
                    .await?;
                bump_pg(c).await?;
                n
            }
        };
        changed_one(n, id)
    }

    pub(crate) async fn key_by_id(&self, id: &str) -> Result<Option<KeyRecord>> {
        match self {
            Db::Sqlite(s) => {
                let c = lock(&s.conn)?;
                let row = c
                    .query_row("SELECT id, spec, created_at, revoked_at, rotated_at FROM keys WHERE id = ?1", params![id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()?;
                row.map(|(a, b, c, d, e)| parse_key(a, b, c, d, e)).transpose()
            }
            Db::Postgres(c) => c
                .query_opt("SELECT id, spec, created_at, revoked_at, rotated_at FROM rampart_keys WHERE id = $1", &[&id])
                .await?
                .map(|r| parse_key(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .transpose(),
        }
    }

    pub(crate) async fn rotate_key(&self, id: &str, h: &[u8; 32], now: i64) -> Result<()> {
        let n = match self {
            Db::Sqlite(s) => lock(&s.conn)?.execute(
                "UPDATE keys SET hash = ?2, rotated_at = ?3 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, &h[..], now],
            )? as u64,
            Db::Postgres(c) => {
                let n = c
                    .execute(
                        "UPDATE rampart_keys SET hash = $2, rotated_at = $3 WHERE id = $1 AND revoked_at IS NULL",
                        &[&id, &&h[..], &now],
                    )
                    .await?;
                bump_pg(c).await?;
                n
            }
        };
        changed_one(n, id)
    }

    /// Append records to the chain in one transaction: the head is read inside it (under a
    /// write lock: SQLite's immediate transaction, a PostgreSQL advisory lock), so several
    /// writers (instances) extend one chain without forking it. A checkpoint is signed and
    /// stored when `cp` says one is due. Returns the rows written.
    pub async fn append_chain(
        &self,
        recs: &[(i64, String, String)],
        cp: &CheckpointPolicy<'_>,
    ) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(_) => self.append_blocking(recs, cp),
            Db::Postgres(c) => {
                c.batch_execute("BEGIN").await?;
                let r = async {
                    c.execute("SELECT pg_advisory_xact_lock(7261746172)", &[]).await?;
                    let head = match c.query_opt("SELECT seq, hash FROM rampart_audit ORDER BY seq DESC LIMIT 1", &[]).await? {
                        Some(r) => (r.get(0), r.get(1)),
                        None => match self.anchor().await.map_err(|_| None::<tokio_postgres::Error>) {
                            Ok(Some(a)) => a,
                            _ => (0, crate::audit::GENESIS.to_string()),
                        },
                    };
                    let last_cp: Option<(i64, i64)> = match c
                        .query_opt("SELECT seq, ts_ms FROM rampart_checkpoints ORDER BY seq DESC LIMIT 1", &[])
                        .await?
                    {
                        Some(r) => Some((r.get(0), r.get(1))),
                        None => c.query_one("SELECT min(ts_ms) FROM rampart_audit", &[]).await?.get::<_, Option<i64>>(0).map(|t| (0, t)),
                    };
                    let (rows, ck) = chain_rows(head, recs, last_cp, cp);
                    for r in &rows {
                        c.execute(
                            "INSERT INTO rampart_audit (seq, ts_ms, key_id, body, prev, hash) VALUES ($1,$2,$3,$4,$5,$6)",
                            &[&r.seq, &r.ts_ms, &r.key_id, &r.body, &r.prev, &r.hash],
                        )
                        .await?;
                    }
                    if let Some(k) = &ck {
                        c.execute("INSERT INTO rampart_checkpoints (seq, hash, ts_ms, sig) VALUES ($1,$2,$3,$4)", &[&k.seq, &k.hash, &k.ts_ms, &k.sig])
                            .await?;
                    }
                    Ok::<Vec<Row>, Option<tokio_postgres::Error>>(rows)
                }
                .await;
                match r {
                    Ok(rows) => {
                        c.batch_execute("COMMIT").await?;
                        Ok(rows)
                    }
                    Err(e) => {
                        let _ = c.batch_execute("ROLLBACK").await;
                        Err(e.map_or_else(
                            || Error::Store("postgres: audit append failed".into()),
                            Error::from,
                        ))
                    }
                }
            }
        }
    }

    /// Rows with seq > `after`, in order, at most `limit`.
    pub async fn rows_after(&self, after: i64, limit: i64) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(s) => {
                let c = lock(&s.conn)?;
                let mut st = c.prepare_cached(
                    "SELECT seq, ts_ms, key_id, body, prev, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?;
                let rows = st.query_map(params![after, limit], |r| {
                    Ok(Row {
                        seq: r.get(0)?,
                        ts_ms: r.get(1)?,
                        key_id: r.get(2)?,
                        body: r.get(3)?,
                        prev: r.get(4)?,
                        hash: r.get(5)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Db::Postgres(c) => {
                let rows = c
                    .query(
                        "SELECT seq, ts_ms, key_id, body, prev, hash FROM rampart_audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                        &[&after, &limit],
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| Row {
                        seq: r.get(0),
                        ts_ms: r.get(1),
                        key_id: r.get(2),
                        body: r.get(3),
                        prev: r.get(4),
                        hash: r.get(5),
                    })
                    .collect())
            }
        }
    }

    /// Every checkpoint, in order.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        match self {
            Db::Sqlite(s) => {
                let c = lock(&s.conn)?;
                let mut st =
                    c.prepare("SELECT seq, hash, ts_ms, sig FROM checkpoints ORDER BY seq")?;
                let rows = st.query_map([], |r| {
                    Ok(Checkpoint {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                        ts_ms: r.get(2)?,
                        sig: r.get(3)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Db::Postgres(c) => Ok(c
                .query(
                    "SELECT seq, hash, ts_ms, sig FROM rampart_checkpoints ORDER BY seq",
                    &[],
                )
                .await?
                .into_iter()
                .map(|r| Checkpoint {
                    seq: r.get(0),
                    hash: r.get(1),
                    ts_ms: r.get(2),
                    sig: r.get(3),
                })
                .collect()),
        }
    }

    /// Where pruned history ends.
    pub async fn anchor(&self) -> Result<Anchor> {
        let v: Option<String> = match self {
            Db::Sqlite(s) => lock(&s.conn)?
                .query_row("SELECT v FROM meta WHERE k = 'anchor'", [], |r| r.get(0))
                .optional()?,
            Db::Postgres(c) => c
                .query_opt("SELECT v FROM rampart_meta WHERE k = 'anchor'", &[])
                .await?
                .map(|r| r.get(0)),
        };
        Ok(v.and_then(|v| {
            let (s, h) = v.split_once(':')?;
            Some((s.parse().ok()?, h.to_string()))
        }))
    }

    /// Delete rows up to and including the checkpoint `cp` and make it the anchor.
    pub async fn prune_through(&self, cp: &Checkpoint) -> Result<u64> {
        let anchor = format!("{}:{}", cp.seq, cp.hash);
        match self {
            Db::Sqlite(s) => {
                let mut c = lock(&s.conn)?;
                let tx = c.transaction()?;
                let n = tx.execute("DELETE FROM audit WHERE seq <= ?1", params![cp.seq])?;
                tx.execute("DELETE FROM checkpoints WHERE seq < ?1", params![cp.seq])?;
                tx.execute(
                    "INSERT OR REPLACE INTO meta (k, v) VALUES ('anchor', ?1)",
                    params![anchor],
                )?;
                tx.commit()?;
                Ok(n as u64)
            }
            Db::Postgres(c) => {
                c.batch_execute("BEGIN").await?;
                let n = c
                    .execute("DELETE FROM rampart_audit WHERE seq <= $1", &[&cp.seq])
                    .await?;
                c.execute("DELETE FROM rampart_checkpoints WHERE seq < $1", &[&cp.seq])
                    .await?;
                c.execute(
                    "INSERT INTO rampart_meta (k, v) VALUES ('anchor', $1) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                    &[&anchor],
                )
                .await?;
                c.batch_execute("COMMIT").await?;
                Ok(n)
            }
        }
    }

    /// The newest row at or before `ts_ms` (for retention).
    pub async fn last_seq_before(&self, ts_ms: i64) -> Result<Option<i64>> {
        match self {
            Db::Sqlite(s) => Ok(lock(&s.conn)?
                .query_row(
                    "SELECT max(seq) FROM audit WHERE ts_ms < ?1",
                    params![ts_ms],
                    |r| r.get(0),
                )
                .optional()?
                .flatten()),
            Db::Postgres(c) => Ok(c
                .query_one(
                    "SELECT max(seq) FROM rampart_audit WHERE ts_ms < $1",
                    &[&ts_ms],
                )
                .await?
                .get(0)),
        }
    }
}

async fn bump_pg(c: &tokio_postgres::Client) -> Result<()> {
    c.execute(
        "UPDATE rampart_meta SET v = (v::bigint + 1)::text WHERE k = 'key_version'",
        &[],
    )
    .await?;
    Ok(())
}

// What each group commit reads before it appends: the chain's head, the last checkpoint and,
// before the first checkpoint, the first record's time. Each is a lookup at one end of an
// integer primary key. They run on every request's path, so none may scan: `min(ts_ms)`
// (no index on ts_ms) once made every commit before the first checkpoint read the whole
// table; see `per_commit_reads_do_not_grow_with_the_table`.
const CHAIN_HEAD: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
const LAST_CHECKPOINT: &str = "SELECT seq, ts_ms FROM checkpoints ORDER BY seq DESC LIMIT 1";
const FIRST_RECORD_TIME: &str = "SELECT ts_ms FROM audit ORDER BY seq LIMIT 1";

impl Db {
    /// [`Db::append_chain`] for SQLite, synchronously (call from a blocking thread).
    pub fn append_blocking(
        &self,
        recs: &[(i64, String, String)],
        cp: &CheckpointPolicy<'_>,
    ) -> Result<Vec<Row>> {
        let Db::Sqlite(s) = self else {
            return Err(Error::Store("append_blocking is for SQLite".into()));
        };
        let mut c = lock(&s.conn)?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head: (i64, String) = match tx
            .prepare_cached(CHAIN_HEAD)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        {
            Some(h) => h,
            None => tx
                .query_row("SELECT v FROM meta WHERE k = 'anchor'", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .and_then(|v| {
                    let (s, h) = v.split_once(':')?;
                    Some((s.parse().ok()?, h.to_string()))
                })
                .unwrap_or_else(|| (0, crate::audit::GENESIS.to_string())),
        };
        let last_cp = match tx
            .prepare_cached(LAST_CHECKPOINT)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        {
            Some(c) => Some(c),
            // No checkpoint yet: the clock runs from the first record.
            None => tx
                .prepare_cached(FIRST_RECORD_TIME)?
                .query_row([], |r| r.get::<_, i64>(0))
                .optional()?
                .map(|t| (0, t)),
        };
        let (rows, ck) = chain_rows(head, recs, last_cp, cp);
        {
            let mut st = tx.prepare_cached("INSERT INTO audit (seq, ts_ms, key_id, body, prev, hash) VALUES (?1,?2,?3,?4,?5,?6)")?;
            for r in &rows {
                st.execute(params![r.seq, r.ts_ms, r.key_id, r.body, r.prev, r.hash])?;
            }
            if let Some(k) = &ck {
                tx.execute(
                    "INSERT INTO checkpoints (seq, hash, ts_ms, sig) VALUES (?1,?2,?3,?4)",
                    params![k.seq, k.hash, k.ts_ms, k.sig],
                )?;
            }
        }
        tx.commit()?;
        Ok(rows)
    }
}

/// When to sign a checkpoint, and with what.
pub struct CheckpointPolicy<'a> {
    /// Signing key.
    pub key: &'a ed25519_dalek::SigningKey,
    /// After this many rows since the last checkpoint.
    pub every: i64,
    /// Or when the last checkpoint is older than this (milliseconds).
    pub period_ms: i64,
}

fn chain_rows(
    head: (i64, String),
    recs: &[(i64, String, String)],
    last_cp: Option<(i64, i64)>,
    cp: &CheckpointPolicy<'_>,
) -> (Vec<Row>, Option<Checkpoint>) {
    let (mut seq, mut prev) = head;
    let mut rows = Vec::with_capacity(recs.len());
    for (ts, key_id, body) in recs {
        seq += 1;
        let hash = crate::audit::row_hash(seq, &prev, body);
        rows.push(Row {
            seq,
            ts_ms: *ts,
            key_id: key_id.clone(),
            body: body.clone(),
            prev,
            hash: hash.clone(),
        });
        prev = hash;
    }
    let now = crate::audit::now_ms();
    let (cp_seq, cp_ts) = last_cp.unwrap_or((0, recs.first().map_or(now, |r| r.0)));
    let due = !rows.is_empty() && (seq - cp_seq >= cp.every || now - cp_ts >= cp.period_ms);
    let ck = due.then(|| crate::audit::sign_checkpoint(cp.key, seq, &prev, now));
    (rows, ck)
}

impl Db {
    /// Stop this connection from checkpointing the WAL on commit (the audit writer's).
    pub fn no_autocheckpoint(&self) -> Result<()> {
        if let Db::Sqlite(s) = self {
            lock(&s.conn)?.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(())
    }
}

impl SqliteDb {
    /// A second handle on the same file with its own connection (the audit writer's, with the
    /// configured durability).
    pub fn reopen(&self, full_sync: bool) -> Result<Db> {
        let conn = open_sqlite(&self.path, full_sync)?;
        Ok(Db::Sqlite(SqliteDb {
            path: self.path.clone(),
            conn: Arc::new(Mutex::new(conn)),
        }))
    }
}

/// A key update that touched no row names a key that is missing, revoked or mistyped.
fn changed_one(rows: u64, id: &str) -> Result<()> {
    if rows == 0 {
        return Err(Error::Keys(format!(
            "no active key `{id}` (see `rampart keys list`)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit's reads cost the same on a table of 40 rows and of 4,000: the VM steps of each
    /// statement are counted by SQLite itself.
    #[test]
    fn per_commit_reads_do_not_grow_with_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let c = open_sqlite(&dir.path().join("g.db"), false).unwrap();
        let steps = |c: &Connection, sql: &str| {
            let mut st = c.prepare(sql).unwrap();
            let mut rows = st.query([]).unwrap();
            while rows.next().unwrap().is_some() {}
            drop(rows);
            st.get_status(rusqlite::StatementStatus::VmStep)
        };
        let mut at = Vec::new();
        let mut seq = 0i64;
        for n in [40, 4000] {
            while seq < n {
                seq += 1;
                c.execute(
                    "INSERT INTO audit (seq, ts_ms, key_id, body, prev, hash) VALUES (?1, ?2, 'k', '{}', 'p', 'h')",
                    params![seq, 1_000_000 - seq],
                )
                .unwrap();
                c.execute(
                    "INSERT INTO checkpoints (seq, hash, ts_ms, sig) VALUES (?1, 'h', ?2, 's')",
                    params![seq, seq],
                )
                .unwrap();
            }
            at.push([CHAIN_HEAD, LAST_CHECKPOINT, FIRST_RECORD_TIME].map(|sql| steps(&c, sql)));
        }
        assert_eq!(at[0], at[1], "VM steps at 40 rows, then at 4,000");
        // The statement this replaced, as the check's control: it does grow.
        c.execute("DELETE FROM checkpoints", []).unwrap();
        assert!(steps(&c, "SELECT min(ts_ms) FROM audit") > 4000);
    }
}
