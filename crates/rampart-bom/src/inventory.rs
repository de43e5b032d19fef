//! What is on disk: the files of each input, grouped into assets (a model, a dataset, a
//! prompt) with the role each file plays, plus the facts the small text files state
//! (Hugging Face `config.json`, `README.md` front matter, tokenizer configuration).
//!
//! The caller lists the files (the CLI uses the same listing as `rampart hash`, so the BOM and
//! the signature speak of the same set) and later attaches the evidence computed in one pass
//! over the bytes: digests, dataset counts, weights metadata and scan verdicts.

use crate::card::{self, CardMeta};
use crate::data::{self, DataStats};
use crate::{BomError, Limits, yaml};
use rampart_core::{ModelInfo, Severity};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One file of an input, as listed by the caller.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Path relative to the input (`/`-separated); the file name for a file input.
    pub rel: String,
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
}

/// One path given on the command line.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path as given.
    pub path: PathBuf,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Its files.
    pub files: Vec<InputFile>,
}

/// What an asset is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Model weights with their configuration.
    Model,
    /// A dataset (one file, or a folder of data files).
    Dataset,
    /// A system prompt or prompt template.
    Prompt,
}

impl Kind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::Dataset => "dataset",
            Kind::Prompt => "prompt",
        }
    }
}

/// The role a file plays in its asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Weights (safetensors, GGUF, ONNX, pickle-based checkpoints, …).
    Weights,
    /// Model configuration (`config.json`, `generation_config.json`, …).
    Config,
    /// Tokenizer files.
    Tokenizer,
    /// The model card (`README.md`).
    ModelCard,
    /// A data file.
    Data,
    /// A prompt or prompt template.
    Prompt,
    /// Rampart card metadata (not part of the recorded hashes).
    CardMeta,
    /// A model signature (not part of the recorded hashes).
    Signature,
    /// Anything else.
    Other,
}

impl Role {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Weights => "weights",
            Role::Config => "config",
            Role::Tokenizer => "tokenizer",
            Role::ModelCard => "model-card",
            Role::Data => "data",
            Role::Prompt => "prompt",
            Role::CardMeta => "card-metadata",
            Role::Signature => "signature",
            Role::Other => "other",
        }
    }
}

/// The scanner's verdict on one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Formats detected, outermost first.
    pub formats: Vec<String>,
    /// Number of findings.
    pub findings: u64,
    /// Worst severity.
    pub max_severity: Option<Severity>,
}

/// One file, with the evidence attached to it.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Path relative to its asset's root (`/`-separated); the file name for a file asset.
    pub rel: String,
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Its role.
    pub role: Role,
    /// Index of the asset it belongs to.
    pub asset: usize,
    /// Dataset format, for data files.
    pub data_format: Option<&'static str>,
    /// SHA-256 (lower-case hex), once hashed.
    pub sha256: Option<String>,
    /// Dataset facts.
    pub stats: Option<DataStats>,
    /// What the weights say about themselves.
    pub model: Option<ModelInfo>,
    /// The scanner's verdict.
    pub verdict: Option<Verdict>,
}

/// Facts from a Hugging Face-style folder's text files.
#[derive(Debug, Clone, Default)]
pub struct HfFacts {
    /// README.md front matter.
    pub front: Map<String, Value>,
    /// README.md sections by topic (`description` under the title, `limitations`,
    /// `intended_use`, `out_of_scope`, `training_data`, `risks`), their first paragraphs.
    pub sections: BTreeMap<String, String>,
    /// config.json.
    pub config: Map<String, Value>,
    /// generation_config.json.
    pub generation: Map<String, Value>,
    /// tokenizer_config.json, without its chat template.
    pub tokenizer: Map<String, Value>,
    /// SHA-256 of the chat template in tokenizer_config.json.
    pub chat_template_sha256: Option<String>,
}

