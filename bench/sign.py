#!/usr/bin/env python3
"""Time sign and verify of the same 4 GiB folder with Rampart and model-signing (see sign.sh)."""
import argparse, os, re, statistics, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RAMPART = REPO / "target/release/rampart"
MS = HERE / ".venv-ms/bin/model_signing"
KEYS = REPO.parent / "shared/interop/model-signing/keys"
WORK = HERE / "out/sign"


def make_model(root: Path):
    marker = root / ".complete"
    if marker.exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    block = bytes((i * 131 + 7) % 251 for i in range(1 << 20))
    for i in range(3):
        with open(root / f"model-{i:05d}-of-00003.safetensors", "wb") as f:
            for j in range(1024):
                f.write(block[j % 251:] + block[: j % 251])
    small = root / "shards"
    small.mkdir(exist_ok=True)
    for i in range(1024):
        (small / f"part-{i:04d}.bin").write_bytes(block[i % 97:] + block[: i % 97])
    marker.write_text("")


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return dt


def ceiling():
    out = subprocess.run(["openssl", "speed", "-evp", "sha256", "-seconds", "3"], capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if l.startswith("sha256")][-1]
    per_core = float(line.split()[-1].rstrip("k")) * 1000  # bytes/s, 16 KiB blocks
    return per_core, per_core * os.cpu_count()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    model = WORK / "model"
    make_model(model)
    size = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    # Warm the page cache so both tools hash from memory alike.
    subprocess.run(["cat"] + [str(p) for p in model.rglob("*") if p.is_file()], stdout=subprocess.DEVNULL)
    priv, pub = KEYS / "TEST-ONLY-ec-p256-private.sec1.pem", KEYS / "ec-p256-public.pem"
    jobs = {
        ("rampart", "sign"): [RAMPART, "sign", "key", model, "--private_key", priv, "--signature", WORK / "r.sig"],
        ("rampart", "verify"): [RAMPART, "verify", "key", model, "--signature", WORK / "r.sig", "--public_key", pub],
        ("model-signing", "sign"): [MS, "sign", "key", model, "--private_key", priv, "--signature", WORK / "m.sig"],
        ("model-signing", "verify"): [MS, "verify", "key", model, "--signature", WORK / "m.sig", "--public_key", pub],
    }
    times = {}
    for _ in range(a.repeat):
        for k, cmd in jobs.items():
            times.setdefault(k, []).append(timed([str(c) for c in cmd]))
    # Cross-check: each tool verifies the other's signature.
    timed([str(c) for c in [RAMPART, "verify", "key", model, "--signature", WORK / "m.sig", "--public_key", pub]])
    timed([str(c) for c in [MS, "verify", "key", model, "--signature", WORK / "r.sig", "--public_key", pub]])
    per_core, ceil = ceiling()
    gib = size / 2**30
    print(f"model: {gib:.2f} GiB in {sum(1 for p in model.rglob('*') if p.is_file())} files; cores: {os.cpu_count()}")
    print(f"SHA-256 ceiling: {per_core / 1e9:.2f} GB/s per core x {os.cpu_count()} = {ceil / 1e9:.2f} GB/s (openssl speed -evp sha256, 16 KiB blocks)")
    print()
    print("| tool | operation | median s | runs | GB/s | % of ceiling | x Rampart |")
    print("|---|---|---|---|---|---|---|")
    for op in ("sign", "verify"):
        base = statistics.median(times[("rampart", op)])
        for tool in ("rampart", "model-signing"):
            t = statistics.median(times[(tool, op)])
            gbps = size / t / 1e9
            print(f"| {tool} | {op} | {t:.2f} | {', '.join(f'{x:.2f}' for x in times[(tool, op)])} | {gbps:.2f} | {100 * gbps * 1e9 / ceil:.0f}% | {t / base:.1f}x |")
    print()
    print("cross-check: rampart verified model-signing's signature and model-signing verified rampart's")


if __name__ == "__main__":
    main()
