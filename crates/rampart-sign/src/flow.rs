//! Signing and verification of a model, end to end.

use crate::bundle::{self, Bundle, Material};
use crate::error::SignError;
use crate::hash::{self, HashOptions, Method, Resource};
use crate::keys::{PrivateKey, PublicKey};
use crate::pki;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use x509_cert::Certificate;

/// Who signs.
#[derive(Debug)]
pub enum Signer {
    /// A private key (the `key` method).
    Key(PrivateKey),
    /// A private key with its certificate and chain (the `certificate` method).
    Certificate {
        /// The leaf's private key.
        key: PrivateKey,
        /// The signing (leaf) certificate.
        leaf: Box<Certificate>,
        /// Intermediates (and optionally the root), in the order to embed.
        chain: Vec<Certificate>,
    },
}

/// What a verification trusts.
#[derive(Debug)]
pub enum Trust {
    /// A public key (the `key` method).
    Key(PublicKey),
    /// Root certificates, an optional required SAN, and the time to check validity at.
    Certificate {
        /// Self-signed trust anchors.
        anchors: Vec<Certificate>,
        /// Required identity (SAN) of the signer.
        identity: Option<String>,
        /// Unix time of the check (now, unless testing).
        now: u64,
    },
    /// A Sigstore trusted root and the expected identity and OIDC issuer (keyless bundles).
    Sigstore {
        /// Parsed `trusted_root.json`.
        root: Box<crate::sigstore::TrustedRoot>,
        /// Required SAN of the signer.
        identity: Option<String>,
        /// Required OIDC issuer.
        issuer: Option<String>,
    },
}

/// The signature file's path relative to the model root, when it lies inside the model.
fn inside(model: &Path, sig: &Path) -> Option<String> {
    let m = std::fs::canonicalize(model).ok()?;
    let parent = sig
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let s = std::fs::canonicalize(parent).ok()?.join(sig.file_name()?);
    s.strip_prefix(&m)
        .ok()?
        .to_str()
        .map(|r| r.replace('\\', "/"))
}

/// Sign `model` and write the bundle to `signature`. Returns the manifest.
pub fn sign(
    model: &Path,
    signature: &Path,
    opts: HashOptions,
    signer: &Signer,
) -> Result<hash::Manifest, SignError> {
    sign_with(model, signature, opts, signer, None)
}

/// [`sign`], reporting bytes hashed to `progress`.
pub fn sign_with(
    model: &Path,
    signature: &Path,
    mut opts: HashOptions,
    signer: &Signer,
    progress: hash::Progress<'_>,
) -> Result<hash::Manifest, SignError> {
    if let Some(rel) = inside(model, signature)
        && !opts.ignore_paths.contains(&rel)
    {
        opts.ignore_paths.push(rel);
    }
    let manifest = hash::manifest_with(model, &opts, progress)?;
    let payload = bundle::statement(&manifest)?;
    let (key, material) = match signer {
        Signer::Key(k) => (
            k,
            Material::PublicKey {
                hint: k.public().hint()?,
            },
        ),
        Signer::Certificate { key, leaf, chain } => {
            if pki::public_key(leaf)? != key.public() {
                return Err(SignError::Key(
                    "the private key does not belong to the signing certificate".into(),
                ));
            }
            let mut ders = vec![pki::to_der(leaf)?];
            for c in chain {
                ders.push(pki::to_der(c)?);
            }
            (key, Material::Chain(ders))
        }
    };
    let b = bundle::build(payload, material, |pae| key.sign(pae));
    write_atomic(signature, b.to_json()?.as_bytes())?;
    Ok(manifest)
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), SignError> {
    let tmp: PathBuf = {
        let mut t = path.as_os_str().to_owned();
        t.push(".tmp-rampart");
        t.into()
    };
    std::fs::write(&tmp, data).map_err(|e| SignError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SignError::io(path, e))
}

