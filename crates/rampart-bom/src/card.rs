//! Card metadata (`rampart-card.toml` in a folder, `FILE.card.toml` beside a file): what cannot
//! be derived from the artefact, plus the hashes recorded when the card was last brought up to
//! date. [`check`] is the CI gate; [`template`] and [`update_recorded`] write the file.

use crate::inventory::{Inventory, Kind};
use crate::{BomError, Limits};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Card metadata file name inside a folder asset.
pub const DIR_CARD: &str = "rampart-card.toml";
/// Suffix of the card metadata file beside a file asset.
pub const FILE_CARD_SUFFIX: &str = ".card.toml";
/// The line after which Rampart owns the file.
pub const MARKER: &str =
    "# ---- recorded by rampart (`rampart card init --update` rewrites everything below) ----";

/// Where the card metadata of the asset at `path` lives.
pub fn card_path(path: &Path, is_dir: bool) -> PathBuf {
    if is_dir {
        path.join(DIR_CARD)
    } else {
        let mut s = path.as_os_str().to_owned();
        s.push(FILE_CARD_SUFFIX);
        PathBuf::from(s)
    }
}

/// Training facts of a model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingData {
    /// Where the training data came from and under what terms.
    pub provenance: String,
    /// Datasets (paths relative to the card, or dataset ids).
    pub datasets: Vec<String>,
    /// Learning approach (CycloneDX: supervised, unsupervised, reinforcement-learning,
    /// semi-supervised, self-supervised).
    pub approach: String,
}

/// Facts of a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataMeta {
    /// Where the data came from.
    pub source: String,
    /// How it was collected or generated.
    pub collection: String,
    /// Kinds of sensitive data it holds (`["none"]` when there is none).
    pub sensitive_data: Vec<String>,
    /// Classification (public, internal, confidential, …).
    pub classification: String,
    /// Licence or terms.
    pub license: String,
}

/// Facts of a prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromptMeta {
    /// What the prompt is for.
    pub purpose: String,
    /// Models it is written for.
    pub models: Vec<String>,
}

/// What Rampart recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recorded {
    /// When (RFC 3339).
    pub generated: String,
    /// `path → "sha256:HEX"`, paths relative to the asset's root.
    pub files: BTreeMap<String, String>,
}

/// The card metadata file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardMeta {
    /// Format version (1).
    pub schema: u32,
    /// What the asset is.
    pub kind: Option<Kind>,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// One-paragraph description.
    pub description: String,
    /// Accountable people or teams.
    pub owners: Vec<String>,
    /// Intended uses.
    pub intended_use: Vec<String>,
    /// Uses it must not be put to.
    pub out_of_scope_use: Vec<String>,
    /// Intended users.
    pub users: Vec<String>,
    /// Known limitations.
    pub limitations: Vec<String>,
    /// Controls the asset relies on.
    pub guardrails: Vec<String>,
    /// How it fails and what happens then.
    pub failure_modes: Vec<String>,
    /// How long it (and its data) is kept.
    pub retention: String,
    /// How often it is reviewed.
    pub review_frequency: String,
    /// Training facts (models).
    pub training_data: TrainingData,
    /// Dataset facts.
    pub data: DataMeta,
    /// Prompt facts.
    pub prompt: PromptMeta,
    /// Written by Rampart.
    pub recorded: Recorded,
}

