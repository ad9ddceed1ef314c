#!/usr/bin/env python3
"""Rounds of the c10k-green criterion benchmarks (crates/green/benches/green.rs), each round
running every case once, one after the other, so that drift on the shared machine hits all
cases of a round alike: per round the ratios against the references of that round, and at the
end their median [min-max] (issue 14's switch and generator figures).

  CARGO_TARGET_DIR=... cargo bench -p c10k-green --bench green --no-run   # prints the binary
  bench/green-switch.py BINARY [--rounds 5] [--baseline OLD_BINARY]

With --baseline, each round also runs the older build's binary (before the new one, so the
two alternate) and reports new ÷ old for the green switch and the generator.

Each round is one criterion run bounded by its warm-up and measurement times (0.5 s + 2 s per
case); nothing is left running.
"""
import argparse, re, statistics, subprocess

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def one_round(binary):
    out = subprocess.run([binary, "--bench", "--noplot"], capture_output=True, text=True,
                         timeout=600).stdout
    times, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S+/\S+)", line)
        if m:
            name = m.group(1)
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            times[name] = float(t.group(1)) * UNITS[t.group(2)]
            name = None
    return times


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--baseline", help="an older build of the same benchmark binary")
    args = p.parse_args()
    ratios = {
        "green switch (ns)": lambda t: t["switch/green_yield_now"],
        "green ÷ corosensei raw": lambda t: t["switch/green_yield_now"] / t["switch/corosensei_raw"],
        "green ÷ c10k task yield": lambda t: t["switch/green_yield_now"] / t["switch/c10k_task_yield_now"],
        "corosensei raw (ns)": lambda t: t["switch/corosensei_raw"],
        "c10k task yield (ns)": lambda t: t["switch/c10k_task_yield_now"],
        "generator resume (ns)": lambda t: t["switch/generator_resume"],
        "generator resume ÷ corosensei raw": lambda t: t["switch/generator_resume"] / t["switch/corosensei_raw"],
        "generator next ÷ Iterator": lambda t: t["iterate/generator_iterator"] / t["iterate/hand_written_iterator"],
        "generator next ÷ async stream": lambda t: t["iterate/generator_iterator"] / t["iterate/async_stream_by_hand"],
        "generator next (ns per item)": lambda t: t["iterate/generator_iterator"] / 10_000,
    }
    if args.baseline:
        old = {}
        ratios["green switch new ÷ old"] = lambda t: t["switch/green_yield_now"] / old["switch/green_yield_now"]
        ratios["generator resume new ÷ old"] = lambda t: t["switch/generator_resume"] / old["switch/generator_resume"]
        ratios["generator next new ÷ old"] = lambda t: t["iterate/generator_iterator"] / old["iterate/generator_iterator"]
        ratios["old green switch ÷ corosensei raw"] = lambda t: old["switch/green_yield_now"] / old["switch/corosensei_raw"]
        ratios["old generator resume ÷ corosensei raw"] = lambda t: old["switch/generator_resume"] / old["switch/corosensei_raw"]
    rows = {k: [] for k in ratios}
    for r in range(args.rounds):
        if args.baseline:
            old.clear()
            old.update(one_round(args.baseline))
        t = one_round(args.binary)
        line = []
        for k, f in ratios.items():
            v = f(t)
            rows[k].append(v)
            line.append(f"{k} {v:.3g}")
        print(f"round {r + 1}: " + "; ".join(line), flush=True)
    print()
    for k, vs in rows.items():
        print(f"{k}: median {statistics.median(vs):.3g} [{min(vs):.3g}-{max(vs):.3g}] over {len(vs)} rounds")


if __name__ == "__main__":
    main()
