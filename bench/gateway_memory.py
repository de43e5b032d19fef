#!/usr/bin/env python3
"""Memory of a gateway with every guard on (bench/gateway.sh's "all guards" configuration,
injection flagging, and the same with it blocking) under a closed-loop load: RSS after start,
then peak RSS (VmHWM) and peak thread count over `--secs` of wrk with `--connections`
connections, then RSS after the load. One mock upstream; the gateways run one at a time.
With `--each-guard`, each build is started instead with no guard, with each guard alone and
with all of them, and its RSS read after start and after 2 s of load.

Usage: python3 bench/gateway_memory.py [--secs 10] [--connections 64] [--each-guard] [LABEL=PATH ...]
(default: the release build, target/release/rampart)
"""
import argparse, os, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway as g  # noqa: E402


def serve(binary, cfg):
    p = g.serve(binary, cfg, 19701)
    time.sleep(1)
    return p


def each_guard(builds, mock):
    names = ["none", "invisible", "size", "deny", "injection", "pii", "secrets", "exfil", "canary", "tools", "all"]
    print("RSS after start / after 2 s of wrk (16 connections), MiB\n")
    print("| guards | " + " | ".join(label for label, _ in builds) + " |")
    print("|---|" + "---|" * len(builds))
    for name in names:
        cells = []
        for label, binary in builds:
            only = None if name in ("none", "all") else name
            cfg, key = g.rampart_config(f"mem-{label}-{name}", 19700, 19701, mock, name != "none", only=only)
            p = serve(binary, cfg)
            start_rss = g.proc_status(p.pid, "VmRSS")
            g.wrk("http://127.0.0.1:19700/v1/chat/completions", key, 2, 16)
            after = g.proc_status(p.pid, "VmRSS")
            cells.append(f"{start_rss / 1024:.0f} / {after / 1024:.0f}")
            g.stop(p)
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--each-guard", action="store_true")
    ap.add_argument("builds", nargs="*", metavar="LABEL=PATH")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.builds] or [["build", g.RAMPART]]
    mock = g.start_mock()
    if a.each_guard:
        return each_guard(builds, mock)
    print(f"{a.connections} connections, {a.secs} s of wrk\n")
    print("| build | injection | RSS after start | peak RSS under load | RSS after | peak threads | req/s |")
    print("|---|---|---|---|---|---|---|")
    for label, binary in builds:
        for action in ("flag", "block"):
            cfg, key = g.rampart_config(f"mem-{label}-{action}", 19700, 19701, mock, True, injection=action)
            p = serve(binary, cfg)
            start_rss = g.proc_status(p.pid, "VmRSS")
            threads = [0]
            done = threading.Event()

            def watch():
                while not done.is_set():
                    threads[0] = max(threads[0], g.proc_status(p.pid, "Threads") or 0)
                    time.sleep(0.05)
            w = threading.Thread(target=watch)
            w.start()
            r = g.wrk("http://127.0.0.1:19700/v1/chat/completions", key, a.secs, a.connections)
            done.set()
            w.join()
            peak, after = g.proc_status(p.pid, "VmHWM"), g.proc_status(p.pid, "VmRSS")
            print(f"| {label} | {action} | {start_rss / 1024:.0f} MiB | {peak / 1024:.0f} MiB | {after / 1024:.0f} MiB "
                  f"| {threads[0]} | {r.get('rps', 0):,.0f} |", flush=True)
            g.stop(p)


if __name__ == "__main__":
    try:
        main()
    finally:
        g.stop_all()
