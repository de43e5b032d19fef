//! The scanner's rules: stable codes, slugs, default severities and documentation.
//!
//! Codes are never reused. `docs/rules.md` is generated from this table
//! (`rampart scan --list-rules --format markdown`).

use rampart_core::{RuleInfo, Severity};

macro_rules! rules {
    ($($konst:ident = $id:literal, $name:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $konst: RuleInfo = RuleInfo {
                id: $id, name: $name, severity: Severity::$sev, summary: $summary, help: $help,
            };
        )*
        /// Every rule, in code order.
        pub const ALL: &[RuleInfo] = &[$($konst),*];
    };
}

rules! {
    PICKLE_DANGEROUS = "RS101", "pickle-dangerous-callable", Critical,
        "Pickle imports or calls a callable that runs code or touches files, network or processes",
        "Unpickling resolves every GLOBAL/STACK_GLOBAL/INST with find_class, importing the module, and REDUCE/NEWOBJ/OBJ/INST call the result. A known-dangerous callable (os.system, eval, subprocess, importlib, getattr indirection, runpy, pip, webbrowser, ...) means loading the file runs what the author chose. Do not load it. Obtain the model from its original publisher in a format without code (safetensors, GGUF, ONNX), or load with torch.load(weights_only=True) after verifying the source.";
    PICKLE_UNKNOWN = "RS102", "pickle-unknown-callable", Medium,
        "Pickle imports a callable outside the allowlist",
        "The callable is not on Rampart's per-framework allowlist (tensor rebuilding, NumPy reconstruction, collections, scikit-learn estimators). Loading imports its module (running its top-level code) and may call it. Review what it is; if it is your own class, add it to an allowlist file (rampart scan --allowlist FILE) so later scans stay quiet.";
    PICKLE_DYNAMIC = "RS103", "pickle-dynamic-callable", High,
        "Pickle calls or imports something computed at load time",
        "A REDUCE whose callable is the result of another call, or a STACK_GLOBAL whose module or name is not a constant string, hides what will run until the pickle is executed. Benign serialisers do not produce this. Treat the file as hostile.";
    PICKLE_EXT = "RS104", "pickle-extension-code", High,
        "Pickle uses a copyreg extension code (EXT1/EXT2/EXT4)",
        "Extension codes name callables through the loading process's copyreg registry, not the file, so no scanner can know what they resolve to. The standard registry is empty; a pickle using them either fails or relies on an application's registrations. Reject the file unless you know the registry.";
    PICKLE_MUTATES_GLOBAL = "RS105", "pickle-mutates-global", High,
        "Pickle sets attributes or items on an imported module, class or function",
        "BUILD, SETITEM, APPEND on an imported global rather than on a newly created object changes interpreter state (monkey-patching) during unpickling. Benign serialisers do not do this.";
    PICKLE_MALFORMED = "RS106", "pickle-malformed", Medium,
        "Pickle is broken or truncated; the unpickler runs everything before the break",
        "CPython's unpickler executes opcodes as it reads them, so a pickle that fails half way has already run every import and call before the failing opcode. Other tools may stop reading at the break and miss what comes before or after. Every effect before the break is reported separately.";
    PICKLE_DIFFERENTIAL = "RS107", "pickle-parser-differential", Medium,
        "Pickle uses a construct that parsers read differently",
        "Non-canonical integers in PUT/GET, names with whitespace or control characters, and similar constructs are read one way by CPython and another by simpler parsers; scanner bypasses exploit such gaps. Rampart follows CPython: the loader wins.";
    PICKLE_LIMIT = "RS108", "pickle-analysis-incomplete", Medium,
        "Pickle analysis stopped at a limit; the rest was not examined",
        "The opcode, stack, memo, size or time limit was reached. Raise the limit (see rampart scan --help) or treat the file as unreviewed.";
    PICKLE_STREAM = "RS109", "pickle-extra-data", Low,
        "Several pickles, or data after STOP, in one stream",
        "pickle.load reads only the first pickle; other loaders read on. Rampart analyses every pickle in the stream. Unexpected trailing data may hide a second payload for a custom loader.";
    PICKLE_PERSID = "RS110", "pickle-persistent-id", Low,
        "Pickle uses persistent IDs outside a framework that defines them",
        "PERSID/BINPERSID call the loader's persistent_load hook; plain pickle.load fails on them. Outside PyTorch checkpoints they indicate a custom loader whose behaviour decides safety.";
    ARCHIVE_TRAVERSAL = "RS201", "archive-path-traversal", High,
        "Archive entry name escapes the extraction directory",
        "Absolute paths, `..` components, drive letters or backslashes in member names let extraction overwrite files outside the target directory (zip slip). Do not extract this archive with a tool that trusts names.";
    ARCHIVE_LINK = "RS202", "archive-link-entry", Medium,
        "Archive contains a symbolic or hard link entry",
        "Extracting links can point later writes, or a loader's reads, outside the extraction directory.";
    ARCHIVE_BOMB = "RS203", "archive-limit-exceeded", High,
        "Archive exceeds a decompression limit (size, ratio, entry count or nesting)",
        "Decompression bombs exhaust disk or memory of whatever unpacks them. The part beyond the limit was not examined; raise the limit only for trusted input.";
    ZIP_INCONSISTENT = "RS204", "zip-header-mismatch", High,
        "Zip local and central headers disagree, or an entry is corrupt",
        "Different readers trust different headers: Python's zipfile and PyTorch read the central directory, streaming tools read local headers. Mismatched names, flags, sizes or CRCs let a file show scanners one member and loaders another.";
    POLYGLOT = "RS205", "polyglot-file", High,
        "File is valid as two formats at once",
        "A pickle prefix with a zip at the end is loaded as a zip by torch.load and as a pickle by pickle.load. Rampart scans both views; a benign exporter never writes this.";
    ARCHIVE_UNREADABLE = "RS206", "archive-member-unreadable", Medium,
        "Archive member could not be examined (encryption, unsupported method, corrupt stream)",
        "What cannot be read cannot be vouched for; a loader with other capabilities may still read it.";
    NONSTANDARD_CONTAINER = "RS207", "nonstandard-model-container", Medium,
        "Model file wrapped in a container its loader does not use (e.g. 7z)",
        "The nullifAI samples wrapped PyTorch pickles in 7z so that scanners which only understood zip saw nothing. Rampart unpacks the container and scans inside; the wrapper itself is unusual for a model.";
    TORCH_STORAGE = "RS301", "torch-storage-mismatch", Medium,
        "PyTorch storage record missing or of the wrong size",
        "A checkpoint's pickle declares each storage's element count; the archive member must hold exactly that many bytes. A mismatch means a corrupt or tampered file, or one crafted to make the loader read out of bounds.";
    TORCHSCRIPT = "RS302", "torchscript-code", Medium,
        "TorchScript archive contains code that calls file or process operations",
        "TorchScript code is compiled and run by torch.jit.load and when the model runs. Operations that read or write files or load libraries should not appear in a model.";
    NUMPY_OBJECT = "RS401", "numpy-object-array", Low,
        "NumPy array of Python objects (loading requires allow_pickle=True)",
        "Object arrays are stored as a pickle; numpy.load refuses them unless allow_pickle=True, which also enables every pickle attack. The embedded pickle is analysed with the pickle rules.";
    NUMPY_MALFORMED = "RS402", "numpy-malformed", Medium,
        "NumPy .npy header is malformed or disagrees with the data size",
        "A header that does not parse, or a shape and dtype that do not match the bytes present, indicates a corrupt or crafted file.";
    KERAS_LAMBDA = "RS501", "keras-lambda-code", Critical,
        "Keras model contains a Lambda layer with serialised Python bytecode",
        "Lambda layers store marshalled Python code that runs when the model is loaded with safe_mode=False (and in Keras < 2.13 whenever it is loaded). Do not load it; rebuild the layer in code.";
    KERAS_FOREIGN_MODULE = "RS502", "keras-foreign-object", High,
        "Keras config references a function or class outside Keras' own namespaces",
        "deserialize_keras_object imports the named module and resolves the name, so a config can reach os, subprocess or any installed package. Only keras, tf.keras and registered custom objects are expected.";
    KERAS_UNSAFE = "RS503", "keras-unsafe-config", High,
        "Keras config disables safe mode, loads an external model or reads files",
        "enable_unsafe_deserialization, TFSMLayer (loads an external SavedModel with its graph), and lookup layers with a file vocabulary make loading reach beyond the file itself.";
    HDF5_MALFORMED = "RS504", "hdf5-malformed", Medium,
        "HDF5 structure is malformed or could not be followed",
        "The model configuration of a legacy Keras .h5 is stored in HDF5 attributes; when they cannot be read, the configuration cannot be checked.";
    TF_OP = "RS601", "tensorflow-dangerous-op", Critical,
        "TensorFlow graph uses an op that reads or writes files or calls Python",
        "Ops such as ReadFile, WriteFile, PyFunc and EagerPyFunc run when the SavedModel's functions run; a model has no need for them. Remove them or do not serve the model.";
    ONNX_EXTERNAL = "RS701", "onnx-external-data-escape", High,
        "ONNX external data location escapes the model directory",
        "Absolute or `..` locations make onnxruntime read arbitrary files into tensors (and expose their contents through outputs).";
    ONNX_CUSTOM_DOMAIN = "RS702", "onnx-custom-operator", Medium,
        "ONNX model uses an operator domain outside the standard ones",
        "Custom operator domains need a native library registered by the loading application; such code is outside the file's control and review.";
    ONNX_SIZE = "RS703", "onnx-implausible-size", Medium,
        "ONNX tensor sizes, external data ranges or structure are implausible",
        "Declared dimensions whose product overflows, negative offsets or lengths, or data outside the file indicate a crafted model.";
    GGUF_TEMPLATE = "RS801", "gguf-template-injection", Critical,
        "GGUF chat template reaches Python internals",
        "Chat templates are Jinja2 programs; llama-cpp-python rendered them without a sandbox (CVE-2024-34359). Access to __class__, __globals__, __subclasses__, __builtins__, os or subprocess, even when built from pieces at run time, is a code execution attempt.";
    GGUF_MALFORMED = "RS802", "gguf-malformed", Medium,
        "GGUF header or metadata out of bounds",
        "Counts, string lengths, array lengths or tensor offsets that exceed the file have been used for memory corruption in GGUF loaders.";
    SAFETENSORS_MALFORMED = "RS851", "safetensors-malformed", Medium,
        "safetensors header invalid, or tensor offsets out of bounds, overlapping or inconsistent",
        "A header longer than the file, invalid JSON, offsets outside the data, overlapping tensors or a dtype×shape that does not match its byte range indicate a corrupt or crafted file.";
    SIGNATURE_INVALID = "RS950", "model-signature-invalid", High,
        "Model signature present but it does not verify, or the model differs from it",
        "A model.sig (OpenSSF Model Signing bundle) was found and checked with the key or trust anchors given to rampart scan: the signature is invalid, made by someone else, or files changed, appeared or disappeared since signing. Do not use the model until the difference is explained; rampart verify prints every changed, missing, extra and renamed file.";
    SIGNATURE_UNVERIFIED = "RS951", "model-signature-unverified", Low,
        "Model signature present but not verified (no key or trust anchor given)",
        "A model.sig was found. Pass --public-key or --certificate-chain to rampart scan (or run rampart verify) to check it; until then it proves nothing.";
    SIGNATURE_VERIFIED = "RS952", "model-signature-verified", Info,
        "Model signature verified: every file matches",
        "The signature verifies with the given key or trust anchors and every signed file matches. This states who signed the model; it does not make its content safe, which the other rules judge.";
    YAML_PYTHON_TAG = "RS910", "yaml-python-tag", Critical,
        "YAML file constructs Python objects (!!python/object/apply and similar tags)",
        "PyYAML's unsafe loaders import modules and call functions named by these tags; configs loaded with yaml.load/unsafe_load therefore run code. Benign model configs do not need them.";
    SYMLINK_ESCAPE = "RS901", "symlink-escape", Medium,
        "Symbolic link points outside the scanned tree (not followed)",
        "A model folder whose links leave it makes loaders read files the publisher did not ship. Rampart does not follow such links.";
    SCAN_INCOMPLETE = "RS902", "scan-incomplete", Medium,
        "Part of the input was not examined (size or time limit, unsupported variant)",
        "Rampart reports what it could not cover rather than calling it clean. Raise the limit for trusted input, or treat the file as unreviewed.";
    EXTENSION_MISMATCH = "RS903", "extension-mismatch", Low,
        "File content does not match its extension",
        "Raw pickles named .bin, .pt or .weights, and other renamed files, evade tools that trust extensions. Rampart detects formats by content.";
}

