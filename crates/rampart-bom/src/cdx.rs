//! CycloneDX 1.6 JSON: the subset of the specification an ML-BOM needs, as typed serde
//! structures (the `cyclonedx-bom` crate stops at 1.5), and the builder from an inventory.

use crate::Meta;
use crate::facts::{self, DatasetRef, View};
use crate::inventory::{Inventory, Kind, Role};
use serde::Serialize;

/// A CycloneDX BOM.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// `http://cyclonedx.org/schema/bom-1.6.schema.json`.
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    /// `CycloneDX`.
    pub bom_format: &'static str,
    /// `1.6`.
    pub spec_version: &'static str,
    /// `urn:uuid:…`.
    pub serial_number: String,
    /// 1.
    pub version: u32,
    /// Metadata.
    pub metadata: Metadata,
    /// Components.
    pub components: Vec<Component>,
    /// Dependencies.
    pub dependencies: Vec<Dependency>,
}

/// BOM metadata.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// RFC 3339.
    pub timestamp: String,
    /// Life-cycle phases.
    pub lifecycles: Vec<Lifecycle>,
    /// The tool that wrote it.
    pub tools: Tools,
    /// Rampart facts about the BOM itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// A life-cycle phase.
#[derive(Debug, Clone, Serialize)]
pub struct Lifecycle {
    /// `build`, `post-build`, …
    pub phase: &'static str,
}

/// Tools (1.5+ object form).
#[derive(Debug, Clone, Serialize)]
pub struct Tools {
    /// Tool components.
    pub components: Vec<Component>,
}

/// A component.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// `machine-learning-model`, `data`, `file`, `application`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Reference within the BOM.
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Name.
    pub name: String,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Package URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Tags (the model card's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Hashes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Licences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    /// External references.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    /// Ancestors (base models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pedigree: Option<Pedigree>,
    /// Model card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_card: Option<ModelCard>,
    /// Data descriptions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ComponentData>,
    /// Properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// Sub-components (files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// Where the facts about it were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// Component evidence: the files the facts come from.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Occurrences.
    pub occurrences: Vec<Occurrence>,
}

/// One file that provided facts.
#[derive(Debug, Clone, Serialize)]
pub struct Occurrence {
    /// Path relative to the component's root.
    pub location: String,
}

/// A hash.
#[derive(Debug, Clone, Serialize)]
pub struct Hash {
    /// `SHA-256`.
    pub alg: &'static str,
    /// Lower-case hex.
    pub content: String,
}

/// A licence: an SPDX id or a name.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseChoice {
    /// The licence.
    pub license: License,
}

