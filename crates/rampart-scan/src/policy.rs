//! Classification of the callables a pickle imports or calls.
//!
//! The lists are data (`data/pickle-policy.toml`, documented there); users add safe entries
//! with their own TOML files. Dangerous entries always win: an allowlist can quiet a review
//! finding, never a critical one.

use crate::error::ScanError;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

const BUILTIN_POLICY: &str = include_str!("../data/pickle-policy.toml");

/// The verdict on one callable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Known to run code or touch files, network or processes. Carries the category.
    Dangerous(String),
    /// On an allowlist. Carries the framework.
    Safe(String),
    /// Not on any list, but its name suggests code execution or I/O.
    Suspicious,
    /// Not on any list.
    Unknown,
}

#[derive(Debug, Deserialize)]
struct RawPolicy {
    #[serde(default)]
    dangerous: Vec<RawDangerous>,
    #[serde(default)]
    safe: Vec<RawSafe>,
    #[serde(default)]
    dangerous_dunders: Option<Names>,
    #[serde(default)]
    suspicious_names: Option<Names>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDangerous {
    category: String,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    callables: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafe {
    framework: String,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    callables: Vec<String>,
    #[serde(default)]
    class_modules: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Names {
    names: Vec<String>,
}

/// The compiled policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    dangerous_modules: Vec<(String, String)>,
    dangerous_callables: std::collections::HashMap<String, String>,
    safe_modules: Vec<(String, String)>,
    safe_callables: std::collections::HashMap<String, String>,
    safe_class_modules: Vec<(String, String)>,
    dunders: HashSet<String>,
    suspicious: HashSet<String>,
}

fn in_module(module: &str, prefix: &str) -> bool {
    module == prefix
        || (module.len() > prefix.len()
            && module.starts_with(prefix)
            && module.as_bytes().get(prefix.len()) == Some(&b'.'))
}

impl Policy {
    /// The built-in policy.
    pub fn builtin() -> Self {
        let mut p = Policy::default();
        // The built-in file is part of the binary and covered by tests; a failure here is a
        // build defect, so fall back to an empty policy rather than panic in production.
        if let Err(e) = p.add_toml(BUILTIN_POLICY, "built-in policy", true) {
            tracing::error!("built-in pickle policy failed to parse: {e}");
        }
        p
    }

    /// Whether no rule at all is loaded (a `Default` policy).
    pub fn is_empty(&self) -> bool {
        self.dangerous_modules.is_empty() && self.safe_callables.is_empty()
    }

    /// Add a user allowlist file (only `[[safe]]` tables are honoured).
    pub fn add_allowlist_file(&mut self, path: &Path) -> Result<(), ScanError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScanError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        self.add_toml(&text, &path.display().to_string(), false)
    }

    fn add_toml(&mut self, text: &str, origin: &str, builtin: bool) -> Result<(), ScanError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| ScanError::Policy {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        if !builtin && (!raw.dangerous.is_empty() || raw.dangerous_dunders.is_some()) {
            return Err(ScanError::Policy {
                origin: origin.to_string(),
                message: "an allowlist may only contain [[safe]] tables".into(),
            });
        }
        for d in raw.dangerous {
            for m in d.modules {
                self.dangerous_modules.push((m, d.category.clone()));
            }
            for c in d.callables {
                self.dangerous_callables.insert(c, d.category.clone());
            }
        }
        for s in raw.safe {
            let fw = if builtin {
                s.framework.clone()
            } else {
                format!("{} (from {origin})", s.framework)
            };
            for m in s.modules {
                self.safe_modules.push((m, fw.clone()));
            }
            for c in s.callables {
                self.safe_callables.insert(c, fw.clone());
            }
            for m in s.class_modules {
                self.safe_class_modules.push((m, fw.clone()));
            }
        }
        if let Some(d) = raw.dangerous_dunders {
            self.dunders.extend(d.names);
        }
        if let Some(s) = raw.suspicious_names {
            self.suspicious.extend(s.names);
        }
        Ok(())
    }

    fn dangerous_direct(&self, module: &str, name: &str) -> Option<String> {
        let q = format!("{module}.{name}");
        if let Some(c) = self.dangerous_callables.get(&q) {
            return Some(c.clone());
        }
        // A dangerous "module" entry may also name a module attribute (`uuid._popen`).
        for (m, cat) in &self.dangerous_modules {
            if in_module(module, m) || in_module(&q, m) {
                return Some(cat.clone());
            }
        }
        None
    }

    /// Judge `module.name` (the name may be dotted: attribute traversal).
    pub fn classify(&self, module: &str, name: &str) -> Verdict {
        if let Some(cat) = self.dangerous_direct(module, name) {
            return Verdict::Dangerous(cat);
        }
        let parts: Vec<&str> = if name.is_empty() {
            Vec::new()
        } else {
            name.split('.').collect()
        };
        if parts.len() > 1 || module.contains("..") {
            if let Some(d) = parts.iter().find(|p| self.dunders.contains(**p)) {
                return Verdict::Dangerous(format!("attribute traversal through `{d}`"));
            }
            // `numpy.f2py` + `os.system`: the traversal reaches another module's attribute.
            for i in 0..parts.len().saturating_sub(1) {
                let tail_mod = parts.get(i..parts.len() - 1).unwrap_or(&[]).join(".");
                let tail_name = parts.last().copied().unwrap_or("");
                if let Some(cat) = self.dangerous_direct(&tail_mod, tail_name) {
                    return Verdict::Dangerous(format!("{cat} via attribute traversal"));
                }
            }
        } else if let Some(d) = parts.first().filter(|p| self.dunders.contains(**p)) {
            // A single dunder name (`builtins.__import__` is listed; this catches the rest).
            if !matches!(*d, "__newobj__" | "__newobj_ex__") {
                return Verdict::Dangerous(format!("interpreter internals (`{d}`)"));
            }
        }
        let q = if name.is_empty() {
            module.to_string()
        } else {
            format!("{module}.{name}")
        };
        if let Some(fw) = self.safe_callables.get(&q) {
            return Verdict::Safe(fw.clone());
        }
        if parts.len() <= 1 {
            for (m, fw) in &self.safe_modules {
                if in_module(module, m) {
                    return Verdict::Safe(fw.clone());
                }
            }
            let class_like = name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            if class_like {
                for (m, fw) in &self.safe_class_modules {
                    if in_module(module, m) {
                        return Verdict::Safe(fw.clone());
                    }
                }
            }
        }
        let last = parts.last().copied().unwrap_or(module);
        if self.suspicious.contains(last) {
            return Verdict::Suspicious;
        }
        Verdict::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Policy {
        let mut p = Policy::default();
        p.add_toml(BUILTIN_POLICY, "builtin", true).unwrap();
        p
    }

    #[test]
    fn builtin_parses() {
        let p = p();
        assert!(!p.dangerous_modules.is_empty());
        assert!(!p.safe_callables.is_empty());
    }

    #[test]
    fn table() {
        let p = p();
        let cases: &[(&str, &str, &str)] = &[
            ("os", "system", "dangerous"),
            ("posix", "system", "dangerous"),
            ("os.path", "join", "dangerous"),
            ("builtins", "eval", "dangerous"),
            ("builtins", "getattr", "dangerous"),
            ("numpy.f2py", "os.system", "dangerous"),
            ("builtins", "object.__subclasses__", "dangerous"),
            ("torch", "storage._load_from_bytes", "dangerous"),
            ("uuid", "_get_command_stdout", "dangerous"),
            ("torch._utils", "_rebuild_tensor_v2", "safe"),
            ("collections", "OrderedDict", "safe"),
            ("numpy.core.multiarray", "_reconstruct", "safe"),
            (
                "sklearn.linear_model._logistic",
                "LogisticRegression",
                "safe",
            ),
            ("sklearn.datasets", "fetch_openml", "dangerous"),
            ("sklearn.utils", "some_function", "unknown"),
            ("mymodule", "MyClass", "unknown"),
            ("mymodule", "system", "suspicious"),
            ("torch.nn.modules.linear", "Linear", "safe"),
        ];
        for (m, n, want) in cases {
            let got = match p.classify(m, n) {
                Verdict::Dangerous(_) => "dangerous",
                Verdict::Safe(_) => "safe",
                Verdict::Suspicious => "suspicious",
                Verdict::Unknown => "unknown",
            };
            assert_eq!(got, *want, "{m}.{n}");
        }
    }

    #[test]
    fn allowlist_cannot_override_dangerous() {
        let mut p = p();
        p.add_toml(
            "[[safe]]\nframework='mine'\ncallables=['os.system','mymodule.MyClass']\n",
            "user",
            false,
        )
        .unwrap();
        assert!(matches!(p.classify("os", "system"), Verdict::Dangerous(_)));
        assert!(matches!(
            p.classify("mymodule", "MyClass"),
            Verdict::Safe(_)
        ));
        assert!(
            p.add_toml("[[dangerous]]\ncategory='x'\n", "user", false)
                .is_err()
        );
    }
}