/// Read and parse a card metadata file (`Err` holds a message for the user).
pub fn read(path: &Path, limits: &Limits) -> Result<CardMeta, String> {
    let text = crate::inventory::read_small(path, limits.max_json_bytes)?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parse card metadata text.
pub fn parse(text: &str) -> Result<CardMeta, String> {
    let meta: CardMeta = toml::from_str(text).map_err(|e| e.to_string())?;
    if meta.schema > 1 {
        return Err(format!(
            "schema {} is newer than this Rampart understands (1)",
            meta.schema
        ));
    }
    Ok(meta)
}

fn filled(s: &str) -> bool {
    let t = s.trim();
    !(t.is_empty()
        || t.eq_ignore_ascii_case("todo")
        || t.eq_ignore_ascii_case("tbd")
        || t.contains("More Information Needed"))
}

fn filled_list(v: &[String]) -> bool {
    v.iter().any(|s| filled(s))
}

type Check = fn(&CardMeta) -> bool;

/// The security fields a card of `kind` must fill: `(field, why)` pairs with their test.
pub fn required(kind: Kind) -> Vec<(&'static str, &'static str, Check)> {
    let mut v: Vec<(&'static str, &'static str, Check)> = vec![
        ("owners", "who answers for it", |m| filled_list(&m.owners)),
        ("retention", "how long it is kept", |m| filled(&m.retention)),
        ("review_frequency", "how often it is reviewed", |m| {
            filled(&m.review_frequency)
        }),
    ];
    match kind {
        Kind::Model => v.extend([
            (
                "intended_use",
                "what it is for",
                (|m: &CardMeta| filled_list(&m.intended_use)) as Check,
            ),
            ("out_of_scope_use", "what it must not be used for", |m| {
                filled_list(&m.out_of_scope_use)
            }),
            ("limitations", "known limitations", |m| {
                filled_list(&m.limitations)
            }),
            ("guardrails", "controls it relies on", |m| {
                filled_list(&m.guardrails)
            }),
            ("failure_modes", "how it fails", |m| {
                filled_list(&m.failure_modes)
            }),
            (
                "training_data.provenance",
                "where its training data came from",
                |m| filled(&m.training_data.provenance),
            ),
        ]),
        Kind::Dataset => v.extend([
            (
                "data.source",
                "where the data came from",
                (|m: &CardMeta| filled(&m.data.source)) as Check,
            ),
            ("data.sensitive_data", "sensitive data it holds", |m| {
                filled_list(&m.data.sensitive_data)
            }),
            ("data.classification", "its classification", |m| {
                filled(&m.data.classification)
            }),
            ("intended_use", "what it is for", |m| {
                filled_list(&m.intended_use)
            }),
        ]),
        Kind::Prompt => v.extend([
            (
                "prompt.purpose",
                "what the prompt is for",
                (|m: &CardMeta| filled(&m.prompt.purpose)) as Check,
            ),
            ("version", "its version", |m| filled(&m.version)),
            ("guardrails", "controls it relies on", |m| {
                filled_list(&m.guardrails)
            }),
        ]),
    }
    v
}

/// One reason `rampart card --check` fails.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The asset's path.
    pub asset: String,
    /// `missing-card`, `invalid-card`, `missing-field`, `changed-file`, `missing-file`,
    /// `unrecorded-file` or `not-hashed`.
    pub kind: String,
    /// The field or file concerned.
    pub subject: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Check every asset's card: present, parsable, required fields filled, recorded hashes equal
/// to the files' current digests (the inventory must be hashed).
pub fn check(inv: &Inventory) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, a) in inv.assets.iter().enumerate() {
        let asset = a.path.display().to_string();
        let card = a.card_path.display().to_string();
        let mut p = |kind: &str, subject: &str, message: String| {
            out.push(Problem {
                asset: asset.clone(),
                kind: kind.into(),
                subject: subject.into(),
                message,
            })
        };
        let meta = match &a.card {
            None => {
                p(
                    "missing-card",
                    &card,
                    format!("no card metadata: run `rampart card init {asset}` and fill it in"),
                );
                continue;
            }
            Some(Err(e)) => {
                p(
                    "invalid-card",
                    &card,
                    format!("cannot read the card metadata: {e}"),
                );
                continue;
            }
            Some(Ok(m)) => m,
        };
        let kind = meta.kind.unwrap_or(a.kind);
        for (field, why, ok) in required(kind) {
            if !ok(meta) {
                p(
                    "missing-field",
                    field,
                    format!("`{field}` ({why}) is empty in {card}"),
                );
            }
        }
        let mut current: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for f in inv.recorded_files_of(i) {
            current.insert(f.rel.as_str(), f.sha256.as_deref());
        }
        for (rel, want) in &meta.recorded.files {
            let want = want.strip_prefix("sha256:").unwrap_or(want);
            match current.get(rel.as_str()) {
                None => p(
                    "missing-file",
                    rel,
                    format!("{rel} is recorded in the card but no longer exists"),
                ),
                Some(None) => p("not-hashed", rel, format!("{rel} was not hashed")),
                Some(Some(have)) if !have.eq_ignore_ascii_case(want) => p(
                    "changed-file",
                    rel,
                    format!(
                        "{rel} changed since the card was recorded (sha256 {}… now {}…): review the card, then run `rampart card init --update {asset}`",
                        want.get(..12).unwrap_or(want),
                        have.get(..12).unwrap_or(have)
                    ),
                ),
                Some(Some(_)) => {}
            }
        }
        for rel in current.keys() {
            if !meta.recorded.files.contains_key(*rel) {
                p(
                    "unrecorded-file",
                    rel,
                    format!(
                        "{rel} is not recorded in the card: review it, then run `rampart card init --update {asset}`"
                    ),
                );
            }
        }
    }
    out
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| q(s)).collect();
    format!("[{}]", items.join(", "))
}

