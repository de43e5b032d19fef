#!/usr/bin/env python3
"""`rampart bom` against the peer AI-BOM generators (see bom.sh).

Two parts, one run:
1. Fields: each tool on the same inputs (the fixture Hugging Face folder, a GGUF and an ONNX
   file, a dataset folder, a prompt); which ML-BOM fields each fills, whether its document
   validates against the official CycloneDX schema of the version it claims.
2. Cost: a multi-gigabyte Hugging Face-style folder (3 x 1 GiB safetensors shards, a 512 MiB
   JSONL dataset, configs). `rampart bom` must cost one hashing pass: its time is compared with
   `rampart hash` (exactly one SHA-256 pass) and the bytes it reads (strace) with the folder's
   size. The peers run on the same folder.
"""
import argparse, json, os, re, shutil, statistics, struct, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared"
RAMPART = REPO / "target/release/rampart"
CDXGEN = HERE / ".node/node_modules/.bin/cdxgen"
AIBOM = HERE / ".venv-aibom/bin/ai-bom"
VALIDATOR_PY = HERE / ".venv-aibom/bin/python"
WORK = HERE / "out/bom"
FIX = REPO / "fixtures/bom"


def run(cmd, env=None, check=True):
    t = time.perf_counter()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if check and r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return dt, r


def env_quiet():
    e = dict(os.environ)
    e.update(FETCH_LICENSE="false", CDXGEN_NO_BANNER="true", CDXGEN_TELEMETRY="false", SOURCE_DATE_EPOCH="1767225600")
    return e


def rampart_bom(paths, out):
    run([RAMPART, "bom", "-o", out, *paths], env=env_quiet())
    return json.loads(Path(out).read_text())


def cdxgen_bom(path, out):
    run([CDXGEN, "-t", "ai", "--spec-version", "1.6", "--no-install-deps", "-o", out, path], env=env_quiet())
    return json.loads(Path(out).read_text())


def aibom_bom(path, out):
    run([AIBOM, "generate", path, "--discover-artifacts", "--format", "cyclonedx-json-1.7", "--output", out,
         "--warning-report", str(out) + ".warnings.json"], env=env_quiet())
    return json.loads(Path(out).read_text())


def validate(doc):
    """Validate against the official schema of the document's own specVersion."""
    ver = doc.get("specVersion", "?")
    code = f"""
import json, sys, jsonschema, referencing
d = '{SHARED}/specs/cyclonedx'
reg = referencing.Registry().with_resources([
    ('http://cyclonedx.org/schema/' + n, referencing.Resource.from_contents(json.load(open(d + '/' + n))))
    for n in ['spdx.schema.json', 'jsf-0.82.schema.json', 'cryptography-defs.schema.json']])
s = json.load(open(d + '/bom-{ver}.schema.json'))
v = jsonschema.Draft7Validator(s, registry=reg, format_checker=jsonschema.FormatChecker())
errs = list(v.iter_errors(json.load(sys.stdin)))
print(len(errs)); [print(e.message[:200]) for e in errs[:3]]
"""
    r = subprocess.run([str(VALIDATOR_PY), "-c", code], input=json.dumps(doc), capture_output=True, text=True)
    if r.returncode != 0:
        return f"{ver}: validator error {r.stderr[-300:]}"
    n = int(r.stdout.split()[0])
    return f"{ver} valid" if n == 0 else f"{ver} INVALID ({n} errors)"


def models(doc):
    top = doc.get("metadata", {}).get("component")
    cs = [c for c in doc.get("components", []) if c.get("type") == "machine-learning-model"]
    if top and top.get("type") == "machine-learning-model":
        cs.append(top)
    return cs


def walk(doc):
    stack = list(doc.get("components", []))
    out = []
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.get("components", []))
    return out


def has_prop(c, *needles):
    props = c.get("properties", []) + c.get("modelCard", {}).get("properties", [])
    return any(any(n in p.get("name", "") for n in needles) for p in props)


