#!/usr/bin/env python3
"""Client CPU per request: `c10k fetch` (on the library client `c10k-http-client`), other `c10k fetch` binaries, hyper's example client, and wrk.

Usage (from the repository root; Python 3 standard library, Linux, `wrk` and `taskset`):

    cargo build --release -p c10k-cli
    cargo build --release -p c10k --features hyper --example hyper_client
    cargo build --release -p c10k-tokio-ref --example hyper_plaintext
    python3 bench/hyper/clients.py [--conns 10,50] [--requests 50000] [--rounds 5] \
        [--other NAME=PATH/TO/c10k ...]

One server, the tokio hyper `/plaintext` reference (`c10k-tokio-ref`'s `hyper_plaintext`),
pinned to CPU 0, answers every client; each client is pinned to CPU 1 and runs to its end,
one after the other, in an order that rotates from round to round:

- `fetch`: `c10k fetch -c CONNS -i LIST` with LIST holding REQUESTS times
  `http://ADDR/plaintext` (the library client `crates/http-client`, one request at a time
  per connection, with its keep-alive pool; fetch also keeps a result per URL and prints a
  summary, so it does a little more than `hyper` and `wrk`);
- `NAME` (each `--other NAME=PATH`): the same command with another `c10k` binary, e.g. one
  built from main, or from a branch whose fetch runs on hyper's client;
- `hyper`: the `hyper_client` example, `-c CONNS -n REQUESTS` (hyper 1.x's HTTP/1 client
  on c10k through `c10k::hyper`, one request at a time per connection);
- `wrk`: `wrk -t1 -c CONNS` for as long as `fetch` took in the same round (its requests
  counted from its report).

A client's CPU is its user + system time from `wait4`'s rusage. Reported: the median CPU per
request of each over the rounds, and the ratios fetch / each other client, paired within
each round (median, min–max). Below 1: fetch's client costs less.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = os.environ.get("CARGO_TARGET_DIR", "target")


def run_timed(cmd):
    """Runs `cmd` on CPU 1; returns (stdout, cpu seconds, wall seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=600)
    wall = time.monotonic() - t0
    # `communicate` reaped it already; the rusage of children covers it.
    if proc.returncode != 0:
        sys.exit(f"clients.py: {cmd[0]} failed ({proc.returncode}): {err.strip()[-500:]}")
    return out, wall


def children_cpu():
    r = os.times()
    return r.children_user + r.children_system


def measure(name, addr, conns, n, listfile, secs, others):
    before = children_cpu()
    if name in others:
        binary = others[name]
        _, wall = run_timed([binary, "fetch", "-c", str(conns), "-i", listfile])
        done = n
    elif name == "hyper":
        _, wall = run_timed([f"{TARGET}/release/examples/hyper_client",
                             f"http://{addr}/plaintext", "-c", str(conns), "-n", str(n)])
        done = n
    else:
        out, wall = run_timed(["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(secs))}s",
                               f"http://{addr}/plaintext"])
        done = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = children_cpu() - before
    return {"us_per_req": cpu / done * 1e6, "rps": done / wall, "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", default="10,50")
    ap.add_argument("--requests", type=int, default=50000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out")
    ap.add_argument("--fetch", help="the c10k binary measured as `fetch` "
                    "(default: $CARGO_TARGET_DIR/release/c10k)")
    ap.add_argument("--other", action="append", default=[], metavar="NAME=PATH",
                    help="another c10k binary whose fetch is measured too (repeatable)")
    args = ap.parse_args()
    ap_fetch = args.fetch or f"{TARGET}/release/c10k"
    others = {"fetch": ap_fetch, **dict(o.split("=", 1) for o in args.other)}
    names = list(others) + ["hyper", "wrk"]
    server = subprocess.Popen(["taskset", "-c", "0", f"{TARGET}/release/examples/hyper_plaintext",
                               "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    addr = server.stdout.readline().strip()
    lines = [f"client CPU per request against the tokio hyper /plaintext server (CPU 0), "
             f"clients on CPU 1, {args.requests} requests x {args.rounds} rounds", "",
             "| conns | " + " | ".join(f"{k} µs/req" for k in names) + " | " +
             " | ".join(f"fetch / {k} (median, min–max)" for k in names[1:]) + " |",
             "|---" * (2 * len(names)) + "|"]
    print(lines[0], flush=True)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(f"http://{addr}/plaintext\n" * args.requests)
            listfile = f.name
        for conns in [int(c) for c in args.conns.split(",")]:
            per = {k: [] for k in names}
            vs = {k: [] for k in names[1:]}
            for r in range(args.rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                got, secs = {}, 3.0
                for name in order:
                    got[name] = measure(name, addr, conns, args.requests, listfile, secs, others)
                    if name == "fetch":
                        secs = got[name]["wall"]
                for name in per:
                    per[name].append(got[name]["us_per_req"])
                for name in vs:
                    vs[name].append(got["fetch"]["us_per_req"] / got[name]["us_per_req"])
                print(f"  c={conns} round {r + 1}: " + ", ".join(
                    f"{k} {v['us_per_req']:.2f} µs/req {v['rps']:.0f} req/s" for k, v in got.items()),
                    flush=True)
            med = {k: statistics.median(v) for k, v in per.items()}
            line = (f"| {conns} | " + " | ".join(f"{med[k]:.2f}" for k in names) + " | " +
                    " | ".join(f"**{statistics.median(v):.3f}** ({min(v):.3f}–{max(v):.3f})"
                               for v in vs.values()) + " |")
            print(line, flush=True)
            lines.append(line)
    finally:
        server.terminate()
        server.wait(timeout=10)
        os.unlink(listfile)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
