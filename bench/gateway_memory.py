#!/usr/bin/env python3
"""Memory of a gateway with every guard on (bench/gateway.sh's "all guards" configuration,
injection flagging, and the same with it blocking) under a closed-loop load: RSS after start,
then peak RSS (VmHWM) and peak thread count over `--secs` of wrk with `--connections`
connections, then RSS after the load. One mock upstream; the gateways run one at a time.

Usage: python3 bench/gateway_memory.py [--secs 10] [--connections 64] [LABEL=PATH ...]
(default: the release build, target/release/rampart)
"""
import argparse, os, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway as g  # noqa: E402


def status(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("builds", nargs="*", metavar="LABEL=PATH")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.builds] or [["build", g.RAMPART]]
    mock = g.start_mock()
    print(f"{a.connections} connections, {a.secs} s of wrk\n")
    print("| build | injection | RSS after start | peak RSS under load | RSS after | peak threads | req/s |")
    print("|---|---|---|---|---|---|---|")
    for label, binary in builds:
        for action in ("flag", "block"):
            cfg, key = g.rampart_config(f"mem-{label}-{action}", 19700, 19701, mock, True, injection=action)
            p = g.start([binary, "serve", "-c", cfg], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
            g.wait_port("http://127.0.0.1:19701/healthz")
            time.sleep(1)
            start_rss = status(p.pid, "VmRSS")
            threads = [0]
            done = threading.Event()

            def watch():
                while not done.is_set():
                    threads[0] = max(threads[0], status(p.pid, "Threads") or 0)
                    time.sleep(0.05)
            w = threading.Thread(target=watch)
            w.start()
            r = g.wrk("http://127.0.0.1:19700/v1/chat/completions", key, a.secs, a.connections)
            done.set()
            w.join()
            peak, after = status(p.pid, "VmHWM"), status(p.pid, "VmRSS")
            print(f"| {label} | {action} | {start_rss / 1024:.0f} MiB | {peak / 1024:.0f} MiB | {after / 1024:.0f} MiB "
                  f"| {threads[0]} | {r.get('rps', 0):,.0f} |", flush=True)
            p.terminate()
            p.wait(timeout=30)
            g.procs.remove(p)


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in g.procs:
            try:
                os.killpg(p.pid, 15)
            except OSError:
                pass
