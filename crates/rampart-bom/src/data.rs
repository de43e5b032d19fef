//! Dataset facts: record counts and columns of JSONL and CSV files computed from the bytes the
//! hashing pass reads anyway ([`Counter`]), and the footer of Parquet files ([`parquet`]).

use serde::Serialize;

/// Columns kept per dataset.
pub const MAX_COLUMNS: usize = 1_000;
/// JSONL records whose keys are read to find the columns (later records are only counted).
pub const SAMPLE_RECORDS: u64 = 1_000;
/// Longest JSONL line or CSV header kept for inspection.
pub const MAX_LINE: usize = 1 << 20;

/// What a dataset file says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataStats {
    /// `jsonl`, `csv`, `tsv` or `parquet`.
    pub format: String,
    /// Number of records (rows), when it could be determined.
    pub records: Option<u64>,
    /// Column names (JSONL: keys of the sampled records; each record's keys sorted, new keys
    /// appended as later records introduce them).
    pub columns: Vec<String>,
    /// JSONL lines among the sample that are not JSON objects.
    pub invalid_records: u64,
    /// Parquet row groups.
    pub row_groups: Option<u64>,
    /// Parquet `created_by`.
    pub created_by: Option<String>,
    /// Why facts are missing, if they are.
    pub note: Option<String>,
}

/// The dataset format a file name suggests.
pub fn format_of(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    if n.ends_with(".jsonl") || n.ends_with(".ndjson") {
        Some("jsonl")
    } else if n.ends_with(".csv") {
        Some("csv")
    } else if n.ends_with(".tsv") {
        Some("tsv")
    } else if n.ends_with(".parquet") {
        Some("parquet")
    } else {
        None
    }
}

/// A streaming counter fed with a file's bytes in order.
#[derive(Debug)]
pub enum Counter {
    /// JSON Lines.
    Jsonl(JsonlCounter),
    /// Comma- or tab-separated values (RFC 4180 quoting).
    Csv(CsvCounter),
    /// A prompt template: lines and template variables.
    Prompt(PromptCounter),
}

impl Counter {
    /// A counter for `format` (`jsonl`, `csv`, `tsv`); `None` for formats read otherwise.
    pub fn new(format: &str) -> Option<Counter> {
        match format {
            "jsonl" => Some(Counter::Jsonl(JsonlCounter::default())),
            "csv" => Some(Counter::Csv(CsvCounter::new(None))),
            "tsv" => Some(Counter::Csv(CsvCounter::new(Some(b'\t')))),
            "prompt" => Some(Counter::Prompt(PromptCounter::default())),
            _ => None,
        }
    }

    /// Feed the next bytes.
    pub fn feed(&mut self, b: &[u8]) {
        match self {
            Counter::Jsonl(c) => c.feed(b),
            Counter::Csv(c) => c.feed(b),
            Counter::Prompt(c) => c.feed(b),
        }
    }

    /// The facts, once every byte was fed.
    pub fn finish(self) -> DataStats {
        match self {
            Counter::Jsonl(c) => c.finish(),
            Counter::Csv(c) => c.finish(),
            Counter::Prompt(c) => c.finish(),
        }
    }
}

/// Longest prompt text examined for variables.
pub const MAX_PROMPT: usize = 1 << 20;

/// Keeps the first [`MAX_PROMPT`] bytes of a prompt and counts its lines.
#[derive(Debug, Default)]
pub struct PromptCounter {
    text: Vec<u8>,
    lines: u64,
    last: Option<u8>,
}

impl PromptCounter {
    fn feed(&mut self, b: &[u8]) {
        self.lines += b.iter().filter(|&&c| c == b'\n').count() as u64;
        if let Some(&l) = b.last() {
            self.last = Some(l);
        }
        let room = MAX_PROMPT.saturating_sub(self.text.len());
        self.text
            .extend_from_slice(b.get(..b.len().min(room)).unwrap_or_default());
    }

    fn finish(self) -> DataStats {
        let text = String::from_utf8_lossy(&self.text);
        let lines = self.lines + u64::from(self.last.is_some_and(|l| l != b'\n'));
        DataStats {
            format: "text".into(),
            records: Some(lines),
            columns: template_variables(&text),
            note: (self.text.len() >= MAX_PROMPT)
                .then(|| format!("variables read from the first {MAX_PROMPT} bytes only")),
            ..Default::default()
        }
    }
}