/// What `card init` can fill in from the files.
#[derive(Debug, Clone, Default)]
pub struct Prefill {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Datasets named by the model card.
    pub datasets: Vec<String>,
    /// Licence named by the model card.
    pub license: String,
    /// Limitations stated in the model card.
    pub limitations: Vec<String>,
    /// Intended use stated in the model card.
    pub intended_use: Vec<String>,
    /// Out-of-scope use stated in the model card.
    pub out_of_scope_use: Vec<String>,
}

/// A new, documented card metadata file for an asset of `kind` (without the recorded part).
pub fn template(kind: Kind, pre: &Prefill) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# Rampart card metadata for this {k}: what cannot be derived from the files.\n\
         # `rampart card` renders the {k} card from it and from the files themselves;\n\
         # `rampart card --check` fails while a required field (marked *) is empty or a file\n\
         # changed since the hashes at the bottom were recorded.\n\
         schema = 1\n\
         kind = {kq}\n\
         name = {name}\n\
         version = {version}\n\
         description = \"\"\n\
         # * People or teams accountable for it, e.g. [\"ml-platform@example.com\"].\n\
         owners = []\n\
         # * How long it is kept, e.g. \"24 months after retirement\".\n\
         retention = \"\"\n\
         # * How often it is reviewed, e.g. \"quarterly\".\n\
         review_frequency = \"\"\n",
        k = kind.as_str(),
        kq = q(kind.as_str()),
        name = q(&pre.name),
        version = q(&pre.version),
    ));
    let star = |f: &str| {
        if required(kind).iter().any(|(n, _, _)| *n == f) {
            "* "
        } else {
            ""
        }
    };
    s.push_str(&format!(
        "# {}What it is for.\nintended_use = {}\n",
        star("intended_use"),
        list(&pre.intended_use)
    ));
    match kind {
        Kind::Model => {
            s.push_str(&format!(
                "# * What it must not be used for.\nout_of_scope_use = {}\n\
                 # Who is meant to use it.\nusers = []\n\
                 # * Known technical limitations.\nlimitations = {}\n\
                 # * Controls it relies on, e.g. [\"rampart serve: prompt-injection guard (block)\"].\nguardrails = []\n\
                 # * How it fails and what happens then, e.g. [\"confident wrong answers\"].\nfailure_modes = []\n\
                 \n[training_data]\n\
                 # * Where the training data came from and under what terms.\nprovenance = \"\"\n\
                 # Datasets: paths relative to this file, or dataset ids.\ndatasets = {}\n\
                 # supervised | unsupervised | reinforcement-learning | semi-supervised | self-supervised\napproach = \"\"\n",
                list(&pre.out_of_scope_use),
                list(&pre.limitations),
                list(&pre.datasets),
            ));
        }
        Kind::Dataset => {
            s.push_str(&format!(
                "# Known limitations and biases.\nlimitations = {}\n\
                 \n[data]\n\
                 # * Where the data came from.\nsource = \"\"\n\
                 # How it was collected or generated.\ncollection = \"\"\n\
                 # * Kinds of sensitive data it holds ([\"none\"] when there is none).\nsensitive_data = []\n\
                 # * public | internal | confidential | restricted\nclassification = \"\"\n\
                 license = {}\n",
                list(&pre.limitations),
                q(&pre.license),
            ));
        }
        Kind::Prompt => {
            s.push_str(
                "# * Controls this prompt relies on (it is not a security boundary by itself).\nguardrails = []\n\
                 # How it fails, e.g. [\"leaks its instructions when asked to repeat them\"].\nfailure_modes = []\n\
                 \n[prompt]\n\
                 # * What the prompt is for.\npurpose = \"\"\n\
                 # Models it is written for.\nmodels = []\n",
            );
        }
    }
    s
}

