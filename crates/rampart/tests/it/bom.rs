//! `rampart bom` and `rampart card`: schema validity of every document produced, the facts
//! each source yields, evidence (hashes, scan, signature), the card check's every failure and
//! snapshots of the rendered cards.

use crate::util::{fixture, rampart, root};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const EPOCH: &str = "1767225600"; // 2026-01-01T00:00:00Z

fn shared(rel: &str) -> PathBuf {
    let p = root().join("../shared").join(rel);
    assert!(
        p.exists(),
        "{} is missing: the tests read ../shared next to the repository",
        p.display()
    );
    p
}

fn load(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json")
}

fn cdx_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let dir = shared("specs/cyclonedx");
        let mut opts = jsonschema::options().should_validate_formats(true);
        for sub in ["spdx.schema.json", "jsf-0.82.schema.json"] {
            opts = opts.with_resource(
                format!("http://cyclonedx.org/schema/{sub}"),
                jsonschema::Resource::from_contents(load(&dir.join(sub))),
            );
        }
        opts.build(&load(&dir.join("bom-1.6.schema.json")))
            .expect("CycloneDX 1.6 schema compiles")
    })
}

fn spdx_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&load(&shared("specs/spdx/spdx-3.0.1-json-schema.json")))
            .expect("SPDX 3.0.1 schema compiles")
    })
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_cdx(doc: &Value) {
    let e = errors(cdx_validator(), doc);
    assert!(e.is_empty(), "not valid CycloneDX 1.6: {e:#?}");
}

fn assert_spdx(doc: &Value) {
    let e = errors(spdx_validator(), doc);
    assert!(e.is_empty(), "not valid SPDX 3.0.1: {e:#?}");
}

/// Run rampart with a fixed creation time; `(exit code, stdout, stderr)`.
fn run(args: &[&str], paths: &[&Path]) -> (i32, String, String) {
    let out = rampart()
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(args)
        .args(paths)
        .output()
        .expect("run rampart");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bom(args: &[&str], paths: &[&Path]) -> Value {
    let mut a = vec!["bom"];
    a.extend_from_slice(args);
    let (code, out, err) = run(&a, paths);
    assert_eq!(code, 0, "rampart bom failed: {err}");
    let doc: Value = serde_json::from_str(&out).expect("bom is JSON");
    if args.contains(&"spdx") {
        assert_spdx(&doc);
    } else {
        assert_cdx(&doc);
    }
    doc
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn props<'a>(v: &'a Value, name: &str) -> Vec<&'a str> {
    v["properties"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["name"] == name)
                .filter_map(|p| p["value"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn prop<'a>(v: &'a Value, name: &str) -> &'a str {
    props(v, name)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no property {name} in {v:#}"))
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).expect("read")))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

#[test]
fn the_validators_reject_invalid_documents() {
    // The schema checks below can fail: the shared invalid examples are rejected.
    let ok = load(&shared("specs/examples/mlbom-1.6.json"));
    let bad = load(&shared("specs/examples/mlbom-1.6.invalid-approach.json"));
    assert!(errors(cdx_validator(), &ok).is_empty());
    assert!(!errors(cdx_validator(), &bad).is_empty());
    let ok = load(&shared("specs/examples/ai-bom.spdx3.json"));
    let bad = load(&shared(
        "specs/examples/ai-bom.spdx3.invalid-confidentiality.json",
    ));
    assert!(errors(spdx_validator(), &ok).is_empty());
    assert!(!errors(spdx_validator(), &bad).is_empty());
}

