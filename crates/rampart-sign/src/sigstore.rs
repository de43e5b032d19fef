//! Offline verification of Sigstore keyless bundles against a given trusted root
//! (`trusted_root.json`): the signing certificate must chain to a Fulcio CA of the root and be
//! valid when the transparency log integrated the entry; the log entry must carry a valid
//! signed entry timestamp or an inclusion proof with a signed checkpoint from a log of the root,
//! and its body must name this envelope's payload, signature and certificate; the identity
//! (SAN) and OIDC issuer must match what the caller expects.
//!
//! Not checked: SCTs embedded in the certificate (the log inclusion already proves the
//! certificate was public), RFC 3161 timestamps (integrated time is used instead).

use crate::bundle::{self, Bundle, Material};
use crate::error::SignError;
use crate::keys::PublicKey;
use crate::pki;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use const_oid::ObjectIdentifier;
use der::Decode;
use serde_json::Value;
use sha2::Digest as _;
use x509_cert::Certificate;

const OIDC_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const OIDC_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

fn bad(m: impl Into<String>) -> SignError {
    SignError::Certificate(m.into())
}

/// A transparency log of the trusted root: id, key, validity window.
#[derive(Debug)]
struct Log {
    id: Vec<u8>,
    key: PublicKey,
    start: Option<i64>,
    end: Option<i64>,
}

/// A parsed `trusted_root.json` (the parts used here).
#[derive(Debug)]
pub struct TrustedRoot {
    cas: Vec<(Vec<Certificate>, Option<i64>, Option<i64>)>,
    logs: Vec<Log>,
}

fn rfc3339(s: &str) -> Option<i64> {
    // "2021-01-12T11:53:27Z" (fractional seconds ignored).
    rampart_core::time::parse_rfc3339(s)
}

fn valid_for(v: &Value) -> (Option<i64>, Option<i64>) {
    let vf = v.get("validFor");
    let get = |k: &str| {
        vf.and_then(|x| x.get(k))
            .and_then(Value::as_str)
            .and_then(rfc3339)
    };
    (get("start"), get("end"))
}

impl TrustedRoot {
    /// Parse `trusted_root.json`.
    pub fn parse(text: &[u8]) -> Result<Self, SignError> {
        let v: Value = serde_json::from_slice(text)
            .map_err(|e| bad(format!("trusted root is not JSON: {e}")))?;
        let mut cas = Vec::new();
        for ca in v
            .get("certificateAuthorities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut chain = Vec::new();
            for c in ca
                .pointer("/certChain/certificates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let der = B64
                    .decode(c.get("rawBytes").and_then(Value::as_str).unwrap_or(""))
                    .map_err(|e| bad(format!("trusted root: {e}")))?;
                chain.push(pki::from_der(&der)?);
            }
            let (s, e) = valid_for(ca);
            cas.push((chain, s, e));
        }
        let mut logs = Vec::new();
        for t in v
            .get("tlogs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let der = B64
                .decode(
                    t.pointer("/publicKey/rawBytes")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                )
                .map_err(|e| bad(format!("trusted root: {e}")))?;
            let id = B64
                .decode(
                    t.pointer("/logId/keyId")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                )
                .map_err(|e| bad(format!("trusted root: {e}")))?;
            // Logs with key types Rampart cannot use (e.g. Ed25519 Rekor v2 shards) are skipped.
            if let Ok(key) = PublicKey::from_spki_der(&der) {
                let (s, e) = valid_for(t.get("publicKey").unwrap_or(&Value::Null));
                logs.push(Log {
                    id,
                    key,
                    start: s,
                    end: e,
                });
            }
        }
        if cas.is_empty() || logs.is_empty() {
            return Err(bad(
                "trusted root has no usable certificate authority or transparency log",
            ));
        }
        Ok(TrustedRoot { cas, logs })
    }
}

/// The OIDC issuer recorded in a Fulcio certificate.
pub fn oidc_issuer(c: &Certificate) -> Option<String> {
    for e in c.tbs_certificate.extensions.as_deref().unwrap_or(&[]) {
        if e.extn_id == OIDC_ISSUER_V2 {
            return der::asn1::Utf8StringRef::from_der(e.extn_value.as_bytes())
                .ok()
                .map(|s| s.as_str().to_string());
        }
    }
    for e in c.tbs_certificate.extensions.as_deref().unwrap_or(&[]) {
        if e.extn_id == OIDC_ISSUER_V1 {
            return std::str::from_utf8(e.extn_value.as_bytes())
                .ok()
                .map(str::to_string);
        }
    }
    None
}

