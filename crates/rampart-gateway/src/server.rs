//! The gateway: one fail-closed decision point per request.
//!
//! authenticate → endpoint → parse → model → scopes → extraction signals → quota and rate
//! (atomic reservation) → input guards → forward (failover) → output guards → account
//! (reconcile tokens) → audit (durable) → respond.
//!
//! Every exit writes one audit record before the client gets its answer.

use crate::audit::{AuditLog, ContentKey, Record};
use crate::config::{Config, FailMode};
use crate::counters::{Counters, Exceeded, Limits as CLimits, Windows};
use crate::error::{Error, Result};
use crate::extraction::Tracker;
use crate::guard_pool::GuardPool;
use crate::guards::{
    Ctx, Deferred, DeferredVerdicts, Held, Pipeline, Verdicts, estimate_tokens, output_texts_mut,
    texts_mut,
};
use crate::keys::{KeyRecord, KeyStore};
use crate::metrics::{
    GuardLabels, KeyLabel, Metrics, ReqLabels, RouteLabel, TokenLabels, UpstreamErrLabels,
    UpstreamLabel,
};
use crate::openai;
use crate::upstream::{Circuit, FailKind, Upstreams};
use arc_swap::ArcSwap;
use axum::body::{Body, Bytes};
use axum::extract::{Path as AxPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use rampart_guard::drift::Monitor;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Everything a request needs.
pub struct Gateway {
    /// Current configuration (reloadable).
    pub cfg: ArcSwap<Config>,
    /// Current guard pipeline.
    pub pipeline: ArcSwap<Pipeline>,
    /// Upstreams.
    pub upstreams: ArcSwap<Upstreams>,
    /// Keys.
    pub keys: KeyStore,
    /// Counters.
    pub counters: Counters,
    /// Audit log.
    pub audit: AuditLog,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Extraction signals.
    pub tracker: Tracker,
    /// Content encryption (opt-in).
    pub content_key: Option<ContentKey>,
    /// The injection model, loaded when a guard first uses it.
    pub model: Arc<crate::guards::InjectionModel>,
    /// SHA-256 of the admin token (none: admin API refuses).
    pub admin_token: Option<[u8; 32]>,
    /// Configuration file, for reloads.
    pub config_path: Option<PathBuf>,
    /// Drift monitors by route.
    pub drift: std::sync::Mutex<std::collections::BTreeMap<&'static str, Monitor>>,
    /// Where deferred guards run: a fixed pool of one thread per core.
    pub guard_pool: GuardPool,
}

type Shared = Arc<Gateway>;

fn request_id() -> String {
    let mut b = [0u8; 12];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    format!("req_{}", hex::encode(b))
}

/// One request in flight: what the audit record and metrics will say.
struct Flight {
    t0: Instant,
    rec: Record,
    tag: String,
    upstream_time: Duration,
}

impl Flight {
    fn new(route: &str) -> Flight {
        let ms = crate::audit::now_ms();
        Flight {
            t0: Instant::now(),
            rec: Record {
                time: rampart_core::time::rfc3339_millis(ms),
                ts_ms: ms,
                request_id: request_id(),
                route: route.into(),
                ..Default::default()
            },
            tag: "none".into(),
            upstream_time: Duration::ZERO,
        }
    }
}

impl Gateway {
    /// Finish a request: audit (durable), metrics, then the response. An audit failure turns
    /// the answer into a 503: no response leaves without its record. The record's latency
    /// split stops before its own write; the overhead metric includes the write.
    async fn finish(&self, mut f: Flight, resp: Response) -> Response {
        let total = f.t0.elapsed();
        f.rec.status = resp.status().as_u16();
        f.rec.upstream_ms = f.upstream_time.as_secs_f64() * 1000.0;
        f.rec.gateway_ms = total.saturating_sub(f.upstream_time).as_secs_f64() * 1000.0;
        let rid = f.rec.request_id.clone();
        let written = self.audit.write(f.rec.clone()).await;
        self.observe(&f, f.t0.elapsed());
        match written {
            Ok(_) => resp,
            Err(e) => {
                tracing::error!(request_id = %rid, error = %e, "audit write failed; refusing the response");
                self.metrics.reject("audit_unavailable");
                openai::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_error",
                    "audit_unavailable",
                    "The audit log is unavailable; the request was not completed.",
                    &rid,
                )
            }
        }
    }

    fn observe(&self, f: &Flight, total: Duration) {
        let m = &self.metrics;
        m.requests
            .get_or_create(&ReqLabels {
                route: f.rec.route.clone(),
                model: f.rec.model.clone(),
                status: f.rec.status,
                key_tag: f.tag.clone(),
            })
            .inc();
        let rl = RouteLabel {
            route: f.rec.route.clone(),
        };
        m.duration.get_or_create(&rl).observe(total.as_secs_f64());
        m.overhead
            .get_or_create(&rl)
            .observe(total.saturating_sub(f.upstream_time).as_secs_f64());
        if !f.rec.upstream.is_empty() {
            m.upstream_time
                .get_or_create(&UpstreamLabel {
                    upstream: f.rec.upstream.clone(),
                })
                .observe(f.upstream_time.as_secs_f64());
        }
        if f.rec.prompt_tokens + f.rec.completion_tokens > 0 {
            m.tokens
                .get_or_create(&TokenLabels {
                    model: f.rec.model.clone(),
                    kind: "prompt".into(),
                })
                .inc_by(f.rec.prompt_tokens);
            m.tokens
                .get_or_create(&TokenLabels {
                    model: f.rec.model.clone(),
                    kind: "completion".into(),
                })
                .inc_by(f.rec.completion_tokens);
        }
        for g in &f.rec.guards {
            m.guards
                .get_or_create(&GuardLabels {
                    guard: g.guard.clone(),
                    stage: g.stage.clone(),
                    verdict: g.verdict.clone(),
                })
                .inc();
        }
    }

    /// Answer a tool-policy refusal (request offers or response calls).
    async fn tool_refuse(&self, mut f: Flight, r: &crate::guards::ToolRefusal) -> Response {
        let (status, code, body) = crate::tools::refusal(r, &f.rec.request_id);
        self.metrics.reject(code);
        f.rec.reason = Some(code.to_string());
        let mut resp = (status, Json(body)).into_response();
        if let rampart_guard::tools::Decision::RateLimited { retry_after_s } = r.decision {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        let rid = f.rec.request_id.clone();
        self.finish(f, with_id(resp, &rid)).await
    }

    /// Count one prompt in the route's drift monitor, with what the input guards made of it
    /// (all of them: call after deferred stages are applied); a completed window's report goes
    /// to the metrics, the log and (returned) the audit record of the request that completed it.
    fn observe_drift(
        &self,
        cfg: &Config,
        route: &'static str,
        text: Option<&str>,
        cx: &Ctx,
        verdicts: &Verdicts,
    ) -> Option<Value> {
        let text = text.filter(|_| cfg.drift.enabled)?;
        let score = f32::from_bits(
            cx.injection_score
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let flagged = verdicts
            .0
            .iter()
            .any(|g| g.stage == "input" && g.verdict != "pass" && g.verdict != "skipped");
        let report = {
            let mut all = self.drift.lock().unwrap_or_else(|p| p.into_inner());
            let mon = all
                .entry(route)
                .or_insert_with(|| Monitor::new(cfg.drift.window));
            if mon.window() != cfg.drift.window {
                *mon = Monitor::new(cfg.drift.window);
            }
            mon.thresholds = cfg.drift.thresholds();
            mon.add(text, score, flagged)?
        };
        let label = |signal: &str| crate::metrics::DriftLabels {
            route: route.to_string(),
            signal: signal.to_string(),
        };
        for (name, val) in [
            ("length_psi", report.length_psi),
            ("script_js", report.script_js),
            ("ngram_js", report.ngram_js),
            ("score_mean", report.score_mean.1),
            ("flagged_share", report.flagged_share.1),
        ] {
            self.metrics.drift.get_or_create(&label(name)).set(val);
        }
        for s in &report.signals {
            self.metrics.drift_alerts.get_or_create(&label(s)).inc();
        }
        if !report.alerts.is_empty() {
            tracing::warn!(route, alerts = %report.alerts.join("; "), "input drift against the baseline window");
        }
        serde_json::to_value(&report).ok()
    }

    async fn refuse(
        &self,
        mut f: Flight,
        status: StatusCode,
        kind: &str,
        code: &str,
        msg: &str,
    ) -> Response {
        self.metrics.reject(code);
        f.rec.reason = Some(code.to_string());
        let r = openai::error(status, kind, code, msg, &f.rec.request_id);
        self.finish(f, r).await
    }

    /// Refuse a request an input guard blocked (or failed on).
    async fn guard_refuse(&self, f: Flight, guard: &str, label: &str) -> Response {
        let msg = format!("The request was blocked by the `{guard}` guard ({label}).");
        self.refuse(
            f,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "content_policy_violation",
            &msg,
        )
        .await
    }

    async fn authenticate(
        &self,
        headers: &HeaderMap,
        f: &mut Flight,
    ) -> std::result::Result<Arc<KeyRecord>, (StatusCode, &'static str, &'static str)> {
        let Some(auth) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err((
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "No API key: send `Authorization: Bearer <key>`.",
            ));
        };
        let secret = auth.strip_prefix("Bearer ").map(str::trim).unwrap_or("");
        if secret.is_empty() || secret.len() > 256 {
            return Err((
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "Invalid API key.",
            ));
        }
        let key = match self.keys.lookup(secret).await {
            Ok(Some(k)) => k,
            Ok(None) => {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "invalid_api_key",
                    "Invalid API key.",
                ));
            }
            Err(e) => {
                tracing::error!(error = %e, "key store unavailable");
                return Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "key_store_unavailable",
                    "The key store is unavailable; try again later.",
                ));
            }
        };
        f.rec.key_id = key.id.clone();
        f.tag = key.metric_tag().to_string();
        if !key.active(f.rec.ts_ms / 1000) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "This API key has been revoked or has expired.",
            ));
        }
        Ok(key)
    }
}

