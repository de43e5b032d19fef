//! Rate and quota counters: one atomic check-and-reserve per request (every limit is checked
//! and, only if all pass, all are charged), then a reconciliation with the upstream's usage.
//!
//! Windows: requests/min and tokens/min use a sliding window over two fixed minutes (the
//! previous minute's count weighted by the part of it still inside the last 60 s); tokens/day
//! and tokens/month are calendar windows in UTC. The same arithmetic runs in process (one
//! instance) or in a Redis Lua script (several instances share the counters; Redis runs a
//! script atomically, so concurrent instances cannot both take the last unit).

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;

/// Limits of one key, as the counters see them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens per minute.
    pub tpm: Option<u64>,
    /// Tokens per UTC day.
    pub tpd: Option<u64>,
    /// Tokens per UTC month.
    pub tpmo: Option<u64>,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Requests per minute.
    Rpm,
    /// Tokens per minute.
    Tpm,
    /// Daily tokens.
    Day,
    /// Monthly tokens.
    Month,
}

impl Exceeded {
    /// Reason label.
    pub fn as_str(self) -> &'static str {
        match self {
            Exceeded::Rpm => "rate_requests",
            Exceeded::Tpm => "rate_tokens",
            Exceeded::Day => "quota_day",
            Exceeded::Month => "quota_month",
        }
    }

    fn from_code(c: i64) -> Option<Exceeded> {
        match c {
            1 => Some(Exceeded::Rpm),
            2 => Some(Exceeded::Tpm),
            3 => Some(Exceeded::Day),
            4 => Some(Exceeded::Month),
            _ => None,
        }
    }
}

/// The windows a moment falls in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Windows {
    /// Minute number since the epoch.
    pub minute: u64,
    /// Weight of the previous minute (1 at the start of a minute, 0 at its end).
    pub prev_weight: f64,
    /// Day number since the epoch.
    pub day: u64,
    /// Months since 1970-01.
    pub month: u64,
}

impl Windows {
    /// At Unix milliseconds `ms`.
    pub fn at(ms: u64) -> Windows {
        let secs = ms / 1000;
        let minute = secs / 60;
        let into = (ms % 60_000) as f64 / 60_000.0;
        let day = secs / 86_400;
        Windows {
            minute,
            prev_weight: 1.0 - into,
            day,
            month: month_index(day),
        }
    }

    /// Seconds until the next minute starts (Retry-After).
    pub fn retry_after(&self) -> u64 {
        ((self.prev_weight * 60.0).ceil() as u64).clamp(1, 60)
    }
}

/// Months since 1970-01 for a day number.
fn month_index(day: u64) -> u64 {
    let (y, m, _) = rampart_core::time::civil_from_days(day as i64);
    ((y - 1970) * 12 + (m - 1)).max(0) as u64
}

/// One key's counters, in process.
#[derive(Default)]
pub struct Local {
    minute: u64,
    req: (u64, u64),
    tok: (u64, u64),
    day: u64,
    day_tok: u64,
    month: u64,
    month_tok: u64,
}

impl Local {
    fn roll(&mut self, w: &Windows) {
        if w.minute != self.minute {
            if w.minute == self.minute + 1 {
                self.req = (self.req.1, 0);
                self.tok = (self.tok.1, 0);
            } else {
                self.req = (0, 0);
                self.tok = (0, 0);
            }
            self.minute = w.minute;
        }
        if w.day != self.day {
            self.day = w.day;
            self.day_tok = 0;
        }
        if w.month != self.month {
            self.month = w.month;
            self.month_tok = 0;
        }
    }
}

fn over(prev: u64, cur: u64, weight: f64, add: u64, limit: Option<u64>) -> bool {
    limit.is_some_and(|l| (prev as f64 * weight).floor() as u64 + cur + add > l)
}

/// Where counters live.
pub enum Counters {
    /// In this process.
    Local(Mutex<HashMap<String, Local>>),
    /// In Redis, shared by instances.
    Redis(redis::aio::ConnectionManager, redis::Script, redis::Script),
}

