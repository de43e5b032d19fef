//! Rampart's model-artifact scanner. It reads model files as data and never imports, loads or
//! executes anything in them.
//!
//! Formats are detected by content (magic bytes and structure), never by extension alone:
//! pickle (protocols 0–5, via a symbolic interpreter of CPython's unpickler), PyTorch zip/legacy/
//! tar checkpoints and TorchScript, NumPy `.npy`/`.npz`, joblib (and its compressed variants),
//! Keras `.keras` and legacy HDF5 `.h5`, TensorFlow SavedModel, ONNX, GGUF, safetensors, and the
//! archives and compressors they travel in (zip, tar, gzip, bzip2, xz, lzma, zstd, lz4, 7z).
//!
//! ```
//! use rampart_scan::{scan_bytes, ScanOptions};
//! let evil = b"cos\nsystem\n(S'echo rampart-demo'\ntR.";
//! let findings = scan_bytes("evil.pkl", evil, &ScanOptions::default());
//! assert!(findings.iter().any(|f| f.rule_id == "RS101"));
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod error;
pub(crate) mod formats;
pub mod fuzzing;
pub mod policy;
pub mod rules;
mod scan;
pub mod source;
mod walk;

pub use error::ScanError;
pub use policy::{Policy, Verdict};
pub use scan::Ctx;

use rampart_core::{Finding, Location, Report};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Explicit bounds on everything the scanner does with untrusted input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest pickle stream analysed, in bytes.
    pub max_pickle_bytes: u64,
    /// Largest archive member or decompressed stream examined, in bytes.
    pub max_member_bytes: u64,
    /// Total bytes decompressed for one top-level file.
    pub max_total_decompressed: u64,
    /// Largest compression ratio accepted for members above 1 MiB.
    pub max_ratio: u64,
    /// Most entries examined in one archive.
    pub max_entries: u64,
    /// Deepest nesting of archives and compressed streams.
    pub max_depth: u32,
    /// Most pickle opcodes interpreted per pickle.
    pub max_pickle_ops: u64,
    /// Largest structured metadata read (GGUF metadata, HDF5 attributes, protobuf graphs, JSON).
    pub max_metadata_bytes: u64,
    /// Wall-time budget per top-level file.
    pub time_per_file: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pickle_bytes: 1 << 30,
            max_member_bytes: 1 << 30,
            max_total_decompressed: 8 << 30,
            max_ratio: 1000,
            max_entries: 100_000,
            max_depth: 8,
            max_pickle_ops: 200_000_000,
            max_metadata_bytes: 512 << 20,
            time_per_file: Duration::from_secs(300),
        }
    }
}

/// Receives progress while a tree is scanned.
pub trait Progress: Send + Sync {
    /// The walk found `files` files totalling `bytes`.
    fn start(&self, files: u64, bytes: u64);
    /// One file of `bytes` is done.
    fn file_done(&self, bytes: u64);
}

/// How to scan.
#[derive(Clone, Default)]
pub struct ScanOptions {
    /// Limits.
    pub limits: Limits,
    /// Callable classification (built in plus user allowlists).
    pub policy: Arc<Policy>,
    /// Progress callback.
    pub progress: Option<Arc<dyn Progress>>,
    /// Also descend into `.git` directories (off: they duplicate the work tree).
    pub include_git: bool,
    /// Also record what weights files (safetensors, GGUF, ONNX) say about themselves
    /// ([`rampart_core::FileRecord::model`]), from the same header read the checks use.
    pub describe: bool,
}

impl ScanOptions {
    /// Default limits and the built-in policy.
    pub fn new() -> Self {
        ScanOptions {
            policy: Arc::new(Policy::builtin()),
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("limits", &self.limits)
            .field("include_git", &self.include_git)
            .finish_non_exhaustive()
    }
}

fn effective(opts: &ScanOptions) -> std::borrow::Cow<'_, ScanOptions> {
    // `ScanOptions::default()` has an empty policy; give it the built-in one.
    if opts.policy.is_empty() {
        let mut o = opts.clone();
        o.policy = Arc::new(Policy::builtin());
        std::borrow::Cow::Owned(o)
    } else {
        std::borrow::Cow::Borrowed(opts)
    }
}

/// Scan files and directories; never fails as a whole: unreadable files become error records.
pub fn scan_paths(paths: &[PathBuf], opts: &ScanOptions) -> Report {
    let opts = effective(opts);
    walk::scan_paths(paths, &opts)
}

/// Scan an in-memory blob as if it were a file called `name`; returns the findings.
pub fn scan_bytes(name: &str, data: &[u8], opts: &ScanOptions) -> Vec<Finding> {
    let opts = effective(opts);
    let mut ctx = Ctx::new(&opts, Instant::now() + opts.limits.time_per_file);
    let loc = Location::file(name);
    scan::scan_source(&mut ctx, &data, &loc, name, 0);
    ctx.into_findings()
}

/// An annotated opcode listing of every pickle in `data`, for investigators.
pub fn explain_pickle(data: &[u8], opts: &ScanOptions) -> String {
    explain_source(&data, "<input>", opts)
}

/// The listing of every pickle found while scanning `src` as a file called `name`.
fn explain_source(src: &dyn source::Source, name: &str, opts: &ScanOptions) -> String {
    let opts = effective(opts);
    let mut ctx = Ctx::new(&opts, Instant::now() + opts.limits.time_per_file);
    ctx.explain = Some(String::new());
    scan::scan_source(&mut ctx, src, &Location::file(name), name, 0);
    ctx.explain.take().unwrap_or_default()
}

/// Scan a file (following the same detection as a directory scan) and explain every pickle in
/// it, including pickles inside archives.
pub fn explain_file(path: &std::path::Path, opts: &ScanOptions) -> Result<String, ScanError> {
    let io = |e| ScanError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let file = source::FileSource::new(std::fs::File::open(path).map_err(io)?).map_err(io)?;
    Ok(explain_source(&file, &path.display().to_string(), opts))
}
