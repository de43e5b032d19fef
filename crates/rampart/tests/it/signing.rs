//! `rampart hash`, `sign`, `verify`, `keygen`: interop vectors made by model-signing 1.1.1,
//! mutation tests, and a round trip with the reference installed from PyPI.

use crate::util::{keygen, rampart, root, sign_key};
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn interop() -> PathBuf {
    root().join("../shared/interop/model-signing")
}

/// A writable copy of the interop folder with `tampered/` extracted.
fn interop_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .arg("-r")
        .arg(interop().join("."))
        .arg(d.path())
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("tar")
        .arg("-xJf")
        .arg("tampered.tar.xz")
        .current_dir(d.path())
        .status()
        .unwrap();
    assert!(st.success(), "tar -xJf failed (is xz installed?)");
    let _ = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(d.path())
        .status();
    d
}

#[test]
fn every_interop_vector_gives_the_expected_result() {
    let d = interop_copy();
    let cases = std::fs::read_to_string(d.path().join("cases.tsv")).unwrap();
    let mut n = 0;
    for line in cases.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (id, model, method, sig, args, expected) =
            (cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]);
        let out = rampart()
            .current_dir(d.path())
            .args(["verify", method, model, "--signature", sig])
            .args(args.split_whitespace())
            .output()
            .unwrap();
        let got = if out.status.code() == Some(0) {
            "PASS"
        } else {
            "FAIL"
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(got, expected, "{id}: {err}");
        if expected == "FAIL" {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{id}: verification failures exit 1: {err}"
            );
            let why = match id {
                i if i.ends_with("byte-flip") => "changed:  weights.bin",
                i if i.ends_with("file-added") => "extra:    tokenizer/merges.txt",
                i if i.ends_with("file-removed") => "missing:  empty.bin",
                i if i.ends_with("file-renamed") => {
                    "renamed:  weights.bin -> weights-00001-of-00001.bin"
                }
                "key-wrong-public-key" => "key mismatch",
                "key-forged-payload" => "signature does not verify",
                _ => "unable to get local issuer certificate",
            };
            assert!(err.contains(why), "{id}: expected {why:?} in {err}");
        }
        n += 1;
    }
    assert_eq!(n, 17);
}

