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
  attack (0.98).

Everything is sorted and sampled with fixed seeds, so the same inputs give the same file.
Usage (from the repository root, after `cargo fetch`):

    pip download --no-deps django==5.1.4 -d /tmp/w
    python3 crates/rampart-guard/data/make_negatives.py --django-wheel /tmp/w/Django-5.1.4-*.whl \
        --cargo-lock Cargo.lock --registry ~/.cargo/registry/src/index.crates.io-*/ \
        -o crates/rampart-guard/data/negatives.jsonl
"""

import argparse
import json
import pathlib
import random
import re
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
            items = sorted(pool.items())
            rng.shuffle(items)
            for k, t in items[:cap]:
                if k and k not in seen:
                    seen.add(k)
                    rows.append((t, f"crates.io/rustdoc:{name}", cat))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--django-wheel", required=True)
    ap.add_argument("--cargo-lock", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--shared-data", default="../shared/datasets/prompt-injection")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    rust = rust_rows(lock_crates(a.cargo_lock), a.registry, random.Random(2))
    version, catalogues = django_catalogues(a.django_wheel)
    rows = django_rows(version, catalogues, random.Random(1)) + rust
    rows += request_rows(catalogues, rust, random.Random(3))
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