/// A licence by SPDX id or by name.
#[derive(Debug, Clone, Serialize)]
pub struct License {
    /// SPDX id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Free-form name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An external reference.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalReference {
    /// Type (`distribution`, `model-card`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// URL.
    pub url: String,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Pedigree.
#[derive(Debug, Clone, Serialize)]
pub struct Pedigree {
    /// Components this one derives from.
    pub ancestors: Vec<Component>,
    /// How it derives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A name/value property.
#[derive(Debug, Clone, Serialize)]
pub struct Property {
    /// Namespaced name (`rampart:…`).
    pub name: String,
    /// Value.
    pub value: String,
}

fn prop(name: &str, value: impl ToString) -> Property {
    Property {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// CycloneDX `modelCard`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard {
    /// Reference.
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Parameters.
    pub model_parameters: ModelParameters,
    /// Evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantitative_analysis: Option<QuantitativeAnalysis>,
    /// Considerations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub considerations: Option<Considerations>,
    /// Properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `modelParameters`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelParameters {
    /// Learning approach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approach: Option<Approach>,
    /// Task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture_family: Option<String>,
    /// Architecture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_architecture: Option<String>,
    /// Datasets (references to data components).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<DataRef>,
    /// Input formats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Format>,
    /// Output formats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Format>,
}

/// Learning approach.
#[derive(Debug, Clone, Serialize)]
pub struct Approach {
    /// Enumerated type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A reference to a data component.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataRef {
    /// Its bom-ref.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// An input/output format.
#[derive(Debug, Clone, Serialize)]
pub struct Format {
    /// Format.
    pub format: String,
}

/// `quantitativeAnalysis`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantitativeAnalysis {
    /// Metrics.
    pub performance_metrics: Vec<PerformanceMetric>,
}

/// A metric.
#[derive(Debug, Clone, Serialize)]
pub struct PerformanceMetric {
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Value.
    pub value: String,
    /// Slice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
}

/// `considerations`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Considerations {
    /// Users.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Use cases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub use_cases: Vec<String>,
    /// Limitations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub technical_limitations: Vec<String>,
    /// Risks and their mitigations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ethical_considerations: Vec<Risk>,
    /// Environmental facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environmental_considerations: Option<Environmental>,
}

/// A risk.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    /// Name.
    pub name: String,
    /// Mitigation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mitigation_strategy: Option<String>,
}

/// Environmental considerations (only what is known: emissions without an energy figure
/// cannot fill `energyConsumptions`, which requires one).
#[derive(Debug, Clone, Serialize)]
pub struct Environmental {
    /// Properties.
    pub properties: Vec<Property>,
}

/// `componentData`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentData {
    /// `dataset` or `configuration`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contents: Option<Contents>,
    /// Classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Sensitive data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sensitive_data: Vec<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Governance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub governance: Option<Governance>,
}

/// Data contents.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contents {
    /// Where (a relative reference to the file or folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Facts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// Data governance.
#[derive(Debug, Clone, Serialize)]
pub struct Governance {
    /// Owners.
    pub owners: Vec<Party>,
}

/// A responsible party.
#[derive(Debug, Clone, Serialize)]
pub struct Party {
    /// Contact.
    pub contact: Contact,
}

/// A contact.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    /// Name or address.
    pub name: String,
}

/// A dependency edge.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// From.
    #[serde(rename = "ref")]
    pub reference: String,
    /// To.
    pub depends_on: Vec<String>,
}

const APPROACHES: &[&str] = &[
    "supervised",
    "unsupervised",
    "reinforcement-learning",
    "semi-supervised",
    "self-supervised",
];

/// SPDX identifiers for the licence names Hugging Face uses (lower-case there).
pub fn spdx_id(license: &str) -> Option<&'static str> {
    const IDS: &[&str] = &[
        "Apache-2.0",
        "MIT",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "GPL-2.0-only",
        "GPL-3.0-only",
        "LGPL-2.1-only",
        "LGPL-3.0-only",
        "AGPL-3.0-only",
        "MPL-2.0",
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-NC-ND-4.0",
        "CC-BY-3.0",
        "CC-BY-SA-3.0",
        "OpenRAIL",
        "Unlicense",
        "Artistic-2.0",
        "BSL-1.0",
        "ODbL-1.0",
        "ODC-By-1.0",
        "PDDL-1.0",
        "WTFPL",
        "Zlib",
        "EPL-2.0",
        "ISC",
    ];
    let l = license.trim().to_ascii_lowercase();
    let alias = match l.as_str() {
        "gpl-3.0" | "gpl-3" => "gpl-3.0-only",
        "gpl-2.0" | "gpl-2" => "gpl-2.0-only",
        "lgpl-3.0" => "lgpl-3.0-only",
        "lgpl-2.1" => "lgpl-2.1-only",
        "agpl-3.0" => "agpl-3.0-only",
        "bsd-3-clause" | "bsd-3" => "bsd-3-clause",
        "cc-by-4.0" | "cc-by-sa-4.0" => l.as_str(),
        "bsl-1.0" => "bsl-1.0",
        "openrail" => "openrail",
        x => x,
    };
    IDS.iter()
        .find(|id| id.eq_ignore_ascii_case(alias))
        .copied()
}

