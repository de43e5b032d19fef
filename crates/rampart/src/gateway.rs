//! `rampart serve`, `rampart keys`, `rampart audit` and `rampart mock-upstream`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use rampart_gateway::keys::{KeySpec, KeyStore};
use rampart_gateway::{Config, audit, config, mock};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = "rampart.toml")]
    pub config: PathBuf,
    /// Write a commented, secure default configuration to --config and exit.
    #[arg(long)]
    pub init: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file (storage settings are read from it).
    #[arg(long, short = 'c', default_value = "rampart.toml", global = true)]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is printed once and stored only as a hash.
    Create(CreateArgs),
    /// List keys (ids, owners, grants, limits; never secrets).
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Change a key's limits or grants in place (same secret); running gateways apply it to the
    /// next request. Lists (--model, --endpoint, --scope, --tag) replace the key's lists.
    Update(UpdateArgs),
    /// Revoke a key (takes effect within a quarter of a second on running gateways).
    Revoke {
        /// Key id (`key_...`).
        id: String,
    },
    /// Replace a key's secret; the old one stops working. Prints the new secret once.
    Rotate {
        /// Key id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Who the key belongs to.
    #[arg(long)]
    pub owner: String,
    /// Model it may use (repeatable; `*` for every configured model).
    #[arg(long = "model", required = true)]
    pub models: Vec<String>,
    /// Endpoint: chat, completions, embeddings (repeatable).
    #[arg(long = "endpoint", default_values = ["chat"])]
    pub endpoints: Vec<String>,
    /// Scope: logprobs, tools, stream (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Expire after this many days.
    #[arg(long)]
    pub expires_in_days: Option<u64>,
    /// Tag (repeatable): selects guards, labels metrics.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// JSON output (`{"key": ..., "secret": ...}`).
    #[arg(long)]
    pub json: bool,
}