/// Variables of a prompt template: Jinja/Mustache `{{ name }}` and `{% for x in name %}` /
/// `{% if name %}`, and Python `str.format` `{name}` when the text has no `{{` at all.
pub fn template_variables(t: &str) -> Vec<String> {
    fn ident(s: &str) -> Option<&str> {
        let s = s.trim_start();
        let end = s
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(s.len(), |(i, _)| i);
        let id = s.get(..end)?;
        (id.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
        .then_some(id)
    }
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: &str| {
        const KEYWORDS: &[&str] = &["not", "true", "false", "none", "loop", "range", "raw"];
        if !KEYWORDS.contains(&v.to_ascii_lowercase().as_str())
            && !out.iter().any(|x| x == v)
            && out.len() < MAX_COLUMNS
        {
            out.push(v.to_string());
        }
    };
    let jinja = t.contains("{{") || t.contains("{%");
    if jinja {
        for part in t.split("{{").skip(1) {
            if let Some(v) = ident(part.trim_start_matches(['-', '#', '^', '/', '&', ' '])) {
                add(v);
            }
        }
        for part in t.split("{%").skip(1) {
            let p = part.trim_start_matches(['-', ' ']);
            let target = if let Some(r) = p.strip_prefix("for ") {
                r.split_once(" in ").map(|(_, x)| x)
            } else {
                p.strip_prefix("if ").or_else(|| p.strip_prefix("elif "))
            };
            if let Some(v) = target.and_then(ident) {
                add(v);
            }
        }
    } else {
        for part in t.split('{').skip(1) {
            if let Some(v) = ident(part)
                && part
                    .get(v.len()..)
                    .is_some_and(|r| r.starts_with('}') || r.starts_with(':') || r.starts_with('!'))
            {
                add(v);
            }
        }
    }
    out
}

/// Counts non-blank lines; reads the keys of the first [`SAMPLE_RECORDS`].
#[derive(Debug, Default)]
pub struct JsonlCounter {
    line: Vec<u8>,
    too_long: bool,
    content: bool,
    records: u64,
    invalid: u64,
    columns: Vec<String>,
}

impl JsonlCounter {
    fn feed(&mut self, b: &[u8]) {
        let mut rest = b;
        loop {
            let (part, done) = match memchr::memchr(b'\n', rest) {
                Some(i) => (rest.get(..i).unwrap_or_default(), true),
                None => (rest, false),
            };
            if !self.content && part.iter().any(|c| !c.is_ascii_whitespace()) {
                self.content = true;
            }
            if self.records < SAMPLE_RECORDS {
                if self.line.len() + part.len() <= MAX_LINE {
                    self.line.extend_from_slice(part);
                } else {
                    self.too_long = true;
                }
            }
            if !done {
                break;
            }
            self.end_line();
            rest = rest.get(part.len() + 1..).unwrap_or_default();
        }
    }

    fn end_line(&mut self) {
        if self.content {
            if self.records < SAMPLE_RECORDS {
                self.sample();
            }
            self.records += 1;
        }
        self.line.clear();
        self.too_long = false;
        self.content = false;
    }

    fn sample(&mut self) {
        if self.too_long {
            return;
        }
        match serde_json::from_slice::<serde_json::Value>(&self.line) {
            Ok(serde_json::Value::Object(m)) => {
                for k in m.keys() {
                    if self.columns.len() < MAX_COLUMNS && !self.columns.contains(k) {
                        self.columns.push(k.clone());
                    }
                }
            }
            _ => self.invalid += 1,
        }
    }

    fn finish(mut self) -> DataStats {
        self.end_line();
        DataStats {
            format: "jsonl".into(),
            records: Some(self.records),
            columns: self.columns,
            invalid_records: self.invalid,
            ..Default::default()
        }
    }
}

/// Counts records outside quotes; reads the header record.
#[derive(Debug)]
pub struct CsvCounter {
    delimiter: Option<u8>,
    quoted: bool,
    content: bool,
    records: u64,
    header: Vec<u8>,
    header_done: bool,
}

impl CsvCounter {
    fn new(delimiter: Option<u8>) -> Self {
        CsvCounter {
            delimiter,
            quoted: false,
            content: false,
            records: 0,
            header: Vec::new(),
            header_done: false,
        }
    }

    fn feed(&mut self, b: &[u8]) {
        // Jump between the only bytes that matter (SIMD search): inside quotes the next quote,
        // outside the next quote or newline. Keeps pace with the SHA-256 of the same bytes.
        let mut start = 0;
        let mut pos = 0;
        while pos < b.len() {
            let rest = b.get(pos..).unwrap_or_default();
            let next = if self.quoted {
                memchr::memchr(b'"', rest)
            } else {
                memchr::memchr2(b'"', b'\n', rest)
            }
            .map(|i| pos + i);
            let end = next.unwrap_or(b.len());
            if !self.content
                && b.get(pos..end)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| !matches!(c, b'\r' | b' ' | b'\t'))
            {
                self.content = true;
            }
            let Some(i) = next else { break };
            if b.get(i) == Some(&b'"') {
                self.quoted = !self.quoted;
                self.content = true;
            } else {
                if !self.header_done {
                    self.keep_header(b.get(start..i).unwrap_or_default());
                    if self.content {
                        self.header_done = true;
                    } else {
                        // A blank line before the header.
                        self.header.clear();
                    }
                }
                if self.content {
                    self.records += 1;
                }
                self.content = false;
                start = i + 1;
            }
            pos = i + 1;
        }
        if !self.header_done {
            self.keep_header(b.get(start..).unwrap_or_default());
        }
    }

    fn keep_header(&mut self, part: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.header.len());
        self.header
            .extend_from_slice(part.get(..part.len().min(room)).unwrap_or_default());
    }

    fn finish(mut self) -> DataStats {
        if self.content {
            self.records += 1;
        }
        let header = String::from_utf8_lossy(&self.header).into_owned();
        let delimiter = self.delimiter.unwrap_or_else(|| sniff(&header));
        let columns = split_record(&header, delimiter);
        DataStats {
            format: if delimiter == b'\t' { "tsv" } else { "csv" }.into(),
            // The first record is the header.
            records: Some(self.records.saturating_sub(1)),
            columns,
            note: self
                .quoted
                .then(|| "a quoted field is not closed at the end of the file".into()),
            ..Default::default()
        }
    }
}

