//! AI bills of materials and cards from what is on disk.
//!
//! [`inventory::Inventory::build`] groups the files of each input into assets (a model, a
//! dataset, a prompt) and reads the small text files that describe them (Hugging Face
//! `config.json`, `README.md` front matter, tokenizer configuration, card metadata). The caller
//! then hashes every file once — feeding the same bytes to [`data::Counter`]s for dataset and
//! prompt facts — and attaches digests, weights metadata (from the scanner) and scan and
//! signature verdicts. From that one inventory come the CycloneDX 1.6 ML-BOM ([`cdx`]), the
//! SPDX 3.0.1 AI/Dataset document ([`spdx`]), the Markdown cards ([`render`]) and the card
//! check ([`card::check`]).
//!
//! Nothing here executes what it reads; every read is bounded by [`Limits`].

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod card;
pub mod cdx;
pub mod data;
pub mod facts;
pub mod inventory;
pub mod render;
pub mod spdx;
pub mod yaml;

use sha2::{Digest, Sha256};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum BomError {
    /// A limit was reached.
    #[error("limit reached: {0}")]
    Limit(String),
    /// A card metadata file cannot be used.
    #[error("card metadata: {0}")]
    Card(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Bounds on what is read.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest JSON or TOML file read (config.json, tokenizer_config.json, card metadata).
    pub max_json_bytes: u64,
    /// Largest README.md read.
    pub max_readme_bytes: u64,
    /// Largest front matter parsed.
    pub max_front_matter_bytes: u64,
    /// Most files over all inputs.
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_json_bytes: 16 << 20,
            max_readme_bytes: 4 << 20,
            max_front_matter_bytes: 256 << 10,
            max_files: 200_000,
        }
    }
}

/// Document-level facts.
#[derive(Debug, Clone)]
pub struct Meta {
    /// RFC 3339 creation time.
    pub timestamp: String,
    /// Serial number (a UUID derived from the content and the time, so that the same files at
    /// the same `SOURCE_DATE_EPOCH` give the same document).
    pub uuid: String,
    /// Rampart's version.
    pub tool_version: String,
    /// SHA-256 over every file's name and digest, in order.
    pub content_digest: String,
}

impl Meta {
    /// Metadata for an inventory whose files are hashed, created at `unix_seconds`.
    pub fn new(inv: &inventory::Inventory, unix_seconds: i64, tool_version: &str) -> Meta {
        let mut h = Sha256::new();
        for f in &inv.files {
            h.update(f.path.to_string_lossy().as_bytes());
            h.update([0]);
            h.update(f.sha256.as_deref().unwrap_or("").as_bytes());
            h.update([0]);
        }
        let content_digest = hex::encode(h.finalize());
        let timestamp = rfc3339(unix_seconds);
        let d = Sha256::digest(format!("{content_digest}{timestamp}{tool_version}").as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
        // RFC 9562 version 8 (custom) with the RFC variant bits.
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        let x = hex::encode(b);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            x.get(..8).unwrap_or(""),
            x.get(8..12).unwrap_or(""),
            x.get(12..16).unwrap_or(""),
            x.get(16..20).unwrap_or(""),
            x.get(20..).unwrap_or("")
        );
        Meta {
            timestamp,
            uuid,
            tool_version: tool_version.to_string(),
            content_digest,
        }
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

pub use rampart_core::time::rfc3339;

/// Entry points for the fuzz targets.
pub mod fuzzing {
    /// Front matter split and YAML parse.
    pub fn front_matter(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let (Some(f), _) = crate::yaml::split_front_matter(&text) {
            let _ = crate::yaml::parse(f);
        }
        let _ = crate::yaml::parse(&text);
    }

    /// Parquet footer.
    pub fn parquet(data: &[u8]) {
        let _ = crate::data::parquet::parse_footer(data);
        if let Some(tail) = data.get(data.len().saturating_sub(8)..) {
            let _ = crate::data::parquet::footer_range(data.len() as u64, tail);
        }
    }

    /// Dataset and prompt counters, fed in two chunks split by the first byte.
    pub fn counters(data: &[u8]) {
        let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
        for f in ["jsonl", "csv", "tsv", "prompt"] {
            if let Some(mut c) = crate::data::Counter::new(f) {
                c.feed(data.get(..cut).unwrap_or_default());
                c.feed(data.get(cut..).unwrap_or_default());
                let _ = c.finish();
            }
        }
    }

    /// Card metadata.
    pub fn card(data: &[u8]) {
        let _ = crate::card::parse(&String::from_utf8_lossy(data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
    }
}
