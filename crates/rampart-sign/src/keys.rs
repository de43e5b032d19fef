//! Keys: ECDSA P-256 and P-384 (the curves the reference's key method is used with), read
//! from SEC1 or PKCS#8 PEM (optionally encrypted), public keys from SPKI PEM; key generation
//! with optional passphrase encryption. Secrets are zeroized and never formatted.

use crate::error::SignError;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::Digest as _;
use spki::DecodePublicKey;
use zeroize::Zeroizing;

/// A private signing key.
pub enum PrivateKey {
    /// NIST P-256.
    P256(p256::ecdsa::SigningKey),
    /// NIST P-384.
    P384(p384::ecdsa::SigningKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "PrivateKey({})", self.curve())
    }
}

/// A public verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// NIST P-384.
    P384(p384::ecdsa::VerifyingKey),
}

/// Key types `rampart keygen` can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256 (default).
    P256,
    /// ECDSA P-384.
    P384,
}

fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + 11;
    let rest = pem.get(start..)?;
    let end = rest.find("-----")?;
    rest.get(..end)
}

impl PrivateKey {
    /// Parse a PEM private key. `password` is needed for `ENCRYPTED PRIVATE KEY`.
    pub fn from_pem(pem: &str, password: Option<&[u8]>) -> Result<Self, SignError> {
        let label = pem_label(pem)
            .ok_or_else(|| SignError::Key("not a PEM file (no -----BEGIN line)".into()))?;
        let bad = |what: &str| SignError::Key(format!("cannot read the private key: {what}"));
        match label {
            "EC PRIVATE KEY" => {
                if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
                    return Ok(PrivateKey::P256(k.into()));
                }
                if let Ok(k) = p384::SecretKey::from_sec1_pem(pem) {
                    return Ok(PrivateKey::P384(k.into()));
                }
                Err(bad(
                    "SEC1 EC key on a curve other than P-256/P-384, or corrupt PEM",
                ))
            }
            "PRIVATE KEY" => {
                if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
                    return Ok(PrivateKey::P256(k.into()));
                }
                if let Ok(k) = p384::SecretKey::from_pkcs8_pem(pem) {
                    return Ok(PrivateKey::P384(k.into()));
                }
                Err(bad(
                    "PKCS#8 key that is not ECDSA P-256/P-384, or corrupt PEM",
                ))
            }
            "ENCRYPTED PRIVATE KEY" => {
                let Some(pw) = password else {
                    return Err(SignError::Key(
                        "the private key is encrypted: give its passphrase (--password-file, RAMPART_KEY_PASSWORD or the prompt)".into(),
                    ));
                };
                if let Ok(k) = p256::SecretKey::from_pkcs8_encrypted_pem(pem, pw) {
                    return Ok(PrivateKey::P256(k.into()));
                }
                if let Ok(k) = p384::SecretKey::from_pkcs8_encrypted_pem(pem, pw) {
                    return Ok(PrivateKey::P384(k.into()));
                }
                Err(SignError::Key("cannot decrypt the private key: wrong passphrase, or not an ECDSA P-256/P-384 key".into()))
            }
            other => Err(bad(&format!(
                "unexpected PEM type {other:?} (expected EC PRIVATE KEY, PRIVATE KEY or ENCRYPTED PRIVATE KEY)"
            ))),
        }
    }

    /// Generate a new key.
    pub fn generate(kind: KeyType) -> Self {
        let mut rng = rand_core::OsRng;
        match kind {
            KeyType::P256 => PrivateKey::P256(p256::ecdsa::SigningKey::random(&mut rng)),
            KeyType::P384 => PrivateKey::P384(p384::ecdsa::SigningKey::random(&mut rng)),
        }
    }

    /// PKCS#8 PEM, encrypted (scrypt + AES-256-CBC) when a passphrase is given.
    pub fn to_pkcs8_pem(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>, SignError> {
        let err = |e: pkcs8::Error| SignError::Key(format!("cannot encode the private key: {e}"));
        let mut rng = rand_core::OsRng;
        let pem = match (self, password) {
            (PrivateKey::P256(k), None) => p256::SecretKey::from(k)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(err)?,
            (PrivateKey::P384(k), None) => p384::SecretKey::from(k)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(err)?,
            (PrivateKey::P256(k), Some(pw)) => p256::SecretKey::from(k)
                .to_pkcs8_encrypted_pem(&mut rng, pw, LineEnding::LF)
                .map_err(err)?,
            (PrivateKey::P384(k), Some(pw)) => p384::SecretKey::from(k)
                .to_pkcs8_encrypted_pem(&mut rng, pw, LineEnding::LF)
                .map_err(err)?,
        };
        Ok(Zeroizing::new(pem.to_string()))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        match self {
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            PrivateKey::P384(k) => PublicKey::P384(*k.verifying_key()),
        }
    }

    /// ECDSA over `msg` (SHA-256 for P-256, SHA-384 for P-384), ASN.1 DER.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use ecdsa::signature::Signer;
        match self {
            PrivateKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            PrivateKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
        }
    }

    /// Curve name.
    pub fn curve(&self) -> &'static str {
        match self {
            PrivateKey::P256(_) => "P-256",
            PrivateKey::P384(_) => "P-384",
        }
    }
}

