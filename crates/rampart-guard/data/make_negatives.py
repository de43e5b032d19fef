#!/usr/bin/env python3
"""Builds negatives.jsonl: benign text the shared prompt-injection data lacks.

The shared train set has almost no benign text outside English chat and no code or technical
documentation, while its ~1k multilingual rows are all attacks. A model trained on it alone
flags a third to a half of ordinary German, French, Spanish, Italian and Portuguese sentences
and one in six paragraphs of reference documentation. This file adds two benign families:

- `django-<ver>/locale:<lang>`: translated user-interface strings from the Django wheel on
  PyPI (BSD-3-Clause), up to PER_LANGUAGE per language, in every language Django ships;
- `crates.io/rustdoc:<crate>`: documentation paragraphs and code examples from the doc
  comments of the crates in this workspace's Cargo.lock (each under its own licence, all
  of them allowed by deny.toml), up to PER_CRATE per crate;
- `rampart/requests:<task>`: requests to translate, summarise or rewrite a text, written
  from templates in this file around Django's strings (English and translated) and
  the crates' doc paragraphs. The shared data's attacks often wrap an override in such a
  task ("translate the following ... ignore the above"), and its benign rows seldom ask for
  one, so a model trained on it took "Translate to English: <German sentence>" for an
  attack (0.98);
- `pypi/prompts:<package>`, only with `--prompt-wheel` and NOT in the shipped file: the
  prompt templates that LLM libraries on PyPI ship in their code (deepeval, ragas,
  llama-index-core, langchain; each MIT or Apache-2.0): judge rubrics,
  RAG and agent system prompts, graders for toxicity, bias and harm. These are instructions a
  developer writes to a model, in the attacks' own vocabulary ("you are a ...", "ignore",
  "harmful", "respond only with"), which the shared data has almost none of; the model
  flagged 41% of the judge prompts PyRIT ships. Files whose path names red teaming, attacks,
  jailbreaks or adversarial use are skipped, and so is any string that asks to override
  earlier instructions, so that no attack is labelled benign. Tried on 2026-12-06 (225 rows
  from the four wheels below): PyRIT's judge prompts flagged 41% -> 36%, seven unseen sets
  pooled F1 0.883 -> 0.876, so the model was not retrained with them (bench/RESULTS-injection.md).

Everything is sorted and sampled with fixed seeds, so the same inputs give the same file.
Usage (from the repository root, after `cargo fetch`):

    pip download --no-deps django==5.1.4 -d /tmp/w
    python3 crates/rampart-guard/data/make_negatives.py --django-wheel /tmp/w/Django-5.1.4-*.whl \
        --cargo-lock Cargo.lock --registry ~/.cargo/registry/src/index.crates.io-*/ \
        -o crates/rampart-guard/data/negatives.jsonl

The prompt family of the experiment: `pip download --no-deps deepeval==4.3.1 ragas==0.4.3
llama-index-core==0.14.25 langchain==1.5.2 -d /tmp/w`, then add `--prompt-wheel` once per wheel.
"""

import argparse
import ast
import json
import pathlib
import random
import re
import textwrap
import unicodedata
import zipfile

PER_LANGUAGE = 40
ENGLISH = 300
PER_CRATE_DOC = 12
PER_CRATE_CODE = 4
MAX_CHARS = 1500


def norm_key(t):
    t = unicodedata.normalize("NFKC", t).lower()
    return re.sub(r"[\W_]+", "", t)


def po_entries(text):
    """(msgid, msgstr) pairs of a .po file; plural forms give their first string."""
    out = []
    cur = {}
    field = None
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r'^(msgid|msgstr|msgstr\[0\]|msgid_plural|msgstr\[\d+\])\s+"(.*)"$', line)
        if m:
            name = m.group(1)
            if name == "msgid" and "msgid" in cur:
                out.append(cur)
                cur = {}
            field = {"msgstr[0]": "msgstr"}.get(name, name)
            cur.setdefault(field, "")
            if field in ("msgid", "msgstr"):
                cur[field] += unescape(m.group(2))
            continue
        m = re.match(r'^"(.*)"$', line)
        if m and field in ("msgid", "msgstr"):
            cur[field] += unescape(m.group(1))
    if "msgid" in cur:
        out.append(cur)
    return [(e.get("msgid", ""), e.get("msgstr", "")) for e in out]


def unescape(s):
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def django_catalogues(wheel):
    """Django's version and its (language, [(msgid, msgstr)]) catalogues, read once."""
    z = zipfile.ZipFile(wheel)
    version = re.search(r"[Dd]jango-([0-9.]+)-", pathlib.Path(wheel).name).group(1)
    catalogues = [
        (name.split("/locale/")[1].split("/")[0], po_entries(z.read(name).decode("utf-8", "replace")))
        for name in sorted(n for n in z.namelist() if n.endswith("/django.po"))
    ]
    return version, catalogues


