//! `rampart hash`, `sign`, `verify` and `keygen`.

use crate::cli::{
    DigestArgs, KeyTypeArg, KeygenArgs, ManifestArgs, PasswordArgs, SignArgs, SignMethod,
    VerifyArgs, VerifyFormat, VerifyMethod,
};
use anyhow::{Context, Result, bail};
use rampart_sign::SignError;
use rampart_sign::flow::{self, Signer, Trust, VerifyOptions};
use rampart_sign::hash::{self, Algorithm, DEFAULT_IGNORES, HashOptions, Method};
use rampart_sign::keys::{KeyType, PrivateKey, PublicKey};
use rampart_sign::pki;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zeroize_shim::Secret;

/// A passphrase that is wiped when dropped (the CLI has no zeroize dependency of its own).
mod zeroize_shim {
    pub struct Secret(pub Vec<u8>);
    impl Drop for Secret {
        fn drop(&mut self) {
            for b in self.0.iter_mut() {
                // Volatile-free best effort; the library zeroizes key material itself.
                *b = 0;
            }
        }
    }
}

fn relative_ignores(model: &Path, m: &ManifestArgs) -> Result<Vec<String>> {
    let mut out: Vec<String> = if m.no_ignore_git_paths {
        Vec::new()
    } else {
        DEFAULT_IGNORES.iter().map(|s| s.to_string()).collect()
    };
    let root = std::fs::canonicalize(model)
        .with_context(|| format!("cannot open model {}", model.display()))?;
    for p in &m.ignore_paths {
        // Like the reference: absolute paths must lie inside the model; relative ones are
        // relative to the model root.
        let rel = if p.is_absolute() {
            let c = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            c.strip_prefix(&root).map(Path::to_path_buf).map_err(|_| {
                anyhow::anyhow!("--ignore-paths {} is not inside the model", p.display())
            })?
        } else {
            p.clone()
        };
        out.push(
            rel.to_string_lossy()
                .replace('\\', "/")
                .trim_start_matches("./")
                .to_string(),
        );
    }
    Ok(out)
}

fn hash_options(model: &Path, m: &ManifestArgs, d: &DigestArgs) -> Result<HashOptions> {
    Ok(HashOptions {
        algorithm: Algorithm::parse(&d.hash_type)?,
        method: match d.shard_size {
            Some(0) => bail!("--shard-size must be positive"),
            Some(n) => Method::Shards(n),
            None => Method::Files,
        },
        allow_symlinks: m.allow_symlinks,
        ignore_paths: relative_ignores(model, m)?,
    })
}

/// The default signature path: `model.sig` next to the model (the reference's file name).
pub(crate) fn default_signature(model: &Path) -> PathBuf {
    let parent = std::fs::canonicalize(model)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    parent.join("model.sig")
}

fn passphrase(p: &PasswordArgs, what: &str) -> Result<Option<Secret>> {
    if let Some(f) = &p.password_file {
        let text = std::fs::read(f)
            .with_context(|| format!("cannot read passphrase file {}", f.display()))?;
        let line = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return Ok(Some(Secret(line.to_vec())));
    }
    if let Some(v) = std::env::var_os(&p.password_env).filter(|v| !v.is_empty()) {
        return Ok(Some(Secret(v.into_encoded_bytes())));
    }
    if p.prompt {
        let pw = rpassword::prompt_password(format!("{what}: "))
            .context("cannot read the passphrase from the terminal")?;
        return Ok(Some(Secret(pw.into_bytes())));
    }
    Ok(None)
}

fn read_private_key(path: &Path, p: &PasswordArgs) -> Result<PrivateKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read private key {}", path.display()))?;
    let pw = if pem.contains("ENCRYPTED PRIVATE KEY") {
        passphrase(p, "passphrase of the private key")?
    } else {
        None
    };
    PrivateKey::from_pem(&pem, pw.as_ref().map(|s| s.0.as_slice()))
        .with_context(|| format!("{}", path.display()))
}

/// Every certificate in the given PEM files, in order.
pub(crate) fn read_certs(paths: &[PathBuf]) -> Result<Vec<pki::Certificate>> {
    let mut out = Vec::new();
    for c in paths {
        let pem = std::fs::read(c).with_context(|| format!("cannot read {}", c.display()))?;
        out.extend(pki::load_pem_chain(&pem).with_context(|| format!("{}", c.display()))?);
    }
    Ok(out)
}

pub(crate) fn read_public_key(path: &Path) -> Result<PublicKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read public key {}", path.display()))?;
    Ok(PublicKey::from_pem(&pem)?)
}