/// The recorded part: a timestamp and each file's SHA-256.
pub fn recorded(generated: &str, files: &BTreeMap<String, String>) -> String {
    let mut s = format!(
        "{MARKER}\n[recorded]\ngenerated = {}\n\n[recorded.files]\n",
        q(generated)
    );
    for (rel, digest) in files {
        s.push_str(&format!(
            "{} = {}\n",
            q(rel),
            q(&format!("sha256:{digest}"))
        ));
    }
    s
}

/// Replace the recorded part of `text` (everything from [`MARKER`] on), keeping the rest
/// byte for byte.
pub fn update_recorded(text: &str, recorded_part: &str) -> Result<String, BomError> {
    let head = match text.find(MARKER) {
        Some(i) => text.get(..i).unwrap_or(text),
        None if text.contains("[recorded") => {
            return Err(BomError::Card(format!(
                "the card has a [recorded] table but not the line `{MARKER}`: restore that line above it"
            )));
        }
        None => text,
    };
    let mut out = head.trim_end().to_string();
    out.push_str("\n\n");
    out.push_str(recorded_part);
    parse(&out).map_err(BomError::Card)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_fail_the_check_until_filled() {
        for kind in [Kind::Model, Kind::Dataset, Kind::Prompt] {
            let pre = Prefill {
                name: "n \"quoted\"".into(),
                datasets: vec!["org/ds".into()],
                ..Default::default()
            };
            let text = template(kind, &pre);
            let m = parse(&text).unwrap();
            assert_eq!(m.kind, Some(kind));
            assert_eq!(m.name, "n \"quoted\"");
            let missing = required(kind).iter().filter(|r| !(r.2)(&m)).count();
            assert_eq!(missing, required(kind).len(), "{kind:?}");
        }
    }

    #[test]
    fn recorded_part_is_replaced_and_the_rest_kept() {
        let mut files = BTreeMap::new();
        files.insert("a b.txt".to_string(), "00ff".to_string());
        let text = format!(
            "{}\n# my comment\n",
            template(Kind::Prompt, &Prefill::default())
        );
        let once = update_recorded(&text, &recorded("2026-01-01T00:00:00Z", &files)).unwrap();
        files.insert("c".to_string(), "11".to_string());
        let twice = update_recorded(&once, &recorded("2026-01-02T00:00:00Z", &files)).unwrap();
        assert!(twice.contains("# my comment"));
        assert_eq!(twice.matches(MARKER).count(), 1);
        let m = parse(&twice).unwrap();
        assert_eq!(m.recorded.files["c"], "sha256:11");
        assert_eq!(m.recorded.generated, "2026-01-02T00:00:00Z");
        assert!(update_recorded("[recorded]\n", "").is_err());
    }

    #[test]
    fn placeholders_do_not_count() {
        assert!(!filled("TODO"));
        assert!(!filled("  "));
        assert!(!filled("[More Information Needed]"));
        assert!(filled("quarterly"));
        assert!(parse("owners = \"x\"").is_err());
        assert!(parse("ownerz = []").unwrap_err().contains("ownerz"));
        assert!(parse("schema = 2").is_err());
    }
}
