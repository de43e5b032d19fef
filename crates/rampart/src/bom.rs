//! `rampart bom` and `rampart card`: composes the inventory (rampart-bom), one hashing pass
//! (rampart-sign, with dataset and prompt counters fed the same bytes), the scanner's verdicts
//! and weights metadata (rampart-scan) and signature status (rampart-sign).

use crate::cli::{
    BomArgs, BomFormat, CardArgs, CardCommand, CardInitArgs, CheckFormat, EvidenceArgs,
};
use crate::signing::{default_signature, progress_bar, read_certs, read_public_key, unix_now};
use anyhow::{Context, Result, bail};
use rampart_bom::data::Counter;
use rampart_bom::inventory::{Input, InputFile, Inventory, Role, Verdict};
use rampart_bom::{Limits, Meta, card, cdx, render, spdx};
use rampart_sign::flow::{self, Precomputed, Trust};
use rampart_sign::hash::{self, HashOptions, Method};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Creation time: `SOURCE_DATE_EPOCH` when set (reproducible documents), else now.
fn creation_time() -> Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a Unix time in seconds")),
        Err(_) => Ok(i64::try_from(unix_now()).unwrap_or(0)),
    }
}

fn inputs(paths: &[PathBuf], ev: &EvidenceArgs) -> Result<Vec<Input>> {
    let opts = HashOptions {
        allow_symlinks: ev.allow_symlinks,
        ..HashOptions::default()
    };
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot open {}", p.display()))?;
        if meta.is_dir() {
            // The same listing as `rampart hash`: the BOM speaks of the files a signature covers.
            let entries = hash::list_files(p, &opts)
                .with_context(|| format!("cannot list {}", p.display()))?;
            out.push(Input {
                path: p.clone(),
                is_dir: true,
                files: entries
                    .into_iter()
                    .map(|e| InputFile {
                        rel: e.name,
                        path: e.path,
                        size: e.size,
                    })
                    .collect(),
            });
        } else if meta.is_file() {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            out.push(Input {
                path: p.clone(),
                is_dir: false,
                files: vec![InputFile {
                    rel: name,
                    path: p.clone(),
                    size: meta.len(),
                }],
            });
        } else {
            bail!("{} is neither a file nor a folder", p.display());
        }
    }
    Ok(out)
}

/// Hash every file once; dataset and prompt counters see the same bytes.
fn hash_once(inv: &mut Inventory, ev: &EvidenceArgs) -> Result<()> {
    let entries: Vec<hash::Entry> = inv
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| hash::Entry {
            // Unique names: several inputs may each hold a config.json.
            name: i.to_string(),
            path: f.path.clone(),
            size: f.size,
        })
        .collect();
    let counters: Vec<Option<Mutex<Counter>>> = inv
        .files
        .iter()
        .map(|f| {
            let kind = match (f.role, f.data_format) {
                (Role::Prompt, _) => Some("prompt"),
                (_, Some(fmt)) => Some(fmt),
                _ => None,
            };
            kind.and_then(Counter::new).map(Mutex::new)
        })
        .collect();
    let observer = |i: usize, bytes: &[u8]| {
        if let Some(Some(c)) = counters.get(i)
            && let Ok(mut c) = c.lock()
        {
            c.feed(bytes);
        }
    };
    let pb = if ev.no_progress {
        None
    } else {
        progress_bar("bom")
    };
    let tick = |n: u64| {
        if let Some(pb) = &pb {
            pb.inc(n);
        }
    };
    let opts = HashOptions {
        method: Method::Files,
        allow_symlinks: ev.allow_symlinks,
        ..HashOptions::default()
    };
    let resources = if entries.is_empty() {
        Vec::new()
    } else {
        hash::hash_entries_observed(&entries, &opts, Some(&tick), Some(&observer))?
    };
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    for r in resources {
        if let Ok(i) = r.name.parse::<usize>()
            && let Some(f) = inv.files.get_mut(i)
        {
            f.sha256 = Some(hex::encode(&r.digest));
        }
    }
    for (f, c) in inv.files.iter_mut().zip(counters) {
        if let Some(c) = c {
            let c = c
                .into_inner()
                .map_err(|_| anyhow::anyhow!("a counting thread panicked"))?;
            f.stats = Some(c.finish());
        }
    }
    inv.read_parquet();
    Ok(())
}

