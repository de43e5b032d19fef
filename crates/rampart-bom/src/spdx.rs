//! SPDX 3.0.1 JSON-LD with the AI and Dataset profiles: one `ai_AIPackage` per model, one
//! `dataset_DatasetPackage` per dataset, one `software_File` per prompt, `trainedOn`,
//! `descendantOf` and `hasDeclaredLicense` relationships.

use crate::Meta;
use crate::cdx::{asset_ref, iri, spdx_id};
use crate::facts::{self, View};
use crate::inventory::{Inventory, Kind};
use serde_json::{Value, json};

fn hashes(inv: &Inventory, a: usize) -> Vec<Value> {
    inv.identifying_digest(a)
        .map(|h| json!({"type": "Hash", "algorithm": "sha256", "hashValue": h}))
        .into_iter()
        .collect()
}

fn dict(entries: impl IntoIterator<Item = (String, String)>) -> Vec<Value> {
    entries
        .into_iter()
        .map(|(k, v)| json!({"type": "DictionaryEntry", "key": k, "value": v}))
        .collect()
}

fn put(obj: &mut Value, key: &str, v: Value) {
    let empty = match &v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    if !empty && let Some(m) = obj.as_object_mut() {
        m.insert(key.to_string(), v);
    }
}

fn evidence(inv: &Inventory, a: usize) -> String {
    let sig = inv
        .assets
        .get(a)
        .and_then(|x| x.signature.clone())
        .unwrap_or_else(|| "not-checked".into());
    format!(
        "rampart scan: {}; signature: {sig}",
        facts::scan_summary(inv, a)
    )
}

fn model(inv: &Inventory, a: usize, v: &View, id: &str) -> Value {
    let mut o = json!({
        "type": "ai_AIPackage",
        "spdxId": id,
        "creationInfo": "_:creationinfo",
        "name": v.name,
        "software_primaryPurpose": "model",
        "comment": evidence(inv, a),
    });
    put(&mut o, "software_packageVersion", json!(v.version));
    put(&mut o, "description", json!(v.description));
    put(&mut o, "verifiedUsing", json!(hashes(inv, a)));
    let mut types: Vec<String> = v.architecture.iter().cloned().collect();
    types.extend(v.family.iter().cloned());
    put(&mut o, "ai_typeOfModel", json!(types));
    put(
        &mut o,
        "ai_domain",
        json!(v.task.iter().collect::<Vec<_>>()),
    );
    let mut hyper: Vec<(String, String)> = v.hyper.clone().into_iter().collect();
    if let Some(p) = v.parameters {
        hyper.insert(0, ("parameters".into(), p.to_string()));
    }
    if let Some(c) = &v.context_length {
        hyper.push(("context_length".into(), c.clone()));
    }
    if let Some(q) = &v.quantization {
        hyper.push(("quantization".into(), q.clone()));
    }
    put(&mut o, "ai_hyperparameter", json!(dict(hyper)));
    put(
        &mut o,
        "ai_metric",
        json!(dict(v.metrics.iter().map(|m| {
            let k = match &m.slice {
                Some(s) => format!("{} on {s}", m.kind),
                None => m.kind.clone(),
            };
            (k, m.value.clone())
        }))),
    );
    let mut limits = v.limitations.clone();
    limits.extend(v.risks.iter().cloned());
    limits.extend(v.failure_modes.iter().map(|f| format!("failure mode: {f}")));
    put(&mut o, "ai_limitation", json!(limits.join("\n")));
    put(&mut o, "ai_informationAboutTraining", json!(v.provenance));
    let mut app = v.intended_use.clone();
    app.extend(v.out_of_scope.iter().map(|x| format!("out of scope: {x}")));
    app.extend(v.guardrails.iter().map(|x| format!("guardrail: {x}")));
    put(
        &mut o,
        "ai_informationAboutApplication",
        json!(app.join("\n")),
    );
    o
}

