#!/usr/bin/env python3
"""Several builds of the gateway side by side: one mock upstream, one gateway per `rampart`
binary given (each with bench/gateway.sh's "all guards" configuration, or none with
`--no-guards`, and SQLite audit with fsync), and the open-loop load generator at 100 and 1000 req/s against the mock directly and
against each gateway in turn, `--rounds` times, so drift on this shared machine hits every
build alike. Prints, per build and rate, the medians over rounds of the p99, of the p99 added
to the direct call's in the same round, and of the gateway's own mean time per request
(rampart_gateway_overhead_seconds sum / count over the round).

Usage: build each revision and copy target/release/rampart aside, then
  python3 bench/gateway_builds.py [--secs 20] [--rounds 3] [--no-guards] LABEL=PATH [LABEL=PATH ...]
"""
import argparse, os, statistics, sys, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway as g  # noqa: E402


def overhead(admin):
    req = urllib.request.Request(f"http://127.0.0.1:{admin}/metrics", headers={"Authorization": "Bearer bench-admin"})
    s = c = 0.0
    for line in urllib.request.urlopen(req, timeout=5).read().decode().splitlines():
        if line.startswith('rampart_gateway_overhead_seconds_sum{route="chat"}'):
            s = float(line.split()[-1])
        if line.startswith('rampart_gateway_overhead_seconds_count{route="chat"}'):
            c = float(line.split()[-1])
    return s, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-guards", action="store_true", help="auth, rate limit and audit only")
    ap.add_argument("builds", nargs="+", help="LABEL=PATH to a rampart binary")
    a = ap.parse_args()
    g.OUT = os.path.join(g.ROOT, "bench", "out", "gateway-builds")
    os.makedirs(g.OUT, exist_ok=True)
    mock = g.start_mock()
    targets = [("direct", mock + "/v1/chat/completions", None, None)]
    try:
        for i, spec in enumerate(a.builds):
            label, path = spec.split("=", 1)
            port, admin = 19300 + 10 * i, 19301 + 10 * i
            g.RAMPART, saved = path, g.RAMPART  # `keys create` runs the build under test
            cfg, key = g.rampart_config(label, port, admin, mock, not a.no_guards)
            g.RAMPART = saved
            g.start([path, "serve", "-c", cfg], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
            g.wait_port(f"http://127.0.0.1:{admin}/healthz")
            targets.append((label, f"http://127.0.0.1:{port}/v1/chat/completions", key, admin))
        for _, url, key, _ in targets:
            g.loadgen(url, key, 100, 3)
        res = {}
        for rate in (100, 1000):
            for r in range(a.rounds):
                for name, url, key, admin in targets:
                    before = overhead(admin) if admin else None
                    x = g.loadgen(url, key, rate, a.secs)
                    inside = None
                    if admin:
                        after = overhead(admin)
                        inside = (after[0] - before[0]) / max(after[1] - before[1], 1) * 1000
                    res.setdefault((rate, name), []).append((x["p99_ms"], inside))
                    print(rate, r, name, x, inside, file=sys.stderr, flush=True)
        print("| build | p99 at 100 req/s (ms) | added p99 | inside mean (ms) | p99 at 1000 req/s | added p99 | inside mean |")
        print("|---|---|---|---|---|---|---|")
        for name, *_ in targets:
            cells = []
            for rate in (100, 1000):
                v, d = res[(rate, name)], res[(rate, "direct")]
                cells.append(f"{statistics.median(x[0] for x in v):.2f}")
                cells.append(f"{statistics.median(x[0] - y[0] for x, y in zip(v, d)):+.2f}" if name != "direct" else "-")
                cells.append(f"{statistics.median(x[1] for x in v):.3f}" if name != "direct" else "-")
            print(f"| {name} | " + " | ".join(cells) + " |")
    finally:
        for p in g.procs:
            p.terminate()


if __name__ == "__main__":
    main()