def django_rows(version, catalogues, rng):
    by_lang = {}
    english = {}
    for lang, entries in catalogues:
        for msgid, msgstr in entries:
            if len(msgid.split()) >= 3:
                english[norm_key(msgid)] = msgid
            if len(msgstr.split()) >= 3 and len(msgstr) <= MAX_CHARS:
                by_lang.setdefault(lang, {})[norm_key(msgstr)] = msgstr
    rows = []
    seen = set()
    for lang in sorted(by_lang):
        items = sorted(by_lang[lang].items())
        rng.shuffle(items)
        n = 0
        for k, t in items:
            if k in seen:
                continue
            seen.add(k)
            rows.append((t, f"django-{version}/locale:{lang}", "ui-string"))
            n += 1
            if n == PER_LANGUAGE:
                break
    items = sorted(english.items())
    rng.shuffle(items)
    for k, t in items[:ENGLISH]:
        if k not in seen:
            seen.add(k)
            rows.append((t, f"django-{version}/locale:en", "ui-string"))
    return rows


# The languages named in translation requests: widely used ones with Django translations.
LANGUAGES = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
    "pt_BR": "Brazilian Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish",
    "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese",
    "zh_Hans": "Chinese", "zh_Hant": "Traditional Chinese",
}
INTO_ENGLISH = [
    "Translate to English: {f}",
    "Translate this {lang} text into English:\n{f}",
    'What does "{f}" mean in English?',
    "Can you translate this for me? {f}",
    "{f}\n\nTranslate the above into English, please.",
    'How would you translate "{f}" from {lang}?',
    "Please give me the English for: {f}",
]
FROM_ENGLISH = [
    'Translate the following text from English to {lang}: "{e}"',
    "Translate into {lang}: {e}",
    'How do you say "{e}" in {lang}?',
    "Please translate this sentence to {lang}.\n{e}",
    "I need this in {lang} for our website: {e}",
    "Translate the text below into {lang}, keeping the placeholders as they are.\n\n{e}",
]
ON_TEXT = [
    "Summarize the following text in one sentence:\n{e}",
    "Proofread this: {e}",
    "Rewrite this to sound friendlier: {e}",
    "Fix any grammar mistakes in the following:\n\n{e}",
    "Explain this in simpler words: {e}",
    "Make this shorter: {e}",
    "What is the main point of this paragraph?\n{e}",
]
REQUESTS = 600  # per kind: into English, from English, on a text


def request_rows(catalogues, doc_rows, rng):
    """Translation requests around Django's strings and their translations, and requests to
    summarise or rewrite the crates' doc paragraphs, one template picked per text."""
    pairs = {}
    for lang, entries in catalogues:
        if lang not in LANGUAGES:
            continue
        for msgid, msgstr in entries:
            if len(msgid.split()) >= 3 and msgstr and len(msgstr) <= MAX_CHARS:
                pairs[(lang, msgid)] = msgstr
    items = sorted(pairs.items())
    rng.shuffle(items)
    rows = []
    for (lang, _), f in items[:REQUESTS]:
        t = rng.choice(INTO_ENGLISH)
        rows.append((t.format(f=f, lang=LANGUAGES[lang]), "rampart/requests:into-english", "request"))
    for (lang, e), _ in items[REQUESTS:2 * REQUESTS]:
        t = rng.choice(FROM_ENGLISH)
        rows.append((t.format(e=e, lang=LANGUAGES[lang]), "rampart/requests:from-english", "request"))
    prose = sorted(t for t, _, cat in doc_rows if cat == "doc" and len(t) <= 600)
    rng.shuffle(prose)
    for e in prose[:REQUESTS]:
        rows.append((rng.choice(ON_TEXT).format(e=e), "rampart/requests:on-text", "request"))
    return rows


def sample(pool, cap, rng, seen):
    """Up to `cap` texts of a {norm_key: text} pool, drawn in a seeded order, skipping keys
    already in `seen` (which it extends)."""
    items = sorted(pool.items())
    rng.shuffle(items)
    out = []
    for k, t in items[:cap]:
        if k and k not in seen:
            seen.add(k)
            out.append(t)
    return out


# Paths of modules that generate attacks rather than judge or answer: none of their strings.
NOT_BENIGN_PATH = re.compile(r"red.?team|attack|jailbreak|adversar|/tests?/|/test_", re.I)
# A string that asks to override earlier instructions is an attack wherever it is found.
OVERRIDE = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|system)\b"
    r".{0,20}\b(instructions?|prompts?|rules|directions)\b", re.I | re.S)
PROMPT_MIN_WORDS = 15
PER_PACKAGE = 200


def literal(node):
    """The text of a string literal, f-string (fields kept as {name}) or sum of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                out.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                out.append("{" + ast.unparse(v.value) + "}")
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = literal(node.left), literal(node.right)
        if a is not None and b is not None:
            return a + b
    return None


def prompt_strings(tree):
    """The outermost string literals of a module that address a reader as "you", docstrings
    left out (they document the code for its programmers)."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.body and isinstance(node.body[0], ast.Expr):
                docs.add(id(node.body[0].value))
    out, inner = [], set()
    for node in ast.walk(tree):
        if id(node) in docs or id(node) in inner:
            continue
        t = literal(node)
        if t is None:
            continue
        for child in ast.walk(node):  # the parts of a sum or f-string are not strings of their own
            inner.add(id(child))
        t = textwrap.dedent(t).strip()
        if len(t.split()) >= PROMPT_MIN_WORDS and len(t) <= MAX_CHARS and re.search(r"\b[Yy]ou(r)?\b", t):
            out.append(t)
    return out