/// Public routes.
pub fn public_router(gw: Shared) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(gw)
}

async fn not_found() -> Response {
    openai::error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "unknown_url",
        "Unknown request URL. See /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.",
        &request_id(),
    )
}

async fn method_not_allowed() -> Response {
    openai::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "method_not_allowed",
        "Method not allowed for this URL.",
        &request_id(),
    )
}

async fn chat(State(gw): State<Shared>, req: Request) -> Response {
    handle(gw, "chat", req).await
}
async fn completions(State(gw): State<Shared>, req: Request) -> Response {
    handle(gw, "completions", req).await
}
async fn embeddings(State(gw): State<Shared>, req: Request) -> Response {
    handle(gw, "embeddings", req).await
}

async fn models(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    let mut f = Flight::new("models");
    let key = match gw.authenticate(&headers, &mut f).await {
        Ok(k) => k,
        Err((s, code, msg)) => return gw.refuse(f, s, "invalid_request_error", code, msg).await,
    };
    let cfg = gw.cfg.load();
    let data: Vec<Value> = cfg
        .models
        .iter()
        .filter(|m| key.allows_model(m.name.get_ref()))
        .map(|m| serde_json::json!({"id": m.name.get_ref(), "object": "model", "created": 0, "owned_by": "rampart"}))
        .collect();
    let r = with_id(
        Json(serde_json::json!({"object": "list", "data": data})).into_response(),
        &f.rec.request_id,
    );
    gw.finish(f, r).await
}

