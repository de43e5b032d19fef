#!/usr/bin/env python3
"""Gateway benchmark: the mock upstream called directly, through nginx (plain reverse proxy),
through Rampart (auth + rate limit + SQLite audit; with every guard on, the injection guard
flagging as `serve --init` sets it; and the same with the injection guard blocking), and through
LiteLLM's proxy (a key, a rate limit, its logging), all in one run on the same machine.

Throughput: wrk, 2 threads, 64 connections, closed loop. Latency: the open-loop generator
(crates/rampart-gateway/examples/loadgen.rs) at fixed rates, latency measured from when each
request was due. Added latency = target minus direct, at the same rate.
Prints the table and writes it to bench/out/gateway/RESULTS.md, the raw figures to
bench/out/gateway.json; bench/RESULTS-gateway.md keeps the history of runs, so a run is added
there by hand rather than written over it.
"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out", "gateway")
RAMPART = os.path.join(ROOT, "target", "release", "rampart")
LOADGEN = os.path.join(ROOT, "target", "release", "examples", "loadgen")
PROMPT = ("Summarise the following customer message for the support queue and suggest a reply. "
          "The customer writes that the delivery arrived two days late, the box was damaged and one "
          "of the three items was missing; they would like a refund for the missing item and ask "
          "whether the late delivery fee can be waived. They mention that they have been a customer "
          "for six years and that this is the first problem they have had. Keep the summary short, "
          "neutral and factual, list the actions the agent should take, and draft a polite answer "
          "that apologises, confirms the refund and explains the fee policy. ") * 2
PROMPT = PROMPT[:1024]
BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64})
procs = []
# With --pin: the load generators and the mock run on CPU 0, the proxy under test alone on
# CPU 1, so that a proxy's figures are its own work rather than its turns with the load
# generator on two shared cores. Empty without --pin.
CLIENT, PROXY = [], []


def start(cmd, env=None, log=None, cwd=None):
    f = open(log or os.devnull, "w")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd,
                         start_new_session=True)
    procs.append(p)
    return p


def start_mock(latency_ms=2):
    """The mock upstream on port 19000; its base URL once it answers."""
    mock = "http://127.0.0.1:19000"
    start(CLIENT + [RAMPART, "mock-upstream", "--listen", "127.0.0.1:19000", "--latency-ms", str(latency_ms)])
    wait_port(mock + "/mock/stats")
    return mock


def wait_port(url, headers=None, timeout=120, method="GET", data=None):
    t = time.time()
    while time.time() - t < timeout:
        try:
            req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
            urllib.request.urlopen(req, timeout=2).read()
            return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def wrk(url, key, secs, connections=64):
    lua = os.path.join(OUT, "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        if key:
            f.write(f'wrk.headers["Authorization"] = "Bearer {key}"\n')
        f.write(f"wrk.body = {json.dumps(BODY)}\n")
        f.write('done = function(summary, latency, requests)\n'
                '  io.write(string.format("JSON {\\"rps\\": %f, \\"p50_ms\\": %f, \\"p99_ms\\": %f, \\"errors\\": %d, \\"non2xx\\": %d}\\n",'
                ' summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,'
                ' summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))\nend\n')
    out = subprocess.run(CLIENT + ["wrk", "-t2", f"-c{connections}", f"-d{secs}s", "-s", lua, url], capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if l.startswith("JSON ")]
    return json.loads(line[0][5:]) if line else {"error": out[-300:]}


def loadgen(url, key, rate, secs):
    cmd = CLIENT + [LOADGEN, "--url", url, "--body", BODY, "--rate", str(rate), "--secs", str(secs)]
    if key:
        cmd += ["--key", key]
    out = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception:
        return {"error": out.stderr[-300:]}


def metric_buckets(admin_port, name="rampart_gateway_overhead_seconds", label='route="chat"'):
    """Cumulative bucket counts of histogram `name` (the series holding `label`), read from
    the gateway's /metrics."""
    req = urllib.request.Request(f"http://127.0.0.1:{admin_port}/metrics", headers={"Authorization": "Bearer bench-admin"})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    out = {}
    for l in text.splitlines():
        if l.startswith(name + "_bucket") and label in l:
            le = l.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(l.rsplit(" ", 1)[1])
    return out


def bucket_quantiles(before, after, ps=(0.5, 0.99)):
    """Quantiles `ps` as upper bucket bounds, in ms, of the observations between two scrapes."""
    les = sorted(after)
    d = [(le, after[le] - before.get(le, 0)) for le in les]
    total = d[-1][1] if d else 0
    return [next((le * 1000 for le, c in d if total and c >= p * total), float("nan")) for p in ps]


