#!/usr/bin/env python3
"""System calls and server CPU per request, for echo servers side by side with tokio.

What `c10k lab` does not measure: how many system calls a server makes per request. For each
cell (model, connections, payload size) this script starts the model's echo server and the
tokio reference at the same time, both pinned to CPU 0, attaches
`perf stat -e raw_syscalls:sys_enter` to each, drives both at once with two `c10k load`
processes pinned to CPU 1, and reports, per server:

- system calls per request (perf's count over the whole load run ÷ requests answered);
- server CPU per request (the sum of the server threads' `schedstat` run time, in ns);
- user CPU per request (the process's `utime` from `/proc/PID/stat`, in clock ticks of
  10 ms: coarse, so only meaningful over runs of several seconds; the rest is the kernel);
- requests/s and p99 from the load generator;

and the ratio model ÷ tokio for CPU and p99 (lower is better). Both servers see the same
machine at the same moment, so the ratio is steadier than either absolute figure (see
`crates/cli/LAB.md`, "side by side").

Each run is two passes of the same pair: one with `perf stat` attached, for the system call
counts only, and one without, for everything else. The tracepoint costs every system call
some CPU, so a server that makes 40 times fewer of them (io_uring against tokio) would read
about 4 % cheaper than it is if its CPU were taken with perf attached
(`bench/runs/2026-12-07-uring-amd2/perf-bias.txt`).

Usage (after `cargo build --release`):

    python3 bench/syscalls.py --models uring,epoll --conns 100,1000 --sizes 64,1024 \
        --duration 5 --runs 3 --out bench/runs/<dir>

Every process it starts is its own child and is ended by PID; every run is bounded in time.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "c10k")


def server_cmd(model):
    if model == "tokio":
        return [BIN, "__tokio-echo", "--listen", "127.0.0.1:0"]
    return [BIN, "echo", "--model", model, "--listen", "127.0.0.1:0"]


def start_server(model, log):
    p = subprocess.Popen(
        ["taskset", "-c", "0"] + server_cmd(model),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    line = p.stdout.readline().strip()
    if not line:
        p.kill()
        p.wait()
        raise RuntimeError(f"{model}: the server printed no address")
    return p, line


def cpu_ns(pid):
    """Run time of every thread of `pid`, in ns (first field of schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def user_ns(pid):
    """User-mode CPU time of `pid` (all threads), in ns (`utime`, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def start_perf(pid, out):
    return subprocess.Popen(
        ["perf", "stat", "-e", "raw_syscalls:sys_enter", "-x", ",", "-p", str(pid), "-o", out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_perf(p, out):
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    with open(out) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) > 2 and "raw_syscalls:sys_enter" in parts[2]:
                return int(parts[0])
    raise RuntimeError(f"no syscall count in {out}")


def load(addr, conns, size, duration):
    return subprocess.Popen(
        ["taskset", "-c", "1", BIN, "load", "echo", "--target", addr, "-c", str(conns),
         "-d", str(duration), "--size", str(size), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def one_run(model, conns, size, duration, tmp):
    """One run of the pair: its figures from a pass without perf, with the system call
    counts of a second pass that has perf attached."""
    rows = one_pass(model, conns, size, duration, tmp, count=False)
    counted = one_pass(model, conns, size, duration, tmp, count=True)
    for m, r in rows.items():
        r["syscalls_per_req"] = counted[m]["syscalls_per_req"]
        r["errors"] += counted[m]["errors"]
    return rows


def one_pass(model, conns, size, duration, tmp, count):
    servers = {}
    try:
        for m in (model, "tokio"):
            log = open(os.path.join(tmp, f"server-{m}.log"), "a")
            servers[m] = start_server(m, log)
        perfs = {}
        if count:
            perfs = {m: start_perf(p.pid, os.path.join(tmp, f"perf-{m}.txt"))
                     for m, (p, _) in servers.items()}
            time.sleep(0.5)  # perf attaches asynchronously; nothing else depends on this wait
        before = {m: cpu_ns(p.pid) for m, (p, _) in servers.items()}
        user_before = {m: user_ns(p.pid) for m, (p, _) in servers.items()}
        loads = {m: load(addr, conns, size, duration) for m, (_, addr) in servers.items()}
        reports = {}
        for m, l in loads.items():
            out, err = l.communicate(timeout=duration + 60)
            if l.returncode != 0:
                raise RuntimeError(f"load against {m} failed: {err.strip()}")
            reports[m] = json.loads(out)
        after = {m: cpu_ns(p.pid) for m, (p, _) in servers.items()}
        user_after = {m: user_ns(p.pid) for m, (p, _) in servers.items()}
        counts = {m: stop_perf(perfs[m], os.path.join(tmp, f"perf-{m}.txt")) if count else 0
                  for m in servers}
        rows = {}
        for m, r in reports.items():
            req = max(r["requests"], 1)
            rows[m] = {
                "requests": r["requests"],
                "rps": r["requests_per_sec"],
                "p99_us": r["latency_us"]["p99"],
                "syscalls_per_req": counts[m] / req,
                "cpu_ns_per_req": (after[m] - before[m]) / req,
                "user_ns_per_req": (user_after[m] - user_before[m]) / req,
                "errors": sum(r["errors"].values()) if r["errors"] else 0,
            }
        return rows
    finally:
        for p, _ in servers.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="uring,epoll")
    ap.add_argument("--conns", default="100,1000")
    ap.add_argument("--sizes", default="64,1024")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "syscalls"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    results = []
    print(f"{'model':<7} {'conns':>6} {'size':>5} | {'sys/req':>7} {'tokio':>5} | "
          f"{'CPU ns/req':>10} {'÷tokio':>14} | {'user ns/req':>11} {'÷tokio':>5} | "
          f"{'p99 ÷tokio':>14} | {'req/s':>8} {'err':>3}")
    for model in a.models.split(","):
        for conns in map(int, a.conns.split(",")):
            for size in map(int, a.sizes.split(",")):
                runs = [one_run(model, conns, size, a.duration, a.out) for _ in range(a.runs)]
                cpu = [r[model]["cpu_ns_per_req"] / r["tokio"]["cpu_ns_per_req"] for r in runs]
                p99 = [r[model]["p99_us"] / r["tokio"]["p99_us"] for r in runs]
                sys_m = statistics.median(r[model]["syscalls_per_req"] for r in runs)
                sys_t = statistics.median(r["tokio"]["syscalls_per_req"] for r in runs)
                cpu_m = statistics.median(r[model]["cpu_ns_per_req"] for r in runs)
                user_m = statistics.median(r[model]["user_ns_per_req"] for r in runs)
                user = statistics.median(
                    r[model]["user_ns_per_req"] / max(r["tokio"]["user_ns_per_req"], 1)
                    for r in runs)
                rps = statistics.median(r[model]["rps"] for r in runs)
                err = sum(r[model]["errors"] for r in runs)
                print(f"{model:<7} {conns:>6} {size:>5} | {sys_m:>7.3f} {sys_t:>5.2f} | "
                      f"{cpu_m:>10.0f} {statistics.median(cpu):>5.3f} [{min(cpu):.2f}-{max(cpu):.2f}]"
                      f" | {user_m:>11.0f} {user:>5.2f}"
                      f" | {statistics.median(p99):>5.2f} [{min(p99):.2f}-{max(p99):.2f}]"
                      f" | {rps:>8.0f} {err:>3}", flush=True)
                results.append({"model": model, "conns": conns, "size": size, "runs": runs})
    with open(os.path.join(a.out, "syscalls.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"raw data: {os.path.join(a.out, 'syscalls.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