#[test]
fn hugging_face_folder_fills_the_model_card() {
    let m = fixture("bom/tiny-llm");
    let doc = bom(&[], &[&m]);
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["metadata"]["timestamp"], "2026-01-01T00:00:00Z");
    let c = component(&doc, "tiny-support-llm");
    assert_eq!(c["type"], "machine-learning-model");
    assert_eq!(c["licenses"][0]["license"]["id"], "Apache-2.0");
    assert_eq!(
        c["description"],
        "A tiny decoder fine-tuned to answer product support questions."
    );
    let mp = &c["modelCard"]["modelParameters"];
    assert_eq!(mp["task"], "text-generation");
    assert_eq!(mp["architectureFamily"], "llama");
    assert_eq!(mp["modelArchitecture"], "LlamaForCausalLM");
    assert_eq!(mp["inputs"][0]["format"], "text");
    let card = &c["modelCard"];
    // 64×16 embedding + 2 × 16×16 attention + 64×16 head, over two shards.
    assert_eq!(prop(card, "rampart:parameters"), "2560");
    assert_eq!(prop(card, "rampart:tensor-type"), "F32 ×4");
    assert_eq!(prop(card, "rampart:context-length"), "2048");
    assert_eq!(prop(card, "rampart:hyperparameter:num_hidden_layers"), "2");
    assert_eq!(props(card, "rampart:language"), ["en", "fr"]);
    assert_eq!(prop(card, "rampart:chat-template-sha256").len(), 64);
    let metrics = card["quantitativeAnalysis"]["performanceMetrics"]
        .as_array()
        .unwrap();
    assert_eq!(metrics[0]["type"], "accuracy");
    assert_eq!(metrics[0]["value"], "0.81");
    assert_eq!(metrics[0]["slice"], "Support FAQ eval (test)");
    let cons = &card["considerations"];
    assert!(
        cons["useCases"][0]
            .as_str()
            .unwrap()
            .starts_with("Answering customer questions")
    );
    assert!(
        cons["technicalLimitations"][0]
            .as_str()
            .unwrap()
            .contains("invent product names")
    );
    assert!(
        cons["ethicalConsiderations"][0]["name"]
            .as_str()
            .unwrap()
            .contains("medical")
    );
    assert_eq!(
        prop(
            &cons["environmentalConsiderations"],
            "rampart:training-co2eq-grams"
        ),
        "120"
    );
    assert!(prop(card, "rampart:training-data-provenance").contains("no customer data"));
    // Base model in the pedigree, dataset as a component the model depends on.
    let anc = &c["pedigree"]["ancestors"][0];
    assert_eq!(anc["purl"], "pkg:huggingface/example-org/base-llm-1b");
    assert_eq!(c["pedigree"]["notes"], "finetune");
    assert_eq!(
        c["tags"],
        serde_json::json!(["support", "chat", "rampart-fixture"])
    );
    let ds_ref = mp["datasets"][0]["ref"].as_str().unwrap();
    let ds = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["bom-ref"] == ds_ref)
        .expect("dataset component");
    assert_eq!(ds["name"], "example-org/support-faq");
    assert_eq!(ds["type"], "data");
    let dep = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == c["bom-ref"])
        .unwrap();
    assert_eq!(dep["dependsOn"][0], ds_ref);
    // The evaluation dataset of the model-index is named too, as such.
    let eval_ref = mp["datasets"][1]["ref"].as_str().unwrap();
    let eval = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["bom-ref"] == eval_ref)
        .unwrap();
    assert_eq!(eval["name"], "example-org/support-faq-eval");
    assert_eq!(prop(eval, "rampart:dataset-use"), "evaluation");
    assert_eq!(prop(ds, "rampart:dataset-use"), "training");
    // Where the facts were read.
    let occ: Vec<&str> = c["evidence"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["location"].as_str().unwrap())
        .collect();
    for f in [
        "README.md",
        "config.json",
        "model-00001-of-00002.safetensors",
    ] {
        assert!(occ.contains(&f), "{f} in {occ:?}");
    }
    // Every file with its SHA-256; the folder's manifest root equals `rampart hash`.
    let files = c["components"].as_array().unwrap();
    assert_eq!(files.len(), 9, "all files but the split-out prompt");
    for f in files {
        let rel = f["name"].as_str().unwrap();
        assert_eq!(
            f["hashes"][0]["content"],
            sha256_file(&m.join(rel)),
            "{rel}"
        );
    }
    let out = rampart().arg("hash").arg(&m).output().unwrap();
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        prop(c, "rampart:oms-manifest-sha256"),
        h["subject"][0]["digest"]["sha256"]
    );
    assert_eq!(prop(c, "rampart:scan:verdict"), "clean");
    assert_eq!(prop(c, "rampart:signature"), "unsigned");
    assert_eq!(prop(c, "rampart:card"), "missing");
    // The prompt inside the folder is an asset of its own, hashed and with its variables.
    let p = component(&doc, "system.prompt.md");
    assert_eq!(prop(p, "rampart:asset"), "prompt");
    assert_eq!(
        p["hashes"][0]["content"],
        sha256_file(&m.join("prompts/system.prompt.md"))
    );
    assert_eq!(
        props(&p["data"][0]["contents"], "rampart:template-variable"),
        ["product", "doc", "documents"]
    );
    // The same inputs at the same SOURCE_DATE_EPOCH give the same document.
    assert_eq!(bom(&[], &[&m]), doc);
}

