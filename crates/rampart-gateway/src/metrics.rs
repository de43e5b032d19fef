//! Prometheus metrics (served on the admin listener). Labels are bounded: routes, models and
//! upstreams come from the configuration, key tags from operators, reasons from the code.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Request labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReqLabels {
    /// Route.
    pub route: String,
    /// Model.
    pub model: String,
    /// HTTP status.
    pub status: u16,
    /// The key's first tag.
    pub key_tag: String,
}

/// Route label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// Route.
    pub route: String,
}

/// Reason label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Reason.
    pub reason: String,
}

/// Upstream labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabel {
    /// Upstream.
    pub upstream: String,
}

/// Upstream error labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamErrLabels {
    /// Upstream.
    pub upstream: String,
    /// connect, timeout, status_5xx, transport.
    pub kind: String,
}

/// Token labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// Model.
    pub model: String,
    /// prompt or completion.
    pub kind: String,
}

/// Guard labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GuardLabels {
    /// Guard name.
    pub guard: String,
    /// input or output.
    pub stage: String,
    /// Verdict.
    pub verdict: String,
}

/// Tool-call decision labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    /// Policy (guard) name.
    pub guard: String,
    /// Tool name as listed in the policy, or `unlisted` (names a model makes up are not labels).
    pub tool: String,
    /// allow, deny, requires_approval, rate_limited.
    pub decision: String,
}

/// Drift labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftLabels {
    /// Route.
    pub route: String,
    /// Statistic (length_psi, script_js, ngram_js, score_mean, flagged_share).
    pub signal: String,
}

/// Key label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabel {
    /// Key id.
    pub key_id: String,
    /// Signal name.
    pub signal: String,
}

/// Buckets every 0.25–0.5 ms up to 3 ms, where a gateway's own time and an alert on it sit
/// (the guards' budget is 2 ms at p99: a quantile read from 1/2/5 ms buckets could not tell
/// 1.1 from 1.9 ms), then roughly 2.5× apart up to an upstream's 30 s.
fn latency() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003,
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