fn dataset(inv: &Inventory, a: usize, v: &View, id: &str) -> Value {
    let card = inv.card(a);
    let t = inv.data_totals(a);
    let (bytes, records) = (t.bytes, t.records);
    let mut o = json!({
        "type": "dataset_DatasetPackage",
        "spdxId": id,
        "creationInfo": "_:creationinfo",
        "name": v.name,
        "software_primaryPurpose": "data",
        "dataset_datasetType": ["text"],
        "dataset_datasetSize": bytes,
        "comment": format!("{}; records: {}", evidence(inv, a), records.map_or("unknown".into(), |r| r.to_string())),
    });
    put(&mut o, "verifiedUsing", json!(hashes(inv, a)));
    put(
        &mut o,
        "dataset_intendedUse",
        json!(v.intended_use.join("\n")),
    );
    put(&mut o, "description", json!(v.description));
    put(
        &mut o,
        "software_downloadLocation",
        json!(inv.assets.get(a).map(|x| iri(&x.path.to_string_lossy()))),
    );
    if let Some(c) = card {
        put(
            &mut o,
            "dataset_dataCollectionProcess",
            json!(c.data.collection),
        );
        let level = c.data.classification.trim().to_ascii_lowercase();
        // SPDX confidentiality levels are the Traffic Light Protocol colours.
        let tlp = match level.as_str() {
            "red" | "restricted" | "secret" => Some("red"),
            "amber" | "confidential" => Some("amber"),
            "green" | "internal" => Some("green"),
            "clear" | "public" => Some("clear"),
            _ => None,
        };
        put(&mut o, "dataset_confidentialityLevel", json!(tlp));
        let sensitive: Vec<&String> = c
            .data
            .sensitive_data
            .iter()
            .filter(|s| !s.trim().is_empty())
            .collect();
        let pii = match sensitive.as_slice() {
            [] => None,
            [one] if one.trim().eq_ignore_ascii_case("none") => Some("no"),
            _ => Some("yes"),
        };
        put(
            &mut o,
            "dataset_hasSensitivePersonalInformation",
            json!(pii),
        );
        put(&mut o, "dataset_knownBias", json!(v.limitations));
    }
    o
}

fn prompt(inv: &Inventory, a: usize, v: &View, id: &str) -> Value {
    let mut o = json!({
        "type": "software_File",
        "spdxId": id,
        "creationInfo": "_:creationinfo",
        "name": v.name,
        "software_primaryPurpose": "configuration",
        "contentType": "text/plain",
        "comment": format!("prompt template; {}", evidence(inv, a)),
    });
    put(&mut o, "verifiedUsing", json!(hashes(inv, a)));
    put(&mut o, "description", json!(v.description));
    o
}

