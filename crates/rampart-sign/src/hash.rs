//! Model manifests as the OpenSSF Model Signing specification defines them: one digest per
//! file (or per shard of a file), names relative to the model root with `/` separators, sorted
//! component-wise, and a root digest over the concatenated digests.
//!
//! Hashing runs on all cores (one task per file, or per shard) with large sequential reads;
//! every byte is read once.

use crate::error::SignError;
use sha2::Digest as _;
use std::cmp::Ordering;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Top-level names the reference ignores by default.
pub const DEFAULT_IGNORES: &[&str] = &[".git", ".gitattributes", ".github", ".gitignore"];

/// Read buffer per hashing task: small enough to stay in L2, so each byte is copied from the
/// page cache into cache and hashed from there.
const BUF: usize = 256 << 10;

/// A digest algorithm the specification allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-256 (the default).
    Sha256,
    /// BLAKE2b-512 (`blake2` in the reference's configuration).
    Blake2,
    /// BLAKE3 (256-bit).
    Blake3,
}

impl Algorithm {
    /// The `hash_type` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake2 => "blake2",
            Algorithm::Blake3 => "blake3",
        }
    }

    /// Parse a `hash_type`.
    pub fn parse(s: &str) -> Result<Self, SignError> {
        match s {
            "sha256" => Ok(Algorithm::Sha256),
            "blake2" | "blake2b" => Ok(Algorithm::Blake2),
            "blake3" => Ok(Algorithm::Blake3),
            other => Err(SignError::Unsupported(format!(
                "hash algorithm {other:?} (supported: sha256, blake2, blake3)"
            ))),
        }
    }

    fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Blake2 => Hasher::Blake2(blake2::Blake2b512::new()),
            Algorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }
}

enum Hasher {
    Sha256(sha2::Sha256),
    Blake2(blake2::Blake2b512),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Blake2(h) => h.update(b),
            Hasher::Blake3(h) => {
                h.update(b);
            }
        }
    }
    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Blake2(h) => h.finalize().to_vec(),
            Hasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// The per-resource `algorithm` label the reference writes: the digest's own name (`blake2b`
/// for BLAKE2, although `hash_type` says `blake2`), with `-sharded-<size>` for shards.
pub fn resource_label(alg: Algorithm, method: Method) -> String {
    let base = match alg {
        Algorithm::Sha256 => "sha256",
        Algorithm::Blake2 => "blake2b",
        Algorithm::Blake3 => "blake3",
    };
    match method {
        Method::Files => base.to_string(),
        Method::Shards(size) => format!("{base}-sharded-{size}"),
    }
}

/// How files are cut into resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One resource per file.
    Files,
    /// One resource per `shard_size` bytes of each file (`name:start:end`).
    Shards(u64),
}

/// Everything that decides a manifest (the payload's `serialization`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashOptions {
    /// Digest algorithm.
    pub algorithm: Algorithm,
    /// Files or shards.
    pub method: Method,
    /// Follow symbolic links (refused by default, as in the reference).
    pub allow_symlinks: bool,
    /// Paths relative to the model root, `/`-separated, excluded with everything below them.
    pub ignore_paths: Vec<String>,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            algorithm: Algorithm::Sha256,
            method: Method::Files,
            allow_symlinks: false,
            ignore_paths: DEFAULT_IGNORES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Relative path (`dir/file`), or `dir/file:start:end` for a shard.
    pub name: String,
    /// Algorithm label as written in the payload.
    pub algorithm: String,
    /// Raw digest bytes.
    pub digest: Vec<u8>,
}

impl Resource {
    /// The file part of the name (shards carry `:start:end`).
    pub fn file(&self, sharded: bool) -> &str {
        if sharded {
            let mut it = self.name.rsplitn(3, ':');
            let (_end, _start) = (it.next(), it.next());
            it.next().unwrap_or(&self.name)
        } else {
            &self.name
        }
    }
}

/// A model's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Informational name (basename of the model path).
    pub model_name: String,
    /// Resources in canonical order.
    pub resources: Vec<Resource>,
    /// How it was computed.
    pub options: HashOptions,
    /// Total bytes hashed.
    pub bytes: u64,
}