/// Options of a verification beyond what the signature records.
#[derive(Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    /// Bytes-hashed callback (progress bars).
    pub progress: hash::Progress<'a>,
    /// Extra paths to ignore (relative to the model root).
    pub ignore_paths: &'a [String],
    /// Tolerate files that the manifest does not list.
    pub ignore_unsigned_files: bool,
    /// Follow symlinks even if the signer did not.
    pub allow_symlinks: bool,
}

impl std::fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("ignore_paths", &self.ignore_paths)
            .field("ignore_unsigned_files", &self.ignore_unsigned_files)
            .field("allow_symlinks", &self.allow_symlinks)
            .finish_non_exhaustive()
    }
}

/// What a verification found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Who signed: key hint or certificate subject and SANs.
    pub signer: String,
    /// Subject name recorded in the signature.
    pub model_name: String,
    /// Root digest recorded in the signature (hex).
    pub root_digest: String,
    /// Files (or shards) checked.
    pub resources: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Hashing recorded in the signature.
    pub method: String,
    /// Files whose content differs.
    pub changed: Vec<String>,
    /// Signed files that are gone.
    pub missing: Vec<String>,
    /// Files present but not signed.
    pub extra: Vec<String>,
    /// Signed files now found under another name (same content).
    pub renamed: Vec<(String, String)>,
}

impl VerifyReport {
    /// Whether the model matches its signature.
    pub fn ok(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && self.renamed.is_empty()
    }

    /// One line per difference.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for c in &self.changed {
            s.push_str(&format!(
                "  changed:  {c} (content differs from the signed digest)\n"
            ));
        }
        for (from, to) in &self.renamed {
            s.push_str(&format!(
                "  renamed:  {from} -> {to} (same content, different name)\n"
            ));
        }
        for m in &self.missing {
            s.push_str(&format!("  missing:  {m} (signed, not present)\n"));
        }
        for e in &self.extra {
            s.push_str(&format!(
                "  extra:    {e} (present, not signed; --ignore_unsigned_files tolerates it)\n"
            ));
        }
        s
    }
}

/// Verify `model` against the bundle at `signature`.
pub fn verify(
    model: &Path,
    signature: &Path,
    trust: &Trust,
    vopts: &VerifyOptions,
) -> Result<VerifyReport, SignError> {
    verify_inner(model, signature, Some(trust), vopts, None)
}

/// SHA-256 digests already computed, by path, so that a caller who hashed the files (e.g.
/// `rampart bom`) need not read them again.
pub type Precomputed = std::collections::HashMap<std::path::PathBuf, Vec<u8>>;

/// Compare `model` with the manifest signed in `signature`, reusing `digests` when the
/// signature hashed whole files with SHA-256 (otherwise the files are hashed as signed).
/// With `trust`, the signature is verified too; without, `signer` is left empty: the report
/// then says only whether the files match what the bundle claims.
pub fn check_against(
    model: &Path,
    signature: &Path,
    trust: Option<&Trust>,
    digests: &Precomputed,
) -> Result<VerifyReport, SignError> {
    verify_inner(
        model,
        signature,
        trust,
        &VerifyOptions::default(),
        Some(digests),
    )
}

