//! Markdown cards: a model card with Hugging Face-compatible front matter, a data card and a
//! prompt card. Every statement comes from the files or from the card metadata; what neither
//! states is shown as not documented, with the field that would document it.

use crate::facts::{self, View};
use crate::inventory::{Inventory, Kind};
use rampart_core::render::human_bytes;
use std::fmt::Write;

/// A YAML scalar: JSON string syntax is valid YAML and needs no further escaping rules.
fn y(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Markdown text on one line, with characters that would change the table or markup escaped.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '|' | '<' | '>' | '[' | ']' | '*' | '_' | '`' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn missing(field: &str) -> String {
    format!("_Not documented: set `{field}` in the card metadata._\n")
}

fn bullets(out: &mut String, heading: &str, items: &[String], field: &str) {
    let _ = writeln!(out, "\n## {heading}\n");
    if items.is_empty() {
        out.push_str(&missing(field));
    }
    for i in items {
        let _ = writeln!(out, "- {}", md(i));
    }
}

fn para(out: &mut String, heading: &str, text: Option<&String>, field: &str) {
    let _ = writeln!(out, "\n## {heading}\n");
    match text {
        Some(t) => {
            let _ = writeln!(out, "{}", md(t));
        }
        None => out.push_str(&missing(field)),
    }
}

fn row(out: &mut String, k: &str, v: Option<String>) {
    if let Some(v) = v {
        let _ = writeln!(out, "| {k} | {} |", md(&v));
    }
}

fn governance(out: &mut String, v: &View) {
    let _ = writeln!(out, "\n## Governance\n\n| | |\n|---|---|");
    let none = || Some("_not documented_".to_string());
    let owners = (!v.owners.is_empty()).then(|| v.owners.join(", "));
    let _ = writeln!(
        out,
        "| Owners | {} |",
        owners.map(|o| md(&o)).or_else(none).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "| Retention | {} |",
        v.retention
            .as_deref()
            .map(md)
            .or_else(none)
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "| Review frequency | {} |",
        v.review
            .as_deref()
            .map(md)
            .or_else(none)
            .unwrap_or_default()
    );
}

fn security(out: &mut String, inv: &Inventory, a: usize) {
    let asset = inv.assets.get(a);
    let _ = writeln!(out, "\n## Security evidence\n");
    let _ = writeln!(
        out,
        "- Scan (`rampart scan`): {}",
        facts::scan_summary(inv, a)
    );
    let _ = writeln!(
        out,
        "- Signature: {}",
        asset
            .and_then(|x| x.signature.as_deref())
            .unwrap_or("not checked")
    );
    if let Some(r) = asset.and_then(|x| x.manifest_root.as_deref()) {
        let _ = writeln!(out, "- Model Signing manifest (`rampart hash`): `{r}`");
    }
}

fn files(out: &mut String, inv: &Inventory, a: usize) {
    let _ = writeln!(
        out,
        "\n## Files\n\n| File | Size | SHA-256 |\n|---|---|---|"
    );
    for f in inv.recorded_files_of(a) {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` |",
            md(&f.rel),
            human_bytes(f.size),
            f.sha256.as_deref().unwrap_or("not hashed")
        );
    }
}

fn front_matter(v: &View, front: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut s = String::from("---\n");
    if let Some(l) = &v.license {
        let _ = writeln!(s, "license: {}", y(&l.to_ascii_lowercase()));
    }
    let list = |s: &mut String, k: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(s, "{k}:");
            for i in items {
                let _ = writeln!(s, "- {}", y(i));
            }
        }
    };
    list(&mut s, "base_model", &v.base_models);
    if let Some(r) = &v.base_relation {
        let _ = writeln!(s, "base_model_relation: {}", y(r));
    }
    // Hugging Face expects hub ids here, not local paths.
    let ds: Vec<String> = v
        .datasets
        .iter()
        .filter(|d| d.asset.is_none() && !d.name.starts_with(['.', '/']))
        .map(|d| d.name.clone())
        .collect();
    list(&mut s, "datasets", &ds);
    list(&mut s, "language", &v.languages);
    if let Some(t) = &v.task {
        let _ = writeln!(s, "pipeline_tag: {}", y(t));
    }
    if let Some(l) = &v.library {
        let _ = writeln!(s, "library_name: {}", y(l));
    }
    list(&mut s, "tags", &v.tags);
    // Structured keys pass through as JSON, which is valid YAML and loses nothing.
    for key in [
        "license_name",
        "license_link",
        "model-index",
        "co2_eq_emissions",
    ] {
        if let Some(x) = front.get(key) {
            let _ = writeln!(s, "{key}: {x}");
        }
    }
    if s == "---\n" {
        return String::new();
    }
    s.push_str("---\n");
    s
}

fn header(out: &mut String, v: &View, what: &str) {
    let _ = writeln!(out, "# {}\n", md(&v.name));
    if let Some(d) = &v.description {
        let _ = writeln!(out, "{}\n", md(d));
    }
    let _ = writeln!(
        out,
        "> {what} generated by `rampart card` from the files and their card metadata. Edit the metadata and regenerate; do not edit this file."
    );
}

fn model_card(inv: &Inventory, a: usize, v: &View) -> String {
    let empty = serde_json::Map::new();
    let front = inv.assets.get(a).map_or(&empty, |x| &x.hf.front);
    let mut out = front_matter(v, front);
    header(&mut out, v, "Model card");
    let _ = writeln!(out, "\n## Model details\n\n| | |\n|---|---|");
    row(&mut out, "Version", v.version.clone());
    row(
        &mut out,
        "Architecture",
        match (&v.architecture, &v.family) {
            (Some(a), Some(f)) => Some(format!("{a} ({f})")),
            (a, f) => a.clone().or_else(|| f.clone()),
        },
    );
    row(&mut out, "Task", v.task.clone());
    row(&mut out, "Parameters", v.parameters.map(group));
    row(
        &mut out,
        "Tensor types",
        (!v.dtypes.is_empty()).then(|| {
            v.dtypes
                .iter()
                .map(|(t, n)| format!("{t} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    row(
        &mut out,
        "Formats",
        (!v.formats.is_empty()).then(|| v.formats.join(", ")),
    );
    row(&mut out, "Context length", v.context_length.clone());
    row(&mut out, "Quantisation", v.quantization.clone());
    row(
        &mut out,
        "Base model",
        (!v.base_models.is_empty()).then(|| {
            let b = v.base_models.join(", ");
            match &v.base_relation {
                Some(r) => format!("{b} ({r})"),
                None => b,
            }
        }),
    );
    row(&mut out, "License", v.license.clone());
    row(
        &mut out,
        "Languages",
        (!v.languages.is_empty()).then(|| v.languages.join(", ")),
    );
    row(
        &mut out,
        "Chat template SHA-256",
        v.chat_template_sha256.clone(),
    );
    bullets(&mut out, "Intended use", &v.intended_use, "intended_use");
    bullets(
        &mut out,
        "Out-of-scope use",
        &v.out_of_scope,
        "out_of_scope_use",
    );
    let _ = writeln!(out, "\n## Training data\n");
    match &v.provenance {
        Some(p) => {
            let _ = writeln!(out, "{}", md(p));
        }
        None => out.push_str(&missing("training_data.provenance")),
    }
    if !v.datasets.is_empty() {
        let _ = writeln!(out, "\nDatasets:\n");
    }
    for d in &v.datasets {
        let _ = writeln!(
            out,
            "- {}{}",
            md(&d.name),
            if d.asset.is_some() {
                " (in this inventory)"
            } else {
                ""
            }
        );
    }
    if !v.metrics.is_empty() {
        let _ = writeln!(
            out,
            "\n## Evaluation\n\n| Metric | Value | Data |\n|---|---|---|"
        );
        for m in &v.metrics {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md(&m.kind),
                md(&m.value),
                md(m.slice.as_deref().unwrap_or(""))
            );
        }
    }
    let mut lim = v.limitations.clone();
    lim.extend(v.risks.iter().cloned());
    bullets(&mut out, "Limitations", &lim, "limitations");
    bullets(&mut out, "Guardrails", &v.guardrails, "guardrails");
    bullets(&mut out, "Failure modes", &v.failure_modes, "failure_modes");
    security(&mut out, inv, a);
    governance(&mut out, v);
    files(&mut out, inv, a);
    out
}

fn data_card(inv: &Inventory, a: usize, v: &View) -> String {
    let card = inv.card(a);
    let mut out = String::new();
    header(&mut out, v, "Data card");
    let _ = writeln!(out, "\n## Dataset details\n\n| | |\n|---|---|");
    row(&mut out, "Version", v.version.clone());
    let t = inv.data_totals(a);
    row(&mut out, "Records", t.records.map(group));
    row(
        &mut out,
        "Columns",
        (!t.columns.is_empty()).then(|| t.columns.join(", ")),
    );
    row(
        &mut out,
        "Formats",
        (!t.formats.is_empty()).then(|| t.formats.join(", ")),
    );
    row(&mut out, "Size", Some(human_bytes(t.bytes)));
    row(&mut out, "License", v.license.clone());
    row(
        &mut out,
        "Classification",
        card.map(|c| c.data.classification.clone())
            .filter(|s| !s.is_empty()),
    );
    para(&mut out, "Source", v.provenance.as_ref(), "data.source");
    let collection = card
        .map(|c| c.data.collection.clone())
        .filter(|s| !s.is_empty());
    para(
        &mut out,
        "Collection",
        collection.as_ref(),
        "data.collection",
    );
    let sensitive = card
        .map(|c| c.data.sensitive_data.clone())
        .unwrap_or_default();
    bullets(
        &mut out,
        "Sensitive data",
        &sensitive,
        "data.sensitive_data",
    );
    bullets(&mut out, "Intended use", &v.intended_use, "intended_use");
    bullets(&mut out, "Limitations", &v.limitations, "limitations");
    security(&mut out, inv, a);
    governance(&mut out, v);
    files(&mut out, inv, a);
    out
}

fn prompt_card(inv: &Inventory, a: usize, v: &View) -> String {
    let card = inv.card(a);
    let mut out = String::new();
    header(&mut out, v, "Prompt card");
    let _ = writeln!(out, "\n## Prompt details\n\n| | |\n|---|---|");
    row(&mut out, "Version", v.version.clone());
    let f = inv.recorded_files_of(a).next();
    row(&mut out, "SHA-256", f.and_then(|f| f.sha256.clone()));
    row(&mut out, "Size", f.map(|f| human_bytes(f.size)));
    row(
        &mut out,
        "Template variables",
        f.and_then(|f| f.stats.as_ref())
            .filter(|s| !s.columns.is_empty())
            .map(|s| s.columns.join(", ")),
    );
    row(
        &mut out,
        "Written for",
        card.map(|c| c.prompt.models.join(", "))
            .filter(|s| !s.is_empty()),
    );
    let purpose = card
        .map(|c| c.prompt.purpose.clone())
        .filter(|s| !s.trim().is_empty());
    para(&mut out, "Purpose", purpose.as_ref(), "prompt.purpose");
    bullets(
        &mut out,
        "Guardrails it relies on",
        &v.guardrails,
        "guardrails",
    );
    bullets(&mut out, "Failure modes", &v.failure_modes, "failure_modes");
    security(&mut out, inv, a);
    governance(&mut out, v);
    out
}

/// Digits in groups of three (`1,234,567`).
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The Markdown card of asset `a`.
pub fn card(inv: &Inventory, a: usize) -> String {
    let v = facts::view(inv, a);
    match inv.assets.get(a).map(|x| x.kind) {
        Some(Kind::Model) => model_card(inv, a, &v),
        Some(Kind::Dataset) => data_card(inv, a, &v),
        Some(Kind::Prompt) => prompt_card(inv, a, &v),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(md("a|b\n<script>"), "a\\|b \\<script\\>");
        assert_eq!(y("x: \"y\"\n"), "\"x: \\\"y\\\"\\n\"");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(12), "12");
    }
}
