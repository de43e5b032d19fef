#!/usr/bin/env python3
"""Where a gateway's own time goes at a low rate: one gateway with every guard on (bench/gateway.sh's
"all guards" configuration) at 100 req/s, with SQLite audit `sync = "full"` (the default: the
WAL is fsynced at each commit) and then `sync = "normal"`. Per round it reads two of the
gateway's histograms: rampart_gateway_overhead_seconds (end-to-end minus upstream, the audit
wait included) and rampart_audit_write_lag_seconds (from a record's enqueue to its commit,
the part of that time spent waiting for the audit log), and prints their p50 / p90 / p99 as
bucket upper bounds. A request's answer is released only after its record's commit, so the
second is inside the first.

Usage: python3 bench/gateway_split.py [--secs 20] [--rounds 3] [--rate 100]
(the release build, target/release/rampart, and the load generator of bench/gateway.sh)
"""
import argparse, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway as g  # noqa: E402

LAG = "rampart_audit_write_lag_seconds"
PS = (0.5, 0.9, 0.99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=100)
    a = ap.parse_args()
    mock = g.start_mock()
    print(f"every guard on, {a.rate} req/s, {a.rounds} rounds of {a.secs} s; p50 / p90 / p99 as bucket bounds (ms)\n")
    print("| audit sync | round | end-to-end p99 | gateway's own time | of which waiting for the audit commit |")
    print("|---|---|---|---|---|")
    for sync in ("full", "normal"):
        cfg, key = g.rampart_config(f"split-{sync}", 19800, 19801, mock, True, sync=sync)
        p = g.serve(g.RAMPART, cfg, 19801)
        url = "http://127.0.0.1:19800/v1/chat/completions"
        g.loadgen(url, key, a.rate, 3)  # warm connections and caches
        for rnd in range(1, a.rounds + 1):
            o0, l0 = g.metric_buckets(19801), g.metric_buckets(19801, LAG, "")
            r = g.loadgen(url, key, a.rate, a.secs)
            o = g.bucket_quantiles(o0, g.metric_buckets(19801), PS)
            lag = g.bucket_quantiles(l0, g.metric_buckets(19801, LAG, ""), PS)
            show = lambda q: " / ".join(f"≤ {x:g}" for x in q)
            print(f"| {sync} | {rnd} | {r.get('p99_ms', float('nan')):.2f} | {show(o)} | {show(lag)} |", flush=True)
        g.stop(p)


if __name__ == "__main__":
    try:
        main()
    finally:
        g.stop_all()