/// A model, dataset or prompt.
#[derive(Debug, Clone)]
pub struct Asset {
    /// What it is.
    pub kind: Kind,
    /// Its name (card metadata, model card or file name).
    pub name: String,
    /// Its root: the folder, or the file.
    pub path: PathBuf,
    /// Where its card metadata lives (whether or not it exists).
    pub card_path: PathBuf,
    /// The card metadata: `None` when there is none, `Some(Err)` when it does not parse.
    pub card: Option<Result<CardMeta, String>>,
    /// Facts from its text files (models).
    pub hf: HfFacts,
    /// Problems met while reading its files (never fatal).
    pub notes: Vec<String>,
    /// OpenSSF Model Signing manifest root digest (hex) over every file of the input, when
    /// the input is this asset's folder.
    pub manifest_root: Option<String>,
    /// Signature status (`verified`, `unverified`, `invalid`, `unsigned`), when checked.
    pub signature: Option<String>,
}

/// Everything found under the inputs.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// All files, in input order.
    pub files: Vec<FileEntry>,
    /// All assets, in input order.
    pub assets: Vec<Asset>,
    /// Indices into `files` per asset (a folder of thousands of data files is thousands of
    /// assets: filtering all files per asset would be quadratic).
    members: Vec<Vec<usize>>,
}

/// A dataset asset's facts summed over its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataTotals {
    /// Records over all data files; `None` when one of them could not be counted.
    pub records: Option<u64>,
    /// Columns in first-seen order (at most [`data::MAX_COLUMNS`]).
    pub columns: Vec<String>,
    /// Formats seen.
    pub formats: Vec<String>,
    /// Bytes of its recorded files.
    pub bytes: u64,
    /// `file: note` for files whose facts are incomplete.
    pub notes: Vec<String>,
}

const WEIGHT_EXT: &[&str] = &[
    ".safetensors",
    ".gguf",
    ".ggml",
    ".onnx",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".pkl",
    ".pickle",
    ".joblib",
    ".h5",
    ".hdf5",
    ".keras",
    ".tflite",
    ".pb",
    ".msgpack",
    ".npz",
    ".npy",
    ".mlmodel",
    ".llamafile",
    ".ot",
    ".nemo",
];

const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "merges.txt",
    "vocab.txt",
    "vocab.json",
];

/// Whether a file name looks like a prompt or prompt template.
pub fn is_prompt_name(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    name.ends_with(".prompt")
        || name.ends_with(".prompty")
        || name.contains(".prompt.")
        || name.ends_with(".jinja")
        || name.ends_with(".jinja2")
        || name.ends_with(".j2")
        || name.starts_with("system_prompt")
        || name.starts_with("system-prompt")
        || lower.starts_with("prompts/")
        || lower.contains("/prompts/")
}

fn role_of(rel: &str) -> Role {
    let lower = rel.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    if name == card::DIR_CARD || name.ends_with(card::FILE_CARD_SUFFIX) {
        Role::CardMeta
    } else if name.ends_with(".sig") {
        Role::Signature
    } else if is_prompt_name(rel) {
        Role::Prompt
    } else if data::format_of(name).is_some() {
        Role::Data
    } else if TOKENIZER_FILES.contains(&name) {
        Role::Tokenizer
    } else if name == "readme.md" && !lower.contains('/') {
        Role::ModelCard
    } else if WEIGHT_EXT.iter().any(|e| name.ends_with(e)) || name.starts_with("pytorch_model") {
        Role::Weights
    } else if name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml") {
        Role::Config
    } else {
        Role::Other
    }
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    if name.is_empty() || name == "." || name == ".." {
        std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or(name)
    } else {
        name
    }
}

