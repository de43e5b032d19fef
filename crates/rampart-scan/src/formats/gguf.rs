//! GGUF: header, metadata and tensor-info bounds, and Jinja chat templates that try to reach
//! Python internals (the llama-cpp-python template-injection class, CVE-2024-34359).

use crate::rules;
use crate::scan::Ctx;
use crate::source::{self, Source};
use rampart_core::{Location, ModelInfo, Severity};

struct Rd<'a> {
    b: &'a [u8],
    p: usize,
    v1: bool,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let n = usize::try_from(n).map_err(|_| "length overflow")?;
        let end = self.p.checked_add(n).ok_or("length overflow")?;
        let s = self.b.get(self.p..end).ok_or_else(|| {
            format!(
                "{n} bytes at {:#x} run past the end of the metadata",
                self.p
            )
        })?;
        self.p = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn count(&mut self) -> Result<u64, String> {
        if self.v1 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }
    fn string(&mut self) -> Result<&'a [u8], String> {
        let n = self.count()?;
        if n > (self.b.len() - self.p) as u64 {
            return Err(format!(
                "string length {n} at {:#x} exceeds the data",
                self.p
            ));
        }
        self.take(n)
    }
}

/// A metadata value, as far as we keep it.
enum Val<'a> {
    Str(&'a [u8]),
    U64(u64),
    Other,
}

fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

fn value<'a>(r: &mut Rd<'a>, t: u32, depth: u32) -> Result<Val<'a>, String> {
    if let Some(n) = scalar_size(t) {
        let s = r.take(n)?;
        let mut a = [0u8; 8];
        for (i, x) in s.iter().enumerate() {
            if let Some(slot) = a.get_mut(i) {
                *slot = *x;
            }
        }
        return Ok(Val::U64(u64::from_le_bytes(a)));
    }
    match t {
        8 => Ok(Val::Str(r.string()?)),
        9 => {
            if depth > 2 {
                return Err("arrays nested too deep".into());
            }
            let et = r.u32()?;
            let n = r.count()?;
            let left = (r.b.len() - r.p) as u64;
            let min = scalar_size(et).unwrap_or(8);
            if n.saturating_mul(min) > left {
                return Err(format!(
                    "array of {n} elements of type {et} exceeds the data"
                ));
            }
            if let Some(sz) = scalar_size(et) {
                r.take(n * sz)?;
            } else {
                for _ in 0..n {
                    value(r, et, depth + 1)?;
                }
            }
            Ok(Val::Other)
        }
        other => Err(format!("unknown metadata value type {other}")),
    }
}

/// A scalar metadata value as text, by its GGUF type.
fn scalar_text(t: u32, x: u64) -> String {
    match t {
        1 => (x as u8 as i8).to_string(),
        3 => (x as u16 as i16).to_string(),
        5 => (x as u32 as i32).to_string(),
        11 => (x as i64).to_string(),
        6 => f32::from_bits(x as u32).to_string(),
        12 => f64::from_bits(x).to_string(),
        7 => (x != 0).to_string(),
        _ => x.to_string(),
    }
}

/// The ggml name of a tensor type.
fn ggml_type_name(t: u32) -> String {
    const NAMES: [&str; 40] = [
        "F32",
        "F16",
        "Q4_0",
        "Q4_1",
        "Q4_2",
        "Q4_3",
        "Q5_0",
        "Q5_1",
        "Q8_0",
        "Q8_1",
        "Q2_K",
        "Q3_K",
        "Q4_K",
        "Q5_K",
        "Q6_K",
        "Q8_K",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ3_XXS",
        "IQ1_S",
        "IQ4_NL",
        "IQ3_S",
        "IQ2_S",
        "IQ4_XS",
        "I8",
        "I16",
        "I32",
        "I64",
        "F64",
        "IQ1_M",
        "BF16",
        "Q4_0_4_4",
        "Q4_0_4_8",
        "Q4_0_8_8",
        "TQ1_0",
        "TQ2_0",
        "IQ4_NL_4_4",
        "IQ4_NL_4_8",
        "IQ4_NL_8_8",
        "MXFP4",
    ];
    NAMES
        .get(t as usize)
        .map_or_else(|| format!("type{t}"), |s| s.to_string())
}

