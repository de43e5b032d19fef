//! The symbolic pickle machine: CPython's `_pickle.c` unpickler, opcode for opcode, with every
//! side effect replaced by an [`Obs`]ervation.
//!
//! Where CPython's C unpickler (the one `pickle.load` uses) and a naïve reading differ, this
//! follows CPython: `readline`-style arguments must end in `\n`, `PUT`/`GET` accept what
//! `PyLong_FromString` accepts, the stack has a mark fence, `STACK_GLOBAL` needs two `str`s, and an
//! error stops the machine exactly where CPython would stop, after executing everything before.

use super::value::{CallKind, GlobalRef, NodeKind, V};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

/// Limits and switches of one run.
#[derive(Debug, Clone)]
pub struct MachineOptions {
    /// Maximum opcodes per pickle.
    pub max_ops: u64,
    /// Maximum stack length.
    pub max_stack: usize,
    /// Maximum memo entries.
    pub max_memo: usize,
    /// Stop when this instant passes.
    pub deadline: Option<Instant>,
    /// Follow joblib's inline NumPy array layout after `BUILD` of a `NumpyArrayWrapper`.
    pub joblib: bool,
    /// Record an annotated opcode listing.
    pub trace: bool,
    /// Maximum nesting of pickles embedded in pickles (joblib object arrays).
    pub max_nested: u32,
}

impl Default for MachineOptions {
    fn default() -> Self {
        MachineOptions {
            max_ops: 200_000_000,
            max_stack: 10_000_000,
            max_memo: 10_000_000,
            deadline: None,
            joblib: true,
            trace: false,
            max_nested: 4,
        }
    }
}

/// Something the unpickler would do that matters for safety.
#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "complete record of the machine's effects; not every field feeds a rule yet, all are in Debug output"
)]
pub enum Obs {
    /// `find_class(module, name)`: imports `module` and fetches `name`.
    Import {
        global: Rc<GlobalRef>,
        /// Names as written in the file, before Python 2 → 3 fixing.
        raw: Option<(String, String)>,
        opcode: &'static str,
    },
    /// A callable is called.
    Call {
        callee: V,
        args: V,
        offset: usize,
        kind: CallKind,
    },
    /// `BUILD`: `__setstate__(state)` or attribute assignment on `target`.
    Build { target: V, state: V, offset: usize },
    /// `PERSID`/`BINPERSID`.
    Persistent { pid: V, offset: usize },
    /// `EXT1/2/4`: a copyreg extension code.
    Ext { code: i64, offset: usize },
    /// `STACK_GLOBAL` whose operands are not constant strings.
    DynamicGlobal { module: V, name: V, offset: usize },
    /// A construct where a naïve parser may read something other than CPython does.
    Differential { offset: usize, msg: String },
    /// An embedded array in a joblib stream was skipped (bytes not interpreted as opcodes).
    JoblibArray {
        offset: usize,
        bytes: u64,
        object: bool,
    },
}

/// How a pickle ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// `STOP` at this offset.
    Stop,
    /// CPython would raise here (everything before has run).
    Error { offset: usize, msg: String },
    /// A Rampart limit stopped the analysis here; the rest is unexamined.
    Limit { offset: usize, msg: String },
}

/// One line of the annotated opcode listing.
#[derive(Debug, Clone)]
pub struct TraceLine {
    pub offset: usize,
    pub opcode: &'static str,
    pub arg: String,
    pub note: String,
    pub depth: usize,
    /// The global this opcode imported or resolved, for classification in listings.
    pub global: Option<Rc<GlobalRef>>,
}

/// The result of running one pickle.
#[derive(Debug)]
#[allow(
    dead_code,
    reason = "complete record of the machine's effects; not every field feeds a rule yet, all are in Debug output"
)]
pub struct Run {
    pub start: usize,
    /// Offset just after the last byte consumed.
    pub next: usize,
    pub end: End,
    pub protocol: u8,
    pub obs: Vec<Obs>,
    pub ops: u64,
    pub trace: Vec<TraceLine>,
    pub result: Option<V>,
}

struct M<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: HashMap<u64, V>,
    proto: u8,
    obs: Vec<Obs>,
    opts: &'a MachineOptions,
    trace: Vec<TraceLine>,
    ops: u64,
    nested: u32,
    op_start: usize,
}

type R<T> = Result<T, End>;