/// The delimiter used most outside quotes in the header line.
fn sniff(header: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for c in header.bytes() {
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(slot) = counts.iter_mut().find(|(d, _)| *d == c) {
            slot.1 += 1;
        }
    }
    counts
        .iter()
        .copied()
        .max_by_key(|&(d, n)| (n, d == b','))
        .map_or(b',', |(d, _)| d)
}

fn split_record(line: &str, delimiter: u8) -> Vec<String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if quoted && chars.peek() == Some(&'"') {
                cur.push('"');
                chars.next();
            } else {
                quoted = !quoted;
            }
        } else if !quoted && c as u32 == u32::from(delimiter) {
            out.push(std::mem::take(&mut cur).trim().to_string());
            if out.len() >= MAX_COLUMNS {
                return out;
            }
        } else {
            cur.push(c);
        }
    }
    out.push(cur.trim().to_string());
    out
}

pub mod parquet {
    //! The Parquet footer (`FileMetaData`, Thrift compact protocol): rows, row groups, column
    //! paths and the writer. Hand-written because only these few fields are needed and the
    //! `parquet` crate would bring Arrow and a full decoder for hostile files we never decode.

    use super::{DataStats, MAX_COLUMNS};

    /// Largest footer read.
    pub const MAX_FOOTER: u64 = 64 << 20;
    const MAX_DEPTH: u32 = 32;

    /// Where the footer is: `(offset, length)` from the file's last 8 bytes.
    pub fn footer_range(file_len: u64, tail8: &[u8]) -> Result<(u64, u64), String> {
        if file_len < 12 {
            return Err("too short to be Parquet".into());
        }
        let [a, b, c, d, magic @ ..] = tail8 else {
            return Err("too short to be Parquet".into());
        };
        if magic != b"PAR1" {
            return Err("no PAR1 magic at the end (encrypted footers are not read)".into());
        }
        let len = u64::from(u32::from_le_bytes([*a, *b, *c, *d]));
        if len > MAX_FOOTER {
            return Err(format!(
                "footer of {len} bytes exceeds the {MAX_FOOTER}-byte limit"
            ));
        }
        if len + 12 > file_len {
            return Err(format!("footer length {len} exceeds the file"));
        }
        Ok((file_len - 8 - len, len))
    }

