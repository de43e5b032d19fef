//! 7z archives. Models have no business in 7z (PyTorch cannot load one), but the nullifAI
//! samples used 7z to hide pickles from scanners that only understood zip: unpack and scan.

use crate::rules;
use crate::scan::{self, Ctx};
use crate::source::Source;
use rampart_core::Location;
use std::io::Read;

/// Scan a 7z archive.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location, depth: u32) {
    let limits = ctx.opts.limits.clone();
    let mut f = ctx.finding(
        &rules::NONSTANDARD_CONTAINER,
        loc.clone(),
        "7z",
        "7z archive: no model loader reads this container",
    );
    f.impact = "scanners that only understand zip see nothing inside".into();
    ctx.push(f);
    let reader = super::tar::SourceReader { src, pos: 0 };
    // Memory limit in KiB for headers and dictionaries.
    let mem_kb = usize::try_from((limits.max_metadata_bytes / 1024).max(1024)).unwrap_or(1 << 20);
    let mut ar = match sevenz_rust2::ArchiveReader::new_with_memory_limit(
        reader,
        sevenz_rust2::Password::empty(),
        mem_kb,
    ) {
        Ok(a) => a,
        Err(e) => {
            ctx.report(
                &rules::ARCHIVE_UNREADABLE,
                loc.clone(),
                "7z",
                format!("cannot read 7z archive: {e}"),
            );
            return;
        }
    };
    ar.set_thread_count(1);
    let mut members: Vec<(String, Result<Vec<u8>, String>)> = Vec::new();
    let mut count = 0u64;
    let max_member = limits.max_member_bytes;
    let max_entries = limits.max_entries;
    let res = ar.for_each_entries(|entry, r| {
        count += 1;
        if count > max_entries {
            return Ok(false);
        }
        if entry.is_directory() || !entry.has_stream() {
            return Ok(true);
        }
        let mut buf = Vec::new();
        let got = r.take(max_member + 1).read_to_end(&mut buf);
        let item = match got {
            Ok(n) if n as u64 > max_member => {
                Err(format!("member exceeds the {max_member}-byte limit"))
            }
            Ok(_) => Ok(buf),
            Err(e) => Err(format!("corrupt 7z member: {e}")),
        };
        members.push((entry.name().to_string(), item));
        Ok(true)
    });
    if let Err(e) = res {
        ctx.report(
            &rules::ARCHIVE_UNREADABLE,
            loc.clone(),
            "7z",
            format!("7z decoding failed: {e}"),
        );
    }
    if count > max_entries {
        ctx.report(
            &rules::ARCHIVE_BOMB,
            loc.clone(),
            "7z",
            "more entries than --max-entries",
        );
    }
    for (name, item) in members {
        let mloc = loc.child(name.clone());
        if super::zip::escapes_root(&name) {
            ctx.report(
                &rules::ARCHIVE_TRAVERSAL,
                mloc.clone(),
                "7z",
                format!("member name {name:?} escapes the extraction directory"),
            );
        }
        match item {
            Ok(bytes) => {
                if !ctx.take_decompressed(bytes.len() as u64, &mloc) {
                    return;
                }
                ctx.members += 1;
                if depth + 1 > limits.max_depth {
                    ctx.report(
                        &rules::ARCHIVE_BOMB,
                        mloc,
                        "7z",
                        "archives nested too deep (--max-depth)",
                    );
                    continue;
                }
                let leaf = name.rsplit('/').next().unwrap_or(&name).to_string();
                scan::scan_source(ctx, &bytes.as_slice(), &mloc, &leaf, depth + 1);
            }
            Err(msg) => {
                let rule = if msg.contains("limit") {
                    &rules::ARCHIVE_BOMB
                } else {
                    &rules::ARCHIVE_UNREADABLE
                };
                ctx.report(rule, mloc, "7z", msg);
            }
        }
    }
}
