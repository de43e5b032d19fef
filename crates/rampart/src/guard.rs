//! `rampart guard check` and `rampart guard redact`.

use crate::cli::{GuardArgs, GuardCommand, RedactArgs};
use anyhow::{Context, Result, bail};
use rampart_guard::exfil::Context as ExfilContext;
use rampart_guard::redact::{self, Action, Vault};
use rampart_guard::{Detector, Guards};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

/// Largest input read.
const MAX_INPUT_FILE: u64 = 1 << 30;

pub fn run(c: GuardCommand) -> Result<u8> {
    match c {
        GuardCommand::Check(a) => check(a),
        GuardCommand::Redact(a) => redact_cmd(a),
        GuardCommand::Train(a) => train_cmd(a),
    }
}

struct Row {
    text: String,
    label: bool,
    source: String,
}

fn read_rows(p: &std::path::Path, exclude: &[String]) -> Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    let mut out = Vec::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(l)
            .with_context(|| format!("{}:{}: not JSON", p.display(), i + 1))?;
        let (Some(t), Some(y)) = (v["text"].as_str(), v["label"].as_i64()) else {
            bail!(
                "{}:{}: needs a string text and a 0/1 label",
                p.display(),
                i + 1
            );
        };
        let source = v["source"].as_str().unwrap_or("").to_string();
        if exclude.iter().any(|e| source.ends_with(e.as_str())) {
            continue;
        }
        out.push(Row {
            text: t.to_string(),
            label: y == 1,
            source,
        });
    }
    Ok(out)
}

/// The source family: the part before `:` (neuralchemy's sub-sources stay together).
fn family(source: &str) -> &str {
    source.split(':').next().unwrap_or(source)
}

fn evaluate(
    model: &rampart_guard::injection::Model,
    rows: &[&Row],
) -> (
    rampart_guard::injection::Metrics,
    rampart_guard::injection::Metrics,
    rampart_guard::injection::Metrics,
) {
    use rampart_guard::injection::{Metrics, classify};
    let (mut combined, mut m_only, mut r_only) =
        (Metrics::default(), Metrics::default(), Metrics::default());
    for r in rows {
        let v = classify(model, &r.text);
        combined.add(v.injection, r.label);
        m_only.add(v.score >= model.threshold, r.label);
        r_only.add(!v.rules.is_empty(), r.label);
    }
    (combined, m_only, r_only)
}

