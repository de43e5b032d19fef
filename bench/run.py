#!/usr/bin/env python3
"""Run Rampart and the peer scanners on bench/corpus and print one comparison table.

A file counts as *flagged* by a tool when the tool reports something about it (or a member
inside it) at its "needs attention" level or above:
  rampart    finding with severity medium or above (the default --fail-on)
  picklescan a "dangerous import" or "suspicious" line for the file
  modelscan  an issue of any severity whose source is the file
  modelaudit an issue of severity warning or critical located in the file
  fickling   check_safety() other than LIKELY_SAFE on each pickle (and each .pkl member of
             a zip); files that are neither pickle nor zip are routed around it (not flagged)
Detections = flagged malicious files; misses = malicious files not flagged; false positives =
flagged benign files; errors = files the tool reported it could not process.

Wall time is the median of --repeat runs per corpus part (a tool whose single run exceeds
30 s is run once). Ratios are tool time / Rampart time on the same part.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = HERE / "corpus"
VENV = HERE / ".venv/bin"
VENV_MS = HERE / ".venv-modelscan/bin"
RAMPART = REPO / "target/release/rampart"
PARTS = ["small", "folder", "big"]
ENV = dict(os.environ, PROMPTFOO_DISABLE_TELEMETRY="1", NO_COLOR="1", HF_HUB_OFFLINE="1")


def labels():
    out = {}
    for line in open(CORPUS / "labels.tsv"):
        rel, kind = line.rstrip("\n").split("\t")
        out[str((CORPUS / rel).resolve())] = kind
    return out


def owner(path, files):
    """Map a reported location (possibly 'file:member (pos N)') to a labelled file."""
    p = str(Path(path).resolve()) if not path.startswith("/") else path
    for f in files:
        if p == f or p.startswith(f + ":") or p.startswith(f + "!") or p.startswith(f + " "):
            return f
    return None


def timed(cmd, **kw):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, **kw)
    return time.perf_counter() - t, r


# ----------------------------------------------------------------------------------- tools

def run_rampart(part, files):
    dt, r = timed([str(RAMPART), "scan", "--format", "json", "--no-progress", str(CORPUS / part)])
    rep = json.loads(r.stdout)
    flagged, errors = set(), set()
    for f in rep["findings"]:
        if f["severity"] in ("medium", "high", "critical"):
            o = owner(str(Path(f["location"]["path"]).resolve()), files)
            if o:
                flagged.add(o)
    for e in rep["errors"]:
        o = owner(str(Path(e["path"]).resolve()), files)
        if o:
            errors.add(o)
    return dt, flagged, errors


def run_picklescan(part, files):
    dt, r = timed([str(VENV / "picklescan"), "-p", str(CORPUS / part)])
    flagged, errors = set(), set()
    for line in (r.stdout + r.stderr).splitlines():
        if line.startswith("ERROR"):
            for f in files:
                if f in line:
                    errors.add(f)
            continue
        if ("dangerous" in line or "suspicious" in line.lower()) and ": " in line:
            o = owner(line.split(": ", 1)[0], files)
            if o:
                flagged.add(o)
    return dt, flagged, errors


def run_modelscan(part, files):
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "ms.json"
        dt, r = timed([str(VENV_MS / "modelscan"), "-p", str(CORPUS / part), "-r", "json", "-o", str(out)])
        flagged, errors = set(), set()
        if not out.exists():
            return dt, flagged, set(files)
        rep = json.loads(out.read_text())
    base = Path(rep.get("summary", {}).get("absolute_path", CORPUS / part))
    for i in rep.get("issues", []):
        src = i.get("source", "")
        o = owner(str((base / src.split(":", 1)[0]).resolve()), files) or owner(src, files)
        if o:
            flagged.add(o)
    for e in rep.get("errors", []):
        src = e.get("source", "") or ""
        o = owner(str((base / src.split(":", 1)[0]).resolve()), files) if src else None
        if o:
            errors.add(o)
    return dt, flagged, errors


def run_modelaudit(part, files):
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "ma.json"
        dt, r = timed([str(VENV / "modelaudit"), "scan", str(CORPUS / part), "--format", "json", "--no-cache", "-o", str(out)])
        if not out.exists():
            return dt, set(), set(files)
        rep = json.loads(out.read_text())
    flagged, errors = set(), set()
    for i in rep.get("issues", []):
        loc = (i.get("location") or "").split(" (pos")[0]
        o = owner(loc.split(":", 1)[0], files)
        if not o:
            continue
        sev = (i.get("severity") or "").lower()
        if sev in ("warning", "critical", "error", "high"):
            flagged.add(o)
        if "error" in (i.get("type") or "") or "Error" in (i.get("message") or "")[:40]:
            errors.add(o)
    return dt, flagged, errors


FICKLING_DRIVER = r'''
import io, json, sys, zipfile
from fickling.fickle import Pickled
from fickling.analysis import check_safety, Severity
res = {}
for path in sys.argv[1:]:
    try:
        if zipfile.is_zipfile(path):
            z = zipfile.ZipFile(path)
            pk = [n for n in z.namelist() if n.endswith(".pkl")]
            if not pk:
                res[path] = "skip"; continue
            bad = False
            for n in pk:
                p = Pickled.load(io.BytesIO(z.read(n)), fail_on_decode_error=False)
                bad |= p.has_invalid_opcode or check_safety(p).severity != Severity.LIKELY_SAFE
            res[path] = "flag" if bad else "ok"
        else:
            head = open(path, "rb").read(1)
            if head[:1] not in (b"\x80", b"(", b"c", b"]", b"}", b")"):
                res[path] = "skip"; continue
            with open(path, "rb") as f:
                p = Pickled.load(f, fail_on_decode_error=False)
            bad = p.has_invalid_opcode or check_safety(p).severity != Severity.LIKELY_SAFE
            res[path] = "flag" if bad else "ok"
    except Exception as e:
        res[path] = "error"
print(json.dumps(res))
'''


def run_fickling(part, files):
    paths = [f for f in files if f.startswith(str((CORPUS / part).resolve()) + "/")]
    dt, r = timed([str(VENV / "python"), "-c", FICKLING_DRIVER, *paths])
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except Exception:
        return dt, set(), set(paths)
    return dt, {p for p, v in res.items() if v == "flag"}, {p for p, v in res.items() if v == "error"}


TOOLS = {
    "rampart": run_rampart,
    "picklescan": run_picklescan,
    "modelscan": run_modelscan,
    "fickling": run_fickling,
    "modelaudit": run_modelaudit,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--json", help="also write raw results here")
    args = ap.parse_args()
    lab = labels()
    files = sorted(lab, key=len, reverse=True)  # longest first so owner() prefers exact files
    results = {}
    for tool in args.tools.split(","):
        fn = TOOLS[tool]
        times, flagged, errors = {}, set(), set()
        for part in PARTS:
            part_files = [f for f in files if f.startswith(str((CORPUS / part).resolve()) + "/")]
            runs = []
            for i in range(args.repeat):
                dt, fl, er = fn(part, part_files)
                runs.append(dt)
                if i == 0:
                    flagged |= fl
                    errors |= er
                if dt > 30:
                    break
            times[part] = statistics.median(runs)
            print(f"  {tool:<11} {part:<7} {times[part]:8.3f} s (runs: {', '.join(f'{x:.3f}' for x in runs)})", file=sys.stderr)
        mal = {f for f, k in lab.items() if k == "malicious"}
        ben = {f for f, k in lab.items() if k == "benign"}
        results[tool] = {
            "times": times,
            "detected": len(flagged & mal),
            "missed": sorted(os.path.relpath(f, CORPUS) for f in mal - flagged),
            "false_positives": sorted(os.path.relpath(f, CORPUS) for f in flagged & ben),
            "errors": len(errors),
            "n_mal": len(mal),
            "n_ben": len(ben),
        }
    base = results.get("rampart")
    print()
    print(f"corpus: {len(lab)} files ({results[next(iter(results))]['n_mal']} malicious, {results[next(iter(results))]['n_ben']} benign); "
          f"parts: small = fixtures, folder = 100-file model folder, big = 1 GiB + 1 MiB checkpoints")
    print()
    hdr = "| tool | detected | missed | false positives | errors | small (s) | folder (s) | big (s) | total (s) | × Rampart (total) |"
    print(hdr)
    print("|" + "---|" * 10)
    for tool, r in results.items():
        total = sum(r["times"].values())
        ratio = total / sum(base["times"].values()) if base else float("nan")
        print(f"| {tool} | {r['detected']}/{r['n_mal']} | {len(r['missed'])} | {len(r['false_positives'])}/{r['n_ben']} | {r['errors']} | "
              f"{r['times']['small']:.3f} | {r['times']['folder']:.3f} | {r['times']['big']:.3f} | {total:.3f} | {ratio:,.0f}× |")
    if base:
        print()
        for tool, r in results.items():
            if tool == "rampart":
                continue
            theirs = set(r["missed"])
            ours = set(base["missed"])
            print(f"- {tool}: missed {len(theirs)}; of those Rampart found {len(theirs - ours)}; Rampart missed {len(ours - theirs)} that {tool} found: {sorted(ours - theirs)}")
        print(f"- rampart missed: {base['missed']}")
        print(f"- rampart false positives: {base['false_positives']}")
    if base:
        # Scan time must not grow with tensor bytes: the same checkpoint at 1 MiB and 1 GiB.
        for name in ("checkpoint_1m.pt", "checkpoint_1g.pt"):
            ts = []
            for _ in range(11):
                dt, r = timed([str(RAMPART), "scan", "--format", "json", str(CORPUS / "big" / name)])
                ts.append(dt)
            print(f"- rampart on big/{name} ({(CORPUS / 'big' / name).stat().st_size / 2**20:,.0f} MiB): median {statistics.median(ts) * 1000:.1f} ms over 11 runs")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
