//! Certificate chains for the `certificate` method.
//!
//! Stricter than the reference (model-signing 1.1.1 checks the chain at the leaf's notBefore,
//! so expired certificates pass, and checks no signer identity): every certificate must be
//! valid *now* (or at the time given), issuers must be CAs allowed to sign certificates within
//! their path length, the leaf must allow digital signatures and, when it has an EKU, code
//! signing; an optional identity must match a SAN of the leaf.

use crate::error::SignError;
use crate::keys::PublicKey;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME,
    ID_KP_CODE_SIGNING,
};
use der::{Decode, Encode};
use sha2::Digest as _;
pub use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// Most certificates followed from leaf to anchor.
const MAX_CHAIN: usize = 8;

/// Parse every certificate in a PEM file.
pub fn load_pem_chain(pem: &[u8]) -> Result<Vec<Certificate>, SignError> {
    let certs = Certificate::load_pem_chain(pem)
        .map_err(|e| SignError::Certificate(format!("cannot read PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(SignError::Certificate(
            "no certificate in the PEM input".into(),
        ));
    }
    Ok(certs)
}

/// Parse a DER certificate.
pub fn from_der(der: &[u8]) -> Result<Certificate, SignError> {
    Certificate::from_der(der)
        .map_err(|e| SignError::Certificate(format!("invalid certificate: {e}")))
}

/// DER encoding.
pub fn to_der(c: &Certificate) -> Result<Vec<u8>, SignError> {
    c.to_der()
        .map_err(|e| SignError::Certificate(format!("cannot encode certificate: {e}")))
}

/// The certificate's public key.
pub fn public_key(c: &Certificate) -> Result<PublicKey, SignError> {
    let spki = c
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| SignError::Certificate(e.to_string()))?;
    PublicKey::from_spki_der(&spki)
}

fn ext<T: for<'a> Decode<'a>>(
    c: &Certificate,
    oid: ObjectIdentifier,
) -> Result<Option<(bool, T)>, SignError> {
    let Some(exts) = &c.tbs_certificate.extensions else {
        return Ok(None);
    };
    for e in exts {
        if e.extn_id == oid {
            let v = T::from_der(e.extn_value.as_bytes())
                .map_err(|err| SignError::Certificate(format!("bad extension {oid}: {err}")))?;
            return Ok(Some((e.critical, v)));
        }
    }
    Ok(None)
}

/// Subject distinguished name, for messages.
pub fn subject(c: &Certificate) -> String {
    c.tbs_certificate.subject.to_string()
}