    struct Rd<'a> {
        b: &'a [u8],
        p: usize,
    }

    impl<'a> Rd<'a> {
        fn byte(&mut self) -> Result<u8, String> {
            let x = *self.b.get(self.p).ok_or("footer ends early")?;
            self.p += 1;
            Ok(x)
        }
        fn varint(&mut self) -> Result<u64, String> {
            let mut v = 0u64;
            for shift in (0..70).step_by(7) {
                let x = self.byte()?;
                v |= u64::from(x & 0x7f).checked_shl(shift).unwrap_or(0);
                if x & 0x80 == 0 {
                    return Ok(v);
                }
            }
            Err("varint too long".into())
        }
        fn zigzag(&mut self) -> Result<i64, String> {
            let v = self.varint()?;
            Ok((v >> 1) as i64 ^ -((v & 1) as i64))
        }
        fn bytes(&mut self) -> Result<&'a [u8], String> {
            let n = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
            let end = self.p.checked_add(n).ok_or("length overflow")?;
            let s = self
                .b
                .get(self.p..end)
                .ok_or("string runs past the footer")?;
            self.p = end;
            Ok(s)
        }
        /// A field header: `(id, type)`, `None` at STOP.
        fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
            let h = self.byte()?;
            if h == 0 {
                return Ok(None);
            }
            let delta = h >> 4;
            let id = if delta == 0 {
                i16::try_from(self.zigzag()?).map_err(|_| "field id out of range")?
            } else {
                last.checked_add(i16::from(delta))
                    .ok_or("field id overflow")?
            };
            *last = id;
            Ok(Some((id, h & 0x0f)))
        }
        /// A list header: `(count, element type)`, the count bounded by the bytes left.
        fn list(&mut self) -> Result<(u64, u8), String> {
            let h = self.byte()?;
            let n = match h >> 4 {
                15 => self.varint()?,
                n => u64::from(n),
            };
            if n > (self.b.len() - self.p) as u64 {
                return Err(format!("list of {n} elements exceeds the footer"));
            }
            Ok((n, h & 0x0f))
        }
        fn skip(&mut self, ty: u8, depth: u32) -> Result<(), String> {
            if depth > MAX_DEPTH {
                return Err("structures nested too deep".into());
            }
            match ty {
                1 | 2 => {}
                3 => {
                    self.byte()?;
                }
                4..=6 => {
                    self.varint()?;
                }
                7 => {
                    for _ in 0..8 {
                        self.byte()?;
                    }
                }
                8 => {
                    self.bytes()?;
                }
                9 | 10 => {
                    let (n, et) = self.list()?;
                    for _ in 0..n {
                        if et == 1 || et == 2 {
                            self.byte()?;
                        } else {
                            self.skip(et, depth + 1)?;
                        }
                    }
                }
                11 => {
                    let n = self.varint()?;
                    if n > (self.b.len() - self.p) as u64 {
                        return Err("map exceeds the footer".into());
                    }
                    if n > 0 {
                        let kv = self.byte()?;
                        for _ in 0..n {
                            self.skip(kv >> 4, depth + 1)?;
                            self.skip(kv & 0x0f, depth + 1)?;
                        }
                    }
                }
                12 => {
                    let mut last = 0;
                    while let Some((_, t)) = self.field(&mut last)? {
                        self.skip(t, depth + 1)?;
                    }
                }
                t => return Err(format!("unknown thrift type {t}")),
            }
            Ok(())
        }
    }

    /// One schema element: name and number of children.
    fn schema_element(r: &mut Rd<'_>) -> Result<(String, u64), String> {
        let (mut name, mut children) = (String::new(), 0u64);
        let mut last = 0;
        while let Some((id, t)) = r.field(&mut last)? {
            match (id, t) {
                (4, 8) => name = String::from_utf8_lossy(r.bytes()?).into_owned(),
                (5, 5) => children = u64::try_from(r.zigzag()?).unwrap_or(0),
                _ => r.skip(t, 1)?,
            }
        }
        Ok((name, children))
    }

    /// Parse a `FileMetaData` footer.
    pub fn parse_footer(b: &[u8]) -> Result<DataStats, String> {
        let mut r = Rd { b, p: 0 };
        let mut st = DataStats {
            format: "parquet".into(),
            ..Default::default()
        };
        let mut last = 0;
        while let Some((id, t)) = r.field(&mut last)? {
            match (id, t) {
                (2, 9) => {
                    let (n, et) = r.list()?;
                    if et != 12 {
                        return Err("schema is not a list of structs".into());
                    }
                    // Depth-first: a stack of (path, children left) turns elements into paths.
                    let mut stack: Vec<(String, u64)> = Vec::new();
                    for i in 0..n {
                        let (name, children) = schema_element(&mut r)?;
                        while stack.last().is_some_and(|(_, left)| *left == 0) {
                            stack.pop();
                        }
                        if let Some((_, left)) = stack.last_mut() {
                            *left -= 1;
                        }
                        if i == 0 {
                            stack.push((String::new(), children));
                            continue;
                        }
                        let parent = stack.last().map(|(p, _)| p.as_str()).unwrap_or("");
                        let path = if parent.is_empty() {
                            name
                        } else {
                            format!("{parent}.{name}")
                        };
                        if children == 0 {
                            if st.columns.len() < MAX_COLUMNS {
                                st.columns.push(path);
                            }
                        } else if stack.len() < MAX_DEPTH as usize {
                            stack.push((path, children));
                        } else {
                            return Err("schema nested too deep".into());
                        }
                    }
                }
                (3, 6) => st.records = u64::try_from(r.zigzag()?).ok(),
                (4, 9) => {
                    let (n, et) = r.list()?;
                    for _ in 0..n {
                        r.skip(et, 1)?;
                    }
                    st.row_groups = Some(n);
                }
                (6, 8) => {
                    st.created_by = Some(
                        String::from_utf8_lossy(r.bytes()?)
                            .chars()
                            .take(256)
                            .collect(),
                    )
                }
                _ => r.skip(t, 0)?,
            }
        }
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(format: &str, data: &[u8], chunk: usize) -> DataStats {
        let mut c = Counter::new(format).unwrap();
        for part in data.chunks(chunk.max(1)) {
            c.feed(part);
        }
        c.finish()
    }

    #[test]
    fn jsonl_counts_and_columns_across_chunk_boundaries() {
        let data = b"{\"text\": \"a\", \"label\": 1}\n\n  \n{\"text\": \"b\", \"src\": \"x\"}\nnot json\n{\"text\":\"c\"}";
        for chunk in [1, 2, 3, 7, 1000] {
            let s = count("jsonl", data, chunk);
            assert_eq!(s.records, Some(4), "chunk {chunk}");
            assert_eq!(s.columns, ["label", "text", "src"]);
            assert_eq!(s.invalid_records, 1);
        }
    }

    #[test]
    fn csv_counts_quoted_newlines_and_reads_the_header() {
        let data = b"id,\"text, with comma\",label\r\n1,\"line one\nline two\",a\r\n2,plain,b\r\n\r\n3,\"\"\"quoted\"\"\",c";
        for chunk in [1, 4, 1000] {
            let s = count("csv", data, chunk);
            assert_eq!(s.records, Some(3), "chunk {chunk}");
            assert_eq!(s.columns, ["id", "text, with comma", "label"]);
            assert!(s.note.is_none());
        }
        let s = count("csv", b"a;b;c\n1;2;3\n", 3);
        assert_eq!(s.columns, ["a", "b", "c"]);
        let s = count("tsv", b"a\tb\n1\t2\n", 3);
        assert_eq!((s.columns.len(), s.records), (2, Some(1)));
        assert!(count("csv", b"a,b\n1,\"open\n", 2).note.is_some());
        assert_eq!(count("csv", b"", 2).records, Some(0));
    }

    proptest::proptest! {
        /// The counters see files in whatever chunks the hasher reads: the result may not
        /// depend on where the chunks are cut.
        #[test]
        fn chunking_does_not_change_the_facts(
            data in proptest::collection::vec(proptest::sample::select(b"{}\",:a1 \n\r\t".to_vec()), 0..400),
            cut in 0usize..400,
        ) {
            for f in ["jsonl", "csv", "tsv", "prompt"] {
                let whole = count(f, &data, data.len().max(1));
                let mut c = Counter::new(f).unwrap();
                let cut = cut.min(data.len());
                c.feed(&data[..cut]);
                c.feed(&data[cut..]);
                proptest::prop_assert_eq!(c.finish(), whole.clone());
                proptest::prop_assert_eq!(count(f, &data, 1), whole);
            }
        }
    }

    #[test]
    fn prompt_variables() {
        assert_eq!(
            template_variables(
                "Hi {{ user.name }}! {% for d in documents %}{{d}}{% endfor %}{% if not x %}"
            ),
            ["user", "d", "documents"]
        );
        assert_eq!(
            template_variables("Answer {question} using {context!r}; JSON: {\"a\": 1}"),
            ["question", "context"]
        );
        let s = count("prompt", b"line one\nline {two}\n", 3);
        assert_eq!((s.records, s.columns), (Some(2), vec!["two".to_string()]));
        assert_eq!(count("prompt", b"no newline", 3).records, Some(1));
    }

    #[test]
    fn parquet_footer_errors_are_clear() {
        assert!(parquet::footer_range(4, b"").is_err());
        assert!(parquet::footer_range(100, b"\x10\0\0\0PAR0").is_err());
        assert!(parquet::footer_range(100, b"\xff\xff\0\0PAR1").is_err());
        assert_eq!(
            parquet::footer_range(100, b"\x10\0\0\0PAR1").unwrap(),
            (76, 16)
        );
        assert!(parquet::parse_footer(b"\x15").is_err());
        assert!(parquet::parse_footer(b"\x19\xfc\xff\xff\xff\x0f").is_err());
    }
}
