"""Would a MiniLM-L6 embedding stage earn its cost in the injection guard? An experiment.

Embeds (bench/embed-probe, candle, first 128 tokens, mean-pooled, L2-normalised) a fixed-seed
sample of the training data (6,000 attacks, 6,000 benign rows of train.jsonl +
negatives.jsonl), the dev split and the five unseen sets of bench/injection.sh, then compares
on the unseen sets, all with thresholds set on dev for FPR <= 2%:
- the shipped guard (rules + hashed n-gram model, `rampart guard check`);
- a logistic regression on the embeddings alone;
- the mean of the two probabilities (rules still decide alone);
- a second stage consulted only where the shipped score is within a band below or above its
  threshold: the share of texts that would pay the embedding's cost is reported with it.

Usage: bench/embedding_probe.py --rampart target/release/rampart --probe PROBE_BIN
       --model-dir DIR (all-MiniLM-L6-v2 files) --data DIR --negatives FILE --sets DIR
"""

import argparse
import json
import os
import random
import subprocess
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression

# The row reader and the dev-threshold rule of bench/injection.py, so both scripts count alike.
from injection import load, threshold

SETS = ["unseen", "second", "third", "fourth", "fifth"]


def embed(probe, model_dir, rows, cache):
    if os.path.exists(cache) and os.path.getsize(cache) == len(rows) * 384 * 4:
        return np.fromfile(cache, dtype="<f4").reshape(len(rows), 384)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"]}) + "\n")
    subprocess.run([probe, model_dir, f.name, cache], check=True)
    os.unlink(f.name)
    return np.fromfile(cache, dtype="<f4").reshape(len(rows), 384)


def stage1(binary, rows):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"]}) + "\n")
    out = subprocess.run([binary, "guard", "check", "--only", "injection", f.name],
                         capture_output=True, text=True, check=False).stdout
    os.unlink(f.name)
    v = [json.loads(l)["injection"] for l in out.splitlines() if l.startswith("{")]
    assert len(v) == len(rows)
    return (np.array([x["score"] for x in v]), np.array([bool(x["rules"]) for x in v]),
            np.array([x["verdict"] == "injection" for x in v]))


def figures(pred, y):
    tp = int(np.sum(pred & (y == 1))); fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1))); tn = int(np.sum(~pred & (y == 0)))
    p = tp / max(1, tp + fp); r = tp / max(1, tp + fn)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f, p, r, fp / max(1, fp + tn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rampart", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--negatives", required=True)
    ap.add_argument("--sets", default="bench/out/injection")
    ap.add_argument("--cache", default="bench/out/embedding")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)

    train = load(os.path.join(a.data, "train.jsonl")) + load(a.negatives)
    rng = random.Random(3)
    pos = [r for r in train if r["label"] == 1]
    neg = [r for r in train if r["label"] == 0]
    sample = rng.sample(pos, 6000) + rng.sample(neg, 6000)
    dev = load(os.path.join(a.data, "dev.jsonl"))
    unseen = []
    for s in SETS:
        p = os.path.join(a.sets, s + ".jsonl")
        if os.path.exists(p):
            unseen += load(p)

    xt = embed(a.probe, a.model_dir, sample, os.path.join(a.cache, "train.f32"))
    xd = embed(a.probe, a.model_dir, dev, os.path.join(a.cache, "dev.f32"))
    xu = embed(a.probe, a.model_dir, unseen, os.path.join(a.cache, "unseen.f32"))
    yt = np.array([r["label"] for r in sample]); yd = np.array([r["label"] for r in dev])
    yu = np.array([r["label"] for r in unseen])

    clf = LogisticRegression(C=4, class_weight="balanced", max_iter=3000).fit(xt, yt)
    pd, pu = clf.predict_proba(xd)[:, 1], clf.predict_proba(xu)[:, 1]
    sd, rd, vd = stage1(a.rampart, dev)
    su, ru, vu = stage1(a.rampart, unseen)

    rows = []
    rows.append(("shipped guard (rules + n-gram model)", vu, 0.0))
    t = threshold(pd, yd)
    rows.append(("MiniLM-L6 embeddings + logistic regression alone", pu >= t, 1.0))
    md, mu = (sd + pd) / 2, (su + pu) / 2
    t = threshold(np.where(rd, 1.0, md), yd)
    rows.append(("mean of the two probabilities (rules decide alone)", ru | (mu >= t), 1.0))
    thr1 = float(np.min(sd[vd & ~rd])) if np.any(vd & ~rd) else 0.5
    for lo, hi in [(0.5, 0.95), (0.3, 0.99)]:
        band_d = (sd >= lo) & (sd <= hi) & ~rd
        band_u = (su >= lo) & (su <= hi) & ~ru
        t = threshold(np.where(band_d, md, np.where(rd | vd, 1.0, 0.0)), yd)
        pred = ru | np.where(band_u, mu >= t, vu)
        rows.append((f"second stage only for shipped scores in [{lo}, {hi}]", pred, float(band_u.mean())))
    print(f"unseen rows: {len(unseen)} ({int(yu.sum())} attacks); shipped threshold {thr1:.3f}\n")
    print("| detector | F1 | precision | recall | FPR | share of texts embedded |")
    print("|---|---|---|---|---|---|")
    for name, pred, share in rows:
        f, p, r, fpr = figures(np.asarray(pred, dtype=bool), yu)
        print(f"| {name} | {f:.3f} | {p:.3f} | {r:.3f} | {fpr:.3f} | {share:.1%} |")


if __name__ == "__main__":
    main()
