//! Symbolic values of the pickle machine.
//!
//! Only what matters for the verdict is modelled: constants (strings, bytes, numbers), containers
//! (to show call arguments and to read joblib/NumPy metadata), imported globals, objects created
//! by calls, and persistent ids. Containers are reference counted so that memo `GET` is O(1); a
//! hostile pickle can nest them a million deep, so `Drop` is iterative and every walk takes an
//! explicit depth budget.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

/// An imported global, as `find_class(module, name)` would resolve it.
#[derive(Debug)]
pub struct GlobalRef {
    /// Module, after Python 2 → 3 import fixing where the protocol calls for it.
    pub module: Rc<str>,
    /// Attribute name; may be dotted (attribute traversal).
    pub name: Rc<str>,
    /// Offset of the opcode that produced it.
    pub offset: usize,
}

impl GlobalRef {
    /// `module.name`.
    pub fn qualified(&self) -> String {
        if self.name.is_empty() {
            self.module.to_string()
        } else {
            format!("{}.{}", self.module, self.name)
        }
    }
}

/// How an object was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    /// `callee(*args)`: items are `[callee, args, state?]`.
    Call(CallKind),
    /// Result of `persistent_load(pid)`: items are `[pid]`.
    Persistent,
}

/// The opcode family that performed a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Reduce,
    NewObj,
    NewObjEx,
    Inst,
    Obj,
}

impl CallKind {
    pub fn opcode(self) -> &'static str {
        match self {
            CallKind::Reduce => "REDUCE",
            CallKind::NewObj => "NEWOBJ",
            CallKind::NewObjEx => "NEWOBJ_EX",
            CallKind::Inst => "INST",
            CallKind::Obj => "OBJ",
        }
    }
}

/// A container or object.
#[derive(Debug)]
#[allow(
    dead_code,
    reason = "complete record of the machine's effects; not every field feeds a rule yet, all are in Debug output"
)]
pub struct Node {
    pub kind: NodeKind,
    pub items: RefCell<Vec<V>>,
    pub offset: usize,
}

impl Drop for Node {
    fn drop(&mut self) {
        // Iterative drop: move children out while we hold the last reference, so that a chain
        // nested a million deep does not recurse a million frames.
        let mut work: Vec<V> = std::mem::take(self.items.get_mut());
        while let Some(v) = work.pop() {
            if let V::Node(rc) = v
                && let Ok(mut node) = Rc::try_unwrap(rc)
            {
                work.append(node.items.get_mut());
            }
        }
    }
}

/// Whether `item` reaches `target` through container edges. Used before a mutation that would
/// put `item` inside `target`: such an edge would close a reference cycle, which `Rc` cannot
/// free. When the walk exceeds `budget` nodes the answer is "yes", so that the caller stores
/// a placeholder instead: losing detail is safe, a cycle is not.
pub fn reaches(item: &V, target: &Rc<Node>, budget: usize) -> bool {
    let V::Node(start) = item else { return false };
    // The graph is acyclic (every edge that could close a cycle goes through this check), so a
    // walk without a visited set terminates; shared sub-graphs only cost budget.
    let mut work = vec![start.clone()];
    let mut visited = 0usize;
    while let Some(n) = work.pop() {
        visited += 1;
        if Rc::ptr_eq(&n, target) || visited > budget {
            return true;
        }
        for child in n.items.borrow().iter() {
            if let V::Node(c) = child {
                work.push(c.clone());
            }
        }
    }
    false
}

