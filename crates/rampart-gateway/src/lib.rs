//! Rampart's gateway: an OpenAI-compatible proxy in front of model APIs with scoped keys,
//! fail-closed quotas and rate limits, a guard pipeline, model-extraction signals, failover,
//! Prometheus metrics and a hash-chained, signed audit log.
//!
//! Layout: `config` (TOML, checked), `keys` + `store` (SQLite or PostgreSQL), `counters`
//! (in process or Redis), `audit` (chain, checkpoints, verify, export, retention),
//! `upstream` (failover, circuit breaker), `guards` (the pipeline's extension point),
//! `extraction`, `metrics`, `server` (the decision point and admin API), `mock` (an
//! OpenAI-compatible test upstream).

pub mod audit;
pub mod config;
pub mod counters;
pub mod error;
pub mod extraction;
pub mod guard_pool;
pub mod guards;
pub mod keys;
pub mod metrics;
pub mod mock;
pub mod openai;
pub mod server;
pub mod store;
pub mod tools;
pub mod upstream;

pub use config::Config;
pub use error::{Error, Result};

use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Open the configured key/audit database.
pub async fn open_db(cfg: &Config) -> Result<store::Db> {
    if let Some(url) = postgres_url(cfg)? {
        return store::Db::postgres(&url).await;
    }
    store::Db::sqlite(&cfg.storage.sqlite)
}

fn postgres_url(cfg: &Config) -> Result<Option<String>> {
    if let Some(env) = &cfg.storage.postgres_env {
        return std::env::var(env).map(Some).map_err(|_| {
            Error::Config(format!(
                "[storage] postgres_env: environment variable {env} is not set"
            ))
        });
    }
    Ok(cfg.storage.postgres.clone())
}

/// Where the audit checkpoint key lives.
pub fn signing_key_path(cfg: &Config) -> PathBuf {
    cfg.audit.signing_key.clone().unwrap_or_else(|| {
        let mut p = cfg.storage.sqlite.clone().into_os_string();
        p.push(".audit-key.pem");
        PathBuf::from(p)
    })
}

/// The audit checkpoint public key of this configuration (from its signing key).
pub fn audit_public_key(cfg: &Config) -> Result<ed25519_dalek::VerifyingKey> {
    let p = signing_key_path(cfg);
    if !p.exists() {
        return Err(Error::Audit(format!(
            "no audit signing key at {} (start the gateway once, or pass --public-key)",
            p.display()
        )));
    }
    Ok(audit::load_or_create_signing_key(&p)?.verifying_key())
}

fn read_secret(env: Option<&str>, file: Option<&Path>, what: &str) -> Result<Option<String>> {
    if let Some(f) = file {
        let s = std::fs::read_to_string(f)
            .map_err(|e| Error::Config(format!("{what}: {}: {e}", f.display())))?;
        return Ok(Some(s.trim().to_string()));
    }
    Ok(env
        .and_then(|e| std::env::var(e).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty()))
}

/// The audit content key named by `[audit] content_key_env` / `content_key_file` (the
/// gateway encrypts with it; `rampart audit export --decrypt` decrypts with it).
pub fn content_key(cfg: &Config) -> Result<audit::ContentKey> {
    let s = read_secret(
        cfg.audit.content_key_env.as_deref(),
        cfg.audit.content_key_file.as_deref(),
        "audit content key",
    )?
    .ok_or_else(|| {
        Error::Config(
            "the audit content key is not set ([audit] content_key_env or content_key_file)".into(),
        )
    })?;
    audit::ContentKey::from_hex(&s)
}

/// Addresses the gateway listens on.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Public listener.
    pub public: SocketAddr,
    /// Admin listener.
    pub admin: SocketAddr,
}

