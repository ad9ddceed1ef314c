#!/usr/bin/env python3
"""The reference for `cargo bench -p c10k-pool --bench process_pool`: Python's
concurrent.futures.ProcessPoolExecutor measured the way the Rust bench measures c10k's
ProcessPool (the Rust bench starts this script once per round, interleaved with its own
rounds, and prints the ratios).

Prints one JSON object:
  rtt_p50_us, rtt_p99_us  submit(inc, i).result() of a trivial task, one at a time, on a
                          2-worker pool (after a warm-up that starts both workers)
  tasks_per_s             N trivial tasks submitted at once, then every result() read,
                          2 workers, timed from the first submit to the last result

Usage: process_pool.py [--rtt N] [--tasks N]
"""
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def inc(x):
    return x + 1


def arg(name, default):
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    rtt_n = arg("--rtt", 2000)
    tasks = arg("--tasks", 20000)
    with ProcessPoolExecutor(2) as pool:
        # Warm-up: both workers started, the code paths hot.
        for f in [pool.submit(inc, i) for i in range(200)]:
            f.result()
        samples = []
        for i in range(rtt_n):
            t0 = time.perf_counter()
            pool.submit(inc, i).result()
            samples.append(time.perf_counter() - t0)
        samples.sort()
        t0 = time.perf_counter()
        futures = [pool.submit(inc, i) for i in range(tasks)]
        total = 0
        for f in futures:
            total += f.result()
        elapsed = time.perf_counter() - t0
        assert total == tasks * (tasks + 1) // 2
    print(json.dumps({
        "rtt_p50_us": statistics.median(samples) * 1e6,
        "rtt_p99_us": samples[int(len(samples) * 0.99)] * 1e6,
        "tasks_per_s": tasks / elapsed,
        "rtt_n": rtt_n,
        "tasks": tasks,
    }))


if __name__ == "__main__":
    main()