/// Python 2 → 3 renames applied by `find_class` (CPython `_compat_pickle`), restricted to the
/// entries that matter for classification. Applied whatever the protocol: a Python 2 style
/// pickle read with `fix_imports` reaches the Python 3 name.
fn fix_import(module: &str, name: &str) -> Option<(&'static str, &'static str)> {
    let m: Option<&'static str> = match (module, name) {
        ("__builtin__", "xrange") => return Some(("builtins", "range")),
        ("__builtin__", "reduce") => return Some(("functools", "reduce")),
        ("__builtin__", "intern") => return Some(("sys", "intern")),
        ("__builtin__", "unichr") => return Some(("builtins", "chr")),
        ("__builtin__", "unicode") => return Some(("builtins", "str")),
        ("__builtin__", "long") => return Some(("builtins", "int")),
        ("itertools", "izip") => return Some(("builtins", "zip")),
        ("itertools", "imap") => return Some(("builtins", "map")),
        ("itertools", "ifilter") => return Some(("builtins", "filter")),
        ("urllib", "urlopen") => return Some(("urllib.request", "urlopen")),
        ("urllib", "urlretrieve") => return Some(("urllib.request", "urlretrieve")),
        ("_multiprocessing", "Connection") => {
            return Some(("multiprocessing.connection", "Connection"));
        }
        ("multiprocessing.process", "Process") => {
            return Some(("multiprocessing.context", "Process"));
        }
        ("multiprocessing.forking", "Popen") => {
            return Some(("multiprocessing.popen_fork", "Popen"));
        }
        (_, _) => match module {
            "__builtin__" | "exceptions" => Some("builtins"),
            "copy_reg" => Some("copyreg"),
            "Queue" => Some("queue"),
            "SocketServer" => Some("socketserver"),
            "ConfigParser" => Some("configparser"),
            "repr" => Some("reprlib"),
            "thread" => Some("_thread"),
            "dummy_thread" => Some("_dummy_thread"),
            "commands" => Some("subprocess"),
            "urllib2" => Some("urllib.request"),
            "urlparse" => Some("urllib.parse"),
            "httplib" => Some("http.client"),
            "xmlrpclib" => Some("xmlrpc.client"),
            "SimpleXMLRPCServer" | "DocXMLRPCServer" => Some("xmlrpc.server"),
            "BaseHTTPServer" | "SimpleHTTPServer" | "CGIHTTPServer" => Some("http.server"),
            "cPickle" => Some("pickle"),
            "cStringIO" | "StringIO" => Some("io"),
            "UserDict" | "UserList" | "UserString" => Some("collections"),
            "anydbm" | "whichdb" => Some("dbm"),
            "_winreg" => Some("winreg"),
            "Tkinter" => Some("tkinter"),
            "test.test_support" => Some("test.support"),
            "_abcoll" => Some("collections.abc"),
            "cookielib" => Some("http.cookiejar"),
            "Cookie" => Some("http.cookies"),
            _ => None,
        },
    };
    m.map(|m| {
        // Leak-free: the name stays the caller's; only the module is remapped.
        (m, "")
    })
}

/// Parse an integer the way `PyLong_FromString(s, NULL, 10)` does (used by `PUT`, `GET`, `INT`,
/// `LONG`): surrounding ASCII whitespace, an optional sign, digits with single underscores
/// between them. Returns the value (None when too big for i128) and whether the text was in
/// canonical form.
fn py_int(text: &[u8]) -> Option<(Option<i128>, bool)> {
    let s = std::str::from_utf8(text).ok()?;
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut v: Option<i128> = Some(0);
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(10)?;
        v = v
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(i128::from(d)));
    }
    let v = if neg { v.map(|v| -v) } else { v };
    let canonical = t == s && !digits.contains('_') && !t.starts_with('+');
    Some((v, canonical))
}

