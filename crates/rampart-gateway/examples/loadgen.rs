//! Load generator for `bench/gateway.sh`: POSTs one JSON body over keep-alive connections.
//!
//! Open loop (`--rate R`): a request is due every 1/R s whatever happened before, and latency
//! is measured from when it was due (no coordinated omission: a stall shows up in the tail).
//! Closed loop (`--connections N` without `--rate`): N clients send back to back; reports the
//! throughput. Prints one JSON line: requests, errors, achieved rate, p50/p90/p99/p99.9/max ms.
//!
//! Written here rather than taken from crates.io because wrk has no constant-rate mode and
//! wrk2 is not packaged; this is ~150 lines on the gateway's own HTTP stack.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Opts {
    url: String,
    body: String,
    key: Option<String>,
    rate: Option<f64>,
    connections: usize,
    secs: f64,
}

fn opts() -> Opts {
    let mut o = Opts {
        url: String::new(),
        body: String::new(),
        key: None,
        rate: None,
        connections: 64,
        secs: 10.0,
    };
    let mut a = std::env::args().skip(1);
    while let Some(k) = a.next() {
        let v = a.next().unwrap_or_default();
        match k.as_str() {
            "--url" => o.url = v,
            "--body" => o.body = v,
            "--key" => o.key = Some(v),
            "--rate" => o.rate = v.parse().ok(),
            "--connections" => o.connections = v.parse().unwrap_or(64),
            "--secs" => o.secs = v.parse().unwrap_or(10.0),
            _ => {
                eprintln!(
                    "usage: loadgen --url URL --body JSON [--key K] [--rate R | --connections N] [--secs S]"
                );
                std::process::exit(2);
            }
        }
    }
    o
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let o = opts();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let lat = Arc::new(Mutex::new(Vec::<f64>::with_capacity(1 << 20)));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let send = {
        let (client, url, body, key) =
            (client.clone(), o.url.clone(), o.body.clone(), o.key.clone());
        move || {
            let mut r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(k) = &key {
                r = r.bearer_auth(k);
            }
            async move {
                match r.send().await {
                    Ok(resp) if resp.status().is_success() => resp.bytes().await.is_ok(),
                    Ok(resp) => {
                        let _ = resp.bytes().await;
                        false
                    }
                    Err(_) => false,
                }
            }
        }
    };
    // Warm the connections.
    for _ in 0..o.connections.min(64) {
        let _ = send().await;
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(o.secs);
    match o.rate {
        Some(rate) => {
            let period = Duration::from_secs_f64(1.0 / rate);
            let mut due = start;
            let mut tasks = Vec::new();
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                let (f, lat, errors) = (send(), lat.clone(), errors.clone());
                let scheduled = due;
                tasks.push(tokio::spawn(async move {
                    let ok = f.await;
                    let ms = scheduled.elapsed().as_secs_f64() * 1000.0;
                    if ok {
                        lat.lock().await.push(ms);
                    } else {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }));
                due += period;
            }
            for t in tasks {
                let _ = t.await;
            }
        }
        None => {
            let mut tasks = Vec::new();
            for _ in 0..o.connections {
                let (send, lat, errors) = (send.clone(), lat.clone(), errors.clone());
                tasks.push(tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while Instant::now() < end {
                        let t = Instant::now();
                        if send().await {
                            mine.push(t.elapsed().as_secs_f64() * 1000.0);
                        } else {
                            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    lat.lock().await.extend(mine);
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }
    let took = start.elapsed().as_secs_f64();
    let mut l = lat.lock().await.clone();
    l.sort_by(f64::total_cmp);
    let n = l.len();
    println!(
        "{}",
        serde_json::json!({
            "requests": n, "errors": errors.load(std::sync::atomic::Ordering::Relaxed),
            "rps": n as f64 / took, "p50_ms": pct(&l, 0.5), "p90_ms": pct(&l, 0.9),
            "p99_ms": pct(&l, 0.99), "p999_ms": pct(&l, 0.999), "max_ms": l.last().copied().unwrap_or(f64::NAN),
        })
    );
}
