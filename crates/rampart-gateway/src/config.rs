//! The gateway's one TOML configuration: parsed strictly (unknown keys are errors, with the
//! line and column), then checked for meaning (every model routes to known upstreams, every
//! guard is well formed) before anything listens.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Public (client-facing) listener.
    #[serde(default)]
    pub listen: Listen,
    /// Admin listener (keys, metrics, OpenAPI).
    #[serde(default)]
    pub admin: Admin,
    /// Storage for keys, audit and counters.
    #[serde(default)]
    pub storage: Storage,
    /// Audit log policy.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Request limits that apply to every key.
    #[serde(default)]
    pub limits: Limits,
    /// Model-extraction signals.
    #[serde(default)]
    pub extraction: Extraction,
    /// Upstream servers.
    #[serde(default)]
    pub upstreams: Vec<Upstream>,
    /// Models clients may name, and where they go.
    #[serde(default)]
    pub models: Vec<Model>,
    /// Guard stages.
    #[serde(default)]
    pub guards: Vec<GuardConfig>,
    /// Drift and out-of-distribution monitor over input traffic.
    #[serde(default)]
    pub drift: DriftConfig,
}

/// Drift monitor: per route, the first `window` prompts are the baseline and every following
/// window is compared with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {
    /// On or off.
    #[serde(default)]
    pub enabled: bool,
    /// Prompts per window.
    #[serde(default = "default_drift_window")]
    pub window: u64,
    /// Alert when the population stability index of prompt lengths exceeds this.
    #[serde(default = "default_psi")]
    pub length_psi: f64,
    /// Alert when the Jensen-Shannon divergence of the script mix exceeds this.
    #[serde(default = "default_script_js")]
    pub script_js: f64,
    /// Alert when the Jensen-Shannon divergence of the character-trigram profile exceeds this.
    #[serde(default = "default_ngram_js")]
    pub ngram_js: f64,
    /// Alert when the share of prompts an input guard flagged or blocked rises by this much.
    #[serde(default = "default_flagged_delta")]
    pub flagged_delta: f64,
}

fn default_drift_window() -> u64 {
    1000
}
fn default_psi() -> f64 {
    rampart_guard::drift::Thresholds::default().psi
}
fn default_script_js() -> f64 {
    rampart_guard::drift::Thresholds::default().script_js
}
fn default_ngram_js() -> f64 {
    rampart_guard::drift::Thresholds::default().ngram_js
}
fn default_flagged_delta() -> f64 {
    rampart_guard::drift::Thresholds::default().flagged_delta
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            enabled: false,
            window: default_drift_window(),
            length_psi: default_psi(),
            script_js: default_script_js(),
            ngram_js: default_ngram_js(),
            flagged_delta: default_flagged_delta(),
        }
    }
}

impl DriftConfig {
    /// The library's thresholds.
    pub fn thresholds(&self) -> rampart_guard::drift::Thresholds {
        rampart_guard::drift::Thresholds {
            psi: self.length_psi,
            script_js: self.script_js,
            ngram_js: self.ngram_js,
            flagged_delta: self.flagged_delta,
        }
    }
}

/// Public listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Address and port.
    #[serde(default = "default_listen")]
    pub addr: SocketAddr,
    /// PEM certificate chain: TLS (rustls) when set, together with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            addr: default_listen(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Admin listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    /// Address and port (loopback by default).
    #[serde(default = "default_admin")]
    pub addr: SocketAddr,
    /// Environment variable holding the admin token.
    #[serde(default = "default_admin_env")]
    pub token_env: String,
    /// File holding the admin token (instead of the environment).
    pub token_file: Option<PathBuf>,
    /// Serve `/metrics` without the admin token (for a Prometheus on the same host).
    #[serde(default)]
    pub metrics_without_token: bool,
}

fn default_admin() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8081))
}
fn default_admin_env() -> String {
    "RAMPART_ADMIN_TOKEN".into()
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            addr: default_admin(),
            token_env: default_admin_env(),
            token_file: None,
            metrics_without_token: false,
        }
    }
}

/// Where state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// SQLite database (keys, audit, and counters of a single instance).
    #[serde(default = "default_db")]
    pub sqlite: PathBuf,
    /// PostgreSQL connection string for keys and audit (several instances).
    pub postgres: Option<String>,
    /// Environment variable holding the PostgreSQL connection string (keeps passwords out of
    /// the file).
    pub postgres_env: Option<String>,
    /// Redis URL for shared counters (several instances).
    pub redis: Option<String>,
    /// When the counter store cannot be reached: refuse (default) or let requests through.
    #[serde(default)]
    pub on_counter_error: FailMode,
}

fn default_db() -> PathBuf {
    PathBuf::from("rampart.db")
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            sqlite: default_db(),
            postgres: None,
            postgres_env: None,
            redis: None,
            on_counter_error: FailMode::Closed,
        }
    }
}

