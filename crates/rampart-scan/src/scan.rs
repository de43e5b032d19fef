//! Per-file scanning context, content-based format detection and dispatch to format scanners.

use crate::ScanOptions;
use crate::formats::{self, pickle::PickleContext};
use crate::rules;
use crate::source::{self, Source};
use rampart_core::{Finding, Location, RuleInfo};
use std::collections::HashMap;
use std::time::Instant;

/// State of the scan of one top-level file: findings (deduplicated), formats seen, budgets.
pub struct Ctx<'a> {
    pub(crate) opts: &'a ScanOptions,
    findings: Vec<Finding>,
    dedup: HashMap<String, usize>,
    pub(crate) formats: Vec<String>,
    pub(crate) members: u64,
    pub(crate) decompressed: u64,
    pub(crate) deadline: Instant,
    pub(crate) explain: Option<String>,
    /// What a top-level weights file says about itself (only with `ScanOptions::describe`).
    pub(crate) model: Option<rampart_core::ModelInfo>,
    /// The source being dispatched is a top-level file and the caller wants it described.
    pub(crate) describing: bool,
    timed_out: bool,
}

impl<'a> Ctx<'a> {
    /// A fresh context.
    pub fn new(opts: &'a ScanOptions, deadline: Instant) -> Self {
        Ctx {
            opts,
            findings: Vec::new(),
            dedup: HashMap::new(),
            formats: Vec::new(),
            members: 0,
            decompressed: 0,
            deadline,
            explain: None,
            model: None,
            describing: false,
            timed_out: false,
        }
    }

    /// A finding of `rule` at its default severity, with the rule's remediation.
    pub(crate) fn finding(
        &self,
        rule: &RuleInfo,
        loc: Location,
        format: &str,
        message: impl Into<String>,
    ) -> Finding {
        let mut f = Finding::new(rule.id, rule.name, rule.severity, loc, message);
        f.format = format.to_string();
        f.remediation = rules::fix(rule.id).to_string();
        f
    }

    /// Add a finding; the same rule, place and message seen again only counts.
    pub(crate) fn push(&mut self, f: Finding) {
        let key = format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
            f.location.path,
            f.location.entry.join("\u{2}"),
            f.rule_id,
            f.message,
            f.evidence.as_deref().unwrap_or("")
        );
        if let Some(&i) = self.dedup.get(&key)
            && let Some(existing) = self.findings.get_mut(i)
        {
            existing.occurrences += f.occurrences;
            return;
        }
        self.dedup.insert(key, self.findings.len());
        self.findings.push(f);
    }

    /// Shorthand: build and push.
    pub(crate) fn report(
        &mut self,
        rule: &RuleInfo,
        loc: Location,
        format: &str,
        message: impl Into<String>,
    ) {
        let f = self.finding(rule, loc, format, message);
        self.push(f);
    }

    pub(crate) fn add_format(&mut self, f: &str) {
        if !self.formats.iter().any(|x| x == f) {
            self.formats.push(f.to_string());
        }
    }

    /// True (and reported once) when the file's time budget is spent.
    pub(crate) fn out_of_time(&mut self, loc: &Location) -> bool {
        if Instant::now() <= self.deadline {
            return false;
        }
        if !self.timed_out {
            self.timed_out = true;
            let secs = self.opts.limits.time_per_file.as_secs();
            self.report(
                &rules::SCAN_INCOMPLETE,
                loc.clone(),
                "",
                format!("time limit of {secs} s per file reached; the rest of this file was not examined"),
            );
        }
        true
    }

    /// Account for `n` decompressed bytes; false (and reported) when over the total budget.
    pub(crate) fn take_decompressed(&mut self, n: u64, loc: &Location) -> bool {
        self.decompressed = self.decompressed.saturating_add(n);
        if self.decompressed > self.opts.limits.max_total_decompressed {
            let lim = self.opts.limits.max_total_decompressed;
            self.report(
                &rules::ARCHIVE_BOMB,
                loc.clone(),
                "",
                format!("more than {lim} bytes decompressed from one file (limit --max-total-decompressed)"),
            );
            return false;
        }
        true
    }

    /// Take over what a scratch context found (used when a pass is retried with more data).
    pub(crate) fn absorb(&mut self, other: Ctx<'_>) {
        for f in other.formats {
            self.add_format(&f);
        }
        self.members += other.members;
        if self.model.is_none() {
            self.model = other.model;
        }
        self.decompressed = self.decompressed.saturating_add(other.decompressed);
        if let (Some(mine), Some(theirs)) = (self.explain.as_mut(), other.explain) {
            mine.push_str(&theirs);
        }
        for f in other.findings {
            self.push(f);
        }
    }

    /// The whole source when it is at most `limit` bytes. Otherwise, or when it cannot be
    /// read, the input is reported as not examined (naming the limit's flag) and `None`
    /// returned: formats that must be parsed whole use this instead of each checking sizes.
    pub(crate) fn read_whole<'s>(
        &mut self,
        src: &'s dyn Source,
        loc: &Location,
        format: &str,
        limit: u64,
        flag: &str,
    ) -> Option<std::borrow::Cow<'s, [u8]>> {
        if src.len() > limit {
            self.report(
                &rules::SCAN_INCOMPLETE,
                loc.clone(),
                format,
                format!("{format} input of {} bytes exceeds the {limit}-byte limit ({flag}); not examined", src.len()),
            );
            return None;
        }
        match source::read_range(src, 0, src.len()) {
            Ok(b) => Some(b),
            Err(e) => {
                self.report(
                    &rules::SCAN_INCOMPLETE,
                    loc.clone(),
                    format,
                    format!("could not read the input: {e}"),
                );
                None
            }
        }
    }

    /// The findings, in discovery order.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// What the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Pickle,
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    LzmaAlone,
    Zstd,
    Lz4,
    Zlib,
    JoblibZf,
    SevenZ,
    Npy,
    Hdf5,
    Gguf,
    Safetensors,
    Protobuf,
    TfLite,
    Json,
    Unknown,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::LzmaAlone => "lzma",
            Format::Zstd => "zstd",
            Format::Lz4 => "lz4",
            Format::Zlib => "zlib",
            Format::JoblibZf => "joblib-zfile",
            Format::SevenZ => "7z",
            Format::Npy => "npy",
            Format::Hdf5 => "hdf5",
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
            Format::Protobuf => "protobuf",
            Format::TfLite => "tflite",
            Format::Json => "json",
            Format::Unknown => "unknown",
        }
    }

    pub(crate) fn is_compression(self) -> bool {
        matches!(
            self,
            Format::Gzip
                | Format::Bzip2
                | Format::Xz
                | Format::LzmaAlone
                | Format::Zstd
                | Format::Lz4
                | Format::Zlib
                | Format::JoblibZf
        )
    }
}

