//! Which of many regular expressions can match a text, found in one pass over it.
//!
//! Every match of most rule expressions starts with one of a finite set of literals (their
//! prefixes, as `regex-syntax` extracts them) or ends with one (their suffixes), so one
//! Aho-Corasick search for all those literals tells which expressions are worth running. The
//! rest, whose matches can start and end anywhere, always run. Running a hundred expressions
//! one by one costs about 100 ns each in setup alone on a 1 KB text where most have nothing
//! to find; the answers are the same, since a skipped expression has no match. The injection
//! rules and the secret rules each have one.

/// The literals of a list of expressions, numbered in list order.
pub(crate) struct Gate {
    /// Literal prefixes or suffixes of the gated expressions.
    pub(crate) literals: Option<aho_corasick::AhoCorasick>,
    /// For each literal, the expressions that it opens.
    pub(crate) opens: Vec<Vec<usize>>,
    /// Expressions that always run.
    pub(crate) always: Vec<usize>,
    /// Number of expressions.
    count: usize,
}

impl Gate {
    /// The gate of `sources`, expression `i` being the `i`th source.
    pub(crate) fn new<'a>(sources: impl IntoIterator<Item = &'a str>) -> Gate {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
        let mut opens: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut count = 0;
        for (id, source) in sources.into_iter().enumerate() {
            count = id + 1;
            let Some(lits) = gate_literals(source) else {
                always.push(id);
                continue;
            };
            for l in lits {
                let at = *index.entry(l.clone()).or_insert_with(|| {
                    literals.push(l);
                    opens.push(Vec::new());
                    opens.len() - 1
                });
                opens.get_mut(at).into_iter().for_each(|o| o.push(id));
            }
        }
        let searcher = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&literals);
        match searcher {
            Ok(a) => Gate {
                literals: Some(a),
                opens,
                always,
                count,
            },
            // Without the searcher every expression runs: slower, the same answers.
            Err(_) => Gate {
                literals: None,
                opens: Vec::new(),
                always: (0..count).collect(),
                count,
            },
        }
    }

    /// For each expression, whether it can match `text`.
    pub(crate) fn open(&self, text: &str) -> Vec<bool> {
        let mut run = vec![false; self.count];
        let opened = self
            .literals
            .iter()
            .flat_map(|a| a.find_overlapping_iter(text))
            .flat_map(|m| self.opens.get(m.pattern().as_usize()).into_iter().flatten());
        for &id in self.always.iter().chain(opened) {
            if let Some(x) = run.get_mut(id) {
                *x = true;
            }
        }
        run
    }
}

/// A set of literals one of which every match of `source` contains: its prefixes, its
/// suffixes, or (where the expression is a concatenation) those of one of its parts, since a
/// match holds a match of every part (`\dQ~[a-z]+` contains `Q~`). Of the finite sets of
/// non-empty literals, the one whose shortest literal is longest (the shorter a literal, the
/// more texts it opens the expression on), then the smaller; `None` where there is none.
fn gate_literals(source: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::parse(source).ok()?;
    let mut sets = Vec::new();
    candidates(&hir, 0, &mut sets);
    sets.into_iter()
        .filter_map(|lits| Some((lits.iter().map(Vec::len).min()?, lits)))
        .filter(|(shortest, _)| *shortest > 0)
        .max_by_key(|(shortest, lits)| (*shortest, std::cmp::Reverse(lits.len())))
        .map(|(_, lits)| lits)
}

/// The prefix and suffix literal sets of `hir` and, through captures and concatenations, of
/// its parts (to a depth of 8: rule expressions are shallow).
fn candidates(hir: &regex_syntax::hir::Hir, depth: usize, out: &mut Vec<Vec<Vec<u8>>>) {
    use regex_syntax::hir::HirKind;
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let seq = Extractor::new().kind(kind).extract(hir);
        if let Some(lits) = seq.literals() {
            out.push(lits.iter().map(|l| l.as_bytes().to_vec()).collect());
        }
    }
    if depth >= 8 {
        return;
    }
    match hir.kind() {
        HirKind::Capture(c) => candidates(&c.sub, depth + 1, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| candidates(p, depth + 1, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_open_their_expressions_and_the_rest_always_run() {
        let g = Gate::new([
            "abc[0-9]+",
            r"\w+xyz",
            "(?:foo|bar)baz",
            r"\d+",
            r"[a-z]{3}\dQ~[a-z]+",
        ]);
        assert_eq!(g.always, [3]);
        assert_eq!(g.open("nothing here"), [false, false, false, true, false]);
        assert_eq!(g.open("abc1 then barbaz"), [true, false, true, true, false]);
        // The suffix opens the expression whose prefix is not a finite set, and a part's
        // literal the expression with neither.
        assert_eq!(g.open("wxyz"), [false, true, false, true, false]);
        assert_eq!(g.open("abc1Q~x"), [true, false, false, true, true]);
    }
}