/// `codecs.escape_decode` as used by the `STRING` opcode.
fn escape_decode(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            return Err("\\ at end of string".into());
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(11),
            b'a' => out.push(7),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let h = s.get(i..i + 2).ok_or("truncated \\x escape")?;
                let h = std::str::from_utf8(h).map_err(|_| "invalid \\x escape")?;
                let v = u8::from_str_radix(h, 16).map_err(|_| "invalid \\x escape")?;
                out.push(v);
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// `raw-unicode-escape` decoding used by the `UNICODE` opcode.
fn raw_unicode_escape(s: &[u8]) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            let (len, skip) = match s.get(i + 1) {
                Some(b'u') => (4, 2),
                Some(b'U') => (8, 2),
                _ => (0, 0),
            };
            if len > 0 {
                let h = s
                    .get(i + skip..i + skip + len)
                    .ok_or("truncated \\uXXXX escape")?;
                let h = std::str::from_utf8(h).map_err(|_| "invalid \\u escape")?;
                let v = u32::from_str_radix(h, 16).map_err(|_| "invalid \\u escape")?;
                // Lone surrogates are legal in Python str; map them to U+FFFD for display.
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
                i += skip + len;
                continue;
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    Ok(out)
}

/// UTF-8 with `surrogatepass`, as `BINUNICODE` decodes.
fn utf8_surrogatepass(b: &[u8]) -> Option<String> {
    match std::str::from_utf8(b) {
        Ok(s) => Some(s.to_string()),
        Err(_) => {
            // Accept encoded surrogates (ED A0..BF xx) like CPython, replacing them for display.
            let mut out = String::new();
            let mut i = 0;
            while i < b.len() {
                match std::str::from_utf8(b.get(i..)?) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        out.push_str(std::str::from_utf8(b.get(i..i + good)?).ok()?);
                        i += good;
                        match b.get(i..i + 3) {
                            Some([0xED, 0xA0..=0xBF, 0x80..=0xBF]) => {
                                out.push('\u{FFFD}');
                                i += 3;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            Some(out)
        }
    }
}

impl<'a> M<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(End::Error {
            offset: self.op_start,
            msg: msg.into(),
        })
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n);
        match end.and_then(|e| self.data.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => self.err("pickle data was truncated"),
        }
    }

    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn u16(&mut self) -> R<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> R<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i32(&mut self) -> R<i32> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> R<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-prefixed payload; the length is checked against what remains before any copy.
    fn payload(&mut self, n: u64) -> R<&'a [u8]> {
        let remaining = self.data.len().saturating_sub(self.pos) as u64;
        if n > remaining {
            return self.err(format!(
                "declared length {n} exceeds the {remaining} bytes left (pickle data was truncated)"
            ));
        }
        self.take(n as usize)
    }

    /// A `readline()` argument without its `\n`.
    fn line(&mut self) -> R<&'a [u8]> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let l = rest.get(..i).unwrap_or(&[]);
                self.pos += i + 1;
                Ok(l)
            }
            None => self.err("pickle data was truncated (line argument without newline)"),
        }
    }

    fn push(&mut self, v: V) -> R<()> {
        if self.stack.len() >= self.opts.max_stack {
            return Err(End::Limit {
                offset: self.op_start,
                msg: format!("stack exceeds {} entries", self.opts.max_stack),
            });
        }
        self.stack.push(v);
        Ok(())
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> R<V> {
        if self.stack.len() <= self.fence() {
            return self.err("unpickling stack underflow");
        }
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => self.err("unpickling stack underflow"),
        }
    }

    fn top(&self) -> R<V> {
        if self.stack.len() <= self.fence() {
            return self.err("unpickling stack underflow");
        }
        match self.stack.last() {
            Some(v) => Ok(v.clone()),
            None => self.err("unpickling stack underflow"),
        }
    }

    fn pop_mark(&mut self) -> R<Vec<V>> {
        let Some(m) = self.marks.pop() else {
            return self.err("could not find MARK");
        };
        let m = m.min(self.stack.len());
        Ok(self.stack.split_off(m))
    }

    fn memo_put(&mut self, key: u64, v: V) -> R<()> {
        if self.memo.len() >= self.opts.max_memo && !self.memo.contains_key(&key) {
            return Err(End::Limit {
                offset: self.op_start,
                msg: format!("memo exceeds {} entries", self.opts.max_memo),
            });
        }
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> R<()> {
        match self.memo.get(&key) {
            Some(v) => {
                let v = v.clone();
                self.push(v)
            }
            None => self.err(format!("Memo value not found at index {key}")),
        }
    }

    fn line_index(&mut self, what: &str) -> R<u64> {
        let l = self.line()?;
        match py_int(l) {
            Some((Some(v), canonical)) => {
                if !canonical {
                    self.obs.push(Obs::Differential {
                        offset: self.op_start,
                        msg: format!(
                            "{what} index written as {:?}: CPython accepts it, strict parsers do not",
                            String::from_utf8_lossy(l)
                        ),
                    });
                }
                if v < 0 {
                    return self.err(format!("negative {what} argument"));
                }
                u64::try_from(v).or_else(|_| self.err(format!("{what} index too large")))
            }
            _ => self.err(format!(
                "invalid literal for int(): {:?}",
                String::from_utf8_lossy(l)
            )),
        }
    }

    /// Annotate the current listing line; the text is only built when a listing is wanted.
    fn note(&mut self, text: impl FnOnce() -> (String, String)) {
        if !self.opts.trace {
            return;
        }
        let (arg, note) = text();
        if let Some(t) = self.trace.last_mut() {
            if !arg.is_empty() {
                t.arg = arg;
            }
            if !note.is_empty() {
                t.note = note;
            }
        }
    }

    fn set_trace_global(&mut self, g: &Rc<GlobalRef>) {
        if self.opts.trace
            && let Some(t) = self.trace.last_mut()
        {
            t.global = Some(g.clone());
        }
    }

    fn import(&mut self, module: &str, name: &str, opcode: &'static str) -> R<V> {
        for part in [module, name] {
            if part
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\0')
            {
                self.obs.push(Obs::Differential {
                    offset: self.op_start,
                    msg: format!(
                        "{opcode} name {:?} contains whitespace or control characters",
                        format!("{module} {name}")
                    ),
                });
            }
        }
        let (m, n, raw) = match fix_import(module, name) {
            Some((fm, fnm)) => {
                let n = if fnm.is_empty() { name } else { fnm };
                (
                    fm.to_string(),
                    n.to_string(),
                    Some((module.to_string(), name.to_string())),
                )
            }
            None => (module.to_string(), name.to_string(), None),
        };
        let g = Rc::new(GlobalRef {
            module: m.into(),
            name: n.into(),
            offset: self.op_start,
        });
        self.note(|| (String::new(), format!("import {}", g.qualified())));
        self.set_trace_global(&g);
        self.obs.push(Obs::Import {
            global: g.clone(),
            raw,
            opcode,
        });
        Ok(V::Global(g))
    }

    /// Record a call and push its symbolic result. Calls that only fetch something by name
    /// (`getattr`, `importlib.import_module`, …) yield a global, so that the rest of the pickle
    /// is judged by what was really reached.
    fn call(&mut self, callee: V, args: V, kind: CallKind) -> R<()> {
        self.obs.push(Obs::Call {
            callee: callee.clone(),
            args: args.clone(),
            offset: self.op_start,
            kind,
        });
        let argv = args.seq_items().unwrap_or_default();
        if let V::Global(g) = &callee {
            let q = g.qualified();
            let resolved: Option<(String, String)> = match q.as_str() {
                "builtins.getattr" | "operator.attrgetter" => match argv.as_slice() {
                    [V::Global(base), V::Str(attr), ..] => {
                        let name = if base.name.is_empty() {
                            attr.to_string()
                        } else {
                            format!("{}.{}", base.name, attr)
                        };
                        Some((base.module.to_string(), name))
                    }
                    _ => None,
                },
                "importlib.import_module" | "builtins.__import__" => match argv.first() {
                    Some(V::Str(m)) => Some((m.to_string(), String::new())),
                    _ => None,
                },
                "pkgutil.resolve_name" => match argv.first() {
                    Some(V::Str(s)) => Some(match s.split_once(':') {
                        Some((m, n)) => (m.to_string(), n.to_string()),
                        None => match s.rsplit_once('.') {
                            Some((m, n)) => (m.to_string(), n.to_string()),
                            None => (s.to_string(), String::new()),
                        },
                    }),
                    _ => None,
                },
                _ => None,
            };
            if let Some((m, n)) = resolved {
                let g2 = Rc::new(GlobalRef {
                    module: m.into(),
                    name: n.into(),
                    offset: self.op_start,
                });
                self.note(|| {
                    (
                        String::new(),
                        format!("resolves {} via {q}", g2.qualified()),
                    )
                });
                self.set_trace_global(&g2);
                self.obs.push(Obs::Import {
                    global: g2.clone(),
                    raw: None,
                    opcode: "getattr",
                });
                return self.push(V::Global(g2));
            }
            self.note(|| (String::new(), format!("call {}", callee.repr())));
        } else {
            self.note(|| (String::new(), format!("call {}", callee.repr())));
        }
        let node = V::node(NodeKind::Call(kind), vec![callee, args], self.op_start);
        self.push(node)
    }

    fn check_time(&self) -> R<()> {
        if let Some(d) = self.opts.deadline
            && Instant::now() > d
        {
            return Err(End::Limit {
                offset: self.op_start,
                msg: "time limit reached".into(),
            });
        }
        Ok(())
    }

    fn run(&mut self) -> R<V> {
        loop {
            self.ops += 1;
            if self.ops > self.opts.max_ops {
                return Err(End::Limit {
                    offset: self.pos,
                    msg: format!("more than {} opcodes", self.opts.max_ops),
                });
            }
            if self.ops.is_multiple_of(65_536) {
                self.check_time()?;
            }
            self.op_start = self.pos;
            let op = match self.data.get(self.pos) {
                Some(&b) => b,
                None => return self.err("pickle data was truncated (no STOP opcode)"),
            };
            self.pos += 1;
            let name = opcode_name(op);
            if self.opts.trace {
                self.trace.push(TraceLine {
                    offset: self.op_start,
                    opcode: name,
                    arg: String::new(),
                    note: String::new(),
                    depth: self.marks.len(),
                    global: None,
                });
            }
            match op {
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => {
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?;
                    self.push(v)?;
                }
                0x80 => {
                    let p = self.u8()?;
                    self.note(|| (p.to_string(), String::new()));
                    if p > 5 {
                        return self.err(format!("unsupported pickle protocol: {p}"));
                    }
                    self.proto = p;
                }
                0x95 => {
                    let n = self.u64()?;
                    self.note(|| (n.to_string(), String::new()));
                    let remaining = self.data.len().saturating_sub(self.pos) as u64;
                    if n > remaining {
                        return self.err("pickle data was truncated (frame)");
                    }
                }
                b'F' => {
                    let l = self.line()?;
                    let s = String::from_utf8_lossy(l);
                    let v = s.trim().parse::<f64>().or_else(|_| {
                        self.err(format!("could not convert string to float: {s:?}"))
                    })?;
                    self.push(V::Float(v))?;
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(V::Float(f64::from_be_bytes(a)))?;
                }
                b'I' => {
                    let l = self.line()?;
                    let v = match l {
                        b"00" => V::Bool(false),
                        b"01" => V::Bool(true),
                        _ => match py_int(l) {
                            Some((Some(v), _)) => i64::try_from(v).map(V::Int).unwrap_or(V::BigInt),
                            Some((None, _)) => V::BigInt,
                            None => {
                                return self.err(format!(
                                    "invalid literal for int(): {:?}",
                                    String::from_utf8_lossy(l)
                                ));
                            }
                        },
                    };
                    self.note(|| (v.repr(), String::new()));
                    self.push(v)?;
                }
                b'J' => {
                    let v = self.i32()?;
                    self.note(|| (v.to_string(), String::new()));
                    self.push(V::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.u8()?;
                    self.note(|| (v.to_string(), String::new()));
                    self.push(V::Int(i64::from(v)))?;
                }
                b'M' => {
                    let v = self.u16()?;
                    self.note(|| (v.to_string(), String::new()));
                    self.push(V::Int(i64::from(v)))?;
                }
                b'L' => {
                    let l = self.line()?;
                    let l = l.strip_suffix(b"L").unwrap_or(l);
                    let v = match py_int(l) {
                        Some((Some(v), _)) => i64::try_from(v).map(V::Int).unwrap_or(V::BigInt),
                        Some((None, _)) => V::BigInt,
                        None => return self.err("invalid LONG literal"),
                    };
                    self.push(v)?;
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        u64::from(self.u8()?)
                    } else {
                        let n = self.i32()?;
                        if n < 0 {
                            return self.err("LONG pickle has negative byte count");
                        }
                        n as u64
                    };
                    let b = self.payload(n)?;
                    let v = if b.len() <= 8 {
                        let mut a = [0u8; 8];
                        let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                            0xff
                        } else {
                            0
                        };
                        a.fill(fill);
                        for (i, x) in b.iter().enumerate() {
                            if let Some(slot) = a.get_mut(i) {
                                *slot = *x;
                            }
                        }
                        V::Int(i64::from_le_bytes(a))
                    } else {
                        V::BigInt
                    };
                    self.push(v)?;
                }
                b'N' => self.push(V::None)?,
                0x88 => self.push(V::Bool(true))?,
                0x89 => self.push(V::Bool(false))?,
                b'S' => {
                    let l = self.line()?;
                    let inner = match (l.first(), l.last()) {
                        (Some(&a), Some(&b))
                            if l.len() >= 2 && a == b && (a == b'\'' || a == b'"') =>
                        {
                            l.get(1..l.len() - 1).unwrap_or(&[])
                        }
                        _ => return self.err("the STRING opcode argument must be quoted"),
                    };
                    let bytes = match escape_decode(inner) {
                        Ok(b) => b,
                        Err(e) => return self.err(format!("STRING: {e}")),
                    };
                    let v = self.py2_str(bytes)?;
                    self.note(|| (v.repr(), String::new()));
                    self.push(v)?;
                }
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        let n = self.i32()?;
                        if n < 0 {
                            return self.err("BINSTRING pickle has negative byte count");
                        }
                        n as u64
                    } else {
                        u64::from(self.u8()?)
                    };
                    let b = self.payload(n)?.to_vec();
                    let v = self.py2_str(b)?;
                    self.note(|| (v.repr(), String::new()));
                    self.push(v)?;
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => u64::from(self.u32()?),
                        b'C' => u64::from(self.u8()?),
                        _ => self.u64()?,
                    };
                    let b = self.payload(n)?;
                    self.note(|| (format!("<{} bytes>", b.len()), String::new()));
                    self.push(V::Bytes(Rc::from(b)))?;
                }
                b'V' => {
                    let l = self.line()?;
                    let s = match raw_unicode_escape(l) {
                        Ok(s) => s,
                        Err(e) => return self.err(format!("UNICODE: {e}")),
                    };
                    let v = V::Str(s.into());
                    self.note(|| (v.repr(), String::new()));
                    self.push(v)?;
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => u64::from(self.u32()?),
                        0x8c => u64::from(self.u8()?),
                        _ => self.u64()?,
                    };
                    let b = self.payload(n)?;
                    let Some(s) = utf8_surrogatepass(b) else {
                        return self.err("'utf-8' codec can't decode BINUNICODE argument");
                    };
                    let v = V::Str(s.into());
                    self.note(|| (v.repr(), String::new()));
                    self.push(v)?;
                }
                b')' => self.push(V::node(NodeKind::Tuple, vec![], self.op_start))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(V::node(NodeKind::Tuple, items, self.op_start))?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(V::node(NodeKind::Tuple, items, self.op_start))?;
                }
                b']' => self.push(V::node(NodeKind::List, vec![], self.op_start))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(V::node(NodeKind::List, items, self.op_start))?;
                }
                b'}' => self.push(V::node(NodeKind::Dict, vec![], self.op_start))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return self.err("odd number of items for DICT");
                    }
                    self.push(V::node(NodeKind::Dict, items, self.op_start))?;
                }
                0x8f => self.push(V::node(NodeKind::Set, vec![], self.op_start))?,
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(V::node(NodeKind::FrozenSet, items, self.op_start))?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let target = self.top()?;
                    self.extend(&target, vec![v], NodeKind::List, "append")?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.extend(&target, items, NodeKind::List, "extend")?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = self.top()?;
                    self.extend(&target, vec![k, v], NodeKind::Dict, "__setitem__")?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return self.err("odd number of items for SETITEMS");
                    }
                    let target = self.top()?;
                    self.extend(&target, items, NodeKind::Dict, "__setitem__")?;
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.extend(&target, items, NodeKind::Set, "add")?;
                }
                b'p' => {
                    let k = self.line_index("PUT")?;
                    let v = self.top()?;
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_put(k, v)?;
                }
                b'q' => {
                    let k = u64::from(self.u8()?);
                    let v = self.top()?;
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_put(k, v)?;
                }
                b'r' => {
                    let k = self.i32()?;
                    if k < 0 {
                        return self.err("negative LONG_BINPUT argument");
                    }
                    let v = self.top()?;
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_put(k as u64, v)?;
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    let v = self.top()?;
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_put(k, v)?;
                }
                b'g' => {
                    let k = self.line_index("GET")?;
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_get(k)?;
                }
                b'h' => {
                    let k = u64::from(self.u8()?);
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.i32()?;
                    if k < 0 {
                        return self.err("negative LONG_BINGET argument");
                    }
                    self.note(|| (k.to_string(), String::new()));
                    self.memo_get(k as u64)?;
                }
                b'c' => {
                    let m = self.line()?;
                    let n = self.line()?;
                    let (Ok(m), Ok(n)) = (std::str::from_utf8(m), std::str::from_utf8(n)) else {
                        return self.err("GLOBAL arguments are not valid UTF-8");
                    };
                    self.note(|| (format!("{m} {n}"), String::new()));
                    let g = self.import(m, n, "GLOBAL")?;
                    self.push(g)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (V::Str(m), V::Str(n)) => {
                            let (m, n) = (m.clone(), n.clone());
                            let g = self.import(&m, &n, "STACK_GLOBAL")?;
                            self.push(g)?;
                        }
                        (
                            V::Str(_) | V::Node(_) | V::Unknown(_) | V::Global(_) | V::Ext(_),
                            V::Str(_) | V::Node(_) | V::Unknown(_) | V::Global(_) | V::Ext(_),
                        ) => {
                            // Not constant: a value computed at load time may well be a str.
                            self.obs.push(Obs::DynamicGlobal {
                                module: module.clone(),
                                name: name.clone(),
                                offset: self.op_start,
                            });
                            self.note(|| {
                                (
                                    String::new(),
                                    format!("dynamic import of {}.{}", module.repr(), name.repr()),
                                )
                            });
                            let g = Rc::new(GlobalRef {
                                module: format!("<{}>", module.repr()).into(),
                                name: format!("<{}>", name.repr()).into(),
                                offset: self.op_start,
                            });
                            self.push(V::Global(g))?;
                        }
                        _ => return self.err("STACK_GLOBAL requires str"),
                    }
                }
                b'i' => {
                    let m = self.line()?;
                    let n = self.line()?;
                    let (Ok(m), Ok(n)) = (std::str::from_utf8(m), std::str::from_utf8(n)) else {
                        return self.err("INST arguments are not valid UTF-8");
                    };
                    self.note(|| (format!("{m} {n}"), String::new()));
                    let args = self.pop_mark()?;
                    let cls = self.import(m, n, "INST")?;
                    let args = V::node(NodeKind::Tuple, args, self.op_start);
                    self.call(cls, args, CallKind::Inst)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return self.err("could not find MARK (OBJ without class)");
                    }
                    let cls = items.remove(0);
                    let args = V::node(NodeKind::Tuple, items, self.op_start);
                    self.call(cls, args, CallKind::Obj)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let callee = self.pop()?;
                    self.call(callee, args, CallKind::Reduce)?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.call(cls, args, CallKind::NewObj)?;
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let all = V::node(NodeKind::Tuple, vec![args, kwargs], self.op_start);
                    self.call(cls, all, CallKind::NewObjEx)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    self.obs.push(Obs::Build {
                        target: target.clone(),
                        state: state.clone(),
                        offset: self.op_start,
                    });
                    if let V::Node(n) = &target
                        && matches!(n.kind, NodeKind::Call(_))
                    {
                        let state = acyclic(state.clone(), n);
                        let mut items = n.items.borrow_mut();
                        items.truncate(2);
                        items.push(state);
                    }
                    if self.opts.joblib {
                        self.joblib_after_build(&target, &state)?;
                    }
                }
                b'P' => {
                    let l = self.line()?;
                    let Ok(s) = std::str::from_utf8(l) else {
                        return self.err("persistent IDs in protocol 0 must be ASCII strings");
                    };
                    let pid = V::Str(s.into());
                    self.persistent(pid)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.persistent(pid)?;
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => i64::from(self.u8()?),
                        0x83 => i64::from(self.u16()?),
                        _ => i64::from(self.i32()?),
                    };
                    self.note(|| (code.to_string(), String::new()));
                    if code <= 0 {
                        return self.err("EXT specifies code <= 0");
                    }
                    self.obs.push(Obs::Ext {
                        code,
                        offset: self.op_start,
                    });
                    self.push(V::Ext(code))?;
                }
                0x97 => {
                    return self.err(
                        "pickle stream refers to out-of-band data but no *buffers* argument was given",
                    );
                }
                0x98 => {
                    self.top()?;
                }
                _ => {
                    return self.err(format!("invalid load key, '\\x{op:02x}'"));
                }
            }
        }
    }

    /// Python 2 `str` payloads decode as ASCII under the default `encoding="ASCII"`.
    fn py2_str(&self, b: Vec<u8>) -> R<V> {
        if b.is_ascii() {
            match String::from_utf8(b) {
                Ok(s) => Ok(V::Str(s.into())),
                Err(_) => self.err("'ascii' codec can't decode"),
            }
        } else {
            self.err("'ascii' codec can't decode byte in STRING (encoding='ASCII')")
        }
    }

    fn persistent(&mut self, pid: V) -> R<()> {
        self.note(|| (pid.repr(), "persistent_load(pid)".into()));
        self.obs.push(Obs::Persistent {
            pid: pid.clone(),
            offset: self.op_start,
        });
        let v = V::node(NodeKind::Persistent, vec![pid], self.op_start);
        self.push(v)
    }

    /// `APPEND`, `SETITEM`, `ADDITEMS`. On the builtin container they just add items. On an
    /// object made by a call they invoke that object's own method: the object's class decides
    /// safety and is already judged where it was imported. On an imported global they mutate
    /// interpreter state, which benign pickles never do.
    fn extend(
        &mut self,
        target: &V,
        items: Vec<V>,
        expect: NodeKind,
        method: &'static str,
    ) -> R<()> {
        match target {
            V::Node(n) if n.kind == expect => {
                let items: Vec<V> = items.into_iter().map(|it| acyclic(it, n)).collect();
                n.items.borrow_mut().extend(items);
                Ok(())
            }
            V::Node(n) if matches!(n.kind, NodeKind::Call(_)) => Ok(()),
            V::Global(_) | V::Ext(_) => {
                self.obs.push(Obs::Build {
                    target: target.clone(),
                    state: V::node(NodeKind::Tuple, items, self.op_start),
                    offset: self.op_start,
                });
                Ok(())
            }
            V::Node(n) if n.kind == NodeKind::Persistent => Ok(()),
            _ => self.err(format!(
                "'{}' object has no attribute '{method}'",
                kind_name(target)
            )),
        }
    }

    /// joblib writes each NumPy array's bytes straight into the stream after the `BUILD` of its
    /// `NumpyArrayWrapper`; its unpickler reads them there. Skip exactly those bytes (or, for
    /// object arrays, interpret the embedded pickle) so that array data is never read as opcodes.
    fn joblib_after_build(&mut self, target: &V, state: &V) -> R<()> {
        let Some(g) = target.call_global() else {
            return Ok(());
        };
        if g.module.as_ref() != "joblib.numpy_pickle" || g.name.as_ref() != "NumpyArrayWrapper" {
            return Ok(());
        }
        let start = self.pos;
        let Some(dtype) = state.dict_get("dtype") else {
            return self.err("NumpyArrayWrapper state without dtype");
        };
        let shape: Vec<i64> = match state.dict_get("shape").and_then(|s| s.seq_items()) {
            Some(items) => items
                .iter()
                .map(|v| match v {
                    V::Int(i) => Ok(*i),
                    _ => Err(()),
                })
                .collect::<Result<_, _>>()
                .or_else(|_| self.err("NumpyArrayWrapper shape is not a tuple of ints"))?,
            None => return self.err("NumpyArrayWrapper state without shape"),
        };
        if matches!(state.dict_get("allow_mmap"), Some(V::Bool(true))) {
            let pad = self.u8()?;
            self.take(usize::from(pad))?;
        }
        let (itemsize, is_object) = dtype_itemsize(&dtype)
            .map_or_else(|| self.err("unsupported dtype in joblib array"), Ok)?;
        if is_object {
            if self.nested >= self.opts.max_nested {
                return Err(End::Limit {
                    offset: self.pos,
                    msg: "joblib object arrays nested too deep".into(),
                });
            }
            let sub = run_one(self.data, self.pos, self.opts, self.nested + 1);
            self.ops += sub.ops;
            self.obs.extend(sub.obs);
            self.obs.push(Obs::JoblibArray {
                offset: start,
                bytes: (sub.next - self.pos) as u64,
                object: true,
            });
            if sub.end != End::Stop {
                return Err(sub.end);
            }
            self.pos = sub.next;
            return Ok(());
        }
        let mut n: u64 = itemsize;
        for d in &shape {
            let d = u64::try_from(*d).or_else(|_| self.err("negative dimension"))?;
            n = n
                .checked_mul(d)
                .map_or_else(|| self.err("array size overflows"), Ok)?;
        }
        self.payload(n)?;
        self.note(|| (String::new(), format!("skipped {n} bytes of array data")));
        self.obs.push(Obs::JoblibArray {
            offset: start,
            bytes: n,
            object: false,
        });
        Ok(())
    }
}

