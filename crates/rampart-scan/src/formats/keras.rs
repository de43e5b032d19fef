//! Keras model configurations (`config.json` of `.keras`, `model_config` of legacy `.h5`):
//! Lambda layers with marshalled bytecode, objects from modules outside Keras, unsafe switches,
//! external SavedModels and file-reading lookup layers.

use crate::policy::Verdict;
use crate::rules;
use crate::scan::Ctx;
use crate::source::{self, Source};
use rampart_core::{Location, Severity};
use serde_json::Value;

/// Module prefixes that Keras itself (or TensorFlow's copy) provides.
const KERAS_MODULES: &[&str] = &[
    "keras",
    "tf_keras",
    "tensorflow.keras",
    "tensorflow.python.keras",
    "keras_nlp",
    "keras_hub",
    "keras_cv",
];

/// Functions inside Keras' own namespaces that reach files or the network, or switch safe
/// mode off (CVE-2025-8747 `get_file`, CVE-2025-9905 `enable_unsafe_deserialization`, ...).
/// Matched against the function name a config references.
const KERAS_DANGEROUS_FUNCTIONS: &[&str] = &[
    "get_file",
    "enable_unsafe_deserialization",
    "load_model",
    "load_weights",
    "func_load",
    "deserialize_keras_object",
    "load_img",
    "image_dataset_from_directory",
    "text_dataset_from_directory",
    "audio_dataset_from_directory",
    "read_file",
    "write_file",
    "rmtree",
    "exec",
    "eval",
    "system",
    "popen",
    "save_model",
];

fn is_keras_module(m: &str) -> bool {
    KERAS_MODULES
        .iter()
        .any(|k| m == *k || m.starts_with(&format!("{k}.")))
}

/// Lookup layers whose `vocabulary` may be a file path.
const FILE_VOCAB_LAYERS: &[&str] = &[
    "StringLookup",
    "IntegerLookup",
    "TextVectorization",
    "Hashing",
];

/// Scan a JSON file if it is a Keras configuration; other JSON is left alone.
pub(crate) fn scan_json_file(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    if src.len() > ctx.opts.limits.max_metadata_bytes {
        return;
    }
    if let Ok(bytes) = source::read_range(src, 0, src.len()) {
        let v: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(_) => return,
        };
        if looks_like_keras(&v) {
            ctx.add_format("keras-config");
            scan_value(ctx, &v, loc, "keras-config");
        }
    }
}

fn looks_like_keras(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.contains_key("class_name")
        && o.contains_key("config")
        && (o.contains_key("module")
            || o.contains_key("keras_version")
            || o.contains_key("backend"))
}

/// Scan configuration bytes known to be a Keras config (from a `.keras` zip or an `.h5`).
pub(crate) fn scan_config_bytes(ctx: &mut Ctx<'_>, bytes: &[u8], loc: &Location) {
    ctx.add_format("keras-config");
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => scan_value(ctx, &v, loc, "keras"),
        Err(e) => ctx.report(
            &rules::KERAS_UNSAFE,
            loc.clone(),
            "keras",
            format!("model configuration is not valid JSON ({e}); Keras would refuse it, other readers may not"),
        ),
    }
}

fn scan_value(ctx: &mut Ctx<'_>, root: &Value, loc: &Location, format: &str) {
    // Iterative walk: the JSON parser already bounds nesting (128), this keeps our own stack flat.
    let mut work: Vec<(&Value, String)> = vec![(root, String::from("$"))];
    let mut visited = 0u64;
    while let Some((v, path)) = work.pop() {
        visited += 1;
        if visited > 5_000_000 {
            ctx.report(
                &rules::SCAN_INCOMPLETE,
                loc.clone(),
                format,
                "configuration too large to examine fully",
            );
            return;
        }
        match v {
            Value::Object(o) => {
                check_object(ctx, o, &path, loc, format);
                for (k, child) in o {
                    if child.is_object() || child.is_array() || child.is_string() {
                        work.push((child, format!("{path}.{k}")));
                    }
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    if child.is_object() || child.is_array() {
                        work.push((child, format!("{path}[{i}]")));
                    }
                }
            }
            Value::String(s) if s.contains("enable_unsafe_deserialization") => {
                let mut f = ctx.finding(
                    &rules::KERAS_UNSAFE,
                    loc.clone(),
                    format,
                    format!("configuration calls enable_unsafe_deserialization at {path}"),
                );
                f.impact = "turns off Keras safe mode for everything loaded afterwards".into();
                ctx.push(f);
            }
            _ => {}
        }
    }
}

fn str_of<'v>(o: &'v serde_json::Map<String, Value>, k: &str) -> Option<&'v str> {
    o.get(k).and_then(Value::as_str)
}