/// Scanner verdicts and what weights files say about themselves (header reads only).
fn scan(inv: &mut Inventory, paths: &[PathBuf]) {
    let opts = rampart_scan::ScanOptions {
        describe: true,
        ..rampart_scan::ScanOptions::new()
    };
    let report = rampart_scan::scan_paths(paths, &opts);
    let mut by_path: HashMap<String, rampart_core::FileRecord> = report
        .files
        .into_iter()
        .map(|r| (r.path.clone(), r))
        .collect();
    for f in &mut inv.files {
        if let Some(r) = by_path.remove(&f.path.to_string_lossy().into_owned()) {
            f.verdict = Some(Verdict {
                formats: r.formats,
                findings: r.findings,
                max_severity: r.max_severity,
            });
            f.model = r.model;
        }
    }
}

fn trust(ev: &EvidenceArgs) -> Result<Option<Trust>> {
    let t = &ev.trust;
    Ok(match (&t.public_key, t.certificate_chain.is_empty()) {
        (Some(k), _) => Some(Trust::Key(read_public_key(k)?)),
        (None, false) => Some(Trust::Certificate {
            anchors: read_certs(&t.certificate_chain)?,
            identity: None,
            now: unix_now(),
        }),
        (None, true) => None,
    })
}

/// Manifest roots of folder inputs and signature status of every input asset, from the
/// digests already computed.
fn signatures(inv: &mut Inventory, ins: &[Input], ev: &EvidenceArgs) -> Result<()> {
    let trust = trust(ev)?;
    let digests: Precomputed = inv
        .files
        .iter()
        .filter_map(|f| Some((f.path.clone(), hex::decode(f.sha256.as_ref()?).ok()?)))
        .collect();
    for input in ins {
        let Some(a) = inv.assets.iter().position(|x| x.path == input.path) else {
            continue;
        };
        if input.is_dir {
            let mut res: Vec<hash::Resource> = input
                .files
                .iter()
                .filter_map(|f| {
                    Some(hash::Resource {
                        name: f.rel.clone(),
                        algorithm: "sha256".into(),
                        digest: digests.get(&f.path)?.clone(),
                    })
                })
                .collect();
            res.sort_by(|x, y| hash::component_order(&x.name, &y.name));
            if let Some(asset) = inv.assets.get_mut(a) {
                asset.manifest_root = Some(hex::encode(hash::root_digest(&res)));
            }
        }
        let mut beside = input.path.clone().into_os_string();
        beside.push(".sig");
        let candidates = [
            input.path.join("model.sig"),
            PathBuf::from(beside),
            default_signature(&input.path),
        ];
        let status = match candidates.iter().find(|p| p.is_file()) {
            None => "unsigned".to_string(),
            Some(sig) => match flow::check_against(&input.path, sig, trust.as_ref(), &digests) {
                Ok(r) if r.ok() && trust.is_some() => "verified".into(),
                Ok(r) if r.ok() => "unverified".into(),
                Ok(r) => {
                    if let Some(asset) = inv.assets.get_mut(a) {
                        asset.notes.push(format!(
                            "{} does not match its signature:\n{}",
                            input.path.display(),
                            r.describe().trim_end()
                        ));
                    }
                    "mismatch".into()
                }
                Err(e) => {
                    if let Some(asset) = inv.assets.get_mut(a) {
                        asset.notes.push(format!("{}: {e}", sig.display()));
                    }
                    "invalid".into()
                }
            },
        };
        if let Some(asset) = inv.assets.get_mut(a) {
            asset.signature = Some(status);
        }
    }
    Ok(())
}

/// The inventory of `paths` with all evidence attached.
fn collect(paths: &[PathBuf], ev: &EvidenceArgs) -> Result<Inventory> {
    let ins = inputs(paths, ev)?;
    let mut inv = Inventory::build(&ins, &Limits::default())?;
    hash_once(&mut inv, ev)?;
    scan(&mut inv, paths);
    signatures(&mut inv, &ins, ev)?;
    for a in &inv.assets {
        for n in &a.notes {
            eprintln!("warning: {n}");
        }
        if let Some(Err(e)) = &a.card {
            eprintln!("warning: card metadata ignored: {e}");
        }
    }
    Ok(inv)
}

