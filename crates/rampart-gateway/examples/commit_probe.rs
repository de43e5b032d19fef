//! What one durable audit commit costs on this disk, without the gateway around it.
//!
//! Opens a SQLite file the way the audit writer does (WAL, automatic checkpoints off, a
//! PASSIVE checkpoint every 50 ms from a second connection unless `--no-checkpoints`) and
//! commits one 1.5 KB row per transaction, one every `--gap-us` microseconds (10,000: the
//! 100 req/s of `bench/gateway.sh`), for each `synchronous` setting. Prints p50/p90/p99/max of
//! the commit time. The gateway's own time at low rates cannot be lower than this with
//! `sync = "full"`: a response waits for its record's commit.
//!
//! `cargo run --release -p rampart-gateway --example commit_probe -- [--n 2000] [--gap-us 10000] [--dir DIR] [--no-checkpoints]`
//!
//! SQLite as bundled here syncs with fsync(2); to compare fdatasync(2), build with
//! `LIBSQLITE3_FLAGS=-DHAVE_FDATASYNC=1` (it rebuilds SQLite).

use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n = 2000usize;
    let mut gap_us = 10_000u64;
    let mut dir = std::env::temp_dir();
    let mut checkpoints = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().ok_or("--n N")?.parse()?,
            "--gap-us" => gap_us = args.next().ok_or("--gap-us US")?.parse()?,
            "--dir" => dir = args.next().ok_or("--dir DIR")?.into(),
            "--no-checkpoints" => checkpoints = false,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let n = n.max(100);
    for sync in ["FULL", "NORMAL", "OFF"] {
        let path = dir.join(format!("rampart-commit-probe-{}.db", std::process::id()));
        let t = probe(&path, sync, n, Duration::from_micros(gap_us), checkpoints);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let mut t = t?;
        t.sort_by(f64::total_cmp);
        println!(
            "synchronous={sync:<6} commits={n} p50={:.3} p90={:.3} p99={:.3} max={:.3} ms",
            t[n / 2],
            t[n * 9 / 10],
            t[n * 99 / 100],
            t[n - 1]
        );
    }
    Ok(())
}

fn probe(
    path: &std::path::Path,
    sync: &str,
    n: usize,
    gap: Duration,
    checkpoints: bool,
) -> rusqlite::Result<Vec<f64>> {
    let c = rusqlite::Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", sync)?;
    c.pragma_update(None, "wal_autocheckpoint", 0)?;
    c.execute_batch(
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, key_id TEXT NOT NULL,
         body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);",
    )?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checkpointer = checkpoints.then(|| {
        let (path, stop) = (path.to_path_buf(), stop.clone());
        std::thread::spawn(move || -> rusqlite::Result<()> {
            let c = rusqlite::Connection::open(path)?;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            }
            Ok(())
        })
    });
    let body = "x".repeat(1500);
    let hash = "0".repeat(64);
    let mut times = Vec::with_capacity(n);
    for seq in 0..n as i64 {
        std::thread::sleep(gap);
        let t = Instant::now();
        let tx = c.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO audit (seq, ts_ms, key_id, body, prev, hash) VALUES (?1, 0, 'k', ?2, ?3, ?3)",
            rusqlite::params![seq, body, hash],
        )?;
        tx.commit()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(h) = checkpointer {
        h.join().unwrap_or(Ok(()))?;
    }
    Ok(times)
}
