//! Harness for the gateway tests: real `rampart serve` and `rampart mock-upstream` processes
//! on loopback (port 0, addresses read from their stderr), a blocking HTTP client, and
//! helpers to create keys and read the audit log.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rampart")
}

/// A child process killed on drop, with its stderr collected.
pub struct Proc {
    pub child: Child,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

/// Start `rampart ARGS` and wait for a stderr line that `ready` accepts.
pub fn spawn<T>(
    args: &[&str],
    env: &[(&str, &str)],
    ready: impl Fn(&str) -> Option<T>,
) -> (Proc, T) {
    let mut c = Command::new(bin());
    c.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("spawn rampart");
    let err = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(l.clone());
                lines.lock().unwrap().push(l);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                if let Some(t) = ready(&l) {
                    return (
                        Proc {
                            child,
                            stderr: lines,
                        },
                        t,
                    );
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "rampart {args:?} did not become ready; stderr:\n{}",
                    lines.lock().unwrap().join("\n")
                );
            }
        }
    }
}

/// A mock upstream; returns it and its base URL.
pub fn mock(args: &[&str]) -> (Proc, String) {
    let mut a = vec!["mock-upstream", "--listen", "127.0.0.1:0"];
    a.extend_from_slice(args);
    spawn(&a, &[], |l| {
        l.strip_prefix("mock listening on ").map(str::to_string)
    })
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running gateway.
pub struct Gw {
    pub proc: Proc,
    pub url: String,
    pub admin: String,
}

/// PostgreSQL and Redis for the tests, when `.ci/services.sh` started them: (libpq
/// parameters without dbname, Redis URL). Under CI their absence is an error, so backend tests
/// cannot be skipped silently there.
pub fn services() -> Option<(String, String)> {
    match (
        std::env::var("RAMPART_TEST_POSTGRES"),
        std::env::var("RAMPART_TEST_REDIS"),
    ) {
        (Ok(p), Ok(r)) => Some((p, r)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI must start PostgreSQL and Redis (.ci/services.sh) and export RAMPART_TEST_POSTGRES / RAMPART_TEST_REDIS"
        ),
        _ => {
            eprintln!("skipped: PostgreSQL/Redis not running (start them with .ci/services.sh)");
            None
        }
    }
}

/// Is the suite running against PostgreSQL + Redis (`RAMPART_TEST_BACKEND=postgres`)?
fn postgres_backend() -> Option<(String, String)> {
    if std::env::var("RAMPART_TEST_BACKEND").as_deref() != Ok("postgres") {
        return None;
    }
    Some(
        services().expect(
            "RAMPART_TEST_BACKEND=postgres needs RAMPART_TEST_POSTGRES and RAMPART_TEST_REDIS",
        ),
    )
}

/// Run SQL on PostgreSQL; rows as text.
pub fn pg(conn: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(conn, tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(conn);
        let msgs = c
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        msgs.into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    })
}

/// A new, empty PostgreSQL database; returns its name.
pub fn fresh_pg_db(base: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "rt_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    pg(
        &format!("{base} dbname=postgres"),
        &format!("CREATE DATABASE {name}"),
    );
    name
}

/// The PostgreSQL database a test directory's configuration uses, if any.
fn pg_of(dir: &Path) -> Option<(String, String)> {
    let db = std::fs::read_to_string(dir.join("pg-db")).ok()?;
    let (base, _) = services()?;
    Some((base, db))
}

/// Run SQL against the audit tables of whichever backend `dir` uses; `{audit}` and
/// `{checkpoints}` name the tables.
pub fn audit_sql(dir: &Path, sql: &str) {
    match pg_of(dir) {
        Some((base, db)) => {
            pg(
                &format!("{base} dbname={db}"),
                &sql.replace("{audit}", "rampart_audit")
                    .replace("{checkpoints}", "rampart_checkpoints"),
            );
        }
        None => {
            let c = rusqlite::Connection::open(dir.join("g.db")).unwrap();
            c.execute_batch(
                &sql.replace("{audit}", "audit")
                    .replace("{checkpoints}", "checkpoints"),
            )
            .unwrap();
        }
    }
}