fn license_choice(l: &str) -> LicenseChoice {
    LicenseChoice {
        license: match spdx_id(l) {
            Some(id) => License {
                id: Some(id.to_string()),
                name: None,
            },
            None => License {
                id: None,
                name: Some(l.to_string()),
            },
        },
    }
}

fn hf_purl(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches("https://huggingface.co/");
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match id.split_once('/') {
        Some((org, name)) if ok(org) && ok(name) => Some(format!("pkg:huggingface/{org}/{name}")),
        _ => None,
    }
}

/// A relative IRI reference for a path (spaces and other reserved characters escaped).
pub fn iri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The bom-ref of asset `a`.
pub fn asset_ref(inv: &Inventory, a: usize) -> String {
    let kind = inv.assets.get(a).map_or("asset", |x| x.kind.as_str());
    format!("{kind}-{}", a + 1)
}

fn evidence_props(inv: &Inventory, a: usize) -> Vec<Property> {
    let mut p = vec![prop("rampart:scan:verdict", facts::scan_word(inv, a))];
    if let Some((n, k, w)) = inv.verdict(a) {
        p.push(prop("rampart:scan:files", n));
        p.push(prop("rampart:scan:findings", k));
        if let Some(w) = w {
            p.push(prop("rampart:scan:max-severity", w.as_str()));
        }
    }
    if let Some(asset) = inv.assets.get(a) {
        p.push(prop(
            "rampart:signature",
            asset.signature.as_deref().unwrap_or("not-checked"),
        ));
        if let Some(r) = &asset.manifest_root {
            p.push(prop("rampart:oms-manifest-sha256", r));
        }
        let card = match &asset.card {
            None => "missing",
            Some(Err(_)) => "invalid",
            Some(Ok(_)) => "present",
        };
        p.push(prop("rampart:card", card));
    }
    p
}

fn governance_props(v: &View) -> Vec<Property> {
    let mut p = Vec::new();
    for o in &v.owners {
        p.push(prop("rampart:owner", o));
    }
    if let Some(r) = &v.retention {
        p.push(prop("rampart:retention", r));
    }
    if let Some(r) = &v.review {
        p.push(prop("rampart:review-frequency", r));
    }
    for g in &v.guardrails {
        p.push(prop("rampart:guardrail", g));
    }
    p
}

fn file_components(inv: &Inventory, a: usize, prefix: &str) -> Vec<Component> {
    inv.files_of(a)
        .filter(|f| f.role != Role::CardMeta)
        .map(|f| {
            let mut props = vec![
                prop("rampart:role", f.role.as_str()),
                prop("rampart:size", f.size),
            ];
            if let Some(m) = &f.model {
                props.push(prop("rampart:weights-format", &m.format));
                props.push(prop("rampart:tensors", m.tensors));
                if let Some(p) = m.parameters {
                    props.push(prop("rampart:parameters", p));
                }
            }
            if let Some(v) = &f.verdict {
                props.push(prop(
                    "rampart:scan:verdict",
                    if v.findings == 0 { "clean" } else { "findings" },
                ));
                if let Some(w) = v.max_severity {
                    props.push(prop("rampart:scan:max-severity", w.as_str()));
                }
            }
            Component {
                kind: "file",
                bom_ref: Some(format!("{prefix}/{}", f.rel)),
                name: f.rel.clone(),
                hashes: f.sha256.as_deref().map(sha256).into_iter().collect(),
                properties: props,
                ..Default::default()
            }
        })
        .collect()
}

fn sha256(h: &str) -> Hash {
    Hash {
        alg: "SHA-256",
        content: h.to_string(),
    }
}

/// The asset's own hash (see [`Inventory::identifying_digest`]).
fn single_hash(inv: &Inventory, a: usize) -> Vec<Hash> {
    inv.identifying_digest(a).map(sha256).into_iter().collect()
}