def hf_fields(doc, folder):
    """Field checks on the Hugging Face folder; each a predicate over the whole document."""
    ms = [m for m in models(doc) if not m.get("bom-ref", "").endswith(("-base-1",))]
    m = ms[0] if ms else {}
    mc = m.get("modelCard", {})
    mp = mc.get("modelParameters", {})
    cons = mc.get("considerations", {})
    files = {p.name for p in folder.rglob("*") if p.is_file()}
    hashed = {c.get("name") for c in walk(doc) if c.get("hashes")}
    data = [c for c in walk(doc) if c.get("type") == "data"]
    return {
        "model component": bool(m),
        "name from the model card (tiny-support-llm)": m.get("name") == "tiny-support-llm",
        "licenses (SPDX id)": any(l.get("license", {}).get("id") for l in m.get("licenses", [])),
        "description": bool(m.get("description")),
        "modelParameters.task": bool(mp.get("task")),
        "modelParameters.architectureFamily": bool(mp.get("architectureFamily")),
        "modelParameters.modelArchitecture": bool(mp.get("modelArchitecture")),
        "modelParameters.datasets (training)": len(mp.get("datasets", [])) >= 1,
        "modelParameters.inputs/outputs": bool(mp.get("inputs")) and bool(mp.get("outputs")),
        "quantitativeAnalysis.performanceMetrics": bool(mc.get("quantitativeAnalysis", {}).get("performanceMetrics")),
        "considerations.useCases (intended use text)": any("customer" in u for u in cons.get("useCases", [])),
        "considerations.technicalLimitations": bool(cons.get("technicalLimitations")),
        "considerations out-of-scope use": any("medical" in json.dumps(x) for x in cons.get("ethicalConsiderations", [])),
        "environmental (CO2)": bool(cons.get("environmentalConsiderations")),
        "pedigree.ancestors (base model)": bool(m.get("pedigree", {}).get("ancestors")),
        "component.tags (model card tags)": "support" in m.get("tags", []),
        "purl of the model itself": bool(m.get("purl")),
        "evidence (files the facts came from)": bool(m.get("evidence")),
        "dataset component": bool(data),
        "dependencies model -> dataset": any(d.get("dependsOn") for d in doc.get("dependencies", [])),
        "parameter count": has_prop(m, "parameters"),
        "tensor types / precision": has_prop(m, "tensor-type", "dtype", "precision"),
        "context length": has_prop(m, "context"),
        "chat template recorded (hash)": has_prop(m, "chat-template"),
        "SHA-256 of weights": any(n and n.endswith(".safetensors") for n in hashed),
        "SHA-256 of every file": files <= hashed,
        "model signing manifest digest": has_prop(m, "oms-manifest"),
        "scan verdict": has_prop(m, "scan:verdict"),
        "signature status": has_prop(m, "signature"),
        "prompt file as hashed asset": any("prompt" in (c.get("name") or "") and c.get("hashes") for c in walk(doc)),
    }


def other_fields(doc):
    comps = walk(doc)
    def find(word):
        return [c for c in comps if word in json.dumps(c)]
    gg = [c for c in models(doc) if "gguf" in json.dumps(c).lower()]
    ox = [c for c in models(doc) if "onnx" in json.dumps(c).lower()]
    recs = [c for c in comps if c.get("type") == "data" and "records" in json.dumps(c)]
    cols = [c for c in comps if c.get("type") == "data" and "question" in json.dumps(c)]
    return {
        "GGUF: model component": bool(gg),
        "GGUF: name/version/licence from metadata": any(c.get("name") == "tiny-gguf-chat" and c.get("version") == "1.2" and c.get("licenses") for c in gg),
        "GGUF: context length / quantisation": any(has_prop(c, "context") and has_prop(c, "quantization", "quant") for c in gg),
        "ONNX: model component": bool(ox),
        "ONNX: producer / doc string / version": any(c.get("description") and c.get("version") for c in ox),
        "datasets: record counts": bool(recs),
        "datasets: columns": bool(cols),
        "prompt: hashed, template variables": any("customer_name" in json.dumps(c) and c.get("hashes") for c in comps),
    }


