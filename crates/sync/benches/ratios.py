#!/usr/bin/env python3
"""Turns the criterion results of this crate's benches into the ratio table of BENCHMARKS.md.

Usage: python3 crates/sync/benches/ratios.py [target/criterion]

For every group, each c10k line is compared with the best (fastest) comparable reference of
the same group measured in the same run (async with async, try_ with try_, else all): ratio = reference time / c10k time, so > 1.0 means c10k is
faster. Times are criterion's median estimates.
"""
import json
import os
import sys

GROUPS = [
    "mutex_uncontended",
    "mutex_contended_2threads",
    "semaphore_uncontended",
    "semaphore_contended_2tasks",
    "mutex_contended_2tasks",
    "mpsc_bounded_64_1p1c",
    "mpsc_unbounded_1p1c",
    "queue_bounded_64_2p2c",
    "mpmc_bounded_64_4p4c",
    "mpsc_async_bounded_64_current_thread",
    "mpsc_async_unbounded_current_thread",
    "mpsc_async_bounded_64_multi_thread",
    "mpsc_async_unbounded_multi_thread",
]

# The reference each group's target is stated against (issue 10: crossbeam-channel for the
# blocking ends and the Queue, tokio's mpsc for the async ends).
TARGET = {
    "mpsc_bounded_64_1p1c": "crossbeam",
    "mpsc_unbounded_1p1c": "crossbeam",
    "queue_bounded_64_2p2c": "crossbeam bounded",
    "mpmc_bounded_64_4p4c": "crossbeam",
    "mpsc_async_bounded_64_current_thread": "tokio await",
    "mpsc_async_unbounded_current_thread": "tokio await",
    "mpsc_async_bounded_64_multi_thread": "tokio await",
    "mpsc_async_unbounded_multi_thread": "tokio await",
}


def fmt(ns):
    for unit, scale in (("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.1f} ns"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
    all_lines = []
    print("| group | c10k | time | best reference | its time | ratio | target reference | ratio to it |")
    print("|---|---|---|---|---|---|---|---|")
    for group in GROUPS:
        gdir = os.path.join(root, group)
        if not os.path.isdir(gdir):
            continue
        times = {}
        for dirpath, _dirs, files in os.walk(gdir):
            if "estimates.json" in files and dirpath.endswith(os.sep + "new"):
                with open(os.path.join(dirpath, "benchmark.json")) as f:
                    name = json.load(f)["function_id"]
                with open(os.path.join(dirpath, "estimates.json")) as f:
                    times[name] = json.load(f)["median"]["point_estimate"]
        all_lines.extend((group, k, v) for k, v in sorted(times.items(), key=lambda kv: kv[1]))
        ours = {k: v for k, v in times.items() if k.startswith("c10k")}
        refs = {k: v for k, v in times.items() if not k.startswith("c10k")}
        if not refs:
            continue
        for name, t in sorted(ours.items()):
            # Like for like: an async line against async references, a try_ line against
            # try_ references, when the group has them; otherwise against every reference.
            pool = refs
            for token in ("await", "try_"):
                if token in name and any(token in r for r in refs):
                    pool = {r: v for r, v in refs.items() if token in r}
            best = min(pool, key=pool.get)
            target = TARGET.get(group)
            tail = f"{target} | {refs[target] / t:.2f}" if target in refs else "— | —"
            print(f"| {group} | {name} | {fmt(t)} | {best} | {fmt(refs[best])} | {refs[best] / t:.2f} | {tail} |")

    print()
    print("| group | implementation | median time |")
    print("|---|---|---|")
    for group, name, t in all_lines:
        print(f"| {group} | {name} | {fmt(t)} |")


if __name__ == "__main__":
    main()