#[test]
fn gguf_onnx_datasets_and_prompts() {
    let (g, o) = (fixture("bom/tiny.gguf"), fixture("bom/tiny.onnx"));
    let ds = fixture("bom/datasets");
    let (jl, csv, pq) = (
        ds.join("faq.jsonl"),
        ds.join("faq.csv"),
        ds.join("faq.parquet"),
    );
    let prompt = fixture("bom/prompts/support-system.prompt.txt");
    let doc = bom(&[], &[&g, &o, &ds, &jl, &csv, &pq, &prompt]);

    let c = component(&doc, "tiny-gguf-chat");
    assert_eq!(c["version"], "1.2");
    assert_eq!(c["licenses"][0]["license"]["id"], "MIT");
    assert_eq!(c["hashes"][0]["content"], sha256_file(&g));
    assert_eq!(
        c["modelCard"]["modelParameters"]["architectureFamily"],
        "llama"
    );
    assert_eq!(prop(&c["modelCard"], "rampart:context-length"), "4096");
    assert_eq!(prop(&c["modelCard"], "rampart:quantization"), "GGUF Q8_0");
    assert_eq!(prop(&c["modelCard"], "rampart:parameters"), "2048");
    assert_eq!(
        c["pedigree"]["ancestors"][0]["purl"],
        "pkg:huggingface/example-org/tiny-base"
    );

    let c = component(&doc, "tiny.onnx");
    assert_eq!(c["version"], "3");
    assert_eq!(c["description"], "Tiny ticket classifier");
    assert_eq!(
        c["modelCard"]["modelParameters"]["task"],
        "text-classification"
    );
    assert_eq!(prop(&c["modelCard"], "rampart:parameters"), "12");

    let d = component(&doc, "datasets");
    let contents = &d["data"][0]["contents"];
    assert_eq!(prop(contents, "rampart:records"), "15");
    let cols = props(contents, "rampart:column");
    for want in [
        "id",
        "question",
        "answer",
        "lang",
        "meta.lang",
        "meta.votes",
    ] {
        assert!(cols.contains(&want), "{want} in {cols:?}");
    }
    // Each format counted on its own; the CSV has a quoted field spanning two lines.
    for name in ["faq.jsonl", "faq.csv", "faq.parquet"] {
        let c = component(&doc, name);
        assert_eq!(c["type"], "data");
        assert_eq!(
            prop(&c["data"][0]["contents"], "rampart:records"),
            "5",
            "{name}"
        );
        assert_eq!(c["hashes"][0]["content"], sha256_file(&ds.join(name)));
    }
    let p = component(&doc, "support-system.prompt.txt");
    assert_eq!(
        props(&p["data"][0]["contents"], "rampart:template-variable"),
        ["customer_name", "plan"]
    );
    assert_eq!(p["data"][0]["type"], "configuration");

    // The same inventory as SPDX 3.0.1 (AI and Dataset profiles).
    let s = bom(
        &["--format", "spdx"],
        &[&fixture("bom/tiny-llm"), &g, &ds, &prompt],
    );
    let graph = s["@graph"].as_array().unwrap();
    let by_type = |t: &'static str| graph.iter().filter(move |e| e["type"] == t);
    let model = by_type("ai_AIPackage")
        .find(|e| e["name"] == "tiny-support-llm")
        .expect("AI package");
    assert!(
        model["ai_limitation"]
            .as_str()
            .unwrap()
            .contains("invent product names")
    );
    let hp = model["ai_hyperparameter"].as_array().unwrap();
    assert!(
        hp.iter()
            .any(|e| e["key"] == "parameters" && e["value"] == "2560")
    );
    let trained = by_type("Relationship")
        .find(|r| r["relationshipType"] == "trainedOn" && r["from"] == model["spdxId"])
        .expect("trainedOn");
    assert_eq!(trained["to"].as_array().unwrap().len(), 1);
    assert!(by_type("Relationship").any(|r| r["relationshipType"] == "descendantOf"));
    assert!(by_type("Relationship").any(|r| r["relationshipType"] == "testedOn"));
    assert!(by_type("Relationship").any(|r| r["relationshipType"] == "hasDeclaredLicense"));
    let data = by_type("dataset_DatasetPackage")
        .find(|e| e["name"] == "datasets")
        .expect("dataset package");
    let size: u64 = ["faq.jsonl", "faq.csv", "faq.parquet"]
        .iter()
        .map(|n| std::fs::metadata(ds.join(n)).unwrap().len())
        .sum();
    assert_eq!(data["dataset_datasetSize"], size);
    assert!(by_type("software_File").any(|e| e["name"] == "support-system.prompt.txt"));
}