/// Build the SPDX 3.0.1 document of an inventory.
pub fn build(inv: &Inventory, meta: &Meta) -> Value {
    let ns = format!("https://spdx.org/spdxdocs/rampart-{}", meta.uuid);
    let id = |s: &str| format!("{ns}/{s}");
    let agent = id("rampart");
    let mut graph = vec![
        json!({
            "type": "CreationInfo",
            "@id": "_:creationinfo",
            "created": meta.timestamp,
            "createdBy": [agent],
            "specVersion": "3.0.1",
        }),
        json!({
            "type": "SoftwareAgent",
            "spdxId": agent,
            "creationInfo": "_:creationinfo",
            "name": format!("rampart {}", meta.tool_version),
        }),
    ];
    let mut elements = vec![agent.clone()];
    let mut roots = Vec::new();
    let mut rel = 0usize;
    let mut relate = |graph: &mut Vec<Value>,
                      elements: &mut Vec<String>,
                      from: &str,
                      kind: &str,
                      to: Vec<String>| {
        rel += 1;
        let rid = id(&format!("relationship-{rel}"));
        graph.push(json!({
            "type": "Relationship",
            "spdxId": rid,
            "creationInfo": "_:creationinfo",
            "from": from,
            "relationshipType": kind,
            "to": to,
        }));
        elements.push(rid);
    };
    let mut lic = 0usize;
    for (a, asset) in inv.assets.iter().enumerate() {
        let v = facts::view(inv, a);
        let me = id(&asset_ref(inv, a));
        let el = match asset.kind {
            Kind::Model => model(inv, a, &v, &me),
            Kind::Dataset => dataset(inv, a, &v, &me),
            Kind::Prompt => prompt(inv, a, &v, &me),
        };
        graph.push(el);
        elements.push(me.clone());
        roots.push(me.clone());
        if let Some(l) = &v.license {
            lic += 1;
            let lid = id(&format!("license-{lic}"));
            let expr = spdx_id(l).map_or_else(
                || {
                    format!(
                        "LicenseRef-{}",
                        l.chars()
                            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                            .collect::<String>()
                    )
                },
                str::to_string,
            );
            graph.push(json!({
                "type": "simplelicensing_LicenseExpression",
                "spdxId": lid,
                "creationInfo": "_:creationinfo",
                "simplelicensing_licenseExpression": expr,
            }));
            elements.push(lid.clone());
            relate(
                &mut graph,
                &mut elements,
                &me,
                "hasDeclaredLicense",
                vec![lid],
            );
        }
        if asset.kind != Kind::Model {
            continue;
        }
        let mut trained = Vec::new();
        for (k, d) in v.datasets.iter().enumerate() {
            match d.asset {
                Some(x) => trained.push(id(&asset_ref(inv, x))),
                None => {
                    let did = id(&format!("{}-dataset-{}", asset_ref(inv, a), k + 1));
                    graph.push(json!({
                        "type": "dataset_DatasetPackage",
                        "spdxId": did,
                        "creationInfo": "_:creationinfo",
                        "name": d.name,
                        "software_primaryPurpose": "data",
                        "dataset_datasetType": ["noAssertion"],
                        "comment": "named by the model card; not present locally",
                    }));
                    elements.push(did.clone());
                    trained.push(did);
                }
            }
        }
        if !trained.is_empty() {
            relate(&mut graph, &mut elements, &me, "trainedOn", trained);
        }
        let mut tested = Vec::new();
        for (k, e) in v.eval_datasets.iter().enumerate() {
            if v.datasets.iter().any(|d| &d.name == e) {
                continue;
            }
            let did = id(&format!("{}-eval-{}", asset_ref(inv, a), k + 1));
            graph.push(json!({
                "type": "dataset_DatasetPackage",
                "spdxId": did,
                "creationInfo": "_:creationinfo",
                "name": e,
                "software_primaryPurpose": "data",
                "dataset_datasetType": ["noAssertion"],
                "comment": "evaluation dataset named by the model card's model-index",
            }));
            elements.push(did.clone());
            tested.push(did);
        }
        if !tested.is_empty() {
            relate(&mut graph, &mut elements, &me, "testedOn", tested);
        }
        let mut bases = Vec::new();
        for (k, b) in v.base_models.iter().enumerate() {
            let bid = id(&format!("{}-base-{}", asset_ref(inv, a), k + 1));
            graph.push(json!({
                "type": "ai_AIPackage",
                "spdxId": bid,
                "creationInfo": "_:creationinfo",
                "name": b,
                "software_primaryPurpose": "model",
            }));
            elements.push(bid.clone());
            bases.push(bid);
        }
        if !bases.is_empty() {
            relate(&mut graph, &mut elements, &me, "descendantOf", bases);
        }
    }
    graph.push(json!({
        "type": "SpdxDocument",
        "spdxId": id("document"),
        "creationInfo": "_:creationinfo",
        "name": "Rampart AI bill of materials",
        "profileConformance": ["core", "software", "ai", "dataset", "simpleLicensing"],
        "element": elements,
        "rootElement": roots,
    }));
    json!({
        "@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld",
        "@graph": graph,
    })
}