#[test]
fn hash_prints_the_reference_root_digest() {
    let out = rampart()
        .args(["hash"])
        .arg(interop().join("tiny-llm"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["subject"][0]["digest"]["sha256"],
        "ef03ff9f6d3d2bf19fb27b1d2fa47a36fc6ce4451c09332f2b388bcdb5b04f9d"
    );
    assert_eq!(v["predicate"]["resources"].as_array().unwrap().len(), 7);
    let out = rampart()
        .args(["hash", "--shard-size", "1048576", "--hash-type", "blake3"])
        .arg(interop().join("tiny-llm"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["predicate"]["serialization"]["method"], "shards");
    assert_eq!(
        v["predicate"]["resources"][0]["algorithm"],
        "blake3-sharded-1048576"
    );
    // weights.bin is 3 MiB: three shards.
    let shards = v["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"].as_str().unwrap().starts_with("weights.bin:"))
        .count();
    assert_eq!(shards, 3);
}

fn model(dir: &Path) -> PathBuf {
    let m = dir.join("model");
    std::fs::create_dir_all(m.join("sub/deeper")).unwrap();
    std::fs::write(m.join("config.json"), b"{\"a\": 1}").unwrap();
    std::fs::write(m.join("weights.bin"), vec![7u8; 300_000]).unwrap();
    std::fs::write(m.join("sub/tok.txt"), b"hello").unwrap();
    std::fs::write(m.join("sub/deeper/x.bin"), b"xyz").unwrap();
    m
}

fn verify_key(m: &Path, sig: &Path, public: &Path) -> (i32, String) {
    let out = rampart()
        .args(["verify", "key"])
        .arg(m)
        .arg("--signature")
        .arg(sig)
        .arg("--public_key")
        .arg(public)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_kind_of_change_fails_with_the_right_explanation() {
    let d = tempfile::tempdir().unwrap();
    let (private, public) = keygen(d.path(), "k");
    let mode = std::fs::metadata(&private).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    let m = model(d.path());
    let sig = d.path().join("model.sig");
    rampart()
        .args(["sign", "key"])
        .arg(&m)
        .arg("--private-key")
        .arg(&private)
        .assert()
        .success();
    assert!(
        sig.exists(),
        "default signature path is model.sig next to the model"
    );
    assert_eq!(verify_key(&m, &sig, &public).0, 0);

    type Mutation = (&'static str, fn(&Path), &'static str);
    let mutations: &[Mutation] = &[
        (
            "flip",
            |m| {
                let p = m.join("weights.bin");
                let mut b = std::fs::read(&p).unwrap();
                b[150_000] ^= 1;
                std::fs::write(p, b).unwrap();
            },
            "changed:  weights.bin",
        ),
        (
            "truncate",
            |m| {
                let p = m.join("weights.bin");
                let b = std::fs::read(&p).unwrap();
                std::fs::write(p, &b[..1000]).unwrap();
            },
            "changed:  weights.bin",
        ),
        (
            "append",
            |m| {
                use std::io::Write;
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(m.join("config.json"))
                    .unwrap()
                    .write_all(b" ")
                    .unwrap();
            },
            "changed:  config.json",
        ),
        (
            "add",
            |m| std::fs::write(m.join("sub/new.txt"), b"n").unwrap(),
            "extra:    sub/new.txt",
        ),
        (
            "remove",
            |m| std::fs::remove_file(m.join("sub/deeper/x.bin")).unwrap(),
            "missing:  sub/deeper/x.bin",
        ),
        (
            "rename",
            |m| std::fs::rename(m.join("sub/tok.txt"), m.join("sub/tok2.txt")).unwrap(),
            "renamed:  sub/tok.txt -> sub/tok2.txt",
        ),
        (
            "symlink",
            |m| {
                let p = m.join("config.json");
                let keep = m.parent().unwrap().join("config.copy");
                std::fs::rename(&p, &keep).unwrap();
                std::os::unix::fs::symlink(&keep, &p).unwrap();
            },
            "is a symbolic link",
        ),
    ];
    for (name, mutate, why) in mutations {
        let copy = d.path().join(format!("m-{name}"));
        Command::new("cp")
            .arg("-r")
            .arg(&m)
            .arg(&copy)
            .status()
            .unwrap();
        mutate(&copy);
        let (code, err) = verify_key(&copy, &sig, &public);
        assert_ne!(code, 0, "{name} must fail");
        assert!(err.contains(why), "{name}: expected {why:?} in {err}");
    }

    // A changed signature, a signature from another key, a corrupted bundle.
    let text = std::fs::read_to_string(&sig).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut tampered = v.clone();
    let s = tampered["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if s.starts_with('M') {
        s.replacen('M', "N", 1)
    } else {
        s.replacen(&s[..1], "M", 1)
    };
    tampered["dsseEnvelope"]["signatures"][0]["sig"] = flipped.into();
    let bad_sig = d.path().join("bad.sig");
    std::fs::write(&bad_sig, tampered.to_string()).unwrap();
    let (code, err) = verify_key(&m, &bad_sig, &public);
    assert_eq!(code, 1);
    assert!(err.contains("signature does not verify"), "{err}");
    let (_, other_pub) = keygen(d.path(), "other");
    let (code, err) = verify_key(&m, &sig, &other_pub);
    assert_eq!(code, 1);
    assert!(err.contains("key mismatch"), "{err}");
    std::fs::write(&bad_sig, &text[..text.len() / 2]).unwrap();
    let (code, err) = verify_key(&m, &bad_sig, &public);
    assert_eq!(code, 1);
    assert!(err.contains("invalid signature bundle"), "{err}");
}

#[test]
fn bad_keys_and_passphrases_get_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let m = model(d.path());
    let junk = d.path().join("junk.pem");
    std::fs::write(
        &junk,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    sign_key(&m, &junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the private key"));
    std::fs::write(&junk, "not pem at all").unwrap();
    sign_key(&m, &junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a PEM file"));
    rampart()
        .args(["verify", "key"])
        .arg(&m)
        .arg("--public_key")
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the public key"));
    // Encrypted key: passphrase from a file; wrong passphrase from the environment.
    let pw = d.path().join("pw");
    std::fs::write(&pw, "s3cret passphrase\n").unwrap();
    let prefix = d.path().join("enc");
    rampart()
        .args(["keygen", "--type", "p384", "--encrypt", "--password-file"])
        .arg(&pw)
        .arg("-o")
        .arg(&prefix)
        .assert()
        .success();
    let private = prefix.with_extension("pem");
    let pem = std::fs::read_to_string(&private).unwrap();
    assert!(pem.contains("ENCRYPTED PRIVATE KEY") && !pem.contains("s3cret"));
    sign_key(&m, &private)
        .env("RAMPART_KEY_PASSWORD", "wrong")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong passphrase"))
        .stderr(predicate::str::contains("wrong").count(1));
    sign_key(&m, &private)
        .env_remove("RAMPART_KEY_PASSWORD")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("encrypted"));
    sign_key(&m, &private)
        .arg("--password-file")
        .arg(&pw)
        .assert()
        .success();
    rampart()
        .args(["verify", "key"])
        .arg(&m)
        .arg("--public-key")
        .arg(format!("{}.pub.pem", prefix.display()))
        .assert()
        .code(0);
    // Refuses to overwrite keys and to sign an empty model.
    rampart()
        .args(["keygen", "-o"])
        .arg(&prefix)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exists"));
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    sign_key(&empty, &private)
        .arg("--password-file")
        .arg(&pw)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no files to sign"));
}

#[test]
fn certificate_method_checks_time_identity_and_trust() {
    let d = interop_copy();
    let p = d.path();
    let m = p.join("tiny-llm");
    let sig = p.join("rampart-cert.sig");
    rampart()
        .args(["sign", "certificate"])
        .arg(&m)
        .args([
            "--private_key",
            "pki/TEST-ONLY-leaf-private.pem",
            "--signing_certificate",
            "pki/leaf.pem",
            "--certificate_chain",
            "pki/intermediate-ca.pem",
            "--signature",
        ])
        .arg(&sig)
        .current_dir(p)
        .assert()
        .success();
    let verify = |extra: &[&str]| {
        let out = rampart()
            .args(["verify", "certificate"])
            .arg(&m)
            .arg("--signature")
            .arg(&sig)
            .args(extra)
            .current_dir(p)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(verify(&["--certificate_chain", "pki/root-ca.pem"]).0, 0);
    assert_eq!(
        verify(&[
            "--certificate_chain",
            "pki/root-ca.pem",
            "--identity",
            "model-signer@example.com"
        ])
        .0,
        0
    );
    let (code, err) = verify(&[
        "--certificate_chain",
        "pki/root-ca.pem",
        "--identity",
        "someone@example.com",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not in the certificate's SANs"), "{err}");
    // 2045: the intermediate (valid to 2044) has expired; the reference would still pass.
    let (code, err) = verify(&[
        "--certificate_chain",
        "pki/root-ca.pem",
        "--at-time",
        "2366841600",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("expired"), "{err}");
    let (code, err) = verify(&["--certificate_chain", "pki/unrelated-root-ca.pem"]);
    assert_eq!(code, 1);
    assert!(err.contains("unable to get local issuer"), "{err}");
    // A key that does not belong to the certificate is refused at signing.
    rampart()
        .args(["sign", "certificate"])
        .arg(&m)
        .args([
            "--private_key",
            "keys/TEST-ONLY-ec-p256-private.sec1.pem",
            "--signing_certificate",
            "pki/leaf.pem",
            "--certificate_chain",
            "pki/intermediate-ca.pem",
            "--signature",
            "x.sig",
        ])
        .current_dir(p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does not belong to the signing certificate",
        ));
}

/// A venv with model-signing 1.1.1 (and pyOpenSSL, which it needs but does not declare), made
/// once per target directory from PyPI.
fn reference_cli() -> PathBuf {
    // Several tests need it and run in parallel threads of this one process: create it once.
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-signing-venv");
        let bin = venv.join("bin/model_signing");
        if !bin.exists() {
            let st = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 is needed for the interop test");
            assert!(st.success());
            let st = Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "model-signing==1.1.1", "pyOpenSSL"])
                .status()
                .expect("pip");
            assert!(st.success(), "installing model-signing from PyPI failed");
        }
        bin
    })
    .clone()
}

#[test]
fn round_trip_with_the_reference_implementation() {
    let ms = reference_cli();
    let d = interop_copy();
    let p = d.path();
    // The same flags serve both programs: that is the drop-in promise.
    const SIGN_KEY: &[&str] = &["--private_key", "keys/TEST-ONLY-ec-p256-private.sec1.pem"];
    const SIGN_KEY_PKCS8: &[&str] = &["--private_key", "keys/TEST-ONLY-ec-p256-private.pkcs8.pem"];
    const SIGN_CERT: &[&str] = &[
        "--private_key",
        "pki/TEST-ONLY-leaf-private.pem",
        "--signing_certificate",
        "pki/leaf.pem",
        "--certificate_chain",
        "pki/intermediate-ca.pem",
    ];
    const VERIFY_KEY: &[&str] = &["--public_key", "keys/ec-p256-public.pem"];
    const VERIFY_CERT: &[&str] = &["--certificate_chain", "pki/root-ca.pem"];
    let args = |op: &str, method: &str, model: &str, sig: &str, extra: &[&str]| -> Vec<String> {
        [op, method, model, "--signature", sig]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let ms_ok = |a: Vec<String>| {
        let out = Command::new(&ms).args(&a).current_dir(p).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let ours = |a: Vec<String>| rampart().current_dir(p).args(a).assert();

    // Rampart signs, the reference verifies (key and certificate).
    ours(args("sign", "key", "tiny-llm", "r-key.sig", SIGN_KEY)).success();
    let (ok, out) = ms_ok(args("verify", "key", "tiny-llm", "r-key.sig", VERIFY_KEY));
    assert!(ok, "{out}");
    ours(args(
        "sign",
        "certificate",
        "tiny-llm",
        "r-cert.sig",
        SIGN_CERT,
    ))
    .success();
    let (ok, out) = ms_ok(args(
        "verify",
        "certificate",
        "tiny-llm",
        "r-cert.sig",
        VERIFY_CERT,
    ));
    assert!(ok, "{out}");
    // And the reference rejects a Rampart signature of a tampered model.
    let (ok, _) = ms_ok(args(
        "verify",
        "key",
        "tampered/byte-flip",
        "r-key.sig",
        VERIFY_KEY,
    ));
    assert!(!ok);
    // The reference signs, Rampart verifies (key and certificate).
    let (ok, out) = ms_ok(args("sign", "key", "tiny-llm", "m-key.sig", SIGN_KEY_PKCS8));
    assert!(ok, "{out}");
    ours(args("verify", "key", "tiny-llm", "m-key.sig", VERIFY_KEY)).success();
    let (ok, out) = ms_ok(args(
        "sign",
        "certificate",
        "tiny-llm",
        "m-cert.sig",
        SIGN_CERT,
    ));
    assert!(ok, "{out}");
    ours(args(
        "verify",
        "certificate",
        "tiny-llm",
        "m-cert.sig",
        VERIFY_CERT,
    ))
    .success();
    // A signature inside the model folder is left out of the manifest by both.
    ours(args(
        "sign",
        "key",
        "tiny-llm",
        "tiny-llm/model.sig",
        SIGN_KEY,
    ))
    .success();
    let (ok, out) = ms_ok(args(
        "verify",
        "key",
        "tiny-llm",
        "tiny-llm/model.sig",
        VERIFY_KEY,
    ));
    assert!(ok, "{out}");
}

#[test]
fn scan_reports_signature_status() {
    let d = tempfile::tempdir().unwrap();
    let (private, public) = keygen(d.path(), "k");
    let m = model(d.path());
    sign_key(&m, &private)
        .arg("--signature")
        .arg(m.join("model.sig"))
        .assert()
        .success();
    let (code, r) = crate::util::scan_json(&[
        "--public-key",
        public.to_str().unwrap(),
        m.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(crate::util::rule_ids(&r), vec!["RS952"]);
    let (code, r) = crate::util::scan_json(&[m.to_str().unwrap()]);
    assert_eq!(code, 0, "an unverified signature is low severity");
    assert_eq!(crate::util::rule_ids(&r), vec!["RS951"]);
    std::fs::write(m.join("sub/tok.txt"), b"changed").unwrap();
    let (code, r) = crate::util::scan_json(&[
        "--public-key",
        public.to_str().unwrap(),
        m.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(crate::util::rule_ids(&r), vec!["RS950"]);
    assert!(
        r["findings"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("changed:  sub/tok.txt")
    );
}

/// The public-good Sigstore trusted root shipped inside the `sigstore` package (a dependency of
/// model-signing, installed from PyPI for the round-trip test).
fn public_good_trusted_root() -> PathBuf {
    let ms = reference_cli();
    let venv = ms.parent().unwrap().parent().unwrap();
    let lib = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    lib.join(
        "site-packages/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json",
    )
}

#[test]
fn keyless_bundles_verify_offline_against_a_trusted_root() {
    let root = public_good_trusted_root();
    assert!(root.exists(), "{}", root.display());
    let sample = interop().join("reference-samples/oms-spec-v1.1.0-sigstore-keyless.bundle.json");
    let d = tempfile::tempdir().unwrap();
    // The sample's model is not shipped: the signature checks pass, then the files are missing.
    let model = d.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::write(model.join("unrelated"), b"x").unwrap();
    let verify = |sig: &Path, extra: &[&str]| {
        let out = rampart()
            .args(["verify", "sigstore"])
            .arg(&model)
            .arg("--signature")
            .arg(sig)
            .arg("--trust_config")
            .arg(&root)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let who = [
        "--identity",
        "stefanb@us.ibm.com",
        "--identity_provider",
        "https://sigstore.verify.ibm.com/oauth2",
    ];
    let (code, err) = verify(&sample, &who);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the signature is valid (keyless certificate for stefanb@us.ibm.com"),
        "{err}"
    );
    assert!(err.contains("missing:  signme-1"), "{err}");
    let (_, err) = verify(&sample, &["--identity", "mallory@example.com"]);
    assert!(err.contains("not in the certificate's SANs"), "{err}");
    let (_, err) = verify(
        &sample,
        &["--identity_provider", "https://accounts.google.com"],
    );
    assert!(err.contains("OIDC issuer"), "{err}");
    // Tampering with any part of the log evidence or the envelope is detected.
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sample).unwrap()).unwrap();
    type Tamper = (&'static str, fn(&mut serde_json::Value), &'static str);
    let cases: &[Tamper] = &[
        (
            "set",
            |v| {
                v["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] = "MEQCIErVIgUO5ZfOBVXVM8URhnDQ2RXg7H+960ckEz8xKkdoAiBkki5CpODdpZw8GzMNv/nnT1j5OQ6l/Y5k00n7P0AXFA==".into()
            },
            "signed entry timestamp",
        ),
        (
            "proof",
            |v| {
                v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
                    "Zmf17o5a5Q69nPPFcZTIHWt03F7krvYqLjX5ylwcyjw=".into()
            },
            "signed entry timestamp|inclusion proof",
        ),
        (
            "time",
            |v| v["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1760062341".into(),
            "signed entry timestamp",
        ),
        (
            "payload",
            |v| {
                let p = v["dsseEnvelope"]["payload"].as_str().unwrap().to_string();
                let mut b = base64_decode(&p);
                let n = b.len() - 3;
                b[n] ^= 1;
                v["dsseEnvelope"]["payload"] = base64_encode(&b).into();
            },
            "another payload",
        ),
    ];
    for (name, mutate, why) in cases {
        let mut v = original.clone();
        mutate(&mut v);
        let p = d.path().join(format!("{name}.json"));
        std::fs::write(&p, v.to_string()).unwrap();
        let (code, err) = verify(&p, &who);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(
            why.split('|').any(|w| err.contains(w)),
            "{name}: expected {why:?} in {err}"
        );
        assert!(!err.contains("the signature is valid"), "{name}: {err}");
    }
    // Without a trusted root the command says what is missing.
    rampart()
        .args(["verify", "sigstore"])
        .arg(&model)
        .arg("--signature")
        .arg(&sample)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--trust_config"));
}

fn base64_decode(s: &str) -> Vec<u8> {
    let out = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    out.stdin.as_ref().unwrap().write_all(s.as_bytes()).unwrap();
    out.wait_with_output().unwrap().stdout
}

fn base64_encode(b: &[u8]) -> String {
    let out = Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    out.stdin.as_ref().unwrap().write_all(b).unwrap();
    String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap()
}

/// The reference's API writes sharded and BLAKE2/BLAKE3 manifests that its own CLI cannot
/// verify; Rampart reads the hashing configuration from the signed payload and verifies them,
/// and signs the same kinds in a form the reference API accepts.
#[test]
fn manifests_the_reference_api_writes_verify() {
    let ms = reference_cli();
    let python = ms.parent().unwrap().join("python");
    let d = interop_copy();
    let p = d.path();
    let script = r#"
import model_signing, sys
h = model_signing.hashing.Config()
h = h.use_shard_serialization(hashing_algorithm="blake2", shard_size=1048576) if sys.argv[1] == "shards" else h.use_file_serialization(hashing_algorithm="blake3")
model_signing.signing.Config().use_elliptic_key_signer(private_key="keys/TEST-ONLY-ec-p256-private.pkcs8.pem").set_hashing_config(h).sign("tiny-llm", sys.argv[2])
"#;
    for (kind, sig) in [("shards", "api-shards.sig"), ("blake3", "api-blake3.sig")] {
        let st = Command::new(&python)
            .args(["-c", script, kind, sig])
            .current_dir(p)
            .status()
            .unwrap();
        assert!(st.success());
        rampart()
            .current_dir(p)
            .args([
                "verify",
                "key",
                "tiny-llm",
                "--signature",
                sig,
                "--public_key",
                "keys/ec-p256-public.pem",
            ])
            .assert()
            .success();
        // The same signature fails on a tampered copy, naming the file.
        rampart()
            .current_dir(p)
            .args([
                "verify",
                "key",
                "tampered/byte-flip",
                "--signature",
                sig,
                "--public_key",
                "keys/ec-p256-public.pem",
            ])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("changed:  weights.bin"));
    }
    // Rampart's own sharded BLAKE2 signature verifies with the reference API, which (unlike its
    // CLI) takes the hashing configuration as a parameter.
    rampart()
        .current_dir(p)
        .args([
            "sign",
            "key",
            "tiny-llm",
            "--private_key",
            "keys/TEST-ONLY-ec-p256-private.sec1.pem",
            "--hash-type",
            "blake2",
            "--shard-size",
            "1048576",
            "--signature",
            "r-shards.sig",
        ])
        .assert()
        .success();
    let verify_api = r#"
import model_signing
h = model_signing.hashing.Config().use_shard_serialization(hashing_algorithm="blake2", shard_size=1048576)
model_signing.verifying.Config().use_elliptic_key_verifier(public_key="keys/ec-p256-public.pem").set_hashing_config(h).verify("tiny-llm", "r-shards.sig")
"#;
    let out = Command::new(&python)
        .args(["-c", verify_api])
        .current_dir(p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