fn check_object(
    ctx: &mut Ctx<'_>,
    o: &serde_json::Map<String, Value>,
    path: &str,
    loc: &Location,
    format: &str,
) {
    let class = str_of(o, "class_name").unwrap_or("");
    let config = o.get("config").and_then(Value::as_object);
    // Keras 3: {"class_name": "__lambda__", "config": {"code": <base64 marshal>, ...}}
    // Keras 2: {"class_name": "Lambda", "config": {"function": [<base64>, defaults, closure],
    //           "function_type": "lambda"}}
    let lambda_code = if class == "__lambda__" && !path.ends_with(".config.function") {
        // A bare lambda object (e.g. as an activation); Lambda layers are handled below.
        config.and_then(|c| str_of(c, "code")).map(str::to_string)
    } else if class == "Lambda" {
        config.and_then(|c| match (c.get("function"), str_of(c, "function_type")) {
            // Keras 3: {"function": {"class_name": "__lambda__", "config": {"code": ...}}}
            (Some(Value::Object(fo)), _) if str_of(fo, "class_name") == Some("__lambda__") => fo
                .get("config")
                .and_then(Value::as_object)
                .and_then(|fc| str_of(fc, "code"))
                .map(str::to_string),
            // Keras 2: {"function": [<base64>, defaults, closure], "function_type": "lambda"}
            (Some(Value::Array(a)), Some("lambda")) => {
                a.first().and_then(Value::as_str).map(str::to_string)
            }
            (Some(Value::String(s)), Some("lambda")) => Some(s.clone()),
            _ => None,
        })
    } else {
        None
    };
    if let Some(code) = lambda_code {
        let name = config.and_then(|c| str_of(c, "name")).unwrap_or("?");
        let mut f = ctx.finding(
            &rules::KERAS_LAMBDA,
            loc.clone(),
            format,
            format!(
                "Lambda layer {name:?} carries {} bytes of marshalled Python bytecode ({path})",
                code.len() * 3 / 4
            ),
        );
        f.evidence = Some(
            code.chars().take(60).collect::<String>() + if code.len() > 60 { "…" } else { "" },
        );
        f.impact =
            "keras.models.load_model(safe_mode=False) (or Keras < 2.13) unmarshals and runs it"
                .into();
        ctx.push(f);
    }
    // Keras 2 Lambda with function_type "function" names a module-level function.
    if class == "Lambda"
        && let Some(c) = config
        && str_of(c, "function_type") == Some("function")
    {
        let module = str_of(c, "module").unwrap_or("");
        let func = match c.get("function") {
            Some(Value::String(s)) => s.as_str(),
            _ => "",
        };
        if !is_keras_module(module) {
            report_foreign(ctx, loc, format, module, func, path, "Lambda function");
        }
    }
    // Keras 3 serialized objects: {"module": ..., "class_name": ..., "registered_name": ...}
    if let Some(module) = str_of(o, "module")
        && o.contains_key("class_name")
    {
        let name = if class == "function" {
            o.get("config").and_then(Value::as_str).unwrap_or(class)
        } else {
            class
        };
        if !is_keras_module(module) {
            report_foreign(ctx, loc, format, module, name, path, "object");
        } else if class == "function" && KERAS_DANGEROUS_FUNCTIONS.contains(&name) {
            let mut f = ctx.finding(
                &rules::KERAS_UNSAFE,
                loc.clone(),
                format,
                format!("config calls {module}.{name} at {path}"),
            );
            f.severity = Severity::Critical;
            f.impact = format!(
                "deserialisation calls {name}, which reaches files or the network or turns safe mode off, even with safe_mode=True"
            );
            ctx.push(f);
        }
    }
    if class == "TFSMLayer" {
        let fp = config.and_then(|c| str_of(c, "filepath")).unwrap_or("?");
        let mut f = ctx.finding(
            &rules::KERAS_UNSAFE,
            loc.clone(),
            format,
            format!("TFSMLayer loads an external SavedModel from {fp:?} ({path})"),
        );
        f.impact =
            "loading the model loads and runs another model's graph from outside the file".into();
        ctx.push(f);
    }
    if FILE_VOCAB_LAYERS.contains(&class)
        && let Some(c) = config
    {
        for key in ["vocabulary", "vocabulary_path", "idf_weights"] {
            if let Some(Value::String(p)) = c.get(key)
                && !p.is_empty()
            {
                let mut f = ctx.finding(
                    &rules::KERAS_UNSAFE,
                    loc.clone(),
                    format,
                    format!("{class} reads its {key} from the file {p:?} ({path})"),
                );
                f.impact =
                    "loading the model reads an arbitrary file from the loading machine".into();
                ctx.push(f);
            }
        }
    }
    if let Some(Value::Bool(false)) = o.get("safe_mode") {
        ctx.report(
            &rules::KERAS_UNSAFE,
            loc.clone(),
            format,
            format!("configuration sets safe_mode to false ({path})"),
        );
    }
}

fn report_foreign(
    ctx: &mut Ctx<'_>,
    loc: &Location,
    format: &str,
    module: &str,
    name: &str,
    path: &str,
    what: &str,
) {
    let verdict = ctx.opts.policy.classify(module, name);
    let (sev, why) = match &verdict {
        Verdict::Dangerous(c) => (Severity::Critical, c.clone()),
        Verdict::Safe(_) => return,
        _ if module.is_empty() || module == "__main__" => (
            Severity::Medium,
            "custom object: the loading program must register it".to_string(),
        ),
        _ => (Severity::High, "outside Keras' namespaces".to_string()),
    };
    let mut f = ctx.finding(
        &rules::KERAS_FOREIGN_MODULE,
        loc.clone(),
        format,
        format!("{what} {module}.{name} ({why}) at {path}"),
    );
    f.severity = sev;
    f.impact = format!("deserialisation imports `{module}` and resolves {name}");
    ctx.push(f);
}