/// Look up a rule by code or slug.
pub fn find(key: &str) -> Option<&'static RuleInfo> {
    ALL.iter().find(|r| r.id == key || r.name == key)
}

/// The short "what to do" line attached to each finding of a rule.
pub fn fix(id: &str) -> &'static str {
    match id {
        "RS101" | "RS103" | "RS104" | "RS105" | "RS501" | "RS601" | "RS801" => {
            "do not load this file; get the model from a trusted source in a code-free format (safetensors, GGUF, ONNX)"
        }
        "RS102" => {
            "review the callable; if it is yours and trusted, add it to an allowlist (rampart scan --allowlist FILE)"
        }
        "RS106" | "RS109" | "RS110" => {
            "treat the file as untrusted: re-export it from the original framework and compare"
        }
        "RS107" => "treat the file as hostile: benign serialisers do not write this",
        "RS108" | "RS902" => {
            "raise the limit for trusted input (see rampart scan --help) or treat as unreviewed"
        }
        "RS201" | "RS202" => {
            "do not extract this archive with tools that trust member names or links"
        }
        "RS203" => "do not unpack it; raise limits only for input you trust",
        "RS204" | "RS205" | "RS207" => {
            "re-create the archive with the framework's own writer; treat this copy as hostile"
        }
        "RS206" => "obtain an unencrypted copy or one using a standard compression method",
        "RS301" | "RS402" | "RS504" | "RS703" | "RS802" | "RS851" => {
            "re-export the file with its framework; do not load a corrupt or crafted copy"
        }
        "RS302" => "review the TorchScript code (code/ in the archive) before loading",
        "RS401" => "load with allow_pickle=False, or convert the array to a numeric dtype",
        "RS502" | "RS503" => "load with keras safe_mode=True and review the referenced objects",
        "RS701" => "keep external data files inside the model folder with relative names",
        "RS702" => "check which library provides the custom operators before loading",
        "RS901" => "copy the linked file into the tree or remove the link",
        "RS903" => "rename the file to match its content",
        "RS910" => "load YAML with yaml.safe_load only, and remove the python tags",
        "RS950" => {
            "do not use the model; run rampart verify to see what differs and obtain a correctly signed copy"
        }
        "RS951" => {
            "verify it: rampart scan --public-key KEY (or --certificate-chain ROOT.pem), or rampart verify"
        }
        "RS952" => "none needed",
        _ => "",
    }
}

/// The rules as a Markdown document (docs/rules.md is generated from this and checked by a test).
pub fn markdown() -> String {
    let mut s = String::from(
        "# Scanner rules\n\nGenerated from `crates/rampart-scan/src/rules.rs` (`UPDATE_DOCS=1 cargo test -p rampart-scan rules` rewrites it). Codes are stable and never reused.\n\n| code | rule | default severity | summary |\n|---|---|---|---|\n",
    );
    for r in ALL {
        s.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            r.id, r.name, r.severity, r.summary
        ));
    }
    for r in ALL {
        s.push_str(&format!(
            "\n## {} `{}`\n\n**Default severity:** {}\n\n{}\n\n{}\n\n**Fix:** {}\n",
            r.id,
            r.name,
            r.severity,
            r.summary,
            r.help,
            fix(r.id)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        let mut ids: Vec<_> = ALL.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        let mut names: Vec<_> = ALL.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(find("RS101").unwrap().name, "pickle-dangerous-callable");
        for r in ALL {
            assert!(!fix(r.id).is_empty(), "{} has no remediation", r.id);
        }
    }

    #[test]
    fn rules_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
        let want = markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/rules.md is stale: run UPDATE_DOCS=1 cargo test -p rampart-scan rules"
        );
    }
}