/// Every metric.
pub struct Metrics {
    registry: Registry,
    /// Requests.
    pub requests: Family<ReqLabels, Counter>,
    /// End-to-end time.
    pub duration: Family<RouteLabel, Histogram>,
    /// Time in the gateway only.
    pub overhead: Family<RouteLabel, Histogram>,
    /// Time waiting for upstreams.
    pub upstream_time: Family<UpstreamLabel, Histogram>,
    /// Tokens.
    pub tokens: Family<TokenLabels, Counter>,
    /// Rejections by reason.
    pub rejections: Family<ReasonLabel, Counter>,
    /// Upstream errors.
    pub upstream_errors: Family<UpstreamErrLabels, Counter>,
    /// Circuit state (0 closed, 1 open, 2 half-open).
    pub circuit: Family<UpstreamLabel, Gauge>,
    /// Audit write lag.
    pub audit_lag: Histogram,
    /// Audit write failures.
    pub audit_errors: Counter,
    /// Guard verdicts.
    pub guards: Family<GuardLabels, Counter>,
    /// Extraction signals per key (x1000).
    pub extraction: Family<KeyLabel, Gauge<f64, AtomicU64>>,
    /// Requests let through because the counter store failed and fail-open is set.
    pub fail_open: Counter,
    /// Tool-call decisions.
    pub tool_calls: Family<ToolLabels, Counter>,
    /// Drift statistics of the last window against the baseline, per route.
    pub drift: Family<DriftLabels, Gauge<f64, AtomicU64>>,
    /// Drift alerts raised, per route and statistic.
    pub drift_alerts: Family<DriftLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<ReqLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests by route, model, status and key tag",
            requests.clone(),
        );
        let duration =
            Family::<RouteLabel, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "request_duration_seconds",
            "End-to-end request time",
            duration.clone(),
        );
        let overhead =
            Family::<RouteLabel, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "gateway_overhead_seconds",
            "Time spent in the gateway (end-to-end minus upstream)",
            overhead.clone(),
        );
        let upstream_time =
            Family::<UpstreamLabel, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "upstream_duration_seconds",
            "Time waiting for the upstream",
            upstream_time.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register("tokens", "Tokens by model and kind", tokens.clone());
        let rejections = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "rejections",
            "Requests refused by reason",
            rejections.clone(),
        );
        let upstream_errors = Family::<UpstreamErrLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Failed upstream attempts",
            upstream_errors.clone(),
        );
        let circuit = Family::<UpstreamLabel, Gauge>::default();
        registry.register(
            "circuit_state",
            "Circuit breaker: 0 closed, 1 open, 2 half-open",
            circuit.clone(),
        );
        // The same bounds as the request histograms: the commit wait is part of the
        // gateway's own time, and its share of the p99 is read against the same budget.
        let audit_lag = latency();
        registry.register(
            "audit_write_lag_seconds",
            "Time from a record's submission to its durable commit",
            audit_lag.clone(),
        );
        let audit_errors = Counter::default();
        registry.register(
            "audit_write_errors",
            "Audit commits that failed",
            audit_errors.clone(),
        );
        let guards = Family::<GuardLabels, Counter>::default();
        registry.register("guard_verdicts", "Guard verdicts", guards.clone());
        let extraction = Family::<KeyLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "extraction_signal",
            "Model-extraction signals per key (0..1)",
            extraction.clone(),
        );
        let fail_open = Counter::default();
        registry.register(
            "fail_open",
            "Requests let through unmetered because the counter store failed",
            fail_open.clone(),
        );
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "Tool calls in responses by policy, tool and decision",
            tool_calls.clone(),
        );
        let drift = Family::<DriftLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "drift",
            "Input drift of the last window against the route's baseline",
            drift.clone(),
        );
        let drift_alerts = Family::<DriftLabels, Counter>::default();
        registry.register(
            "drift_alerts",
            "Drift alerts raised by route and statistic",
            drift_alerts.clone(),
        );
        Metrics {
            tool_calls,
            drift,
            drift_alerts,
            registry,
            requests,
            duration,
            overhead,
            upstream_time,
            tokens,
            rejections,
            upstream_errors,
            circuit,
            audit_lag,
            audit_errors,
            guards,
            extraction,
            fail_open,
        }
    }
}

impl Metrics {
    /// Text exposition format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }

    /// Count a rejection.
    pub fn reject(&self, reason: &str) {
        self.rejections
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }
}

impl crate::audit::AuditObserver for Metrics {
    fn write_lag(&self, secs: f64) {
        self.audit_lag.observe(secs);
    }
    fn write_error(&self) {
        self.audit_errors.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cumulative count of series `metric{le="…"<labels>}`'s bucket `le`.
    fn bucket(text: &str, metric: &str, labels: &str, le: &str) -> u64 {
        let head = format!("{metric}_bucket{{le=\"{le}\"{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(head.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no bucket {le} of {metric} in\n{text}"))
    }

    #[test]
    fn overhead_buckets_tell_apart_times_under_the_guards_budget() {
        let m = Metrics::default();
        let chat = RouteLabel {
            route: "chat".into(),
        };
        for secs in [0.0011, 0.0019, 0.0028] {
            m.overhead.get_or_create(&chat).observe(secs);
        }
        let text = m.encode();
        let le = |b| {
            bucket(
                &text,
                "rampart_gateway_overhead_seconds",
                ",route=\"chat\"",
                b,
            )
        };
        // 1.1, 1.9 and 2.8 ms each fall below a different bound between 1 and 3 ms.
        assert_eq!(
            [le("0.001"), le("0.00125"), le("0.002"), le("0.003")],
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn the_audit_wait_has_the_same_bounds() {
        use crate::audit::AuditObserver;
        let m = Metrics::default();
        for secs in [0.0011, 0.0019] {
            m.write_lag(secs);
        }
        let text = m.encode();
        let le = |b| bucket(&text, "rampart_audit_write_lag_seconds", "", b);
        assert_eq!([le("0.001"), le("0.00125"), le("0.002")], [0, 1, 2]);
    }
}
