//! Upstream servers: credentials held by the gateway, timeouts, bounded retries with failover
//! to the next upstream on connect errors, 5xx and timeouts, and a circuit breaker per upstream.

use crate::config::{Config, Limits};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

/// One upstream.
pub struct Upstream {
    /// Name from the configuration.
    pub name: String,
    base: String,
    api_key: Option<String>,
    failures: AtomicU32,
    open_until_ms: AtomicI64,
    trial: AtomicBool,
}

/// Circuit state for metrics: 0 closed, 1 open, 2 half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Requests flow.
    Closed,
    /// Requests skip this upstream.
    Open,
    /// One trial request allowed.
    HalfOpen,
}

impl Upstream {
    /// Circuit state now.
    pub fn circuit(&self, now_ms: i64) -> Circuit {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            Circuit::Closed
        } else if now_ms < until {
            Circuit::Open
        } else {
            Circuit::HalfOpen
        }
    }

    /// May a request go here now? In half-open state one trial at a time.
    fn admit(&self, now_ms: i64) -> bool {
        match self.circuit(now_ms) {
            Circuit::Closed => true,
            Circuit::Open => false,
            Circuit::HalfOpen => !self.trial.swap(true, Ordering::AcqRel),
        }
    }

    /// Record a success.
    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until_ms.store(0, Ordering::Release);
        self.trial.store(false, Ordering::Release);
    }

    /// Record a failure; returns true when it opened the circuit.
    pub fn failure(&self, lim: &Limits, now_ms: i64) -> bool {
        let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        self.trial.store(false, Ordering::Release);
        if n >= lim.breaker_failures || self.open_until_ms.load(Ordering::Acquire) != 0 {
            self.open_until_ms.store(
                now_ms + (lim.breaker_open_secs * 1000) as i64,
                Ordering::Release,
            );
            return true;
        }
        false
    }
}

/// All upstreams and the HTTP client.
pub struct Upstreams {
    /// By configuration order.
    pub list: Vec<Arc<Upstream>>,
    client: reqwest::Client,
}

/// Why an attempt failed (for metrics and the audit reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// Could not connect.
    Connect,
    /// No response headers in time.
    Timeout,
    /// 5xx from the upstream.
    Status5xx,
    /// Other transport error (reset).
    Transport,
}

impl FailKind {
    /// Label.
    pub fn as_str(self) -> &'static str {
        match self {
            FailKind::Connect => "connect",
            FailKind::Timeout => "timeout",
            FailKind::Status5xx => "status_5xx",
            FailKind::Transport => "transport",
        }
    }
}

/// The outcome of forwarding.
pub struct Forwarded {
    /// The upstream that answered.
    pub upstream: Arc<Upstream>,
    /// Its response (status < 500).
    pub response: reqwest::Response,
    /// Attempts made.
    pub attempts: u32,
}

/// Every attempt failed.
pub struct Exhausted {
    /// Attempts made (0 when every circuit was open).
    pub attempts: u32,
    /// Last failure.
    pub last: Option<FailKind>,
}

impl Upstreams {
    /// From the configuration; credentials read from the environment now.
    pub fn new(cfg: &Config) -> crate::error::Result<Upstreams> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.limits.connect_timeout_ms))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| crate::error::Error::Config(format!("HTTP client: {e}")))?;
        let mut list = Vec::new();
        for u in &cfg.upstreams {
            let api_key = match &u.api_key_env {
                Some(env) => Some(std::env::var(env).map_err(|_| {
                    crate::error::Error::Config(format!(
                        "upstream `{}`: environment variable {env} is not set",
                        u.name.get_ref()
                    ))
                })?),
                None => None,
            };
            list.push(Arc::new(Upstream {
                name: u.name.get_ref().clone(),
                base: u.url.trim_end_matches('/').to_string(),
                api_key,
                failures: AtomicU32::new(0),
                open_until_ms: AtomicI64::new(0),
                trial: AtomicBool::new(false),
            }));
        }
        Ok(Upstreams { list, client })
    }

    /// By name.
    pub fn get(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.list.iter().find(|u| u.name == name)
    }

    /// POST `body` to `path` on the model's upstreams in order until one answers below 500.
    pub async fn forward(
        &self,
        order: &[String],
        path: &str,
        body: bytes::Bytes,
        lim: &Limits,
        on_fail: &(dyn Fn(&Upstream, FailKind) + Sync),
    ) -> Result<Forwarded, Exhausted> {
        let mut attempts = 0u32;
        let mut last = None;
        for name in order {
            if attempts as usize >= lim.max_attempts {
                break;
            }
            let Some(up) = self.get(name) else { continue };
            let now = crate::audit::now_ms();
            if !up.admit(now) {
                continue;
            }
            attempts += 1;
            let mut rb = self
                .client
                .post(format!("{}{path}", up.base))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            if let Some(k) = &up.api_key {
                rb = rb.bearer_auth(k);
            }
            let fut = rb.send();
            let kind =
                match tokio::time::timeout(Duration::from_millis(lim.response_timeout_ms), fut)
                    .await
                {
                    Ok(Ok(resp)) if resp.status().as_u16() < 500 => {
                        up.success();
                        return Ok(Forwarded {
                            upstream: up.clone(),
                            response: resp,
                            attempts,
                        });
                    }
                    Ok(Ok(_)) => FailKind::Status5xx,
                    Ok(Err(e)) if e.is_connect() => FailKind::Connect,
                    Ok(Err(e)) if e.is_timeout() => FailKind::Timeout,
                    Ok(Err(_)) => FailKind::Transport,
                    Err(_) => FailKind::Timeout,
                };
            up.failure(lim, crate::audit::now_ms());
            on_fail(up, kind);
            last = Some(kind);
        }
        Err(Exhausted { attempts, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_then_allows_one_trial() {
        let u = Upstream {
            name: "a".into(),
            base: String::new(),
            api_key: None,
            failures: AtomicU32::new(0),
            open_until_ms: AtomicI64::new(0),
            trial: AtomicBool::new(false),
        };
        let lim = Limits {
            breaker_failures: 2,
            breaker_open_secs: 10,
            ..Limits::default()
        };
        assert!(!u.failure(&lim, 0));
        assert!(u.admit(0));
        assert!(u.failure(&lim, 0));
        assert_eq!(u.circuit(5_000), Circuit::Open);
        assert!(!u.admit(5_000));
        assert_eq!(u.circuit(10_000), Circuit::HalfOpen);
        assert!(u.admit(10_000));
        assert!(!u.admit(10_001), "one trial at a time");
        assert!(u.failure(&lim, 10_002), "a failed trial re-opens");
        assert!(!u.admit(11_000));
        u.success();
        assert!(u.admit(11_000));
    }
}