const RESERVE: &str = r#"
-- KEYS: req_cur, req_prev, tok_cur, tok_prev, day, month
-- ARGV: rpm, tpm, tpd, tpmo (-1 = none), tokens, prev_weight
local function get(k) return tonumber(redis.call('GET', k) or '0') end
local rpm, tpm, tpd, tpmo = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t, w = tonumber(ARGV[5]), tonumber(ARGV[6])
if rpm >= 0 and math.floor(get(KEYS[2]) * w) + get(KEYS[1]) + 1 > rpm then return 1 end
if tpm >= 0 and math.floor(get(KEYS[4]) * w) + get(KEYS[3]) + t > tpm then return 2 end
if tpd >= 0 and get(KEYS[5]) + t > tpd then return 3 end
if tpmo >= 0 and get(KEYS[6]) + t > tpmo then return 4 end
redis.call('INCRBY', KEYS[1], 1) redis.call('EXPIRE', KEYS[1], 180)
redis.call('INCRBY', KEYS[3], t) redis.call('EXPIRE', KEYS[3], 180)
redis.call('INCRBY', KEYS[5], t) redis.call('EXPIRE', KEYS[5], 172800)
redis.call('INCRBY', KEYS[6], t) redis.call('EXPIRE', KEYS[6], 3024000)
return 0
"#;

const SETTLE: &str = r#"
-- KEYS: tok_cur, day, month; ARGV: delta (may be negative)
for i = 1, 3 do
  local v = redis.call('INCRBY', KEYS[i], ARGV[1])
  if v < 0 then redis.call('SET', KEYS[i], 0, 'KEEPTTL') end
end
return 0
"#;

fn arg(l: Option<u64>) -> i64 {
    l.map_or(-1, |v| v.min(i64::MAX as u64) as i64)
}

impl Counters {
    /// In-process counters.
    pub fn local() -> Counters {
        Counters::Local(Mutex::new(HashMap::new()))
    }

    /// Redis counters.
    pub async fn redis(url: &str) -> Result<Counters> {
        let client =
            redis::Client::open(url).map_err(|e| Error::Config(format!("redis url: {e}")))?;
        let cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(std::time::Duration::from_secs(2))
            .set_response_timeout(std::time::Duration::from_secs(2))
            .set_number_of_retries(1);
        let m = redis::aio::ConnectionManager::new_with_config(client, cfg)
            .await
            .map_err(|e| Error::Store(format!("cannot connect to Redis: {e}")))?;
        Ok(Counters::Redis(
            m,
            redis::Script::new(RESERVE),
            redis::Script::new(SETTLE),
        ))
    }

    /// Check every limit and, if all pass, charge one request and `tokens`.
    pub async fn reserve(
        &self,
        key: &str,
        lim: &Limits,
        tokens: u64,
        w: &Windows,
    ) -> Result<Option<Exceeded>> {
        match self {
            Counters::Local(m) => {
                let mut map = m
                    .lock()
                    .map_err(|_| Error::Store("counter lock poisoned".into()))?;
                let c = map.entry(key.to_string()).or_default();
                c.roll(w);
                if over(c.req.0, c.req.1, w.prev_weight, 1, lim.rpm) {
                    return Ok(Some(Exceeded::Rpm));
                }
                if over(c.tok.0, c.tok.1, w.prev_weight, tokens, lim.tpm) {
                    return Ok(Some(Exceeded::Tpm));
                }
                if lim.tpd.is_some_and(|l| c.day_tok + tokens > l) {
                    return Ok(Some(Exceeded::Day));
                }
                if lim.tpmo.is_some_and(|l| c.month_tok + tokens > l) {
                    return Ok(Some(Exceeded::Month));
                }
                c.req.1 += 1;
                c.tok.1 += tokens;
                c.day_tok += tokens;
                c.month_tok += tokens;
                Ok(None)
            }
            Counters::Redis(conn, script, _) => {
                let k = redis_keys(key, w);
                let mut conn = conn.clone();
                let code: i64 = script
                    .key(&k[0])
                    .key(&k[1])
                    .key(&k[2])
                    .key(&k[3])
                    .key(&k[4])
                    .key(&k[5])
                    .arg(arg(lim.rpm))
                    .arg(arg(lim.tpm))
                    .arg(arg(lim.tpd))
                    .arg(arg(lim.tpmo))
                    .arg(tokens.min(i64::MAX as u64) as i64)
                    .arg(format!("{:.6}", w.prev_weight))
                    .invoke_async(&mut conn)
                    .await?;
                Ok(Exceeded::from_code(code))
            }
        }
    }