/// Whether the last 64 KiB + 22 bytes hold a zip end-of-central-directory record, which is how
/// Python's `zipfile.is_zipfile` (and so `torch.load`) decides that a file is a zip.
pub(crate) fn has_eocd(tail: &[u8]) -> bool {
    tail.windows(4).any(|w| w == b"PK\x05\x06")
}

/// Detect the format from the content. `name` only breaks ties between formats that have no
/// magic number (protobuf).
pub(crate) fn detect(head: &[u8], tail: &[u8], name: &str) -> Format {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"\x93NUMPY") {
        return Format::Npy;
    }
    if starts(b"GGUF") {
        return Format::Gguf;
    }
    if head.get(4..8) == Some(b"TFL3") {
        return Format::TfLite;
    }
    if starts(b"\x89HDF\r\n\x1a\n") {
        return Format::Hdf5;
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Format::Zip;
    }
    if starts(b"7z\xbc\xaf\x27\x1c") {
        return Format::SevenZ;
    }
    if starts(b"\x1f\x8b") {
        return Format::Gzip;
    }
    if starts(b"\xfd7zXZ\x00") {
        return Format::Xz;
    }
    if starts(b"\x28\xb5\x2f\xfd") {
        return Format::Zstd;
    }
    if starts(b"\x04\x22\x4d\x18") {
        return Format::Lz4;
    }
    if head.len() >= 10
        && starts(b"BZh")
        && matches!(head.get(3), Some(b'1'..=b'9'))
        && (head.get(4..10) == Some(b"\x31\x41\x59\x26\x53\x59")
            || head.get(4..10) == Some(b"\x17\x72\x45\x38\x50\x90"))
    {
        return Format::Bzip2;
    }
    if head.len() >= 4 && starts(b"ZF") && head.get(2..4) == Some(b"0x") {
        return Format::JoblibZf;
    }
    if head.get(257..262) == Some(b"ustar") {
        return Format::Tar;
    }
    if let [a, b, ..] = head
        && *a & 0x0f == 8
        && (u16::from(*a) << 8 | u16::from(*b)) % 31 == 0
        && *a >> 4 <= 7
    {
        return Format::Zlib;
    }
    // LZMA "alone" (joblib's .lzma): properties byte 0x5d, a power-of-two dictionary size, and
    // an unknown (all ones) or plausible uncompressed size.
    if head.len() >= 13
        && head.first() == Some(&0x5d)
        && head.get(1..5).is_some_and(|d| {
            let v = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
            v.is_power_of_two() && v >= 4096
        })
    {
        return Format::LzmaAlone;
    }
    if head.len() >= 9 {
        let n = u64::from_le_bytes(
            head.get(..8)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 8]),
        );
        if n > 1 && head.get(8) == Some(&b'{') && (n < (1 << 32) || name.ends_with(".safetensors"))
        {
            return Format::Safetensors;
        }
    }
    if let [0x80, p, ..] = head
        && *p <= 5
    {
        return Format::Pickle;
    }
    if has_eocd(tail) && !head.is_empty() && head.first() != Some(&b'{') {
        // Data in front of a zip: self-extracting or polyglot; loaders treat it as a zip.
        return Format::Zip;
    }
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'{') {
        return Format::Json;
    }
    if (head.first() == Some(&0x08) || name.ends_with(".pb") || name.ends_with(".onnx"))
        && formats::protobuf::looks_like_message(head)
    {
        return Format::Protobuf;
    }
    if formats::pickle::protocol0_candidate(head) {
        return Format::Pickle;
    }
    Format::Unknown
}