/// Number of audit rows.
pub fn audit_count(dir: &Path) -> i64 {
    match pg_of(dir) {
        Some((base, db)) => pg(
            &format!("{base} dbname={db}"),
            "SELECT count(*) FROM rampart_audit",
        )[0][0]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap(),
        None => rusqlite::Connection::open(dir.join("g.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap(),
    }
}

/// Everything stored in the audit tables, as text (to check nothing is in clear).
pub fn audit_raw(dir: &Path) -> String {
    match pg_of(dir) {
        Some((base, db)) => pg(
            &format!("{base} dbname={db}"),
            "SELECT string_agg(body, ' ') FROM rampart_audit",
        )[0][0]
            .clone()
            .unwrap_or_default(),
        None => {
            String::from_utf8_lossy(&std::fs::read(dir.join("g.db")).unwrap()).into_owned()
                + &String::from_utf8_lossy(&std::fs::read(dir.join("g.db-wal")).unwrap_or_default())
        }
    }
}

/// Save the audit state (restored by [`restore`]).
pub fn snapshot(dir: &Path) {
    match pg_of(dir) {
        Some((base, db)) => {
            pg(
                &format!("{base} dbname=postgres"),
                &format!("CREATE DATABASE {db}_snap TEMPLATE {db}"),
            );
        }
        None => {
            std::fs::copy(dir.join("g.db"), dir.join("g.db.snap")).unwrap();
        }
    }
}

/// Back to the [`snapshot`].
pub fn restore(dir: &Path) {
    match pg_of(dir) {
        Some((base, db)) => {
            let admin = format!("{base} dbname=postgres");
            pg(&admin, &format!("DROP DATABASE {db} WITH (FORCE)"));
            pg(&admin, &format!("CREATE DATABASE {db} TEMPLATE {db}_snap"));
        }
        None => {
            let _ = std::fs::remove_file(dir.join("g.db-wal"));
            let _ = std::fs::remove_file(dir.join("g.db-shm"));
            std::fs::copy(dir.join("g.db.snap"), dir.join("g.db")).unwrap();
        }
    }
}

/// `[storage]` for PostgreSQL (keys, audit) and Redis (counters), on a fresh database per
/// test directory.
pub fn shared_storage(dir: &Path, base: &str, redis: &str) -> String {
    let db = match std::fs::read_to_string(dir.join("pg-db")) {
        Ok(db) => db,
        Err(_) => {
            let db = fresh_pg_db(base);
            std::fs::write(dir.join("pg-db"), &db).unwrap();
            db
        }
    };
    format!(
        "[storage]\nsqlite = {:?}\npostgres = \"{base} dbname={db}\"\nredis = \"{redis}\"\n",
        dir.join("g.db").display().to_string()
    )
}

/// Write a configuration: listeners on port 0, SQLite in `dir` (or PostgreSQL + Redis when
/// the suite runs against them, `RAMPART_TEST_BACKEND=postgres`) unless `storage` says
/// otherwise, then `body` (upstreams, models, guards, [limits], ...).
pub fn config(dir: &Path, storage: Option<&str>, body: &str) -> PathBuf {
    let storage = match (storage, postgres_backend()) {
        (Some(s), _) => s.to_string(),
        (None, Some((base, redis))) => shared_storage(dir, &base, &redis),
        (None, None) => format!(
            "[storage]\nsqlite = {:?}\n",
            dir.join("g.db").display().to_string()
        ),
    };
    let text = format!(
        "[listen]\naddr = \"127.0.0.1:0\"\n\n[admin]\naddr = \"127.0.0.1:0\"\ntoken_env = \"RAMPART_TEST_ADMIN\"\n\n{storage}\n{body}\n"
    );
    let p = dir.join(format!("g{}.toml", std::process::id() ^ text.len() as u32));
    std::fs::write(&p, text).unwrap();
    p
}

pub fn serve(cfg: &Path, env: &[(&str, &str)]) -> Gw {
    let mut e = vec![("RAMPART_TEST_ADMIN", ADMIN_TOKEN)];
    e.extend_from_slice(env);
    let (proc, (url, admin)) = spawn(&["serve", "-c", cfg.to_str().unwrap()], &e, |l| {
        let rest = l.strip_prefix("rampart serve: listening on ")?;
        let (url, admin) = rest.split_once(" (admin ")?;
        Some((url.to_string(), admin.trim_end_matches(')').to_string()))
    });
    Gw { proc, url, admin }
}

/// `rampart keys create` with extra flags; returns (id, secret).
pub fn key(cfg: &Path, flags: &[&str]) -> (String, String) {
    let out = Command::new(bin())
        .args([
            "keys",
            "create",
            "-c",
            cfg.to_str().unwrap(),
            "--json",
            "--owner",
            "tests",
        ])
        .args(flags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["key"]["id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

pub fn post(c: &reqwest::blocking::Client, url: &str, key: Option<&str>, body: &str) -> Resp {
    let mut r = c
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    let r = r.send().expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().unwrap_or_default();
    Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        headers,
    }
}

pub fn chat(c: &reqwest::blocking::Client, gw: &Gw, key: &str, model: &str, content: &str) -> Resp {
    let body = serde_json::json!({"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 50});
    post(
        c,
        &format!("{}/v1/chat/completions", gw.url),
        Some(key),
        &body.to_string(),
    )
}

/// Every audit record (`rampart audit export`).
pub fn records(cfg: &Path) -> Vec<Value> {
    let out = Command::new(bin())
        .args(["audit", "export", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"].clone())
        .collect()
}

/// `rampart audit verify`: (exit code, stdout).
pub fn verify(cfg: &Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(["audit", "verify", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Wait until `f` holds (the audit record of a stream is written when the stream ends).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

/// Stay clear of a minute boundary (the per-minute limit is a sliding window over two
/// minutes; a test that straddles one would see the previous minute's share).
pub fn away_from_minute_boundary() {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if secs > 45 {
        std::thread::sleep(Duration::from_secs(61 - secs));
    }
}

pub fn mock_requests(c: &reqwest::blocking::Client, base: &str) -> u64 {
    c.get(format!("{base}/mock/stats"))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["requests"]
        .as_u64()
        .unwrap()
}