impl PublicKey {
    /// Parse an SPKI PEM public key.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if let Ok(k) = p256::PublicKey::from_public_key_pem(pem) {
            return Ok(PublicKey::P256(k.into()));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_pem(pem) {
            return Ok(PublicKey::P384(k.into()));
        }
        Err(SignError::Key(
            "cannot read the public key: expected an SPKI PEM (-----BEGIN PUBLIC KEY-----) ECDSA P-256 or P-384 key".into(),
        ))
    }

    /// Parse a DER SubjectPublicKeyInfo (from a certificate).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, SignError> {
        if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k.into()));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k.into()));
        }
        Err(SignError::Certificate(
            "certificate key is not ECDSA P-256 or P-384".into(),
        ))
    }

    /// SPKI PEM, 64-column base64, LF endings (the text the key hint is computed over).
    pub fn to_pem(&self) -> Result<String, SignError> {
        let r = match self {
            PublicKey::P256(k) => p256::PublicKey::from(k).to_public_key_pem(LineEnding::LF),
            PublicKey::P384(k) => p384::PublicKey::from(k).to_public_key_pem(LineEnding::LF),
        };
        r.map_err(|e| SignError::Key(format!("cannot encode public key: {e}")))
    }

    /// The reference's `publicKey.hint`: hex SHA-256 of the PEM text.
    pub fn hint(&self) -> Result<String, SignError> {
        Ok(hex::encode(sha2::Sha256::digest(self.to_pem()?.as_bytes())))
    }

    /// Verify a DER ECDSA signature over `msg` with the curve's hash.
    pub fn verify(&self, msg: &[u8], der_sig: &[u8]) -> bool {
        use ecdsa::signature::Verifier;
        match self {
            PublicKey::P256(k) => {
                p256::ecdsa::Signature::from_der(der_sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            PublicKey::P384(k) => {
                p384::ecdsa::Signature::from_der(der_sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
        }
    }

    /// Verify with an explicit digest algorithm (X.509 signatures name theirs).
    pub fn verify_prehash(&self, digest: &[u8], der_sig: &[u8]) -> bool {
        use ecdsa::signature::hazmat::PrehashVerifier;
        match self {
            PublicKey::P256(k) => p256::ecdsa::Signature::from_der(der_sig)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
            PublicKey::P384(k) => p384::ecdsa::Signature::from_der(der_sig)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interop_keys_and_hint() {
        let text = |rel: &str| String::from_utf8(crate::testdata::read(rel)).unwrap();
        let (sec1, p8, public) = (
            text("keys/TEST-ONLY-ec-p256-private.sec1.pem"),
            text("keys/TEST-ONLY-ec-p256-private.pkcs8.pem"),
            text("keys/ec-p256-public.pem"),
        );
        let a = PrivateKey::from_pem(&sec1, None).unwrap();
        let b = PrivateKey::from_pem(&p8, None).unwrap();
        assert_eq!(a.public(), b.public());
        let p = PublicKey::from_pem(&public).unwrap();
        assert_eq!(p, a.public());
        assert_eq!(
            p.to_pem().unwrap(),
            public,
            "PEM re-encoding must match byte for byte"
        );
    }

    #[test]
    fn roundtrip_encrypted_and_wrong_passphrase() {
        let k = PrivateKey::generate(KeyType::P384);
        let pem = k.to_pkcs8_pem(Some(b"correct horse")).unwrap();
        assert!(pem.contains("ENCRYPTED PRIVATE KEY"));
        let back = PrivateKey::from_pem(&pem, Some(b"correct horse")).unwrap();
        assert_eq!(back.public(), k.public());
        let e = PrivateKey::from_pem(&pem, Some(b"wrong"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong passphrase"), "{e}");
        let e = PrivateKey::from_pem(&pem, None).unwrap_err().to_string();
        assert!(e.contains("encrypted"), "{e}");
        assert!(format!("{k:?}") == "PrivateKey(P-384)");
        let sig = k.sign(b"msg");
        assert!(k.public().verify(b"msg", &sig));
        assert!(!k.public().verify(b"msg2", &sig));
    }
}