/// Extensions and the formats that may legitimately carry them.
fn extension_mismatch(name: &str, f: Format) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let ok: &[Format] = match ext {
        "safetensors" => &[Format::Safetensors],
        "gguf" => &[Format::Gguf],
        "onnx" => &[Format::Protobuf],
        "npy" => &[Format::Npy],
        "npz" | "keras" | "zip" => &[Format::Zip],
        "h5" | "hdf5" => &[Format::Hdf5],
        "json" => &[Format::Json],
        "msgpack" | "txt" | "md" | "png" | "jpg" | "jpeg" | "model" | "tflite" => {
            // Any pickle or archive in these is a disguise; other content is not ours to judge.
            return matches!(f, Format::Pickle | Format::Zip);
        }
        _ => return false,
    };
    !ok.contains(&f)
}

/// Scan one source: detect its format and hand it to the matching scanner.
pub(crate) fn scan_source(
    ctx: &mut Ctx<'_>,
    src: &dyn Source,
    loc: &Location,
    name: &str,
    depth: u32,
) {
    if ctx.out_of_time(loc) {
        return;
    }
    let (head, tail) = match (source::head(src, 4096), source::tail(src, 65_536 + 22)) {
        (Ok(h), Ok((_, t))) => (h.into_owned(), t.into_owned()),
        _ => {
            ctx.report(
                &rules::SCAN_INCOMPLETE,
                loc.clone(),
                "",
                "could not read the input",
            );
            return;
        }
    };
    let format = detect(&head, &tail, name);
    ctx.add_format(format.name());
    ctx.describing = ctx.opts.describe && depth == 0;
    if format != Format::Unknown && extension_mismatch(name, format) {
        let mut f = ctx.finding(
            &rules::EXTENSION_MISMATCH,
            loc.clone(),
            format.name(),
            format!(
                "content is {} but the name suggests otherwise",
                format.name()
            ),
        );
        f.impact = "tools and people that trust the extension misjudge this file".into();
        ctx.push(f);
    }
    match format {
        Format::Pickle => {
            // A pickle with a zip at its end: torch.load takes the zip, pickle.load the pickle.
            if has_eocd(&tail) {
                let mut f = ctx.finding(
                    &rules::POLYGLOT,
                    loc.clone(),
                    "pickle+zip",
                    "file is both a pickle (from its first byte) and a zip (end-of-central-directory at its end)",
                );
                f.impact =
                    "pickle.load runs the pickle; torch.load and zipfile open the zip".into();
                ctx.push(f);
                formats::zip::scan(ctx, src, loc, depth);
            }
            formats::pickle::scan_source(ctx, src, loc, PickleContext::Plain);
        }
        Format::Zip => formats::zip::scan(ctx, src, loc, depth),
        Format::Tar => formats::tar::scan(ctx, src, loc, depth),
        Format::SevenZ => formats::sevenz::scan(ctx, src, loc, depth),
        f if f.is_compression() => formats::compress::scan(ctx, src, loc, name, f, depth),
        Format::Npy => formats::numpy::scan(ctx, src, loc),
        Format::Hdf5 => formats::hdf5::scan(ctx, src, loc),
        Format::Gguf => formats::gguf::scan(ctx, src, loc),
        Format::Safetensors => formats::safetensors::scan(ctx, src, loc),
        Format::Protobuf => formats::protobuf::scan(ctx, src, loc, name),
        Format::TfLite => formats::protobuf::scan_tflite(ctx, src, loc),
        Format::Json => formats::keras::scan_json_file(ctx, src, loc),
        Format::Unknown if name.ends_with("saved_model.pbtxt") => {
            formats::protobuf::scan_pbtxt(ctx, src, loc)
        }
        Format::Unknown
            if name.ends_with(".yaml") || name.ends_with(".yml") || name == "MLmodel" =>
        {
            formats::yaml::scan(ctx, src, loc)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(b"\x80\x04\x95", b"", "x.bin"), Format::Pickle);
        assert_eq!(detect(b"PK\x03\x04....", b"", "x.pt"), Format::Zip);
        assert_eq!(detect(b"\x93NUMPY\x01\x00", b"", "x"), Format::Npy);
        assert_eq!(detect(b"\x1f\x8b\x08\x00", b"", "x"), Format::Gzip);
        assert_eq!(detect(b"x\x9c\x01\x02", b"", "x"), Format::Zlib);
        assert_eq!(detect(b"hello world", b"", "x.txt"), Format::Unknown);
        assert_eq!(
            detect(b"cos\nsystem\n(S'id'\ntR.", b"", "x.txt"),
            Format::Pickle
        );
        assert!(extension_mismatch("weights.safetensors", Format::Pickle));
        assert!(!extension_mismatch("pytorch_model.bin", Format::Zip));
    }
}
