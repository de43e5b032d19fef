//! The signature file: an in-toto Statement (the manifest) in a DSSE envelope in a Sigstore
//! bundle, laid out exactly as the reference writes it.

use crate::error::SignError;
use crate::hash::{self, Algorithm, HashOptions, Method, Resource};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The DSSE payload type.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The statement's predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The bundle media type written.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Largest signature file read (a manifest of a million files is well below this).
pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;

/// DSSE pre-authentication encoding: the bytes that are signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

/// JSON with every non-ASCII character escaped as `\uXXXX`, as the reference writes payloads.
fn ascii_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The in-toto statement payload for a manifest (2-space indent, ASCII-escaped).
pub fn statement(m: &hash::Manifest) -> Result<Vec<u8>, SignError> {
    let mut ser = serde_json::Map::new();
    match m.options.method {
        Method::Files => {
            ser.insert("method".into(), "files".into());
            ser.insert("hash_type".into(), m.options.algorithm.name().into());
            ser.insert("allow_symlinks".into(), m.options.allow_symlinks.into());
        }
        Method::Shards(size) => {
            ser.insert("method".into(), "shards".into());
            ser.insert("hash_type".into(), m.options.algorithm.name().into());
            // The reference's protobuf Struct turns the integer into a float (8 → 8.0).
            ser.insert("shard_size".into(), Value::from(size as f64));
            ser.insert("allow_symlinks".into(), m.options.allow_symlinks.into());
        }
    }
    if !m.options.ignore_paths.is_empty() {
        ser.insert("ignore_paths".into(), m.options.ignore_paths.clone().into());
    }
    let resources: Vec<Value> = m
        .resources
        .iter()
        .map(|r| serde_json::json!({"name": r.name, "algorithm": r.algorithm, "digest": hex::encode(&r.digest)}))
        .collect();
    let st = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": m.model_name, "digest": {"sha256": hex::encode(m.root_digest())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": Value::Object(ser), "resources": resources},
    });
    let pretty = serde_json::to_string_pretty(&st).map_err(|e| SignError::Bundle(e.to_string()))?;
    Ok(ascii_json(&pretty).into_bytes())
}

/// `{"sig": ..., "keyid": ""}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DsseSignature {
    /// Base64 DER ECDSA signature.
    pub sig: String,
    /// Key id (empty in the reference).
    #[serde(default)]
    pub keyid: String,
}

/// The DSSE envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 payload.
    pub payload: String,
    /// Payload media type.
    pub payload_type: String,
    /// Signatures (exactly one is written; exactly one is accepted).
    pub signatures: Vec<DsseSignature>,
}

/// How the signer is identified.
#[derive(Debug, Clone, PartialEq)]
pub enum Material {
    /// Key method: the hint (hex SHA-256 of the public key PEM).
    PublicKey {
        /// The hint.
        hint: String,
    },
    /// Certificate method: DER certificates, leaf first.
    Chain(Vec<Vec<u8>>),
    /// Sigstore keyless: the leaf certificate and the raw transparency-log entries.
    Sigstore {
        /// DER leaf certificate.
        certificate: Vec<u8>,
        /// Transparency-log entries as found.
        tlog_entries: Vec<Value>,
    },
}

/// A parsed or to-be-written bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Media type as found.
    pub media_type: String,
    /// Signer material.
    pub material: Material,
    /// The envelope.
    pub envelope: Envelope,
}

impl Bundle {
    /// Compact JSON in the reference's key order.
    pub fn to_json(&self) -> Result<String, SignError> {
        let vm = match &self.material {
            Material::PublicKey { hint } => {
                serde_json::json!({"publicKey": {"hint": hint}, "tlogEntries": []})
            }
            Material::Chain(certs) => serde_json::json!({
                "x509CertificateChain": {"certificates": certs.iter().map(|c| serde_json::json!({"rawBytes": B64.encode(c)})).collect::<Vec<_>>()},
                "tlogEntries": []
            }),
            Material::Sigstore {
                certificate,
                tlog_entries,
            } => serde_json::json!({
                "certificate": {"rawBytes": B64.encode(certificate)},
                "tlogEntries": tlog_entries,
            }),
        };
        // serde_json's map keeps insertion order only with preserve_order; write by hand.
        let env =
            serde_json::to_string(&self.envelope).map_err(|e| SignError::Bundle(e.to_string()))?;
        let vm = serde_json::to_string(&vm).map_err(|e| SignError::Bundle(e.to_string()))?;
        let mt = serde_json::to_string(&self.media_type)
            .map_err(|e| SignError::Bundle(e.to_string()))?;
        Ok(format!(
            "{{\"mediaType\":{mt},\"verificationMaterial\":{vm},\"dsseEnvelope\":{env}}}"
        ))
    }