impl Manifest {
    /// SHA-256 over the concatenated raw digests, in resource order.
    pub fn root_digest(&self) -> [u8; 32] {
        root_digest(&self.resources)
    }
}

/// SHA-256 over the concatenated raw digests, in the given order.
pub fn root_digest(resources: &[Resource]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    for r in resources {
        h.update(&r.digest);
    }
    h.finalize().into()
}

/// Order names by `/`-separated components, each compared by code point (shorter prefix
/// first), then by shard start. This is the order the reference uses for the root digest.
pub fn component_order(a: &str, b: &str) -> Ordering {
    let split = |s: &str| -> (String, u64) {
        // Shard names end in `:start:end`; plain names may contain ':' themselves.
        let mut parts = s.rsplitn(3, ':');
        let end = parts.next();
        let start = parts.next();
        let rest = parts.next();
        match (
            rest,
            start.and_then(|x| x.parse::<u64>().ok()),
            end.and_then(|x| x.parse::<u64>().ok()),
        ) {
            (Some(r), Some(st), Some(_)) => (r.to_string(), st),
            _ => (s.to_string(), 0),
        }
    };
    let (pa, sa) = split(a);
    let (pb, sb) = split(b);
    pa.split('/').cmp(pb.split('/')).then(sa.cmp(&sb))
}

/// A file to hash: its manifest name and where it is.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Manifest name.
    pub name: String,
    /// Path on disk.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
}

fn ignored(rel: &str, opts: &HashOptions) -> bool {
    opts.ignore_paths.iter().any(|ig| {
        let ig = ig.trim_end_matches('/');
        rel == ig || rel.starts_with(&format!("{ig}/"))
    })
}

/// The files of a model, in canonical order, after ignores. Refuses symlinks unless allowed,
/// names that are not UTF-8, and empty models.
pub fn list_files(root: &Path, opts: &HashOptions) -> Result<Vec<Entry>, SignError> {
    let meta = std::fs::symlink_metadata(root).map_err(|e| SignError::io(root, e))?;
    if meta.file_type().is_symlink() && !opts.allow_symlinks {
        return Err(SignError::Symlink(root.display().to_string()));
    }
    let meta = std::fs::metadata(root).map_err(|e| SignError::io(root, e))?;
    if meta.is_file() {
        // The reference names a single-file model's only resource by its path relative to
        // itself: "." (OMS v1.0 leaves it open; verification accepts the file name too).
        return Ok(vec![Entry {
            name: ".".to_string(),
            path: root.to_path_buf(),
            size: meta.len(),
        }]);
    }
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(opts.allow_symlinks)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(root).ok().and_then(|r| r.to_str());
            // Non-UTF-8 names pass the filter and are refused below with a clear error.
            rel.is_none_or(|r| !ignored(&r.replace('\\', "/"), opts))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            SignError::Walk(path, e.to_string())
        })?;
        let rel = entry.path().strip_prefix(root).map_err(|_| {
            SignError::Walk(entry.path().display().to_string(), "outside root".into())
        })?;
        let name = rel
            .to_str()
            .ok_or_else(|| {
                SignError::NonUtf8Name(
                    String::from_utf8_lossy(rel.as_os_str().as_encoded_bytes()).into_owned(),
                )
            })?
            .replace('\\', "/");
        let ft = entry.file_type();
        if entry.path_is_symlink() && !opts.allow_symlinks {
            return Err(SignError::Symlink(name));
        }
        if ft.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(Entry {
                name,
                path: entry.path().to_path_buf(),
                size,
            });
        }
    }
    if out.is_empty() {
        return Err(SignError::EmptyModel(root.display().to_string()));
    }
    out.sort_by(|a, b| component_order(&a.name, &b.name));
    Ok(out)
}

/// Called with the number of bytes just hashed (from several threads).
pub type Progress<'a> = Option<&'a (dyn Fn(u64) + Sync)>;

/// Called with each file's index in the entry list and its bytes, in order, as they are hashed
/// (one thread per file at a time): lets a caller compute more from the same single read.
pub type Observer<'a> = Option<ObserveFn<'a>>;