fn with_id(mut r: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

async fn handle(gw: Shared, route: &'static str, req: Request) -> Response {
    let mut f = Flight::new(route);
    let cfg = gw.cfg.load_full();
    let pipeline = gw.pipeline.load_full();
    f.rec.guards = pipeline.skipped().0;
    let (parts, body) = req.into_parts();

    // Authenticate.
    let key = match gw.authenticate(&parts.headers, &mut f).await {
        Ok(k) => k,
        Err((s, code, msg)) => return gw.refuse(f, s, "invalid_request_error", code, msg).await,
    };
    if !key.allows_endpoint(route) {
        return gw
            .refuse(
                f,
                StatusCode::FORBIDDEN,
                "permission_error",
                "endpoint_not_allowed",
                &format!("This key may not call the `{route}` endpoint."),
            )
            .await;
    }

    // Body (bounded), then JSON.
    let limit = key
        .spec
        .max_body_bytes
        .map_or(cfg.limits.max_body_bytes, |k| {
            k.min(cfg.limits.max_body_bytes)
        });
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return gw
                .refuse(
                    f,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request_error",
                    "request_too_large",
                    &format!("Request body larger than {limit} bytes."),
                )
                .await;
        }
    };
    f.rec.prompt_sha256 = sha256_hex(&body);
    f.rec.prompt_bytes = body.len() as u64;
    let mut v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return gw
                .refuse(
                    f,
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "invalid_json",
                    "The request body is not a JSON object.",
                )
                .await;
        }
    };
    let Some(model) = v.get("model").and_then(Value::as_str).map(str::to_string) else {
        return gw
            .refuse(
                f,
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "missing_model",
                "The request names no `model`.",
            )
            .await;
    };
    f.rec.model = model.chars().take(128).collect();
    let Some(mcfg) = cfg.model(&model).filter(|_| key.allows_model(&model)) else {
        // Same answer for unknown and not granted: a key cannot probe which models exist.
        let msg = format!(
            "The model `{}` does not exist or you do not have access to it.",
            f.rec.model
        );
        return gw
            .refuse(
                f,
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
                &msg,
            )
            .await;
    };
    for s in openai::needed_scopes(route, &v) {
        if !key.has_scope(s) {
            return gw
                .refuse(
                    f,
                    StatusCode::FORBIDDEN,
                    "permission_error",
                    "scope_not_granted",
                    &format!("This key lacks the `{s}` scope."),
                )
                .await;
        }
    }
    let stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    f.rec.stream = stream;

    // Extraction signals over the prompt text.
    let now = crate::audit::now_ms();
    let w = Windows::at(now.max(0) as u64);
    let mut rpm = key.spec.rpm;
    let (prompt_text, prompt_len) = {
        let texts = texts_mut(route, &mut v);
        let len: usize = texts.iter().map(|s| s.len()).sum();
        // Joined once for the extraction signals and the drift monitor, as the client sent it.
        let joined = (cfg.extraction.enabled || cfg.drift.enabled).then(|| {
            texts
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        });
        (joined, len)
    };
    if let Some(text) = prompt_text.as_deref().filter(|_| cfg.extraction.enabled) {
        let sig = gw.tracker.observe(&key.id, text, w.minute);
        for (name, val) in [
            ("volume", sig.volume),
            ("templated", sig.templated),
            ("breadth", sig.breadth),
            ("score", sig.score),
        ] {
            gw.metrics
                .extraction
                .get_or_create(&KeyLabel {
                    key_id: key.id.clone(),
                    signal: name.into(),
                })
                .set(val);
        }
        if sig.score >= cfg.extraction.alert_score {
            f.rec.extraction = serde_json::to_value(sig).ok();
            if cfg.extraction.throttle {
                let base = rpm.unwrap_or(60);
                rpm = Some(((base as f64 * cfg.extraction.throttle_share).floor() as u64).max(1));
            }
        }
    }

    // Quota and rate: reserve the worst case, reconcile later.
    let prompt_est = estimate_tokens(prompt_len);
    let reserve = prompt_est
        + if route == "embeddings" {
            0
        } else {
            openai::max_completion(&v, cfg.limits.default_completion_tokens)
        };
    let lim = CLimits {
        rpm,
        tpm: key.spec.tpm,
        tpd: key.spec.tokens_per_day,
        tpmo: key.spec.tokens_per_month,
    };
    let mut reserved = true;
    match gw.counters.reserve(&key.id, &lim, reserve, &w).await {
        Ok(None) => {}
        Ok(Some(x)) => {
            let (code, msg) = match x {
                Exceeded::Rpm => (
                    "rate_limit_exceeded",
                    "Rate limit reached (requests per minute).",
                ),
                Exceeded::Tpm => (
                    "rate_limit_exceeded",
                    "Rate limit reached (tokens per minute).",
                ),
                Exceeded::Day => ("insufficient_quota", "Daily token quota exhausted."),
                Exceeded::Month => ("insufficient_quota", "Monthly token quota exhausted."),
            };
            gw.metrics.reject(x.as_str());
            f.rec.reason = Some(x.as_str().into());
            let mut r = openai::error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                code,
                msg,
                &f.rec.request_id,
            );
            let retry = if matches!(x, Exceeded::Rpm | Exceeded::Tpm) {
                w.retry_after()
            } else {
                3600
            };
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry));
            return gw.finish(f, r).await;
        }
        Err(e) => match cfg.storage.on_counter_error {
            FailMode::Closed => {
                tracing::error!(error = %e, "counter store unavailable; refusing (fail closed)");
                return gw
                    .refuse(
                        f,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "server_error",
                        "limits_unavailable",
                        "Limits cannot be checked right now; try again later.",
                    )
                    .await;
            }
            FailMode::Open => {
                tracing::warn!(error = %e, request_id = %f.rec.request_id, "counter store unavailable; letting the request through unmetered (on_counter_error = \"open\")");
                gw.metrics.fail_open.inc();
                reserved = false;
            }
        },
    }
    let refund = |gw: Shared, key: String| async move {
        if reserved {
            let _ = gw.counters.settle(&key, -(reserve as i64), &w).await;
        }
    };

    // Input guards, then the tool policy on the tools offered.
    let mut cx = Ctx::default();
    let mut verdicts = Verdicts(std::mem::take(&mut f.rec.guards));
    let tags = key.spec.tags.clone();
    // Stages that only flag run on a blocking thread while the upstream answers: they change
    // nothing that is sent, and their verdicts are joined before the record is written.
    let (blocked, deferred) =
        match pipeline.input_deferring(route, &tags, &mut v, &mut cx, &mut verdicts, true) {
            Ok(d) => (None, d),
            Err(b) => (Some(b), Deferred::default()),
        };
    let tool_refused = if blocked.is_none() && route == "chat" {
        pipeline.tool_offers(route, &tags, &v, &mut verdicts).err()
    } else {
        None
    };
    let deferred = if deferred.is_empty() {
        None
    } else if tool_refused.is_some() {
        pipeline.run_deferred(deferred).apply(&mut verdicts, &cx);
        None
    } else {
        let (p, stages) = (pipeline.clone(), deferred.stages());
        Some((gw.guard_pool.run(move || p.run_deferred(deferred)), stages))
    };
    if deferred.is_none() {
        f.rec.drift = gw.observe_drift(&cfg, route, prompt_text.as_deref(), &cx, &verdicts);
    }
    if let Some(r) = tool_refused {
        f.rec.guards = verdicts.0;
        refund(gw.clone(), key.id.clone()).await;
        return gw.tool_refuse(f, &r).await;
    }
    if let Some(b) = blocked {
        f.rec.guards = verdicts.0;
        refund(gw.clone(), key.id.clone()).await;
        return gw.guard_refuse(f, &b.guard, b.label).await;
    }

    // What the model will be shown: the request as forwarded (after input guards rewrote
    // it, canary line included), for exfiltration checks of the answer.
    if pipeline.checks_exfil_on_output(route, &tags) {
        cx.exfil_context = Some(rampart_guard::exfil::Context::new(
            crate::guards::exfil_context_texts(route, &v),
        ));
    }

    // Forward.
    let client_wants_usage = v
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "model".into(),
            Value::String(mcfg.upstream_model.clone().unwrap_or_else(|| model.clone())),
        );
        if stream && route != "embeddings" {
            obj.insert(
                "stream_options".into(),
                serde_json::json!({"include_usage": true}),
            );
        }
    }
    let out_body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    let order: Vec<String> = mcfg.upstreams.iter().map(|u| u.get_ref().clone()).collect();
    let ups = gw.upstreams.load_full();
    let t_up = Instant::now();
    let metrics = gw.metrics.clone();
    let on_fail = move |u: &crate::upstream::Upstream, k: FailKind| {
        metrics
            .upstream_errors
            .get_or_create(&UpstreamErrLabels {
                upstream: u.name.clone(),
                kind: k.as_str().into(),
            })
            .inc();
        let state = match u.circuit(crate::audit::now_ms()) {
            Circuit::Closed => 0,
            Circuit::Open => 1,
            Circuit::HalfOpen => 2,
        };
        metrics
            .circuit
            .get_or_create(&UpstreamLabel {
                upstream: u.name.clone(),
            })
            .set(state);
    };
    let fwd = ups
        .forward(
            &order,
            openai::path_of(route),
            out_body.clone(),
            &cfg.limits,
            &on_fail,
        )
        .await;
    if let Some((task, stages)) = deferred {
        let found = task.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "deferred input guards did not finish");
            DeferredVerdicts::lost(&pipeline, &stages)
        });
        let failed = found.failed().map(str::to_string);
        found.apply(&mut verdicts, &cx);
        f.rec.drift = gw.observe_drift(&cfg, route, prompt_text.as_deref(), &cx, &verdicts);
        if let Some(guard) = failed {
            // The upstream has answered (its tokens stay counted); the client gets no answer.
            f.upstream_time = t_up.elapsed();
            f.rec.guards = verdicts.0;
            return gw.guard_refuse(f, &guard, "GUARD_ERROR").await;
        }
    }
    let fwd = match fwd {
        Ok(x) => x,
        Err(ex) => {
            f.upstream_time = t_up.elapsed();
            f.rec.attempts = ex.attempts;
            f.rec.guards = verdicts.0;
            refund(gw.clone(), key.id.clone()).await;
            let (status, code, msg) = match (ex.attempts, ex.last) {
                (0, _) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream_unavailable",
                    "Every upstream for this model is unavailable (circuit open); try again later.",
                ),
                (_, Some(FailKind::Timeout)) => (
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    "The upstream did not answer in time.",
                ),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    "The upstream failed to answer.",
                ),
            };
            return gw.refuse(f, status, "server_error", code, msg).await;
        }
    };
    for u in &ups.list {
        gw.metrics
            .circuit
            .get_or_create(&UpstreamLabel {
                upstream: u.name.clone(),
            })
            .set(match u.circuit(crate::audit::now_ms()) {
                Circuit::Closed => 0,
                Circuit::Open => 1,
                Circuit::HalfOpen => 2,
            });
    }
    f.rec.upstream = fwd.upstream.name.clone();
    f.rec.attempts = fwd.attempts;
    let status = fwd.response.status();
    let is_sse = fwd
        .response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));

    if stream && is_sse && status.is_success() {
        let ctx = StreamJob {
            gw: gw.clone(),
            f,
            route,
            tags,
            cx,
            verdicts,
            pipeline,
            key_id: key.id.clone(),
            reserve: if reserved { reserve } else { 0 },
            w,
            prompt_est,
            client_wants_usage,
            t_up,
            content: gw
                .content_key
                .is_some()
                .then(|| String::from_utf8_lossy(&out_body).into_owned()),
            idle: Duration::from_millis(cfg.limits.stream_idle_timeout_ms),
        };
        let (tx, rx) = mpsc::channel::<std::result::Result<Bytes, std::io::Error>>(8);
        let rid = ctx.f.rec.request_id.clone();
        tokio::spawn(pump(ctx, fwd.response, tx));
        let body = Body::from_stream(tokio_stream_from(rx));
        let mut r = Response::new(body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return with_id(r, &rid);
    }

    // Whole response.
    let read = tokio::time::timeout(
        Duration::from_millis(cfg.limits.response_timeout_ms),
        read_limited(fwd.response, 64 << 20),
    )
    .await;
    f.upstream_time = t_up.elapsed();
    let body = match read {
        Ok(Ok(b)) => b,
        _ => {
            f.rec.guards = verdicts.0;
            refund(gw.clone(), key.id.clone()).await;
            return gw
                .refuse(
                    f,
                    StatusCode::BAD_GATEWAY,
                    "server_error",
                    "upstream_error",
                    "The upstream's response could not be read.",
                )
                .await;
        }
    };
    let mut parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let (pt, ct, est) = match parsed.as_ref().and_then(openai::usage) {
        Some((p, c)) => (p, c, false),
        None => (prompt_est, 0, true),
    };
    f.rec.prompt_tokens = pt;
    f.rec.completion_tokens = ct;
    f.rec.tokens_estimated = est;
    if reserved {
        let _ = gw
            .counters
            .settle(&key.id, (pt + ct) as i64 - reserve as i64, &w)
            .await;
    }
    let mut out = body.clone();
    let mut completion = String::new();
    if status.is_success() && route != "embeddings" {
        let has_output_stages =
            pipeline.output_stages(route, &tags).next().is_some() || !cx.vault.is_empty();
        if let Some(p) = parsed.as_mut() {
            let mut changed = false;
            for t in output_texts_mut(route, p) {
                if has_output_stages {
                    match pipeline.output_text(route, &tags, t, &mut cx, &mut verdicts) {
                        Ok(new) => {
                            if new != *t {
                                *t = new;
                                changed = true;
                            }
                        }
                        Err(b) => {
                            f.rec.guards = verdicts.0;
                            f.rec.completion_sha256 = sha256_hex(&body);
                            f.rec.completion_bytes = body.len() as u64;
                            let msg = format!(
                                "The response was blocked by the `{}` guard ({}).",
                                b.guard, b.label
                            );
                            return gw
                                .refuse(
                                    f,
                                    StatusCode::BAD_REQUEST,
                                    "invalid_request_error",
                                    "content_policy_violation",
                                    &msg,
                                )
                                .await;
                        }
                    }
                }
                completion.push_str(t);
            }
            if changed {
                out = Bytes::from(serde_json::to_vec(p).unwrap_or_default());
            }
        } else if has_output_stages {
            // An answer the guards cannot read does not pass them.
            f.rec.guards = verdicts.0;
            return gw
                .refuse(
                    f,
                    StatusCode::BAD_GATEWAY,
                    "server_error",
                    "upstream_error",
                    "The upstream's response is not JSON; output guards cannot check it.",
                )
                .await;
        }
    }
    if status.is_success() && route == "chat" && pipeline.decides_tool_calls(route, &tags) {
        let decided = match parsed.as_ref() {
            Some(p) => {
                let calls = rampart_guard::tools::response_calls(p);
                let metrics = gw.metrics.clone();
                pipeline
                    .tool_calls(
                        route,
                        &tags,
                        &key.id,
                        &calls,
                        &mut verdicts,
                        &mut |g, t, d| count_tool_call(&metrics, g, t, d),
                    )
                    .map_err(Some)
            }
            None => Err(None),
        };
        if let Err(r) = decided {
            f.rec.guards = verdicts.0;
            f.rec.completion_sha256 = sha256_hex(&body);
            f.rec.completion_bytes = body.len() as u64;
            return match r {
                Some(r) => gw.tool_refuse(f, &r).await,
                None => {
                    gw.refuse(
                        f,
                        StatusCode::BAD_GATEWAY,
                        "server_error",
                        "upstream_error",
                        "The upstream's response is not JSON; the tool policy cannot check it.",
                    )
                    .await
                }
            };
        }
    }
    f.rec.guards = verdicts.0;
    f.rec.completion_sha256 = sha256_hex(if completion.is_empty() {
        &body
    } else {
        completion.as_bytes()
    });
    f.rec.completion_bytes = if completion.is_empty() {
        body.len()
    } else {
        completion.len()
    } as u64;
    if let Some(k) = &gw.content_key {
        let plain = serde_json::json!({"request": String::from_utf8_lossy(&out_body), "response": String::from_utf8_lossy(&out)});
        f.rec.content = k.seal(plain.to_string().as_bytes(), &f.rec.request_id).ok();
    }
    let mut r = Response::new(Body::from(out));
    *r.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let rid = f.rec.request_id.clone();
    gw.finish(f, with_id(r, &rid)).await
}

