//! Protocol-buffer models: ONNX (`ModelProto`) and TensorFlow SavedModel (`saved_model.pb`).
//!
//! A small wire-format walker reads only the fields that matter (ops, domains, external data),
//! so no generated code or `protoc` is needed and unknown fields are skipped, as protobuf
//! parsers do.

use crate::rules;
use crate::scan::Ctx;
use crate::source::Source;
use rampart_core::{Location, ModelInfo, Severity};
use std::collections::BTreeSet;

/// One field of a message.
#[derive(Debug, Clone, Copy)]
#[allow(
    dead_code,
    reason = "complete record of the machine's effects; not every field feeds a rule yet, all are in Debug output"
)]
pub enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 or 5.
    Fixed(u64),
    /// Wire type 2: bytes, string or sub-message.
    Bytes(&'a [u8]),
}

/// Iterate the fields of a message; stops at the first malformed field with an error.
pub struct Fields<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Fields<'a> {
    /// Fields of `b`.
    pub fn new(b: &'a [u8]) -> Self {
        Fields { b, p: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = *self.b.get(self.p).ok_or("truncated varint")?;
            self.p += 1;
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Field<'a>), String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.p >= self.b.len() {
            return None;
        }
        let r = (|| {
            let key = self.varint()?;
            let num = u32::try_from(key >> 3).map_err(|_| "field number too large")?;
            if num == 0 {
                return Err("field number 0".to_string());
            }
            let f = match key & 7 {
                0 => Field::Varint(self.varint()?),
                1 => {
                    let s = self.b.get(self.p..self.p + 8).ok_or("truncated fixed64")?;
                    self.p += 8;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Field::Fixed(u64::from_le_bytes(a))
                }
                5 => {
                    let s = self.b.get(self.p..self.p + 4).ok_or("truncated fixed32")?;
                    self.p += 4;
                    Field::Fixed(u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
                }
                2 => {
                    let n = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                    let end = self.p.checked_add(n).ok_or("length overflow")?;
                    let s = self
                        .b
                        .get(self.p..end)
                        .ok_or("length-delimited field runs past its message")?;
                    self.p = end;
                    Field::Bytes(s)
                }
                w => return Err(format!("unsupported wire type {w}")),
            };
            Ok((num, f))
        })();
        if r.is_err() {
            self.p = self.b.len();
        }
        Some(r)
    }
}

/// Whether the start of a file parses as a few protobuf fields (used by format detection).
pub(crate) fn looks_like_message(head: &[u8]) -> bool {
    let mut n = 0;
    for f in Fields::new(head) {
        match f {
            Ok((num, _)) if num < 64 => n += 1,
            Ok(_) => return false,
            // A field cut by the 4 KiB head is fine once a couple parsed.
            Err(_) => return n >= 2,
        }
        if n >= 3 {
            return true;
        }
    }
    // Parsed to the end without error: a small message with one or two fields.
    n >= 1
}

fn string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Scan a protobuf model.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location, name: &str) {
    let limit = ctx.opts.limits.max_member_bytes;
    let Some(b) = ctx.read_whole(src, loc, "protobuf", limit, "--max-member-bytes") else {
        return;
    };
    let mut top = BTreeSet::new();
    for f in Fields::new(&b) {
        match f {
            Ok((n, _)) => {
                top.insert(n);
            }
            Err(_) => break,
        }
    }
    if name.ends_with("keras_metadata.pb") {
        ctx.add_format("keras-metadata");
        keras_metadata(ctx, &b, loc);
        return;
    }
    let is_saved_model = name.ends_with("saved_model.pb")
        || (!top.contains(&7) && top.contains(&2) && !name.ends_with(".onnx"));
    if is_saved_model {
        ctx.add_format("tf-savedmodel");
        savedmodel(ctx, &b, loc);
    } else {
        ctx.add_format("onnx");
        onnx(ctx, &b, loc);
    }
}

// ------------------------------------------------------------------------------ SavedModel

