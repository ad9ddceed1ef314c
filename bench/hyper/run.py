#!/usr/bin/env python3
"""hyper on c10k against hyper on tokio: the same /plaintext server, side by side.

Usage (from the repository root; Python 3 standard library, Linux, `wrk` and `taskset`):

    cargo build --release -p c10k --features hyper --example hyper_server --example hyper_client
    cargo build --release -p c10k-tokio-ref --example hyper_plaintext
    python3 bench/hyper/run.py [--conns 50,500] [--duration 5] [--rounds 5]
                               [--backend epoll] [--http2] [--out FILE.md]

The two servers are the `hyper_server` example of the `c10k` crate (hyper's HTTP/1 server
on c10k's runtime through `c10k::hyper::{Io, Timer, Executor}`) and `c10k-tokio-ref`'s
`hyper_plaintext` example (the same code on tokio through hyper-util's `TokioIo`,
`TokioTimer`, `TokioExecutor`). Both run at the same time, one scheduler thread each,
pinned to CPU 0 (`taskset`); the load generator is pinned to CPU 1. For each connection
count, each round drives c10k then tokio (the order alternates from round to round) with
the same `wrk -t1 -c CONNS -d SECS` (HTTP/1.1 keep-alive, `GET /plaintext`); with
`--http2`, the driver is the `hyper_client` example over HTTP/2 (prior knowledge), one
stream in flight per connection.

Figures, per run: requests completed (wrk's count), the server's CPU time during the run
(user + system, summed over its threads from /proc/PID/task/*/stat, in clock ticks), CPU
per request, and the ratio c10k / tokio of CPU per request and of requests/s, paired within
the round. Reported: the median ratio over the rounds, with its min and max. A ratio below 1
means c10k used less CPU per request.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
TARGET = os.environ.get("CARGO_TARGET_DIR", "target")


def cpu_seconds(pid):
    """User + system CPU of every thread of `pid`, in seconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / TICK


def start(cmd):
    proc = subprocess.Popen(
        ["taskset", "-c", "0"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    addr = proc.stdout.readline().strip()
    if not addr:
        proc.kill()
        sys.exit(f"run.py: {cmd[0]} printed no address")
    return proc, addr


def drive(addr, conns, secs, http2):
    """Runs the load on CPU 1; returns the requests completed."""
    if http2:
        # A bounded count sized to take about `secs` at a few tens of thousands per second.
        n = 20000 * secs
        out = subprocess.run(
            ["taskset", "-c", "1", f"{TARGET}/release/examples/hyper_client",
             f"http://{addr}/plaintext", "--http2", "-c", str(conns), "-n", str(n)],
            capture_output=True, text=True, timeout=secs * 20 + 60,
        )
        if out.returncode != 0:
            sys.exit(f"run.py: hyper_client failed: {out.stderr.strip()}")
        return n
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
         f"http://{addr}/plaintext"],
        capture_output=True, text=True, timeout=secs + 60,
    )
    m = re.search(r"(\d+) requests in", out.stdout)
    if not m:
        sys.exit(f"run.py: cannot read wrk's output:\n{out.stdout}{out.stderr}")
    if re.search(r"Non-2xx|Socket errors", out.stdout):
        sys.exit(f"run.py: errors during the run:\n{out.stdout}")
    return int(m.group(1))


def measure(proc, addr, conns, secs, http2):
    before = cpu_seconds(proc.pid)
    t0 = time.monotonic()
    requests = drive(addr, conns, secs, http2)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(proc.pid) - before
    return {"requests": requests, "cpu": cpu, "us_per_req": cpu / requests * 1e6,
            "rps": requests / wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", default="50,500")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--backend", default="epoll")
    ap.add_argument("--http2", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    extra = ["--http2"] if args.http2 else []
    c10k, c10k_addr = start([f"{TARGET}/release/examples/hyper_server", "--listen", "127.0.0.1:0",
                             "--backend", args.backend] + extra)
    tokio, tokio_addr = start([f"{TARGET}/release/examples/hyper_plaintext", "--listen",
                               "127.0.0.1:0"] + extra)
    lines = []
    try:
        for name, proc, addr in (("c10k", c10k, c10k_addr), ("tokio", tokio, tokio_addr)):
            drive(addr, 10, 1, args.http2)  # warm-up
        header = (f"hyper /plaintext, {'HTTP/2 (hyper_client)' if args.http2 else 'HTTP/1.1 (wrk)'}, "
                  f"c10k on {args.backend} vs tokio, servers on CPU 0, load on CPU 1, "
                  f"{args.duration} s x {args.rounds} rounds")
        print(header)
        lines.append(header)
        row = "| conns | c10k µs CPU/req | tokio µs CPU/req | CPU/req ratio (median, min–max) | req/s ratio (median) |"
        print(row)
        lines += ["", row, "|---|---|---|---|---|"]
        for conns in [int(c) for c in args.conns.split(",")]:
            cpu_ratios, rps_ratios, ours, theirs = [], [], [], []
            for r in range(args.rounds):
                order = [("c10k", c10k, c10k_addr), ("tokio", tokio, tokio_addr)]
                if r % 2:
                    order.reverse()
                got = {n: measure(p, a, conns, args.duration, args.http2) for n, p, a in order}
                cpu_ratios.append(got["c10k"]["us_per_req"] / got["tokio"]["us_per_req"])
                rps_ratios.append(got["c10k"]["rps"] / got["tokio"]["rps"])
                ours.append(got["c10k"]["us_per_req"])
                theirs.append(got["tokio"]["us_per_req"])
                print(f"  round {r + 1}: c10k {got['c10k']['us_per_req']:.2f} µs/req "
                      f"{got['c10k']['rps']:.0f} req/s, tokio {got['tokio']['us_per_req']:.2f} "
                      f"µs/req {got['tokio']['rps']:.0f} req/s", flush=True)
            line = (f"| {conns} | {statistics.median(ours):.2f} | {statistics.median(theirs):.2f} | "
                    f"**{statistics.median(cpu_ratios):.3f}** ({min(cpu_ratios):.3f}–{max(cpu_ratios):.3f}) | "
                    f"{statistics.median(rps_ratios):.3f} |")
            print(line, flush=True)
            lines.append(line)
    finally:
        for p in (c10k, tokio):
            p.terminate()
            p.wait(timeout=10)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