/// A symbolic value.
#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "complete record of the machine's effects; not every field feeds a rule yet, all are in Debug output"
)]
pub enum V {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64; only its size matters to us.
    BigInt,
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Node(Rc<Node>),
    Global(Rc<GlobalRef>),
    /// A copyreg extension code: resolved by the loading process's registry, not by the file.
    Ext(i64),
    /// A value the analysis does not model (e.g. out-of-band buffer).
    Unknown(&'static str),
}

impl V {
    pub fn node(kind: NodeKind, items: Vec<V>, offset: usize) -> V {
        V::Node(Rc::new(Node {
            kind,
            items: RefCell::new(items),
            offset,
        }))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_node(&self) -> Option<&Rc<Node>> {
        match self {
            V::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The callee of a call node.
    pub fn callee(&self) -> Option<V> {
        match self {
            V::Node(n) if matches!(n.kind, NodeKind::Call(_)) => n.items.borrow().first().cloned(),
            _ => None,
        }
    }

    /// For a call node whose callee is a global: that global.
    pub fn call_global(&self) -> Option<Rc<GlobalRef>> {
        match self.callee() {
            Some(V::Global(g)) => Some(g),
            _ => None,
        }
    }

    /// Items of a tuple/list, cloned (shallow).
    pub fn seq_items(&self) -> Option<Vec<V>> {
        match self {
            V::Node(n) if matches!(n.kind, NodeKind::Tuple | NodeKind::List) => {
                Some(n.items.borrow().clone())
            }
            _ => None,
        }
    }

    /// Look up a string key in a dict node.
    pub fn dict_get(&self, key: &str) -> Option<V> {
        let V::Node(n) = self else { return None };
        if n.kind != NodeKind::Dict {
            return None;
        }
        let items = n.items.borrow();
        items
            .chunks_exact(2)
            .find(|kv| kv.first().and_then(V::as_str) == Some(key))
            .and_then(|kv| kv.get(1).cloned())
    }

    /// A short Python-like representation, bounded in depth and length.
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.repr_into(&mut s, 4);
        if s.len() > 400 {
            let mut cut = 397;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        s
    }

    fn repr_into(&self, out: &mut String, depth: u32) {
        if out.len() > 400 {
            return;
        }
        match self {
            V::None => out.push_str("None"),
            V::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            V::Int(i) => {
                let _ = write!(out, "{i}");
            }
            V::BigInt => out.push_str("<big int>"),
            V::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            V::Str(s) => py_str_repr(out, s),
            V::Bytes(b) => {
                out.push('b');
                let shown: String = String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned();
                py_str_repr(out, &shown);
                if b.len() > 64 {
                    let _ = write!(out, "<+{} bytes>", b.len() - 64);
                }
            }
            V::Global(g) => out.push_str(&g.qualified()),
            V::Ext(c) => {
                let _ = write!(out, "<copyreg extension {c}>");
            }
            V::Unknown(why) => {
                let _ = write!(out, "<{why}>");
            }
            V::Node(n) => {
                if depth == 0 {
                    out.push_str("...");
                    return;
                }
                let items = n.items.borrow();
                let list = |out: &mut String, items: &[V], open: &str, close: &str| {
                    out.push_str(open);
                    for (i, it) in items.iter().take(8).enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        it.repr_into(out, depth - 1);
                    }
                    if items.len() > 8 {
                        let _ = write!(out, ", <+{}>", items.len() - 8);
                    }
                    out.push_str(close);
                };
                match n.kind {
                    NodeKind::Tuple => {
                        list(out, &items, "(", "");
                        out.push_str(if items.len() == 1 { ",)" } else { ")" });
                    }
                    NodeKind::List => list(out, &items, "[", "]"),
                    NodeKind::Set => list(out, &items, "{", "}"),
                    NodeKind::FrozenSet => list(out, &items, "frozenset({", "})"),
                    NodeKind::Dict => {
                        out.push('{');
                        for (i, kv) in items.chunks_exact(2).take(8).enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            if let [k, v] = kv {
                                k.repr_into(out, depth - 1);
                                out.push_str(": ");
                                v.repr_into(out, depth - 1);
                            }
                        }
                        if items.len() > 16 {
                            out.push_str(", ...");
                        }
                        out.push('}');
                    }
                    NodeKind::Call(_) => {
                        if let Some(c) = items.first() {
                            c.repr_into(out, depth - 1);
                        }
                        match items.get(1) {
                            Some(V::Node(a)) if a.kind == NodeKind::Tuple => {
                                // Already a tuple: print as call arguments.
                                let args = a.items.borrow();
                                out.push('(');
                                for (i, it) in args.iter().take(8).enumerate() {
                                    if i > 0 {
                                        out.push_str(", ");
                                    }
                                    it.repr_into(out, depth - 1);
                                }
                                if args.len() > 8 {
                                    out.push_str(", ...");
                                }
                                out.push(')');
                            }
                            Some(other) => {
                                out.push_str("(*");
                                other.repr_into(out, depth - 1);
                                out.push(')');
                            }
                            None => out.push_str("()"),
                        }
                    }
                    NodeKind::Persistent => {
                        out.push_str("persistent_load(");
                        if let Some(p) = items.first() {
                            p.repr_into(out, depth - 1);
                        }
                        out.push(')');
                    }
                }
            }
        }
    }
}

fn py_str_repr(out: &mut String, s: &str) {
    out.push('\'');
    for (i, c) in s.chars().enumerate() {
        if i >= 160 {
            out.push_str("...");
            break;
        }
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_drops_without_overflow() {
        let mut v = V::None;
        for i in 0..1_000_000 {
            v = V::node(NodeKind::Tuple, vec![v], i);
        }
        assert!(v.repr().contains("..."));
        drop(v);
    }

    #[test]
    fn call_repr() {
        let g = V::Global(Rc::new(GlobalRef {
            module: "os".into(),
            name: "system".into(),
            offset: 0,
        }));
        let args = V::node(NodeKind::Tuple, vec![V::Str("echo hi".into())], 0);
        let call = V::node(NodeKind::Call(CallKind::Reduce), vec![g, args], 0);
        assert_eq!(call.repr(), "os.system('echo hi')");
    }
}