/// Ops that read or write files, or call back into Python. Saver ops (SaveV2, RestoreV2,
/// MergeV2Checkpoints) are deliberately absent: every SavedModel has them.
const TF_OPS: &[(&str, Severity, &str)] = &[
    ("PyFunc", Severity::Critical, "calls a Python function"),
    (
        "PyFuncStateless",
        Severity::Critical,
        "calls a Python function",
    ),
    ("EagerPyFunc", Severity::Critical, "calls a Python function"),
    ("ReadFile", Severity::High, "reads a file"),
    ("WriteFile", Severity::High, "writes a file"),
    ("MatchingFiles", Severity::High, "lists files"),
    ("ImmutableConst", Severity::High, "maps a file into memory"),
    ("WholeFileReader", Severity::High, "reads files"),
    ("WholeFileReaderV2", Severity::High, "reads files"),
    ("TextLineReader", Severity::High, "reads files"),
    ("TextLineReaderV2", Severity::High, "reads files"),
    ("FixedLengthRecordReaderV2", Severity::High, "reads files"),
    ("TFRecordReaderV2", Severity::High, "reads files"),
    ("TextLineDataset", Severity::High, "reads files"),
    ("TFRecordDataset", Severity::High, "reads files"),
    ("FixedLengthRecordDataset", Severity::High, "reads files"),
    ("DatasetToTFRecord", Severity::High, "writes files"),
    (
        "ExperimentalDatasetToTFRecord",
        Severity::High,
        "writes files",
    ),
    ("CreateSummaryFileWriter", Severity::High, "writes files"),
    ("WriteAudioSummary", Severity::Medium, "writes summaries"),
    (
        "DebugIdentity",
        Severity::Medium,
        "sends tensors to debug URLs",
    ),
    (
        "DebugIdentityV2",
        Severity::Medium,
        "sends tensors to debug URLs",
    ),
    ("LoadTPUEmbedding", Severity::Medium, "loads external state"),
];

fn node_ops<'a>(node: &'a [u8], out: &mut Vec<(String, &'a [u8])>) {
    let mut op = String::new();
    for (n, f) in Fields::new(node).flatten() {
        if let (2, Field::Bytes(s)) = (n, f) {
            op = string(s);
        }
    }
    out.push((op, node));
}

/// `saved_model.pbtxt`: TensorFlow loads the text format when the binary one is absent.
pub(crate) fn scan_pbtxt(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    let limit = ctx.opts.limits.max_metadata_bytes;
    let Some(b) = ctx.read_whole(
        src,
        loc,
        "tf-savedmodel-text",
        limit,
        "--max-metadata-bytes",
    ) else {
        return;
    };
    ctx.add_format("tf-savedmodel-text");
    let text = String::from_utf8_lossy(&b);
    let mut ops: Vec<(String, &[u8])> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("op:") {
            let op = rest.trim().trim_matches('"').to_string();
            ops.push((op, &[]));
        }
    }
    report_ops(ctx, &ops, loc, "tf-savedmodel-text");
}