/// What to do when enforcement cannot be decided.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Refuse the request (503).
    #[default]
    Closed,
    /// Let it through, logged as such.
    Open,
}

/// Audit policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Record full prompt and completion text, encrypted (opt-in).
    #[serde(default)]
    pub content: bool,
    /// Environment variable with the 32-byte content key (64 hex characters).
    pub content_key_env: Option<String>,
    /// File with the content key (64 hex characters).
    pub content_key_file: Option<PathBuf>,
    /// Ed25519 checkpoint signing key (PKCS#8 PEM); created 0600 beside the database when absent.
    pub signing_key: Option<PathBuf>,
    /// A signed checkpoint after this many records.
    #[serde(default = "default_cp_every")]
    pub checkpoint_every: u64,
    /// And at least this often (seconds) while records arrive.
    #[serde(default = "default_cp_secs")]
    pub checkpoint_secs: u64,
    /// Records older than this many days are pruned (0 = keep forever).
    #[serde(default)]
    pub retention_days: u64,
    /// `full`: fsync each group commit (survives power loss); `normal`: survives a crash of
    /// the gateway process, the OS writes back (see docs/gateway.md).
    #[serde(default)]
    pub sync: SyncMode,
}

fn default_cp_every() -> u64 {
    1000
}
fn default_cp_secs() -> u64 {
    60
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            content: false,
            content_key_env: None,
            content_key_file: None,
            signing_key: None,
            checkpoint_every: default_cp_every(),
            checkpoint_secs: default_cp_secs(),
            retention_days: 0,
            sync: SyncMode::Full,
        }
    }
}

/// SQLite durability.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// fsync at every group commit.
    #[default]
    Full,
    /// WAL without fsync per commit.
    Normal,
}

/// Global limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body, bytes (a key may lower it).
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// Tokens reserved for the completion when the request names no `max_tokens`.
    #[serde(default = "default_completion_estimate")]
    pub default_completion_tokens: u64,
    /// Connect timeout to upstreams, milliseconds.
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    /// Time to the upstream's response headers, milliseconds.
    #[serde(default = "default_header_ms")]
    pub response_timeout_ms: u64,
    /// Longest silence inside a streamed response, milliseconds.
    #[serde(default = "default_idle_ms")]
    pub stream_idle_timeout_ms: u64,
    /// Attempts per request across upstreams (1 = no retry).
    #[serde(default = "default_attempts")]
    pub max_attempts: usize,
    /// Consecutive failures that open an upstream's circuit.
    #[serde(default = "default_breaker")]
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one trial request, seconds.
    #[serde(default = "default_breaker_secs")]
    pub breaker_open_secs: u64,
}

fn default_body() -> usize {
    1 << 20
}
fn default_completion_estimate() -> u64 {
    1024
}
fn default_connect_ms() -> u64 {
    2000
}
fn default_header_ms() -> u64 {
    60_000
}
fn default_idle_ms() -> u64 {
    30_000
}
fn default_attempts() -> usize {
    2
}
fn default_breaker() -> u32 {
    5
}
fn default_breaker_secs() -> u64 {
    30
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: default_body(),
            default_completion_tokens: default_completion_estimate(),
            connect_timeout_ms: default_connect_ms(),
            response_timeout_ms: default_header_ms(),
            stream_idle_timeout_ms: default_idle_ms(),
            max_attempts: default_attempts(),
            breaker_failures: default_breaker(),
            breaker_open_secs: default_breaker_secs(),
        }
    }
}

/// Model-extraction signals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extraction {
    /// Compute the signals (cheap; on by default).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Slow a key down automatically when its score passes `alert_score`.
    #[serde(default)]
    pub throttle: bool,
    /// Score (0..1) above which an audit event is raised.
    #[serde(default = "default_alert")]
    pub alert_score: f64,
    /// Share of the key's requests/min limit left to it while throttled.
    #[serde(default = "default_throttle_share")]
    pub throttle_share: f64,
}

fn yes() -> bool {
    true
}
fn default_alert() -> f64 {
    0.8
}
fn default_throttle_share() -> f64 {
    0.1
}

impl Default for Extraction {
    fn default() -> Self {
        Extraction {
            enabled: true,
            throttle: false,
            alert_score: default_alert(),
            throttle_share: default_throttle_share(),
        }
    }
}

/// An upstream server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Name models refer to.
    pub name: Spanned<String>,
    /// Base URL (`http://host:port`, the `/v1/...` path is appended).
    pub url: String,
    /// Environment variable holding the upstream's API key (never in this file).
    pub api_key_env: Option<String>,
}

