//! One merged view of an asset, used by every output (CycloneDX, SPDX, cards). Precedence:
//! the card metadata (a person's statement) over the model card's front matter and sections,
//! over what configuration and weights state.

use crate::card::CardMeta;
use crate::inventory::{Inventory, Kind};
use serde_json::Value;
use std::collections::BTreeMap;

/// A dataset a model names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRef {
    /// As named (path or id).
    pub name: String,
    /// The asset it resolves to in this inventory.
    pub asset: Option<usize>,
}

/// A reported evaluation result.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Metric type (accuracy, f1, …).
    pub kind: String,
    /// Value as written.
    pub value: String,
    /// Dataset/split it was measured on.
    pub slice: Option<String>,
}

/// Everything known about one asset.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Licence as stated (an SPDX id when it is one).
    pub license: Option<String>,
    /// Task (Hugging Face pipeline tag).
    pub task: Option<String>,
    /// Architecture family (`model_type`, GGUF `general.architecture`).
    pub family: Option<String>,
    /// Architecture (`architectures[0]`).
    pub architecture: Option<String>,
    /// Base models.
    pub base_models: Vec<String>,
    /// How it derives from them (finetune, quantized, …).
    pub base_relation: Option<String>,
    /// Datasets it was trained on.
    pub datasets: Vec<DatasetRef>,
    /// Datasets it was evaluated on (model-index), by id or name.
    pub eval_datasets: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// Library (transformers, …).
    pub library: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Parameter count.
    pub parameters: Option<u64>,
    /// Tensor types with counts.
    pub dtypes: BTreeMap<String, u64>,
    /// Weights formats found.
    pub formats: Vec<String>,
    /// Context length.
    pub context_length: Option<String>,
    /// Quantisation.
    pub quantization: Option<String>,
    /// Hyper-parameters from the configuration.
    pub hyper: BTreeMap<String, String>,
    /// Evaluation results.
    pub metrics: Vec<Metric>,
    /// Training emissions in grams of CO2-equivalent.
    pub co2_grams: Option<f64>,
    /// Intended uses.
    pub intended_use: Vec<String>,
    /// Out-of-scope uses.
    pub out_of_scope: Vec<String>,
    /// Intended users.
    pub users: Vec<String>,
    /// Limitations.
    pub limitations: Vec<String>,
    /// Risks stated by the model card.
    pub risks: Vec<String>,
    /// Guardrails relied on.
    pub guardrails: Vec<String>,
    /// Failure modes.
    pub failure_modes: Vec<String>,
    /// Training-data provenance.
    pub provenance: Option<String>,
    /// Learning approach.
    pub approach: Option<String>,
    /// Owners.
    pub owners: Vec<String>,
    /// Retention.
    pub retention: Option<String>,
    /// Review frequency.
    pub review: Option<String>,
    /// SHA-256 of the chat template.
    pub chat_template_sha256: Option<String>,
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(x) if !x.trim().is_empty() => Some(x.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(x)) if !x.trim().is_empty() => vec![x.trim().to_string()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| s(Some(x))).collect(),
        _ => Vec::new(),
    }
}