    /// Correct the token charge made at `w` by `delta` (actual − reserved).
    pub async fn settle(&self, key: &str, delta: i64, w: &Windows) -> Result<()> {
        if delta == 0 {
            return Ok(());
        }
        match self {
            Counters::Local(m) => {
                let mut map = m
                    .lock()
                    .map_err(|_| Error::Store("counter lock poisoned".into()))?;
                let c = map.entry(key.to_string()).or_default();
                let adj = |v: &mut u64| *v = v.saturating_add_signed(delta);
                if c.minute == w.minute {
                    adj(&mut c.tok.1);
                } else if c.minute == w.minute + 1 {
                    adj(&mut c.tok.0);
                }
                if c.day == w.day {
                    adj(&mut c.day_tok);
                }
                if c.month == w.month {
                    adj(&mut c.month_tok);
                }
                Ok(())
            }
            Counters::Redis(conn, _, script) => {
                let k = redis_keys(key, w);
                let mut conn = conn.clone();
                let _: i64 = script
                    .key(&k[2])
                    .key(&k[4])
                    .key(&k[5])
                    .arg(delta)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    /// Reachable?
    pub async fn ping(&self) -> Result<()> {
        match self {
            Counters::Local(_) => Ok(()),
            Counters::Redis(conn, _, _) => {
                let mut conn = conn.clone();
                let _: String = redis::cmd("PING").query_async(&mut conn).await?;
                Ok(())
            }
        }
    }
}

fn redis_keys(key: &str, w: &Windows) -> [String; 6] {
    // The hash tag {key} keeps one key's counters in one Redis Cluster slot (scripts need it).
    [
        format!("rampart:{{{key}}}:req:{}", w.minute),
        format!("rampart:{{{key}}}:req:{}", w.minute.saturating_sub(1)),
        format!("rampart:{{{key}}}:tok:{}", w.minute),
        format!("rampart:{{{key}}}:tok:{}", w.minute.saturating_sub(1)),
        format!("rampart:{{{key}}}:day:{}", w.day),
        format!("rampart:{{{key}}}:month:{}", w.month),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        // 2026-11-26 is day 20783; 2026-11 is month (56 * 12 + 10).
        assert_eq!(month_index(20_783), 56 * 12 + 10);
        assert_eq!(month_index(0), 0);
        assert_eq!(month_index(31), 1); // 1970-02-01
        assert_eq!(month_index(30), 0);
    }

    #[tokio::test]
    async fn limits_hold_and_settle_corrects() {
        let c = Counters::local();
        let w = Windows {
            minute: 100,
            prev_weight: 0.5,
            day: 1,
            month: 0,
        };
        let lim = Limits {
            rpm: Some(3),
            tpm: Some(100),
            tpd: Some(150),
            tpmo: None,
        };
        assert_eq!(c.reserve("k", &lim, 40, &w).await.unwrap(), None);
        assert_eq!(c.reserve("k", &lim, 40, &w).await.unwrap(), None);
        assert_eq!(
            c.reserve("k", &lim, 40, &w).await.unwrap(),
            Some(Exceeded::Tpm)
        );
        c.settle("k", -30, &w).await.unwrap(); // used 50, not 80
        assert_eq!(c.reserve("k", &lim, 40, &w).await.unwrap(), None);
        assert_eq!(
            c.reserve("k", &lim, 1, &w).await.unwrap(),
            Some(Exceeded::Rpm)
        );
        // Next minute: half of the previous minute's 3 requests still count (floor 1.5 = 1).
        let w2 = Windows {
            minute: 101,
            prev_weight: 0.5,
            day: 1,
            month: 0,
        };
        assert_eq!(c.reserve("k", &lim, 10, &w2).await.unwrap(), None);
        assert_eq!(c.reserve("k", &lim, 10, &w2).await.unwrap(), None);
        assert_eq!(
            c.reserve("k", &lim, 10, &w2).await.unwrap(),
            Some(Exceeded::Rpm)
        );
        // Daily quota: 90 + 20 used.
        let lim2 = Limits {
            tpd: Some(150),
            ..Default::default()
        };
        assert_eq!(
            c.reserve("k", &lim2, 50, &w2).await.unwrap(),
            Some(Exceeded::Day)
        );
    }
}
