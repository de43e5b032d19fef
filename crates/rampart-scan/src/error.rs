//! Errors of the scanner library. Malformed *content* is never an error: it is a finding.
//! These are the conditions that stop a file from being examined at all.

use std::io;

/// What can stop the scanner from examining an input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A policy or allowlist file is invalid.
    #[error("{origin}: invalid policy: {message}")]
    Policy {
        /// The file (or `built-in policy`).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A path named on the command line does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path.
        path: String,
    },
}