/// Build the gateway and run it until SIGINT/SIGTERM. `on_bound` is told the addresses once
/// both listeners are up. `model` is loaded when the configuration, at start or at a reload,
/// first has an injection guard.
pub async fn serve(
    config_path: &Path,
    model: guards::InjectionModel,
    on_bound: impl FnOnce(Bound, bool),
) -> Result<()> {
    let cfg = Config::load(config_path)?;
    let db = open_db(&cfg).await?;
    let counters = match &cfg.storage.redis {
        Some(url) => counters::Counters::redis(url).await?,
        None => counters::Counters::local(),
    };
    let audit_db = match &db {
        store::Db::Sqlite(s) => s.reopen(cfg.audit.sync == config::SyncMode::Full)?,
        other => other.clone(),
    };
    let key = audit::load_or_create_signing_key(&signing_key_path(&cfg))?;
    let metrics = Arc::new(metrics::Metrics::default());
    let audit_log = audit::AuditLog::start(
        audit_db,
        key,
        cfg.audit.checkpoint_every,
        cfg.audit.checkpoint_secs,
        metrics.clone(),
    )
    .await?;
    let content_key = if cfg.audit.content {
        Some(content_key(&cfg)?)
    } else {
        None
    };
    let admin_token = read_secret(
        Some(&cfg.admin.token_env),
        cfg.admin.token_file.as_deref(),
        "admin token",
    )?
    .map(|t| {
        use sha2::Digest;
        let h: [u8; 32] = sha2::Sha256::digest(t.as_bytes()).into();
        h
    });
    if admin_token.is_none() {
        tracing::warn!(
            "no admin token configured: the admin API answers only /healthz, /readyz and /openapi.json"
        );
    }
    let model = Arc::new(model);
    let (cfg, pipeline) = {
        let model = model.clone();
        tokio::task::spawn_blocking(move || server::build_guards(&cfg, &model).map(|p| (cfg, p)))
            .await
            .map_err(|e| Error::Config(format!("building the guards: {e}")))??
    };
    let ups = upstream::Upstreams::new(&cfg)?;
    let public_addr = cfg.listen.addr;
    let admin_addr = cfg.admin.addr;
    let tls = match (&cfg.listen.tls_cert, &cfg.listen.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => None,
    };
    let retention = cfg.audit.retention_days;
    let gw = Arc::new(server::Gateway {
        cfg: ArcSwap::from_pointee(cfg),
        pipeline: ArcSwap::from_pointee(pipeline),
        upstreams: ArcSwap::from_pointee(ups),
        keys: keys::KeyStore::new(db.clone()),
        counters,
        audit: audit_log,
        metrics,
        tracker: extraction::Tracker::default(),
        content_key,
        model,
        admin_token,
        config_path: Some(config_path.to_path_buf()),
        drift: Default::default(),
        guard_pool: guard_pool::GuardPool::new()?,
    });

    if !public_addr.ip().is_loopback() && tls.is_none() {
        tracing::warn!(addr = %public_addr, "PUBLIC LISTENER WITHOUT TLS on a non-loopback address: keys and prompts cross the network in clear text; set [listen] tls_cert and tls_key");
        eprintln!(
            "WARNING: rampart serve listens on {public_addr} without TLS: API keys and prompts travel in clear text. Set [listen] tls_cert/tls_key or put a TLS proxy in front."
        );
    }
    if !admin_addr.ip().is_loopback() {
        eprintln!("WARNING: the admin API listens on non-loopback {admin_addr}.");
    }

    let public_l = std::net::TcpListener::bind(public_addr)
        .map_err(|e| Error::Config(format!("cannot listen on {public_addr}: {e}")))?;
    public_l.set_nonblocking(true)?;
    let admin_l = tokio::net::TcpListener::bind(admin_addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {admin_addr}: {e}")))?;
    let bound = Bound {
        public: public_l.local_addr()?,
        admin: admin_l.local_addr()?,
    };

    // Background: key cache invalidation on database change, retention, reload on SIGHUP.
    {
        let gw = gw.clone();
        tokio::spawn(async move {
            let mut last = gw.keys.db().key_version().await.unwrap_or(0);
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if let Ok(v) = gw.keys.db().key_version().await
                    && v != last
                {
                    last = v;
                    gw.keys.invalidate();
                }
            }
        });
    }
    if retention > 0 {
        let gw = gw.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(pk) = audit_public_key(&gw.cfg.load()) {
                    let cutoff = audit::now_ms() - (retention as i64) * 86_400_000;
                    match audit::prune(gw.keys.db(), &pk, cutoff).await {
                        Ok(n) if n > 0 => {
                            tracing::info!(rows = n, "audit retention pruned old records")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "audit retention failed"),
                    }
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
    }
    #[cfg(unix)]
    {
        let gw = gw.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                if let Err(e) = gw.clone().reload().await {
                    tracing::error!(error = %e, "reload failed; keeping the running configuration");
                    eprintln!(
                        "rampart serve: reload failed, keeping the running configuration: {e}"
                    );
                }
            }
        });
    }

    let public_app = server::public_router(gw.clone());
    let admin_app = server::admin_router(gw.clone());
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    let admin_task = tokio::spawn(async move { axum::serve(admin_l, admin_app).await });
    on_bound(bound, tls.is_some());
    let r = match tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let rc = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| Error::Config(format!("TLS certificate or key: {e}")))?;
            let handle = axum_server::Handle::new();
            let h2 = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h2.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(public_l, rc)
                .handle(handle)
                .serve(public_app.into_make_service())
                .await
        }
        None => {
            let l = tokio::net::TcpListener::from_std(public_l)?;
            axum::serve(l, public_app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    admin_task.abort();
    r.map_err(Error::Io)
}

/// Entry points for the fuzz targets.
pub mod fuzzing {
    use crate::guards::{Ctx, Held, Pipeline};

    const GUARDS: &str = r#"
[[guards]]
name = "deny"
kind = "regex"
stage = "both"
action = "redact"
patterns = ["(?i)secret-\\w+"]

[[guards]]
name = "pii"
kind = "pii"
stage = "input"
action = "pseudonymise"

[[guards]]
name = "secrets"
kind = "secrets"
stage = "output"
action = "redact"

[[guards]]
name = "canary"
kind = "canary"
stage = "output"
action = "flag"

[[guards]]
name = "tools"
kind = "tool_policy"

[guards.tools.lookup]
schema = '{"type":"object","properties":{"q":{"type":"string","maxLength":64}},"required":["q"]}'
deny_patterns = ["(?i)drop"]
max_calls_per_minute = 1000000
"#;

    /// A request body from a client (any bytes): parse, route-specific reads, the input
    /// pipeline; then the same bytes as an upstream's event stream, framed and released
    /// through the output pipeline in uneven pieces.
    pub fn request(data: &[u8]) {
        static P: std::sync::OnceLock<Option<Pipeline>> = std::sync::OnceLock::new();
        let Some(p) = P.get_or_init(|| {
            crate::Config::parse(GUARDS)
                .ok()
                .and_then(|c| Pipeline::new(&c, None).ok())
        }) else {
            return;
        };
        if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) {
            for route in ["chat", "completions", "embeddings"] {
                let _ = crate::openai::needed_scopes(route, &v);
                let _ = crate::openai::max_completion(&v, 1024);
                let _ = crate::openai::usage(&v);
                let mut cx = Ctx::default();
                let mut verdicts = p.skipped();
                let _ = p.input(route, &[], &mut v, &mut cx, &mut verdicts);
                for t in crate::guards::output_texts_mut(route, &mut v) {
                    let _ = p.output_text(route, &[], t, &mut cx, &mut verdicts);
                }
            }
            // Tool calls: offers, a whole response's calls, and the same as stream deltas.
            let mut verdicts = p.skipped();
            let _ = p.tool_offers("chat", &[], &v, &mut verdicts);
            let calls = rampart_guard::tools::response_calls(&v);
            let _ = p.tool_calls("chat", &[], "k", &calls, &mut verdicts, &mut |_, _, _| {});
            let mut gate = crate::tools::Gate::default();
            if gate.absorb(&mut v).is_ok() {
                for idx in gate.finishing(&v).into_iter().chain(gate.pending_choices()) {
                    let calls = gate.take(idx);
                    crate::tools::release(&mut v, idx, &calls);
                }
                let _ = crate::tools::is_empty_chunk(&v);
            }
        }
        let mut buf = data.to_vec();
        while let Some((end, skip)) = crate::server::event_end(&buf) {
            buf.drain(..end + skip);
        }
        let text = String::from_utf8_lossy(data);
        let mut held = Held::default();
        let mut cx = Ctx::default();
        let mut verdicts = p.skipped();
        let mut rest: &str = &text;
        let mut step = 1;
        while !rest.is_empty() {
            let mut cut = (step % 23 + 1).min(rest.len());
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            held.pending.push_str(&rest[..cut]);
            rest = &rest[cut..];
            step += 7;
            if p.release("chat", &[], &mut held, false, &mut cx, &mut verdicts)
                .is_err()
            {
                return;
            }
        }
        let _ = p.release("chat", &[], &mut held, true, &mut cx, &mut verdicts);
    }

    /// A configuration file (any bytes).
    pub fn config(data: &[u8]) {
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = crate::Config::parse(s);
        }
    }
}