def proc_status(pid, field):
    """A number field of /proc/PID/status (kB for memory, a count for Threads)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith(field + ":"):
                    return int(l.split()[1])
    except OSError:
        return None


def serve(binary, cfg, admin):
    """`binary serve -c cfg`, once its admin port answers."""
    p = start([binary, "serve", "-c", cfg], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
    wait_port(f"http://127.0.0.1:{admin}/healthz")
    return p


def stop(p):
    p.terminate()
    p.wait(timeout=30)
    procs.remove(p)


def stop_all():
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass


def fsync_probe(n=2000):
    """p50 and p99 in ms of fsync after a 4 KiB write, in the directory the audit logs live in:
    with `sync = "full"` a request at low rate waits for one such fsync of the WAL."""
    path = os.path.join(OUT, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    ts = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            ts.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    ts.sort()
    return ts[n // 2], ts[n * 99 // 100]


def rampart_config(name, port, admin, mock, guards, sync="full", injection="flag", only=None):
    """A gateway's configuration and a key for it; `only` keeps the one guard of that name
    (and no drift monitor) out of the all-guards set."""
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    g = ""
    if guards:
        g = """
[[guards]]
name = "invisible"
kind = "invisible_text"
action = "redact"
[[guards]]
name = "size"
kind = "prompt_limit"
max_tokens = 8000
[[guards]]
name = "deny"
kind = "regex"
stage = "both"
action = "redact"
patterns = ["(?i)project-x\\\\w*"]
[[guards]]
name = "injection"
kind = "injection"
action = "{injection}"
[[guards]]
name = "pii"
kind = "pii"
action = "redact"
[[guards]]
name = "secrets"
kind = "secrets"
stage = "both"
action = "redact"
[[guards]]
name = "exfil"
kind = "exfil"
stage = "output"
action = "block"
[[guards]]
name = "canary"
kind = "canary"
[[guards]]
name = "tools"
kind = "tool_policy"
[guards.tools.get_weather]
schema = '{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}'
max_calls_per_minute = 1000000
[drift]
enabled = true
window = 1000
""".replace("{injection}", injection)
        if only:
            blocks = g.split("[drift]")[0].split("[[guards]]\n")
            g = "".join("[[guards]]\n" + b for b in blocks if b.startswith(f'name = "{only}"\n'))
            assert g, f"no guard named {only}"
    cfg = f"""[listen]
addr = "127.0.0.1:{port}"
[admin]
addr = "127.0.0.1:{admin}"
[storage]
sqlite = "{d}/g.db"
[audit]
sync = "{sync}"
[[upstreams]]
name = "mock"
url = "{mock}"
[[models]]
name = "m"
upstreams = ["mock"]
{g}"""
    p = os.path.join(d, "g.toml")
    with open(p, "w") as f:
        f.write(cfg)
    key = subprocess.run([RAMPART, "keys", "create", "-c", p, "--owner", "bench", "--model", "m", "--rpm", "100000000",
                          "--tpm", "100000000000"], capture_output=True, text=True, check=True).stdout.strip()
    return p, key


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--soak", type=int, default=60, help="seconds of the memory soak at 1000 requests/s")
    ap.add_argument("--mock-latency-ms", type=int, default=2)
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the fixed-rate runs")
    ap.add_argument("--secs-100", type=int, default=None,
                    help="seconds of each 100 req/s run (default: --secs); at 10 s a round's p99 rests on its 10 slowest requests")
    ap.add_argument("--pin", action="store_true",
                    help="load generators and mock on CPU 0, each proxy under test alone on CPU 1 (taskset)")
    a = ap.parse_args()
    global CLIENT, PROXY
    if a.pin:
        if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
            raise SystemExit("--pin needs taskset and two CPUs")
        CLIENT, PROXY = ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    os.makedirs(OUT, exist_ok=True)
    disk = [fsync_probe()]
    mock = start_mock(a.mock_latency_ms)

    nginx_dir = os.path.join(OUT, "nginx")
    os.makedirs(os.path.join(nginx_dir, "logs"), exist_ok=True)
    with open(os.path.join(nginx_dir, "nginx.conf"), "w") as f:
        f.write(f"""worker_processes {"1" if a.pin else "auto"};