fn model_component(inv: &Inventory, a: usize, v: &View, refs: &mut Vec<Component>) -> Component {
    let me = asset_ref(inv, a);
    let mut params = ModelParameters {
        approach: v
            .approach
            .as_ref()
            .filter(|x| APPROACHES.contains(&x.as_str()))
            .map(|x| Approach { kind: x.clone() }),
        task: v.task.clone(),
        architecture_family: v.family.clone(),
        model_architecture: v.architecture.clone(),
        ..Default::default()
    };
    if let Some((i, o)) = v.task.as_deref().and_then(facts::io_formats) {
        params.inputs.push(Format { format: i.into() });
        params.outputs.push(Format { format: o.into() });
    }
    let eval: Vec<DatasetRef> = v
        .eval_datasets
        .iter()
        .filter(|e| !v.datasets.iter().any(|d| &d.name == *e))
        .map(|e| DatasetRef {
            name: e.clone(),
            asset: None,
        })
        .collect();
    let trained = v.datasets.len();
    for (k, d) in v.datasets.iter().chain(&eval).enumerate() {
        let reference = match d.asset {
            Some(x) => asset_ref(inv, x),
            None => {
                let r = format!("{me}-dataset-{}", k + 1);
                let role = if k < trained {
                    "training"
                } else {
                    "evaluation"
                };
                refs.push(Component {
                    kind: "data",
                    bom_ref: Some(r.clone()),
                    name: d.name.clone(),
                    external_references: hf_purl(&d.name)
                        .map(|_| ExternalReference {
                            kind: "distribution",
                            url: format!(
                                "https://huggingface.co/datasets/{}",
                                d.name
                                    .trim_start_matches("https://huggingface.co/datasets/")
                            ),
                            comment: Some("named by the model card; not present locally".into()),
                        })
                        .into_iter()
                        .collect(),
                    data: vec![ComponentData {
                        kind: "dataset",
                        name: Some(d.name.clone()),
                        ..Default::default()
                    }],
                    properties: vec![
                        prop("rampart:evidence", "declared"),
                        prop("rampart:dataset-use", role),
                    ],
                    ..Default::default()
                });
                r
            }
        };
        params.datasets.push(DataRef { reference });
    }
    let mut cons = Considerations {
        users: v.users.clone(),
        use_cases: v.intended_use.clone(),
        technical_limitations: v.limitations.clone(),
        ..Default::default()
    };
    let mitigation = (!v.guardrails.is_empty()).then(|| v.guardrails.join("; "));
    for r in v.failure_modes.iter().chain(&v.risks) {
        cons.ethical_considerations.push(Risk {
            name: r.clone(),
            mitigation_strategy: mitigation.clone(),
        });
    }
    for o in &v.out_of_scope {
        cons.ethical_considerations.push(Risk {
            name: format!("out-of-scope use: {o}"),
            mitigation_strategy: mitigation.clone(),
        });
    }
    if let Some(g) = v.co2_grams {
        cons.environmental_considerations = Some(Environmental {
            properties: vec![prop("rampart:training-co2eq-grams", g)],
        });
    }
    let has_cons = !(cons.users.is_empty()
        && cons.use_cases.is_empty()
        && cons.technical_limitations.is_empty()
        && cons.ethical_considerations.is_empty()
        && cons.environmental_considerations.is_none());
    let mut card_props = Vec::new();
    if let Some(p) = v.parameters {
        card_props.push(prop("rampart:parameters", p));
    }
    for (t, n) in &v.dtypes {
        card_props.push(prop("rampart:tensor-type", format!("{t} ×{n}")));
    }
    if let Some(c) = &v.context_length {
        card_props.push(prop("rampart:context-length", c));
    }
    if let Some(q) = &v.quantization {
        card_props.push(prop("rampart:quantization", q));
    }
    for (k, x) in &v.hyper {
        card_props.push(prop(&format!("rampart:hyperparameter:{k}"), x));
    }
    if let Some(h) = &v.chat_template_sha256 {
        card_props.push(prop("rampart:chat-template-sha256", h));
    }
    for l in &v.languages {
        card_props.push(prop("rampart:language", l));
    }
    if let Some(p) = &v.provenance {
        card_props.push(prop("rampart:training-data-provenance", p));
    }
    let ancestors: Vec<Component> = v
        .base_models
        .iter()
        .enumerate()
        .map(|(k, b)| Component {
            kind: "machine-learning-model",
            bom_ref: Some(format!("{me}-base-{}", k + 1)),
            name: b.trim_start_matches("https://huggingface.co/").to_string(),
            purl: hf_purl(b),
            ..Default::default()
        })
        .collect();
    let mut props = evidence_props(inv, a);
    props.extend(governance_props(v));
    for f in &v.formats {
        props.push(prop("rampart:format", f));
    }
    if let Some(l) = &v.library {
        props.push(prop("rampart:library", l));
    }
    Component {
        kind: "machine-learning-model",
        bom_ref: Some(me.clone()),
        name: v.name.clone(),
        version: v.version.clone(),
        description: v.description.clone(),
        hashes: single_hash(inv, a),
        tags: v.tags.clone(),
        licenses: v.license.iter().map(|l| license_choice(l)).collect(),
        pedigree: (!ancestors.is_empty()).then(|| Pedigree {
            ancestors,
            notes: v.base_relation.clone(),
        }),
        model_card: Some(ModelCard {
            bom_ref: Some(format!("{me}-card")),
            model_parameters: params,
            quantitative_analysis: (!v.metrics.is_empty()).then(|| QuantitativeAnalysis {
                performance_metrics: v
                    .metrics
                    .iter()
                    .map(|m| PerformanceMetric {
                        kind: m.kind.clone(),
                        value: m.value.clone(),
                        slice: m.slice.clone(),
                    })
                    .collect(),
            }),
            considerations: has_cons.then_some(cons),
            properties: card_props,
        }),
        properties: props,
        components: file_components(inv, a, &me),
        evidence: occurrences(inv, a),
        ..Default::default()
    }
}