/// See [`Observer`].
pub type ObserveFn<'a> = &'a (dyn Fn(usize, &[u8]) + Sync);

fn hash_range(
    path: &Path,
    (start, len): (u64, u64),
    alg: Algorithm,
    progress: Progress<'_>,
    observe: Option<(usize, ObserveFn<'_>)>,
) -> Result<Vec<u8>, SignError> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| SignError::io(path, e))?;
    if start > 0 {
        f.seek(SeekFrom::Start(start))
            .map_err(|e| SignError::io(path, e))?;
    }
    let mut h = alg.hasher();
    let mut buf = vec![0u8; BUF.min(len.max(1) as usize)];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = f.read(chunk).map_err(|e| SignError::io(path, e))?;
        if n == 0 {
            return Err(SignError::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "file shrank while it was hashed",
                ),
            ));
        }
        let bytes = chunk.get(..n).unwrap_or_default();
        h.update(bytes);
        if let Some((i, f)) = observe {
            f(i, bytes);
        }
        left -= n as u64;
        if let Some(p) = progress {
            p(n as u64);
        }
    }
    Ok(h.finish())
}

/// Digests computed by one worker, with the job index they belong to.
type Digests = Vec<(usize, Vec<u8>)>;

/// Hash listed files into resources (parallel), in canonical order.
pub fn hash_entries(entries: &[Entry], opts: &HashOptions) -> Result<Vec<Resource>, SignError> {
    hash_entries_with(entries, opts, None)
}

/// [`hash_entries`], reporting bytes hashed to `progress`.
pub fn hash_entries_with(
    entries: &[Entry],
    opts: &HashOptions,
    progress: Progress<'_>,
) -> Result<Vec<Resource>, SignError> {
    hash_entries_observed(entries, opts, progress, None)
}

/// [`hash_entries_with`], also handing every file's bytes to `observer` as they are read.
/// Only for [`Method::Files`] (a sharded manifest splits files across threads).
pub fn hash_entries_observed(
    entries: &[Entry],
    opts: &HashOptions,
    progress: Progress<'_>,
    observer: Observer<'_>,
) -> Result<Vec<Resource>, SignError> {
    let alg = opts.algorithm;
    if observer.is_some() && opts.method != Method::Files {
        return Err(SignError::Unsupported(
            "observing bytes while hashing needs per-file hashing".into(),
        ));
    }
    let jobs: Vec<(String, &Path, u64, u64)> = match opts.method {
        Method::Files => entries
            .iter()
            .map(|e| (e.name.clone(), e.path.as_path(), 0, e.size))
            .collect(),
        Method::Shards(size) => {
            if size == 0 {
                return Err(SignError::Unsupported("shard size 0".into()));
            }
            let mut v = Vec::new();
            for e in entries {
                // Like the reference, an empty file has no shards and so no resource.
                if e.size == 0 {
                    continue;
                }
                let mut start = 0;
                loop {
                    let end = (start + size).min(e.size);
                    v.push((
                        format!("{}:{start}:{end}", e.name),
                        e.path.as_path(),
                        start,
                        end - start,
                    ));
                    start = end;
                    if start >= e.size {
                        break;
                    }
                }
            }
            v
        }
    };
    let label = resource_label(alg, opts.method);
    // Largest first, handed out one by one from a shared counter (greedy LPT): with a few
    // huge files and many small ones, every core stays busy to the end. rayon's range
    // splitting would give one core all the large files.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs.get(i).map_or(0, |j| j.3)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = rayon::current_num_threads().clamp(1, jobs.len().max(1));
    let results: Vec<Result<Digests, SignError>> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        let (_, path, start, len) = jobs
                            .get(i)
                            .ok_or_else(|| SignError::Unsupported("job index".into()))?;
                        let observe = observer.map(|f| (i, f));
                        mine.push((i, hash_range(path, (*start, *len), alg, progress, observe)?));
                    }
                    Ok(mine)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(SignError::Unsupported("hashing thread panicked".into()))
                })
            })
            .collect()
    });
    let mut digests = Vec::with_capacity(jobs.len());
    for r in results {
        digests.extend(r?);
    }
    let mut by_index: Vec<Option<Vec<u8>>> = vec![None; jobs.len()];
    for (i, d) in digests {
        if let Some(slot) = by_index.get_mut(i) {
            *slot = Some(d);
        }
    }
    let mut out: Vec<Resource> = jobs
        .into_iter()
        .zip(by_index)
        .map(|((name, ..), d)| Resource {
            name,
            algorithm: label.clone(),
            digest: d.unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| component_order(&a.name, &b.name));
    Ok(out)
}