/// A byte-counting spinner on stderr when it is a terminal (hashing many gigabytes takes a while).
pub(crate) fn progress_bar(what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes} hashed, {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.set_message(what.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(pb)
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn hash_cmd(a: crate::cli::HashArgs) -> Result<u8> {
    let opts = hash_options(&a.path, &a.manifest, &a.digest)?;
    let start = Instant::now();
    let m = hash::manifest(&a.path, &opts)?;
    let payload = rampart_sign::bundle::statement(&m)?;
    let mut v: serde_json::Value = serde_json::from_slice(&payload)?;
    v["rampart"] = serde_json::json!({
        "files": m.resources.len(),
        "bytes": m.bytes,
        "duration_ms": start.elapsed().as_millis() as u64,
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &v)?;
    out.write_all(b"\n")?;
    Ok(0)
}

pub fn sign_cmd(m: SignMethod) -> Result<u8> {
    let start = Instant::now();
    let (common, signer) = match m {
        SignMethod::Key { common } => {
            let key = read_private_key(&common.private_key, &common.password)?;
            (common, Signer::Key(key))
        }
        SignMethod::Certificate {
            signing_certificate,
            certificate_chain,
            common,
        } => {
            let key = read_private_key(&common.private_key, &common.password)?;
            let leaf = read_certs(std::slice::from_ref(&signing_certificate))?
                .into_iter()
                .next()
                .context("no certificate")?;
            let chain = read_certs(&certificate_chain)?;
            (
                common,
                Signer::Certificate {
                    key,
                    leaf: Box::new(leaf),
                    chain,
                },
            )
        }
        SignMethod::Sigstore { .. } => {
            bail!(
                "keyless Sigstore signing needs network access to Fulcio and Rekor, which this build does not use; sign with `key` or `certificate`"
            )
        }
    };
    let SignArgs {
        model_path: model,
        signature,
        manifest: manifest_args,
        digest,
        ..
    } = common;
    let opts = hash_options(&model, &manifest_args, &digest)?;
    let sig_path = signature.unwrap_or_else(|| default_signature(&model));
    let bar = progress_bar("signing");
    let tick = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let manifest = flow::sign_with(&model, &sig_path, opts, &signer, Some(&tick));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let manifest = manifest?;
    eprintln!(
        "signed {} ({} resources, {}) in {:.2} s -> {}",
        model.display(),
        manifest.resources.len(),
        rampart_core::render::human_bytes(manifest.bytes),
        start.elapsed().as_secs_f64(),
        sig_path.display()
    );
    Ok(0)
}

pub fn verify_cmd(m: VerifyMethod) -> Result<u8> {
    let start = Instant::now();
    let now = unix_now();
    let (model, trust, common) = match m {
        VerifyMethod::Key {
            model_path,
            public_key,
            common,
        } => (
            model_path,
            Trust::Key(read_public_key(&public_key)?),
            common,
        ),
        VerifyMethod::Certificate {
            model_path,
            certificate_chain,
            identity,
            at_time,
            common,
        } => {
            let now = at_time.unwrap_or(now);
            let anchors = read_certs(&certificate_chain)?;
            (
                model_path,
                Trust::Certificate {
                    anchors,
                    identity,
                    now,
                },
                common,
            )
        }
        VerifyMethod::Sigstore {
            model_path,
            identity,
            identity_provider,
            trust_config,
            common,
        } => {
            let Some(tc) = trust_config else {
                bail!(
                    "offline verification of keyless bundles needs the Sigstore trusted root: pass --trust_config trusted_root.json"
                );
            };
            let text =
                std::fs::read(&tc).with_context(|| format!("cannot read {}", tc.display()))?;
            let root = rampart_sign::sigstore::TrustedRoot::parse(&text)?;
            if identity.is_none() || identity_provider.is_none() {
                eprintln!(
                    "warning: without --identity and --identity_provider any Sigstore user's signature is accepted"
                );
            }
            (
                model_path,
                Trust::Sigstore {
                    root: Box::new(root),
                    identity,
                    issuer: identity_provider,
                },
                common,
            )
        }
    };
    run_verify(&model, &trust, &common, start)
}

fn run_verify(model: &Path, trust: &Trust, common: &VerifyArgs, start: Instant) -> Result<u8> {
    let sig = common
        .signature
        .clone()
        .unwrap_or_else(|| default_signature(model));
    let mut ignore = relative_ignores(model, &common.manifest)?;
    // The signed ignore list already holds the git paths; only add what the user asked for.
    ignore.retain(|p| !DEFAULT_IGNORES.contains(&p.as_str()));
    let bar = progress_bar("verifying");
    let tick = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let vopts = VerifyOptions {
        progress: Some(&tick),
        ignore_paths: &ignore,
        ignore_unsigned_files: common.ignore_unsigned_files,
        allow_symlinks: common.manifest.allow_symlinks,
    };
    let outcome = flow::verify(model, &sig, trust, &vopts);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = match outcome {
        Ok(r) => r,
        Err(
            e @ (SignError::BadSignature(_) | SignError::Certificate(_) | SignError::Bundle(_)),
        ) => {
            if common.format == VerifyFormat::Json {
                println!(
                    "{}",
                    serde_json::json!({"verified": false, "error": e.to_string()})
                );
            } else {
                eprintln!("verification FAILED: {e}");
            }
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    if common.format == VerifyFormat::Json {
        let mut v = serde_json::to_value(&report)?;
        v["verified"] = report.ok().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if report.ok() {
        eprintln!(
            "verified {}: signature by {}, {} resources ({}, {}) match, in {:.2} s",
            model.display(),
            report.signer,
            report.resources,
            report.method,
            rampart_core::render::human_bytes(report.bytes),
            start.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "verification FAILED: the signature is valid ({}) but the model differs:\n{}",
            report.signer,
            report.describe().trim_end()
        );
    }
    Ok(if report.ok() { 0 } else { 1 })
}

pub fn keygen_cmd(a: KeygenArgs) -> Result<u8> {
    use std::os::unix::fs::OpenOptionsExt;
    let private = a.output.with_extension("pem");
    let public = PathBuf::from(format!("{}.pub.pem", a.output.display()));
    for p in [&private, &public] {
        if p.exists() && !a.force {
            bail!("{} exists; pass --force to overwrite", p.display());
        }
    }
    let key = PrivateKey::generate(match a.key_type {
        KeyTypeArg::P256 => KeyType::P256,
        KeyTypeArg::P384 => KeyType::P384,
    });
    let pw = if a.encrypt {
        let pw = passphrase(
            &PasswordArgs {
                prompt: true,
                ..a.password.clone()
            },
            "new passphrase",
        )?;
        match pw {
            Some(p) if !p.0.is_empty() => Some(p),
            _ => bail!("--encrypt needs a non-empty passphrase"),
        }
    } else {
        None
    };
    let pem = key.to_pkcs8_pem(pw.as_ref().map(|s| s.0.as_slice()))?;
    let _ = std::fs::remove_file(&private);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&private)
        .with_context(|| format!("cannot create {}", private.display()))?;
    f.write_all(pem.as_bytes())?;
    std::fs::write(&public, key.public().to_pem()?)
        .with_context(|| format!("cannot write {}", public.display()))?;
    eprintln!(
        "wrote {} ({} private key, mode 0600{}) and {} (public key, hint {})",
        private.display(),
        key.curve(),
        if pw.is_some() { ", encrypted" } else { "" },
        public.display(),
        key.public().hint()?
    );
    Ok(0)
}

/// `rampart scan` reports the signature status of every scanned folder that has a `model.sig`
/// inside it or next to it: verified (with the given key or roots), present but unverified,
/// or invalid.
pub fn signature_status(
    report: &mut rampart_core::Report,
    paths: &[PathBuf],
    public_key: Option<&Path>,
    roots: &[PathBuf],
) -> Result<()> {
    use rampart_core::{Finding, Location};
    use rampart_scan::rules;
    let trust = match (public_key, roots.is_empty()) {
        (Some(k), _) => Some(Trust::Key(read_public_key(k)?)),
        (None, false) => Some(Trust::Certificate {
            anchors: read_certs(roots)?,
            identity: None,
            now: unix_now(),
        }),
        (None, true) => None,
    };
    for model in paths.iter().filter(|p| p.is_dir()) {
        let candidates = [model.join("model.sig"), default_signature(model)];
        let Some(sig) = candidates.iter().find(|p| p.is_file()) else {
            continue;
        };
        let loc = Location::file(sig.display().to_string());
        let make = |rule: &rampart_core::RuleInfo, msg: String| {
            let mut f = Finding::new(rule.id, rule.name, rule.severity, loc.clone(), msg);
            f.format = "oms-signature".into();
            f.remediation = rules::fix(rule.id).into();
            f
        };
        let f = match &trust {
            None => {
                let mut f = make(
                    &rules::SIGNATURE_UNVERIFIED,
                    format!("{} has a signature that was not verified", model.display()),
                );
                if let Err(e) = std::fs::read(sig).map_err(|e| e.to_string()).and_then(|b| {
                    rampart_sign::bundle::Bundle::parse(&b).map_err(|e| e.to_string())
                }) {
                    f = make(
                        &rules::SIGNATURE_INVALID,
                        format!("{} has an unreadable signature: {e}", model.display()),
                    );
                }
                f
            }
            Some(t) => match flow::verify(model, sig, t, &VerifyOptions::default()) {
                Ok(r) if r.ok() => make(
                    &rules::SIGNATURE_VERIFIED,
                    format!(
                        "{} verified: signed by {}, {} resources match",
                        model.display(),
                        r.signer,
                        r.resources
                    ),
                ),
                Ok(r) => {
                    let mut f = make(
                        &rules::SIGNATURE_INVALID,
                        format!("{} differs from its signature", model.display()),
                    );
                    f.evidence = Some(r.describe().trim_end().replace('\n', "; "));
                    f
                }
                Err(e) => make(
                    &rules::SIGNATURE_INVALID,
                    format!("{}: {e}", model.display()),
                ),
            },
        };
        report.findings.push(f);
    }
    report.finalize();
    Ok(())
}