def fields_part():
    WORK.mkdir(parents=True, exist_ok=True)
    hf = FIX / "tiny-llm"
    others = [FIX / "tiny.gguf", FIX / "tiny.onnx", FIX / "datasets", FIX / "prompts/support-system.prompt.txt"]
    results = {}
    # Rampart: all inputs at once. Peers work on one folder: they get the HF folder, then a
    # folder holding the other inputs.
    mixed = WORK / "mixed"
    if mixed.exists():
        shutil.rmtree(mixed)
    mixed.mkdir()
    for p in others:
        (shutil.copytree if p.is_dir() else shutil.copy)(p, mixed / p.name)
    r1 = rampart_bom([hf], WORK / "rampart-hf.json")
    r2 = rampart_bom([mixed / p.name for p in others], WORK / "rampart-mixed.json")
    results["rampart"] = (r1, r2)
    results["cdxgen 12.8.4 (-t ai)"] = (cdxgen_bom(hf, WORK / "cdxgen-hf.json"), cdxgen_bom(mixed, WORK / "cdxgen-mixed.json"))
    results["ai-bom-generator 0.8.2"] = (aibom_bom(hf, WORK / "aibom-hf.json"), aibom_bom(mixed, WORK / "aibom-mixed.json"))
    table = {}
    for tool, (a, b) in results.items():
        f = hf_fields(a, hf)
        f.update(other_fields(b))
        table[tool] = (f, validate(a), validate(b))
    names = list(next(iter(table.values()))[0])
    tools = list(table)
    lines = ["| field | " + " | ".join(tools) + " |", "|---|" + "---|" * len(tools)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join("✓" if table[t][0][n] else "✗" for t in tools) + " |")
    lines.append("| **fields filled** | " + " | ".join(f"**{sum(table[t][0].values())}/{len(names)}**" for t in tools) + " |")
    lines.append("| schema (HF folder doc) | " + " | ".join(table[t][1] for t in tools) + " |")
    lines.append("| schema (other inputs doc) | " + " | ".join(table[t][2] for t in tools) + " |")
    return "\n".join(lines), {t: sum(v[0].values()) for t, v in table.items()}