/// RFC 9162 inclusion proof check.
fn inclusion(index: u64, size: u64, leaf: [u8; 32], proof: &[[u8; 32]], root: &[u8]) -> bool {
    if index >= size {
        return false;
    }
    let node = |l: &[u8], r: &[u8]| -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    };
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            if f & 1 == 0 {
                loop {
                    f >>= 1;
                    s >>= 1;
                    if f & 1 == 1 || f == 0 {
                        break;
                    }
                }
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r.as_slice() == root
}

fn num(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(|x| {
        x.as_i64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    })
}

/// Who signed, as established by a verified keyless bundle.
#[derive(Debug, Clone)]
pub struct KeylessSigner {
    /// Subject alternative names of the certificate.
    pub sans: Vec<String>,
    /// OIDC issuer.
    pub issuer: Option<String>,
    /// When the log integrated the entry (Unix seconds).
    pub integrated_time: i64,
    /// The certificate's key.
    pub key: PublicKey,
}

/// Verify the bundle's certificate, log entry and envelope signature; returns the signer.
pub fn verify_bundle(
    b: &Bundle,
    root: &TrustedRoot,
    identity: Option<&str>,
    issuer: Option<&str>,
) -> Result<KeylessSigner, SignError> {
    let Material::Sigstore {
        certificate,
        tlog_entries,
    } = &b.material
    else {
        return Err(SignError::Bundle(
            "not a Sigstore keyless bundle (no certificate with log entries)".into(),
        ));
    };
    let leaf = pki::from_der(certificate)?;
    let (payload, sig) = b.payload_and_signature()?;
    let entry = tlog_entries
        .first()
        .ok_or_else(|| bad("keyless bundle has no transparency log entry"))?;
    let t = num(entry, "integratedTime").ok_or_else(|| bad("log entry has no integratedTime"))?;
    let log_index = num(entry, "logIndex").ok_or_else(|| bad("log entry has no logIndex"))?;
    let log_id = B64
        .decode(
            entry
                .pointer("/logId/keyId")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
        .map_err(|e| bad(format!("logId: {e}")))?;
    let Log {
        key: log_key,
        start: ls,
        end: le,
        ..
    } = root.logs.iter().find(|l| l.id == log_id).ok_or_else(|| {
        bad("the log entry comes from a transparency log that the trusted root does not list")
    })?;
    if ls.is_some_and(|s| t < s) || le.is_some_and(|e| t > e) {
        return Err(bad(
            "the log entry's time lies outside the log key's validity",
        ));
    }
    let body_b64 = entry
        .get("canonicalizedBody")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("log entry has no body"))?;
    let body = B64
        .decode(body_b64)
        .map_err(|e| bad(format!("log body: {e}")))?;

    // 1. The entry is in the log: a signed entry timestamp, or an inclusion proof whose root
    //    is in a checkpoint signed by the log. At least one must hold; each present one must.
    let mut proven = false;
    if let Some(set) = entry
        .pointer("/inclusionPromise/signedEntryTimestamp")
        .and_then(Value::as_str)
    {
        let set = B64.decode(set).map_err(|e| bad(format!("SET: {e}")))?;
        let canon = format!(
            "{{\"body\":{},\"integratedTime\":{t},\"logID\":{},\"logIndex\":{log_index}}}",
            serde_json::to_string(body_b64).unwrap_or_default(),
            serde_json::to_string(&hex::encode(&log_id)).unwrap_or_default()
        );
        if !log_key.verify(canon.as_bytes(), &set) {
            return Err(bad("the log's signed entry timestamp does not verify"));
        }
        proven = true;
    }
    if let Some(p) = entry.get("inclusionProof") {
        let idx = num(p, "logIndex").ok_or_else(|| bad("inclusion proof without logIndex"))?;
        let size = num(p, "treeSize").ok_or_else(|| bad("inclusion proof without treeSize"))?;
        let root_hash = B64
            .decode(p.get("rootHash").and_then(Value::as_str).unwrap_or(""))
            .map_err(|e| bad(format!("rootHash: {e}")))?;
        let hashes = p
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|h| {
                let v = B64
                    .decode(h.as_str().unwrap_or(""))
                    .map_err(|e| bad(format!("proof hash: {e}")))?;
                <[u8; 32]>::try_from(v.as_slice()).map_err(|_| bad("proof hash is not 32 bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut lh = sha2::Sha256::new();
        lh.update([0u8]);
        lh.update(&body);
        if !inclusion(
            u64::try_from(idx).unwrap_or(u64::MAX),
            u64::try_from(size).unwrap_or(0),
            lh.finalize().into(),
            &hashes,
            &root_hash,
        ) {
            return Err(bad(
                "the inclusion proof does not lead to the stated tree root",
            ));
        }
        let note = p
            .pointer("/checkpoint/envelope")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("inclusion proof without a signed checkpoint"))?;
        let (text, sigs) = note
            .split_once("\n\n")
            .ok_or_else(|| bad("malformed checkpoint"))?;
        let text = format!("{text}\n");
        let mut lines = text.lines();
        let (_origin, nsize, nroot) = (lines.next(), lines.next(), lines.next());
        if nsize != Some(size.to_string().as_str())
            || nroot.map(|r| B64.decode(r).ok()) != Some(Some(root_hash.clone()))
        {
            return Err(bad(
                "the checkpoint does not commit to the proof's tree size and root",
            ));
        }
        let ok = sigs.lines().any(|l| {
            l.strip_prefix("\u{2014} ")
                .and_then(|rest| rest.rsplit_once(' '))
                .and_then(|(_, s)| B64.decode(s).ok())
                .is_some_and(|raw| {
                    raw.len() > 4 && log_key.verify(text.as_bytes(), raw.get(4..).unwrap_or(&[]))
                })
        });
        if !ok {
            return Err(bad("the checkpoint is not signed by the transparency log"));
        }
        proven = true;
    }
    if !proven {
        return Err(bad(
            "the log entry has neither a signed entry timestamp nor an inclusion proof",
        ));
    }

    // 2. The entry is about this envelope.
    let bv: Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("log body is not JSON: {e}")))?;
    if bv.get("kind").and_then(Value::as_str) != Some("dsse") {
        return Err(bad("the log entry is not a dsse entry"));
    }
    let want_payload = hex::encode(sha2::Sha256::digest(&payload));
    if bv
        .pointer("/spec/payloadHash/value")
        .and_then(Value::as_str)
        != Some(want_payload.as_str())
    {
        return Err(bad("the log entry records another payload"));
    }
    let logged_sig = bv
        .pointer("/spec/signatures/0/signature")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok());
    if logged_sig.as_deref() != Some(sig.as_slice()) {
        return Err(bad("the log entry records another signature"));
    }
    let verifier = bv
        .pointer("/spec/signatures/0/verifier")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .and_then(|pem| pki::load_pem_chain(&pem).ok())
        .and_then(|c| c.into_iter().next());
    if verifier.as_ref() != Some(&leaf) {
        return Err(bad("the log entry records another certificate"));
    }

    // 3. The certificate chains to a Fulcio CA of the root, valid at integrated time, with the
    //    expected identity and issuer.
    let t_u = u64::try_from(t).map_err(|_| bad("negative integratedTime"))?;
    let mut last_err = bad("no certificate authority in the trusted root");
    let mut key = None;
    for (chain, s, e) in &root.cas {
        if s.is_some_and(|s| t < s) || e.is_some_and(|e| t > e) {
            continue;
        }
        let Some((anchor, inter)) = chain.split_last() else {
            continue;
        };
        let mut full = vec![leaf.clone()];
        full.extend(inter.iter().cloned());
        match pki::verify_chain(&full, std::slice::from_ref(anchor), t_u, identity) {
            Ok(k) => {
                key = Some(k);
                break;
            }
            Err(e) => last_err = e,
        }
    }
    let key = key.ok_or(last_err)?;
    let got_issuer = oidc_issuer(&leaf);
    if let Some(want) = issuer
        && got_issuer.as_deref() != Some(want)
    {
        return Err(bad(format!(
            "signer's OIDC issuer is {got_issuer:?}, expected {want:?}"
        )));
    }
    // 4. The envelope signature.
    if !key.verify(&bundle::pae(bundle::PAYLOAD_TYPE, &payload), &sig) {
        return Err(SignError::BadSignature(
            "the envelope signature does not verify with the signing certificate".into(),
        ));
    }
    Ok(KeylessSigner {
        sans: pki::sans(&leaf),
        issuer: got_issuer,
        integrated_time: t,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_proofs() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("2021-01-12T11:53:27Z"), Some(1_610_452_407));
        // A two-leaf tree: root = H(1 || H(0||a) || H(0||b)).
        let leaf = |x: &[u8]| -> [u8; 32] {
            let mut h = sha2::Sha256::new();
            h.update([0u8]);
            h.update(x);
            h.finalize().into()
        };
        let (a, b) = (leaf(b"a"), leaf(b"b"));
        let mut h = sha2::Sha256::new();
        h.update([1u8]);
        h.update(a);
        h.update(b);
        let root: [u8; 32] = h.finalize().into();
        assert!(inclusion(0, 2, a, &[b], &root));
        assert!(inclusion(1, 2, b, &[a], &root));
        assert!(!inclusion(1, 2, a, &[b], &root));
        assert!(!inclusion(2, 2, a, &[b], &root));
    }
}