fn verify_inner(
    model: &Path,
    signature: &Path,
    trust: Option<&Trust>,
    vopts: &VerifyOptions,
    precomputed: Option<&Precomputed>,
) -> Result<VerifyReport, SignError> {
    let meta = std::fs::metadata(signature).map_err(|e| SignError::io(signature, e))?;
    if meta.len() > bundle::MAX_BUNDLE_BYTES {
        return Err(SignError::Bundle(format!(
            "signature file is {} bytes, more than the {} limit",
            meta.len(),
            bundle::MAX_BUNDLE_BYTES
        )));
    }
    let text = std::fs::read(signature).map_err(|e| SignError::io(signature, e))?;
    let b = Bundle::parse(&text)?;
    let (payload, sig) = b.payload_and_signature()?;
    let pae = bundle::pae(bundle::PAYLOAD_TYPE, &payload);
    let signer = match trust {
        Some(t) => check_signature(&b, &pae, &sig, t)?,
        None => String::new(),
    };
    let signed = bundle::parse_statement(&payload)?;
    let listed_root = hex::encode(hash::root_digest(&signed.resources));
    if listed_root != signed.root_digest {
        return Err(SignError::Bundle(
            "the signed subject digest does not match the signed resources (inconsistent payload)"
                .into(),
        ));
    }
    let mut opts = signed.options.clone();
    opts.allow_symlinks |= vopts.allow_symlinks;
    for p in vopts.ignore_paths {
        opts.ignore_paths
            .push(p.trim_start_matches("./").to_string());
    }
    if let Some(rel) = inside(model, signature) {
        opts.ignore_paths.push(rel);
    }
    let sharded = matches!(opts.method, Method::Shards(_));
    let entries = hash::list_files(model, &opts);
    let entries = match entries {
        Err(SignError::EmptyModel(_)) => Vec::new(),
        other => other?,
    };
    let bytes = entries.iter().map(|e| e.size).sum();
    let reuse = precomputed
        .filter(|_| opts.method == Method::Files && opts.algorithm == hash::Algorithm::Sha256);
    let known: Option<Vec<hash::Resource>> = reuse.and_then(|d| {
        let label = hash::resource_label(opts.algorithm, opts.method);
        entries
            .iter()
            .map(|e| {
                d.get(&e.path).map(|digest| hash::Resource {
                    name: e.name.clone(),
                    algorithm: label.clone(),
                    digest: digest.clone(),
                })
            })
            .collect()
    });
    let actual = match known {
        Some(k) => k,
        None if entries.is_empty() => Vec::new(),
        None => hash::hash_entries_with(&entries, &opts, vopts.progress)?,
    };
    let mut actual = actual;
    if model.is_file() {
        // A single-file model: the reference names its resource ".", OMS v1.0 the file name.
        // Whatever single name the signer used stands for this file.
        let names: BTreeSet<&str> = signed.resources.iter().map(|r| r.file(sharded)).collect();
        if let [only] = names.into_iter().collect::<Vec<_>>().as_slice() {
            for r in &mut actual {
                let tail = r
                    .name
                    .strip_prefix(r.file(sharded))
                    .unwrap_or("")
                    .to_string();
                r.name = format!("{only}{tail}");
            }
        }
    }
    let mut report = diff(
        &signed.resources,
        &actual,
        sharded,
        vopts.ignore_unsigned_files,
    );
    report.signer = signer;
    report.model_name = signed.model_name;
    report.root_digest = signed.root_digest;
    report.resources = signed.resources.len();
    report.bytes = bytes;
    report.method = match opts.method {
        Method::Files => format!("files/{}", opts.algorithm.name()),
        Method::Shards(n) => format!("shards({n})/{}", opts.algorithm.name()),
    };
    Ok(report)
}

/// Verify a single-file model held in memory (e.g. embedded in a binary) against its
/// signature bundle: the signature must verify with `trust`, and the signed manifest must list
/// exactly one file, hashed whole with SHA-256, whose digest equals the content's.
pub fn verify_blob(signature: &[u8], trust: &Trust, content: &[u8]) -> Result<String, SignError> {
    use sha2::{Digest, Sha256};
    let b = Bundle::parse(signature)?;
    let (payload, sig) = b.payload_and_signature()?;
    let pae = bundle::pae(bundle::PAYLOAD_TYPE, &payload);
    let signer = check_signature(&b, &pae, &sig, trust)?;
    let signed = bundle::parse_statement(&payload)?;
    if hex::encode(hash::root_digest(&signed.resources)) != signed.root_digest {
        return Err(SignError::Bundle(
            "the signed subject digest does not match the signed resources".into(),
        ));
    }
    let [only] = signed.resources.as_slice() else {
        return Err(SignError::Bundle(format!(
            "expected a signature of one file, found {} resources",
            signed.resources.len()
        )));
    };
    if signed.options.method != Method::Files || signed.options.algorithm != hash::Algorithm::Sha256
    {
        return Err(SignError::Unsupported(
            "in-memory verification needs a whole-file SHA-256 signature".into(),
        ));
    }
    if only.digest.as_slice() != Sha256::digest(content).as_slice() {
        return Err(SignError::BadSignature(
            "the content differs from the signed digest".into(),
        ));
    }
    Ok(signer)
}

