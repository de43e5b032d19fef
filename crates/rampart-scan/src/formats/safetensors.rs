//! safetensors: an 8-byte header length, a JSON header, then tensor bytes. The header must parse,
//! fit, and describe tensors that tile the data exactly, as the reference loader requires.

use crate::rules;
use crate::scan::Ctx;
use crate::source::{self, Source};
use rampart_core::{Location, ModelInfo};
use serde_json::Value;

/// The reference implementation's cap on header size.
const MAX_HEADER: u64 = 100_000_000;

fn dtype_size(d: &str) -> Option<u64> {
    Some(match d {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" | "C64" => 8,
        _ => return None,
    })
}

/// Check a safetensors file; returns the list of problems.
pub fn check(src: &dyn Source, max_meta: u64) -> Vec<String> {
    check_into(src, max_meta, None)
}

/// Check a safetensors file; returns the list of problems and what its header states.
pub fn check_and_describe(src: &dyn Source, max_meta: u64) -> (Vec<String>, Option<ModelInfo>) {
    let mut info = ModelInfo::new("safetensors");
    let problems = check_into(src, max_meta, Some(&mut info));
    let described = info.tensors > 0 || !info.metadata.is_empty();
    (problems, described.then_some(info))
}

fn check_into(src: &dyn Source, max_meta: u64, mut info: Option<&mut ModelInfo>) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(h) = source::read_range(src, 0, 8) else {
        return vec!["file shorter than the 8-byte header length".into()];
    };
    let mut a = [0u8; 8];
    a.copy_from_slice(&h);
    let n = u64::from_le_bytes(a);
    if n > MAX_HEADER || n > max_meta {
        return vec![format!(
            "header length {n} exceeds the {MAX_HEADER}-byte limit"
        )];
    }
    if n + 8 > src.len() {
        return vec![format!(
            "header length {n} exceeds the file ({} bytes)",
            src.len()
        )];
    }
    let Ok(hdr) = source::read_range(src, 8, n) else {
        return vec!["cannot read header".into()];
    };
    let v: Value = match serde_json::from_slice(&hdr) {
        Ok(v) => v,
        Err(e) => return vec![format!("header is not valid JSON: {e}")],
    };
    let Some(obj) = v.as_object() else {
        return vec!["header is not a JSON object".into()];
    };
    let data_len = src.len() - 8 - n;
    let mut ranges: Vec<(u64, u64, &str)> = Vec::new();
    for (name, t) in obj {
        if name == "__metadata__" {
            if let Some(m) = t.as_object() {
                if let Some(info) = info.as_deref_mut() {
                    for (k, v) in m {
                        if let Some(v) = v.as_str() {
                            info.meta(k, v);
                        }
                    }
                }
                if m.values().any(|x| !x.is_string()) {
                    problems.push("__metadata__ values must all be strings".into());
                }
            } else {
                problems.push("__metadata__ is not an object".into());
            }
            continue;
        }
        let dtype = t.get("dtype").and_then(Value::as_str).unwrap_or("");
        let shape = t.get("shape").and_then(Value::as_array);
        let offs = t.get("data_offsets").and_then(Value::as_array);
        let (Some(shape), Some(offs)) = (shape, offs) else {
            problems.push(format!("tensor {name:?} lacks shape or data_offsets"));
            continue;
        };
        let (Some(b), Some(e)) = (
            offs.first().and_then(Value::as_u64),
            offs.get(1).and_then(Value::as_u64),
        ) else {
            problems.push(format!("tensor {name:?} has invalid data_offsets"));
            continue;
        };
        if offs.len() != 2 || b > e {
            problems.push(format!(
                "tensor {name:?} has invalid data_offsets [{b}, {e}]"
            ));
            continue;
        }
        if e > data_len {
            problems.push(format!(
                "tensor {name:?} ends at {e}, past the {data_len} bytes of data"
            ));
        }
        let Some(size) = dtype_size(dtype) else {
            problems.push(format!("tensor {name:?} has unknown dtype {dtype:?}"));
            continue;
        };
        let mut elems: Option<u64> = Some(1);
        for d in shape {
            elems = elems.and_then(|x| d.as_u64().and_then(|d| x.checked_mul(d)));
        }
        if let Some(info) = info.as_deref_mut() {
            info.tensor(dtype, elems);
        }
        match elems.and_then(|x| x.checked_mul(size)) {
            Some(bytes) if bytes == e - b => {}
            Some(bytes) => problems.push(format!(
                "tensor {name:?}: {dtype} × {:?} = {bytes} bytes, but its range holds {}",
                shape,
                e - b
            )),
            None => problems.push(format!("tensor {name:?}: invalid or overflowing shape")),
        }
        ranges.push((b, e, name));
    }
    ranges.sort_unstable();
    let mut cursor = 0u64;
    for (b, e, name) in &ranges {
        if *b < cursor {
            problems.push(format!("tensor {name:?} overlaps the previous tensor"));
        } else if *b > cursor {
            problems.push(format!(
                "{} unused bytes before tensor {name:?}",
                b - cursor
            ));
        }
        cursor = cursor.max(*e);
    }
    if cursor < data_len && !ranges.is_empty() {
        problems.push(format!("{} bytes after the last tensor", data_len - cursor));
    }
    problems
}

/// Scan a safetensors file.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    let max = ctx.opts.limits.max_metadata_bytes;
    let problems = if ctx.describing {
        let (problems, info) = check_and_describe(src, max);
        ctx.model = info;
        problems
    } else {
        check(src, max)
    };
    for p in problems {
        let mut f = ctx.finding(&rules::SAFETENSORS_MALFORMED, loc.clone(), "safetensors", p);
        f.impact = "the safetensors loader rejects it; other readers may read out of bounds".into();
        ctx.push(f);
    }
}