error_log {nginx_dir}/logs/error.log warn;
pid {nginx_dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  upstream mock {{ server 127.0.0.1:19000; keepalive 256; }}
  server {{
    listen 127.0.0.1:19100;
    location / {{ proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
""")
    start(PROXY + ["nginx", "-p", nginx_dir, "-c", os.path.join(nginx_dir, "nginx.conf"), "-g", "daemon off;"])
    wait_port("http://127.0.0.1:19100/mock/stats")

    cfg1, key1 = rampart_config("rampart", 19300, 19301, mock, False)
    gw1 = start(PROXY + [RAMPART, "serve", "-c", cfg1], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
    wait_port("http://127.0.0.1:19301/healthz")
    cfg2, key2 = rampart_config("rampart-guards", 19400, 19401, mock, True)
    start(PROXY + [RAMPART, "serve", "-c", cfg2], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
    wait_port("http://127.0.0.1:19401/healthz")
    cfg3, key3 = rampart_config("rampart-normal", 19500, 19501, mock, False, sync="normal")
    start(PROXY + [RAMPART, "serve", "-c", cfg3], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
    wait_port("http://127.0.0.1:19501/healthz")
    # The injection guard blocking: it then runs in order before the upstream call instead of
    # beside it (an input guard that only flags is deferred), so its time is on the path.
    cfg4, key4 = rampart_config("rampart-guards-block", 19600, 19601, mock, True, injection="block")
    start(PROXY + [RAMPART, "serve", "-c", cfg4], env={"RAMPART_ADMIN_TOKEN": "bench-admin", "RAMPART_LOG": "warn"})
    wait_port("http://127.0.0.1:19601/healthz")

    targets = [
        ("mock, direct", mock + "/v1/chat/completions", None),
        ("nginx (reverse proxy)", "http://127.0.0.1:19100/v1/chat/completions", None),
        ("Rampart: auth + rate limit + audit (SQLite, fsync)", "http://127.0.0.1:19300/v1/chat/completions", key1),
        ("Rampart: auth + rate limit + audit (SQLite, sync = normal)", "http://127.0.0.1:19500/v1/chat/completions", key3),
        ("Rampart: auth + rate limit + audit (fsync) + all guards, tool policy, drift", "http://127.0.0.1:19400/v1/chat/completions", key2),
        ("Rampart: the same, injection guard blocking (in order, before the upstream call)", "http://127.0.0.1:19600/v1/chat/completions", key4),
    ]
    if not a.no_litellm:
        py = os.path.join(ROOT, "bench", ".venv-litellm", "bin", "litellm")
        ldir = os.path.join(OUT, "litellm")
        os.makedirs(ldir, exist_ok=True)
        with open(os.path.join(ldir, "config.yaml"), "w") as f:
            f.write(f"""model_list:
  - model_name: m
    litellm_params:
      model: openai/m
      api_base: {mock}/v1
      api_key: not-used
      rpm: 100000000
general_settings:
  master_key: sk-bench-master-key
litellm_settings:
  json_logs: true
""")
        start(PROXY + [py, "--config", os.path.join(ldir, "config.yaml"), "--port", "19200", "--host", "127.0.0.1", "--num_workers", "1"],
              env={"LITELLM_LOG": "ERROR", "DISABLE_ADMIN_UI": "True"}, log=os.path.join(ldir, "log.txt"), cwd=ldir)
        wait_port("http://127.0.0.1:19200/v1/chat/completions", headers={"Authorization": "Bearer sk-bench-master-key",
                  "Content-Type": "application/json"}, method="POST", data=BODY.encode(), timeout=240)
        targets.append(("LiteLLM proxy (master key, rpm limit, JSON logs)", "http://127.0.0.1:19200/v1/chat/completions",
                        "sk-bench-master-key"))

    res = {name: {} for name, _, _ in targets}
    for name, url, key in targets:
        res[name]["wrk"] = wrk(url, key, a.secs)
        print(name, "wrk", json.dumps(res[name]["wrk"]), file=sys.stderr)
    # Latency at fixed rates: targets interleaved, `rounds` times; medians per target, so that
    # drift on this shared machine hits every target alike.
    admin = {targets[2][0]: 19301, targets[3][0]: 19501, targets[4][0]: 19401, targets[5][0]: 19601}
    secs = {100: a.secs_100 or a.secs, 1000: a.secs}
    for rate in (100, 1000):
        runs = {name: [] for name, _, _ in targets}
        inside = {name: [] for name in admin}
        for _ in range(a.rounds):
            for name, url, key in targets:
                if "LiteLLM" in name and rate > 200:
                    continue  # saturates below 100 req/s (measured above); its queue only grows
                before = metric_buckets(admin[name]) if name in admin else None
                runs[name].append(loadgen(url, key, rate, secs[rate]))
                if before is not None:
                    inside[name].append(bucket_quantiles(before, metric_buckets(admin[name])))
        for name in runs:
            ok = [r for r in runs[name] if "p50_ms" in r]
            if not ok:
                continue
            med = lambda k: statistics.median(r[k] for r in ok)
            res[name][f"open{rate}"] = {"p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"), "rps": med("rps"),
                                        "errors": sum(r["errors"] for r in ok), "rounds": len(ok)}
            if inside.get(name):
                res[name][f"inside{rate}"] = {"p50_le_ms": statistics.median(q[0] for q in inside[name]),
                                              "p99_le_ms": statistics.median(q[1] for q in inside[name])}
            print(name, rate, json.dumps(res[name][f"open{rate}"]), file=sys.stderr)

    disk.append(fsync_probe())
    # Memory over a soak at 1000 requests/s (auth + rate limit + audit).
    samples = []
    soak = subprocess.Popen(CLIENT + [LOADGEN, "--url", targets[2][1], "--body", BODY, "--key", key1, "--rate", "1000",
                             "--secs", str(a.soak)], stdout=subprocess.PIPE, text=True)
    t0 = time.time()
    while soak.poll() is None:
        samples.append((round(time.time() - t0), proc_status(gw1.pid, "VmRSS")))
        time.sleep(max(1, a.soak / 30))
    soak_out = json.loads(soak.stdout.read().strip().splitlines()[-1])
    res["soak"] = {"secs": a.soak, "rss_kb": samples, "load": soak_out}
    res["fsync_ms"] = disk
    with open(os.path.join(ROOT, "bench", "out", "gateway.json"), "w") as f:
        json.dump(res, f, indent=1)

    d = res["mock, direct"]
    lines = ["# Gateway benchmark", "",
             f"`bench/gateway.sh --secs {a.secs}{f' --secs-100 {a.secs_100}' if a.secs_100 else ''} --rounds {a.rounds} --soak {a.soak}{' --pin' if a.pin else ''}`, one run, {time.strftime('%Y-%m-%d')}, this machine "
             + ("(2 cores: the load generators and the mock pinned to CPU 0, the proxy under test alone on CPU 1). " if a.pin else
                "(2 cores shared by the load generator, the mock and the proxy under test). ")
             + f"Mock upstream latency {a.mock_latency_ms} ms, "
             "1 KB prompt, non-streamed chat completions. Throughput: wrk, 2 threads, 64 connections, closed loop. Latency: open loop at "
             f"a fixed rate, measured from when each request was due; targets interleaved, median of {a.rounds} rounds of {secs[100]} s at 100 req/s and {secs[1000]} s at 1000 req/s. "
             "Added = target minus the direct call in the same run. *Inside* = the gateway's own "
             "`rampart_gateway_overhead_seconds` histogram (end-to-end minus upstream, audit commit included), its p99 as a bucket upper bound, median of the rounds. "
             f"This disk's fsync of 4 KiB (2,000 in a row, before / after the runs): p50 {disk[0][0]:.2f} / {disk[1][0]:.2f} ms, "
             f"p99 {disk[0][1]:.2f} / {disk[1][1]:.2f} ms.", "",
             "| target | max req/s (wrk) | vs nginx | p50 / p99 at 100 req/s (ms) | added p50 / p99 | p50 / p99 at 1000 req/s (ms) | added p50 / p99 | inside p99 at 100 / 1000 req/s |",
             "|---|---|---|---|---|---|---|---|"]
    ng = res["nginx (reverse proxy)"]["wrk"].get("rps", 0) or 1
    for name, r in res.items():
        if name in ("soak", "fsync_ms"):
            continue
        w = r["wrk"]
        cells = [name, f"{w.get('rps', 0):,.0f}" + (f" ({w.get('non2xx', 0)} non-2xx)" if w.get('non2xx') else ""), f"{w.get('rps', 0) / ng:.2f}"]
        for rate in (100, 1000):
            o, base = r.get(f"open{rate}"), d.get(f"open{rate}")
            if not o:
                cells += ["not run (saturated below this rate)", "-"]
                continue
            ach = "" if o["rps"] > rate * 0.95 else f" (achieved {o['rps']:.0f} req/s)"
            cells.append(f"{o['p50_ms']:.2f} / {o['p99_ms']:.2f}{ach}")
            cells.append("-" if r is d else f"{o['p50_ms'] - base['p50_ms']:+.2f} / {o['p99_ms'] - base['p99_ms']:+.2f}")
        i, j = r.get("inside100"), r.get("inside1000")
        cells.append(f"≤ {i['p99_le_ms']:g} / ≤ {j['p99_le_ms']:g} ms" if i and j else "-")
        lines.append("| " + " | ".join(cells) + " |")
    rs = [kb for _, kb in samples if kb]
    lines += ["", f"Memory soak: Rampart (auth + rate limit + audit) at 1000 req/s for {a.soak} s "
              f"({soak_out['requests']} requests, {soak_out['errors']} errors, p99 {soak_out['p99_ms']:.2f} ms): RSS "
              f"{rs[0] / 1024:.1f} MiB after start, {rs[len(rs) // 2] / 1024:.1f} MiB at half time, {rs[-1] / 1024:.1f} MiB at the end, "
              f"max {max(rs) / 1024:.1f} MiB." if rs else "", ""]
    with open(os.path.join(OUT, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