fn check_signature(b: &Bundle, pae: &[u8], sig: &[u8], trust: &Trust) -> Result<String, SignError> {
    match (&b.material, trust) {
        (Material::PublicKey { hint }, Trust::Key(key)) => {
            let mine = key.hint()?;
            if !hint.is_empty() && *hint != mine {
                return Err(SignError::BadSignature(format!(
                    "key mismatch: the signature names public key {hint}, the given key is {mine}; verify with the signer's key"
                )));
            }
            if !key.verify(pae, sig) {
                return Err(SignError::BadSignature(
                    "signature does not verify: the signed payload or the signature was modified, or another key signed it".into(),
                ));
            }
            Ok(format!("public key {mine}"))
        }
        (Material::Chain(ders), Trust::Certificate { anchors, identity, now }) => {
            let chain = ders.iter().map(|d| pki::from_der(d)).collect::<Result<Vec<_>, _>>()?;
            let key = pki::verify_chain(&chain, anchors, *now, identity.as_deref())?;
            if !key.verify(pae, sig) {
                return Err(SignError::BadSignature(
                    "signature does not verify with the signing certificate's key: the payload or signature was modified".into(),
                ));
            }
            let leaf = chain.first().ok_or_else(|| SignError::Certificate("empty chain".into()))?;
            Ok(format!("certificate {} (SAN {})", pki::subject(leaf), pki::sans(leaf).join(", ")))
        }
        (Material::Sigstore { .. }, Trust::Sigstore { root, identity, issuer }) => {
            let who = crate::sigstore::verify_bundle(b, root, identity.as_deref(), issuer.as_deref())?;
            Ok(format!(
                "keyless certificate for {} (issuer {}, logged at Unix time {})",
                who.sans.join(", "),
                who.issuer.unwrap_or_default(),
                who.integrated_time
            ))
        }
        (Material::Sigstore { .. }, _) => Err(SignError::Bundle(
            "this is a Sigstore keyless bundle: verify with `verify sigstore --trust_config trusted_root.json --identity ... --identity_provider ...`".into(),
        )),
        (Material::PublicKey { .. }, _) => Err(SignError::Bundle("this signature was made with the key method: verify with `verify key --public_key`".into())),
        (Material::Chain(_), _) => Err(SignError::Bundle("this signature was made with the certificate method: verify with `verify certificate --certificate_chain ROOT.pem`".into())),
    }
}