/// `item`, or a placeholder when storing it inside `container` would create a cycle.
fn acyclic(item: V, container: &Rc<super::value::Node>) -> V {
    if super::value::reaches(&item, container, 10_000) {
        V::Unknown("recursive reference")
    } else {
        item
    }
}

fn kind_name(v: &V) -> &'static str {
    match v {
        V::None => "NoneType",
        V::Bool(_) => "bool",
        V::Int(_) | V::BigInt => "int",
        V::Float(_) => "float",
        V::Str(_) => "str",
        V::Bytes(_) => "bytes",
        V::Node(n) => match n.kind {
            NodeKind::Tuple => "tuple",
            NodeKind::List => "list",
            NodeKind::Dict => "dict",
            NodeKind::Set => "set",
            NodeKind::FrozenSet => "frozenset",
            NodeKind::Call(_) => "object",
            NodeKind::Persistent => "object",
        },
        V::Global(_) => "global",
        V::Ext(_) => "extension",
        V::Unknown(_) => "unknown",
    }
}

/// Item size of a symbolic `numpy.dtype(...)` object and whether it holds Python objects.
fn dtype_itemsize(dtype: &V) -> Option<(u64, bool)> {
    let g = dtype.call_global()?;
    if g.name.as_ref() != "dtype" {
        return None;
    }
    let node = dtype.as_node()?;
    let items = node.items.borrow();
    let args = items.get(1)?.seq_items()?;
    let code = args.first()?.as_str()?.to_string();
    // BUILD state: (version, endian, subdescr, names, fields, elsize, alignment, flags)
    let elsize = items
        .get(2)
        .and_then(V::seq_items)
        .and_then(|s| match s.get(5) {
            Some(V::Int(n)) if *n > 0 => Some(*n as u64),
            _ => None,
        });
    numpy_itemsize(&code, elsize)
}

