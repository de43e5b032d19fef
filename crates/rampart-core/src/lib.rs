//! Shared types of Rampart: what every capability reports and how reports are rendered.
//!
//! A capability (scan, sign, bom, …) produces a [`Report`]: a list of [`Finding`]s, each with a
//! [`Severity`], a stable rule id and a [`Location`], plus the files it looked at and the errors
//! it met. The renderers in [`render`] turn a report into the concise human view, the documented
//! JSON schema (`docs/scan-report.md`) or SARIF 2.1.0.
//!
//! This crate does no I/O and depends on no other Rampart crate (see ARCHITECTURE.md).
//!
//! ```
//! use rampart_core::{Finding, Location, Severity};
//! let f = Finding::new("RS101", "pickle-dangerous-callable", Severity::Critical,
//!     Location::file("model.pkl").at(42), "imports os.system");
//! assert!(f.severity >= Severity::High);
//! ```

pub mod render;
pub mod time;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Version of the JSON report schema. Bumped on any incompatible change.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context only; never fails a build by default.
    Info,
    /// Unusual but unlikely to be harmful.
    Low,
    /// Needs a human review before the artefact is trusted (e.g. a callable outside the allowlist).
    Medium,
    /// Likely harmful or an evasion attempt.
    High,
    /// Loading the artefact runs attacker-chosen code or touches files, network or processes.
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Lower-case name, as used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// SARIF `level` for this severity.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "note",
        }
    }

    /// GitHub code scanning's `security-severity` score (0.0–10.0).
    pub fn security_score(self) -> &'static str {
        match self {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "3.0",
            Severity::Info => "0.0",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown severity name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSeverity(pub String);

impl fmt::Display for UnknownSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity `{}` (expected one of: info, low, medium, high, critical)",
            self.0
        )
    }
}

impl std::error::Error for UnknownSeverity {}

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

/// Where a finding applies: a file, the chain of archive entries inside it, and a byte offset
/// within the innermost member.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// The file on disk, as the user named it (or as found while walking a directory).
    pub path: String,
    /// Archive members from outermost to innermost, e.g. `["model.zip", "archive/data.pkl"]`
    /// means: inside `path`, entry `model.zip`, and inside that, entry `archive/data.pkl`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<String>,
    /// Byte offset inside the innermost member (after decompression), where it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Location {
    /// A location naming a whole file.
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            entry: Vec::new(),
            offset: None,
        }
    }

    /// The same location, inside archive member `name`.
    pub fn child(&self, name: impl Into<String>) -> Self {
        let mut entry = self.entry.clone();
        entry.push(name.into());
        Location {
            path: self.path.clone(),
            entry,
            offset: None,
        }
    }

    /// The same location at byte `offset`.
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// `path`, then each entry joined with `!/` (the convention of jar: URLs).
    pub fn display_path(&self) -> String {
        let mut s = self.path.clone();
        for e in &self.entry {
            s.push_str("!/");
            s.push_str(e);
        }
        s
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_path())?;
        if let Some(off) = self.offset {
            write!(f, " @ {off:#x}")?;
        }
        Ok(())
    }
}

/// One thing a capability found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule code, e.g. `RS101`. Never reused for another meaning.
    pub rule_id: String,
    /// Stable rule slug, e.g. `pickle-dangerous-callable`.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line: what was found.
    pub message: String,
    /// What the loader (or consumer) would do with it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub impact: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remediation: String,
    /// Where it applies.
    pub location: Location,
    /// Format of the innermost member, e.g. `pickle`, `pytorch-zip`, `keras`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// The exact evidence, e.g. `os.system('echo hi')` or an opcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// How many times the same rule fired on the same thing in the same member (first offset kept).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub occurrences: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl Finding {
    /// A finding with an empty impact, remediation and format.
    pub fn new(
        rule_id: impl Into<String>,
        rule: impl Into<String>,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule_id: rule_id.into(),
            rule: rule.into(),
            severity,
            message: message.into(),
            impact: String::new(),
            remediation: String::new(),
            location,
            format: String::new(),
            evidence: None,
            occurrences: 1,
        }
    }
}

/// Description of a rule, for `--explain`, docs and SARIF's `tool.driver.rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable code, e.g. `RS101`.
    pub id: &'static str,
    /// Stable slug.
    pub name: &'static str,
    /// Default severity (a finding may be raised or lowered from it with reason).
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// Why it matters and what to do.
    pub help: &'static str,
}

/// One file the capability looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path as shown in findings.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Formats detected, outermost first (e.g. `["zip", "pytorch-zip", "pickle"]`).
    pub formats: Vec<String>,
    /// Number of findings at any severity.
    pub findings: u64,
    /// The worst severity among its findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<Severity>,
    /// What the weights' own metadata says (only when the caller asked the scanner to
    /// describe files, e.g. for `rampart bom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelInfo>,
}