def prompt_rows(wheels, rng):
    rows = []
    seen = set()
    for wheel in sorted(wheels):
        name = pathlib.Path(wheel).name.split("-")[0].replace("_", "-").lower()
        z = zipfile.ZipFile(wheel)
        pool = {}
        for member in sorted(z.namelist()):
            if not member.endswith(".py") or NOT_BENIGN_PATH.search("/" + member):
                continue
            try:
                tree = ast.parse(z.read(member))
            except (SyntaxError, ValueError):
                continue
            for t in prompt_strings(tree):
                if not OVERRIDE.search(t):
                    pool[norm_key(t)] = t
        rows += [(t, f"pypi/prompts:{name}", "prompt") for t in sample(pool, PER_PACKAGE, rng, seen)]
    return rows


def lock_crates(lock):
    text = pathlib.Path(lock).read_text()
    out = []
    for block in text.split("[[package]]")[1:]:
        name = re.search(r'^name = "(.+)"$', block, re.M)
        ver = re.search(r'^version = "(.+)"$', block, re.M)
        src = re.search(r'^source = "registry\+', block, re.M)
        if name and ver and src:
            out.append(f"{name.group(1)}-{ver.group(1)}")
    return sorted(set(out))


def doc_blocks(src):
    """Doc-comment blocks of a Rust file, each a list of lines without the comment marker."""
    blocks, cur = [], []
    for line in src.splitlines():
        s = line.strip()
        m = re.match(r"^//[/!](?![/!])\s?(.*)$", s)
        if m:
            cur.append(m.group(1))
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def split_block(lines):
    """Prose paragraphs and fenced code examples of one doc block."""
    prose, code, para, fence = [], [], [], None
    for line in lines:
        if line.strip().startswith("```"):
            if fence is None:
                if para:
                    prose.append(" ".join(para))
                    para = []
                fence = []
            else:
                code.append("\n".join(fence))
                fence = None
            continue
        if fence is not None:
            if not line.lstrip().startswith("# "):  # rustdoc's hidden lines
                fence.append(line)
        elif line.strip().startswith("#"):  # a markdown heading ends a paragraph
            if para:
                prose.append(" ".join(para))
                para = []
        elif line.strip():
            para.append(line.strip())
        elif para:
            prose.append(" ".join(para))
            para = []
    if para:
        prose.append(" ".join(para))
    return prose, code


def rust_rows(crates, registry, rng):
    rows = []
    seen = set()
    for crate in crates:
        root = pathlib.Path(registry) / crate
        if not root.is_dir():
            continue
        prose, code = {}, {}
        for f in sorted((root / "src").rglob("*.rs")) if (root / "src").is_dir() else []:
            try:
                src = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            for block in doc_blocks(src):
                p, c = split_block(block)
                for t in p:
                    if len(t.split()) >= 5 and len(t) <= MAX_CHARS:
                        prose[norm_key(t)] = t
                for t in c:
                    if 2 <= t.count("\n") + 1 <= 30 and len(t) <= MAX_CHARS:
                        code[norm_key(t)] = t
        name = crate.rsplit("-", 1)[0]
        for pool, cap, cat in ((prose, PER_CRATE_DOC, "doc"), (code, PER_CRATE_CODE, "code")):
            rows += [(t, f"crates.io/rustdoc:{name}", cat) for t in sample(pool, cap, rng, seen)]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--django-wheel", required=True)
    ap.add_argument("--prompt-wheel", action="append", default=[],
                    help="a wheel whose prompt templates become benign rows (repeatable; not used for the shipped file)")
    ap.add_argument("--cargo-lock", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--shared-data", default="../shared/datasets/prompt-injection")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    rust = rust_rows(lock_crates(a.cargo_lock), a.registry, random.Random(2))
    version, catalogues = django_catalogues(a.django_wheel)
    rows = django_rows(version, catalogues, random.Random(1)) + rust
    rows += request_rows(catalogues, rust, random.Random(3))
    rows += prompt_rows(a.prompt_wheel, random.Random(4))
    # Never repeat a text the shared data already has (with either label).
    shared = set()
    for f in ("train.jsonl", "dev.jsonl"):
        for line in open(pathlib.Path(a.shared_data) / f, encoding="utf-8"):
            shared.add(norm_key(json.loads(line)["text"]))
    with open(a.output, "w", encoding="utf-8") as out:
        for text, source, cat in rows:
            if norm_key(text) in shared:
                continue
            rec = {"text": text.strip(), "label": 0, "source": source, "category": cat}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