#[test]
fn scan_and_signature_evidence() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("model");
    copy_dir(&fixture("bom/tiny-llm"), &m);
    let (private, public) = crate::util::keygen(d.path(), "k");
    rampart()
        .args(["sign", "key"])
        .arg(&m)
        .arg("--private-key")
        .arg(&private)
        .assert()
        .success();
    let status = |args: &[&str]| {
        let doc = bom(args, &[&m]);
        prop(component(&doc, "tiny-support-llm"), "rampart:signature").to_string()
    };
    let key = public.to_str().unwrap();
    assert_eq!(status(&["--public-key", key]), "verified");
    assert_eq!(status(&[]), "unverified");
    // Another key: the signature does not verify.
    let (_, other_pub) = crate::util::keygen(d.path(), "o");
    assert_eq!(
        status(&["--public-key", other_pub.to_str().unwrap()]),
        "invalid"
    );
    // A changed file: the BOM says so and names it on stderr.
    std::fs::write(m.join("config.json"), "{}").unwrap();
    let (code, _, err) = run(&["bom", "--public-key", key], &[&m]);
    assert_eq!(code, 0);
    assert!(err.contains("config.json"), "{err}");
    assert_eq!(status(&["--public-key", key]), "mismatch");
    // A malicious pickle in the folder shows in the scan verdict.
    std::fs::copy(
        fixture("malicious/os_system_p4.pkl"),
        m.join("pytorch_model.bin"),
    )
    .unwrap();
    let doc = bom(&[], &[&m]);
    let c = component(&doc, "tiny-support-llm");
    assert_eq!(prop(c, "rampart:scan:verdict"), "findings");
    assert_eq!(prop(c, "rampart:scan:max-severity"), "critical");
    let file = c["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "pytorch_model.bin")
        .unwrap();
    assert_eq!(prop(file, "rampart:scan:verdict"), "findings");
}

#[test]
fn hostile_inputs_are_reported_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("model");
    copy_dir(&fixture("bom/tiny-llm"), &m);
    // A YAML alias bomb in the front matter, broken JSON, a broken Parquet footer, a card
    // that does not parse.
    std::fs::write(
        m.join("README.md"),
        "---\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n---\n# x\n",
    )
    .unwrap();
    std::fs::write(m.join("config.json"), "{\"architectures\": [").unwrap();
    std::fs::write(m.join("train.parquet"), b"PAR1garbage\xff\xff\xff\x7fPAR1").unwrap();
    std::fs::write(m.join("rampart-card.toml"), "owners = 3\n").unwrap();
    let (code, out, err) = run(&["bom"], &[&m]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("aliases are not accepted"), "{err}");
    assert!(err.contains("config.json is not valid JSON"), "{err}");
    assert!(err.contains("card metadata ignored"), "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_cdx(&doc);
    let c = component(&doc, "model");
    assert_eq!(prop(c, "rampart:card"), "invalid");
    let pq = component(&doc, "train.parquet");
    assert!(prop(&pq["data"][0]["contents"], "rampart:note").contains("footer"));
    // Symlinks are refused (as by `rampart hash`) unless allowed.
    std::os::unix::fs::symlink("/etc/hostname", m.join("link")).unwrap();
    let (code, _, err) = run(&["bom"], &[&m]);
    assert_eq!(code, 2);
    assert!(
        err.contains("symbolic link") || err.contains("symlink"),
        "{err}"
    );
    assert_eq!(run(&["bom", "--allow-symlinks"], &[&m]).0, 0);
    // Missing input.
    let (code, _, err) = run(&["bom"], &[&d.path().join("nope")]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot open"), "{err}");
}

fn fill(card: &Path, fields: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(card).unwrap();
    for (k, v) in fields {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{k} = ")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_string();
        text = text.replacen(&line, &format!("{k} = {v}"), 1);
    }
    std::fs::write(card, text).unwrap();
}

fn check(paths: &[&Path]) -> (i32, Value) {
    let (code, out, err) = run(&["card", "--check", "--format", "json"], paths);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")),
    )
}

fn kinds(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["kind"].as_str().unwrap(),
                p["subject"].as_str().unwrap()
            )
        })
        .collect()
}

