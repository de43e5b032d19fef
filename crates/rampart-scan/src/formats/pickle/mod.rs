//! Pickle: run the symbolic machine over every pickle in a stream and judge what it observed.

pub mod machine;
pub mod value;

use crate::policy::Verdict;
use crate::rules;
use crate::scan::Ctx;
use crate::source::{self, Source};
use machine::{End, MachineOptions, Obs, Run};
use rampart_core::{Location, Severity};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;
use value::V;

/// Where a pickle comes from; decides what is expected of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickleContext {
    /// A bare pickle (or one we know nothing about).
    Plain,
    /// `data.pkl` (or another `.pkl`) of a PyTorch zip checkpoint: persistent ids are storages.
    TorchZip,
    /// The pickle inside a NumPy object array.
    NumpyObject,
}

/// What the caller may need beyond findings (PyTorch storage checks).
#[derive(Debug, Default)]
pub struct PickleSummary {
    /// Every persistent id, in order.
    pub persistent_ids: Vec<V>,
    /// Whether every pickle ended with STOP.
    pub complete: bool,
    /// A pickle ran past the end of the data, which was only a prefix of the input.
    pub window_exhausted: bool,
}

/// Whether a head that does not start with `PROTO` is a protocol 0/1 pickle. Plain text must not
/// be mistaken for one, so this asks for structure: names that are Python identifiers and either
/// a complete pickle or a call.
pub(crate) fn protocol0_candidate(head: &[u8]) -> bool {
    // CPython does not require PROTO first: any opcode may open a pickle (FRAME, BININT1, ...).
    match head.first() {
        Some(&b) if machine::opcode_name(b) != "<invalid>" => {}
        _ => return false,
    }
    let opts = MachineOptions {
        max_ops: 10_000,
        joblib: false,
        ..Default::default()
    };
    let run = machine::run(head, 0, &opts);
    let ident = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|p| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && !p.starts_with(|c: char| c.is_ascii_digit())
            })
    };
    let mut names_ok = true;
    let mut any_call = false;
    for o in &run.obs {
        match o {
            // Names resolved at run time (getattr, import_module) are not file syntax.
            Obs::Import {
                opcode: "getattr", ..
            } => {}
            Obs::Import { global, raw, .. } => {
                let (m, n) = match raw {
                    Some((m, n)) => (m.as_str(), n.as_str()),
                    None => (global.module.as_ref(), global.name.as_ref()),
                };
                names_ok &= ident(m) && ident(n);
            }
            Obs::Call { .. } => any_call = true,
            _ => {}
        }
    }
    names_ok && (any_call || (run.end == End::Stop && run.ops >= 3))
}

/// Read the pickle stream (up to the size limit) from a source and analyse it.
pub(crate) fn scan_source(
    ctx: &mut Ctx<'_>,
    src: &dyn Source,
    loc: &Location,
    context: PickleContext,
) -> PickleSummary {
    // Pickles sit at the start of their files (legacy checkpoints put gigabytes of raw storage
    // after them): read a window, and grow it only when a pickle runs past its end.
    let limit = ctx.opts.limits.max_pickle_bytes.min(src.len());
    let mut window = limit.min(64 << 20);
    loop {
        let data = match source::read_range(src, 0, window) {
            Ok(d) => d,
            Err(e) => {
                ctx.report(
                    &rules::SCAN_INCOMPLETE,
                    loc.clone(),
                    "pickle",
                    format!("could not read pickle: {e}"),
                );
                return PickleSummary::default();
            }
        };
        let cut = src.len() > window;
        let mut scratch = Ctx::new(ctx.opts, ctx.deadline);
        scratch.explain = ctx.explain.as_ref().map(|_| String::new());
        let summary = analyse(&mut scratch, &data, cut, loc, context);
        if summary.window_exhausted && window < limit {
            window = window.saturating_mul(4).min(limit);
            continue;
        }
        ctx.absorb(scratch);
        return summary;
    }
}

const TORCH_LEGACY_MAGIC_PREFIX: &[u8] =
    b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