    /// Parse a bundle (v0.1–v0.3 media types).
    pub fn parse(text: &[u8]) -> Result<Self, SignError> {
        let v: Value = serde_json::from_slice(text)
            .map_err(|e| SignError::Bundle(format!("not JSON: {e}")))?;
        let media_type = v
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !media_type.starts_with("application/vnd.dev.sigstore.bundle") {
            return Err(SignError::Bundle(format!(
                "unknown mediaType {media_type:?}"
            )));
        }
        let env: Envelope = serde_json::from_value(
            v.get("dsseEnvelope").cloned().unwrap_or(Value::Null),
        )
        .map_err(|e| {
            SignError::Bundle(format!(
                "dsseEnvelope: {e} (message-signature bundles are not model signatures)"
            ))
        })?;
        let vm = v
            .get("verificationMaterial")
            .ok_or_else(|| SignError::Bundle("no verificationMaterial".into()))?;
        let b64 = |s: &Value| -> Result<Vec<u8>, SignError> {
            B64.decode(s.as_str().unwrap_or(""))
                .map_err(|e| SignError::Bundle(format!("bad base64: {e}")))
        };
        let material = if let Some(pk) = vm.get("publicKey") {
            Material::PublicKey {
                hint: pk
                    .get("hint")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            }
        } else if let Some(chain) = vm.get("x509CertificateChain") {
            let certs = chain
                .get("certificates")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    SignError::Bundle("x509CertificateChain without certificates".into())
                })?
                .iter()
                .map(|c| b64(c.get("rawBytes").unwrap_or(&Value::Null)))
                .collect::<Result<Vec<_>, _>>()?;
            if certs.is_empty() {
                return Err(SignError::Bundle("empty certificate chain".into()));
            }
            Material::Chain(certs)
        } else if let Some(cert) = vm.get("certificate") {
            Material::Sigstore {
                certificate: b64(cert.get("rawBytes").unwrap_or(&Value::Null))?,
                tlog_entries: vm
                    .get("tlogEntries")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            }
        } else {
            return Err(SignError::Bundle(
                "verificationMaterial has no publicKey, x509CertificateChain or certificate".into(),
            ));
        };
        Ok(Bundle {
            media_type,
            material,
            envelope: env,
        })
    }

    /// The decoded payload and the single signature, after structural checks.
    pub fn payload_and_signature(&self) -> Result<(Vec<u8>, Vec<u8>), SignError> {
        if self.envelope.payload_type != PAYLOAD_TYPE {
            return Err(SignError::Bundle(format!(
                "payloadType {:?} is not {PAYLOAD_TYPE}",
                self.envelope.payload_type
            )));
        }
        let [sig] = self.envelope.signatures.as_slice() else {
            return Err(SignError::Bundle(format!(
                "expected exactly one signature, found {}",
                self.envelope.signatures.len()
            )));
        };
        let payload = B64
            .decode(&self.envelope.payload)
            .map_err(|e| SignError::Bundle(format!("payload base64: {e}")))?;
        let sig = B64
            .decode(&sig.sig)
            .map_err(|e| SignError::Bundle(format!("signature base64: {e}")))?;
        Ok((payload, sig))
    }
}

/// A signed statement, parsed.
#[derive(Debug, Clone)]
pub struct SignedManifest {
    /// Subject name.
    pub model_name: String,
    /// Subject root digest (hex).
    pub root_digest: String,
    /// Resources in payload order.
    pub resources: Vec<Resource>,
    /// Hashing options from `serialization`.
    pub options: HashOptions,
}

