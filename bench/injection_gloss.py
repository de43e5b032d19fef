"""An experiment, not used by the shipped model (its result is in bench/RESULTS-injection.md):
would a bilingual lexicon carry what the model learnt from English attacks to other
languages? Each word of bench/injection_gloss.tsv (standard translations of 24 words that
attacks lean on, "ignore", "previous", "instructions", "password" and the like, in 16
languages, written from dictionaries and not from the benchmark's misses) is replaced by its
English gloss, and the shipped model scores the glossed text. The rules keep their verdicts on
the original text, so only the model's part changes.

Usage (from the repository root, after `bash bench/injection.sh` or its --write-only sets in
bench/out/injection, and `cargo build --release`):
  python3 bench/injection_gloss.py
"""
import json, re, subprocess, sys, collections, os
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out", "injection-gloss")
RAMPART = os.path.join(ROOT, "target/release/rampart")
SETS = ["unseen","second","third","fourth","fifth","sixth","seventh","eighth","ninth","tenth","eleventh"]
lex = {}
for line in open(os.path.join(ROOT, "bench", "injection_gloss.tsv")):
    if not line.strip() or line.startswith("#"): continue
    lang, en, forms = line.rstrip("\n").split("\t")
    for f in forms.split():
        if f in lex and lex[f] != en: print("conflict", f, lex[f], en, file=sys.stderr)
        lex[f] = en
WORD = re.compile(r"\w+", re.U)
def gloss(t):
    return WORD.sub(lambda m: lex.get(m.group(0).lower(), m.group(0)), t)
def check(path):
    args = [RAMPART, "guard", "check", "--only", "injection", path]
    return [json.loads(l)["injection"] for l in subprocess.run(args, capture_output=True, text=True).stdout.splitlines()]
def main():
    # The shipped model's threshold (its card; `rampart guard check` reports the score only).
    thr = float(os.environ.get("THR", "0.8796"))
    pooled = {k: collections.Counter() for k in ("base", "new")}
    os.makedirs(OUT, exist_ok=True)
    for s in SETS:
        src = f"{ROOT}/bench/out/injection/{s}.jsonl"
        rows = [json.loads(l) for l in open(src)]
        base = check(src)
        glossed = [gloss(r["text"]) for r in rows]
        dst = os.path.join(OUT, f"{s}.jsonl")
        with open(dst, "w") as f:
            f.writelines(json.dumps({"text": t}) + "\n" for t in glossed)
        new = check(dst)
        changed = sum(1 for r, t in zip(rows, glossed) if t != r["text"])
        cs = {k: collections.Counter(tp=0, fn=0, fp=0, tn=0) for k in pooled}
        for r, b, n in zip(rows, base, new):
            for k, v in (("base", b["verdict"] == "injection"), ("new", bool(b["rules"]) or n["score"] >= thr)):
                cs[k][("tp" if r["label"] else "fp") if v else ("fn" if r["label"] else "tn")] += 1
        for k in pooled: pooled[k] += cs[k]
        print(s, "changed", changed, "base", dict(cs["base"]), "new", dict(cs["new"]), flush=True)
    for k, c in pooled.items():
        tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        print(k, dict(c), "F1 %.3f recall %.3f FPR %.4f" % (2*p*r/max(1e-9,p+r), r, fp/max(1,fp+tn)))
if __name__ == "__main__":
    main()