/// Bytes per block and elements per block of a ggml tensor type.
fn ggml_type(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (4, 1),
        1 | 30 => (2, 1),
        2 => (18, 32),
        3 => (20, 32),
        6 => (22, 32),
        7 => (24, 32),
        8 => (34, 32),
        9 => (36, 32),
        10 => (84, 256),
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256),
        15 => (292, 256),
        16 => (66, 256),
        17 => (74, 256),
        18 => (98, 256),
        19 => (50, 256),
        20 => (18, 32),
        21 => (110, 256),
        22 => (82, 256),
        23 => (136, 256),
        24 => (1, 1),
        25 => (2, 1),
        26 => (4, 1),
        27 | 28 => (8, 1),
        29 => (56, 256),
        _ => return None,
    })
}

/// Scan a GGUF file. Metadata sits at the start; it is read in a growing window so that
/// multi-gigabyte models cost only their metadata.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    let limit = src.len().min(ctx.opts.limits.max_metadata_bytes);
    let mut window = limit.min(16 << 20);
    loop {
        let Ok(b) = source::read_range(src, 0, window) else {
            return;
        };
        let cut = window < src.len();
        let mut scratch = Ctx::new(ctx.opts, ctx.deadline);
        scratch.describing = ctx.describing;
        let res = parse(&mut scratch, &b, src.len(), loc);
        if let Err(msg) = &res
            && cut
            && msg.contains("past the end")
            && window < limit
        {
            window = window.saturating_mul(4).min(limit);
            continue;
        }
        ctx.absorb(scratch);
        if let Err(msg) = res {
            if cut && msg.contains("past the end") {
                ctx.report(
                    &rules::SCAN_INCOMPLETE,
                    loc.clone(),
                    "gguf",
                    "GGUF metadata larger than the metadata limit (--max-metadata-bytes); rest not examined",
                );
            } else {
                let mut f = ctx.finding(
                    &rules::GGUF_MALFORMED,
                    loc.clone(),
                    "gguf",
                    format!("malformed GGUF: {msg}"),
                );
                f.impact = "GGUF loaders have had memory-safety bugs on exactly such values".into();
                ctx.push(f);
            }
        }
        return;
    }
}

fn parse(ctx: &mut Ctx<'_>, b: &[u8], file_len: u64, loc: &Location) -> Result<(), String> {
    let mut r = Rd { b, p: 4, v1: false };
    let version = r.u32()?;
    if !(1..=3).contains(&version) {
        return Err(format!("unsupported version {version}"));
    }
    r.v1 = version == 1;
    let n_tensors = r.count()?;
    let n_kv = r.count()?;
    // Each entry needs at least a few bytes: bound the counts by the data before looping.
    if n_kv > file_len / 12 || n_tensors > file_len / 24 {
        return Err(format!(
            "declares {n_kv} metadata entries and {n_tensors} tensors, more than the file can hold"
        ));
    }
    let mut alignment = 32u64;
    let mut info = ctx.describing.then(|| ModelInfo::new("gguf"));
    for _ in 0..n_kv {
        let key = r.string()?;
        let key = String::from_utf8_lossy(key).into_owned();
        let t = r.u32()?;
        let at = r.p;
        let v = value(&mut r, t, 0)?;
        if let Some(info) = info.as_mut() {
            match &v {
                Val::Str(s) if !key.starts_with("tokenizer.chat_template") => {
                    info.meta(&key, &String::from_utf8_lossy(s));
                }
                Val::Str(s) => info.meta(&key, &format!("{} characters", s.len())),
                Val::U64(x) => info.meta(&key, &scalar_text(t, *x)),
                Val::Other => {}
            }
        }
        match v {
            Val::Str(s) if key.starts_with("tokenizer.chat_template") => {
                check_template(ctx, &String::from_utf8_lossy(s), &key, loc, at);
            }
            Val::U64(v) if key == "general.alignment" => {
                if v == 0 || !v.is_power_of_two() {
                    return Err(format!("general.alignment {v} is not a power of two"));
                }
                alignment = v;
            }
            _ => {}
        }
    }
    let mut infos = Vec::new();
    for _ in 0..n_tensors {
        let name = String::from_utf8_lossy(r.string()?).into_owned();
        let dims = r.u32()?;
        if dims > 4 {
            return Err(format!(
                "tensor {name:?} has {dims} dimensions (GGML allows 4)"
            ));
        }
        let mut elems: u64 = 1;
        for _ in 0..dims {
            let d = r.u64()?;
            elems = elems
                .checked_mul(d)
                .ok_or_else(|| format!("tensor {name:?} element count overflows"))?;
        }
        let ty = r.u32()?;
        let off = r.u64()?;
        if let Some(info) = info.as_mut() {
            info.tensor(&ggml_type_name(ty), Some(elems));
        }
        infos.push((name, elems, ty, off));
    }
    if info.is_some() {
        ctx.model = info;
    }
    let data_start = (r.p as u64).div_ceil(alignment) * alignment;
    for (name, elems, ty, off) in infos {
        if off % alignment != 0 {
            return Err(format!(
                "tensor {name:?} offset {off} is not aligned to {alignment}"
            ));
        }
        if let Some((bs, per)) = ggml_type(ty) {
            let size = (elems / per)
                .checked_mul(bs)
                .ok_or("tensor size overflows")?;
            let end = data_start
                .checked_add(off)
                .and_then(|x| x.checked_add(size));
            if end.is_none_or(|e| e > file_len) {
                return Err(format!(
                    "tensor {name:?} ({size} bytes at data offset {off}) extends past the end of the file"
                ));
            }
        } else if ty > 64 {
            return Err(format!("tensor {name:?} has unknown type {ty}"));
        }
    }
    Ok(())
}

