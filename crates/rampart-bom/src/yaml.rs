//! YAML front matter of a model card (`README.md` between `---` lines) into a JSON value.
//!
//! The text comes from a downloaded model repository, so it is hostile: we drive the
//! `yaml-rust2` event parser ourselves and build the value with an explicit stack, a depth
//! limit and a node limit, and refuse aliases (the "billion laughs" expansion has no place in a
//! model card; Hugging Face's own loader does not need them either).

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// Most nodes (scalars, sequences, mappings) accepted.
pub const MAX_NODES: usize = 50_000;

/// The front matter of a Markdown document: the text between a first line `---` and the next
/// line `---` (or `...`), and the body after it.
pub fn split_front_matter(doc: &str) -> (Option<&str>, &str) {
    let doc = doc.strip_prefix('\u{feff}').unwrap_or(doc);
    let Some(rest) = doc
        .strip_prefix("---\n")
        .or_else(|| doc.strip_prefix("---\r\n"))
    else {
        return (None, doc);
    };
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            let body = rest.get(at + line.len()..).unwrap_or("");
            return (rest.get(..at), body);
        }
        at += line.len();
    }
    (None, doc)
}

enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

fn scalar(s: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(s);
    }
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if s.bytes().any(|b| b.is_ascii_digit())
        && let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        return Value::from(f);
    }
    Value::String(s)
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Parse one YAML document into JSON. Mapping keys become strings; tags are ignored (the value
/// is kept as plain data, never constructed).
pub fn parse(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut nodes = 0usize;
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| e.to_string())?;
        let value = match ev {
            Event::StreamEnd => break,
            Event::DocumentEnd if root.is_some() => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue;
            }
            Event::Alias(_) => {
                return Err(format!(
                    "line {}: YAML aliases are not accepted in front matter",
                    mark.line()
                ));
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH} levels"));
                }
                if nodes > MAX_NODES {
                    return Err(format!("more than {MAX_NODES} nodes"));
                }
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq(Vec::new())
                } else {
                    Frame::Map(Map::new(), None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(v)) => Value::Array(v),
                Some(Frame::Map(m, _)) => Value::Object(m),
                None => return Err("unbalanced YAML structure".into()),
            },
            Event::Scalar(s, style, _, _) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(format!("more than {MAX_NODES} nodes"));
                }
                scalar(s, style)
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(v)) => v.push(value),
            Some(Frame::Map(m, pending)) => match pending.take() {
                None => *pending = Some(key_text(&value)),
                Some(k) => {
                    m.insert(k, value);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_split_and_parsed() {
        let doc = "---\nlicense: apache-2.0\nlanguage: [en, fr]\nn: 3\nf: 0.81\nx: ~\nq: '12'\nm: {a: {b: true}}\n---\n# Title\n";
        let (fm, body) = split_front_matter(doc);
        assert_eq!(body, "# Title\n");
        let v = parse(fm.unwrap()).unwrap();
        assert_eq!(v["license"], "apache-2.0");
        assert_eq!(v["language"][1], "fr");
        assert_eq!(v["n"], 3);
        assert_eq!(v["f"], 0.81);
        assert!(v["x"].is_null());
        assert_eq!(v["q"], "12");
        assert_eq!(v["m"]["a"]["b"], true);
    }

    #[test]
    fn no_front_matter() {
        assert_eq!(split_front_matter("# x\n---\n").0, None);
        assert_eq!(split_front_matter("---\nunterminated: 1\n").0, None);
    }

    #[test]
    fn hostile_yaml_is_refused() {
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert!(parse(bomb).unwrap_err().contains("aliases"));
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep).unwrap_err().contains("deeper"));
        assert!(parse("a: [1, 2").is_err());
        let many = format!("[{}]", vec!["1"; MAX_NODES + 1].join(","));
        assert!(parse(&many).unwrap_err().contains("nodes"));
    }

    #[test]
    fn tags_are_data_only() {
        let v = parse("x: !!python/object/apply:os.system ['id']\n").unwrap();
        assert_eq!(v["x"][0], "id");
    }
}