/// A key's limits, the same flags for `keys create` and `keys update`.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Requests per minute.
    #[arg(long)]
    pub rpm: Option<u64>,
    /// Tokens per minute.
    #[arg(long)]
    pub tpm: Option<u64>,
    /// Tokens per UTC day.
    #[arg(long)]
    pub tokens_per_day: Option<u64>,
    /// Tokens per UTC month.
    #[arg(long)]
    pub tokens_per_month: Option<u64>,
    /// Largest request body, bytes.
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Key id.
    pub id: String,
    /// Models (replaces the list).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Endpoints (replaces the list).
    #[arg(long = "endpoint")]
    pub endpoints: Vec<String>,
    /// Scopes (replaces the list).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Tags (replaces the list).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain and every signed checkpoint; exit 1 on any problem.
    Verify {
        /// Checkpoint public key (PEM); default: derived from the configured signing key.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Records as JSON lines (for a customer: filter by key and time).
    Export {
        /// Only this key id.
        #[arg(long)]
        key: Option<String>,
        /// From this time (RFC 3339 date or Unix seconds), inclusive.
        #[arg(long)]
        since: Option<String>,
        /// Until this time, exclusive.
        #[arg(long)]
        until: Option<String>,
        /// Decrypt recorded content with the configured content key.
        #[arg(long)]
        decrypt: bool,
        /// Output file (default: stdout).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Delete records older than N days, keeping the chain verifiable from a signed checkpoint.
    Prune {
        /// Age in days.
        #[arg(long)]
        older_than_days: u64,
    },
    /// Print the checkpoint public key (PEM), to verify elsewhere.
    PublicKey,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: std::net::SocketAddr,
    /// Delay before each answer, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Delay between streamed chunks, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub chunk_delay_ms: u64,
    /// Answer every request with this HTTP status.
    #[arg(long)]
    pub fail_status: Option<u16>,
    /// Abort every connection without an answer.
    #[arg(long)]
    pub reset: bool,
    /// Break streams after this many chunks.
    #[arg(long)]
    pub cut_stream_after: Option<usize>,
    /// Leave `usage` out of answers.
    #[arg(long)]
    pub no_usage: bool,
    /// The reply text.
    #[arg(long, default_value = "Hello from the mock upstream.")]
    pub reply: String,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn load(path: &std::path::Path) -> Result<Config> {
    if !path.exists() {
        bail!(
            "{}: no such configuration file (create one with `rampart serve --init -c {}`)",
            path.display(),
            path.display()
        );
    }
    Ok(Config::load(path)?)
}

pub fn serve(a: ServeArgs) -> Result<u8> {
    if a.init {
        if a.config.exists() {
            bail!("{} exists; not overwriting it", a.config.display());
        }
        std::fs::write(&a.config, config::INIT)
            .with_context(|| format!("writing {}", a.config.display()))?;
        eprintln!(
            "wrote {} (secure defaults; edit the upstreams and models, then `rampart serve -c {}`)",
            a.config.display(),
            a.config.display()
        );
        return Ok(0);
    }
    // Checked here so that a missing or invalid file gets the CLI's advice.
    load(&a.config)?;
    let model = rampart_gateway::guards::InjectionModel::new(|| {
        crate::guard::injection_model().map_err(|e| format!("{e:#}"))
    });
    runtime()?.block_on(async move {
        rampart_gateway::serve(&a.config, model, |b, tls| {
            let scheme = if tls { "https" } else { "http" };
            eprintln!(
                "rampart serve: listening on {scheme}://{} (admin http://{})",
                b.public, b.admin
            );
        })
        .await
    })?;
    Ok(0)
}

pub fn keys(cmd: KeysCommand, c: ConfigArg) -> Result<u8> {
    let cfg = load(&c.config)?;
    runtime()?.block_on(async move {
        let store = KeyStore::new(rampart_gateway::open_db(&cfg).await?);
        let now = audit::now_ms() / 1000;
        let mut out = std::io::stdout().lock();
        match cmd {
            KeysCommand::Create(a) => {
                let spec = KeySpec {
                    owner: a.owner,
                    models: a.models,
                    endpoints: a.endpoints,
                    scopes: a.scopes,
                    rpm: a.limits.rpm,
                    tpm: a.limits.tpm,
                    tokens_per_day: a.limits.tokens_per_day,
                    tokens_per_month: a.limits.tokens_per_month,
                    max_body_bytes: a.limits.max_body_bytes,
                    expires_at: a.expires_in_days.map(|d| now + (d as i64) * 86_400),
                    tags: a.tags,
                };
                let (rec, secret) = store.create(spec, now).await?;
                if a.json {
                    writeln!(out, "{}", serde_json::json!({"key": rec, "secret": secret}))?;
                } else {
                    writeln!(out, "{secret}")?;
                    eprintln!(
                        "created {} for {} — the secret above is shown once; store it now",
                        rec.id, rec.spec.owner
                    );
                }
            }
            KeysCommand::List { json } => {
                let keys = store.list().await?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&keys)?)?;
                } else {
                    for k in keys {
                        let state = if k.revoked_at.is_some() {
                            "revoked"
                        } else if !k.active(now) {
                            "expired"
                        } else {
                            "active"
                        };
                        writeln!(
                            out,
                            "{}  {:8}  {}  models={}  endpoints={}  scopes={}  rpm={}  tpm={}",
                            k.id,
                            state,
                            k.spec.owner,
                            k.spec.models.join(","),
                            k.spec.endpoints.join(","),
                            k.spec.scopes.join(","),
                            k.spec.rpm.map_or("-".into(), |v| v.to_string()),
                            k.spec.tpm.map_or("-".into(), |v| v.to_string())
                        )?;
                    }
                }
            }
            KeysCommand::Update(a) => {
                let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
                let patch = rampart_gateway::keys::KeyPatch {
                    models: some(a.models),
                    endpoints: some(a.endpoints),
                    scopes: some(a.scopes),
                    rpm: a.limits.rpm,
                    tpm: a.limits.tpm,
                    tokens_per_day: a.limits.tokens_per_day,
                    tokens_per_month: a.limits.tokens_per_month,
                    max_body_bytes: a.limits.max_body_bytes,
                    expires_at: None,
                    tags: some(a.tags),
                };
                let rec = store.update(&a.id, &patch).await?;
                eprintln!(
                    "updated {} (running gateways apply it to their next request)",
                    rec.id
                );
            }
            KeysCommand::Revoke { id } => {
                store.revoke(&id, now).await?;
                eprintln!("revoked {id}");
            }
            KeysCommand::Rotate { id } => {
                let s = store.rotate(&id, now).await?;
                writeln!(out, "{s}")?;
                eprintln!(
                    "rotated {id} — the old secret no longer works; the new one is shown once"
                );
            }
        }
        Ok(0)
    })
}