/// Decode the escapes of a Jinja/Python string literal body.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('x') => {
                let h: String = it.by_ref().take(2).collect();
                out.extend(u32::from_str_radix(&h, 16).ok().and_then(char::from_u32));
            }
            Some('u') => {
                let h: String = it.by_ref().take(4).collect();
                out.extend(u32::from_str_radix(&h, 16).ok().and_then(char::from_u32));
            }
            Some('U') => {
                let h: String = it.by_ref().take(8).collect();
                out.extend(u32::from_str_radix(&h, 16).ok().and_then(char::from_u32));
            }
            Some(d @ '0'..='7') => {
                let mut v = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(x) => {
                            v = v * 8 + x;
                            it.next();
                        }
                        None => break,
                    }
                }
                out.extend(char::from_u32(v));
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

/// String literals of a template, decoded, in order.
fn literals(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = t.char_indices();
    while let Some((_, c)) = chars.next() {
        if c == '\'' || c == '"' {
            let mut body = String::new();
            let mut esc = false;
            for (_, d) in chars.by_ref() {
                if esc {
                    body.push('\\');
                    body.push(d);
                    esc = false;
                } else if d == '\\' {
                    esc = true;
                } else if d == c {
                    break;
                } else {
                    body.push(d);
                }
            }
            out.push(unescape(&body));
        }
    }
    out
}

/// Literals joined in order after applying what directly follows each one: `'_' * 2` repeats
/// it, `'%c' | format(95)` formats the character code. Templates build forbidden names so.
fn expanded_literals(t: &str) -> String {
    let mut out = String::new();
    let b: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(' ');
        if c != '\'' && c != '"' {
            i += 1;
            continue;
        }
        let mut body = String::new();
        let mut j = i + 1;
        while let Some(&d) = b.get(j) {
            if d == '\\' {
                body.push(d);
                if let Some(&e) = b.get(j + 1) {
                    body.push(e);
                }
                j += 2;
                continue;
            }
            if d == c {
                break;
            }
            body.push(d);
            j += 1;
        }
        let mut lit = unescape(&body);
        let rest: String = b.iter().skip(j + 1).take(40).collect();
        let rest_t = rest.trim_start();
        if let Some(r) = rest_t.strip_prefix('*') {
            let n: String = r
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = n.parse::<usize>() {
                lit = lit.repeat(n.min(16));
            }
        } else if let Some(r) = rest_t.strip_prefix('|') {
            let r = r.trim_start();
            if let Some(args) = r.strip_prefix("format(") {
                let n: String = args
                    .trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let (true, Ok(n)) = (lit.contains("%c"), n.parse::<u32>()) {
                    lit = lit.replace(
                        "%c",
                        &char::from_u32(n).map(String::from).unwrap_or_default(),
                    );
                }
            }
        }
        out.push_str(&lit);
        i = j + 1;
    }
    out
}