/// The files whose contents the model's facts were read from.
fn occurrences(inv: &Inventory, a: usize) -> Option<Evidence> {
    let occurrences: Vec<Occurrence> = inv
        .files_of(a)
        .filter(|f| {
            f.model.is_some()
                || matches!(
                    f.rel.as_str(),
                    "README.md"
                        | "config.json"
                        | "generation_config.json"
                        | "tokenizer_config.json"
                )
                || f.role == Role::CardMeta
        })
        .map(|f| Occurrence {
            location: f.rel.clone(),
        })
        .collect();
    (!occurrences.is_empty()).then_some(Evidence { occurrences })
}

fn data_component(inv: &Inventory, a: usize, v: &View) -> Component {
    let me = asset_ref(inv, a);
    let asset = inv.assets.get(a);
    let card = inv.card(a);
    let t = inv.data_totals(a);
    let mut facts: Vec<Property> = t
        .records
        .map(|r| prop("rampart:records", r))
        .into_iter()
        .collect();
    facts.extend(t.notes.iter().map(|n| prop("rampart:note", n)));
    facts.push(prop("rampart:bytes", t.bytes));
    facts.extend(t.formats.iter().map(|f| prop("rampart:format", f)));
    facts.extend(t.columns.iter().map(|c| prop("rampart:column", c)));
    let url = asset.map(|x| iri(&x.path.to_string_lossy()));
    let mut props = evidence_props(inv, a);
    props.extend(governance_props(v));
    Component {
        kind: "data",
        bom_ref: Some(me.clone()),
        name: v.name.clone(),
        version: v.version.clone(),
        description: v.description.clone(),
        hashes: single_hash(inv, a),
        licenses: v.license.iter().map(|l| license_choice(l)).collect(),
        data: vec![ComponentData {
            kind: "dataset",
            name: Some(v.name.clone()),
            contents: Some(Contents {
                url,
                properties: facts,
            }),
            classification: card.and_then(|c| {
                let t = c.data.classification.trim();
                (!t.is_empty()).then(|| t.to_string())
            }),
            sensitive_data: card
                .map(|c| c.data.sensitive_data.clone())
                .unwrap_or_default(),
            description: v.provenance.as_ref().map(|p| format!("Source: {p}")),
            governance: (!v.owners.is_empty()).then(|| Governance {
                owners: v
                    .owners
                    .iter()
                    .map(|o| Party {
                        contact: Contact { name: o.clone() },
                    })
                    .collect(),
            }),
        }],
        properties: props,
        components: if inv.recorded_files_of(a).count() > 1 {
            file_components(inv, a, &me)
        } else {
            Vec::new()
        },
        ..Default::default()
    }
}