fn metrics_json(m: &rampart_guard::injection::Metrics) -> Value {
    json!({"f1": round(m.f1()), "precision": round(m.precision()), "recall": round(m.recall()), "fpr": round(m.fpr()),
           "tp": m.tp, "fp": m.fp, "tn": m.tn, "fn": m.fn_})
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn fit(
    rows: &[&Row],
    dev: &[&Row],
    max_fpr: f64,
    opts: &rampart_guard::injection::TrainOptions,
) -> rampart_guard::injection::Model {
    use rampart_guard::injection::{threshold_for_fpr, train};
    let pairs: Vec<(String, bool)> = rows.iter().map(|r| (r.text.clone(), r.label)).collect();
    let mut model = train(&pairs, opts);
    let scored: Vec<(f32, bool)> = dev
        .iter()
        .map(|r| (model.score(&r.text), r.label))
        .collect();
    model.threshold = threshold_for_fpr(&scored, max_fpr);
    model
}

fn train_cmd(a: crate::cli::TrainArgs) -> Result<u8> {
    let mut train = Vec::new();
    for p in &a.train {
        train.extend(read_rows(p, &a.exclude_source)?);
    }
    let dev = read_rows(&a.dev, &a.exclude_source)?;
    let start = std::time::Instant::now();
    let (train_refs, dev_refs): (Vec<&Row>, Vec<&Row>) =
        (train.iter().collect(), dev.iter().collect());
    let mut opts = rampart_guard::injection::TrainOptions::default();
    if let Some(l2) = a.l2 {
        opts.l2 = l2;
    }
    if let Some(e) = a.epochs {
        opts.epochs = e;
    }
    if let Some(r) = a.runs {
        opts.runs = r;
    }
    if let Some(n) = a.sentence_every {
        opts.sentence_every = n;
    }
    let model = fit(&train_refs, &dev_refs, a.max_fpr, &opts);
    let train_s = start.elapsed().as_secs_f64();
    let bytes = model.to_bytes();
    let (c, m, r) = evaluate(&model, &dev_refs);
    let mut report = json!({
        "train_rows": train.len(), "dev_rows": dev.len(), "train_seconds": round(train_s),
        "threshold": model.threshold, "model_sha256": rampart_bom::sha256_hex(&bytes),
        "dev": {"rules+model": metrics_json(&c), "model": metrics_json(&m), "rules": metrics_json(&r)},
    });
    if a.holdout_by_source {
        let mut all: Vec<&Row> = train.iter().chain(dev.iter()).collect();
        all.sort_by(|x, y| x.source.cmp(&y.source));
        let mut families: Vec<&str> = all.iter().map(|r| family(&r.source)).collect();
        families.dedup();
        let mut out = serde_json::Map::new();
        for fam in families {
            let (test, rest): (Vec<&Row>, Vec<&Row>) =
                all.iter().copied().partition(|r| family(&r.source) == fam);
            // The threshold comes from the held-in rows' dev split, never from the held-out source.
            let dv: Vec<&Row> = dev.iter().filter(|r| family(&r.source) != fam).collect();
            let model = fit(&rest, &dv, a.max_fpr, &opts);
            let (c, _, _) = evaluate(&model, &test);
            out.insert(fam.to_string(), metrics_json(&c));
        }
        report["holdout_by_source"] = Value::Object(out);
    }
    if let Some(o) = &a.output {
        std::fs::write(o, &bytes).with_context(|| format!("cannot write {}", o.display()))?;
    }
    println!("{report:#}");
    Ok(0)
}

/// The detectors asked for, and whether the injection classifier is one of them.
fn detectors(only: &[String]) -> Result<(Vec<Detector>, bool)> {
    let mut v = Vec::new();
    let mut injection = false;
    for o in only {
        match Detector::parse(o) {
            Some(d) if !v.contains(&d) => v.push(d),
            Some(_) => {}
            None if o.trim() == "injection" => injection = true,
            None => bail!(
                "unknown detector {o:?}: choose from injection, secrets, pii, exfil, invisible"
            ),
        }
    }
    Ok((v, injection))
}

/// The shipped injection model, after its signature and digest are verified.
pub(crate) fn injection_model() -> Result<rampart_guard::injection::Model> {
    use rampart_guard::injection::{Model, shipped};
    let key = rampart_sign::keys::PublicKey::from_pem(shipped::PUBLIC_KEY)
        .context("the embedded injection model's public key does not parse")?;
    rampart_sign::flow::verify_blob(
        shipped::SIGNATURE,
        &rampart_sign::flow::Trust::Key(key),
        shipped::MODEL,
    )
    .context("the embedded injection model failed its signature check: do not use this build")?;
    Model::from_bytes(shipped::MODEL).map_err(|e| anyhow::anyhow!("injection model: {e}"))
}

fn read_input(a: &GuardArgs) -> Result<String> {
    let mut buf = Vec::new();
    match a.input.as_deref() {
        None => std::io::stdin()
            .take(MAX_INPUT_FILE + 1)
            .read_to_end(&mut buf)?,
        Some(p) if p.as_os_str() == "-" => std::io::stdin()
            .take(MAX_INPUT_FILE + 1)
            .read_to_end(&mut buf)?,
        Some(p) => std::fs::File::open(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .take(MAX_INPUT_FILE + 1)
            .read_to_end(&mut buf)?,
    };
    if buf.len() as u64 > MAX_INPUT_FILE {
        bail!("input larger than {MAX_INPUT_FILE} bytes: split it");
    }
    String::from_utf8(buf).context("input is not UTF-8")
}

/// One unit of input: its line number, its text, and the JSON object it came from.
struct Item {
    line: usize,
    text: String,
    record: Option<serde_json::Map<String, Value>>,
}

/// JSONL when every non-blank line is an object with a string `text`; else plain text (one
/// input, or one per line with `--lines`).
fn items(input: &str, lines: bool) -> Vec<Item> {
    let parsed: Option<Vec<Item>> = input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(m)) => {
                let text = m.get("text")?.as_str()?.to_string();
                Some(Item {
                    line: i + 1,
                    text,
                    record: Some(m),
                })
            }
            _ => None,
        })
        .collect();
    match parsed {
        Some(v) if !v.is_empty() => v,
        _ if lines => input
            .lines()
            .enumerate()
            .map(|(i, l)| Item {
                line: i + 1,
                text: l.to_string(),
                record: None,
            })
            .collect(),
        _ => vec![Item {
            line: 1,
            text: input.to_string(),
            record: None,
        }],
    }
}