/// Facts a weights file states about itself, read from its header without loading tensors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// `safetensors`, `gguf` or `onnx`.
    pub format: String,
    /// Number of tensors (weights/initializers).
    pub tensors: u64,
    /// Total element count of all tensors, when every shape was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<u64>,
    /// Tensor count per element type (`F32`, `BF16`, `Q4_K`, …).
    pub dtypes: std::collections::BTreeMap<String, u64>,
    /// The format's free-form metadata (safetensors `__metadata__`, GGUF `general.*` and
    /// hyper-parameters, ONNX producer and `metadata_props`), values cut to
    /// [`ModelInfo::MAX_VALUE`] characters, at most [`ModelInfo::MAX_ENTRIES`] entries.
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl ModelInfo {
    /// Most metadata entries kept.
    pub const MAX_ENTRIES: usize = 128;
    /// Longest metadata value kept, in characters.
    pub const MAX_VALUE: usize = 512;

    /// An empty description of a file in `format`.
    pub fn new(format: &str) -> Self {
        ModelInfo {
            format: format.to_string(),
            parameters: Some(0),
            ..Default::default()
        }
    }

    /// Record one metadata entry, within the limits.
    pub fn meta(&mut self, key: &str, value: &str) {
        if self.metadata.len() >= Self::MAX_ENTRIES && !self.metadata.contains_key(key) {
            return;
        }
        let v: String = value.chars().take(Self::MAX_VALUE).collect();
        self.metadata.insert(key.chars().take(128).collect(), v);
    }

    /// Record one tensor of `elems` elements (`None`: unknown shape) and element type `dtype`.
    pub fn tensor(&mut self, dtype: &str, elems: Option<u64>) {
        self.tensors += 1;
        self.parameters = match (self.parameters, elems) {
            (Some(p), Some(e)) => p.checked_add(e),
            _ => None,
        };
        if self.dtypes.len() < 64 || self.dtypes.contains_key(dtype) {
            *self.dtypes.entry(dtype.to_string()).or_default() += 1;
        }
    }
}

/// A file that could not be examined (I/O error, permission, …). Malformed *content* is a finding,
/// not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The path involved.
    pub path: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// Counts for the report footer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files examined (top-level, not archive members).
    pub files: u64,
    /// Archive members examined.
    pub members: u64,
    /// Bytes of the top-level files.
    pub bytes: u64,
    /// Findings per severity, lowest first.
    pub by_severity: std::collections::BTreeMap<Severity, u64>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Everything one run found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// JSON schema version ([`REPORT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Producing tool and version, e.g. `rampart 0.1.0`.
    pub tool: ToolInfo,
    /// What the run was, e.g. `scan`.
    pub command: String,
    /// Paths the user asked for.
    pub inputs: Vec<String>,
    /// Findings, sorted by path, entry, offset, rule.
    pub findings: Vec<Finding>,
    /// Files examined, sorted by path.
    pub files: Vec<FileRecord>,
    /// Files that could not be examined.
    pub errors: Vec<ErrorRecord>,
    /// Counts.
    pub summary: Summary,
}

/// Name and version of the producing tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Always `rampart`.
    pub name: String,
    /// Semantic version.
    pub version: String,
}

impl Report {
    /// An empty report for `command` over `inputs`.
    pub fn new(command: &str, version: &str, inputs: Vec<String>) -> Self {
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: ToolInfo {
                name: "rampart".into(),
                version: version.into(),
            },
            command: command.into(),
            inputs,
            findings: Vec::new(),
            files: Vec::new(),
            errors: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Sort everything deterministically and recompute the summary counts.
    pub fn finalize(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.location.path,
                &a.location.entry,
                a.location.offset,
                &a.rule_id,
            )
                .cmp(&(
                    &b.location.path,
                    &b.location.entry,
                    b.location.offset,
                    &b.rule_id,
                ))
        });
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.errors.sort_by(|a, b| a.path.cmp(&b.path));
        let mut by = std::collections::BTreeMap::new();
        for s in Severity::ALL {
            by.insert(s, 0);
        }
        for f in &self.findings {
            *by.entry(f.severity).or_insert(0) += 1;
        }
        self.summary.by_severity = by;
        self.summary.files = self.files.len() as u64;
    }

    /// The worst severity in the report, if any finding.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether any finding is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn location_display() {
        let l = Location::file("a.zip").child("b.tar").child("c.pkl").at(16);
        assert_eq!(l.to_string(), "a.zip!/b.tar!/c.pkl @ 0x10");
    }

    #[test]
    fn report_threshold() {
        let mut r = Report::new("scan", "0", vec![]);
        r.findings.push(Finding::new(
            "X1",
            "x",
            Severity::Medium,
            Location::file("f"),
            "m",
        ));
        r.finalize();
        assert!(r.fails(Severity::Medium));
        assert!(!r.fails(Severity::High));
        assert_eq!(r.summary.by_severity[&Severity::Medium], 1);
    }
}