impl Inventory {
    /// Group the inputs' files into assets and read their small text files.
    pub fn build(inputs: &[Input], limits: &Limits) -> Result<Inventory, BomError> {
        let mut inv = Inventory::default();
        let total: usize = inputs.iter().map(|i| i.files.len()).sum();
        if total > limits.max_files {
            return Err(BomError::Limit(format!(
                "{total} files exceed the limit of {} (--max-files)",
                limits.max_files
            )));
        }
        for input in inputs {
            if input.is_dir {
                inv.add_dir(input, limits);
            } else if let Some(f) = input.files.first() {
                let role = role_of(&f.rel);
                let kind = match role {
                    Role::Data => Kind::Dataset,
                    Role::Prompt => Kind::Prompt,
                    // A lone text file given explicitly is most likely a prompt.
                    Role::Other if is_text_name(&f.rel) => Kind::Prompt,
                    _ => Kind::Model,
                };
                let a = inv.add_asset(kind, &input.path, false, limits);
                inv.add_file(a, f, role);
            }
        }
        Ok(inv)
    }

    fn add_asset(&mut self, kind: Kind, path: &Path, is_dir: bool, limits: &Limits) -> usize {
        let card_path = card::card_path(path, is_dir);
        let card = if card_path.is_file() {
            Some(card::read(&card_path, limits))
        } else {
            None
        };
        self.assets.push(Asset {
            kind,
            name: stem(path),
            path: path.to_path_buf(),
            card_path,
            card,
            hf: HfFacts::default(),
            notes: Vec::new(),
            manifest_root: None,
            signature: None,
        });
        self.assets.len() - 1
    }

    fn add_file(&mut self, asset: usize, f: &InputFile, role: Role) {
        let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        if self.members.len() <= asset {
            self.members.resize_with(asset + 1, Vec::new);
        }
        if let Some(m) = self.members.get_mut(asset) {
            m.push(self.files.len());
        }
        self.files.push(FileEntry {
            rel: f.rel.clone(),
            path: f.path.clone(),
            size: f.size,
            role,
            asset,
            data_format: if role == Role::Data {
                data::format_of(name)
            } else {
                None
            },
            sha256: None,
            stats: None,
            model: None,
            verdict: None,
        });
    }

    fn add_dir(&mut self, input: &Input, limits: &Limits) {
        let roles: Vec<Role> = input.files.iter().map(|f| role_of(&f.rel)).collect();
        let is_model = input.files.iter().zip(&roles).any(|(f, r)| {
            *r == Role::Weights || f.rel == "config.json" || f.rel == "model_index.json"
        });
        let has_data = roles.contains(&Role::Data);
        let main = if is_model {
            Some(self.add_asset(Kind::Model, &input.path, true, limits))
        } else if has_data {
            Some(self.add_asset(Kind::Dataset, &input.path, true, limits))
        } else {
            None
        };
        for (f, role) in input.files.iter().zip(roles) {
            match (role, main) {
                // In a model folder, data files and prompts are assets of their own.
                (Role::Data, Some(m))
                    if self.assets.get(m).is_some_and(|a| a.kind == Kind::Model) =>
                {
                    let a = self.add_asset(Kind::Dataset, &input.path.join(&f.rel), false, limits);
                    self.add_file(a, &leaf(f), role);
                }
                (Role::Prompt, _) => {
                    let a = self.add_asset(Kind::Prompt, &input.path.join(&f.rel), false, limits);
                    self.add_file(a, &leaf(f), role);
                }
                (_, Some(m)) => self.add_file(m, f, role),
                (_, None) => {
                    if is_text_name(&f.rel) {
                        let a =
                            self.add_asset(Kind::Prompt, &input.path.join(&f.rel), false, limits);
                        self.add_file(a, &leaf(f), Role::Prompt);
                    }
                }
            }
        }
        if let Some(m) = main
            && let Some(a) = self.assets.get(m)
            && a.kind == Kind::Model
        {
            let hf = read_hf(&input.files, limits);
            if let Some(a) = self.assets.get_mut(m) {
                a.notes.extend(hf.1);
                a.hf = hf.0;
            }
        }
    }