fn savedmodel(ctx: &mut Ctx<'_>, b: &[u8], loc: &Location) {
    let mut ops: Vec<(String, &[u8])> = Vec::new();
    let mut malformed = None;
    for field in Fields::new(b) {
        let (num, f) = match field {
            Ok(x) => x,
            Err(e) => {
                malformed = Some(e);
                break;
            }
        };
        let (2, Field::Bytes(meta)) = (num, f) else {
            continue;
        };
        for (mn, mf) in Fields::new(meta).flatten() {
            let (2, Field::Bytes(graph)) = (mn, mf) else {
                continue;
            };
            for (gn, gf) in Fields::new(graph).flatten() {
                match (gn, gf) {
                    (1, Field::Bytes(node)) => node_ops(node, &mut ops),
                    (2, Field::Bytes(lib)) => {
                        for (ln, lf) in Fields::new(lib).flatten() {
                            let (1, Field::Bytes(func)) = (ln, lf) else {
                                continue;
                            };
                            for (fnum, ff) in Fields::new(func).flatten() {
                                if let (3, Field::Bytes(node)) = (fnum, ff) {
                                    node_ops(node, &mut ops);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(e) = malformed {
        ctx.report(
            &rules::SCAN_INCOMPLETE,
            loc.clone(),
            "tf-savedmodel",
            format!("SavedModel protobuf is malformed: {e}"),
        );
    }
    report_ops(ctx, &ops, loc, "tf-savedmodel");
}

/// TFLite: a flatbuffer whose custom op names are plain strings. `Flex` ops run TensorFlow
/// kernels through the Flex delegate, so the same file and Python ops as in SavedModels matter.
pub(crate) fn scan_tflite(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    let limit = ctx.opts.limits.max_member_bytes;
    let Some(b) = ctx.read_whole(src, loc, "tflite", limit, "--max-member-bytes") else {
        return;
    };
    let mut ops: Vec<(String, &[u8])> = Vec::new();
    for (op, _, _) in TF_OPS {
        let needle = format!("Flex{op}");
        let mut from = 0;
        while let Some(i) = b
            .get(from..)
            .and_then(|h| h.windows(needle.len()).position(|w| w == needle.as_bytes()))
        {
            // Whole name only: the next byte must not continue an identifier (FlexReadFileV2 …).
            let end = from + i + needle.len();
            if !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
                ops.push(((*op).to_string(), &[]));
            }
            from = end;
        }
    }
    report_ops(ctx, &ops, loc, "tflite");
}

fn report_ops(ctx: &mut Ctx<'_>, ops: &[(String, &[u8])], loc: &Location, format: &str) {
    let mut seen = BTreeSet::new();
    for (op, _) in ops {
        if let Some((_, sev, what)) = TF_OPS.iter().find(|(o, _, _)| o == op)
            && seen.insert(op.clone())
        {
            let count = ops.iter().filter(|(o, _)| o == op).count() as u64;
            let mut f = ctx.finding(
                &rules::TF_OP,
                loc.clone(),
                format,
                format!("graph uses op {op} ({what})"),
            );
            f.severity = *sev;
            f.occurrences = count;
            f.impact = format!("runs when the model's functions run: it {what}");
            ctx.push(f);
        }
    }
}

/// `keras_metadata.pb` (Keras models saved as SavedModel): each layer's configuration is a JSON
/// string inside the protobuf; Lambda layers keep their bytecode there.
fn keras_metadata(ctx: &mut Ctx<'_>, b: &[u8], loc: &Location) {
    let mut work: Vec<(&[u8], u32)> = vec![(b, 0)];
    let mut seen = 0usize;
    while let Some((msg, depth)) = work.pop() {
        for (_, f) in Fields::new(msg).flatten() {
            let Field::Bytes(s) = f else { continue };
            seen += 1;
            if seen > 1_000_000 {
                return;
            }
            if s.first() == Some(&b'{') && serde_json::from_slice::<serde_json::Value>(s).is_ok() {
                super::keras::scan_config_bytes(ctx, s, loc);
            } else if depth < 4 && looks_like_message(s) {
                work.push((s, depth + 1));
            }
        }
    }
}

// ------------------------------------------------------------------------------------ ONNX

const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
];

fn known_domain(d: &str) -> bool {
    STANDARD_DOMAINS.contains(&d)
        || d == "com.microsoft"
        || d.starts_with("com.microsoft.")
        || d == "org.pytorch.aten"
}

struct Onnx {
    custom: BTreeSet<(String, String)>,
    problems: Vec<(&'static rampart_core::RuleInfo, String)>,
    /// Only when the caller asked for a description (`ScanOptions::describe`).
    info: Option<ModelInfo>,
}

impl Onnx {
    /// Record metadata; the key and value are only built when describing.
    fn meta(&mut self, kv: impl FnOnce() -> (String, String)) {
        if let Some(i) = self.info.as_mut() {
            let (k, v) = kv();
            i.meta(&k, &v);
        }
    }
}

/// ONNX TensorProto.DataType names.
fn onnx_type_name(t: u64) -> String {
    const NAMES: [&str; 24] = [
        "UNDEFINED",
        "FLOAT",
        "UINT8",
        "INT8",
        "UINT16",
        "INT16",
        "INT32",
        "INT64",
        "STRING",
        "BOOL",
        "FLOAT16",
        "DOUBLE",
        "UINT32",
        "UINT64",
        "COMPLEX64",
        "COMPLEX128",
        "BFLOAT16",
        "FLOAT8E4M3FN",
        "FLOAT8E4M3FNUZ",
        "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ",
        "UINT4",
        "INT4",
        "FLOAT4E2M1",
    ];
    NAMES
        .get(usize::try_from(t).unwrap_or(usize::MAX))
        .map_or_else(|| format!("type{t}"), |s| s.to_string())
}

/// Key/value pairs of a `StringStringEntryProto`.
fn key_value(kv: &[u8]) -> (String, String) {
    let (mut k, mut v) = (String::new(), String::new());
    for (n, f) in Fields::new(kv).flatten() {
        match (n, f) {
            (1, Field::Bytes(s)) => k = string(s),
            (2, Field::Bytes(s)) => v = string(s),
            _ => {}
        }
    }
    (k, v)
}

fn onnx(ctx: &mut Ctx<'_>, b: &[u8], loc: &Location) {
    let mut st = Onnx {
        custom: BTreeSet::new(),
        problems: Vec::new(),
        info: ctx.describing.then(|| ModelInfo::new("onnx")),
    };
    for field in Fields::new(b) {
        match field {
            Ok((7, Field::Bytes(g))) => {
                for (n, f) in Fields::new(g).flatten() {
                    if let (2, Field::Bytes(name)) = (n, f) {
                        st.meta(|| ("graph_name".into(), string(name)));
                    }
                }
                graph(&mut st, g, 0)
            }
            Ok((1, Field::Varint(v))) => st.meta(|| ("ir_version".into(), v.to_string())),
            Ok((5, Field::Varint(v))) => st.meta(|| ("model_version".into(), v.to_string())),
            Ok((n @ (2 | 3 | 4 | 6), Field::Bytes(s))) => {
                let key = match n {
                    2 => "producer_name",
                    3 => "producer_version",
                    4 => "domain",
                    _ => "doc_string",
                };
                st.meta(|| (key.into(), string(s)));
            }
            Ok((14, Field::Bytes(kv))) => {
                st.meta(|| {
                    let (k, v) = key_value(kv);
                    (format!("metadata_props.{k}"), v)
                });
            }
            Ok((8, Field::Bytes(opset))) => {
                let (mut domain, mut version) = (String::new(), 0u64);
                for (n, f) in Fields::new(opset).flatten() {
                    match (n, f) {
                        (1, Field::Bytes(d)) => domain = string(d),
                        (2, Field::Varint(v)) => version = v,
                        _ => {}
                    }
                }
                let label = if domain.is_empty() {
                    "ai.onnx"
                } else {
                    &domain
                };
                st.meta(|| (format!("opset_import.{label}"), version.to_string()));
                if !known_domain(&domain) {
                    st.custom.insert((domain, "<opset_import>".into()));
                }
            }
            Ok((25, Field::Bytes(func))) => {
                for (n, f) in Fields::new(func).flatten() {
                    if let (7, Field::Bytes(node)) = (n, f) {
                        onnx_node(&mut st, node, 0);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                st.problems.push((
                    &rules::ONNX_SIZE,
                    format!("ONNX protobuf is malformed: {e}"),
                ));
                break;
            }
        }
    }
    if let Some(info) = st.info.take() {
        ctx.model = Some(info);
    }
    for (rule, msg) in st.problems {
        let mut f = ctx.finding(rule, loc.clone(), "onnx", msg);
        if rule.id == rules::ONNX_EXTERNAL.id {
            f.impact = "onnxruntime reads that file into a tensor when the model loads".into();
        }
        ctx.push(f);
    }
    let mut by_domain: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (d, op) in st.custom {
        by_domain.entry(d).or_default().push(op);
    }
    for (d, ops) in by_domain {
        let ops: Vec<_> = ops.into_iter().filter(|o| o != "<opset_import>").collect();
        let mut f = ctx.finding(
            &rules::ONNX_CUSTOM_DOMAIN,
            loc.clone(),
            "onnx",
            format!(
                "custom operator domain {d:?}{}",
                if ops.is_empty() {
                    String::new()
                } else {
                    format!(" (ops: {})", ops.join(", "))
                }
            ),
        );
        f.impact =
            "the loading application must register a native library implementing these ops".into();
        ctx.push(f);
    }
}

fn graph(st: &mut Onnx, g: &[u8], depth: u32) {
    if depth > 32 {
        st.problems.push((
            &rules::ONNX_SIZE,
            "subgraphs nested deeper than 32 levels".into(),
        ));
        return;
    }
    for (n, f) in Fields::new(g).flatten() {
        match (n, f) {
            (1, Field::Bytes(node)) => onnx_node(st, node, depth),
            (5, Field::Bytes(t)) => tensor(st, t),
            (15, Field::Bytes(sparse)) => {
                for (sn, sf) in Fields::new(sparse).flatten() {
                    if let (1 | 2, Field::Bytes(t)) = (sn, sf) {
                        tensor(st, t);
                    }
                }
            }
            _ => {}
        }
    }
}

fn onnx_node(st: &mut Onnx, node: &[u8], depth: u32) {
    let mut op = String::new();
    let mut domain = String::new();
    for (n, f) in Fields::new(node).flatten() {
        match (n, f) {
            (4, Field::Bytes(s)) => op = string(s),
            (7, Field::Bytes(s)) => domain = string(s),
            (5, Field::Bytes(attr)) => {
                for (an, af) in Fields::new(attr).flatten() {
                    match (an, af) {
                        (5 | 10, Field::Bytes(t)) => tensor(st, t),
                        (6 | 11, Field::Bytes(sub)) => graph(st, sub, depth + 1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !known_domain(&domain) {
        st.custom.insert((domain, op));
    }
}

fn tensor(st: &mut Onnx, t: &[u8]) {
    let mut name = String::new();
    let mut dims: Vec<i64> = Vec::new();
    let mut external: Vec<(String, String)> = Vec::new();
    let mut data_type = 0u64;
    let mut raw_len: Option<usize> = None;
    for (n, f) in Fields::new(t).flatten() {
        match (n, f) {
            (1, Field::Varint(v)) => dims.push(v as i64),
            (1, Field::Bytes(packed)) => {
                let mut p = Fields { b: packed, p: 0 };
                while p.p < packed.len() {
                    match p.varint() {
                        Ok(v) => dims.push(v as i64),
                        Err(_) => break,
                    }
                }
            }
            (8, Field::Bytes(s)) => name = string(s),
            (2, Field::Varint(t)) => data_type = t,
            (9, Field::Bytes(raw)) => raw_len = Some(raw.len()),
            (13, Field::Bytes(kv)) => external.push(key_value(kv)),
            _ => {}
        }
    }
    if dims.iter().any(|d| *d < 0) {
        st.problems.push((
            &rules::ONNX_SIZE,
            format!("initializer {name:?} has a negative dimension {dims:?}"),
        ));
    } else if dims
        .iter()
        .try_fold(1i64, |a, d| a.checked_mul(*d))
        .is_none()
    {
        st.problems.push((
            &rules::ONNX_SIZE,
            format!("initializer {name:?} dimensions {dims:?} overflow"),
        ));
    }
    if let Some(info) = st.info.as_mut() {
        info.tensor(
            &onnx_type_name(data_type),
            dims.iter().try_fold(1u64, |a, d| {
                u64::try_from(*d).ok().and_then(|d| a.checked_mul(d))
            }),
        );
    }
    // Bytes per element of ONNX TensorProto.DataType (0 = unknown or variable size).
    let elem = match data_type {
        1 | 6 | 12 => 4,
        2 | 3 | 9 | 17 | 18 | 19 | 20 => 1,
        4 | 5 | 10 | 16 => 2,
        7 | 11 | 13 | 14 => 8,
        15 => 16,
        _ => 0,
    };
    let want = dims
        .iter()
        .try_fold(1u64, |a, d| {
            u64::try_from(*d).ok().and_then(|d| a.checked_mul(d))
        })
        .and_then(|n| n.checked_mul(elem));
    if let (Some(have), Some(want)) = (raw_len, want)
        && elem > 0
        && have as u64 != want
    {
        st.problems.push((
            &rules::ONNX_SIZE,
            format!(
                "initializer {name:?}: dims {dims:?} need {want} bytes of raw_data, it has {have}"
            ),
        ));
    }
    if let (Some(len), Some(want)) = (
        external
            .iter()
            .find(|(k, _)| k == "length")
            .and_then(|(_, v)| v.parse::<u64>().ok()),
        want,
    ) && elem > 0
        && len != want
    {
        st.problems.push((&rules::ONNX_SIZE, format!("initializer {name:?}: dims {dims:?} need {want} bytes of external data, length says {len}")));
    }
    for (k, v) in &external {
        match k.as_str() {
            "location" => {
                let p = v.replace('\\', "/");
                if p.starts_with('/')
                    || p.as_bytes().get(1) == Some(&b':')
                    || p.split('/').any(|c| c == "..")
                    || p.starts_with('~')
                {
                    st.problems.push((
                        &rules::ONNX_EXTERNAL,
                        format!("initializer {name:?} reads external data from {v:?}"),
                    ));
                }
            }
            "offset" | "length" if v.parse::<u64>().is_err() => {
                st.problems.push((
                    &rules::ONNX_SIZE,
                    format!("initializer {name:?} has external {k} {v:?}"),
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walker_rejects_overruns() {
        // field 1, length-delimited, length 10 but 2 bytes present
        let b = [0x0a, 10, 1, 2];
        let v: Vec<_> = Fields::new(&b).collect();
        assert!(v[0].is_err());
        let ok = [0x08, 0x07, 0x12, 0x01, b'x'];
        let v: Vec<_> = Fields::new(&ok).map(Result::unwrap).collect();
        assert_eq!(v.len(), 2);
    }
}