async fn read_limited(resp: reqwest::Response, limit: usize) -> std::result::Result<Bytes, ()> {
    let mut s = resp.bytes_stream();
    let mut buf = Vec::new();
    while let Some(c) = s.next().await {
        let c = c.map_err(|_| ())?;
        if buf.len() + c.len() > limit {
            return Err(());
        }
        buf.extend_from_slice(&c);
    }
    Ok(Bytes::from(buf))
}

fn tokio_stream_from(
    mut rx: mpsc::Receiver<std::result::Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = std::result::Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

struct StreamJob {
    gw: Shared,
    f: Flight,
    route: &'static str,
    tags: Vec<String>,
    cx: Ctx,
    verdicts: Verdicts,
    pipeline: Arc<Pipeline>,
    key_id: String,
    reserve: u64,
    w: Windows,
    prompt_est: u64,
    client_wants_usage: bool,
    t_up: Instant,
    content: Option<String>,
    idle: Duration,
}

impl StreamJob {
    /// Decide one choice's whole tool calls; a refusal gives its code and the error event that
    /// ends the stream.
    fn decide_tool_calls(
        &mut self,
        calls: &[(u64, rampart_guard::tools::ToolCall)],
        metrics: &Metrics,
    ) -> std::result::Result<(), (&'static str, Bytes)> {
        let only: Vec<_> = calls.iter().map(|c| c.1.clone()).collect();
        self.pipeline
            .tool_calls(
                self.route,
                &self.tags,
                &self.key_id,
                &only,
                &mut self.verdicts,
                &mut |g, t, d| count_tool_call(metrics, g, t, d),
            )
            .map_err(|r| {
                let (_, code, body) = crate::tools::refusal(&r, &self.f.rec.request_id);
                (code, sse(&body))
            })
    }
}

const MAX_EVENT: usize = 1 << 20;
const MAX_KEPT: usize = 4 << 20;

/// Read the upstream's events, scan, forward with backpressure (the channel holds 8 chunks:
/// a slow client slows the upstream read), then audit before the final `[DONE]`.
async fn pump(
    mut j: StreamJob,
    resp: reqwest::Response,
    tx: mpsc::Sender<std::result::Result<Bytes, std::io::Error>>,
) {
    let holding = j.pipeline.holds(j.route, &j.tags, &j.cx);
    let mut gate = (j.route == "chat" && j.pipeline.decides_tool_calls(j.route, &j.tags))
        .then(crate::tools::Gate::default);
    let tool_metrics = j.gw.metrics.clone();
    let mut upstream = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut choices: std::collections::BTreeMap<u64, Held> = Default::default();
    let mut completion = String::new();
    let mut usage: Option<(u64, u64)> = None;
    let mut saw_done = false;
    let mut reason: Option<&'static str> = None;
    let mut template: Option<Value> = None;
    let mut waited = Duration::ZERO;
    'read: loop {
        let t = Instant::now();
        let next = tokio::time::timeout(j.idle, upstream.next()).await;
        waited += t.elapsed();
        let chunk = match next {
            Err(_) => {
                reason = Some("upstream_stream_timeout");
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                reason = Some("upstream_stream_error");
                break;
            }
            Ok(Some(Ok(c))) => c,
        };
        buf.extend_from_slice(&chunk);
        while let Some((end, skip)) = event_end(&buf) {
            let ev: Vec<u8> = buf.drain(..end + skip).collect();
            let Some(ev_text) = ev.get(..end).and_then(|e| std::str::from_utf8(e).ok()) else {
                continue;
            };
            let data: String = ev_text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect::<Vec<_>>()
                .join("\n");
            if data.is_empty() {
                continue;
            }
            if data.trim() == "[DONE]" {
                saw_done = true;
                continue;
            }
            let Ok(mut v) = serde_json::from_str::<Value>(&data) else {
                if holding {
                    // Unreadable events are not scanned, so they do not pass.
                    continue;
                }
                if tx.send(Ok(Bytes::from(ev))).await.is_err() {
                    reason = Some("client_disconnected");
                    break 'read;
                }
                continue;
            };
            if let Some(u) = openai::usage(&v) {
                usage = Some(u);
            }
            let no_choices = v
                .get("choices")
                .and_then(Value::as_array)
                .is_none_or(|c| c.is_empty());
            if no_choices && v.get("usage").is_some_and(|u| !u.is_null()) && !j.client_wants_usage {
                continue;
            }
            // Tool calls: held until whole, then decided; a refusal ends the stream.
            let mut rewritten = false;
            if let Some(g) = gate.as_mut() {
                if template.is_none() {
                    template = Some(v.clone());
                }
                match g.absorb(&mut v) {
                    Ok(changed) => rewritten = changed,
                    Err(_) => {
                        reason = Some("output_too_large");
                        break 'read;
                    }
                }
                for idx in g.finishing(&v) {
                    let calls = g.take(idx);
                    if let Err((code, event)) = j.decide_tool_calls(&calls, &tool_metrics) {
                        let _ = tx.send(Ok(event)).await;
                        reason = Some(code);
                        break 'read;
                    }
                    crate::tools::release(&mut v, idx, &calls);
                    rewritten = true;
                }
            }
            if !holding {
                if let Some(cs) = v.get("choices").and_then(Value::as_array) {
                    for c in cs {
                        if let Some(s) = delta_text(j.route, c)
                            && completion.len() < MAX_KEPT
                        {
                            completion.push_str(s);
                        }
                    }
                }
                let out = if !rewritten {
                    Bytes::from(ev)
                } else if crate::tools::is_empty_chunk(&v) {
                    continue;
                } else {
                    sse(&v)
                };
                if tx.send(Ok(out)).await.is_err() {
                    reason = Some("client_disconnected");
                    break 'read;
                }
                continue;
            }
            // Holding: take the text out, release what has been scanned.
            if template.is_none() {
                template = Some(v.clone());
            }
            let mut emit = false;
            if let Some(cs) = v.get_mut("choices").and_then(Value::as_array_mut) {
                for c in cs.iter_mut() {
                    let idx = c.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let finishing = c.get("finish_reason").is_some_and(|r| !r.is_null());
                    let st = choices.entry(idx).or_default();
                    if let Some(s) = delta_text(j.route, c) {
                        st.pending.push_str(s);
                    }
                    if st.pending.len() > MAX_EVENT * 4 {
                        reason = Some("output_too_large");
                        break 'read;
                    }
                    let released = match j.pipeline.release(
                        j.route,
                        &j.tags,
                        st,
                        finishing,
                        &mut j.cx,
                        &mut j.verdicts,
                    ) {
                        Ok(r) => r,
                        Err(b) => {
                            let _ = tx.send(Ok(blocked_event(&b))).await;
                            reason = Some("output_blocked");
                            break 'read;
                        }
                    };
                    if completion.len() < MAX_KEPT {
                        completion.push_str(&released);
                    }
                    let other = c
                        .get("delta")
                        .and_then(Value::as_object)
                        .is_some_and(|d| d.keys().any(|k| k != "content"))
                        || finishing
                        || c.get("logprobs").is_some_and(|l| !l.is_null());
                    emit |= !released.is_empty() || other;
                    set_delta_text(j.route, c, released);
                }
                if cs.is_empty() {
                    emit = true;
                }
            }
            if emit && tx.send(Ok(sse(&v))).await.is_err() {
                reason = Some("client_disconnected");
                break 'read;
            }
        }
        if buf.len() > MAX_EVENT {
            reason = Some("upstream_event_too_large");
            break;
        }
    }
    drop(upstream);
    // Flush what is still held (only when the stream ended normally).
    if holding && reason.is_none() {
        for (idx, st) in choices.iter_mut() {
            if st.pending.is_empty() {
                continue;
            }
            match j
                .pipeline
                .release(j.route, &j.tags, st, true, &mut j.cx, &mut j.verdicts)
            {
                Ok(r) if r.is_empty() => {}
                Ok(r) => {
                    completion.push_str(&r);
                    let mut ev = template
                        .clone()
                        .unwrap_or_else(|| serde_json::json!({"object": "chat.completion.chunk"}));
                    let delta = if j.route == "chat" {
                        serde_json::json!({"index": idx, "delta": {"content": r}, "finish_reason": null})
                    } else {
                        serde_json::json!({"index": idx, "text": r, "finish_reason": null})
                    };
                    ev["choices"] = Value::Array(vec![delta]);
                    if tx.send(Ok(sse(&ev))).await.is_err() {
                        reason = Some("client_disconnected");
                    }
                }
                Err(b) => {
                    let _ = tx.send(Ok(blocked_event(&b))).await;
                    reason = Some("output_blocked");
                    break;
                }
            }
        }
    }
    // Calls whose choice never said it finished: decided at the end like the others.
    if let Some(g) = gate.as_mut()
        && reason.is_none()
    {
        for idx in g.pending_choices() {
            let calls = g.take(idx);
            if let Err((code, event)) = j.decide_tool_calls(&calls, &tool_metrics) {
                let _ = tx.send(Ok(event)).await;
                reason = Some(code);
                break;
            }
            let mut ev = template
                .clone()
                .unwrap_or_else(|| serde_json::json!({"object": "chat.completion.chunk"}));
            ev["choices"] = serde_json::json!([{"index": idx, "delta": {}, "finish_reason": null}]);
            crate::tools::release(&mut ev, idx, &calls);
            if tx.send(Ok(sse(&ev))).await.is_err() {
                reason = Some("client_disconnected");
                break;
            }
        }
    }
    // Flag-only output guards on the whole text when nothing was held.
    if !holding && reason.is_none() && j.pipeline.output_stages(j.route, &j.tags).next().is_some() {
        let _ = j
            .pipeline
            .output_text(j.route, &j.tags, &completion, &mut j.cx, &mut j.verdicts);
    }
    let mut f = j.f;
    f.upstream_time = waited.min(j.t_up.elapsed());
    f.rec.reason = reason.map(str::to_string);
    let (pt, ct, est) = match usage {
        Some((p, c)) => (p, c, false),
        None => (j.prompt_est, estimate_tokens(completion.len()), true),
    };
    f.rec.prompt_tokens = pt;
    f.rec.completion_tokens = ct;
    f.rec.tokens_estimated = est;
    if j.reserve > 0 {
        let _ =
            j.gw.counters
                .settle(&j.key_id, (pt + ct) as i64 - j.reserve as i64, &j.w)
                .await;
    }
    f.rec.guards = j.verdicts.0;
    f.rec.completion_sha256 = sha256_hex(completion.as_bytes());
    f.rec.completion_bytes = completion.len() as u64;
    if let (Some(k), Some(req)) = (&j.gw.content_key, &j.content) {
        let plain = serde_json::json!({"request": req, "response": completion});
        f.rec.content = k.seal(plain.to_string().as_bytes(), &f.rec.request_id).ok();
    }
    let total = f.t0.elapsed();
    f.rec.status = 200;
    f.rec.upstream_ms = f.upstream_time.as_secs_f64() * 1000.0;
    f.rec.gateway_ms = total.saturating_sub(f.upstream_time).as_secs_f64() * 1000.0;
    let written = j.gw.audit.write(f.rec.clone()).await;
    j.gw.observe(&f, f.t0.elapsed());
    match written {
        Ok(_) => {
            if saw_done && reason.is_none() {
                let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "audit write failed at the end of a stream; ending it without [DONE]");
            let _ = tx.send(Ok(sse(&serde_json::json!({"error": {"message": "The audit log is unavailable.", "type": "server_error", "code": "audit_unavailable"}})))).await;
        }
    }
}