/// Analyse every pickle in `data`. `cut` says the data is a prefix of a longer input.
pub(crate) fn analyse(
    ctx: &mut Ctx<'_>,
    data: &[u8],
    cut: bool,
    loc: &Location,
    context: PickleContext,
) -> PickleSummary {
    let mopts = MachineOptions {
        max_ops: ctx.opts.limits.max_pickle_ops,
        deadline: Some(ctx.deadline),
        trace: ctx.explain.is_some(),
        ..Default::default()
    };
    // PyTorch's legacy format: five pickles (magic, version, sys info, object, storage keys),
    // then raw storage bytes that are not pickle and must not be read as such.
    let legacy = data.starts_with(TORCH_LEGACY_MAGIC_PREFIX);
    let format = if legacy { "pytorch-legacy" } else { "pickle" };
    if legacy {
        ctx.add_format("pytorch-legacy");
    }
    let max_pickles = if legacy { 5 } else { 256 };
    let mut summary = PickleSummary {
        complete: true,
        ..Default::default()
    };
    let mut pos = 0usize;
    let mut count = 0usize;
    loop {
        let run = machine::run(data, pos, &mopts);
        count += 1;
        if let Some(out) = ctx.explain.as_mut() {
            write_listing(out, &run, loc, &ctx.opts.policy);
        }
        // Legacy checkpoints resolve their persistent ids like zip checkpoints do.
        let kind = if legacy {
            PickleContext::TorchZip
        } else {
            context
        };
        judge(ctx, &run, data.len(), cut, loc, kind, format, &mut summary);
        if run.end != End::Stop {
            summary.complete = false;
            if let End::Error { msg, .. } = &run.end {
                summary.window_exhausted =
                    cut && (msg.contains("truncated") || msg.contains("exceeds the"));
            }
            break;
        }
        pos = run.next;
        if pos >= data.len() || count >= max_pickles {
            break;
        }
        if machine::looks_like_pickle_start(data, pos) {
            continue;
        }
        if !legacy && context == PickleContext::Plain {
            let mut f = ctx.finding(
                &rules::PICKLE_STREAM,
                loc.clone().at(pos as u64),
                format,
                format!(
                    "{} bytes of non-pickle data after the last STOP",
                    data.len() - pos
                ),
            );
            f.impact = "pickle.load ignores them; a custom loader may not".into();
            ctx.push(f);
        }
        break;
    }
    if count > 1 && !legacy && context == PickleContext::Plain {
        let mut f = ctx.finding(
            &rules::PICKLE_STREAM,
            loc.clone(),
            format,
            format!("stream holds {count} consecutive pickles; all were analysed"),
        );
        f.severity = Severity::Info;
        f.impact =
            "pickle.load reads the first; loaders that call load() repeatedly run them all".into();
        ctx.push(f);
    }
    summary
}

