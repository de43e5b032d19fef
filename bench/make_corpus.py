#!/usr/bin/env python3
"""Build the benchmark corpus under bench/corpus/ (labels in bench/corpus/labels.tsv).

  small/   every fixture from fixtures/benign and fixtures/malicious (labelled by folder)
  folder/  one 100-file "model folder": sharded PyTorch checkpoints, safetensors, NumPy,
           joblib/sklearn and config files, with 12 malicious files hidden under shard names
  big/     a 1 GiB PyTorch zip checkpoint and a 1 MiB one with the same structure

Malicious payloads are harmless (echo) and nothing is ever loaded.
"""
import importlib.util
import io
import json
import os
import random
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = HERE / "corpus"

spec = importlib.util.spec_from_file_location("gen", REPO / "fixtures/generate.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


def big_checkpoint(path, nbytes):
    """A PyTorch zip checkpoint with one float32 storage of `nbytes` bytes, written streaming."""
    sd = gen.collections.OrderedDict()
    t = gen.FakeTensor("0", (nbytes // 4,))
    sd["embedding.weight"] = t
    pkl = gen.torch_data_pkl(sd)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        info = zipfile.ZipInfo("archive/data/0")
        with z.open(info, "w", force_zip64=True) as w:
            block = b"\x01" * (1 << 20)
            left = nbytes
            while left > 0:
                n = min(left, len(block))
                w.write(block[:n])
                left -= n
        z.writestr("archive/version", "3\n")


def main():
    import numpy as np
    import joblib
    from safetensors.numpy import save_file
    from sklearn.linear_model import LogisticRegression

    shutil.rmtree(CORPUS, ignore_errors=True)
    labels = []
    fx = REPO / "fixtures"
    for kind in ("benign", "malicious"):
        for p in sorted((fx / kind).rglob("*")):
            if p.is_file() and not p.is_symlink():
                rel = p.relative_to(fx / kind)
                if "hf_cache" in rel.parts:
                    continue
                dst = CORPUS / "small" / kind / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(p, dst)
                labels.append((dst.relative_to(CORPUS), kind))

    rng = random.Random(7)
    folder = CORPUS / "folder"
    folder.mkdir(parents=True)
    evil_sources = [
        "torch_payload.pt", "posix_system_named.bin", "joblib_payload.joblib", "numpy_object_payload.npy",
        "keras_lambda.keras", "gguf_template_ssti.gguf", "gzip_wrapped.pkl.gz", "nullifai_7z.pt",
        "polyglot_pickle_zip.pt", "stack_global_memo.pkl", "getattr_import_module.pkl", "marshal_function.pkl",
    ]
    evil_slots = set(rng.sample(range(100), len(evil_sources)))
    X = np.arange(64, dtype=np.float64).reshape(16, 4)
    clf = LogisticRegression(max_iter=100).fit(X, [0, 1] * 8)
    ei = 0
    for i in range(100):
        if i in evil_slots:
            src = evil_sources[ei]
            ei += 1
            ext = {".keras": ".keras", ".gguf": ".gguf", ".npy": ".npy", ".joblib": ".joblib"}.get(Path(src).suffix, ".bin")
            dst = folder / f"shard_{i:03d}{ext}"
            shutil.copy(fx / "malicious" / src, dst)
            labels.append((dst.relative_to(CORPUS), "malicious"))
            continue
        kind = i % 5
        if kind == 0:
            sd, stor = gen.state_dict(n=rng.randint(2, 8), dims=(rng.choice([16, 32, 64]), rng.choice([16, 64, 128])))
            dst = folder / f"pytorch_model-{i:03d}.bin"
            dst.write_bytes(gen.torch_zip(gen.torch_data_pkl(sd), stor))
        elif kind == 1:
            dst = folder / f"model-{i:03d}.safetensors"
            save_file({f"w{j}": np.zeros((rng.choice([16, 64]), 32), dtype=np.float32) for j in range(4)}, str(dst))
        elif kind == 2:
            dst = folder / f"embeddings-{i:03d}.npy"
            np.save(dst, np.zeros((rng.choice([100, 1000]), 16), dtype=np.float32))
        elif kind == 3:
            dst = folder / f"classifier-{i:03d}.joblib"
            joblib.dump(clf, dst)
        else:
            dst = folder / f"config-{i:03d}.json"
            dst.write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "shard": i}))
        labels.append((dst.relative_to(CORPUS), "benign"))

    big = CORPUS / "big"
    big.mkdir()
    big_checkpoint(big / "checkpoint_1g.pt", 1 << 30)
    big_checkpoint(big / "checkpoint_1m.pt", 1 << 20)
    labels.append((Path("big/checkpoint_1g.pt"), "benign"))
    labels.append((Path("big/checkpoint_1m.pt"), "benign"))

    with open(CORPUS / "labels.tsv", "w") as f:
        for rel, kind in labels:
            f.write(f"{rel}\t{kind}\n")
    n_mal = sum(1 for _, k in labels if k == "malicious")
    print(f"corpus: {len(labels)} files ({n_mal} malicious) in {CORPUS}")


if __name__ == "__main__":
    main()