fn count_tool_call(m: &Metrics, guard: &str, tool: &str, d: &rampart_guard::tools::Decision) {
    m.tool_calls
        .get_or_create(&crate::metrics::ToolLabels {
            guard: guard.to_string(),
            tool: tool.to_string(),
            decision: crate::guards::decision_word(d).to_string(),
        })
        .inc();
}

fn delta_text<'a>(route: &str, c: &'a Value) -> Option<&'a str> {
    if route == "chat" {
        c.get("delta")?.get("content")?.as_str()
    } else {
        c.get("text")?.as_str()
    }
}

fn set_delta_text(route: &str, c: &mut Value, s: String) {
    if route == "chat" {
        if let Some(d) = c.get_mut("delta").and_then(Value::as_object_mut)
            && (d.contains_key("content") || !s.is_empty())
        {
            d.insert("content".into(), Value::String(s));
        }
    } else if let Some(o) = c.as_object_mut() {
        o.insert("text".into(), Value::String(s));
    }
}

fn sse(v: &Value) -> Bytes {
    let mut b = b"data: ".to_vec();
    b.extend(serde_json::to_vec(v).unwrap_or_default());
    b.extend_from_slice(b"\n\n");
    Bytes::from(b)
}

fn blocked_event(b: &crate::guards::Blocked) -> Bytes {
    sse(&serde_json::json!({"error": {
        "message": format!("The response was stopped by the `{}` guard ({}).", b.guard, b.label),
        "type": "invalid_request_error", "code": "content_policy_violation"}}))
}