    /// Files of asset `a`.
    pub fn files_of(&self, a: usize) -> impl Iterator<Item = &FileEntry> {
        self.members
            .get(a)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.files.get(i))
    }

    /// Records, columns, formats and size of dataset asset `a`.
    pub fn data_totals(&self, a: usize) -> DataTotals {
        let mut t = DataTotals {
            records: Some(0),
            ..Default::default()
        };
        for f in self.recorded_files_of(a) {
            t.bytes += f.size;
            match &f.stats {
                Some(s) => {
                    t.records = t.records.zip(s.records).map(|(x, y)| x.saturating_add(y));
                    for c in &s.columns {
                        if !t.columns.contains(c) && t.columns.len() < data::MAX_COLUMNS {
                            t.columns.push(c.clone());
                        }
                    }
                    if !t.formats.contains(&s.format) {
                        t.formats.push(s.format.clone());
                    }
                    if let Some(n) = &s.note {
                        t.notes.push(format!("{}: {n}", f.rel));
                    }
                }
                None if f.role == Role::Data => t.records = None,
                None => {}
            }
        }
        t
    }

    /// The card metadata of asset `a`, when it exists and parses.
    pub fn card(&self, a: usize) -> Option<&CardMeta> {
        self.assets
            .get(a)
            .and_then(|x| x.card.as_ref())
            .and_then(|c| c.as_ref().ok())
    }

    /// The SHA-256 that identifies asset `a` on its own: its only recorded file's, or, for a
    /// folder with one weights file, that file's.
    pub fn identifying_digest(&self, a: usize) -> Option<&str> {
        let mut files = self.recorded_files_of(a);
        if let (Some(f), None) = (files.next(), files.next()) {
            return f.sha256.as_deref();
        }
        let mut w = self.files_of(a).filter(|f| f.role == Role::Weights);
        match (w.next(), w.next()) {
            (Some(f), None) => f.sha256.as_deref(),
            _ => None,
        }
    }

    /// Files of asset `a` whose hashes a card records (not card metadata or signatures).
    pub fn recorded_files_of(&self, a: usize) -> impl Iterator<Item = &FileEntry> {
        self.files_of(a)
            .filter(|f| !matches!(f.role, Role::CardMeta | Role::Signature))
    }

    /// Read Parquet footers (the only dataset facts not computed while hashing).
    pub fn read_parquet(&mut self) {
        for f in &mut self.files {
            if f.data_format == Some("parquet") {
                f.stats = Some(read_parquet(&f.path).unwrap_or_else(|e| DataStats {
                    format: "parquet".into(),
                    note: Some(e),
                    ..Default::default()
                }));
            }
        }
    }

    /// Total parameters of asset `a`: per weights format the sum over its files, then the
    /// largest (a repository often ships the same weights as safetensors and as .bin).
    pub fn parameters(&self, a: usize) -> Option<u64> {
        let mut by_format: BTreeMap<&str, u64> = BTreeMap::new();
        for f in self.files_of(a) {
            if let Some(m) = &f.model
                && let Some(p) = m.parameters
            {
                let e = by_format.entry(m.format.as_str()).or_default();
                *e = e.saturating_add(p);
            }
        }
        by_format.values().max().copied()
    }

    /// Weights metadata of asset `a`, merged over its files (first value wins).
    pub fn weights_metadata(&self, a: usize) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for f in self.files_of(a) {
            if let Some(m) = &f.model {
                for (k, v) in &m.metadata {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        out
    }

    /// Tensor types of asset `a` with their tensor counts.
    pub fn dtypes(&self, a: usize) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for f in self.files_of(a) {
            if let Some(m) = &f.model {
                for (k, v) in &m.dtypes {
                    *out.entry(k.clone()).or_default() += v;
                }
            }
        }
        out
    }

    /// The scanner's summary for asset `a`: `(files scanned, findings, worst severity)`.
    pub fn verdict(&self, a: usize) -> Option<(u64, u64, Option<Severity>)> {
        let mut scanned = 0;
        let mut findings = 0;
        let mut worst = None;
        for f in self.files_of(a) {
            if let Some(v) = &f.verdict {
                scanned += 1;
                findings += v.findings;
                worst = worst.max(v.max_severity);
            }
        }
        (scanned > 0).then_some((scanned, findings, worst))
    }
}

fn leaf(f: &InputFile) -> InputFile {
    InputFile {
        rel: f.rel.rsplit('/').next().unwrap_or(&f.rel).to_string(),
        path: f.path.clone(),
        size: f.size,
    }
}

