"""An experiment, not used by the shipped model (its result is in bench/RESULTS-injection.md):
rows of the shared prompt-injection training set, attacks and benign alike,
machine-translated out of English by Apertium (rule-based MT from Debian packages, no
network, no model download), to be added with `rampart guard train --train`.

Why: the shared data's attacks in other languages (yanismiraoui: de, fr, es, it, pt) are all
attacks, and the benign text in other languages we add (negatives.jsonl) is all benign, so a
model learns the language as the cue either way, and cannot learn what an attack *says* in a
language it has only seen one label of. Translating both labels of the same English rows with
the same engine gives every added language attacks and benign text with the same artefacts,
so only the content tells them apart.

Usage (from the repository root, with the Debian packages below installed):
  python3 bench/injection_translations.py \
      --train ../shared/datasets/prompt-injection/train.jsonl -o /tmp/translations.jsonl

Debian packages: apertium apertium-eng-spa apertium-eng-cat apertium-en-gl apertium-eo-en
apertium-es-pt apertium-spa-ita apertium-fr-es apertium-hbs-eng (Debian 12).

Selection, per language: an English row (not `yanismiraoui/*`, which is already in other
languages; at most 2% of its letters outside ASCII) is kept when the SHA-256 of
"<language>\\0<text>" falls below --fraction of the hash space, so each language gets a
different, reproducible sample with both labels in their original proportion. Rows keep their
label and category; the source gets ":apertium-<language>" (or "+apertium-<language>" after an
existing ":"), so the row stays in its source family for `--holdout-by-source`.
"""

import argparse
import concurrent.futures
import hashlib
import json
import re
import subprocess

# Languages with an English-source Apertium pair in Debian 12, directly or through Spanish.
PIPELINES = {
    "ca": ["eng-cat"],
    "eo": ["en-eo"],
    "es": ["eng-spa"],
    "fr": ["eng-spa", "es-fr"],
    "gl": ["en-gl"],
    "hbs": ["eng-hbs"],
    "it": ["eng-spa", "spa-ita"],
    "pt": ["eng-spa", "es-pt"],
}
SEP = "\n\n⟦{}⟧\n\n"


def english(text):
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(not c.isascii() for c in letters) <= 0.02 * len(letters)


def chosen(lang, text, fraction):
    h = int.from_bytes(hashlib.sha256(f"{lang}\0{text}".encode()).digest()[:8], "big")
    return h < fraction * 2**64


def translate(texts, modes):
    """Every text through the Apertium modes in turn, in one process per mode: the texts go
    joined by numbered separator lines that Apertium passes through, and are split back by
    them, so a text that loses or gains a line cannot shift the ones after it."""
    blob = "".join(SEP.format(i) + t for i, t in enumerate(texts))
    for mode in modes:
        blob = subprocess.run(["apertium", "-u", mode], input=blob, capture_output=True,
                              text=True, check=True).stdout
    out = {}
    parts = blob.split("⟦")
    for p in parts[1:]:
        num, _, body = p.partition("⟧")
        if num.isdigit():
            out[int(num)] = re.sub(r"[ \t]{2,}", " ", body).strip()  # Apertium doubles some spaces
    return [out.get(i, "") for i in range(len(texts))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--fraction", type=float, default=0.125)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.train, encoding="utf-8") if l.strip()]
    rows = [r for r in rows if not r["source"].startswith("yanismiraoui/") and english(r["text"])]
    jobs = {lang: [r for r in rows if chosen(lang, r["text"], a.fraction)] for lang in PIPELINES}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        done = {lang: ex.submit(translate, [r["text"] for r in sel], PIPELINES[lang])
                for lang, sel in jobs.items()}
    seen = set()
    with open(a.output, "w", encoding="utf-8") as f:
        for lang in sorted(PIPELINES):
            for r, t in zip(jobs[lang], done[lang].result()):
                # A translation identical to its source taught nothing new; empty ones are lost.
                if len(t) < 3 or t == r["text"] or t in seen:
                    continue
                seen.add(t)
                src = r["source"] + ("+" if ":" in r["source"] else ":") + "apertium-" + lang
                out = {"text": t, "label": r["label"], "source": src}
                if "category" in r:
                    out["category"] = r["category"]
                f.write(json.dumps(out, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