/// Names that only an escape from the template sandbox needs.
const DUNDER_HINTS: &[&str] = &[
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__import__",
    "__init__",
    "__base__",
    "__bases__",
    "__getattribute__",
    "__dict__",
    "__code__",
    "__loader__",
    "__spec__",
    "__reduce__",
    "__getitem__",
    "func_globals",
    "f_globals",
    "mro",
];
const MODULE_HINTS: &[&str] = &[
    "os.popen",
    "os.system",
    "subprocess",
    "popen(",
    "__import__",
    "eval(",
    "exec(",
    "importlib",
    "builtins",
];
/// Jinja features with no place in a chat template and a long record in template injections.
const PRIMITIVE_HINTS: &[(&str, &str)] = &[
    (
        "|attr",
        "the attr filter fetches attributes by computed name",
    ),
    (
        "| attr",
        "the attr filter fetches attributes by computed name",
    ),
    ("lipsum", "the lipsum global exposes __globals__"),
    ("cycler", "the cycler global exposes __init__.__globals__"),
    ("joiner", "the joiner global exposes __init__.__globals__"),
    (
        "self._",
        "self._TemplateReference__context reaches the render context",
    ),
    ("url_for", "url_for exposes __globals__"),
    ("get_flashed_messages", "exposes __globals__"),
    (
        "%c'|format",
        "builds characters from codes, a way to spell forbidden names",
    ),
    (
        "%c\"|format",
        "builds characters from codes, a way to spell forbidden names",
    ),
];

pub(crate) fn check_template(ctx: &mut Ctx<'_>, t: &str, key: &str, loc: &Location, at: usize) {
    let lits = literals(t);
    let joined: String = lits.concat();
    let reversed: Vec<String> = lits.iter().map(|l| l.chars().rev().collect()).collect();
    let decoded_whole = {
        let mut s = t.to_string();
        for l in &lits {
            s.push(' ');
            s.push_str(l);
        }
        s
    };
    let expanded = expanded_literals(t);
    let compact: String = decoded_whole
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut hits: Vec<String> = Vec::new();
    for hay in [&decoded_whole, &joined, &compact, &expanded]
        .into_iter()
        .chain(reversed.iter())
    {
        for h in DUNDER_HINTS.iter().chain(MODULE_HINTS.iter()) {
            let found = if *h == "mro" {
                hay.contains(".mro") || hay.contains("'mro'") || hay.contains("mro(")
            } else {
                hay.contains(h)
            };
            if found && !hits.iter().any(|x| x == h) {
                hits.push((*h).to_string());
            }
        }
    }
    if !hits.is_empty() {
        let mut f = ctx.finding(
            &rules::GGUF_TEMPLATE,
            loc.clone().at(at as u64),
            "gguf",
            format!("{key} reaches Python internals: {}", hits.join(", ")),
        );
        f.evidence = Some(t.chars().take(200).collect());
        f.impact = "rendering the template without a sandbox runs attacker code (llama-cpp-python < 0.2.72)".into();
        ctx.push(f);
        return;
    }
    let compact_lower = compact.to_lowercase();
    for (h, why) in PRIMITIVE_HINTS {
        let needle: String = h.chars().filter(|c| !c.is_whitespace()).collect();
        if compact_lower.contains(&needle) {
            let mut f = ctx.finding(
                &rules::GGUF_TEMPLATE,
                loc.clone().at(at as u64),
                "gguf",
                format!("{key} uses `{h}`: {why}"),
            );
            f.severity = Severity::High;
            f.evidence = Some(t.chars().take(200).collect());
            f.impact =
                "a building block of template sandbox escapes; chat templates do not need it"
                    .into();
            ctx.push(f);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanOptions;

    fn findings(t: &str) -> Vec<rampart_core::Finding> {
        let opts = ScanOptions::new();
        let mut ctx = Ctx::new(
            &opts,
            std::time::Instant::now() + std::time::Duration::from_secs(5),
        );
        check_template(
            &mut ctx,
            t,
            "tokenizer.chat_template",
            &Location::file("m.gguf"),
            0,
        );
        ctx.into_findings()
    }

    #[test]
    fn templates() {
        let benign = "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] }}{% endfor %}{% set ns = namespace(x=1) %}";
        assert!(findings(benign).is_empty());
        assert!(!findings("{{ ''.__class__.__mro__[1].__subclasses__() }}").is_empty());
        assert!(!findings("{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f') }}").is_empty());
        assert!(!findings("{% set a = '__cla' ~ 'ss__' %}{{ x|attr(a) }}").is_empty());
        assert!(!findings("{{ x|attr('__ssalc__'|reverse) }}").is_empty());
        assert!(!findings("{{ cycler.__init__.__globals__.os.popen('id').read() }}").is_empty());
        assert!(!findings("{{ x[('_' * 2) ~ 'class' ~ '_'*2] }}").is_empty());
        assert!(
            !findings(
                "{{ x[('%c'|format(95))*2 ~ 'globals' ~ '%c'|format(95) ~ '%c'|format(95)] }}"
            )
            .is_empty()
        );
    }
}