/// End of the first event in `buf`: (offset of the blank line, its length).
pub(crate) fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = memfind(buf, b"\n\n").map(|i| (i, 2));
    let crlf = memfind(buf, b"\r\n\r\n").map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn memfind(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

// ---------------------------------------------------------------- admin

/// Admin routes.
pub fn admin_router(gw: Shared) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/admin/keys", get(keys_list).post(keys_create))
        .route("/admin/keys/{id}", axum::routing::patch(keys_update))
        .route("/admin/keys/{id}/revoke", post(keys_revoke))
        .route("/admin/keys/{id}/rotate", post(keys_rotate))
        .route("/admin/reload", post(reload))
        .fallback(not_found)
        .with_state(gw)
}

/// The OpenAPI document of both listeners.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn admin_ok(gw: &Gateway, headers: &HeaderMap) -> std::result::Result<(), Box<Response>> {
    let rid = request_id();
    let Some(want) = gw.admin_token else {
        return Err(Box::new(openai::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "admin_disabled",
            "No admin token is configured (set the variable named by [admin] token_env, or token_file).",
            &rid,
        )));
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    let h: [u8; 32] = Sha256::digest(got.trim().as_bytes()).into();
    // Comparing hashes: equal-length inputs, and a timing difference reveals nothing about
    // the token itself.
    if got.is_empty() || h != want {
        return Err(Box::new(openai::error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_admin_token",
            "Invalid admin token.",
            &rid,
        )));
    }
    Ok(())
}