/// A model clients may ask for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Name clients use.
    pub name: Spanned<String>,
    /// Upstreams in order of preference; later ones take over on failure.
    pub upstreams: Vec<Spanned<String>>,
    /// Name the upstream knows the model by (default: `name`).
    pub upstream_model: Option<String>,
}

/// One guard stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// Name in audit records and metrics.
    pub name: Spanned<String>,
    /// What it checks.
    pub kind: GuardKind,
    /// Where it runs (default: `output` for a canary, `both` for a tool policy, else `input`).
    pub stage: Option<Stage>,
    /// What a match does.
    #[serde(default)]
    pub action: GuardAction,
    /// Only these routes (`chat`, `completions`, `embeddings`); empty = all.
    #[serde(default)]
    pub routes: Vec<String>,
    /// Only keys carrying one of these tags; empty = all keys.
    #[serde(default)]
    pub key_tags: Vec<String>,
    /// `prompt_limit`: longest prompt, characters.
    pub max_chars: Option<usize>,
    /// `prompt_limit`: most estimated prompt tokens.
    pub max_tokens: Option<u64>,
    /// `regex`: patterns (Rust regex syntax, linear time).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// `exfil`: hosts links may point at.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// `injection`: score threshold (default: the shipped model's).
    pub threshold: Option<f32>,
    /// Streaming: characters held back for a blocking/redacting output guard.
    #[serde(default = "default_window")]
    pub window: usize,
    /// `tool_policy`: the allowed tools and their rules (any tool not listed is denied).
    #[serde(default)]
    pub tools: BTreeMap<String, rampart_guard::tools::ToolSpec>,
}

fn default_window() -> usize {
    256
}

impl GuardConfig {
    /// The stage, with the kind's default when none is written.
    pub fn stage(&self) -> Stage {
        self.stage.unwrap_or(match self.kind {
            GuardKind::Canary => Stage::Output,
            GuardKind::ToolPolicy => Stage::Both,
            _ => Stage::Input,
        })
    }
}

/// Guard kinds.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// Size / token limit.
    PromptLimit,
    /// Regular-expression deny / redact list.
    Regex,
    /// Prompt injection and jailbreak classifier (rampart-guard).
    Injection,
    /// Secrets (rampart-guard).
    Secrets,
    /// Personal data (rampart-guard).
    Pii,
    /// Exfiltration links (rampart-guard).
    Exfil,
    /// Per-request canary in the system prompt; its echo in an output is a leak.
    Canary,
    /// Tool-call policy: tools a request may offer and calls a response may make.
    ToolPolicy,
    /// Invisible characters (tag characters, zero-width spaces, bidi controls, selector
    /// bytes) that can smuggle text past a reader; `redact` removes them.
    InvisibleText,
}

/// Input, output, or both.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Before forwarding.
    #[default]
    Input,
    /// On the response.
    Output,
    /// Both.
    Both,
}

/// Guard actions.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// Refuse the request / stop the response.
    #[default]
    Block,
    /// Replace what was found.
    Redact,
    /// Replace personal data with placeholders and restore them in the answer.
    Pseudonymise,
    /// Let it through; record and count.
    Flag,
}

impl Config {
    /// Parse and check a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parse and check configuration text.
    pub fn parse(text: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        cfg.check(text)?;
        Ok(cfg)
    }