/// Parse the statement from the exact signed bytes (never re-serialised).
pub fn parse_statement(payload: &[u8]) -> Result<SignedManifest, SignError> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| SignError::Bundle(format!("payload is not JSON: {e}")))?;
    let bad = |m: &str| SignError::Bundle(format!("payload: {m}"));
    if v.get("_type").and_then(Value::as_str) != Some("https://in-toto.io/Statement/v1") {
        return Err(bad("not an in-toto v1 statement"));
    }
    if v.get("predicateType").and_then(Value::as_str) != Some(PREDICATE_TYPE) {
        return Err(bad(&format!("predicateType is not {PREDICATE_TYPE}")));
    }
    let subject = v
        .get("subject")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .ok_or_else(|| bad("no subject"))?;
    let model_name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let root_digest = subject
        .get("digest")
        .and_then(|d| d.get("sha256"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("subject has no sha256 digest"))?
        .to_string();
    let pred = v.get("predicate").ok_or_else(|| bad("no predicate"))?;
    let ser = pred
        .get("serialization")
        .ok_or_else(|| bad("no serialization"))?;
    let algorithm = Algorithm::parse(
        ser.get("hash_type")
            .and_then(Value::as_str)
            .unwrap_or("sha256"),
    )?;
    let method = match ser.get("method").and_then(Value::as_str) {
        Some("files") | None => Method::Files,
        Some("shards") => {
            // The reference writes a float (8.0); OMS v1.0 says integer. Accept both.
            let size = ser.get("shard_size").and_then(|s| {
                s.as_u64().or_else(|| {
                    s.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f > 0.0)
                        .map(|f| f as u64)
                })
            });
            Method::Shards(
                size.ok_or_else(|| bad("shards without a positive integral shard_size"))?,
            )
        }
        Some(other) => return Err(bad(&format!("unknown serialization method {other:?}"))),
    };
    let allow_symlinks = ser
        .get("allow_symlinks")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ignore_paths = ser
        .get("ignore_paths")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let resources = pred
        .get("resources")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no resources"))?
        .iter()
        .map(|r| {
            let name = r
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("resource without name"))?;
            let digest = r
                .get("digest")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("resource without digest"))?;
            Ok(Resource {
                name: name.to_string(),
                algorithm: r
                    .get("algorithm")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                digest: hex::decode(digest)
                    .map_err(|_| bad(&format!("digest of {name:?} is not hex")))?,
            })
        })
        .collect::<Result<Vec<_>, SignError>>()?;
    Ok(SignedManifest {
        model_name,
        root_digest,
        resources,
        options: HashOptions {
            algorithm,
            method,
            allow_symlinks,
            ignore_paths,
        },
    })
}

/// Build a bundle: sign the PAE of the statement.
pub fn build(payload: Vec<u8>, material: Material, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> Bundle {
    let sig = sign(&pae(PAYLOAD_TYPE, &payload));
    Bundle {
        media_type: BUNDLE_MEDIA_TYPE.into(),
        material,
        envelope: Envelope {
            payload: B64.encode(&payload),
            payload_type: PAYLOAD_TYPE.into(),
            signatures: vec![DsseSignature {
                sig: B64.encode(sig),
                keyid: String::new(),
            }],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_bundles_and_pae_matches() {
        use crate::testdata::read;
        let (key, pae_bin, payload) = (
            read("sigs/key.sig"),
            read("expected/key.pae.bin"),
            read("expected/key.payload.json"),
        );
        let b = Bundle::parse(&key).unwrap();
        let (p, _) = b.payload_and_signature().unwrap();
        assert_eq!(p, payload);
        assert_eq!(pae(PAYLOAD_TYPE, &p), pae_bin);
        let m = parse_statement(&p).unwrap();
        assert_eq!(m.resources.len(), 7);
        assert_eq!(m.options.ignore_paths.len(), 4);
        let cert = Bundle::parse(&read("sigs/certificate.sig")).unwrap();
        assert!(matches!(cert.material, Material::Chain(ref c) if c.len() == 2));
        // Round trip keeps the layout.
        let again = Bundle::parse(b.to_json().unwrap().as_bytes()).unwrap();
        assert_eq!(again.envelope.payload, b.envelope.payload);
    }

    #[test]
    fn ascii_escaping() {
        assert_eq!(ascii_json("café 😀"), "caf\\u00e9 \\ud83d\\ude00");
    }
}