fn nonempty(x: &str) -> Option<String> {
    let t = x.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn clean(v: &[String]) -> Vec<String> {
    v.iter().filter_map(|x| nonempty(x)).collect()
}

fn or_list(card: Vec<String>, fallback: Option<&String>) -> Vec<String> {
    if card.is_empty() {
        fallback.cloned().into_iter().collect()
    } else {
        card
    }
}

/// The merged view of asset `a`.
pub fn view(inv: &Inventory, a: usize) -> View {
    let Some(asset) = inv.assets.get(a) else {
        return View::default();
    };
    let empty = CardMeta::default();
    let card = match &asset.card {
        Some(Ok(c)) => c,
        _ => &empty,
    };
    let hf = &asset.hf;
    let front = &hf.front;
    let meta = inv.weights_metadata(a);
    let gm = |k: &str| meta.get(k).and_then(|v| nonempty(v));
    let index_name = match front.get("model-index") {
        Some(Value::Array(m)) => m.first().and_then(|x| s(x.get("name"))),
        _ => None,
    };
    let mut v = View {
        name: nonempty(&card.name)
            .or_else(|| s(front.get("model_name")))
            .or(index_name)
            .or_else(|| gm("general.name"))
            .unwrap_or_else(|| asset.name.clone()),
        version: nonempty(&card.version)
            .or_else(|| gm("general.version"))
            .or_else(|| gm("model_version").filter(|x| x != "0")),
        description: nonempty(&card.description)
            .or_else(|| gm("general.description"))
            .or_else(|| gm("doc_string"))
            .or_else(|| hf.sections.get("description").cloned()),
        license: s(front.get("license"))
            .map(|l| match (l.as_str(), s(front.get("license_name"))) {
                ("other", Some(n)) => n,
                _ => l,
            })
            .or_else(|| nonempty(&card.data.license))
            .or_else(|| gm("general.license"))
            .or_else(|| gm("metadata_props.license")),
        task: s(front.get("pipeline_tag")).or_else(|| gm("metadata_props.task")),
        family: s(hf.config.get("model_type")).or_else(|| gm("general.architecture")),
        architecture: strings(hf.config.get("architectures")).into_iter().next(),
        base_models: strings(front.get("base_model")),
        base_relation: s(front.get("base_model_relation")),
        languages: strings(front.get("language")),
        library: s(front.get("library_name")),
        tags: strings(front.get("tags")),
        parameters: inv.parameters(a),
        dtypes: inv.dtypes(a),
        intended_use: or_list(clean(&card.intended_use), hf.sections.get("intended_use")),
        out_of_scope: or_list(
            clean(&card.out_of_scope_use),
            hf.sections.get("out_of_scope"),
        ),
        users: clean(&card.users),
        limitations: or_list(clean(&card.limitations), hf.sections.get("limitations")),
        risks: hf.sections.get("risks").cloned().into_iter().collect(),
        guardrails: clean(&card.guardrails),
        failure_modes: clean(&card.failure_modes),
        provenance: nonempty(&card.training_data.provenance)
            .or_else(|| nonempty(&card.data.source))
            .or_else(|| hf.sections.get("training_data").cloned()),
        approach: nonempty(&card.training_data.approach),
        owners: clean(&card.owners),
        retention: nonempty(&card.retention),
        review: nonempty(&card.review_frequency),
        chat_template_sha256: hf.chat_template_sha256.clone(),
        ..Default::default()
    };
    if v.base_models.is_empty() {
        for i in 0..8 {
            if let Some(b) = gm(&format!("general.base_model.{i}.repo_url"))
                .or_else(|| gm(&format!("general.base_model.{i}.name")))
            {
                v.base_models.push(b);
            }
        }
    }
    if v.family.is_none() {
        v.family = gm("producer_name").map(|p| format!("onnx ({p})"));
    }
    for f in inv.files_of(a) {
        if let Some(m) = &f.model
            && !v.formats.contains(&m.format)
        {
            v.formats.push(m.format.clone());
        } else if f.model.is_none()
            && f.role == crate::inventory::Role::Weights
            && let Some(fmt) = f.verdict.as_ref().and_then(|x| x.formats.last())
            && fmt != "unknown"
            && !v.formats.contains(fmt)
        {
            v.formats.push(fmt.clone());
        }
    }
    v.context_length = s(hf.config.get("max_position_embeddings")).or_else(|| {
        meta.iter()
            .find(|(k, _)| k.ends_with(".context_length"))
            .map(|(_, x)| x.clone())
    });
    v.quantization = hf
        .config
        .get("quantization_config")
        .and_then(|q| s(q.get("quant_method")))
        .or_else(|| gm("general.file_type").map(|t| gguf_file_type(&t)));
    for key in [
        "torch_dtype",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "intermediate_size",
        "vocab_size",
        "rope_theta",
    ] {
        if let Some(x) = s(hf.config.get(key)) {
            v.hyper.insert(key.to_string(), x);
        }
    }
    for (k, x) in &meta {
        let short = k.rsplit('.').next().unwrap_or(k);
        if k.contains('.')
            && !k.starts_with("general.")
            && !k.starts_with("tokenizer.")
            && [
                "embedding_length",
                "block_count",
                "head_count",
                "feed_forward_length",
            ]
            .contains(&short)
        {
            v.hyper
                .entry(short.to_string())
                .or_insert_with(|| x.clone());
        }
    }
    // Evaluation results in the model-index of the front matter.
    if let Some(Value::Array(models)) = front.get("model-index") {
        for m in models.iter().take(16) {
            let Some(Value::Array(results)) = m.get("results") else {
                continue;
            };
            for r in results.iter().take(64) {
                let ds = r.get("dataset");
                if let Some(id) = ds.and_then(|d| s(d.get("type")).or_else(|| s(d.get("name"))))
                    && !v.eval_datasets.contains(&id)
                {
                    v.eval_datasets.push(id);
                }
                let slice = ds.and_then(|d| s(d.get("name")).or_else(|| s(d.get("type"))));
                let slice = match (slice, ds.and_then(|d| s(d.get("split")))) {
                    (Some(n), Some(sp)) => Some(format!("{n} ({sp})")),
                    (n, _) => n,
                };
                if let Some(Value::Array(ms)) = r.get("metrics") {
                    for x in ms.iter().take(64) {
                        if let (Some(kind), Some(value)) = (
                            s(x.get("type")).or_else(|| s(x.get("name"))),
                            s(x.get("value")),
                        ) {
                            v.metrics.push(Metric {
                                kind,
                                value,
                                slice: slice.clone(),
                            });
                        }
                    }
                }
            }
        }
    }
    v.co2_grams = front
        .get("co2_eq_emissions")
        .and_then(|c| c.get("emissions").or(Some(c)))
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite() && *x >= 0.0);
    // Datasets: the card's (paths or ids), then the model card's.
    let mut names: Vec<String> = clean(&card.training_data.datasets);
    for d in strings(front.get("datasets")) {
        if !names.contains(&d) {
            names.push(d);
        }
    }
    let base = asset
        .card_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    for name in names {
        let target = std::fs::canonicalize(base.join(&name)).ok();
        let local = inv.assets.iter().enumerate().position(|(i, d)| {
            i != a
                && d.kind == Kind::Dataset
                && (d.name == name
                    || target.is_some() && std::fs::canonicalize(&d.path).ok() == target)
        });
        v.datasets.push(DatasetRef { name, asset: local });
    }
    v
}

