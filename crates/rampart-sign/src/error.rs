//! Errors of the signing library: each says what is wrong and what to do, never a secret.

use std::path::Path;

/// What can go wrong while hashing, signing or verifying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Walking the model directory failed.
    #[error("{0}: {1}")]
    Walk(String, String),
    /// A symlink was met and symlinks are not allowed.
    #[error(
        "{0} is a symbolic link; pass --allow_symlinks to follow links (their targets are then signed)"
    )]
    Symlink(String),
    /// A file name is not UTF-8 and cannot be named in a manifest.
    #[error(
        "file name {0:?} is not valid UTF-8 and cannot be recorded in a signature manifest; rename it"
    )]
    NonUtf8Name(String),
    /// The model has no files to sign.
    #[error("{0} contains no files to sign (after ignores); refusing to sign an empty model")]
    EmptyModel(String),
    /// A key could not be read or used.
    #[error("{0}")]
    Key(String),
    /// A certificate could not be read or does not verify.
    #[error("{0}")]
    Certificate(String),
    /// The signature file is malformed.
    #[error("invalid signature bundle: {0}")]
    Bundle(String),
    /// The cryptographic signature does not verify.
    #[error("{0}")]
    BadSignature(String),
    /// The files do not match the signed manifest.
    #[error("the model does not match its signature:\n{0}")]
    Mismatch(String),
    /// Something the specification allows that Rampart does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl SignError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SignError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