/// The leaf's subject alternative names (e-mail, URI, DNS).
pub fn sans(c: &Certificate) -> Vec<String> {
    let Ok(Some((_, san))) = ext::<SubjectAltName>(c, ID_CE_SUBJECT_ALT_NAME) else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|g| match g {
            GeneralName::Rfc822Name(s) => Some(s.to_string()),
            GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
            GeneralName::DnsName(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

fn check_time(c: &Certificate, now: u64) -> Result<(), SignError> {
    let nb = c
        .tbs_certificate
        .validity
        .not_before
        .to_unix_duration()
        .as_secs();
    let na = c
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    if now < nb {
        return Err(SignError::Certificate(format!(
            "certificate {:?} is not valid yet (notBefore {})",
            subject(c),
            c.tbs_certificate.validity.not_before
        )));
    }
    if now > na {
        return Err(SignError::Certificate(format!(
            "certificate {:?} expired (notAfter {})",
            subject(c),
            c.tbs_certificate.validity.not_after
        )));
    }
    Ok(())
}

/// Whether `issuer` signed `child`.
fn signed_by(child: &Certificate, issuer: &Certificate) -> bool {
    if child.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(key) = public_key(issuer) else {
        return false;
    };
    let Ok(tbs) = child.tbs_certificate.to_der() else {
        return false;
    };
    let sig = child.signature.raw_bytes();
    match child.signature_algorithm.oid {
        o if o == ECDSA_SHA256 => key.verify_prehash(&sha2::Sha256::digest(&tbs), sig),
        o if o == ECDSA_SHA384 => key.verify_prehash(&sha2::Sha384::digest(&tbs), sig),
        _ => false,
    }
}

fn check_ca(c: &Certificate, below: usize) -> Result<(), SignError> {
    match ext::<BasicConstraints>(c, ID_CE_BASIC_CONSTRAINTS)? {
        Some((_, bc)) if bc.ca => {
            if let Some(p) = bc.path_len_constraint
                && below > usize::from(p)
            {
                return Err(SignError::Certificate(format!(
                    "{:?} allows {p} intermediate(s) below it, the chain has {below}",
                    subject(c)
                )));
            }
        }
        _ => {
            return Err(SignError::Certificate(format!(
                "{:?} signs certificates but is not a CA (basicConstraints)",
                subject(c)
            )));
        }
    }
    if let Some((_, ku)) = ext::<KeyUsage>(c, ID_CE_KEY_USAGE)?
        && !ku.key_cert_sign()
    {
        return Err(SignError::Certificate(format!(
            "{:?} may not sign certificates (keyUsage)",
            subject(c)
        )));
    }
    Ok(())
}

/// Verify `chain` (leaf first, then the intermediates the bundle carries) up to one of
/// `anchors` at time `now` (Unix seconds), optionally requiring `identity` among the leaf's
/// SANs. Returns the leaf's public key.
pub fn verify_chain(
    chain: &[Certificate],
    anchors: &[Certificate],
    now: u64,
    identity: Option<&str>,
) -> Result<PublicKey, SignError> {
    let leaf = chain
        .first()
        .ok_or_else(|| SignError::Certificate("empty certificate chain".into()))?;
    check_time(leaf, now)?;
    match ext::<KeyUsage>(leaf, ID_CE_KEY_USAGE)? {
        Some((_, ku)) if !ku.digital_signature() => {
            return Err(SignError::Certificate(
                "signing certificate's keyUsage does not allow digitalSignature".into(),
            ));
        }
        _ => {}
    }
    if let Some((_, eku)) = ext::<ExtendedKeyUsage>(leaf, ID_CE_EXT_KEY_USAGE)?
        && !eku.0.contains(&ID_KP_CODE_SIGNING)
    {
        return Err(SignError::Certificate(
            "signing certificate's extendedKeyUsage does not include codeSigning".into(),
        ));
    }
    if let Some(want) = identity {
        let have = sans(leaf);
        if !have.iter().any(|s| s == want) {
            return Err(SignError::Certificate(format!(
                "signer identity {want:?} not in the certificate's SANs {have:?}"
            )));
        }
    }
    // Like OpenSSL without partial-chain trust: only self-signed anchors end a chain; other
    // certificates given as anchors can only serve as intermediates.
    let (roots, extra): (Vec<&Certificate>, Vec<&Certificate>) =
        anchors.iter().partition(|a| signed_by(a, a));
    let candidates: Vec<&Certificate> = chain.iter().skip(1).chain(extra).collect();
    let mut current = leaf;
    for intermediates_below in 0..MAX_CHAIN {
        if let Some(root) = roots.iter().find(|r| signed_by(current, r)) {
            check_time(root, now)?;
            check_ca(root, intermediates_below)?;
            return public_key(leaf);
        }
        let Some(issuer) = candidates
            .iter()
            .find(|c| !std::ptr::eq(**c, current) && signed_by(current, c))
        else {
            return Err(SignError::Certificate(format!(
                "unable to get local issuer certificate for {:?}: the chain does not lead to a given root certificate (trust anchors must be self-signed roots)",
                subject(current)
            )));
        };
        check_time(issuer, now)?;
        check_ca(issuer, intermediates_below)?;
        current = issuer;
    }
    Err(SignError::Certificate(format!(
        "certificate chain longer than {MAX_CHAIN}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(rel: &str) -> Vec<Certificate> {
        load_pem_chain(&crate::testdata::read(&format!("pki/{rel}"))).unwrap()
    }

    #[test]
    fn interop_chain() {
        let (leaf, inter, root, other) = (
            pem("leaf.pem"),
            pem("intermediate-ca.pem"),
            pem("root-ca.pem"),
            pem("unrelated-root-ca.pem"),
        );
        let chain = vec![leaf[0].clone(), inter[0].clone()];
        let now = 1_790_000_000; // 2026
        verify_chain(&chain, &root, now, None).unwrap();
        verify_chain(&chain, &root, now, Some("model-signer@example.com")).unwrap();
        assert!(verify_chain(&chain, &root, now, Some("mallory@example.com")).is_err());
        let e = verify_chain(&chain, &other, now, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unable to get local issuer"), "{e}");
        // An intermediate is not a trust anchor here (no partial chains).
        assert!(verify_chain(&chain, &inter, now, None).is_err());
        // Expired: the leaf ends in 2039.
        let e = verify_chain(&chain, &root, 2_300_000_000, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expired"), "{e}");
        let e = verify_chain(&chain, &root, 1_600_000_000, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid yet"), "{e}");
    }
}