fn guards(a: &GuardArgs) -> Guards {
    Guards {
        allowed_hosts: a.allow_hosts.clone(),
    }
}

/// Largest `--context` file.
const MAX_CONTEXT_FILE: u64 = 64 << 20;

/// The text of `--context FILE`, if given.
fn context_text(a: &GuardArgs) -> Result<Option<String>> {
    let Some(p) = &a.context else { return Ok(None) };
    let len = std::fs::metadata(p)
        .with_context(|| format!("cannot read the context file {}", p.display()))?
        .len();
    if len > MAX_CONTEXT_FILE {
        bail!(
            "the context file {} is {len} bytes; the limit is {MAX_CONTEXT_FILE}",
            p.display()
        );
    }
    let b = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
    Ok(Some(String::from_utf8_lossy(&b).into_owned()))
}

/// Contexts for exfiltration checks: the `--context` file's, built once, and a record's own
/// `context` field (string or list of strings) added to a copy of it.
struct Contexts(Option<ExfilContext>);

impl Contexts {
    fn new(a: &GuardArgs) -> Result<Contexts> {
        Ok(Contexts(
            context_text(a)?.map(|t| ExfilContext::new([t.as_str()])),
        ))
    }

    fn for_item(&self, it: &Item) -> Option<std::borrow::Cow<'_, ExfilContext>> {
        let own: Vec<&str> = match it.record.as_ref().and_then(|r| r.get("context")) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if own.is_empty() {
            return self.0.as_ref().map(std::borrow::Cow::Borrowed);
        }
        let mut c = self.0.clone().unwrap_or_default();
        for t in own {
            c.add(t);
        }
        Some(std::borrow::Cow::Owned(c))
    }
}