async fn readyz(State(gw): State<Shared>) -> Response {
    let db = gw.keys.db().ping().await.is_ok();
    let counters = gw.counters.ping().await.is_ok();
    let audit = gw.audit.alive();
    let ok = db && counters && audit;
    let body = serde_json::json!({"ready": ok, "keys": db, "counters": counters, "audit": audit});
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
        .into_response()
}

async fn metrics(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    if !gw.cfg.load().admin.metrics_without_token
        && let Err(r) = admin_ok(&gw, &headers)
    {
        return *r;
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        gw.metrics.encode(),
    )
        .into_response()
}

async fn keys_list(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_ok(&gw, &headers) {
        return *r;
    }
    match gw.keys.list().await {
        Ok(k) => Json(serde_json::json!({"keys": k})).into_response(),
        Err(e) => openai::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "store",
            &e.to_string(),
            &request_id(),
        ),
    }
}

/// An admin request's key specification or change, or the 400 that says what is wrong.
fn key_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> std::result::Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(openai::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_key_spec",
            &format!("Invalid key {what}: {e}"),
            &request_id(),
        ))
    })
}

async fn keys_create(State(gw): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admin_ok(&gw, &headers) {
        return *r;
    }
    let spec: crate::keys::KeySpec = match key_body(&body, "specification") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match gw.keys.create(spec, crate::audit::now_ms() / 1000).await {
        Ok((rec, secret)) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"key": rec, "secret": secret})),
        )
            .into_response(),
        Err(e) => openai::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_key_spec",
            &e.to_string(),
            &request_id(),
        ),
    }
}