    fn check(&self, text: &str) -> Result<()> {
        let at = |span: std::ops::Range<usize>, msg: String| {
            let line = text
                .get(..span.start)
                .map_or(0, |s| s.matches('\n').count())
                + 1;
            Error::Config(format!("line {line}: {msg}"))
        };
        let mut names = BTreeMap::new();
        for u in &self.upstreams {
            if names.insert(u.name.get_ref().clone(), ()).is_some() {
                return Err(at(
                    u.name.span(),
                    format!("upstream `{}` defined twice", u.name.get_ref()),
                ));
            }
            if !(u.url.starts_with("http://") || u.url.starts_with("https://")) {
                return Err(at(
                    u.name.span(),
                    format!(
                        "upstream `{}`: url must start with http:// or https://",
                        u.name.get_ref()
                    ),
                ));
            }
        }
        let mut models = BTreeMap::new();
        for m in &self.models {
            if models.insert(m.name.get_ref().clone(), ()).is_some() {
                return Err(at(
                    m.name.span(),
                    format!("model `{}` defined twice", m.name.get_ref()),
                ));
            }
            if m.upstreams.is_empty() {
                return Err(at(
                    m.name.span(),
                    format!("model `{}` names no upstream", m.name.get_ref()),
                ));
            }
            for u in &m.upstreams {
                if !names.contains_key(u.get_ref()) {
                    return Err(at(
                        u.span(),
                        format!(
                            "model `{}`: unknown upstream `{}` (define it under [[upstreams]])",
                            m.name.get_ref(),
                            u.get_ref()
                        ),
                    ));
                }
            }
        }
        let mut gnames = BTreeMap::new();
        for g in &self.guards {
            let name = g.name.get_ref();
            if gnames.insert(name.clone(), ()).is_some() {
                return Err(at(g.name.span(), format!("guard `{name}` defined twice")));
            }
            for r in &g.routes {
                if !["chat", "completions", "embeddings"].contains(&r.as_str()) {
                    return Err(at(
                        g.name.span(),
                        format!(
                            "guard `{name}`: unknown route `{r}` (chat, completions, embeddings)"
                        ),
                    ));
                }
            }
            match g.kind {
                GuardKind::PromptLimit if g.max_chars.is_none() && g.max_tokens.is_none() => {
                    return Err(at(
                        g.name.span(),
                        format!("guard `{name}`: prompt_limit needs max_chars or max_tokens"),
                    ));
                }
                GuardKind::Regex => {
                    if g.patterns.is_empty() {
                        return Err(at(
                            g.name.span(),
                            format!("guard `{name}`: regex needs patterns"),
                        ));
                    }
                    for p in &g.patterns {
                        regex::RegexBuilder::new(p)
                            .size_limit(1 << 20)
                            .build()
                            .map_err(|e| {
                                at(g.name.span(), format!("guard `{name}`: bad pattern: {e}"))
                            })?;
                    }
                }
                GuardKind::Canary if g.stage() == Stage::Input => {
                    return Err(at(
                        g.name.span(),
                        format!(
                            "guard `{name}`: a canary is checked on outputs; set stage = \"output\""
                        ),
                    ));
                }
                GuardKind::ToolPolicy => {
                    if g.action != GuardAction::Block && g.action != GuardAction::Flag {
                        return Err(at(
                            g.name.span(),
                            format!("guard `{name}`: a tool policy blocks or flags"),
                        ));
                    }
                    if g.routes.iter().any(|r| r != "chat") {
                        return Err(at(
                            g.name.span(),
                            format!("guard `{name}`: tool calls exist on the chat route only"),
                        ));
                    }
                    rampart_guard::tools::ToolPolicy::from_specs(g.tools.clone())
                        .map_err(|e| at(g.name.span(), format!("guard `{name}`: {e}")))?;
                }
                _ => {}
            }
            if g.kind != GuardKind::ToolPolicy && !g.tools.is_empty() {
                return Err(at(
                    g.name.span(),
                    format!("guard `{name}`: `tools` belongs to kind = \"tool_policy\""),
                ));
            }
            if g.action == GuardAction::Pseudonymise && g.kind != GuardKind::Pii {
                return Err(at(
                    g.name.span(),
                    format!("guard `{name}`: pseudonymise applies to pii guards only"),
                ));
            }
            if g.window == 0 || g.window > 65_536 {
                return Err(at(
                    g.name.span(),
                    format!("guard `{name}`: window must be 1..=65536"),
                ));
            }
        }
        if self.listen.tls_cert.is_some() != self.listen.tls_key.is_some() {
            return Err(Error::Config(
                "[listen]: tls_cert and tls_key go together".into(),
            ));
        }
        if self.limits.max_attempts == 0 {
            return Err(Error::Config(
                "[limits] max_attempts must be at least 1".into(),
            ));
        }
        if self.audit.content
            && self.audit.content_key_env.is_none()
            && self.audit.content_key_file.is_none()
        {
            return Err(Error::Config("[audit] content = true needs content_key_env or content_key_file (content is encrypted at rest)".into()));
        }
        if self.drift.window < 10 || self.drift.window > 1_000_000 {
            return Err(Error::Config(
                "[drift] window must be 10..=1000000 prompts".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.extraction.throttle_share) {
            return Err(Error::Config(
                "[extraction] throttle_share must be within 0..1".into(),
            ));
        }
        Ok(())
    }

    /// The upstream model name for a client model.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name.get_ref() == name)
    }
}

/// A commented, secure default configuration (`rampart serve --init`).
pub const INIT: &str = include_str!("init.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_config_is_valid() {
        let c = Config::parse(INIT).unwrap();
        assert_eq!(c.listen.addr.ip().to_string(), "127.0.0.1");
        assert_eq!(c.storage.on_counter_error, FailMode::Closed);
        assert!(!c.audit.content);
    }

    #[test]
    fn errors_point_at_the_line() {
        let e = Config::parse("[listen]\naddr = \"127.0.0.1:1\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = Config::parse("[[upstreams]]\nname = \"a\"\nurl = \"http://x\"\n\n[[models]]\nname = \"m\"\nupstreams = [\"b\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 7") && e.contains("unknown upstream `b`"),
            "{e}"
        );
        let e = Config::parse("[[guards]]\nname = \"r\"\nkind = \"regex\"\npatterns = [\"(\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("bad pattern"), "{e}");
    }
}
