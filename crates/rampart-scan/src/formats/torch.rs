//! PyTorch-specific checks: storage records against the pickle's declarations, and TorchScript
//! code that reaches files or native libraries.

use super::pickle::value::V;
use crate::rules;
use crate::scan::Ctx;
use rampart_core::{Location, Severity};
use std::collections::HashMap;

/// Bytes per element of a legacy typed storage class.
fn storage_elem_size(name: &str) -> Option<u64> {
    Some(match name {
        "DoubleStorage" | "LongStorage" | "ComplexFloatStorage" => 8,
        "FloatStorage" | "IntStorage" | "QInt32Storage" => 4,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "CharStorage" | "ByteStorage" | "BoolStorage" | "QInt8Storage" | "QUInt8Storage"
        | "QUInt4x2Storage" | "QUInt2x4Storage" | "UntypedStorage" => 1,
        "ComplexDoubleStorage" => 16,
        _ => return None,
    })
}

/// Compare every `('storage', type, key, location, numel)` persistent id with the size of
/// `data/<key>` in the archive.
pub(crate) fn check_storages(
    ctx: &mut Ctx<'_>,
    pids: &[V],
    storages: &HashMap<String, u64>,
    loc: &Location,
    prefix: &str,
) {
    let mut checked: HashMap<String, u64> = HashMap::new();
    for pid in pids {
        let Some(items) = pid.seq_items() else {
            continue;
        };
        let [
            V::Str(tag),
            V::Global(ty),
            V::Str(key),
            _,
            V::Int(numel),
            ..,
        ] = items.as_slice()
        else {
            continue;
        };
        if tag.as_ref() != "storage" {
            continue;
        }
        let Some(size) = storage_elem_size(&ty.name) else {
            continue;
        };
        let Some(expected) = u64::try_from(*numel).ok().and_then(|n| n.checked_mul(size)) else {
            ctx.report(
                &rules::TORCH_STORAGE,
                loc.clone(),
                "pytorch-zip",
                format!("storage {key} declares an impossible element count {numel}"),
            );
            continue;
        };
        if let Some(prev) = checked.insert(key.to_string(), expected) {
            if prev != expected {
                ctx.report(
                    &rules::TORCH_STORAGE,
                    loc.child(format!("{prefix}data/{key}")),
                    "pytorch-zip",
                    format!(
                        "storage {key} is declared with two sizes ({prev} and {expected} bytes)"
                    ),
                );
            }
            continue;
        }
        match storages.get(key.as_ref()) {
            None => ctx.report(
                &rules::TORCH_STORAGE,
                loc.child(format!("{prefix}data/{key}")),
                "pytorch-zip",
                format!(
                    "storage {key} ({expected} bytes) is declared but the archive has no data/{key}"
                ),
            ),
            Some(&actual) if actual != expected => {
                let mut f = ctx.finding(&rules::TORCH_STORAGE, loc.child(format!("{prefix}data/{key}")), "pytorch-zip",
                    format!("storage {key}: {numel} × {} ({}) = {expected} bytes declared, member holds {actual}", ty.name, size));
                f.impact = if actual < expected {
                    "the loader reads past the member's data".into()
                } else {
                    "the member carries bytes the checkpoint never uses".into()
                };
                ctx.push(f);
            }
            Some(_) => {}
        }
    }
}

/// Operations TorchScript code should not use in a model.
const TS_PATTERNS: &[(&str, &str)] = &[
    ("torch.from_file", "maps an arbitrary file into a tensor"),
    ("ops.aten.from_file", "maps an arbitrary file into a tensor"),
    ("torch.save", "writes files"),
    ("torch.load", "loads another pickle"),
    ("load_library", "loads a native library"),
    ("__import__", "imports Python modules"),
    ("subprocess", "runs processes"),
    ("os.system", "runs processes"),
    ("builtins.open", "opens files"),
    ("ops.prim.FileCheck", "inspects files"),
];

/// Scan a TorchScript `code/` member.
pub(crate) fn scan_torchscript_code(ctx: &mut Ctx<'_>, code: &[u8], loc: &Location) {
    ctx.add_format("torchscript-code");
    let text = String::from_utf8_lossy(code);
    for (pat, what) in TS_PATTERNS {
        if let Some(pos) = text.find(pat) {
            let line = text[..pos].matches('\n').count() + 1;
            let mut f = ctx.finding(
                &rules::TORCHSCRIPT,
                loc.clone().at(pos as u64),
                "torchscript",
                format!("TorchScript code uses `{pat}` ({what}) on line {line}"),
            );
            f.severity = Severity::High;
            f.evidence = text
                .lines()
                .nth(line - 1)
                .map(|l| l.trim().chars().take(200).collect());
            f.impact = "runs when torch.jit.load compiles the code or the model executes".into();
            ctx.push(f);
        }
    }
}