async fn keys_update(
    State(gw): State<Shared>,
    headers: HeaderMap,
    AxPath(id): AxPath<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin_ok(&gw, &headers) {
        return *r;
    }
    let patch: crate::keys::KeyPatch = match key_body(&body, "change") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match gw.keys.update(&id, &patch).await {
        Ok(rec) => Json(serde_json::json!({"key": rec})).into_response(),
        Err(e @ Error::Keys(_)) if e.to_string().contains("no ") => openai::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_key",
            &e.to_string(),
            &request_id(),
        ),
        Err(e) => openai::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_key_spec",
            &e.to_string(),
            &request_id(),
        ),
    }
}

async fn keys_revoke(
    State(gw): State<Shared>,
    headers: HeaderMap,
    AxPath(id): AxPath<String>,
) -> Response {
    if let Err(r) = admin_ok(&gw, &headers) {
        return *r;
    }
    match gw.keys.revoke(&id, crate::audit::now_ms() / 1000).await {
        Ok(()) => Json(serde_json::json!({"revoked": id})).into_response(),
        Err(e) => openai::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_key",
            &e.to_string(),
            &request_id(),
        ),
    }
}

async fn keys_rotate(
    State(gw): State<Shared>,
    headers: HeaderMap,
    AxPath(id): AxPath<String>,
) -> Response {
    if let Err(r) = admin_ok(&gw, &headers) {
        return *r;
    }
    match gw.keys.rotate(&id, crate::audit::now_ms() / 1000).await {
        Ok(secret) => Json(serde_json::json!({"id": id, "secret": secret})).into_response(),
        Err(e) => openai::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_key",
            &e.to_string(),
            &request_id(),
        ),
    }
}

async fn reload(State(gw): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = admin_ok(&gw, &headers) {
        return *r;
    }
    match gw.reload().await {
        Ok(()) => Json(serde_json::json!({"reloaded": true})).into_response(),
        Err(e) => openai::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_config",
            &e.to_string(),
            &request_id(),
        ),
    }
}

/// The guard pipeline for `cfg`, blocking (call it on the blocking pool): the injection
/// model loaded and verified when the first injection guard appears, and the configured
/// guards' expressions compiled now rather than on the first request that needs them (a few
/// hundred milliseconds, once per process; guards not configured are not compiled, as each
/// family holds megabytes). Start-up and reload share it.
pub(crate) fn build_guards(
    cfg: &Config,
    model: &crate::guards::InjectionModel,
) -> Result<Pipeline> {
    let injection = model.for_config(cfg)?;
    let pipeline = Pipeline::new(cfg, injection.clone())?;
    rampart_guard::warm_up(&Pipeline::detectors(cfg), injection.as_deref());
    tracing::debug!(compiled = ?rampart_guard::compiled(), "guards warmed");
    Ok(pipeline)
}

impl Gateway {
    /// Re-read the configuration file: limits, guards, models and upstreams change for new
    /// requests; requests in flight finish with what they started with; listeners and storage
    /// stay (changing those needs a restart). Reading the file, loading the injection model
    /// for the first injection guard and compiling the guards run on the blocking pool, not
    /// on the async workers that serve requests.
    pub async fn reload(self: Arc<Self>) -> Result<()> {
        let Some(p) = self.config_path.clone() else {
            return Err(Error::Config("no configuration file to reload".into()));
        };
        let model = self.model.clone();
        let (cfg, pipeline) = tokio::task::spawn_blocking(move || -> Result<_> {
            let cfg = Config::load(&p)?;
            let pipeline = build_guards(&cfg, &model)?;
            Ok((cfg, pipeline))
        })
        .await
        .map_err(|e| Error::Config(format!("reloading the configuration: {e}")))??;
        let ups = Upstreams::new(&cfg)?;
        self.pipeline.store(Arc::new(pipeline));
        self.upstreams.store(Arc::new(ups));
        self.cfg.store(Arc::new(cfg));
        self.keys.invalidate();
        tracing::info!("configuration reloaded");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_on_blank_lines() {
        assert_eq!(event_end(b"data: x\n\ndata: y"), Some((7, 2)));
        assert_eq!(event_end(b"data: x\r\n\r\n"), Some((7, 4)));
        assert_eq!(event_end(b"data: x\n"), None);
    }
}