#[derive(Default)]
struct ImportInfo {
    offset: usize,
    count: u64,
    call: Option<(usize, String)>,
    opcode: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn judge(
    ctx: &mut Ctx<'_>,
    run: &Run,
    len: usize,
    cut: bool,
    loc: &Location,
    context: PickleContext,
    format: &str,
    summary: &mut PickleSummary,
) {
    // Keyed by the machine's shared strings: a state dict imports the same few globals
    // thousands of times, and this must not allocate per import.
    let mut imports: HashMap<(Rc<str>, Rc<str>), ImportInfo> = HashMap::new();
    let mut persid = 0u64;
    for o in &run.obs {
        match o {
            Obs::Import { global, opcode, .. } => {
                if global.module.starts_with('<') {
                    continue;
                }
                let e = imports
                    .entry((global.module.clone(), global.name.clone()))
                    .or_insert_with(|| ImportInfo {
                        offset: global.offset,
                        opcode,
                        ..Default::default()
                    });
                e.count += 1;
            }
            Obs::Call {
                callee,
                offset,
                kind,
                ..
            } => match callee {
                V::Global(g) if g.module.starts_with('<') => {}
                V::Global(g) => {
                    if let Some(e) = imports.get_mut(&(g.module.clone(), g.name.clone()))
                        && e.call.is_none()
                    {
                        let call = rebuild_call(run, *offset).unwrap_or_else(|| g.qualified());
                        e.call = Some((*offset, call));
                    }
                }
                V::Ext(_) => {}
                other => {
                    let mut f = ctx.finding(
                        &rules::PICKLE_DYNAMIC,
                        loc.clone().at(*offset as u64),
                        format,
                        format!(
                            "{} calls a callable computed at load time: {}",
                            kind.opcode(),
                            other.repr()
                        ),
                    );
                    f.evidence = rebuild_call(run, *offset);
                    f.impact = "what runs is decided only when the pickle is executed".into();
                    ctx.push(f);
                }
            },
            Obs::DynamicGlobal {
                module,
                name,
                offset,
            } => {
                let mut f = ctx.finding(
                    &rules::PICKLE_DYNAMIC,
                    loc.clone().at(*offset as u64),
                    format,
                    "STACK_GLOBAL imports a name built at load time".to_string(),
                );
                f.evidence = Some(format!("module={}, name={}", module.repr(), name.repr()));
                f.impact = "the unpickler imports whatever the computed strings name".into();
                ctx.push(f);
            }
            Obs::Ext { code, offset } => {
                let mut f = ctx.finding(
                    &rules::PICKLE_EXT,
                    loc.clone().at(*offset as u64),
                    format,
                    format!("EXT opcode refers to copyreg extension code {code}"),
                );
                f.impact =
                    "the loading process's copyreg registry decides which callable this is".into();
                ctx.push(f);
            }
            Obs::Build { target, offset, .. } => {
                if matches!(target, V::Global(_) | V::Ext(_)) {
                    let mut f = ctx.finding(
                        &rules::PICKLE_MUTATES_GLOBAL,
                        loc.clone().at(*offset as u64),
                        format,
                        format!(
                            "sets attributes or items on the imported object {}",
                            target.repr()
                        ),
                    );
                    f.impact = "unpickling monkey-patches a module, class or function".into();
                    ctx.push(f);
                }
            }
            Obs::Persistent { pid, .. } => {
                persid += 1;
                summary.persistent_ids.push(pid.clone());
            }
            Obs::Differential { offset, msg } => {
                let mut f = ctx.finding(
                    &rules::PICKLE_DIFFERENTIAL,
                    loc.clone().at(*offset as u64),
                    format,
                    msg.clone(),
                );
                f.impact = "other parsers may read this pickle differently from CPython".into();
                ctx.push(f);
            }
            Obs::JoblibArray { .. } => {}
        }
    }
    let mut imports: Vec<_> = imports.into_iter().collect();
    imports.sort_by(|a, b| a.0.cmp(&b.0));
    for ((module, name), info) in imports {
        let (module, name) = (module.to_string(), name.to_string());
        let q = if name.is_empty() {
            module.clone()
        } else {
            format!("{module}.{name}")
        };
        let verdict = ctx.opts.policy.classify(&module, &name);
        let (rule, severity, what) = match &verdict {
            Verdict::Safe(_) => continue,
            Verdict::Dangerous(cat) => (&rules::PICKLE_DANGEROUS, Severity::Critical, cat.clone()),
            Verdict::Suspicious => (
                &rules::PICKLE_UNKNOWN,
                Severity::High,
                "not allowlisted; its name suggests code execution or I/O".to_string(),
            ),
            Verdict::Unknown => (
                &rules::PICKLE_UNKNOWN,
                Severity::Medium,
                "not on the allowlist".to_string(),
            ),
        };
        let verb = if info.call.is_some() {
            "calls"
        } else {
            "imports"
        };
        let offset = info.call.as_ref().map_or(info.offset, |c| c.0);
        let mut f = ctx.finding(
            rule,
            loc.clone().at(offset as u64),
            format,
            format!("{verb} {q} ({what})"),
        );
        f.severity = severity;
        f.occurrences = info.count;
        f.evidence = Some(match &info.call {
            Some((_, c)) => c.clone(),
            None => format!("{} {q} at {:#x}", info.opcode, info.offset),
        });
        f.impact = if info.call.is_some() {
            format!("unpickling imports `{module}` and calls {q} while loading")
        } else {
            format!("unpickling imports `{module}` (running its import-time code) and fetches {q}")
        };
        ctx.push(f);
    }
    if persid > 0 && context == PickleContext::Plain {
        let mut f = ctx.finding(
            &rules::PICKLE_PERSID,
            loc.clone(),
            format,
            format!("{persid} persistent ids (PERSID/BINPERSID) outside a PyTorch checkpoint"),
        );
        f.impact =
            "pickle.load fails on them; a custom persistent_load decides what they become".into();
        ctx.push(f);
    }
    match &run.end {
        End::Stop => {}
        End::Error { offset, msg } => {
            let truncated = msg.contains("truncated") || msg.contains("exceeds the");
            if cut && truncated {
                ctx.report(
                    &rules::PICKLE_LIMIT,
                    loc.clone().at(*offset as u64),
                    format,
                    format!(
                        "pickle continues past the {}-byte analysis window (limit --max-pickle-bytes)",
                        len
                    ),
                );
            } else {
                let mut f = ctx.finding(
                    &rules::PICKLE_MALFORMED,
                    loc.clone().at(*offset as u64),
                    format,
                    format!("pickle breaks at {offset:#x}: {msg}"),
                );
                f.impact = format!(
                    "CPython's unpickler runs the {} opcodes before the break, then raises",
                    run.ops.saturating_sub(1)
                );
                ctx.push(f);
            }
        }
        End::Limit { offset, msg } => {
            ctx.report(
                &rules::PICKLE_LIMIT,
                loc.clone().at(*offset as u64),
                format,
                format!("analysis stopped: {msg}"),
            );
        }
    }
}

/// The call observed at `offset`, as `callee(args)`.
fn rebuild_call(run: &Run, offset: usize) -> Option<String> {
    run.obs.iter().find_map(|o| match o {
        Obs::Call {
            callee,
            args,
            offset: off,
            ..
        } if *off == offset => {
            let call = V::node(
                value::NodeKind::Call(value::CallKind::Reduce),
                vec![callee.clone(), args.clone()],
                offset,
            );
            Some(call.repr())
        }
        _ => None,
    })
}

fn write_listing(out: &mut String, run: &Run, loc: &Location, policy: &crate::Policy) {
    let _ = writeln!(
        out,
        "== {} — pickle at {:#x}, protocol {}, {} opcodes ==",
        loc.display_path(),
        run.start,
        run.protocol,
        run.ops
    );
    for t in &run.trace {
        let verdict = t
            .global
            .as_ref()
            .map(|g| match policy.classify(&g.module, &g.name) {
                Verdict::Dangerous(c) => format!("  [CRITICAL: {c}]"),
                Verdict::Safe(fw) => format!("  [allowlisted: {fw}]"),
                Verdict::Suspicious => "  [REVIEW: suspicious name]".to_string(),
                Verdict::Unknown => "  [REVIEW: not allowlisted]".to_string(),
            });
        let indent = "  ".repeat(t.depth.min(16));
        let mut line = format!("{:#08x}: {indent}{:<16} {}", t.offset, t.opcode, t.arg);
        if !t.note.is_empty() {
            let _ = write!(line, "  → {}", t.note);
        }
        if let Some(v) = verdict {
            line.push_str(&v);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    match &run.end {
        End::Stop => {
            let _ = writeln!(out, "-- STOP at {:#x}", run.next.saturating_sub(1));
        }
        End::Error { offset, msg } => {
            let _ = writeln!(
                out,
                "!! BREAK at {offset:#x}: {msg} (everything above has already run)"
            );
        }
        End::Limit { offset, msg } => {
            let _ = writeln!(out, "!! LIMIT at {offset:#x}: {msg}");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Limits, ScanOptions, scan_bytes};

    /// A 70 MiB pickle (one BINBYTES8) followed by a payload: larger than the first read window.
    fn big_pickle() -> Vec<u8> {
        let n = 70usize << 20;
        let mut p = b"\x80\x04\x8e".to_vec();
        p.extend_from_slice(&(n as u64).to_le_bytes());
        p.resize(p.len() + n, 0);
        p.extend_from_slice(b"0cos\nsystem\n(S'echo rampart-test'\ntR.");
        p
    }

    #[test]
    fn window_grows_past_64_mib() {
        let f = scan_bytes("big.pkl", &big_pickle(), &ScanOptions::new());
        let ids: Vec<_> = f.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, vec!["RS101"], "{f:#?}");
    }

    #[test]
    fn limit_is_reported_not_silently_clean() {
        let opts = ScanOptions {
            limits: Limits {
                max_pickle_bytes: 1 << 20,
                ..Limits::default()
            },
            ..ScanOptions::new()
        };
        let f = scan_bytes("big.pkl", &big_pickle(), &opts);
        assert!(f.iter().any(|f| f.rule_id == "RS108"), "{f:#?}");
    }
}