/// The manifest of a model folder or file.
pub fn manifest(root: &Path, opts: &HashOptions) -> Result<Manifest, SignError> {
    manifest_with(root, opts, None)
}

/// [`manifest`], reporting bytes hashed to `progress`.
pub fn manifest_with(
    root: &Path,
    opts: &HashOptions,
    progress: Progress<'_>,
) -> Result<Manifest, SignError> {
    let entries = list_files(root, opts)?;
    let bytes = entries.iter().map(|e| e.size).sum();
    let resources = hash_entries_with(&entries, opts, progress)?;
    let model_name = std::fs::canonicalize(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string());
    Ok(Manifest {
        model_name,
        resources,
        options: opts.clone(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_order_matches_reference() {
        let mut v = vec![
            "tokenizer.json",
            "tokenizer/vocab.txt",
            "tokenizer/special/a.json",
            "config.json",
        ];
        v.sort_by(|a, b| component_order(a, b));
        assert_eq!(
            v,
            vec![
                "config.json",
                "tokenizer/special/a.json",
                "tokenizer/vocab.txt",
                "tokenizer.json"
            ]
        );
        let mut s = vec!["w.bin:8:16", "w.bin:0:8", "a/b:0:1"];
        s.sort_by(|a, b| component_order(a, b));
        assert_eq!(s, vec!["a/b:0:1", "w.bin:0:8", "w.bin:8:16"]);
    }

    #[test]
    fn interop_model_root_digest() {
        let root = crate::testdata::interop("tiny-llm");
        let m = manifest(&root, &HashOptions::default()).unwrap();
        assert_eq!(
            hex::encode(m.root_digest()),
            "ef03ff9f6d3d2bf19fb27b1d2fa47a36fc6ce4451c09332f2b388bcdb5b04f9d"
        );
        assert_eq!(m.resources.len(), 7);
        assert_eq!(m.resources[1].name, "docs/café notes.md");
    }

    #[test]
    fn refuses_empty_models_and_symlinks() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            manifest(d.path(), &HashOptions::default()),
            Err(SignError::EmptyModel(_))
        ));
        std::fs::write(d.path().join("a"), b"x").unwrap();
        std::os::unix::fs::symlink(d.path().join("a"), d.path().join("b")).unwrap();
        assert!(matches!(
            manifest(d.path(), &HashOptions::default()),
            Err(SignError::Symlink(_))
        ));
        let opts = HashOptions {
            allow_symlinks: true,
            ..HashOptions::default()
        };
        assert_eq!(manifest(d.path(), &opts).unwrap().resources.len(), 2);
    }

    #[test]
    fn non_utf8_names_are_a_clear_error() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path()
                .join(std::ffi::OsStr::from_bytes(b"bad\xffname.bin")),
            b"x",
        )
        .unwrap();
        let e = manifest(d.path(), &HashOptions::default()).unwrap_err();
        assert!(matches!(e, SignError::NonUtf8Name(_)), "{e}");
        assert!(e.to_string().contains("rename it"), "{e}");
    }

    #[test]
    fn shards_cover_every_byte() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("w"), vec![7u8; 20]).unwrap();
        std::fs::write(d.path().join("e"), b"").unwrap();
        let opts = HashOptions {
            method: Method::Shards(8),
            ..HashOptions::default()
        };
        let m = manifest(d.path(), &opts).unwrap();
        let names: Vec<_> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["w:0:8", "w:8:16", "w:16:20"],
            "empty files have no shards (as in the reference)"
        );
        assert_eq!(m.resources[0].algorithm, "sha256-sharded-8");
        assert_eq!(m.resources[2].file(true), "w");
    }
}