const MODEL_FIELDS: &[(&str, &str)] = &[
    ("owners", "[\"ml-platform@example.com\"]"),
    ("retention", "\"24 months after retirement\""),
    ("review_frequency", "\"quarterly\""),
    (
        "guardrails",
        "[\"rampart serve: prompt-injection guard (block)\", \"PII redaction on outputs\"]",
    ),
    (
        "failure_modes",
        "[\"confident wrong answers about prices\"]",
    ),
    (
        "provenance",
        "\"Support FAQ pairs written by Example staff in 2024; no customer data.\"",
    ),
    ("approach", "\"supervised\""),
];

#[test]
fn card_check_fails_on_every_missing_or_stale_case() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("model");
    copy_dir(&fixture("bom/tiny-llm"), &m);
    let card = m.join("rampart-card.toml");
    let prompt_card = m.join("prompts/system.prompt.md.card.toml");

    let (code, v) = check(&[&m]);
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    let k = kinds(&v);
    assert!(
        k.iter().filter(|x| x.starts_with("missing-card:")).count() == 2,
        "{k:?}"
    );

    let (code, _, err) = run(&["card", "init"], &[&m]);
    assert_eq!(code, 0, "{err}");
    assert!(card.is_file() && prompt_card.is_file());
    // Prefilled from the model card; the security fields still empty.
    let meta = std::fs::read_to_string(&card).unwrap();
    assert!(meta.contains("name = \"tiny-support-llm\""), "{meta}");
    assert!(meta.contains("example-org/support-faq"), "{meta}");
    let (code, v) = check(&[&m]);
    assert_eq!(code, 1);
    let k = kinds(&v);
    for f in [
        "owners",
        "retention",
        "review_frequency",
        "guardrails",
        "failure_modes",
        "training_data.provenance",
        "prompt.purpose",
        "version",
    ] {
        assert!(k.contains(&format!("missing-field:{f}")), "{f} in {k:?}");
    }
    // Placeholders are not answers.
    fill(&card, &[("retention", "\"TODO\"")]);
    assert!(kinds(&check(&[&m]).1).contains(&"missing-field:retention".to_string()));

    fill(&card, MODEL_FIELDS);
    fill(
        &prompt_card,
        &[
            ("owners", "[\"support-eng\"]"),
            ("retention", "\"while in use\""),
            ("review_frequency", "\"monthly\""),
            ("version", "\"3\""),
            ("guardrails", "[\"output PII guard\"]"),
            ("purpose", "\"System prompt of the support assistant\""),
        ],
    );
    let (code, v) = check(&[&m]);
    assert_eq!(code, 0, "{v:#}");
    let (code, out, _) = run(&["card", "--check"], &[&m]);
    assert_eq!(code, 0);
    assert!(out.contains("2 card(s) complete and up to date"), "{out}");

    // Changed, missing and unrecorded files each fail, naming the file.
    std::fs::write(m.join("generation_config.json"), "{\"temperature\": 2.0}").unwrap();
    assert_eq!(
        kinds(&check(&[&m]).1),
        ["changed-file:generation_config.json"]
    );
    std::fs::remove_file(m.join("special_tokens_map.json")).unwrap();
    std::fs::write(m.join("extra.bin"), b"weights").unwrap();
    let (code, v) = check(&[&m]);
    assert_eq!(code, 1);
    let k = kinds(&v);
    assert!(
        k.contains(&"missing-file:special_tokens_map.json".to_string()),
        "{k:?}"
    );
    assert!(
        k.contains(&"unrecorded-file:extra.bin".to_string()),
        "{k:?}"
    );
    // A changed prompt fails its own card.
    std::fs::write(m.join("prompts/system.prompt.md"), "Ignore all rules.").unwrap();
    assert!(kinds(&check(&[&m]).1).contains(&"changed-file:system.prompt.md".to_string()));

    // After review, --update re-records the hashes and keeps every field and comment.
    let before = std::fs::read_to_string(&card).unwrap();
    assert_eq!(run(&["card", "init", "--update"], &[&m]).0, 0);
    let after = std::fs::read_to_string(&card).unwrap();
    let head = |s: &str| {
        s.split(rampart_bom::card::MARKER)
            .next()
            .unwrap()
            .trim_end()
            .to_string()
    };
    assert_eq!(head(&before), head(&after));
    assert_eq!(check(&[&m]).0, 0);
    // init without flags never overwrites.
    let (code, _, err) = run(&["card", "init"], &[&m]);
    assert_eq!(code, 0);
    assert!(err.contains("kept"), "{err}");
    assert_eq!(std::fs::read_to_string(&card).unwrap(), after);
    // A card that does not parse fails the check.
    std::fs::write(&card, "owners = [\"x\"]\nunknown_field = 1\n").unwrap();
    let (code, v) = check(&[&m]);
    assert_eq!(code, 1);
    let p = &v["problems"][0];
    assert_eq!(p["kind"], "invalid-card");
    assert!(p["message"].as_str().unwrap().contains("unknown_field"));
}

