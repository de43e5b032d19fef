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

pub use error::SignError;