fn is_text_name(rel: &str) -> bool {
    let l = rel.to_ascii_lowercase();
    [".txt", ".md", ".prompt", ".tmpl", ".jinja"]
        .iter()
        .any(|e| l.ends_with(e))
}

fn read_parquet(path: &Path) -> Result<DataStats, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut tail = [0u8; 8];
    if len >= 8 {
        f.seek(SeekFrom::Start(len - 8))
            .map_err(|e| e.to_string())?;
        f.read_exact(&mut tail).map_err(|e| e.to_string())?;
    }
    let (off, n) = data::parquet::footer_range(len, &tail)?;
    f.seek(SeekFrom::Start(off)).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    f.take(n).read_to_end(&mut buf).map_err(|e| e.to_string())?;
    data::parquet::parse_footer(&buf).map_err(|e| format!("Parquet footer: {e}"))
}

/// Read a small text file, refusing anything over `max` bytes.
pub(crate) fn read_small(path: &Path, max: u64) -> Result<String, String> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > max {
        return Err(format!(
            "{} is larger than {max} bytes and was not read",
            path.display()
        ));
    }
    String::from_utf8(buf).map_err(|_| format!("{} is not UTF-8", path.display()))
}

fn json_object(path: &Path, limits: &Limits) -> Result<Map<String, Value>, String> {
    let text = read_small(path, limits.max_json_bytes)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{} is not a JSON object", path.display())),
        Err(e) => Err(format!("{} is not valid JSON: {e}", path.display())),
    }
}

fn read_hf(files: &[InputFile], limits: &Limits) -> (HfFacts, Vec<String>) {
    let mut hf = HfFacts::default();
    let mut notes = Vec::new();
    let find = |name: &str| files.iter().find(|f| f.rel == name).map(|f| f.path.clone());
    if let Some(p) = find("config.json") {
        match json_object(&p, limits) {
            Ok(m) => hf.config = m,
            Err(e) => notes.push(e),
        }
    }
    if let Some(p) = find("generation_config.json") {
        match json_object(&p, limits) {
            Ok(m) => hf.generation = m,
            Err(e) => notes.push(e),
        }
    }
    if let Some(p) = find("tokenizer_config.json") {
        match json_object(&p, limits) {
            Ok(mut m) => {
                if let Some(t) = m.remove("chat_template") {
                    let text = match &t {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    hf.chat_template_sha256 = Some(crate::sha256_hex(text.as_bytes()));
                }
                // Keep the scalar settings only; vocabularies can be large.
                m.retain(|_, v| !v.is_object() && !v.is_array());
                hf.tokenizer = m;
            }
            Err(e) => notes.push(e),
        }
    }
    let readme = files
        .iter()
        .find(|f| f.rel.eq_ignore_ascii_case("README.md"))
        .map(|f| f.path.clone());
    if let Some(p) = readme {
        match read_small(&p, limits.max_readme_bytes) {
            Ok(text) => {
                let (front, body) = yaml::split_front_matter(&text);
                if let Some(front) = front {
                    if front.len() as u64 > limits.max_front_matter_bytes {
                        notes.push(format!(
                            "README.md front matter is larger than {} bytes and was not read",
                            limits.max_front_matter_bytes
                        ));
                    } else {
                        match yaml::parse(front) {
                            Ok(Value::Object(m)) => hf.front = m,
                            Ok(Value::Null) => {}
                            Ok(_) => notes.push("README.md front matter is not a mapping".into()),
                            Err(e) => notes.push(format!("README.md front matter: {e}")),
                        }
                    }
                }
                hf.sections = sections(body);
            }
            Err(e) => notes.push(e),
        }
    }
    (hf, notes)
}

/// Topic of a model-card heading (Hugging Face's template and common variants).
fn topic(heading: &str) -> Option<&'static str> {
    let h = heading.to_ascii_lowercase();
    if h.contains("out-of-scope") || h.contains("out of scope") || h.contains("misuse") {
        Some("out_of_scope")
    } else if h.contains("limitation") {
        Some("limitations")
    } else if h.contains("risk") || h.contains("bias") {
        Some("risks")
    } else if h.contains("intended use") || h == "uses" || h.contains("direct use") {
        Some("intended_use")
    } else if h.contains("training data") || h == "training" {
        Some("training_data")
    } else {
        None
    }
}

