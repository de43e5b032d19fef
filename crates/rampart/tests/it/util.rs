//! Shared helpers for the integration tests.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

/// The repository root (fixtures and examples live there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

pub fn rampart() -> Command {
    let mut c = Command::cargo_bin("rampart").expect("binary built by cargo test");
    c.env("NO_COLOR", "1");
    c
}

/// Run `rampart scan --format json ARGS`, return (exit code, report).
pub fn scan_json(args: &[&str]) -> (i32, Value) {
    let out = rampart()
        .arg("scan")
        .arg("--format")
        .arg("json")
        .args(args)
        .output()
        .expect("run rampart");
    let code = out.status.code().expect("exit code");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

pub fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["rule_id"].as_str().expect("rule_id").to_string())
        .collect()
}

/// `rampart keygen -o DIR/NAME`: (private key, public key) paths.
pub fn keygen(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    rampart()
        .args(["keygen", "-o"])
        .arg(&prefix)
        .assert()
        .success();
    (
        prefix.with_extension("pem"),
        PathBuf::from(format!("{}.pub.pem", prefix.display())),
    )
}

/// `rampart sign key MODEL --private_key KEY`, to which a test adds flags and its assertion.
pub fn sign_key(model: impl AsRef<std::ffi::OsStr>, key: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = rampart();
    c.args(["sign", "key"])
        .arg(model)
        .arg("--private_key")
        .arg(key);
    c
}
