//! Walking the inputs: directories recursively, symlinks only where they stay inside the tree,
//! each real file scanned once (Hugging Face caches link snapshot names to blobs), in parallel.

use crate::ScanOptions;
use crate::rules;
use crate::scan::{self, Ctx};
use crate::source::FileSource;
use rampart_core::{ErrorRecord, FileRecord, Finding, Location, Report};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Item {
    display: String,
    real: PathBuf,
    size: u64,
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn collect(
    root: &Path,
    opts: &ScanOptions,
    items: &mut Vec<Item>,
    findings: &mut Vec<Finding>,
    errors: &mut Vec<ErrorRecord>,
) {
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                "no such file or directory".to_string()
            } else {
                e.to_string()
            };
            errors.push(ErrorRecord {
                path: display(root),
                message: msg,
            });
            return;
        }
    };
    if meta.is_file() {
        // A path named by the user is followed even if it is a link: they asked for it.
        let real = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        items.push(Item {
            display: display(root),
            real,
            size: meta.len(),
        });
        return;
    }
    let canon_root = match std::fs::canonicalize(root) {
        Ok(c) => c,
        Err(e) => {
            errors.push(ErrorRecord {
                path: display(root),
                message: e.to_string(),
            });
            return;
        }
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| opts.include_git || e.depth() == 0 || e.file_name() != ".git");
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(display).unwrap_or_else(|| display(root));
                errors.push(ErrorRecord {
                    path,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let ft = entry.file_type();
        let path = entry.path();
        if ft.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            items.push(Item {
                display: display(path),
                real,
                size,
            });
        } else if ft.is_symlink() {
            match std::fs::canonicalize(path) {
                Ok(target) if target.starts_with(&canon_root) => {
                    if let Ok(m) = std::fs::metadata(&target)
                        && m.is_file()
                    {
                        items.push(Item {
                            display: display(path),
                            real: target,
                            size: m.len(),
                        });
                    }
                }
                Ok(target) => {
                    let mut f = Finding::new(
                        rules::SYMLINK_ESCAPE.id,
                        rules::SYMLINK_ESCAPE.name,
                        rules::SYMLINK_ESCAPE.severity,
                        Location::file(display(path)),
                        format!(
                            "symbolic link points outside the scanned tree to {}",
                            target.display()
                        ),
                    );
                    f.impact =
                        "a loader following the link reads a file the publisher did not ship"
                            .into();
                    f.remediation = rules::fix(rules::SYMLINK_ESCAPE.id).into();
                    findings.push(f);
                }
                Err(_) => {
                    let target = std::fs::read_link(path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    let mut f = Finding::new(
                        rules::SYMLINK_ESCAPE.id,
                        rules::SYMLINK_ESCAPE.name,
                        rampart_core::Severity::Low,
                        Location::file(display(path)),
                        format!("dangling symbolic link to {target:?}"),
                    );
                    f.remediation = rules::fix(rules::SYMLINK_ESCAPE.id).into();
                    findings.push(f);
                }
            }
        }
    }
}

pub(crate) fn scan_paths(paths: &[PathBuf], opts: &ScanOptions) -> Report {
    let start = Instant::now();
    let mut report = Report::new(
        "scan",
        env!("CARGO_PKG_VERSION"),
        paths.iter().map(|p| display(p)).collect(),
    );
    let mut items = Vec::new();
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        collect(p, opts, &mut items, &mut findings, &mut errors);
    }
    // One scan per real file; prefer a name that is not a content-addressed blob.
    let mut by_real: HashMap<PathBuf, usize> = HashMap::new();
    let mut unique: Vec<Item> = Vec::new();
    for it in items {
        match by_real.get(&it.real) {
            Some(&i) => {
                if let Some(u) = unique.get_mut(i)
                    && u.display.contains("/blobs/")
                    && !it.display.contains("/blobs/")
                {
                    u.display = it.display;
                }
            }
            None => {
                by_real.insert(it.real.clone(), unique.len());
                unique.push(it);
            }
        }
    }
    if let Some(p) = &opts.progress {
        p.start(unique.len() as u64, unique.iter().map(|i| i.size).sum());
    }
    let results: Vec<_> = unique
        .par_iter()
        .map(|it| {
            let r = scan_file(it, opts);
            if let Some(p) = &opts.progress {
                p.file_done(it.size);
            }
            r
        })
        .collect();
    for (rec, fs, members, err) in results {
        report.summary.bytes += rec.size;
        report.summary.members += members;
        findings.extend(fs);
        match err {
            Some(e) => errors.push(e),
            None => report.files.push(rec),
        }
    }
    report.findings = findings;
    report.errors = errors;
    report.finalize();
    report.summary.duration_ms = start.elapsed().as_millis() as u64;
    report
}

fn scan_file(
    it: &Item,
    opts: &ScanOptions,
) -> (FileRecord, Vec<Finding>, u64, Option<ErrorRecord>) {
    let mut rec = FileRecord {
        path: it.display.clone(),
        size: it.size,
        formats: Vec::new(),
        findings: 0,
        max_severity: None,
        model: None,
    };
    let file = match std::fs::File::open(&it.real).and_then(FileSource::new) {
        Ok(f) => f,
        Err(e) => {
            return (
                rec,
                Vec::new(),
                0,
                Some(ErrorRecord {
                    path: it.display.clone(),
                    message: format!("cannot read: {e}"),
                }),
            );
        }
    };
    let mut ctx = Ctx::new(opts, Instant::now() + opts.limits.time_per_file);
    let loc = Location::file(&it.display);
    let name = Path::new(&it.display)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    scan::scan_source(&mut ctx, &file, &loc, &name, 0);
    let members = ctx.members;
    rec.formats = std::mem::take(&mut ctx.formats);
    rec.model = ctx.model.take();
    let fs = ctx.into_findings();
    rec.findings = fs.len() as u64;
    rec.max_severity = fs.iter().map(|f| f.severity).max();
    (rec, fs, members, None)
}