/// Item size for a NumPy type code such as `f8`, `<i4`, `U10`, `O8`, `V16`; `elsize` wins for
/// flexible types.
pub fn numpy_itemsize(code: &str, elsize: Option<u64>) -> Option<(u64, bool)> {
    let code = code.trim_start_matches(['<', '>', '=', '|']);
    let kind = code.chars().next()?;
    let digits: String = code
        .chars()
        .skip(1)
        .take_while(char::is_ascii_digit)
        .collect();
    let n: Option<u64> = digits.parse().ok();
    match kind {
        'O' => Some((8, true)),
        'U' => Some((elsize.or(n.map(|n| n * 4))?, false)),
        'S' | 'a' | 'V' => Some((elsize.or(n)?, false)),
        'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' | '?' => {
            let n = n.or(if kind == '?' { Some(1) } else { None })?;
            Some((elsize.unwrap_or(n), false))
        }
        _ => None,
    }
}

fn run_one(data: &[u8], start: usize, opts: &MachineOptions, nested: u32) -> Run {
    let mut m = M {
        data,
        pos: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        proto: 0,
        obs: Vec::new(),
        opts,
        trace: Vec::new(),
        ops: 0,
        nested,
        op_start: start,
    };
    let res = m.run();
    let (end, result) = match res {
        Ok(v) => (End::Stop, Some(v)),
        Err(e) => (e, None),
    };
    Run {
        start,
        next: m.pos,
        end,
        protocol: m.proto,
        obs: m.obs,
        ops: m.ops,
        trace: m.trace,
        result,
    }
}