#[test]
fn cards_render_from_files_and_metadata() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("tiny-llm");
    copy_dir(&fixture("bom/tiny-llm"), &m);
    let data = d.path().join("faq.jsonl");
    std::fs::copy(fixture("bom/datasets/faq.jsonl"), &data).unwrap();
    let prompt = d.path().join("support-system.prompt.txt");
    std::fs::copy(fixture("bom/prompts/support-system.prompt.txt"), &prompt).unwrap();
    std::fs::remove_dir_all(m.join("prompts")).unwrap();
    assert_eq!(run(&["card", "init"], &[&m, &data, &prompt]).0, 0);
    fill(&m.join("rampart-card.toml"), MODEL_FIELDS);
    // A path in training_data.datasets links the model to the dataset asset given alongside.
    fill(
        &m.join("rampart-card.toml"),
        &[(
            "datasets",
            "[\"../faq.jsonl\", \"example-org/support-faq\"]",
        )],
    );
    fill(
        &d.path().join("faq.jsonl.card.toml"),
        &[
            ("owners", "[\"support-eng\"]"),
            ("retention", "\"36 months\""),
            ("review_frequency", "\"yearly\""),
            ("intended_use", "[\"fine-tuning the support model\"]"),
            ("source", "\"written by Example staff\""),
            ("sensitive_data", "[\"none\"]"),
            ("classification", "\"internal\""),
        ],
    );
    fill(
        &d.path().join("support-system.prompt.txt.card.toml"),
        &[
            ("owners", "[\"support-eng\"]"),
            ("version", "\"7\""),
            ("guardrails", "[\"output PII guard\", \"canary tokens\"]"),
            ("purpose", "\"Frame every support conversation\""),
            ("models", "[\"tiny-support-llm\"]"),
        ],
    );
    assert_eq!(
        run(&["card", "init", "--update"], &[&m, &data, &prompt]).0,
        0
    );
    for (name, path) in [
        ("model_card", &m),
        ("data_card", &data),
        ("prompt_card", &prompt),
    ] {
        let (code, out, err) = run(&["card"], &[path]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(name, out);
    }
    // The model card's front matter is what Hugging Face reads.
    let (_, out, _) = run(&["card"], &[&m]);
    let fm = out.split("---\n").nth(1).unwrap();
    assert!(
        fm.contains("license: \"apache-2.0\"") && fm.contains("pipeline_tag: \"text-generation\"")
    );
    // And the complete BOM carries the card's facts in the proper fields.
    let doc = bom(&[], &[&m, &data, &prompt]);
    let c = component(&doc, "tiny-support-llm");
    assert_eq!(
        c["modelCard"]["modelParameters"]["approach"]["type"],
        "supervised"
    );
    let risks = c["modelCard"]["considerations"]["ethicalConsiderations"]
        .as_array()
        .unwrap();
    assert!(risks.iter().any(|r| {
        r["name"] == "confident wrong answers about prices"
            && r["mitigationStrategy"]
                .as_str()
                .unwrap()
                .contains("prompt-injection guard")
    }));
    assert_eq!(prop(c, "rampart:card"), "present");
    assert_eq!(props(c, "rampart:owner"), ["ml-platform@example.com"]);
    let ds = component(&doc, "faq.jsonl");
    let dep = doc["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ref"] == c["bom-ref"])
        .unwrap();
    assert_eq!(
        dep["dependsOn"][0], ds["bom-ref"],
        "model depends on the local dataset"
    );
    assert_eq!(
        c["modelCard"]["modelParameters"]["datasets"][0]["ref"],
        ds["bom-ref"]
    );
    assert_eq!(ds["data"][0]["classification"], "internal");
    assert_eq!(
        ds["data"][0]["governance"]["owners"][0]["contact"]["name"],
        "support-eng"
    );
    assert_eq!(component(&doc, "support-system.prompt.txt")["version"], "7");
}