fn parse_time(s: &str) -> Result<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n * 1000);
    }
    rampart_core::time::parse_rfc3339(s)
        .map(|t| t * 1000)
        .with_context(|| {
            format!("bad time {s:?}: use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds")
        })
}

pub fn audit(cmd: AuditCommand, c: ConfigArg) -> Result<u8> {
    let cfg = load(&c.config)?;
    runtime()?.block_on(async move {
        let db = rampart_gateway::open_db(&cfg).await?;
        match cmd {
            AuditCommand::Verify { public_key, json } => {
                let pk = match public_key {
                    Some(p) => audit::parse_public(&std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?)?,
                    None => rampart_gateway::audit_public_key(&cfg)?,
                };
                let r = audit::verify(&db, &pk).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                } else if r.ok() {
                    println!("audit log intact: {} records (seq {}..{}), {} signed checkpoints, {} records after the last checkpoint", r.rows, r.first_seq, r.last_seq, r.checkpoints, r.unsigned_tail);
                } else {
                    println!("AUDIT LOG TAMPERED: {} problem(s) in {} records", r.problems.len(), r.rows);
                    for p in &r.problems {
                        println!("  {p}");
                    }
                }
                Ok(if r.ok() { 0 } else { 1 })
            }
            AuditCommand::Export { key, since, until, decrypt, output } => {
                let from = since.as_deref().map(parse_time).transpose()?;
                let to = until.as_deref().map(parse_time).transpose()?;
                let mut buf: Vec<u8> = Vec::new();
                let n = audit::export(&db, key.as_deref(), from, to, &mut buf).await?;
                if decrypt {
                    let k = rampart_gateway::content_key(&cfg)?;
                    let mut out2 = Vec::new();
                    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        let mut v: serde_json::Value = serde_json::from_slice(line)?;
                        let rid = v["record"]["request_id"].as_str().unwrap_or("").to_string();
                        if let Some(ct) = v["record"]["content"].as_str() {
                            let plain = k.open(ct, &rid)?;
                            v["content"] = serde_json::from_slice(&plain).unwrap_or(serde_json::Value::Null);
                        }
                        serde_json::to_writer(&mut out2, &v)?;
                        out2.push(b'\n');
                    }
                    buf = out2;
                }
                match output {
                    Some(p) => std::fs::write(&p, &buf).with_context(|| format!("writing {}", p.display()))?,
                    None => std::io::stdout().lock().write_all(&buf)?,
                }
                eprintln!("exported {n} records");
                Ok(0)
            }
            AuditCommand::Prune { older_than_days } => {
                let pk = rampart_gateway::audit_public_key(&cfg)?;
                let cutoff = audit::now_ms() - (older_than_days as i64) * 86_400_000;
                let n = audit::prune(&db, &pk, cutoff).await?;
                eprintln!("pruned {n} records (up to the newest signed checkpoint before the cutoff)");
                Ok(0)
            }
            AuditCommand::PublicKey => {
                let p = rampart_gateway::signing_key_path(&cfg);
                let k = audit::load_or_create_signing_key(&p)?;
                print!("{}", audit::public_pem(&k)?);
                Ok(0)
            }
        }
    })
}

pub fn mock_upstream(a: MockArgs) -> Result<u8> {
    let o = mock::MockOptions {
        latency: std::time::Duration::from_millis(a.latency_ms),
        chunk_delay: std::time::Duration::from_millis(a.chunk_delay_ms),
        reply: a.reply,
        fail_status: a.fail_status,
        reset: a.reset,
        cut_stream_after: a.cut_stream_after,
        usage: !a.no_usage,
    };
    runtime()?.block_on(mock::run(a.listen, o))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_parse() {
        assert_eq!(super::parse_time("2026-11-26").unwrap(), 1_795_651_200_000);
        assert_eq!(
            super::parse_time("2026-11-26T00:00:01Z").unwrap(),
            1_795_651_201_000
        );
        assert_eq!(super::parse_time("10").unwrap(), 10_000);
        assert!(super::parse_time("yesterday").is_err());
    }
}