/// Text compared for duplicates: lower case, letters and digits only.
fn dup_key(t: &str) -> String {
    t.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn check(a: GuardArgs) -> Result<u8> {
    let (only, injection) = detectors(&a.only)?;
    let model = if injection {
        Some(match &a.model {
            None => injection_model()?,
            Some(p) => {
                eprintln!(
                    "rampart guard: using {} instead of the shipped model (not signature-checked)",
                    p.display()
                );
                let len = std::fs::metadata(p)
                    .with_context(|| format!("cannot read {}", p.display()))?
                    .len();
                if len > 8 << 20 {
                    bail!("{} is {len} bytes: not an injection model", p.display());
                }
                let b = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                rampart_guard::injection::Model::from_bytes(&b)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            }
        })
    } else {
        None
    };
    let g = guards(&a);
    let contexts = Contexts::new(&a)?;
    let input = read_input(&a)?;
    let items = items(&input, a.lines);
    let mut out = std::io::stdout().lock();
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut flagged_lines: Vec<usize> = Vec::new();
    let mut seen: HashMap<String, (usize, Option<Value>)> = HashMap::new();
    let mut duplicates: Vec<(usize, usize)> = Vec::new();
    let mut conflicts: Vec<(usize, usize)> = Vec::new();
    for it in &items {
        let f = g.check_in_context(&it.text, &only, contexts.for_item(it).as_deref());
        for x in &f {
            *by_type.entry(x.kind).or_default() += 1;
        }
        let verdict = model
            .as_ref()
            .map(|m| rampart_guard::injection::classify(m, &it.text));
        let injected = verdict.as_ref().is_some_and(|v| v.injection);
        if injected {
            *by_type.entry("INJECTION").or_default() += 1;
        }
        if !f.is_empty() || injected {
            flagged_lines.push(it.line);
        }
        let label = it.record.as_ref().and_then(|r| r.get("label").cloned());
        match seen.entry(dup_key(&it.text)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let (first, l) = e.get();
                duplicates.push((it.line, *first));
                if l.is_some() && label.is_some() && *l != label {
                    conflicts.push((it.line, *first));
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((it.line, label));
            }
        }
        let mut line = json!({"line": it.line, "chars": it.text.chars().count(), "findings": f});
        if let Some(v) = verdict {
            line["injection"] = json!({
                "score": (f64::from(v.score) * 10_000.0).round() / 10_000.0,
                "verdict": if v.injection { "injection" } else { "benign" },
                "rules": v.rules,
            });
        }
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if items.len() > 1 {
        let mut err = std::io::stderr().lock();
        let list = |v: &[usize]| {
            let s: Vec<String> = v.iter().take(20).map(usize::to_string).collect();
            format!("{}{}", s.join(", "), if v.len() > 20 { ", …" } else { "" })
        };
        writeln!(
            err,
            "{} inputs, {} with findings{}",
            items.len(),
            flagged_lines.len(),
            if flagged_lines.is_empty() {
                String::new()
            } else {
                format!(" (lines {})", list(&flagged_lines))
            }
        )?;
        for (k, n) in &by_type {
            writeln!(err, "  {k}: {n}")?;
        }
        if !duplicates.is_empty() {
            let d: Vec<usize> = duplicates.iter().map(|x| x.0).collect();
            writeln!(err, "{} duplicates (lines {})", d.len(), list(&d))?;
        }
        if !conflicts.is_empty() {
            let c: Vec<String> = conflicts
                .iter()
                .take(20)
                .map(|(a, b)| format!("{a} vs {b}"))
                .collect();
            writeln!(
                err,
                "{} duplicates with conflicting labels ({})",
                conflicts.len(),
                c.join(", ")
            )?;
        }
    }
    Ok(u8::from(!flagged_lines.is_empty()))
}

fn redact_cmd(a: RedactArgs) -> Result<u8> {
    let (only, _) = detectors(&a.guard.only)?;
    let action = Action::parse(&a.action).with_context(|| {
        format!(
            "unknown action {:?}: choose redact, mask, hash or pseudonymize",
            a.action
        )
    })?;
    let key = std::env::var(&a.key_env).unwrap_or_default();
    if action == Action::Hash && key.is_empty() {
        bail!(
            "--action hash needs a key in ${} (hashes of phone numbers or card numbers are guessable without one)",
            a.key_env
        );
    }
    let g = guards(&a.guard);
    let contexts = Contexts::new(&a.guard)?;
    let input = read_input(&a.guard)?;
    let items = items(&input, a.guard.lines);
    let mut out = std::io::stdout().lock();
    let mut vault = Vault::default();
    for it in items {
        let f = g.check_in_context(&it.text, &only, contexts.for_item(&it).as_deref());
        let text = redact::apply(&it.text, &f, action, key.as_bytes(), &mut vault);
        match it.record {
            Some(mut r) => {
                r.insert("text".into(), Value::String(text));
                writeln!(out, "{}", Value::Object(r))?;
            }
            None if a.guard.lines => writeln!(out, "{text}")?,
            None => write!(out, "{text}")?,
        }
    }
    out.flush()?;
    Ok(0)
}