fn diff(
    signed: &[Resource],
    actual: &[Resource],
    sharded: bool,
    ignore_unsigned: bool,
) -> VerifyReport {
    // Compare file by file: for shards, a file's identity is the sequence of its shard digests.
    let group = |rs: &[Resource]| {
        let mut m: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        for r in rs {
            let file = if sharded {
                r.file(true).to_string()
            } else {
                r.name.clone()
            };
            m.entry(file)
                .or_default()
                .push((r.name.clone(), r.digest.clone()));
        }
        m
    };
    let (want, have) = (group(signed), group(actual));
    let mut report = VerifyReport::default();
    for (file, w) in &want {
        match have.get(file) {
            Some(h) if h == w => {}
            Some(_) => report.changed.push(file.clone()),
            None => report.missing.push(file.clone()),
        }
    }
    let mut extra: BTreeSet<String> = have
        .keys()
        .filter(|f| !want.contains_key(*f))
        .cloned()
        .collect();
    // A missing file whose exact content appears under a new name was renamed.
    let mut still_missing = Vec::new();
    for m in std::mem::take(&mut report.missing) {
        let content: Vec<&Vec<u8>> = want
            .get(&m)
            .map(|v| v.iter().map(|x| &x.1).collect())
            .unwrap_or_default();
        let hit = extra.iter().find(|e| {
            let c: Vec<&Vec<u8>> = have
                .get(*e)
                .map(|v| v.iter().map(|x| &x.1).collect())
                .unwrap_or_default();
            c == content
        });
        match hit.cloned() {
            Some(e) => {
                extra.remove(&e);
                report.renamed.push((m, e));
            }
            None => still_missing.push(m),
        }
    }
    report.missing = still_missing;
    if !ignore_unsigned {
        report.extra = extra.into_iter().collect();
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, d: u8) -> Resource {
        Resource {
            name: name.into(),
            algorithm: "sha256".into(),
            digest: vec![d],
        }
    }

    #[test]
    fn blobs_verify_against_their_signature() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("m.bin");
        std::fs::write(&f, b"model bytes").unwrap();
        let key = PrivateKey::generate(crate::keys::KeyType::P256);
        let trust = Trust::Key(key.public());
        let sig = d.path().join("m.bin.sig");
        sign(&f, &sig, HashOptions::default(), &Signer::Key(key)).unwrap();
        let bundle = std::fs::read(&sig).unwrap();
        assert!(verify_blob(&bundle, &trust, b"model bytes").is_ok());
        assert!(verify_blob(&bundle, &trust, b"model bytez").is_err());
        let other = Trust::Key(PrivateKey::generate(crate::keys::KeyType::P256).public());
        assert!(verify_blob(&bundle, &other, b"model bytes").is_err());
        assert!(verify_blob(b"{}", &trust, b"model bytes").is_err());
    }

    #[test]
    fn single_file_models_accept_either_resource_name() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("model.gguf");
        std::fs::write(&f, b"weights").unwrap();
        let key = PrivateKey::generate(crate::keys::KeyType::P256);
        let trust = Trust::Key(key.public());
        let sig = d.path().join("model.sig");
        let m = sign(&f, &sig, HashOptions::default(), &Signer::Key(key)).unwrap();
        assert_eq!(m.resources[0].name, ".");
        assert!(
            verify(&f, &sig, &trust, &VerifyOptions::default())
                .unwrap()
                .ok()
        );
        // The same file signed under the OMS v1.0 spelling (its file name) also verifies.
        let mut named = m.clone();
        named.resources[0].name = "model.gguf".into();
        let payload = crate::bundle::statement(&named).unwrap();
        let key2 = PrivateKey::generate(crate::keys::KeyType::P256);
        let b = crate::bundle::build(
            payload,
            Material::PublicKey {
                hint: key2.public().hint().unwrap(),
            },
            |p| key2.sign(p),
        );
        std::fs::write(&sig, b.to_json().unwrap()).unwrap();
        assert!(
            verify(
                &f,
                &sig,
                &Trust::Key(key2.public()),
                &VerifyOptions::default()
            )
            .unwrap()
            .ok()
        );
        std::fs::write(&f, b"weightz").unwrap();
        let r = verify(
            &f,
            &sig,
            &Trust::Key(key2.public()),
            &VerifyOptions::default(),
        )
        .unwrap();
        assert_eq!(r.changed, vec!["model.gguf"]);
    }

    #[test]
    fn diff_names_every_kind_of_change() {
        let signed = vec![r("a", 1), r("b", 2), r("c", 3), r("d", 4)];
        let actual = vec![r("a", 1), r("b", 9), r("c2", 3), r("e", 5)];
        let d = diff(&signed, &actual, false, false);
        assert_eq!(d.changed, vec!["b"]);
        assert_eq!(d.renamed, vec![("c".to_string(), "c2".to_string())]);
        assert_eq!(d.missing, vec!["d"]);
        assert_eq!(d.extra, vec!["e"]);
        let d = diff(&signed, &actual, false, true);
        assert!(d.extra.is_empty());
    }
}