/// Run the pickle that starts at `start`.
pub fn run(data: &[u8], start: usize, opts: &MachineOptions) -> Run {
    run_one(data, start, opts, 0)
}

/// Whether the bytes at `pos` plausibly begin another pickle (used after a `STOP`).
pub fn looks_like_pickle_start(data: &[u8], pos: usize) -> bool {
    match (data.get(pos), data.get(pos + 1)) {
        (Some(0x80), Some(p)) => *p <= 5,
        (Some(b'(' | b'c' | b']' | b'}' | b')' | b'N'), Some(_)) => true,
        _ => false,
    }
}

/// Name of an opcode byte, as in `pickletools`.
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "<invalid>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(run: &Run) -> Vec<String> {
        run.obs
            .iter()
            .filter_map(|o| match o {
                Obs::Import { global, .. } => Some(global.qualified()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn global_reduce_proto0() {
        let p = b"cos\nsystem\n(S'echo hi'\ntR.";
        let r = run(p, 0, &MachineOptions::default());
        assert_eq!(r.end, End::Stop);
        assert_eq!(imports(&r), vec!["os.system"]);
        assert!(r.obs.iter().any(|o| matches!(o, Obs::Call { .. })));
    }

    #[test]
    fn stack_global_from_memo() {
        // proto 4: 'os' memoized, then fetched again for STACK_GLOBAL
        let mut p = vec![0x80, 4];
        p.extend_from_slice(&[0x8c, 2, b'o', b's', 0x94]); // 'os' memo 0
        p.extend_from_slice(b"0"); // pop
        p.extend_from_slice(&[b'h', 0]); // get 0
        p.extend_from_slice(&[0x8c, 6]);
        p.extend_from_slice(b"system");
        p.extend_from_slice(&[0x93, 0x8c, 2, b'i', b'd', 0x85, b'R', b'.']);
        let r = run(&p, 0, &MachineOptions::default());
        assert_eq!(r.end, End::Stop, "{:?}", r.end);
        assert_eq!(imports(&r), vec!["os.system"]);
    }

    #[test]
    fn python2_names_are_fixed() {
        let r = run(b"c__builtin__\neval\n.", 0, &MachineOptions::default());
        assert_eq!(imports(&r), vec!["builtins.eval"]);
        let r = run(b"ccommands\ngetoutput\n.", 0, &MachineOptions::default());
        assert_eq!(imports(&r), vec!["subprocess.getoutput"]);
    }

    #[test]
    fn getattr_resolves() {
        // getattr(os_module_via_import_module('os'), 'system')
        let p = b"cbuiltins\ngetattr\n(cimportlib\nimport_module\n(S'os'\ntRS'system'\ntR.";
        let r = run(p, 0, &MachineOptions::default());
        assert_eq!(r.end, End::Stop, "{:?}", r.end);
        let i = imports(&r);
        assert!(i.contains(&"os.system".to_string()), "{i:?}");
    }

    #[test]
    fn truncated_reports_break_after_effects() {
        let p = b"cos\nsystem\n(S'x'\ntR";
        let r = run(p, 0, &MachineOptions::default());
        assert!(matches!(r.end, End::Error { .. }));
        assert!(r.obs.iter().any(|o| matches!(o, Obs::Call { .. })));
    }

    #[test]
    fn fence_blocks_popping_below_mark() {
        let r = run(b"N(0t.", 0, &MachineOptions::default());
        // POP at the mark position pops the mark; then TUPLE has no mark.
        assert!(matches!(r.end, End::Error { .. }));
        let r = run(b"NN(R.", 0, &MachineOptions::default());
        assert!(matches!(r.end, End::Error { ref msg, .. } if msg.contains("underflow")));
    }

    #[test]
    fn py_int_rules() {
        assert_eq!(py_int(b"12"), Some((Some(12), true)));
        assert_eq!(py_int(b" 1_2 "), Some((Some(12), false)));
        assert_eq!(py_int(b"1__2"), None);
        assert_eq!(py_int(b"-3"), Some((Some(-3), true)));
    }

    #[test]
    fn dynamic_stack_global() {
        // module name produced by a call: STACK_GLOBAL on non-constant operand
        let p = b"\x80\x04cbuiltins\nstr\n(S'os'\ntR\x8c\x06system\x93.";
        let r = run(p, 0, &MachineOptions::default());
        assert!(r.obs.iter().any(|o| matches!(o, Obs::DynamicGlobal { .. })));
    }

    #[test]
    fn memo_bomb_is_cheap() {
        let mut p = b"(]q\x00".to_vec();
        for _ in 0..100_000 {
            p.extend_from_slice(b"h\x00");
        }
        p.extend_from_slice(b"l.");
        let r = run(&p, 0, &MachineOptions::default());
        assert_eq!(r.end, End::Stop);
    }

    #[test]
    fn self_append_does_not_leak_a_cycle() {
        // DUP a list and append it to itself: CPython builds a cycle; we store a placeholder.
        let r = run(b"(l2a.", 0, &MachineOptions::default());
        assert_eq!(r.end, End::Stop);
        let v = r.result.unwrap();
        let n = v.as_node().unwrap();
        assert!(matches!(n.items.borrow()[0], V::Unknown(_)));
        assert_eq!(Rc::strong_count(n), 1);
    }

    #[test]
    fn itemsizes() {
        assert_eq!(numpy_itemsize("<f8", None), Some((8, false)));
        assert_eq!(numpy_itemsize("U3", None), Some((12, false)));
        assert_eq!(numpy_itemsize("O8", None), Some((8, true)));
        assert_eq!(numpy_itemsize("b1", None), Some((1, false)));
    }
}
