//! Rampart's OpenSSF Model Signing implementation: manifests of model folders and datasets,
//! in-toto statements in DSSE envelopes inside Sigstore bundles, signed with private keys or
//! certificate chains, verified with a public key or trust anchors; byte-compatible with the
//! reference `model-signing` package (see docs/signing.md for the differences it documents).
//!
//! ```no_run
//! use rampart_sign::hash::{manifest, HashOptions};
//! let m = manifest(std::path::Path::new("model/"), &HashOptions::default())?;
//! println!("{}", hex::encode(m.root_digest()));
//! # Ok::<(), rampart_sign::SignError>(())
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bundle;
pub mod error;
pub mod flow;
pub mod hash;
pub mod keys;
pub mod pki;
pub mod sigstore;

pub use error::SignError;

/// Entry point for `cargo fuzz`: the signature-file parsers must return normally on any input.
pub fn fuzz_bundle(data: &[u8]) {
    if let Ok(b) = bundle::Bundle::parse(data) {
        let _ = b.to_json();
        if let Ok((payload, _)) = b.payload_and_signature() {
            let _ = bundle::parse_statement(&payload);
        }
    }
    let _ = bundle::parse_statement(data);
    let _ = pki::load_pem_chain(data);
    let _ = pki::from_der(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = keys::PublicKey::from_pem(s);
        let _ = keys::PrivateKey::from_pem(s, Some(b"pw"));
    }
}

/// Test data shared by the unit tests.
#[cfg(test)]
pub(crate) mod testdata {
    /// A file of the model-signing interop vectors (`../shared/interop/model-signing` beside the
    /// checkout, as CI lays it out). Missing vectors fail the test rather than skip it.
    pub fn interop(rel: &str) -> std::path::PathBuf {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/interop/model-signing")
            .join(rel);
        assert!(
            p.exists(),
            "interop vector {} is missing: the tests need shared/ beside the checkout",
            p.display()
        );
        p
    }

    /// The bytes of an interop vector.
    pub fn read(rel: &str) -> Vec<u8> {
        std::fs::read(interop(rel)).expect("readable interop vector")
    }
}