pub fn bom_cmd(a: BomArgs) -> Result<u8> {
    let inv = collect(&a.paths, &a.evidence)?;
    let meta = Meta::new(&inv, creation_time()?, env!("CARGO_PKG_VERSION"));
    let mut text = match a.format {
        BomFormat::Cyclonedx => serde_json::to_string_pretty(&cdx::build(&inv, &meta))?,
        BomFormat::Spdx => serde_json::to_string_pretty(&spdx::build(&inv, &meta))?,
    };
    text.push('\n');
    crate::commands::emit(a.output.as_deref(), &text)?;
    Ok(0)
}

pub fn card_cmd(a: CardArgs) -> Result<u8> {
    if let Some(CardCommand::Init(i)) = a.command {
        return card_init(i);
    }
    let inv = collect(&a.paths, &a.evidence)?;
    if a.check {
        let problems = card::check(&inv);
        match a.format {
            CheckFormat::Json => {
                let v = serde_json::json!({"ok": problems.is_empty(), "assets": inv.assets.len(), "problems": problems});
                crate::commands::emit(a.output.as_deref(), &format!("{v:#}\n"))?;
            }
            CheckFormat::Human => {
                use std::io::IsTerminal;
                let color = a.output.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none();
                let (bad, good, reset) = if color {
                    ("\x1b[31m", "\x1b[32m", "\x1b[0m")
                } else {
                    ("", "", "")
                };
                let mut s = String::new();
                for p in &problems {
                    s.push_str(&format!(
                        "{bad}✗{reset} {} [{}] {}\n",
                        p.asset, p.kind, p.message
                    ));
                }
                if problems.is_empty() {
                    s.push_str(&format!(
                        "{good}✓{reset} {} card(s) complete and up to date\n",
                        inv.assets.len()
                    ));
                } else {
                    s.push_str(&format!(
                        "{} problem(s) in {} card(s)\n",
                        problems.len(),
                        inv.assets.len()
                    ));
                }
                crate::commands::emit(a.output.as_deref(), &s)?;
            }
        }
        return Ok(u8::from(!problems.is_empty()));
    }
    let cards: Vec<String> = (0..inv.assets.len())
        .map(|i| render::card(&inv, i))
        .collect();
    crate::commands::emit(a.output.as_deref(), &cards.join("\n<!-- next card -->\n\n"))?;
    Ok(0)
}

fn prefill(inv: &Inventory, a: usize) -> card::Prefill {
    let v = rampart_bom::facts::view(inv, a);
    card::Prefill {
        name: v.name,
        version: v.version.unwrap_or_default(),
        datasets: v.datasets.into_iter().map(|d| d.name).collect(),
        license: v.license.unwrap_or_default(),
        limitations: v.limitations,
        intended_use: v.intended_use,
        out_of_scope_use: v.out_of_scope,
    }
}

fn write_new(path: &Path, text: &str, overwrite: bool) -> Result<()> {
    use std::io::Write;
    let mut f = if overwrite {
        std::fs::File::create(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    }
    .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn card_init(i: CardInitArgs) -> Result<u8> {
    let inv = collect(&i.paths, &i.evidence)?;
    let when = rampart_bom::rfc3339(creation_time()?);
    for (a, asset) in inv.assets.iter().enumerate() {
        let files: std::collections::BTreeMap<String, String> = inv
            .recorded_files_of(a)
            .filter_map(|f| Some((f.rel.clone(), f.sha256.clone()?)))
            .collect();
        let recorded = card::recorded(&when, &files);
        let path = &asset.card_path;
        let exists = path.is_file();
        if exists && i.update {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let new = card::update_recorded(&text, &recorded)
                .with_context(|| format!("{}", path.display()))?;
            write_new(path, &new, true)?;
            eprintln!(
                "updated {} ({} file hashes recorded)",
                path.display(),
                files.len()
            );
        } else if exists && !i.force {
            eprintln!(
                "kept {} (exists: --update re-records the hashes, --force starts over)",
                path.display()
            );
        } else {
            let text = format!(
                "{}\n{recorded}",
                card::template(asset.kind, &prefill(&inv, a))
            );
            write_new(path, &text, i.force)?;
            eprintln!(
                "wrote {}: fill in the fields marked * then run `rampart card --check`",
                path.display()
            );
        }
    }
    Ok(0)
}