/// First paragraph under each topical heading of a Markdown body.
fn sections(body: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<&'static str> = None;
    let mut fence = false;
    for line in body.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        if let Some(h) = t.strip_prefix('#') {
            // The paragraph under the title is the description.
            current = if h.starts_with([' ', '\t']) && !out.contains_key("description") {
                Some("description")
            } else {
                topic(h.trim_start_matches('#').trim())
            };
            continue;
        }
        let Some(key) = current else { continue };
        let entry = out.entry(key.to_string()).or_default();
        if t.is_empty() {
            if !entry.is_empty() {
                current = None;
            }
            continue;
        }
        if t.contains("More Information Needed") || t.starts_with("<!--") {
            continue;
        }
        if entry.len() < 2000 {
            if !entry.is_empty() {
                entry.push(' ');
            }
            entry.push_str(t.trim_start_matches(['-', '*', ' ']));
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(role_of("model.safetensors"), Role::Weights);
        assert_eq!(role_of("pytorch_model-00001-of-00002.bin"), Role::Weights);
        assert_eq!(role_of("tokenizer.json"), Role::Tokenizer);
        assert_eq!(role_of("config.json"), Role::Config);
        assert_eq!(role_of("README.md"), Role::ModelCard);
        assert_eq!(role_of("docs/README.md"), Role::Other);
        assert_eq!(role_of("data/train.jsonl"), Role::Data);
        assert_eq!(role_of("prompts/system.txt"), Role::Prompt);
        assert_eq!(role_of("support.prompt.md"), Role::Prompt);
        assert_eq!(role_of("rampart-card.toml"), Role::CardMeta);
        assert_eq!(role_of("train.jsonl.card.toml"), Role::CardMeta);
        assert_eq!(role_of("model.sig"), Role::Signature);
    }

    #[test]
    fn dataset_totals_ignore_files_that_are_not_data() {
        let d = std::env::temp_dir();
        let file = |rel: &str, size| InputFile {
            rel: rel.into(),
            path: d.join(rel),
            size,
        };
        let input = Input {
            path: d.join("ds"),
            is_dir: true,
            files: vec![
                file("README.md", 10),
                file("a.jsonl", 20),
                file("b.csv", 30),
            ],
        };
        let mut inv = Inventory::build(&[input], &Limits::default()).unwrap();
        assert_eq!(inv.assets.len(), 1);
        assert_eq!(inv.files_of(0).count(), 3);
        for (f, n) in inv.files.iter_mut().skip(1).zip([2, 3]) {
            f.stats = Some(DataStats {
                format: "jsonl".into(),
                records: Some(n),
                columns: vec!["text".into()],
                ..Default::default()
            });
        }
        let t = inv.data_totals(0);
        assert_eq!((t.records, t.bytes, t.columns.len()), (Some(5), 60, 1));
        inv.files[2].stats = None;
        assert_eq!(inv.data_totals(0).records, None, "an uncounted data file");
    }

    #[test]
    fn readme_sections() {
        let s = sections(
            "# M\n\nThe description.\n## Uses\n### Direct Use\nAnswer FAQs.\n\n### Out-of-Scope Use\n[More Information Needed]\n\n## Bias, Risks, and Limitations\n- May hallucinate.\n- Not for medical advice.\n\nSecond paragraph.\n```\n# not a heading\n```\n",
        );
        assert_eq!(s["intended_use"], "Answer FAQs.");
        assert_eq!(s["description"], "The description.");
        assert!(!s.contains_key("out_of_scope"));
        assert_eq!(s["limitations"], "May hallucinate. Not for medical advice.");
    }
}