def make_big(root: Path, gib: int):
    marker = root / ".complete"
    if marker.exists():
        return
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for f in ["README.md", "config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json",
              "special_tokens_map.json"]:
        shutil.copy(FIX / "tiny-llm" / f, root / f)
    block = bytes((i * 131 + 7) % 251 for i in range(1 << 20))
    n_elems = (1 << 30) // 4
    for i in range(gib):
        header = json.dumps({"__metadata__": {"format": "pt"},
                             f"layer.{i}.weight": {"dtype": "F32", "shape": [n_elems // 4096, 4096],
                                                   "data_offsets": [0, n_elems * 4]}}).encode()
        header += b" " * (-len(header) % 8)
        with open(root / f"model-{i + 1:05d}-of-{gib:05d}.safetensors", "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header)
            for j in range(1024):
                f.write(block[j % 251:] + block[: j % 251])
    (root / "data").mkdir()
    line = json.dumps({"question": "How do I reset my password? " * 3, "answer": "Settings > Account > Reset. " * 6}) + "\n"
    with open(root / "data/train.jsonl", "w") as f:
        chunk = line * 2000
        written = 0
        while written < (512 << 20):
            f.write(chunk)
            written += len(chunk)
    marker.write_text("")


def bytes_read(cmd):
    """Bytes a command reads (strace: read/pread64 results over all threads, including the
    shared libraries, /proc and config files; so slightly more than the files themselves)."""
    trace = WORK / "strace.txt"
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=read,pread64", "-e", "signal=none", "-o", str(trace)]
                   + [str(c) for c in cmd], capture_output=True, env=env_quiet())
    total = 0
    for l in trace.read_text(errors="replace").splitlines():
        if "= " in l and re.search(r"(\b(read|pread64)\(|<\.\.\. (read|pread64) resumed>)", l):
            try:
                n = int(l.rsplit("= ", 1)[1].split()[0])
            except ValueError:
                continue
            if n > 0:
                total += n
    trace.unlink()
    return total


def cost_part(repeat, gib):
    big = WORK / "big"
    make_big(big, gib)
    size = sum(p.stat().st_size for p in big.rglob("*") if p.is_file() and p.name != ".complete")
    (big / ".complete").unlink()  # keep the folder exactly the model's files while measuring
    try:
        subprocess.run(["cat"] + [str(p) for p in big.rglob("*") if p.is_file()], stdout=subprocess.DEVNULL)
        jobs = {
            "rampart hash (one SHA-256 pass)": [RAMPART, "hash", big],
            "rampart bom": [RAMPART, "bom", "-o", WORK / "big-rampart.json", big],
            "rampart bom --format spdx": [RAMPART, "bom", "--format", "spdx", "-o", WORK / "big-rampart.spdx.json", big],
            "rampart hash data/ (512 MiB JSONL only)": [RAMPART, "hash", big / "data"],
            "rampart bom data/ (records and columns counted)": [RAMPART, "bom", "-o", WORK / "big-data.json", big / "data"],
            "cdxgen -t ai": [CDXGEN, "-t", "ai", "--spec-version", "1.6", "--no-install-deps", "-o", WORK / "big-cdxgen.json", big],
            "ai-bom-generator --discover-artifacts": [AIBOM, "generate", big, "--discover-artifacts", "--max-artifact-bytes",
                                                      str(2 << 30), "--max-total-artifact-bytes", str(16 << 30),
                                                      "--output", WORK / "big-aibom.json", "--warning-report", WORK / "big-aibom.w.json"],
        }
        times = {k: [] for k in jobs}
        for _ in range(repeat):
            for k, cmd in jobs.items():
                dt, r = run(cmd, env=env_quiet(), check=False)
                if r.returncode != 0:
                    times[k].append(float("nan"))
                    print(f"{k} failed: {r.stderr[-300:]}", file=sys.stderr)
                else:
                    times[k].append(dt)
        reads = {k: bytes_read(cmd) for k, cmd in jobs.items() if k.startswith("rampart")}
    finally:
        (big / ".complete").write_text("")
    base = statistics.median(times["rampart hash (one SHA-256 pass)"])
    data_size = (big / "data/train.jsonl").stat().st_size
    data_base = statistics.median(times["rampart hash data/ (512 MiB JSONL only)"])
    lines = [f"Folder: {size / (1 << 30):.2f} GiB ({gib} x 1 GiB safetensors, 512 MiB JSONL, configs), page cache warm, {os.cpu_count()} cores, median of {repeat}.",
             "", "| command | median s | GB/s | × rampart hash | bytes read (strace) | reads ÷ folder size |", "|---|---|---|---|---|---|"]
    for k, ts in times.items():
        m = statistics.median(ts)
        rd = reads.get(k)
        sz, b = (data_size, data_base) if "data/" in k else (size, base)
        lines.append(f"| {k} | {m:.2f} | {sz / m / 1e9:.2f} | {m / b:.2f} | "
                     + (f"{rd:,} | {rd / sz:.4f}" if rd is not None else "– | –") + " |")
    lines.append("")
    lines.append("The data/ rows compare with `rampart hash data/` (same bytes); the others with the whole folder.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gib", type=int, default=3, help="safetensors shards of 1 GiB in the big folder")
    ap.add_argument("--fields-only", action="store_true")
    a = ap.parse_args()
    table, _ = fields_part()
    out = ["# `rampart bom` benchmark", "", "## Fields filled on the same inputs", "", table]
    if not a.fields_only:
        out += ["", "## Cost on a multi-gigabyte folder", "", cost_part(a.repeat, a.gib)]
    text = "\n".join(out) + "\n"
    print(text)
    (HERE / "RESULTS-bom.md").write_text(text)


if __name__ == "__main__":
    main()