/// llama.cpp's name for a GGUF `general.file_type`.
fn gguf_file_type(t: &str) -> String {
    const NAMES: [&str; 38] = [
        "F32",
        "F16",
        "Q4_0",
        "Q4_1",
        "Q4_1_SOME_F16",
        "Q4_2",
        "Q4_3",
        "Q8_0",
        "Q5_0",
        "Q5_1",
        "Q2_K",
        "Q3_K_S",
        "Q3_K_M",
        "Q3_K_L",
        "Q4_K_S",
        "Q4_K_M",
        "Q5_K_S",
        "Q5_K_M",
        "Q6_K",
        "IQ2_XXS",
        "IQ2_XS",
        "Q2_K_S",
        "IQ3_XS",
        "IQ3_XXS",
        "IQ1_S",
        "IQ4_NL",
        "IQ3_S",
        "IQ3_M",
        "IQ2_S",
        "IQ2_M",
        "IQ4_XS",
        "IQ1_M",
        "BF16",
        "Q4_0_4_4",
        "Q4_0_4_8",
        "Q4_0_8_8",
        "TQ1_0",
        "TQ2_0",
    ];
    match t.parse::<usize>().ok().and_then(|i| NAMES.get(i)) {
        Some(n) => format!("GGUF {n}"),
        None => format!("GGUF file type {t}"),
    }
}

/// Input and output formats for a Hugging Face pipeline tag.
pub fn io_formats(task: &str) -> Option<(&'static str, &'static str)> {
    Some(match task {
        "text-generation"
        | "text2text-generation"
        | "summarization"
        | "translation"
        | "question-answering"
        | "conversational"
        | "fill-mask"
        | "table-question-answering" => ("text", "text"),
        "text-classification" | "token-classification" | "zero-shot-classification" => {
            ("text", "label")
        }
        "feature-extraction" | "sentence-similarity" => ("text", "embedding"),
        "image-classification" | "zero-shot-image-classification" => ("image", "label"),
        "object-detection" | "image-segmentation" => ("image", "bounding-boxes"),
        "image-to-text" | "image-text-to-text" | "visual-question-answering" => ("image", "text"),
        "text-to-image" => ("text", "image"),
        "automatic-speech-recognition" => ("audio", "text"),
        "text-to-speech" | "text-to-audio" => ("text", "audio"),
        "audio-classification" => ("audio", "label"),
        _ => return None,
    })
}

/// A human summary of the scanner's verdict on asset `a`.
pub fn scan_summary(inv: &Inventory, a: usize) -> String {
    match inv.verdict(a) {
        None => "not scanned".into(),
        Some((n, 0, _)) => format!("clean ({n} files scanned)"),
        Some((n, k, w)) => format!(
            "{k} finding(s), worst {} ({n} files scanned): run `rampart scan` for details",
            w.map_or("unknown", |s| s.as_str())
        ),
    }
}

/// The scanner's verdict as one word: `clean`, `findings` or `not-scanned`.
pub fn scan_word(inv: &Inventory, a: usize) -> &'static str {
    match inv.verdict(a) {
        None => "not-scanned",
        Some((_, 0, _)) => "clean",
        Some(_) => "findings",
    }
}
