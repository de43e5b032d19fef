//! Behaviour of `rampart scan`: exit codes, output formats, options, hostile-input guarantees.

use crate::util::{fixture, rampart, root, rule_ids, scan_json};
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn exit_codes() {
    rampart()
        .args([
            "scan",
            fixture("benign/model.safetensors").to_str().unwrap(),
        ])
        .assert()
        .code(0);
    rampart()
        .args([
            "scan",
            fixture("malicious/os_system_p0.pkl").to_str().unwrap(),
        ])
        .assert()
        .code(1);
    rampart()
        .args(["scan", "/definitely/not/here.pkl"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("no such file"));
    rampart()
        .args(["scan", "--format", "yaml", "x"])
        .assert()
        .code(2);
    rampart().args(["scan"]).assert().code(2);
}

#[test]
fn fail_on_threshold() {
    // Only a medium finding (review): fails by default, passes with --fail-on high.
    let f = fixture("malicious/torch_storage_short.pt");
    rampart()
        .args(["scan", f.to_str().unwrap()])
        .assert()
        .code(1);
    rampart()
        .args(["scan", "--fail-on", "high", f.to_str().unwrap()])
        .assert()
        .code(0);
    rampart()
        .args(["scan", "--fail-on", "nonsense", f.to_str().unwrap()])
        .assert()
        .code(2);
}

#[test]
fn json_report_shape() {
    let (code, r) = scan_json(&[fixture("malicious/torch_payload.pt").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["tool"]["name"], "rampart");
    assert_eq!(r["command"], "scan");
    let f = &r["findings"][0];
    assert_eq!(f["rule_id"], "RS101");
    assert_eq!(f["rule"], "pickle-dangerous-callable");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["location"]["entry"][0], "archive/data.pkl");
    assert!(f["location"]["offset"].as_u64().is_some());
    assert_eq!(f["evidence"], "posix.system('echo rampart-test')");
    assert!(f["impact"].as_str().unwrap().contains("calls posix.system"));
    assert!(!f["remediation"].as_str().unwrap().is_empty());
    let file = &r["files"][0];
    assert!(
        file["formats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "pytorch-zip")
    );
    assert_eq!(r["summary"]["by_severity"]["critical"], 1);
}

#[test]
fn sarif_is_valid_for_code_scanning() {
    let out = rampart()
        .args([
            "scan",
            "--format",
            "sarif",
            fixture("malicious").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "rampart");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 30);
    for r in rules {
        assert!(r["id"].as_str().unwrap().starts_with("RS"));
        assert!(
            r["shortDescription"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev));
    }
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 50);
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        assert!(matches!(
            res["level"].as_str().unwrap(),
            "error" | "warning" | "note"
        ));
        assert!(!res["message"]["text"].as_str().unwrap().is_empty());
        let pl = &res["locations"][0]["physicalLocation"];
        let uri = pl["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.contains(' ') && !uri.contains('\\'), "{uri}");
        assert!(pl["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(
            res["partialFingerprints"]["rampartFinding/v1"]
                .as_str()
                .is_some()
        );
    }
}

#[test]
fn human_output_is_concise_and_uncoloured_when_piped() {
    rampart()
        .args(["scan", root().join("examples").to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("CRITICAL"))
        .stdout(predicate::str::contains(
            "trojan_checkpoint.pt!/archive/data.pkl",
        ))
        .stdout(predicate::str::contains("scanned 8 files"))
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn explain_lists_opcodes_with_verdicts() {
    rampart()
        .args([
            "scan",
            "--explain",
            fixture("malicious/stack_global_memo.pkl").to_str().unwrap(),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("STACK_GLOBAL"))
        .stdout(predicate::str::contains("BINGET"))
        .stdout(predicate::str::contains(
            "import os.system  [CRITICAL: process execution]",
        ));
    rampart()
        .args([
            "pickle",
            "disasm",
            fixture("malicious/broken_after_payload.pkl")
                .to_str()
                .unwrap(),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("BREAK at"));
}

#[test]
fn allowlist_quiets_review_findings_only() {
    let dir = tempfile::tempdir().unwrap();
    let pkl = dir.path().join("custom.pkl");
    std::fs::write(&pkl, b"\x80\x02cmycompany.models\nTinyNet\n)\x81.").unwrap();
    let (code, r) = scan_json(&[pkl.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(rule_ids(&r), vec!["RS102"]);
    let allow = dir.path().join("allow.toml");
    std::fs::write(&allow, "[[safe]]\nframework = \"mycompany\"\ncallables = [\"mycompany.models.TinyNet\", \"os.system\"]\n").unwrap();
    let (code, r) = scan_json(&[
        "--allowlist",
        allow.to_str().unwrap(),
        pkl.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{r:#}");
    // The same allowlist cannot make os.system safe.
    let (code, r) = scan_json(&[
        "--allowlist",
        allow.to_str().unwrap(),
        fixture("malicious/os_system_p0.pkl").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(rule_ids(&r), vec!["RS101"]);
    std::fs::write(&allow, "[[dangerous]]\ncategory='x'\nmodules=['torch']\n").unwrap();
    rampart()
        .args([
            "scan",
            "--allowlist",
            allow.to_str().unwrap(),
            pkl.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("may only contain [[safe]]"));
}

#[test]
fn never_executes_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("canary");
    let cmd = format!("touch {}", canary.display());
    let mut p = b"cos\nsystem\n(X".to_vec();
    p.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
    p.extend_from_slice(cmd.as_bytes());
    p.extend_from_slice(b"tR.");
    let f = dir.path().join("payload.pkl");
    std::fs::write(&f, &p).unwrap();
    let (code, r) = scan_json(&[f.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        r["findings"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("touch")
    );
    assert!(!canary.exists(), "the payload ran");
}

#[test]
fn symlinks_leaving_the_tree_are_reported_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("evil.pkl");
    std::fs::copy(fixture("malicious/os_system_p0.pkl"), &secret).unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret, tree.path().join("model.bin")).unwrap();
    std::fs::copy(
        fixture("benign/model.safetensors"),
        tree.path().join("model.safetensors"),
    )
    .unwrap();
    let (code, r) = scan_json(&[tree.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        rule_ids(&r),
        vec!["RS901"],
        "the target must not be scanned"
    );
}

#[test]
fn hugging_face_cache_is_scanned_once_under_snapshot_names() {
    let (code, r) = scan_json(&[fixture("benign/hf_cache").to_str().unwrap()]);
    assert_eq!(code, 0);
    let files = r["files"].as_array().unwrap();
    assert_eq!(
        files.len(),
        2,
        "blob and its snapshot link are one file (plus refs/main): {files:#?}"
    );
    assert!(files.iter().any(|f| {
        f["path"]
            .as_str()
            .unwrap()
            .ends_with("snapshots/abc123/model.safetensors")
    }));
}

#[test]
fn limits_are_enforced_and_reported() {
    let (code, r) = scan_json(&[
        "--max-member-bytes",
        "100",
        fixture("benign/keras_dense.keras").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(rule_ids(&r).contains(&"RS902".to_string()), "{r:#}");
    let (code, r) = scan_json(&[
        "--max-pickle-ops",
        "10",
        fixture("benign/sklearn_pipeline.pkl").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(rule_ids(&r).contains(&"RS108".to_string()));
    let (_, r) = scan_json(&[
        "--max-depth",
        "1",
        fixture("malicious/nested_archives.zip").to_str().unwrap(),
    ]);
    assert!(rule_ids(&r).contains(&"RS203".to_string()));
}

#[test]
fn writes_report_to_file_and_lists_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.sarif");
    rampart()
        .args([
            "scan",
            "-f",
            "sarif",
            "-o",
            out.to_str().unwrap(),
            fixture("malicious/keras_lambda.keras").to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "RS501");
    rampart()
        .args(["scan", "--list-rules"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("RS101  pickle-dangerous-callable"));
}

#[test]
fn big_checkpoint_is_not_read_for_tensor_bytes() {
    // A 64 MiB stored tensor: scanning must not depend on its bytes (only on its size).
    let dir = tempfile::tempdir().unwrap();
    let pkl = b"\x80\x02}q\x00X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\x00\x00\x00\x01tQK\x00J\x00\x00\x00\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs.";
    let path = dir.path().join("big.pt");
    {
        use std::io::Write;
        let f = std::fs::File::create(&path).unwrap();
        let mut z = zip_writer::Writer::new(f);
        z.add("archive/data.pkl", pkl);
        z.add_zeros("archive/data/0", 64 << 20);
        z.add("archive/version", b"3\n");
        z.finish().unwrap().flush().unwrap();
    }
    let (code, r) = scan_json(&[path.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
}

/// A minimal stored-zip writer for tests (so the test crate needs no zip dependency).
mod zip_writer {
    use std::io::{Seek, Write};

    pub struct Writer<W: Write + Seek> {
        w: W,
        central: Vec<u8>,
        count: u16,
    }

    impl<W: Write + Seek> Writer<W> {
        pub fn new(w: W) -> Self {
            Writer {
                w,
                central: Vec::new(),
                count: 0,
            }
        }
        fn header(&mut self, name: &str, crc: u32, size: u32) {
            let off = self.w.stream_position().unwrap() as u32;
            let mut lh = Vec::new();
            lh.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            lh.extend_from_slice(&crc.to_le_bytes());
            lh.extend_from_slice(&size.to_le_bytes());
            lh.extend_from_slice(&size.to_le_bytes());
            lh.extend_from_slice(&(name.len() as u16).to_le_bytes());
            lh.extend_from_slice(&0u16.to_le_bytes());
            lh.extend_from_slice(name.as_bytes());
            self.w.write_all(&lh).unwrap();
            let c = &mut self.central;
            c.extend_from_slice(b"PK\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            c.extend_from_slice(&crc.to_le_bytes());
            c.extend_from_slice(&size.to_le_bytes());
            c.extend_from_slice(&size.to_le_bytes());
            c.extend_from_slice(&(name.len() as u16).to_le_bytes());
            c.extend_from_slice(&[0; 12]);
            c.extend_from_slice(&off.to_le_bytes());
            c.extend_from_slice(name.as_bytes());
            self.count += 1;
        }
        pub fn add(&mut self, name: &str, data: &[u8]) {
            let crc = crc32(data);
            self.header(name, crc, data.len() as u32);
            self.w.write_all(data).unwrap();
        }
        pub fn add_zeros(&mut self, name: &str, n: usize) {
            let block = vec![0u8; 1 << 20];
            let mut crc = Crc::new();
            for _ in 0..n / block.len() {
                crc.update(&block);
            }
            self.header(name, crc.finish(), n as u32);
            for _ in 0..n / block.len() {
                self.w.write_all(&block).unwrap();
            }
        }
        pub fn finish(mut self) -> std::io::Result<W> {
            let off = self.w.stream_position()? as u32;
            self.w.write_all(&self.central)?;
            let mut e = b"PK\x05\x06\x00\x00\x00\x00".to_vec();
            e.extend_from_slice(&self.count.to_le_bytes());
            e.extend_from_slice(&self.count.to_le_bytes());
            e.extend_from_slice(&(self.central.len() as u32).to_le_bytes());
            e.extend_from_slice(&off.to_le_bytes());
            e.extend_from_slice(&0u16.to_le_bytes());
            self.w.write_all(&e)?;
            Ok(self.w)
        }
    }

    struct Crc(u32);
    impl Crc {
        fn new() -> Self {
            Crc(0xffff_ffff)
        }
        fn update(&mut self, data: &[u8]) {
            for &b in data {
                let mut c = (self.0 ^ u32::from(b)) & 0xff;
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xedb8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
                self.0 = (self.0 >> 8) ^ c;
            }
        }
        fn finish(&self) -> u32 {
            !self.0
        }
    }
    fn crc32(data: &[u8]) -> u32 {
        let mut c = Crc::new();
        c.update(data);
        c.finish()
    }
}

/// The JSON report and docs/scan-report.schema.json agree: every field the report emits is
/// declared, and every required field is emitted (checked on the whole malicious tree).
#[test]
fn json_report_matches_documented_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/scan-report.schema.json")).unwrap(),
    )
    .unwrap();
    let (_, r) = scan_json(&[fixture("malicious").to_str().unwrap(), "/no/such/file"]);
    let check = |obj: &Value, sch: &Value, what: &str| {
        let props = sch["properties"].as_object().unwrap();
        for k in obj.as_object().unwrap().keys() {
            assert!(
                props.contains_key(k),
                "{what}: field {k} is not in the schema"
            );
        }
        for req in sch["required"].as_array().unwrap() {
            assert!(
                obj.get(req.as_str().unwrap()).is_some(),
                "{what}: required {req} missing"
            );
        }
    };
    check(&r, &schema, "report");
    let fsch = &schema["properties"]["findings"]["items"];
    let sev = schema["definitions"]["severity"]["enum"]
        .as_array()
        .unwrap();
    let mut n = 0;
    for f in r["findings"].as_array().unwrap() {
        check(f, fsch, "finding");
        check(&f["location"], &fsch["properties"]["location"], "location");
        assert!(sev.contains(&f["severity"]));
        let id = f["rule_id"].as_str().unwrap();
        assert!(
            id.len() == 5 && id.starts_with("RS") && id[2..].chars().all(|c| c.is_ascii_digit())
        );
        n += 1;
    }
    assert!(n > 50);
    for f in r["files"].as_array().unwrap() {
        check(f, &schema["properties"]["files"]["items"], "file");
    }
    assert_eq!(r["errors"].as_array().unwrap().len(), 1);
    check(
        &r["errors"][0],
        &schema["properties"]["errors"]["items"],
        "error",
    );
    check(&r["summary"], &schema["properties"]["summary"], "summary");
}