fn prompt_component(inv: &Inventory, a: usize, v: &View) -> Component {
    let me = asset_ref(inv, a);
    let asset = inv.assets.get(a);
    let card = inv.card(a);
    let mut facts = Vec::new();
    for f in inv.recorded_files_of(a) {
        facts.push(prop("rampart:bytes", f.size));
        if let Some(vars) = &f.stats {
            for c in &vars.columns {
                facts.push(prop("rampart:template-variable", c));
            }
        }
    }
    let mut props = evidence_props(inv, a);
    props.extend(governance_props(v));
    props.insert(0, prop("rampart:asset", "prompt"));
    if let Some(c) = card {
        for m in &c.prompt.models {
            props.push(prop("rampart:prompt-model", m));
        }
    }
    Component {
        kind: "data",
        bom_ref: Some(me),
        name: v.name.clone(),
        version: v.version.clone(),
        description: v.description.clone(),
        hashes: single_hash(inv, a),
        data: vec![ComponentData {
            kind: "configuration",
            name: Some(v.name.clone()),
            contents: Some(Contents {
                url: asset.map(|x| iri(&x.path.to_string_lossy())),
                properties: facts,
            }),
            description: card.and_then(|c| {
                let t = c.prompt.purpose.trim();
                (!t.is_empty()).then(|| t.to_string())
            }),
            ..Default::default()
        }],
        properties: props,
        ..Default::default()
    }
}

/// Build the CycloneDX 1.6 ML-BOM of an inventory.
pub fn build(inv: &Inventory, meta: &Meta) -> Bom {
    let mut components = Vec::new();
    let mut declared = Vec::new();
    let mut deps = Vec::new();
    for (a, asset) in inv.assets.iter().enumerate() {
        let v = facts::view(inv, a);
        let c = match asset.kind {
            Kind::Model => {
                let before = declared.len();
                let c = model_component(inv, a, &v, &mut declared);
                let mut on: Vec<String> = v
                    .datasets
                    .iter()
                    .filter_map(|d| d.asset.map(|x| asset_ref(inv, x)))
                    .collect();
                on.extend(
                    declared
                        .get(before..)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|d| d.bom_ref.clone()),
                );
                deps.push(Dependency {
                    reference: asset_ref(inv, a),
                    depends_on: on,
                });
                c
            }
            Kind::Dataset => data_component(inv, a, &v),
            Kind::Prompt => prompt_component(inv, a, &v),
        };
        components.push(c);
    }
    for d in &declared {
        if let Some(r) = &d.bom_ref {
            deps.push(Dependency {
                reference: r.clone(),
                depends_on: Vec::new(),
            });
        }
    }
    for (a, asset) in inv.assets.iter().enumerate() {
        if asset.kind != Kind::Model {
            deps.push(Dependency {
                reference: asset_ref(inv, a),
                depends_on: Vec::new(),
            });
        }
    }
    components.extend(declared);
    Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", meta.uuid),
        version: 1,
        metadata: Metadata {
            timestamp: meta.timestamp.clone(),
            lifecycles: vec![Lifecycle { phase: "build" }],
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "rampart".into(),
                    version: Some(meta.tool_version.clone()),
                    ..Default::default()
                }],
            },
            properties: vec![prop("rampart:inputs-sha256", &meta.content_digest)],
        },
        components,
        dependencies: deps,
    }
}
